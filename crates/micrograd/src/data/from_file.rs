//! Reading a user's dataset: CSV (`features..., label` per row, an optional
//! header) or JSON (`{"X": [[...], ...], "y": [...]}`). Every error names
//! the file, and where the text is at fault, its line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Dataset, Points};
use crate::error::{Error, Result};
use crate::json::json_object;

impl Dataset {
    /// Reads a dataset from `path`: JSON if its name ends in `.json` (or its
    /// first non-blank character is `{`), CSV otherwise.
    pub fn load(path: impl AsRef<Path>) -> Result<Dataset> {
        let path = path.as_ref();
        Dataset::from_bytes(&crate::whole_file::read(path)?, path)
    }

    /// Reads a dataset from the bytes of a file, as [`load`](Dataset::load)
    /// reads the file at `name`, with the same errors: JSON if `name` ends in
    /// `.json` (or the first non-blank character is `{`), CSV otherwise.
    /// Nothing is read from or written to the file system; `name` only
    /// names the source in errors.
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Dataset> {
        let name = name.as_ref();
        if check_text(bytes, name)? {
            Dataset::from_json(bytes, name)
        } else {
            Dataset::from_csv(bytes, name)
        }
    }

    /// Reads points to predict, with or without labels: CSV rows of `dim`
    /// features, or of `dim` features and a label (all rows alike); JSON with
    /// `"X"` and, if it has them, `"y"`.
    pub fn load_points(path: impl AsRef<Path>, dim: usize) -> Result<Points> {
        let path = path.as_ref();
        let bytes = crate::whole_file::read(path)?;
        if check_text(&bytes, path)? {
            Points::from_json(&bytes, dim, path)
        } else {
            Points::from_csv(&bytes, dim, path)
        }
    }

    /// Parses CSV text: each row `feature, ..., feature, label`. A first row
    /// with no number in it is taken as a header. `path` names the source in
    /// errors.
    pub fn from_csv(text: &[u8], path: impl AsRef<Path>) -> Result<Dataset> {
        let path = path.as_ref();
        let rows = csv_rows(text, path)?;
        if let Some((line, row)) = rows.first().filter(|(_, row)| row.len() < 2) {
            debug_assert_eq!(row.len(), 1);
            let message = "each row needs at least one feature and a label".to_owned();
            return Err(parse_error(path, *line, 1, message));
        }
        let (mut x, mut y) = (
            Vec::with_capacity(rows.len()),
            Vec::with_capacity(rows.len()),
        );
        for (_, mut row) in rows {
            y.push(row.pop().expect("rows have at least two fields"));
            x.push(row);
        }
        if x.is_empty() {
            return Err(Error::Data(format!("{}: no data rows", path.display())));
        }
        Dataset::new(x, y)
    }

    /// Parses JSON text `{"X": [[...], ...], "y": [...]}`; other keys are
    /// ignored, so micrograd's demo file (which also holds the weights) is a
    /// dataset too. `path` names the source in errors.
    pub fn from_json(text: &[u8], path: impl AsRef<Path>) -> Result<Dataset> {
        #[derive(Deserialize)]
        struct Labelled {
            #[serde(rename = "X")]
            x: Vec<Vec<f64>>,
            y: Vec<f64>,
        }
        let path = path.as_ref();
        let points: Labelled = json_object(
            text,
            path,
            "an object like {\"X\": [[x, ...], ...], \"y\": [label, ...]}",
        )?;
        Dataset::new(points.x, points.y)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }
}

impl Points {
    /// Parses CSV text of points to predict: rows of `dim` features, or of
    /// `dim` features and a label (all rows alike), an optional header.
    /// `path` names the source in errors.
    pub fn from_csv(text: &[u8], dim: usize, path: impl AsRef<Path>) -> Result<Points> {
        let path = path.as_ref();
        let rows = csv_rows(text, path)?;
        let labelled = match rows.first() {
            Some((_, row)) if row.len() == dim => false,
            Some((_, row)) if row.len() == dim + 1 => true,
            Some((line, row)) => {
                return Err(parse_error(
                    path,
                    *line,
                    1,
                    format!(
                        "{} fields, expected {dim} features (and perhaps a label)",
                        row.len()
                    ),
                ));
            }
            None => false,
        };
        let mut x = Vec::with_capacity(rows.len());
        let mut y = Vec::with_capacity(rows.len());
        for (_, mut row) in rows {
            if labelled {
                y.push(row.pop().expect("labelled rows have a label"));
            }
            x.push(row);
        }
        non_empty(
            Points {
                x,
                y: labelled.then_some(y),
            },
            path,
        )
    }

    /// Parses JSON text of points to predict, `{"X": [[...], ...]}` with
    /// `"y": [...]` if it has labels; every point has `dim` features. `path`
    /// names the source in errors.
    pub fn from_json(text: &[u8], dim: usize, path: impl AsRef<Path>) -> Result<Points> {
        let path = path.as_ref();
        let points: JsonPoints = json_object(
            text,
            path,
            "an object like {\"X\": [[x, ...], ...]} (and perhaps \"y\": [label, ...])",
        )?;
        let y = points.y;
        if let Some(i) = points.x.iter().position(|row| row.len() != dim) {
            return Err(Error::Data(format!(
                "{}: point {} has {} features, expected {dim}",
                path.display(),
                i + 1,
                points.x[i].len()
            )));
        }
        if y.as_ref().is_some_and(|y| y.len() != points.x.len()) {
            return Err(Error::Data(format!(
                "{}: \"X\" and \"y\" differ in length",
                path.display()
            )));
        }
        non_empty(Points { x: points.x, y }, path)
    }
}

#[derive(Deserialize)]
struct JsonPoints {
    #[serde(rename = "X")]
    x: Vec<Vec<f64>>,
    y: Option<Vec<f64>>,
}

fn non_empty(points: Points, path: &Path) -> Result<Points> {
    if points.x.is_empty() {
        return Err(Error::Data(format!("{}: no data rows", path.display())));
    }
    if points
        .x
        .iter()
        .flatten()
        .chain(points.y.iter().flatten())
        .any(|v| !v.is_finite())
    {
        return Err(Error::Data(format!(
            "{}: a NaN or infinite number",
            path.display()
        )));
    }
    Ok(points)
}

/// Checks that a file's bytes are text; returns whether it is JSON (by its
/// extension, or a first non-blank `{`).
fn check_text(bytes: &[u8], path: &Path) -> Result<bool> {
    if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
        return Err(Error::Data(format!("{}: not a text file", path.display())));
    }
    Ok(path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// The rows of a CSV text as numbers, each with its line: blank lines
/// skipped, a first row without any number taken as a header, every row
/// as wide as the first, every field a finite number.
fn csv_rows(text: &[u8], path: &Path) -> Result<Vec<(u64, Vec<f64>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut rows = Vec::new();
    let mut width: Option<usize> = None;
    for (i, record) in reader.byte_records().enumerate() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = record.position().map_or(i as u64 + 1, csv::Position::line);
        if record.iter().all(|field| field.is_empty()) {
            continue;
        }
        let numbers: Vec<Option<f64>> = record.iter().map(parse_number).collect();
        if width.is_none() && numbers.iter().all(Option::is_none) {
            width = Some(record.len()); // a header: it fixes the width only
            continue;
        }
        let expected = *width.get_or_insert(record.len());
        if record.len() != expected {
            let column = record.len().min(expected) as u64 + 1;
            let message = format!("expected {expected} fields, found {}", record.len());
            return Err(parse_error(path, line, column, message));
        }
        let mut row = Vec::with_capacity(expected);
        for (k, (field, number)) in record.iter().zip(numbers).enumerate() {
            let Some(v) = number else {
                let shown = String::from_utf8_lossy(field);
                return Err(parse_error(
                    path,
                    line,
                    k as u64 + 1,
                    format!("`{shown}` is not a number"),
                ));
            };
            if !v.is_finite() {
                return Err(parse_error(
                    path,
                    line,
                    k as u64 + 1,
                    format!("{v} is not finite"),
                ));
            }
            row.push(v);
        }
        rows.push((line, row));
    }
    Ok(rows)
}

fn parse_number(field: &[u8]) -> Option<f64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn parse_error(path: &Path, line: u64, column: u64, message: String) -> Error {
    Error::Parse {
        path: PathBuf::from(path),
        line,
        column,
        message,
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map_or(0, csv::Position::line);
    parse_error(path, line, 1, e.to_string())
}
