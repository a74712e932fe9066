//! The `micrograd` program, run for real: its output, and one clear line on
//! stderr with the right exit code for every bad input.

#![cfg(feature = "cli")]

use std::process::{Command, Output};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/micrograd_demo_moons.json"
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
    let out = micrograd(&[
        "train", "--data", DEMO, "--init", DEMO, "--steps", "100", "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.len(), 100);
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
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4);
}

#[test]
fn train_spiral_reaches_95_percent() {
    let out = micrograd(&["train", "--dataset", "spiral", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let last: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert!(last["accuracy"].as_f64().unwrap() >= 0.95, "{last}");
}

#[test]
fn the_main_job_trains_the_demo_and_summarises() {
    let out = micrograd(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("step 0 loss "), "{text}");
    assert!(text.contains(
        "trained MLP 2-16-16-1 (relu) (337 parameters) on moons (100 samples) for 100 steps"
    ));
    assert!(text.contains("\nfinal loss "), "{text}");
    assert_eq!(
        text.lines().last().unwrap(),
        "pictures: out/training.png, out/training.svg, out/decision-boundary.png, out/decision-boundary.svg"
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

#[test]
fn bad_input_is_one_line_and_an_exit_code() {
    let missing = std::env::temp_dir().join("micrograd-no-such-file.csv");
    let missing = missing.to_str().unwrap();
    // (arguments, exit code, what the one line says)
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["train", "--steps", "-5"],
            2,
            "invalid value '-5' for '--steps <N>'",
        ),
        (
            &["train", "--hidden", "16,,16"],
            2,
            "an empty width between commas",
        ),
        (
            &["train", "--lr", "nan"],
            2,
            "must be a positive finite number",
        ),
        (&["train", "--bogus"], 2, "unexpected argument '--bogus'"),
        (&["frobnicate"], 2, "unrecognized subcommand 'frobnicate'"),
        (
            &["train", "--dataset", "mnist"],
            2,
            "unknown dataset `mnist`",
        ),
        (
            &["train", "--data", missing],
            1,
            "micrograd-no-such-file.csv: No such file or directory",
        ),
        (
            &["train", "--data", DEMO, "--init", DEMO, "--hidden", "8,8"],
            1,
            "layer 1 has 8 neurons, the weights have 16",
        ),
        (
            &["train", "--dataset", "spiral", "--loss", "svm"],
            1,
            "the svm loss needs exactly two classes",
        ),
        (
            &[
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
            1,
            "the loss became",
        ),
    ];
    for (args, code, message) in cases {
        let out = micrograd(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{args:?} printed more than one line:\n{err}"
        );
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.starts_with("micrograd: "), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{args:?}: {err}"
        );
    }
}
