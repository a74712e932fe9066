//! The `micrograd` program, run for real: its output, and one clear line on
//! stderr with the right exit code for every bad input.

use std::process::{Command, Output};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/micrograd/data/micrograd_demo_moons.json"
);

/// A fresh directory for one run of the program (it writes pictures there).
fn fresh_dir() -> std::path::PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("micrograd-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn micrograd_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// Runs the program in a directory of its own, removed afterwards.
fn micrograd(args: &[&str]) -> Output {
    let dir = fresh_dir();
    let out = micrograd_in(&dir, args);
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

#[test]
fn train_json_prints_micrograds_trajectory_and_nothing_else() {
    // A user's file with two labels trains with Adam by default; micrograd's
    // own settings, given as flags, give the notebook's numbers.
    let out = micrograd(&[
        "train",
        "--data",
        DEMO,
        "--init",
        DEMO,
        "--optimizer",
        "sgd",
        "--lr",
        "1",
        "--schedule",
        "linear",
        "--steps",
        "100",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (lines, summary) = json_lines(&out);
    assert_eq!(lines.len(), 100);
    assert_eq!(summary["final"], true);
    // demo.ipynb's numbers
    for (step, loss, accuracy) in [
        (0, 0.8958441028683222, 0.5),
        (1, 1.7235905336972022, 0.81),
        (40, 0.06016009895234464, 1.0),
        (99, 0.010978370135492717, 1.0),
    ] {
        let line = &lines[step];
        assert_eq!(line["step"], step);
        let got = line["loss"].as_f64().unwrap();
        assert!(
            ((got - loss) / loss).abs() < 1e-9,
            "step {step}: {got} vs {loss}"
        );
        assert_eq!(line["accuracy"].as_f64(), Some(accuracy));
        assert_eq!(line["lr"].as_f64(), Some(1.0 - 0.9 * step as f64 / 100.0));
    }
    let keys: std::collections::BTreeSet<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "accuracy",
            "loss",
            "lr",
            "step",
            "test_accuracy",
            "test_loss"
        ]
        .into()
    );
    // Nothing held out: nothing measured.
    assert!(
        lines
            .iter()
            .all(|l| l["test_loss"].is_null() && l["test_accuracy"].is_null())
    );
    // In that order, the held-out numbers beside the training ones.
    let first = stdout(&out).lines().next().unwrap().to_owned();
    let at = |key: &str| first.find(&format!("\"{key}\"")).unwrap();
    assert!(at("step") < at("loss") && at("loss") < at("accuracy"));
    assert!(at("accuracy") < at("test_loss") && at("test_loss") < at("test_accuracy"));
    assert!(at("test_accuracy") < at("lr"));
}

#[test]
fn train_measures_the_points_it_holds_out() {
    // xor's 500 points, a fifth held out: round(0.2·500) = 100 measured.
    let out = micrograd(&["train", "--dataset", "xor", "--test", "0.2", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (lines, _) = json_lines(&out);
    assert_eq!(lines.len(), 200);
    for line in &lines {
        let (loss, accuracy) = (line["test_loss"].as_f64(), line["test_accuracy"].as_f64());
        assert!(loss.is_some_and(|l| l >= 0.0), "{line}");
        // A count of 100 points.
        let right = accuracy.unwrap() * 100.0;
        assert!((right - right.round()).abs() < 1e-9, "{line}");
    }
    let last = lines.last().unwrap();
    assert!(last["test_accuracy"].as_f64().unwrap() >= 0.95, "{last}");

    // Text: each step's line and the summary say both.
    let out = micrograd(&["train", "--dataset", "xor", "--test", "0.2", "--steps", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let step = text.lines().next().unwrap();
    assert!(step.starts_with("step 0 loss "), "{step}");
    assert!(
        step.contains(", accuracy ") && step.contains(", test loss "),
        "{step}"
    );
    assert!(
        step.ends_with('%') && step.contains(", test accuracy "),
        "{step}"
    );
    assert!(
        text.contains(" on xor (400 samples, 100 held out) for 2 steps"),
        "{text}"
    );
    assert!(text.contains("; held out: loss "), "{text}");

    // A regression has no accuracy, held out or not: plane's 1,200 points,
    // a quarter held out.
    let out = micrograd(&[
        "train",
        "--dataset",
        "plane",
        "--test",
        "0.25",
        "--steps",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for line in stdout(&out).lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            line["accuracy"].is_null() && line["test_accuracy"].is_null(),
            "{line}"
        );
        assert!(line["test_loss"].as_f64().is_some(), "{line}");
    }
    let out = micrograd(&[
        "train",
        "--dataset",
        "plane",
        "--test",
        "0.25",
        "--steps",
        "1",
    ]);
    assert!(
        stdout(&out).contains("on plane (900 samples, 300 held out)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn train_feeds_the_network_features_and_predict_makes_them_from_points() {
    let dir = fresh_dir();
    // xor's label is the sign of x1·x2: one input does it.
    let out = micrograd_in(
        &dir,
        &[
            "train",
            "--dataset",
            "xor",
            "--points",
            "200",
            "--features",
            "x1*x2",
            "--quiet",
            "--save",
            "xor.st",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("trained MLP 1-16-16-1 (relu)"), "{text}");
    assert!(text.contains("accuracy 100.0%"), "{text}");
    // Points as they are, labelled by the sign of x1·x2.
    std::fs::write(
        dir.join("points.csv"),
        "1,2,1
-1,2,-1
3,-0.5,-1
-2,-2,1
",
    )
    .unwrap();
    let out = micrograd_in(
        &dir,
        &["predict", "--model", "xor.st", "--data", "points.csv"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().last(),
        Some("accuracy 100.0% (4 of 4)")
    );
    // Features the demo's weights do not read start from the seed's.
    let out = micrograd_in(
        &dir,
        &[
            "train",
            "--dataset",
            "demo",
            "--features",
            "x1,x2,x1*x2",
            "--steps",
            "1",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "micrograd: note: the demo's initial weights read x1,x2; --features x1,x2,x1*x2 starts from \
         weights drawn from --seed 0\n"
    );
    assert!(stdout(&out).contains("trained MLP 3-16-16-1 (relu)"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_held_out_points_features_and_l1_are_in_the_help() {
    let help = stdout(&micrograd(&["help", "train"]));
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for flag in [
        "--test <FRACTION>",
        "--features <LIST>",
        "--l1 <ALPHA>",
        "\"test_loss\"",
    ] {
        assert!(words.contains(flag), "{flag}: {help}");
    }
    for name in [
        "xor",
        "gaussian",
        "plane",
        "multi-gaussian",
        "x1*x2",
        "sin(x1)",
    ] {
        assert!(words.contains(name), "{name}: {help}");
    }
}

#[test]
fn train_spiral_reaches_95_percent() {
    let out = micrograd(&["train", "--dataset", "spiral", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The final model, after the last update.
    let (_, summary) = json_lines(&out);
    assert!(summary["accuracy"].as_f64().unwrap() >= 0.95, "{summary}");
}

#[test]
fn the_main_job_trains_the_demo_and_summarises() {
    let out = micrograd(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The notebook's own points and initial weights: its printed losses.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DEMO).unwrap()).unwrap();
    let loss = |step: &str| file["expected"]["loss_by_step"][step].as_f64().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("step 0 loss {:?}, accuracy 50.0%", loss("0"))
    );
    assert_eq!(
        lines[1],
        format!("step 1 loss {:?}, accuracy 81.0%", loss("1"))
    );
    assert_eq!(
        lines[99],
        format!("step 99 loss {:?}, accuracy 100.0%", loss("99"))
    );
    assert!(text.contains(
        "trained MLP 2-16-16-1 (relu) (337 parameters) on micrograd's demo (100 samples) for 100 steps"
    ));
    assert!(
        text.contains(&format!("\nfinal loss {:?}, accuracy 100.0%\n", loss("99"))),
        "{text}"
    );
    let last: Vec<&str> = text.lines().rev().take(2).collect();
    assert_eq!(
        last,
        [
            "pictures: out/training.png, out/training.svg, out/decision-boundary.png, out/decision-boundary.svg",
            "model: out/model.safetensors"
        ]
    );
}

#[test]
fn demo_prints_the_seed_example_and_draws_it() {
    let dir = fresh_dir();
    let out = micrograd_in(&dir, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The lecture's values and gradients, by hand: L = (ab + c)f.
    for line in [
        "a = Value(data=2.0, grad=6.0)",
        "b = Value(data=-3.0, grad=-4.0)",
        "c = Value(data=10.0, grad=-2.0)",
        "d = Value(data=4.0, grad=-2.0)",
        "e = Value(data=-6.0, grad=-2.0)",
        "f = Value(data=-2.0, grad=4.0)",
        "L = Value(data=-8.0, grad=1.0)",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let png = std::fs::read(dir.join("image/manual-backpropagation.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = std::fs::read_to_string(dir.join("image/manual-backpropagation.svg")).unwrap();
    assert!(svg.contains(">grad 6.0000<"));
    // The training pictures of the main job, where it says.
    let out = micrograd_in(&dir, &["train", "--steps", "5"]);
    assert!(out.status.success());
    for name in [
        "training.png",
        "training.svg",
        "decision-boundary.png",
        "decision-boundary.svg",
    ] {
        assert!(
            dir.join("out").join(name).is_file(),
            "out/{name} was not written"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files for the error table, in a directory of their own.
fn fixtures() -> std::path::PathBuf {
    let dir = fresh_dir();
    let files: [(&str, &[u8]); 7] = [
        ("empty.csv", b""),
        ("binary.csv", &[0x89, b'P', b'N', b'G', 0, 0, 1, 2]),
        ("bad-cell.csv", b"x,y,label\n1,2,1\n3,oops,-1\n"),
        ("short-row.csv", b"1,2,1\n3,4\n"),
        ("malformed.json", b"{\"X\": [[1, 2]],\n \"y\": [1,]}"),
        ("three-features.csv", b"1,2,3,1\n4,5,6,-1\n"),
        (
            "not-a-model.safetensors",
            b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": broken}",
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    // A real model, then the same file cut short.
    let out = micrograd_in(
        &dir,
        &["train", "--steps", "2", "--save", "model.safetensors"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let model = std::fs::read(dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("truncated.safetensors"), &model[..model.len() / 2]).unwrap();
    // Three classes, an output each, said to be trained by the SVM loss:
    // the header's JSON keeps its length, spaces after the value.
    let out = micrograd_in(
        &dir,
        &[
            "train",
            "--dataset",
            "blobs",
            "--steps",
            "1",
            "--save",
            "blobs.safetensors",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let blobs = std::fs::read(dir.join("blobs.safetensors")).unwrap();
    let (from, to) = (&b"\"loss\":\"softmax\""[..], &b"\"loss\":\"svm\"    "[..]);
    let at = blobs
        .windows(from.len())
        .position(|w| w == from)
        .expect("the loss in the header");
    let mut svm_on_blobs = blobs;
    svm_on_blobs[at..at + from.len()].copy_from_slice(to);
    std::fs::write(dir.join("svm-on-blobs.safetensors"), svm_on_blobs).unwrap();
    dir
}

#[test]
fn bad_input_is_one_clear_message_and_an_exit_code() {
    let dir = fixtures();
    let at = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (empty, binary, bad_cell, short_row) = (
        at("empty.csv"),
        at("binary.csv"),
        at("bad-cell.csv"),
        at("short-row.csv"),
    );
    let (malformed, three, model) = (
        at("malformed.json"),
        at("three-features.csv"),
        at("model.safetensors"),
    );
    let (truncated, not_model, missing) = (
        at("truncated.safetensors"),
        at("not-a-model.safetensors"),
        at("missing.csv"),
    );
    let svm_on_blobs = at("svm-on-blobs.safetensors");
    // (arguments, exit code, what the message says)
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        // usage: the command line itself
        (
            vec!["train", "--steps", "-5"],
            2,
            "invalid value '-5' for '--steps <N>'".into(),
        ),
        (
            vec!["train", "--steps", "many"],
            2,
            "invalid value 'many' for '--steps <N>'".into(),
        ),
        (
            vec!["train", "--hidden", "16,,16"],
            2,
            "an empty width between commas".into(),
        ),
        (
            vec!["train", "--hidden", "16,0"],
            2,
            "a layer needs at least one neuron".into(),
        ),
        (
            vec!["train", "--hidden", "100000,100000"],
            2,
            "a network 2-100000-100000-1 has 10000500001 parameters, more than a tape holds".into(),
        ),
        (
            vec!["train", "--lr", "nan"],
            2,
            "must be a positive finite number".into(),
        ),
        (
            vec!["train", "--l2", "-1"],
            2,
            "must be a finite number, 0 or more".into(),
        ),
        (
            vec!["train", "--l1", "-0.5"],
            2,
            "invalid value '-0.5' for '--l1 <ALPHA>': must be a finite number, 0 or more".into(),
        ),
        (
            vec!["train", "--test", "1"],
            2,
            "invalid value '1' for '--test <FRACTION>': must be a number from 0 up to (not \
             including) 1"
                .into(),
        ),
        (
            vec!["train", "--features", "x1,x3"],
            2,
            "unknown feature `x3` (expected x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2))".into(),
        ),
        (
            vec!["train", "--features", "x1,x1"],
            2,
            "the feature `x1` is given twice".into(),
        ),
        (
            vec!["train", "--test", "0.9", "--points", "3"],
            1,
            "holding out 0.9 of 3 points leaves no point to train on".into(),
        ),
        (
            vec!["train", "--data", &three, "--features", "x1^2"],
            1,
            "the features x1^2 are made from points in the plane".into(),
        ),
        (
            vec!["train", "--bogus"],
            2,
            "unexpected argument '--bogus'".into(),
        ),
        (
            vec!["frobnicate"],
            2,
            "unrecognized subcommand 'frobnicate'".into(),
        ),
        (
            vec!["train", "--dataset", "mnist"],
            2,
            "unknown dataset `mnist`".into(),
        ),
        (vec!["train", "--loss", "l1"], 2, "unknown loss `l1`".into()),
        (
            vec!["train", "--data", &empty, "--dataset", "moons"],
            2,
            "cannot be used with".into(),
        ),
        (
            vec!["grad", "x", "x=abc"],
            2,
            "`abc` is not a finite number".into(),
        ),
        (
            vec!["grad", "x", "1x=2"],
            2,
            "`1x` is not a variable name".into(),
        ),
        (
            vec!["grad", "x", "x=1", "x=2"],
            2,
            "`x` is given twice".into(),
        ),
        (
            vec!["grad", "x*y", "x=1"],
            2,
            "no value for `y`: add y=VALUE".into(),
        ),
        (
            vec!["grad", "x", "x=1", "--png", "a.png", "--svg", "a.svg"],
            2,
            "cannot be used with".into(),
        ),
        (
            vec!["train", "--threads", "0"],
            2,
            "invalid value '0' for '--threads".into(),
        ),
        (
            vec!["train", "--points", "2"],
            2,
            "invalid value '2' for '--points".into(),
        ),
        (
            vec!["bench", "--workload", "A", "--hidden", "8"],
            2,
            "cannot be used with".into(),
        ),
        (
            vec!["bench", "--hidden", "8,0"],
            2,
            "a layer needs at least one neuron".into(),
        ),
        (
            vec!["bench", "--workload", "C"],
            2,
            "invalid value 'C' for '--workload".into(),
        ),
        (
            vec!["bench", "--seconds", "0"],
            2,
            "expected a number of seconds".into(),
        ),
        (
            vec!["predict", "--data", &three],
            2,
            "the following required arguments were not provided".into(),
        ),
        // run time: files and what is in them
        (
            vec!["train", "--data", &missing],
            1,
            "missing.csv: No such file or directory".into(),
        ),
        (
            vec!["train", "--data", &empty],
            1,
            "empty.csv: no data rows".into(),
        ),
        (
            vec!["train", "--data", &binary],
            1,
            "binary.csv: not a text file".into(),
        ),
        (
            vec!["train", "--data", &bad_cell],
            1,
            "bad-cell.csv:3:2: `oops` is not a number".into(),
        ),
        (
            vec!["train", "--data", &short_row],
            1,
            "short-row.csv:2:3: expected 3 fields, found 2".into(),
        ),
        (
            vec!["train", "--data", &malformed],
            1,
            "malformed.json:2:10: trailing comma".into(),
        ),
        (
            vec!["train", "--data", DEMO, "--init", DEMO, "--hidden", "8,8"],
            1,
            "layer 1 has 8 neurons, the weights have 16".into(),
        ),
        (
            vec!["train", "--data", &three, "--init", DEMO],
            1,
            "layer 1: the model's neurons take 3 inputs, the weights' neuron 1 takes 2".into(),
        ),
        (
            vec!["train", "--dataset", "spiral", "--loss", "svm"],
            1,
            "the svm loss needs exactly two classes".into(),
        ),
        (
            vec![
                "train",
                "--loss",
                "mse",
                "--optimizer",
                "sgd",
                "--lr",
                "1000",
                "--schedule",
                "constant",
            ],
            3,
            // The outputs grow until their squared errors overflow.
            "the loss is inf (first made by `**2` of ".into(),
        ),
        (
            vec!["predict", "--model", &truncated, "--data", DEMO],
            1,
            "not a micrograd model".into(),
        ),
        (
            vec!["predict", "--model", &not_model, "--data", DEMO],
            1,
            "not a micrograd model".into(),
        ),
        (
            vec!["predict", "--model", &svm_on_blobs, "--data", DEMO],
            1,
            "not a micrograd model (its `loss` does not fit its `task`: the svm loss cannot read \
             3 classes (0, 1, 2) scored by an output each"
                .into(),
        ),
        (
            vec!["predict", "--model", &missing, "--data", DEMO],
            1,
            "missing.csv: No such file or directory".into(),
        ),
        (
            vec!["predict", "--model", &model, "--data", &three],
            1,
            "4 fields, expected 2 features (and perhaps a label)".into(),
        ),
    ];
    for (args, code, message) in &cases {
        let out = micrograd(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{args:?} printed more than one line:\n{err}"
        );
        assert!(err.contains(message.as_str()), "{args:?}: {err}");
        assert!(err.starts_with("micrograd: "), "{args:?}: {err}");
        if *code == 2 {
            assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_malformed_expression_is_shown_with_a_caret() {
    let out = micrograd(&["grad", "tanh(x * ) + 1", "x=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "micrograd: expected a number, a name or `(`, found `)`\n  tanh(x * ) + 1\n           ^\n"
    );
    let out = micrograd(&["grad", "sinh(x)", "x=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with(
        "micrograd: unknown function `sinh` (known: tanh, exp, log, relu, step, sigmoid, softplus, sin, cos)\n"
    ));
}

#[test]
fn grad_differentiates_sin_and_cos() {
    // d sin(x)/dx = cos(0) = 1 at x = 0.
    let out = micrograd(&["grad", "sin(x)", "x=0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "sin(x) = 0.0\nd/dx = 1.0\n");
    // d cos(x)/dx = -sin(0) = -0 at x = 0, which the leaf adds to its
    // gradient 0: 0 + -0 = 0.
    let out = micrograd(&["grad", "cos(x)", "x=0"]);
    assert_eq!(stdout(&out), "cos(x) = 1.0\nd/dx = 0.0\n");
    // The help lists them, however it wraps its lines.
    let help = stdout(&micrograd(&["grad", "--help"]));
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("tanh exp log relu step sigmoid softplus sin cos"),
        "{help}"
    );
}

#[test]
fn grad_prints_the_lectures_neuron() {
    let args = [
        "grad",
        "tanh(x1*w1 + x2*w2 + b)",
        "x1=2",
        "x2=0",
        "w1=-3",
        "w2=1",
        "b=6.8813735870195432",
    ];
    let out = micrograd(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    // The lecture's numbers (its Python prints these, tools/reference/lecture.py).
    assert_eq!(
        stdout(&out),
        "tanh(x1*w1 + x2*w2 + b) = 0.7071067811865476\n\
         d/dx1 = -1.4999999999999996\nd/dx2 = 0.4999999999999999\nd/dw1 = 0.9999999999999998\n\
         d/dw2 = 0.0\nd/db = 0.4999999999999999\n"
    );
    let out = micrograd(&[&args[..], &["--json"]].concat());
    assert_eq!(
        stdout(&out),
        "{\"value\": 0.7071067811865476, \"grads\": {\"x1\": -1.4999999999999996, \"x2\": 0.4999999999999999, \
         \"w1\": 0.9999999999999998, \"w2\": 0.0, \"b\": 0.4999999999999999}, \"not_finite\": null}\n"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["grads"]["x1"].as_f64(), Some(-1.4999999999999996));
}

#[test]
fn grad_warns_of_unused_variables_and_draws() {
    let dir = fresh_dir();
    let out = micrograd_in(&dir, &["grad", "-x**2", "x=3", "y=1", "--dot", "g.dot"]);
    assert!(out.status.success());
    assert_eq!(
        stderr(&out),
        "micrograd: warning: `y` is given but not used\n"
    );
    // -(x**2): value -9, derivative -2x = -6; y unused: 0.
    assert_eq!(
        stdout(&out),
        "-x**2 = -9.0\nd/dx = -6.0\nd/dy = 0.0\ngraph: g.dot\n"
    );
    let dot = std::fs::read_to_string(dir.join("g.dot")).unwrap();
    assert!(
        dot.contains("label=\"**2\"") && dot.contains("{ x | data 3.0000 | grad -6.0000 }"),
        "{dot}"
    );
    // The flag names the format, whatever the file is called.
    let out = micrograd_in(&dir, &["grad", "x*y", "x=3", "y=1", "--png", "graph"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&std::fs::read(dir.join("graph")).unwrap()[1..4], b"PNG");
    for picture in ["--png", "--svg"] {
        let file = format!("g{picture}").replace("--", ".");
        let out = micrograd_in(&dir, &["grad", "x*y", "x=3", "y=1", picture, &file]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(std::fs::metadata(dir.join(&file)).unwrap().len() > 100);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn predict_with_and_without_labels() {
    let dir = fresh_dir();
    let out = micrograd_in(
        &dir,
        &[
            "train",
            "--data",
            DEMO,
            "--init",
            DEMO,
            "--optimizer",
            "sgd",
            "--lr",
            "1",
            "--schedule",
            "linear",
            "--save",
            "demo.safetensors",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The notebook's model after 100 steps classifies all 100 points.
    let out = micrograd_in(
        &dir,
        &["predict", "--model", "demo.safetensors", "--data", DEMO],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 101);
    assert_eq!(text.lines().last(), Some("accuracy 100.0% (100 of 100)"));
    // Without labels: outputs and predictions only.
    std::fs::write(dir.join("points.csv"), "0.0,1.0\n1.0,-0.5\n").unwrap();
    let out = micrograd_in(
        &dir,
        &[
            "predict",
            "--model",
            "demo.safetensors",
            "--data",
            "points.csv",
            "--json",
        ],
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // (0, 1) lies on the upper moon (label -1), (1, -0.5) on the lower (+1).
    assert_eq!(
        (
            lines[0]["prediction"].as_f64(),
            lines[1]["prediction"].as_f64()
        ),
        (Some(-1.0), Some(1.0))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bench_reports_json_per_workload() {
    let out = micrograd(&["bench", "--workload", "A", "--json", "--seconds", "0.05"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let r = &lines[0];
    // Keys in this order (serde_json's Value would sort them).
    let text = stdout(&out);
    let order: Vec<usize> = [
        "workload",
        "step_us_median",
        "nodes_per_step",
        "ns_per_node",
    ]
    .iter()
    .map(|key| text.find(&format!("\"{key}\"")).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(r["workload"], "A");
    // micrograd's demo step: 100 × (2 inputs + 80 + 528 + 32 + 5 loss nodes)
    // + 103 for the mean + 677 for the L2 term + 1, worked out from nn.py.
    assert_eq!(r["nodes_per_step"], 100 * 647 + 103 + 677 + 1);
    let (us, ns) = (
        r["step_us_median"].as_f64().unwrap(),
        r["ns_per_node"].as_f64().unwrap(),
    );
    assert!((ns - us * 1e3 / 65481.0).abs() < 1e-9 * ns);
    // Per weight and point a multiply and an add forward, for the input's
    // gradient and for the weight's: 6 · 100 · (2·16 + 16·16 + 16·1).
    assert_eq!(r["flop_per_step"], 182_400);
    let number = |key: &str| {
        let x = r[key].as_f64().unwrap_or_else(|| panic!("{key}: {r}"));
        assert!(x.is_finite() && x > 0.0, "{key}: {r}");
        x
    };
    let gflops = number("gflops");
    assert!((gflops - 182_400.0 / (us * 1e3)).abs() < 1e-9 * gflops);
    let (fma, _) = (number("peak_fma_gflops"), number("peak_mul_add_gflops"));
    let threads = r["threads"].as_f64().unwrap();
    let fraction = number("fraction_of_peak");
    assert!((fraction - gflops / (threads * fma)).abs() < 1e-9 * fraction);
    assert!(
        [1, 2, 4, 8].contains(&r["peak_f64_lanes"].as_u64().unwrap()),
        "{r}"
    );
}

#[test]
fn bench_prints_the_peak_once_and_each_steps_arithmetic() {
    let out = micrograd(&[
        "bench",
        "--hidden",
        "8,4",
        "--points",
        "300",
        "--threads",
        "2",
        "--batched",
        "--seconds",
        "0.05",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("peak of one core: "), "{text}");
    assert_eq!(text.matches("peak of one core").count(), 1, "{text}");
    // 6 · 300 · (2·8 + 8·4 + 4·1) = 93,600 FLOP, against both threads' peak.
    let arithmetic = lines
        .iter()
        .find(|l| l.trim_start().starts_with("arithmetic"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        arithmetic.contains(" GFLOP/s, 0.094 MFLOP per step")
            && arithmetic.ends_with("of 2 × one core's FMA peak"),
        "{text}"
    );
}

#[test]
fn a_network_the_machine_cannot_hold_is_refused_before_it_starts() {
    // 49 million parameters need several GB; under a 2 GB address space
    // the run is refused at once, not aborted a minute in.
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 2000000 && exec \"$0\" train --hidden 7000,7000",
        ])
        .arg(env!("CARGO_BIN_EXE_micrograd"))
        .current_dir(std::env::temp_dir())
        .output()
        .expect("sh runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("micrograd: a network 2-7000-7000-1 on 100 points needs about ")
            && err.contains("GB of address space")
            && err.contains("ulimit -v leaves"),
        "{err}"
    );
}

#[test]
fn any_thread_count_and_the_per_point_graph_train_alike() {
    // 900 spiral points: four chunks of the batch.
    let run = |extra: &[&str]| -> Vec<(f64, f64)> {
        let mut args = vec![
            "train",
            "--dataset",
            "spiral",
            "--points",
            "900",
            "--steps",
            "5",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = micrograd(&args);
        assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
        let (steps, summary) = json_lines(&out);
        steps
            .iter()
            .chain([&summary])
            .map(|v| (v["loss"].as_f64().unwrap(), v["accuracy"].as_f64().unwrap()))
            .collect()
    };
    // Five steps, and the final model's scores.
    let one = run(&["--threads", "1"]);
    assert_eq!(one.len(), 6);
    assert_eq!(run(&["--threads", "2"]), one, "2 threads");
    assert_eq!(run(&["--threads", "3"]), one, "3 threads");
    for ((loss, accuracy), (per_point, per_point_accuracy)) in one.iter().zip(run(&["--per-point"]))
    {
        assert!(
            (loss - per_point).abs() <= 1e-12 * loss,
            "{loss} in lanes, {per_point} per point"
        );
        assert_eq!(*accuracy, per_point_accuracy);
    }
}

#[test]
fn a_replayed_step_and_a_step_built_every_time_train_to_the_same_bits() {
    // 600 moons points, SVM: replayed by default; three chunks a step.
    let run = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["train", "--points", "600", "--steps", "8", "--json"];
        args.extend_from_slice(extra);
        let out = micrograd(&args);
        assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
        // The steps, and the summary's scores (its times differ).
        let (steps, summary) = json_lines(&out);
        let scores = ["loss", "accuracy", "test_loss", "test_accuracy"].map(|k| &summary[k]);
        steps
            .iter()
            .map(ToString::to_string)
            .chain([serde_json::json!(scores).to_string()])
            .collect()
    };
    let replayed = run(&[]);
    assert_eq!(replayed.len(), 9);
    assert_eq!(run(&["--no-replay"]), replayed, "built every step");
    assert_eq!(run(&["--no-replay", "--threads", "2"]), replayed);
    let out = micrograd(&["train", "--per-point", "--no-replay"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn bench_times_a_shape_of_your_own() {
    let out = micrograd(&[
        "bench",
        "--hidden",
        "8,4",
        "--points",
        "300",
        "--threads",
        "1",
        "--json",
        "--seconds",
        "0.05",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(r["workload"], "custom");
    assert_eq!(r["hidden"], serde_json::json!([8, 4]));
    assert_eq!(
        (r["points"].as_u64(), r["threads"].as_u64()),
        (Some(300), Some(1))
    );
    // micrograd's graph: per point 2 inputs, 8·(2·2+1), 4·(2·8+1), 1·(2·4)

    let per_point = 2 + 8 * 5 + 4 * 17 + 8 + 5;
    assert_eq!(
        r["nodes_per_step"],
        300 * per_point + 303 + (2 * 65 + 3) + 1
    );
    // 6 · 300 · (2·8 + 8·4 + 4·1).
    assert_eq!(r["flop_per_step"], 93_600);
    for key in [
        "gflops",
        "peak_fma_gflops",
        "peak_mul_add_gflops",
        "fraction_of_peak",
        "per_point_step_us_median",
        "node_by_node_step_us_median",
        "flat_tape_step_us_median",
    ] {
        assert!(r[key].as_f64().is_some_and(|us| us > 0.0), "{key}: {r}");
    }
}

#[test]
fn train_prints_every_nth_step_the_last_always_or_none() {
    let steps = |args: &[&str]| -> Vec<u64> {
        let out = micrograd(&[&["train", "--steps", "10", "--json"], args].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        // The summary ends every run, --quiet or not.
        let (steps, summary) = json_lines(&out);
        assert_eq!(summary["final"], true);
        steps.iter().map(|l| l["step"].as_u64().unwrap()).collect()
    };
    assert_eq!(steps(&[]), (0..10).collect::<Vec<_>>());
    assert_eq!(steps(&["--log-every", "4"]), [0, 4, 8, 9]);
    assert_eq!(steps(&["--log-every", "5"]), [0, 5, 9]);
    assert_eq!(steps(&["--quiet"]), Vec::<u64>::new());
    // Plain text: --quiet keeps the summary only.
    let out = micrograd(&["train", "--steps", "10", "--quiet"]);
    let text = stdout(&out);
    assert!(!text.contains("step "), "{text}");
    assert!(text.starts_with("trained MLP 2-16-16-1 (relu)"), "{text}");
    // Every run says what it made of the labels, built-in data too.
    assert!(
        text.contains("task: two classes (-1, 1), one output scoring them (the svm loss)"),
        "{text}"
    );
    let out = micrograd(&["train", "--log-every", "2", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_hidden_width_other_than_the_demos_says_its_weights_are_not_used() {
    let out = micrograd(&["train", "--dataset", "demo", "--hidden", "4", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "micrograd: note: the demo's initial weights are for hidden layers 16,16; --hidden 4 \
         starts from weights drawn from --seed 0\n"
    );
    // The demo's own widths keep its weights, and its numbers.
    let out = micrograd(&["train", "--dataset", "demo", "--hidden", "16,16", "--quiet"]);
    assert_eq!(stderr(&out), "");
    assert!(stdout(&out).contains("final loss 0.010978370135492717"));
}

#[test]
fn demo_draws_into_the_folder_given() {
    let dir = fresh_dir();
    let out = micrograd_in(&dir, &["demo", "--out", "pics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for ext in ["png", "svg"] {
        assert!(
            dir.join(format!("pics/manual-backpropagation.{ext}"))
                .is_file()
        );
    }
    // Nothing in the seed's folder.
    assert!(!dir.join("image").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn predict_gives_probabilities_where_the_loss_defines_them() {
    let dir = fresh_dir();
    std::fs::write(dir.join("p.csv"), "0.5,0.25\n-1,0.5\n").unwrap();
    let trained = |args: &[&str], model: &str| {
        let out = micrograd_in(
            &dir,
            &[
                args,
                &["--steps", "20", "--quiet", "--save", model, "--out", "o"],
            ]
            .concat(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    trained(&["train", "--dataset", "spiral"], "softmax.st");
    trained(&["train", "--loss", "bce"], "bce.st");
    trained(&["train"], "svm.st");
    let lines = |model: &str| -> Vec<serde_json::Value> {
        let out = micrograd_in(
            &dir,
            &["predict", "--model", model, "--data", "p.csv", "--json"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for line in lines("softmax.st") {
        // softmax: e^z_j / Σ e^z_k, from the outputs printed beside them.
        let z: Vec<f64> = line["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z.as_f64().unwrap())
            .collect();
        let p: Vec<f64> = line["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect();
        let total: f64 = z.iter().map(|z| z.exp()).sum();
        for (z, p) in z.iter().zip(&p) {
            assert!((p - z.exp() / total).abs() < 1e-12, "{line}");
        }
    }
    for line in lines("bce.st") {
        // σ(score) for the second class, 1 - σ for the first.
        let score = line["outputs"][0].as_f64().unwrap();
        let p1 = line["probabilities"][1].as_f64().unwrap();
        assert!((p1 - 1.0 / (1.0 + (-score).exp())).abs() < 1e-12, "{line}");
        assert!((line["probabilities"][0].as_f64().unwrap() - (1.0 - p1)).abs() < 1e-15);
    }
    for line in lines("svm.st") {
        assert_eq!(line["probabilities"], serde_json::Value::Null, "{line}");
    }
    // As text: p(classes) = ..., four decimals.
    let out = micrograd_in(&dir, &["predict", "--model", "bce.st", "--data", "p.csv"]);
    assert!(
        stdout(&out).lines().all(|l| l.contains("  p(-1, 1) = 0.")),
        "{}",
        stdout(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `train --json`'s lines, parsed, and the last one (the summary) apart.
fn json_lines(out: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut lines: Vec<serde_json::Value> = stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary)
}

/// Runs `train` in a fresh directory and checks it wrote nothing there.
fn train_keeping_nothing(args: &[&str]) -> Output {
    let dir = fresh_dir();
    let out = micrograd_in(&dir, &[&["train", "--no-out"], args].concat());
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "--no-out wrote {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

#[test]
fn train_json_ends_with_a_summary_whose_params_repeat_the_run() {
    // Issue 21's own case.
    let run = [
        "--dataset",
        "moons",
        "--points",
        "200",
        "--test",
        "0.25",
        "--steps",
        "50",
        "--json",
    ];
    let out = train_keeping_nothing(&run);
    assert!(out.status.success(), "{}", stderr(&out));
    let (steps, summary) = json_lines(&out);
    assert_eq!(steps.len(), 50);
    // Its keys, in this order (the settings, an object of their own, at
    // the third).
    let line = stdout(&out).lines().last().unwrap().to_owned();
    let params_end = line.find("},").expect("params, an object");
    let keys = [
        "final",
        "status",
        "params",
        "loss",
        "accuracy",
        "test_loss",
        "test_accuracy",
        "best_test_loss",
        "best_test_step",
        "steps",
        "steps_per_second",
        "seconds",
    ];
    let at: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let from = if i < 3 { 0 } else { params_end };
            from + line[from..].find(&format!("\"{key}\":")).expect(key)
        })
        .collect();
    assert!(at.is_sorted(), "{line}");
    assert_eq!(summary.as_object().unwrap().len(), keys.len(), "{line}");
    assert_eq!(summary["final"], true);
    assert_eq!(summary["status"], "done");
    assert_eq!(summary["steps"], 50);
    // Every setting resolved: the flags given, and the moons' own
    // (BuiltIn::settings_for: noise 0.1, Adam from 0.1, linear, L2 1e-4).
    let params = &summary["params"];
    assert_eq!(
        *params,
        serde_json::json!({
            "dataset": "moons", "points": 200, "noise": 0.1, "seed": 0, "test": 0.25,
            "features": ["x1", "x2"], "hidden": [16, 16], "activation": "relu", "loss": "svm",
            "optimizer": "adam", "lr": 0.1, "schedule": "linear", "batch": null, "l2": 0.0001,
            "l1": 0.0, "steps": 50
        })
    );
    for key in ["steps_per_second", "seconds"] {
        assert!(summary[key].as_f64().is_some_and(|x| x > 0.0), "{summary}");
    }
    // The README shows this summary: its numbers, but the times.
    let readme = include_str!("../README.md");
    let shown = readme
        .split("```json\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("the README shows a summary");
    let mut shown: serde_json::Value = serde_json::from_str(shown).unwrap();
    let mut timeless = summary.clone();
    for times in [&mut shown, &mut timeless] {
        let times = times.as_object_mut().unwrap();
        times.remove("steps_per_second");
        times.remove("seconds");
    }
    assert_eq!(shown, timeless);

    // Again, from the summary's params alone: the same numbers to the bit.
    let params = serde_json::to_string(params).unwrap();
    let again = train_keeping_nothing(&["--params", &params, "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let (again_steps, again_summary) = json_lines(&again);
    assert_eq!(again_steps, steps);
    for key in [
        "status",
        "params",
        "loss",
        "accuracy",
        "test_loss",
        "test_accuracy",
        "best_test_loss",
        "best_test_step",
        "steps",
    ] {
        assert_eq!(again_summary[key], summary[key], "{key}");
    }
    // With --quiet the summary is the only line.
    let quiet = train_keeping_nothing(&["--params", &params, "--json", "--quiet"]);
    let (none, quiet_summary) = json_lines(&quiet);
    assert!(none.is_empty());
    assert_eq!(quiet_summary["test_loss"], summary["test_loss"]);
}

#[test]
fn the_summary_scores_the_model_after_its_last_update() {
    // With a constant rate, a run of 31 steps takes the 30 updates of a run
    // of 30 and then, at step 30, measures what they left before its own
    // update: on every point (no --batch), the 30-step run's final model.
    // L1 and L2 on, so that the penalties are in the loss.
    let run = |steps: &str| {
        let out = train_keeping_nothing(&[
            "--dataset",
            "circles",
            "--points",
            "120",
            "--test",
            "0.3",
            "--schedule",
            "constant",
            "--lr",
            "0.05",
            "--l1",
            "0.001",
            "--steps",
            steps,
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        json_lines(&out)
    };
    let (steps, summary) = run("30");
    let (longer, _) = run("31");
    let step30 = &longer[30];
    assert_eq!(step30["step"], 30);
    for key in ["loss", "accuracy", "test_loss", "test_accuracy"] {
        assert_eq!(summary[key], step30[key], "{key}");
    }
    // Not the last step line's numbers, which were measured before its
    // update.
    assert_ne!(summary["loss"], steps[29]["loss"]);
    // The best held-out loss: the lowest of every step's and the final
    // model's, at the updates taken before it.
    let mut best = (f64::INFINITY, 0);
    let held_out = steps
        .iter()
        .map(|l| l["test_loss"].as_f64().unwrap())
        .chain([step30["test_loss"].as_f64().unwrap()]);
    for (k, loss) in held_out.enumerate() {
        if loss < best.0 {
            best = (loss, k);
        }
    }
    assert_eq!(summary["best_test_loss"].as_f64(), Some(best.0));
    assert_eq!(summary["best_test_step"], best.1);

    // A regression has no accuracy, and without --test no held-out score.
    let out = train_keeping_nothing(&["--dataset", "plane", "--steps", "3", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, summary) = json_lines(&out);
    for key in [
        "accuracy",
        "test_loss",
        "test_accuracy",
        "best_test_loss",
        "best_test_step",
    ] {
        assert!(summary[key].is_null(), "{key}: {summary}");
    }
    assert!(summary["loss"].as_f64().is_some(), "{summary}");
    assert!(summary["params"]["test"].is_null(), "{summary}");
}

#[test]
fn params_take_settings_as_one_object_and_flags_win() {
    let summary = |args: &[&str]| {
        let out = train_keeping_nothing(&[args, &["--json", "--quiet"]].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        json_lines(&out).1
    };
    // Optuna's `ask`: widths as text. The same run with widths as a list,
    // and with the same settings as flags.
    let text = summary(&[
        "--params",
        r#"{"lr": 0.05, "hidden": "8,8", "l2": 1e-4, "optimizer": "momentum", "steps": 5}"#,
    ]);
    let list = summary(&[
        "--params",
        r#"{"lr": 0.05, "hidden": [8, 8], "l2": 0.0001, "optimizer": "momentum", "steps": 5}"#,
    ]);
    let flags = summary(&[
        "--lr",
        "0.05",
        "--hidden",
        "8,8",
        "--l2",
        "1e-4",
        "--optimizer",
        "momentum",
        "--steps",
        "5",
    ]);
    for other in [&list, &flags] {
        for key in ["params", "loss", "accuracy"] {
            assert_eq!(other[key], text[key], "{key}");
        }
    }
    assert_eq!(text["params"]["hidden"], serde_json::json!([8, 8]));
    assert_eq!(text["params"]["optimizer"], "momentum");
    // A flag given as well wins over its key; the others still count.
    let both = summary(&[
        "--params",
        r#"{"lr": 0.05, "hidden": "8,8", "steps": 5, "seed": 4}"#,
        "--hidden",
        "3",
        "--seed",
        "2",
    ]);
    assert_eq!(both["params"]["hidden"], serde_json::json!([3]));
    assert_eq!(both["params"]["seed"], 2);
    assert_eq!(both["params"]["lr"], 0.05);
    assert_eq!(both["params"]["steps"], 5);

    // Each mistake: one line that names it, and exit code 2.
    for (params, says) in [
        (r#"{"colour": "red"}"#, "--params: unknown field `colour`"),
        (
            r#"{"lr": "fast"}"#,
            "--params: invalid type: string \"fast\", expected f64",
        ),
        (
            r#"{"hidden": 16}"#,
            "widths as a list, [16, 16], or as text",
        ),
        (r#"{"hidden": "16,,16"}"#, "an empty width between commas"),
        (
            r#"{"steps": 2.5}"#,
            "invalid type: floating point `2.5`, expected usize",
        ),
        (r#"{"lr": 0.05, "lr": 0.1}"#, "duplicate field `lr`"),
        (r#"[0.05, "16,16"]"#, "expected an object of settings"),
        ("{\"lr\": 0.05", "--params: EOF while parsing an object"),
        ("", "--params: EOF while parsing a value"),
        (
            r#"{"lr": -1}"#,
            "--params: the learning rate must be a positive finite number",
        ),
        (r#"{"lr": 1e999}"#, "number out of range"),
        (
            r#"{"test": 1}"#,
            "the held-out fraction must be a number from 0 up to",
        ),
        (
            r#"{"points": 99999999999}"#,
            "--params: points is at most 10000000",
        ),
        (
            r#"{"dataset": "upload"}"#,
            "the upload dataset is a file: give it with --data",
        ),
        (r#"{"dataset": "lecture"}"#, "unknown dataset `lecture`"),
        (
            r#"{"dataset": "demo", "points": 50}"#,
            "the demo dataset has its own points",
        ),
        (r#"{"optimizer": "lbfgs"}"#, "unknown optimizer `lbfgs`"),
    ] {
        let out = micrograd(&["train", "--params", params, "--steps", "1", "--no-out"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{params}: {err}");
        assert!(err.contains(says), "{params}: {err}");
        assert_eq!(err.lines().count(), 1, "{params}: {err}");
    }
    // --no-out writes nothing, so it takes no --out or --save.
    let out = micrograd(&["train", "--no-out", "--out", "pics"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn exit_codes_a_scheduler_acts_on() {
    // 3: the run diverged; its summary, the last line, says so.
    let out = train_keeping_nothing(&[
        "--optimizer",
        "sgd",
        "--lr",
        "1e308",
        "--steps",
        "5",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let (steps, summary) = json_lines(&out);
    assert_eq!(summary["status"], "diverged");
    assert_eq!(summary["final"], true);
    // The updates taken before the step that failed, each printed.
    assert_eq!(summary["steps"], steps.len());
    assert_eq!(summary["params"]["lr"], 1e308);
    // 2: usage, whether in a flag or in --params.
    for args in [
        &["train", "--steps", "0"][..],
        &["train", "--params", "{\"steps\": 0}"],
    ] {
        assert_eq!(micrograd(args).status.code(), Some(2), "{args:?}");
    }
    // 1: a file that is not there.
    let out = micrograd(&["train", "--data", "no-such-file.csv", "--json", "--no-out"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}
