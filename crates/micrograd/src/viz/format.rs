//! The picture format a file's extension names.

use std::path::Path;

use crate::error::{Error, Result};

/// A picture format, from a file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Svg,
    Png,
    Dot,
}

impl Format {
    /// The format `path`'s extension names, if it is one of `allowed`.
    pub(crate) fn of(path: &Path, allowed: &[&str]) -> Result<Format> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let format = match extension.as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            "dot" | "gv" => Some(Format::Dot),
            _ => None,
        };
        match format {
            Some(f) if allowed.contains(&extension.as_str()) => Ok(f),
            _ => Err(Error::Data(format!(
                "{}: cannot tell the format; name the file .{}",
                path.display(),
                allowed.join(", .")
            ))),
        }
    }
}
