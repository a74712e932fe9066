//! The committed `engine.wasm` is built from the sources beside it: the
//! digest of those sources, computed here as
//! `crates/playground-engine/sources-digest` computes it, is the one
//! `crates/playground-engine/build-wasm` wrote into `engine.wasm.sources`
//! when it built the module.

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The workspace's root: `crates/playground/../..`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

/// The files under `dir` (a path from the root), recursively, as `find
/// dir -type f` lists them: regular files only, symbolic links neither
/// followed nor listed.
fn files_under(dir: &str, into: &mut Vec<String>) {
    for entry in fs::read_dir(root().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().expect("UTF-8 file names");
        let path = format!("{dir}/{name}");
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            files_under(&path, into);
        } else if kind.is_file() {
            into.push(path);
        }
    }
}

/// For each source, in the byte order of its path: the path and the hex
/// SHA-256 of its bytes, a line each; the hex SHA-256 of all those lines.
fn sources_digest() -> String {
    let mut paths = Vec::new();
    files_under("crates/micrograd/src", &mut paths);
    files_under("crates/playground-engine/src", &mut paths);
    paths.extend(
        [
            "Cargo.toml",
            "Cargo.lock",
            "crates/micrograd/Cargo.toml",
            "crates/playground-engine/Cargo.toml",
        ]
        .map(String::from),
    );
    // `LC_ALL=C sort`: bytes, not characters or locale.
    paths.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut listing = String::new();
    for path in &paths {
        let bytes = fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        writeln!(listing, "{path}\n{}", hex(&Sha256::digest(&bytes))).unwrap();
    }
    hex(&Sha256::digest(listing.as_bytes()))
}

#[test]
fn hex_is_sha256s_own_spelling() {
    // FIPS 180-2, appendix B.1: SHA-256("abc").
    assert_eq!(
        hex(&Sha256::digest(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn engine_wasm_is_built_from_the_sources_in_the_tree() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/page");
    let built_from = fs::read_to_string(page.join("engine.wasm.sources")).unwrap();
    let sources = sources_digest();
    assert_eq!(
        built_from.trim(),
        sources,
        "crates/playground/src/page/engine.wasm was built from other sources than those in \
         the tree (the engine's, the library's, or Cargo.toml or Cargo.lock changed since): \
         run crates/playground-engine/build-wasm, and commit engine.wasm and \
         engine.wasm.sources"
    );
}

#[test]
fn engine_wasm_is_a_webassembly_module() {
    let wasm = &micrograd_playground::FILES
        .iter()
        .find(|f| f.name == "engine.wasm")
        .expect("the page has its engine")
        .bytes;
    // The WebAssembly core specification, 5.5.16 (Modules): the magic
    // `\0asm`, then version 1 as a little-endian u32.
    assert_eq!(&wasm[..8], b"\0asm\x01\x00\x00\x00");
}
