//! Every case of the hostile-input report (issue 9), run against the
//! program: the exit code, one clear line on stderr, and no file changed
//! that should not be.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/micrograd/data/micrograd_demo_moons.json"
);

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// Runs `micrograd ARGS` under `sh` with `prelude` first (a `ulimit`).
fn run_shell(dir: &Path, prelude: &str, args: &[&str]) -> Output {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{prelude}; exec '{}' {}",
            env!("CARGO_BIN_EXE_micrograd"),
            quoted.join(" ")
        ))
        .current_dir(dir)
        .output()
        .expect("sh runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`, with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            } else {
                files.push((path, Vec::new()));
            }
        }
    }
    files.sort();
    files
}

/// The error cases: what is run, the exit code, and words the one line
/// on stderr must hold. Each runs in a directory holding a dataset, a
/// model and a picture, none of which it may change.
#[test]
fn every_refusal_is_one_line_an_exit_code_and_no_file_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("d.csv"), "x1,x2,label\n0,0,1\n1,1,-1\n2,0,1\n").unwrap();
    std::fs::write(d.join("one.csv"), "x,label\n0,5\n1,5\n").unwrap();
    std::fs::write(d.join("old.png"), b"the old picture").unwrap();
    std::fs::write(d.join("bad_init.json"), "[1, 2]").unwrap();
    std::fs::write(d.join("tab.txt"), "").unwrap();
    let trained = run_in(
        d,
        &[
            "train", "--data", DEMO, "--init", DEMO, "--steps", "3", "--save", "m.st", "--out",
            "pics",
        ],
    );
    assert!(trained.status.success(), "{}", stderr(&trained));
    std::fs::write(d.join("labels7.csv"), "0.5,0.5,7\n").unwrap();
    std::fs::write(d.join("far.csv"), "1e308,1e308\n").unwrap();

    let at_limit = format!("-{}", vec!["x"; 1000].join("+"));
    let past_limit = vec!["x"; 30_000].join("+");
    let many_shared = format!("{}x", "x*y+".repeat(300));
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        // Severe 1: a picture that would take minutes is refused at once.
        (
            vec!["grad", &many_shared, "x=1", "y=2", "--png", "old.png"],
            1,
            vec!["cannot draw old.png", "--dot"],
        ),
        // Severe 5: a diverged run stops, and the model is not saved; exit
        // code 3 says it diverged (issue 12).
        (
            vec![
                "train",
                "--optimizer",
                "sgd",
                "--lr",
                "1e308",
                "--steps",
                "1",
                "--save",
                "m.st",
            ],
            3,
            vec!["training stopped at step 1", "output for sample", "NaN"],
        ),
        (
            vec![
                "train",
                "--optimizer",
                "sgd",
                "--lr",
                "1e308",
                "--steps",
                "5",
                "--save",
                "m.st",
            ],
            3,
            vec!["training stopped at step 1: the loss is NaN (first made by"],
        ),
        (
            vec!["predict", "--model", "m.st", "--data", "far.csv"],
            1,
            vec!["far.csv: point 1: the model's output is [", "overflow"],
        ),
        // Labels a model does not know.
        (
            vec!["predict", "--model", "m.st", "--data", "labels7.csv"],
            1,
            vec!["point 1 has label 7, which is not one of the model's classes (-1, 1)"],
        ),
        (
            vec!["train", "--data", "one.csv"],
            1,
            vec!["every label is 5: there is nothing to learn"],
        ),
        // Messages.
        (
            vec!["grad"],
            2,
            vec!["the following required arguments were not provided: <EXPR>"],
        ),
        (
            vec!["predict", "--model", "m.st"],
            2,
            vec!["not provided: --data <PATH>"],
        ),
        (
            vec!["train", "--schedule", "foo"],
            2,
            vec!["[possible values: constant, linear, cosine]"],
        ),
        (
            vec!["train", "--hidden", "-1"],
            2,
            vec!["`-1`: a width is a number of neurons, 1 or more"],
        ),
        (
            vec![
                "grad", "x", "x=1", "--dot", "a.dot", "--png", "a.png", "--svg", "a.svg",
            ],
            2,
            vec!["'--dot <FILE>' cannot be used with: --png <FILE>, --svg <FILE>"],
        ),
        (
            vec!["train", "--init", "bad_init.json"],
            1,
            vec!["bad_init.json:1:1: invalid type: sequence, expected an object like {\"layers\""],
        ),
        (
            vec!["grad", &past_limit, "x=1"],
            2,
            vec!["more than 2000 tokens", "…"],
        ),
        (vec!["grad", "x\t+\t)", "x=1"], 2, vec!["found `)`"]),
        (
            vec!["grad", "2 * 1e400"],
            2,
            vec!["`1e400` is too large for a 64-bit float"],
        ),
        // Order of work: outputs are checked before training.
        (
            vec!["train", "--steps", "1", "--save", "missing/dir/m.st"],
            1,
            vec!["cannot save the model: missing/dir/m.st: No such file or directory"],
        ),
        (
            vec!["train", "--data", "d.csv", "--save", "d.csv"],
            1,
            vec!["--save d.csv would overwrite the --data file"],
        ),
        (
            vec!["grad", "x", "x=1", "--png", "missing/g.png"],
            1,
            vec!["cannot write the graph: missing/g.png: No such file or directory"],
        ),
    ];
    let before = snapshot(d);
    for (args, code, words) in &cases {
        let started = Instant::now();
        let out = run_in(d, args);
        let took = started.elapsed();
        let err = stderr(&out);
        let shown = format!(
            "{:?}",
            args.iter()
                .map(|a| &a[..a.len().min(40)])
                .collect::<Vec<_>>()
        );
        assert_eq!(out.status.code(), Some(*code), "{shown}: {err}");
        // One line; an expression's error also shows where, as the
        // parser's messages do: the text (or its part) and a caret under it.
        let lines: Vec<&str> = err.lines().collect();
        let points_in_expression = args[0] == "grad"
            && lines.len() == 3
            && lines[1].starts_with("  ")
            && lines[2].trim() == "^";
        assert!(
            lines.len() == 1 || points_in_expression,
            "{shown}: not one line:\n{err}"
        );
        assert!(err.starts_with("micrograd: "), "{shown}: {err}");
        assert!(err.len() < 600, "{shown}: {} bytes on stderr", err.len());
        for w in words {
            assert!(err.contains(w), "{shown}: `{w}` not in: {err}");
        }
        assert!(took < Duration::from_secs(30), "{shown} took {took:?}");
        // No file changed, none left behind (the pictures' directory of a
        // refused run aside, which is made before the work).
        let after: Vec<_> = snapshot(d)
            .into_iter()
            .filter(|(p, _)| !p.starts_with(d.join("out")))
            .collect();
        assert_eq!(after, before, "{shown} changed a file");
    }
    // The 2,000-token limit is exact.
    let out = run_in(d, &["grad", &at_limit, "x=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_picture_is_whole_or_not_at_all_even_when_the_disk_fills() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("g.png"), b"the old picture").unwrap();
    // 4 blocks of file size: too little for the PNG. The kernel stops the
    // program (SIGXFSZ) mid-write; the old picture must survive whole,
    // and nothing else be left.
    let draw = [
        "grad",
        "tanh(x*w + b)",
        "x=1",
        "w=2",
        "b=0.5",
        "--png",
        "g.png",
    ];
    let out = run_shell(d, "ulimit -f 4", &draw);
    assert!(!out.status.success());
    let names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["g.png"]);
    assert_eq!(std::fs::read(d.join("g.png")).unwrap(), b"the old picture");
    // With room, the picture replaces it.
    let out = run_in(d, &draw);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&std::fs::read(d.join("g.png")).unwrap()[1..4], b"PNG");
}

#[test]
fn special_files_are_written_into_and_links_followed() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // --save /dev/null: the device stays a device.
    let out = run_in(
        d,
        &[
            "train",
            "--steps",
            "2",
            "--save",
            "/dev/null",
            "--out",
            "pics",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A FIFO gets the model's bytes, and stays a FIFO.
    let fifo = d.join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = run_in(
        d,
        &["train", "--steps", "2", "--save", "pipe", "--out", "pics"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = reader.join().unwrap();
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(
        bytes,
        std::fs::read(d.join("pics/model.safetensors")).unwrap_or(bytes.clone())
    );
    assert!(bytes.len() > 1000);
    // A link is followed: its target is replaced, the link stays.
    std::fs::write(d.join("real.st"), b"old").unwrap();
    std::os::unix::fs::symlink("real.st", d.join("link.st")).unwrap();
    let out = run_in(
        d,
        &[
            "train", "--steps", "2", "--save", "link.st", "--out", "pics",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(d.join("link.st"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(d.join("real.st")).unwrap().len() > 1000);
    // --png /dev/stdout pipes the picture.
    let out = run_in(d, &["grad", "x*2", "x=1", "--json", "--png", "/dev/stdout"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let png_at = out.stdout.windows(4).position(|w| w == b"\x89PNG");
    assert!(png_at.is_some(), "no PNG on stdout");
    let mut names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["link.st", "pics", "pipe", "real.st"]);
}

#[test]
fn non_finite_results_of_grad_are_valid_json_and_named_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    for (args, value, grad, op) in [
        (vec!["log(x)", "x=-1"], "\"NaN\"", "-1.0", "(log)"),
        (
            vec!["1/x", "x=0"],
            "\"Infinity\"",
            "\"-Infinity\"",
            "(**-1)",
        ),
        (vec!["x*10", "x=1e308"], "\"Infinity\"", "10.0", "(*)"),
        (vec!["0*exp(x)", "x=1000"], "\"NaN\"", "\"NaN\"", "(exp)"),
    ] {
        let mut full = vec!["grad"];
        full.extend(&args);
        full.push("--json");
        let out = run_in(dir.path(), &full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(json["value"].to_string(), value, "{args:?}");
        assert_eq!(json["grads"]["x"].to_string(), grad, "{args:?}");
        // The op, beside the numbers as on stderr.
        let named = json["not_finite"].as_str().unwrap_or_default();
        assert!(
            named.starts_with("the value of node") && named.contains(op),
            "{args:?}: {named}"
        );
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("micrograd: warning: not finite: the value of node"),
            "{err}"
        );
        assert!(err.contains(op), "{args:?}: {op} not in {err}");
    }
}

#[test]
fn output_that_cannot_be_written_names_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(["grad", "x*2", "x=1"])
        .current_dir(dir.path())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "micrograd: cannot write to stdout: No space left on device (os error 28)\n"
    );
}

#[test]
fn runs_say_what_they_did_in_numbers_a_reader_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 150 blobs: accuracies like 58/150 print to one decimal.
    let out = run_in(d, &["train", "--dataset", "blobs", "--steps", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for line in stdout(&out).lines().filter(|l| l.contains('%')) {
        let percent = line
            .split("accuracy ")
            .nth(1)
            .unwrap()
            .trim_end_matches('%');
        let decimals = percent.split('.').nth(1).map_or(0, str::len);
        assert_eq!(decimals, 1, "{line}");
    }
    // Squared error on ±1 labels is the lecture's classifier: it has an
    // accuracy, and says why.
    let out = run_in(d, &["train", "--loss", "sum-squares", "--steps", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("accuracy"), "{text}");
    assert!(
        text.contains("task: two classes (-1, 1), one output scoring them (--loss sum-squares)"),
        "{text}"
    );
    // More than 20 integer labels: a regression, and the reason.
    let rows: String = (0..30).map(|i| format!("{i},{}\n", i % 25)).collect();
    std::fs::write(d.join("many.csv"), rows).unwrap();
    let out = run_in(d, &["train", "--data", "many.csv", "--steps", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("task: 25 distinct integer labels"),
        "{}",
        stdout(&out)
    );
    // Identical runs write identical model bytes.
    let a = run_in(
        d,
        &["train", "--steps", "3", "--save", "a.st", "--out", "pa"],
    );
    let b = run_in(
        d,
        &["train", "--steps", "3", "--save", "b.st", "--out", "pb"],
    );
    assert!(a.status.success() && b.status.success());
    assert_eq!(
        std::fs::read(d.join("a.st")).unwrap(),
        std::fs::read(d.join("b.st")).unwrap()
    );
}

#[test]
fn a_loss_that_explodes_without_overflowing_is_saved_with_a_warning() {
    // mse on moons at the demo's learning rate (plain SGD at 1.0) grows
    // past 1e50 without reaching infinity: the run finishes, and says it
    // diverged.
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "train",
            "--loss",
            "mse",
            "--optimizer",
            "sgd",
            "--lr",
            "1",
            "--steps",
            "30",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("micrograd: warning: the loss grew from "),
        "{err}"
    );
    assert!(err.contains("try a smaller --lr"), "{err}");
    // The final loss is printed as a number, not 90 digits.
    let text = stdout(&out);
    let last = text.lines().find(|l| l.starts_with("final loss")).unwrap();
    assert!(last.len() < 60, "{last}");
}

#[test]
fn a_wide_network_trains_and_draws_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = run_in(
        dir.path(),
        &["train", "--hidden", "1000,1000", "--steps", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// The cases of issue 12's report (first contact and hard edges) against
/// the program: the run's exit code and its one line on stderr, or for
/// values in a flag's range, a run that works. Each runs in a directory
/// holding a dataset and a 1 GiB sparse file, which none may change.
#[test]
fn issue_12_refusals_are_one_line_and_in_range_values_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("d.csv"), "x1,x2,label\n0,0,1\n1,1,-1\n2,0,1\n").unwrap();
    // A gigabyte of text that is not there: a file's size, not its bytes.
    std::fs::File::create(d.join("big.csv"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let sys_kernel = Path::new("/sys/kernel").is_dir();
    // (a shell prelude, the arguments, the exit code, words the line holds)
    let mut cases: Vec<(&str, Vec<&str>, i32, Vec<&str>)> = vec![
        // Severe 5: 1 is within --points' documented range, 2 and up.
        (
            "",
            vec!["bench", "--points", "1"],
            2,
            vec!["1 is not in 2..="],
        ),
        (
            "",
            vec!["train", "--seed", "-1"],
            2,
            vec!["a seed is a whole number from 0 to 18446744073709551615"],
        ),
        (
            "",
            vec!["train", "--dataset", "demo", "--points", "50"],
            2,
            vec!["the demo has its own 100 points"],
        ),
        // Refused before training, not after it.
        (
            "",
            vec!["train", "--save", "m.st/", "--steps", "1000000"],
            1,
            vec!["cannot save the model: m.st/: a path ending in / names a directory"],
        ),
        // Severe 1: refused up front, from what the threads reserve.
        (
            "ulimit -v 400000",
            vec![
                "train",
                "--points",
                "10000",
                "--hidden",
                "128,128",
                "--threads",
                "64",
                "--steps",
                "1",
            ],
            2,
            vec!["of address space", "ulimit -v leaves", "fewer --threads"],
        ),
        (
            "ulimit -v 1000000",
            vec!["train", "--data", "big.csv"],
            2,
            vec!["big.csv: a file of 1.1 GB would need about", "to read"],
        ),
        (
            "ulimit -v 1000000",
            vec!["predict", "--model", "big.csv", "--data", "d.csv"],
            2,
            vec!["big.csv: a file of 1.1 GB would need about"],
        ),
        // Exit code 3: the run diverged.
        (
            "",
            vec!["train", "--lr", "1e308", "--steps", "5", "--quiet"],
            3,
            vec!["training stopped at step 0: the update made layer 1, neuron 1, weight 1 inf"],
        ),
    ];
    if sys_kernel {
        // sysfs takes no new files, even from root: the directory is named,
        // not the probe that found it out.
        cases.push((
            "",
            vec!["train", "--save", "/sys/kernel/m.st", "--steps", "1"],
            1,
            vec!["cannot save the model: /sys/kernel/m.st: /sys/kernel cannot be written"],
        ));
    }
    let before = snapshot(d);
    for (prelude, args, code, words) in &cases {
        let started = Instant::now();
        let out = if prelude.is_empty() {
            run_in(d, args)
        } else {
            run_shell(d, prelude, args)
        };
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{prelude} {args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line:\n{err}");
        assert!(err.starts_with("micrograd: "), "{args:?}: {err}");
        assert!(!err.contains("micrograd-probe"), "{args:?}: {err}");
        for w in words {
            assert!(err.contains(w), "{args:?}: `{w}` not in: {err}");
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?}");
        // Nothing trained is kept.
        assert!(!d.join("out/model.safetensors").exists(), "{args:?}");
        let after: Vec<_> = snapshot(d)
            .into_iter()
            .filter(|(p, _)| !p.starts_with(d.join("out")))
            .collect();
        assert_eq!(after, before, "{args:?} changed a file");
    }

    // Values at the ends of the flags' ranges work.
    let works: Vec<(&str, Vec<&str>)> = vec![
        (
            "",
            vec!["bench", "--points", "2", "--batched", "--seconds", "0.05"],
        ),
        (
            "",
            vec![
                "train",
                "--dataset",
                "spiral",
                "--points",
                "3",
                "--steps",
                "1",
            ],
        ),
        (
            "",
            vec!["train", "--seed", "18446744073709551615", "--steps", "1"],
        ),
        (
            "",
            vec![
                "train",
                "--threads",
                "1024",
                "--points",
                "3",
                "--steps",
                "1",
            ],
        ),
        (
            "",
            vec!["train", "--log-every", "4294967295", "--steps", "2"],
        ),
        // Under the same limit as above, the threads that fit.
        (
            "ulimit -v 400000",
            vec![
                "train", "--points", "10000", "--hidden", "128,128", "--steps", "1", "--quiet",
            ],
        ),
    ];
    for (prelude, args) in &works {
        let mut args = args.clone();
        if args[0] == "train" {
            args.extend(["--out", "pics", "--save", "pics/m.st"]);
        }
        let out = if prelude.is_empty() {
            run_in(d, &args)
        } else {
            run_shell(d, prelude, &args)
        };
        assert!(out.status.success(), "{prelude} {args:?}: {}", stderr(&out));
    }
}
