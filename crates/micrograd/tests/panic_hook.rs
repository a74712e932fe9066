//! A programmer error found inside the engine (a freed `Value`, a batch
//! read as one number) panics with the tape free, so a panic hook may read
//! values: raised while the tape was borrowed, the hook's own read panicked
//! again, and a panic in a panic hook aborts the process.
//!
//! A panic hook is the whole process's, so each case runs this test binary
//! again, as a child that installs one.

use std::process::Command;

use micrograd::{Scope, Value};

/// The child's part: a hook that makes and reads a value (a `Value` is
/// bound to its thread, so a hook cannot hold one), then `case`'s mistake.
fn child(case: &str) {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("hook read {} after: {info}", Value::new(42.0).data());
    }));
    match case {
        "freed" => {
            let freed = {
                let _scope = Scope::new();
                Value::new(1.0) * 2.0
            };
            let _ = freed.data();
        }
        "batch" => {
            let batch = Value::batch(&[1.0, 2.0]);
            batch.set_data(3.0);
        }
        "two_sizes" => {
            let _a = Value::batch(&[1.0, 2.0]);
            let _b = Value::batch(&[1.0, 2.0, 3.0]);
        }
        other => panic!("no case {other}"),
    }
}

#[test]
fn a_panic_hook_that_reads_a_value_sees_the_engines_panic() {
    if let Ok(case) = std::env::var("MICROGRAD_PANIC_CASE") {
        child(&case);
        return;
    }
    for (case, words) in [
        ("freed", "was freed when the Scope it was created in ended"),
        ("batch", "Value::set_data sets one number, but this Value"),
        (
            "two_sizes",
            "batches have 2 lanes, so a batch of 3 cannot join it",
        ),
    ] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_panic_hook_that_reads_a_value_sees_the_engines_panic",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MICROGRAD_PANIC_CASE", case)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // A test that panics exits with 101; an abort is a signal.
        assert_eq!(out.status.code(), Some(101), "{case}: {err}");
        assert!(err.contains("hook read 42 after: "), "{case}: {err}");
        assert!(err.contains(words), "{case}: {err}");
    }
}
