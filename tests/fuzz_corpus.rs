//! The fuzz corpus replayed: every input in `fuzz/corpus/<target>/` run
//! through the same body its libFuzzer target runs (`fuzz/bodies.rs`), on
//! stable and without libFuzzer. A panic or a broken promise fails the
//! test and names the file; a picture must finish within seconds.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest a picture may take, as issue 9 asks of every picture the
/// program draws (libFuzzer's own bound while fuzzing is `-timeout=10`
/// on an optimised build).
const PICTURE_TIME: Duration = Duration::from_secs(5);

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Runs `body` on every input of `target`'s corpus, and fails naming each
/// input that panicked or took longer than `limit`.
fn replay(target: &str, body: fn(&[u8]), limit: Option<Duration>) {
    let mut failed = Vec::new();
    for path in corpus(target) {
        let bytes = std::fs::read(&path).unwrap();
        let start = Instant::now();
        let outcome = catch_unwind(|| body(&bytes));
        let took = start.elapsed();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if outcome.is_err() {
            failed.push(format!("{name}: panicked"));
        } else if limit.is_some_and(|limit| took > limit) {
            failed.push(format!("{name}: took {took:?}"));
        }
    }
    assert!(failed.is_empty(), "{target}: {failed:#?}");
}

#[test]
fn expr_parse() {
    replay("expr_parse", bodies::expr_parse, None);
}

#[test]
fn draw_expr() {
    replay("draw_expr", bodies::draw_expr, Some(PICTURE_TIME));
}

#[test]
fn dataset_csv() {
    replay("dataset_csv", bodies::dataset_csv, None);
}

#[test]
fn dataset_json() {
    replay("dataset_json", bodies::dataset_json, None);
}

#[test]
fn init_json() {
    replay("init_json", bodies::init_json, None);
}

#[test]
fn params_json() {
    replay("params_json", bodies::params_json, None);
}

#[test]
fn safetensors_model() {
    replay("safetensors_model", bodies::safetensors_model, None);
}

#[test]
fn page_request() {
    replay("page_request", bodies::page_request, Some(PICTURE_TIME));
}
