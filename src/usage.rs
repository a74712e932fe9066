//! Errors in what the user asked for, found after argument parsing (a
//! malformed expression, a missing variable): they exit with code 2, as
//! clap's own usage errors do.

use std::fmt;

/// A usage error with its message.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `Err(Usage(...))` as an `anyhow` error.
pub fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(message.into()).into())
}
