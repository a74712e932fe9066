//! `export` writes the page's files, the bytes of `src/page/` as they are,
//! and nothing else.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use micrograd_playground::{FILES, export};

/// The page's files by name: what `worker.js` and `index.html` load, and
/// `index.html` itself.
const NAMES: [&str; 5] = [
    "app.js",
    "engine.wasm",
    "index.html",
    "style.css",
    "worker.js",
];

fn source(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/page")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_embedded_files_are_the_pages_files() {
    let names: BTreeSet<&str> = FILES.iter().map(|f| f.name).collect();
    assert_eq!(names, BTreeSet::from(NAMES));
    for file in FILES {
        assert!(file.bytes == source(file.name), "{} differs", file.name);
    }
}

#[test]
fn export_writes_the_page_and_leaves_everything_else() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("site/playground");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("index.html"), "an older page").unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let written = export(&dir).unwrap();
    let written: BTreeSet<_> = written.into_iter().collect();
    assert_eq!(written, NAMES.iter().map(|n| dir.join(n)).collect());
    let mut found = BTreeSet::new();
    for entry in fs::read_dir(&dir).unwrap() {
        found.insert(entry.unwrap().file_name().into_string().unwrap());
    }
    let mut expected: BTreeSet<String> = NAMES.map(String::from).into();
    expected.insert("notes.txt".into());
    assert_eq!(found, expected);
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    for name in NAMES {
        assert!(fs::read(dir.join(name)).unwrap() == source(name), "{name}");
    }
    // Again, into the same folder: the same files, replaced.
    assert_eq!(export(&dir).unwrap().len(), NAMES.len());
}

#[test]
fn export_into_a_file_is_an_error_that_names_it() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("page.html");
    fs::write(&file, "not a folder").unwrap();
    let error = export(&file).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotADirectory);
    assert_eq!(
        error.to_string(),
        format!("{} is a file, not a directory", file.display())
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a folder");
    // Below a file, the folder cannot be made.
    let below = file.join("site");
    let error = export(&below).unwrap_err();
    assert!(
        error.to_string().starts_with(&below.display().to_string()),
        "{error}"
    );
}
