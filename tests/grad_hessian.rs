//! `micrograd grad ... --hessian`, run for real: the second derivatives of
//! every pair of names, as text, as JSON and drawn. Every expected number
//! is derived by hand in the comment beside it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

/// `grad ARGS --hessian --json`, parsed.
fn hessian_json(args: &[&str]) -> serde_json::Value {
    let out = run(&[&["grad"], args, &["--hessian", "--json"]].concat());
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn hessian_follows_the_gradients_one_line_per_pair() {
    // f = xy + x² at x = 0.5, y = -1: f = -0.5 + 0.25 = -0.25;
    // df/dx = y + 2x = 0, df/dy = x = 0.5;
    // d²/dx² = 2, d²/dy dx = d²/dx dy = 1, d²/dy² = 0.
    let out = run(&["grad", "x*y + x**2", "x=0.5", "y=-1", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(
        stdout(&out),
        "x*y + x**2 = -0.25\nd/dx = 0.0\nd/dy = 0.5\nhessian:\n\
         d²/dx² = 2.0\nd²/dy dx = 1.0\nd²/dx dy = 1.0\nd²/dy² = 0.0\n"
    );
    // Without the flag, the output is as it was.
    let out = run(&["grad", "x*y + x**2", "x=0.5", "y=-1"]);
    assert_eq!(stdout(&out), "x*y + x**2 = -0.25\nd/dx = 0.0\nd/dy = 0.5\n");
}

#[test]
fn the_lectures_quadratic_has_second_derivative_6() {
    // f(x) = 3x² - 4x + 5 at x = 3: f = 27 - 12 + 5 = 20, f' = 6x - 4 = 14,
    // f'' = 6.
    let out = run(&["grad", "3*x**2 - 4*x + 5", "x=3", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "3*x**2 - 4*x + 5 = 20.0\nd/dx = 14.0\nhessian:\nd²/dx² = 6.0\n"
    );
}

#[test]
fn sin_x_times_y_has_its_closed_form() {
    // f = sin(x)·y: d²/dx² = -sin(x)·y, d²/dy dx = d²/dx dy = cos(x),
    // d²/dy² = 0.
    for (x, y) in [(1.0_f64, 2.0_f64), (-0.3, 5.0), (2.5, -1.5)] {
        let (xs, ys) = (format!("x={x}"), format!("y={y}"));
        let json = hessian_json(&["sin(x)*y", &xs, &ys]);
        let h = &json["hessian"];
        let close = |got: &serde_json::Value, want: f64| {
            let got = got.as_f64().expect("a number");
            assert!(
                (got - want).abs() <= 1e-15 * want.abs().max(1.0),
                "x={x} y={y}: {got} != {want}"
            );
        };
        close(&h["x"]["x"], -x.sin() * y);
        close(&h["x"]["y"], x.cos());
        close(&h["y"]["x"], x.cos());
        close(&h["y"]["y"], 0.0);
    }
}

#[test]
fn kinks_follow_pytorch_relus_derivative_at_0_is_0_and_so_its_second() {
    // relu(x) at 0: value 0, derivative 0 (PyTorch's convention), second 0.
    let out = run(&["grad", "relu(x)", "x=0", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "relu(x) = 0.0\nd/dx = 0.0\nhessian:\nd²/dx² = 0.0\n"
    );
    // Away from the kink: relu(x) = x at 2, so 1 and 0.
    let out = run(&["grad", "relu(x)", "x=2", "--hessian"]);
    assert_eq!(
        stdout(&out),
        "relu(x) = 2.0\nd/dx = 1.0\nhessian:\nd²/dx² = 0.0\n"
    );
    // f = x·relu(x): f' = relu(x) + x·step(x), f'' = 2·step(x): 0 at the
    // kink (step(0) = 0), 2 for x > 0, 0 for x < 0.
    for (x, second) in [("0", 0.0), ("1.5", 2.0), ("-1", 0.0)] {
        let json = hessian_json(&["x*relu(x)", &format!("x={x}")]);
        assert_eq!(json["hessian"]["x"]["x"].as_f64(), Some(second), "x={x}");
    }
    // f = x**y at x = 0, y = 2 (PyTorch's pow at 0: d/dy = x^y·ln x is 0
    // where x = 0 and y >= 0): f = 0, df/dx = y·x^(y-1) = 0, df/dy = 0;
    // d²/dx² = y(y-1)·x^(y-2) = 2; d²/dy dx = x^(y-1) + y·(d/dy x^(y-1)) =
    // 0 + 2·0 = 0; d²/dx dy and d²/dy² are of the 0 taken at x = 0: 0.
    let out = run(&["grad", "x**y", "x=0", "y=2", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "x**y = 0.0\nd/dx = 0.0\nd/dy = 0.0\nhessian:\n\
         d²/dx² = 2.0\nd²/dy dx = 0.0\nd²/dx dy = 0.0\nd²/dy² = 0.0\n"
    );
}

#[test]
fn json_gains_hessian_after_grads_keys_in_the_order_given() {
    // The names given y first: every key in that order. f = xy + x² at
    // x = 0.5, y = -1 (see above), and z, not used: a zero row and column.
    let out = run(&[
        "grad",
        "x*y + x**2",
        "y=-1",
        "x=0.5",
        "z=7",
        "--hessian",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"value\": -0.25, \"grads\": {\"y\": 0.5, \"x\": 0.0, \"z\": 0.0}, \"hessian\": \
         {\"y\": {\"y\": 0.0, \"x\": 1.0, \"z\": 0.0}, \"x\": {\"y\": 1.0, \"x\": 2.0, \"z\": 0.0}, \
         \"z\": {\"y\": 0.0, \"x\": 0.0, \"z\": 0.0}}, \"not_finite\": null}\n"
    );
    assert_eq!(
        stderr(&out),
        "micrograd: warning: `z` is given but not used\n"
    );
    // Every pair, parsed.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = [
        ("x", "x", 2.0),
        ("x", "y", 1.0),
        ("y", "x", 1.0),
        ("y", "y", 0.0),
    ];
    for (a, b, h) in want {
        assert_eq!(json["hessian"][a][b].as_f64(), Some(h), "{a} {b}");
    }
    for a in ["x", "y", "z"] {
        assert_eq!(json["hessian"]["z"][a].as_f64(), Some(0.0));
        assert_eq!(json["hessian"][a]["z"].as_f64(), Some(0.0));
    }
    assert_eq!(json["hessian"].as_object().unwrap().len(), 3);
    // Without --hessian, no key.
    let out = run(&["grad", "x*y", "x=1", "y=2", "--json"]);
    assert_eq!(
        stdout(&out),
        "{\"value\": 2.0, \"grads\": {\"x\": 2.0, \"y\": 1.0}, \"not_finite\": null}\n"
    );
}

#[test]
fn a_name_given_but_not_used_has_a_zero_row_and_column() {
    // f = -x² at x = 3: f'' = -2; y is not used.
    let out = run(&["grad", "-x**2", "x=3", "y=1", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "-x**2 = -9.0\nd/dx = -6.0\nd/dy = 0.0\nhessian:\n\
         d²/dx² = -2.0\nd²/dy dx = 0.0\nd²/dx dy = 0.0\nd²/dy² = 0.0\n"
    );
    // A constant: nothing is used, every second derivative is 0.
    let json = hessian_json(&["2*3", "a=1", "b=2"]);
    assert_eq!(
        json["hessian"].to_string(),
        r#"{"a":{"a":0.0,"b":0.0},"b":{"a":0.0,"b":0.0}}"#
    );
}

#[test]
fn second_derivatives_that_are_not_finite_are_strings_and_warned_of() {
    // log(x) at 0: -inf; d/dx = 1/x = +inf (at +0); d²/dx² = -1/x² = -inf.
    let json = hessian_json(&["log(x)", "x=0"]);
    assert_eq!(json["value"], "-Infinity");
    assert_eq!(json["grads"]["x"], "Infinity");
    assert_eq!(json["hessian"]["x"]["x"], "-Infinity");
    assert!(json["not_finite"].as_str().unwrap().contains("(log)"));
    // log(x) at -1: NaN; 1/x = -1; -1/x² = -1.
    let json = hessian_json(&["log(x)", "x=-1"]);
    assert_eq!(json["value"], "NaN");
    assert_eq!(json["hessian"]["x"]["x"].as_f64(), Some(-1.0));
    // x**1.5 at 0: f = 0, f' = 1.5·x^0.5 = 0, f'' = 0.75·x^-0.5 = +inf.
    // The first derivatives are finite, so the warning names the Hessian's.
    let out = run(&["grad", "x**1.5", "x=0", "--hessian"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "x**1.5 = 0.0\nd/dx = 0.0\nhessian:\nd²/dx² = inf\n"
    );
    assert_eq!(
        stderr(&out),
        "micrograd: warning: not finite: the Hessian's d²/dx² is inf\n"
    );
    let json = hessian_json(&["x**1.5", "x=0"]);
    assert_eq!(json["hessian"]["x"]["x"], "Infinity");
    assert_eq!(json["not_finite"], serde_json::Value::Null);
}

#[test]
fn the_picture_holds_the_gradients_graphs_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // f = x·y·y + x²: df/dx = y² + 2x and df/dy = 2xy are new nodes (in
    // x*y + x**2, df/dy would be x itself, a node of f's graph).
    let args = ["grad", "x*y*y + x**2", "x=0.5", "y=-1", "--hessian"];
    let out = run_in(d, &[&args[..], &["--svg", "h.svg"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    // d²f/dy² = 2x = 1.
    assert!(stdout(&out).ends_with("d²/dy² = 1.0\ngraph: h.svg\n"));
    let svg = std::fs::read_to_string(d.join("h.svg")).unwrap();
    assert!(svg.contains(">d/dx<") && svg.contains(">d/dy<"), "{svg}");
    // The DOT: df/dx = 1 + 1 = 2 and df/dy = -1 are nodes, labelled,
    // beside the expression's own (its root 0.5 + 0.25, x with gradient 2).
    let out = run_in(d, &[&args[..], &["--dot", "h.dot"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let dot = std::fs::read_to_string(d.join("h.dot")).unwrap();
    for record in [
        "{ d/dx | data 2.0000 |",
        "{ d/dy | data -1.0000 |",
        "{ x | data 0.5000 | grad 2.0000 }",
        "| data 0.7500 | grad 1.0000 }",
    ] {
        assert!(dot.contains(record), "{record} not in {dot}");
    }
    let out = run_in(d, &[&args[..], &["--png", "h.png"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&std::fs::read(d.join("h.png")).unwrap()[1..4], b"PNG");
    // Without --hessian, the expression's graph alone.
    let out = run_in(
        d,
        &["grad", "x*y + x**2", "x=0.5", "y=-1", "--dot", "g.dot"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dot = std::fs::read_to_string(d.join("g.dot")).unwrap();
    assert!(!dot.contains("d/dx"), "{dot}");
    // x + y: both gradients are one node (the seed 1), which is labelled
    // neither d/dx nor d/dy; the leaves keep their names.
    let out = run_in(
        d,
        &["grad", "x+y", "x=1", "y=2", "--hessian", "--dot", "s.dot"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dot = std::fs::read_to_string(d.join("s.dot")).unwrap();
    assert!(!dot.contains("d/d"), "{dot}");
    assert!(dot.contains("{ x | data 1.0000 | grad 1.0000 }"), "{dot}");
}

#[test]
fn hostile_input_is_refused_in_one_line_or_done_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A name given twice is refused as without --hessian.
    let out = run_in(d, &["grad", "x", "x=1", "x=2", "--hessian"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "micrograd: `x` is given twice\n");
    // 1,000 names, the most an expression of 2,000 tokens can use: f is
    // their product at 1, so d²f/daᵢdaⱼ = Π of the others = 1 for i ≠ j,
    // and 0 on the diagonal. A million numbers, in seconds.
    let names: Vec<String> = (0..1000).map(|i| format!("a{i}")).collect();
    let product = names.join("*");
    let values: Vec<String> = names.iter().map(|n| format!("{n}=1")).collect();
    let mut args: Vec<&str> = vec!["grad", &product];
    args.extend(values.iter().map(String::as_str));
    args.extend(["--hessian", "--json"]);
    let started = Instant::now();
    let out = run_in(d, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = json["hessian"].as_object().unwrap();
    assert_eq!(h.len(), 1000);
    for (i, a) in names.iter().enumerate() {
        let row = h[a].as_object().unwrap();
        assert_eq!(row.len(), 1000);
        for (j, b) in names.iter().enumerate() {
            let want = if i == j { 0.0 } else { 1.0 };
            assert_eq!(row[b].as_f64(), Some(want), "{a} {b}");
        }
    }
    // One more name is refused before any work, in one line.
    let mut args: Vec<&str> = vec!["grad", "a0"];
    args.extend(values.iter().map(String::as_str));
    args.extend(["extra=1", "--hessian"]);
    let out = run_in(d, &args);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("micrograd: --hessian takes at most 1000 names"),
        "{err}"
    );
    assert!(err.contains("(given: 1001)"), "{err}");
    // A picture too large to lay out is refused at once, as without
    // --hessian, and nothing is written.
    let many_shared = format!("{}x", "x*y+".repeat(300));
    let started = Instant::now();
    let out = run_in(
        d,
        &[
            "grad",
            &many_shared,
            "x=1",
            "y=2",
            "--hessian",
            "--png",
            "g.png",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot draw g.png"));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!d.join("g.png").exists());
}

#[test]
fn the_help_describes_the_flag() {
    let help = stdout(&run(&["grad", "--help"]));
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("--hessian Also print the Hessian: the second derivative d²/dy dx"),
        "{help}"
    );
}
