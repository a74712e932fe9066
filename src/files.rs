//! Writing files whole or not at all: pictures and models are written to a
//! temporary file beside their target and renamed over it, so an
//! interrupted write never leaves a broken file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A temporary name beside `path`, with the same extension.
pub fn temporary_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("picture");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!(".{stem}.{}.tmp.{ext}", std::process::id()),
        None => format!(".{stem}.{}.tmp", std::process::id()),
    };
    path.with_file_name(name)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`, so that `path` is never left half written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = temporary_path(path);
    let io = |error| Error::Io {
        path: path.into(),
        error,
    };
    let written = std::fs::File::create(&temporary).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(io(error));
    }
    std::fs::rename(&temporary, path).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        io(error)
    })
}
