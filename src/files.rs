//! Writing files whole or not at all: pictures and models are written to a
//! temporary file beside their target and renamed over it, so an
//! interrupted write never leaves a broken file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A temporary name beside `path`, with the same extension, unique within
/// this process (threads saving the same path do not collide).
pub fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!(".{stem}.{unique}.tmp.{ext}"),
        None => format!(".{stem}.{unique}.tmp"),
    };
    path.with_file_name(name)
}

/// The bytes of the file at `path`, or an [`Error::Io`] naming it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| Error::Io {
        path: path.into(),
        error,
    })
}

/// Makes the complete file at `temporary` the file at `path`: flushes it to
/// disk and renames it over `path`. The temporary file is removed if that
/// fails.
pub fn commit(temporary: &Path, path: &Path) -> Result<()> {
    let moved = std::fs::File::open(temporary)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(temporary, path));
    moved.map_err(|error| {
        let _ = std::fs::remove_file(temporary);
        Error::Io {
            path: path.into(),
            error,
        }
    })
}

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`, so that `path` is never left half written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = temporary_path(path);
    if let Err(error) = std::fs::File::create(&temporary).and_then(|mut f| f.write_all(bytes)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::Io {
            path: path.into(),
            error,
        });
    }
    commit(&temporary, path)
}
