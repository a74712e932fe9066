//! The README's `micrograd` commands run as written, in order, from a
//! checkout (the files they name exist), and each succeeds. The benchmark
//! lines are left to the CLI tests: they take seconds by design.

use std::process::Command;

#[cfg(feature = "playground")]
mod http;

/// The lines of the README's block of `micrograd` commands, without their
/// comments.
fn commands() -> Vec<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## The `micrograd` program")
        .nth(1)
        .expect("the README has the section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section opens with a shell block");
    block
        .lines()
        .map(|line| line.split("  #").next().unwrap_or("").trim().to_owned())
        .filter(|line| line.starts_with("micrograd"))
        .collect()
}

/// Shell words: spaces split, double quotes group.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes in {line}");
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[test]
fn the_readme_commands_run_as_written() {
    let commands = commands();
    assert!(commands.len() >= 8, "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    for checked_in in ["data", "crates"] {
        std::os::unix::fs::symlink(
            format!("{}/{checked_in}", env!("CARGO_MANIFEST_DIR")),
            dir.path().join(checked_in),
        )
        .unwrap();
    }
    for line in commands
        .iter()
        .filter(|l| !l.starts_with("micrograd bench"))
    {
        let args = words(line);
        // Every file the command reads is in the checkout, or was written
        // by a command before it.
        for pair in args.windows(2) {
            if matches!(pair[0].as_str(), "--data" | "--init" | "--model") {
                assert!(
                    dir.path().join(&pair[1]).exists(),
                    "{line}: {} is missing",
                    pair[1]
                );
            }
        }
        if args.get(1).is_some_and(|a| a == "playground") {
            #[cfg(feature = "playground")]
            serves_its_page(&args[1..]);
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_micrograd"))
            .args(&args[1..])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `micrograd playground ...` runs until stopped: it must say where it
/// listens on its first line and serve its page there. Any port the line
/// names is replaced by 0 (a free one), so that the test never meets a
/// port in use.
#[cfg(feature = "playground")]
fn serves_its_page(args: &[String]) {
    use std::io::{BufRead, BufReader};
    let mut args = args.to_vec();
    if let Some(i) = args.iter().position(|a| a == "--port") {
        args[i + 1] = "0".into();
    }
    let mut server = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{args:?}: first line {first:?}"));
    assert!(address.starts_with("127.0.0.1:"), "{first}");
    let page = http::get(address.parse().unwrap(), "/");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(page.status, 200);
    assert!(page.text().contains("micrograd playground"));
}

#[test]
fn the_example_files_are_what_the_readme_says() {
    let root = env!("CARGO_MANIFEST_DIR");
    let circles = std::fs::read_to_string(format!("{root}/data/circles.csv")).unwrap();
    let mut lines = circles.lines();
    assert_eq!(lines.next(), Some("x1,x2,label"));
    // Two circles: label 1 on the inner one (radius 0.5), 0 on the outer (1).
    for line in lines {
        let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        let r = v[0].hypot(v[1]);
        let expected = if v[2] == 1.0 { 0.5 } else { 1.0 };
        assert!((r - expected).abs() < 0.25, "{line}");
    }
}
