//! The one error type of the library's I/O edges: files, parsing, shapes,
//! and training that diverges. Arithmetic never fails.

use std::path::PathBuf;

/// What went wrong at an I/O edge, in words fit for a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said (kept out of `source()`: the
        /// message already says it).
        error: std::io::Error,
    },
    /// A file's text is not what its format requires.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: u64,
        /// 1-based column (for CSV: the field) of the problem.
        column: u64,
        /// What is wrong there.
        message: String,
    },
    /// Well-formed input that does not fit: an empty dataset, rows of
    /// different lengths, labels a loss cannot use.
    #[error("{0}")]
    Data(String),
    /// Weights whose shape does not fit the model; says which layer.
    #[error("{0}")]
    Shape(String),
    /// Drawing a picture failed.
    #[error("{0}")]
    Render(String),
    /// Training left the real numbers: the loss, a gradient or a
    /// parameter became NaN or infinite. The message says which, where it
    /// came from and the likely cause; the model holds its parameters from
    /// before the step.
    #[error("training stopped at step {step}: {message}")]
    Diverged {
        /// The step (from 0) that failed.
        step: usize,
        /// What became non-finite, where, and the likely cause.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
