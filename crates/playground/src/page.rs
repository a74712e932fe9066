//! The page's files (`page/`), compiled into the binary so that the
//! playground needs nothing beside the program, and written out for a
//! static host.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One of the page's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File {
    /// Its name, served as `/{name}` (and `index.html` as `/` too).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every file of the page; nothing else is served or exported.
/// `engine.wasm.sources`, the digest of what `engine.wasm` was built from,
/// stays in the source tree for the test that checks it.
pub const FILES: [File; 5] = [
    File {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("page/index.html"),
    },
    File {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("page/app.js"),
    },
    File {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("page/style.css"),
    },
    File {
        name: "worker.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("page/worker.js"),
    },
    File {
        name: "engine.wasm",
        // Browsers compile a module fetched with this type as it streams in.
        content_type: "application/wasm",
        bytes: include_bytes!("page/engine.wasm"),
    },
];

/// The file a request's path names: `/` is `index.html`, `/{name}` is the
/// file of that name; any other path, none.
pub(crate) fn at(path: &str) -> Option<&'static File> {
    let name = match path {
        "/" => "index.html",
        _ => path.strip_prefix('/')?,
    };
    FILES.iter().find(|file| file.name == name)
}

/// Writes the page's files into `dir`, creating it if it is absent; files
/// of the same names are replaced, anything else in `dir` is left as it
/// is. Each file is written beside its place and renamed into it, so a
/// server reading `dir` never sees half a file. Returns the paths written.
///
/// # Errors
///
/// If `dir` is not a directory or cannot be created, or a file cannot be
/// written; the message names the path.
pub fn export(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let at =
        |path: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if dir.exists() && !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is a file, not a directory", dir.display()),
        ));
    }
    fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
    FILES
        .iter()
        .map(|file| {
            let path = dir.join(file.name);
            let partial = dir.join(format!(".{}.partial", file.name));
            let written =
                fs::write(&partial, file.bytes).and_then(|()| fs::rename(&partial, &path));
            if let Err(e) = written {
                let _ = fs::remove_file(&partial);
                return Err(at(&path, e));
            }
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::at;

    #[test]
    fn a_path_names_a_file_only_as_written() {
        assert_eq!(at("/").map(|f| f.name), Some("index.html"));
        assert_eq!(at("/index.html").map(|f| f.name), Some("index.html"));
        assert_eq!(at("/engine.wasm").map(|f| f.name), Some("engine.wasm"));
        for path in [
            "",
            "app.js",
            "//app.js",
            "/app.js/",
            "/./app.js",
            "/page/app.js",
            "/%61pp.js",
            "/APP.JS",
            "/engine.wasm.sources",
            "/../Cargo.toml",
            "/lib.rs",
        ] {
            assert_eq!(at(path), None, "{path:?}");
        }
    }
}
