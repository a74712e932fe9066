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
    /// Training produced a loss that is NaN or infinite.
    #[error("the loss became {loss} at step {step}; try a smaller learning rate")]
    NonFinite {
        /// The step (from 0) whose loss was not finite.
        step: usize,
        /// The loss.
        loss: f64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
