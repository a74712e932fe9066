//! The JSON the page and the server exchange, as `API.md` documents it:
//! requests (settings, expressions), answers (a session's description, its
//! frames) and errors.

use std::collections::BTreeMap;

use micrograd::train::Settings;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

pub use micrograd::json::{Number, numbers};

/// How a session trains: the run's [`Settings`] (every field optional,
/// the keys `micrograd train` and a run's summary use) and the session's
/// own `speed`. Unknown fields are an error that names them.
#[derive(Clone, Debug, Default)]
pub struct SettingsRequest {
    pub settings: Settings,
    /// Steps per second.
    pub speed: Option<f64>,
}

impl<'de> Deserialize<'de> for SettingsRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SettingsRequest, D::Error> {
        // `speed` is taken out first: the settings refuse any key of
        // their own they do not know.
        let mut object = serde_json::Map::deserialize(deserializer)?;
        let speed = match object.remove("speed") {
            Some(speed) => Option::<f64>::deserialize(speed).map_err(de::Error::custom)?,
            None => None,
        };
        let settings =
            Settings::deserialize(serde_json::Value::Object(object)).map_err(de::Error::custom)?;
        Ok(SettingsRequest { settings, speed })
    }
}

/// The settings a session trains with, every one decided (but `noise` for
/// data not drawn at random, and `batch` for the whole dataset).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSettings {
    #[serde(flatten)]
    pub settings: Settings,
    pub speed: Number,
}

/// A session: its settings, data, network and where its training is.
#[derive(Clone, Debug, Serialize)]
pub struct Info {
    pub id: String,
    /// Counts the session's restarts (reset, new settings, an upload); a
    /// frame belongs to the run of its generation.
    pub generation: u64,
    pub settings: SessionSettings,
    pub data: DataInfo,
    pub network: NetworkInfo,
    pub status: Status,
}

/// The data a session trains on.
#[derive(Clone, Debug, Serialize)]
pub struct DataInfo {
    pub name: String,
    pub points: usize,
    pub features: usize,
    /// `binary`, `multiclass` or `regression`.
    pub task: &'static str,
    /// The distinct labels, in increasing order (empty for regression).
    pub classes: Vec<Number>,
    /// The points, for data in the plane (else `None`).
    pub x: Option<Vec<[Number; 2]>>,
    /// Each point's target.
    pub y: Vec<Number>,
    /// `[x0, x1, y0, y1]`: the part of the plane the pictures show.
    pub extent: Option<[Number; 4]>,
}

/// The network a session trains.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkInfo {
    /// Inputs first, outputs last.
    pub widths: Vec<usize>,
    pub parameters: usize,
    /// Each layer's activation.
    pub activations: Vec<String>,
}

/// Where a session's training is.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub generation: u64,
    pub playing: bool,
    /// Steps taken.
    pub step: usize,
    /// The last step's loss and accuracy.
    pub loss: Option<Number>,
    pub accuracy: Option<Number>,
    /// Why training stopped for good (a loss that diverged), if it did.
    pub stopped: Option<String>,
}

/// What one step measured.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Record {
    pub step: usize,
    pub loss: Number,
    pub accuracy: Option<Number>,
    pub lr: Number,
}

/// One update of the page while training: the numbers and the pictures.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    pub generation: u64,
    pub playing: bool,
    /// Steps taken.
    pub step: usize,
    /// The last step's record.
    pub last: Option<Record>,
    /// Steps per second over the last second.
    pub steps_per_second: Number,
    /// `[step, loss, accuracy]` of the steps since the previous frame
    /// (thinned out when there are many).
    pub history: Vec<(usize, Number, Option<Number>)>,
    pub boundary: Option<Grid>,
    /// Each layer's neurons' outputs over the plane, one grid each.
    pub neurons: Option<Vec<Vec<Grid>>>,
    /// The neuron the page enlarged, at the boundary's resolution.
    pub focus: Option<Focus>,
}

/// A picture over the plane: `side` × `side` cells, rows from the top,
/// each cell `bytes` bytes, base64.
#[derive(Clone, Debug, Serialize)]
pub struct Grid {
    pub side: usize,
    pub cells: String,
}

/// The enlarged neuron's picture.
#[derive(Clone, Debug, Serialize)]
pub struct Focus {
    pub layer: usize,
    pub neuron: usize,
    pub grid: Grid,
}

/// Which neuron to enlarge (`null` for none).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocusRequest {
    pub layer: usize,
    pub neuron: usize,
}

/// An expression to draw, with its variables' values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressionRequest {
    pub expr: String,
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
}

/// The expression's value, each variable's derivative, and its picture.
#[derive(Clone, Debug, Serialize)]
pub struct ExpressionAnswer {
    pub value: Number,
    pub grads: BTreeMap<String, Number>,
    /// The first number of the graph that is not finite, the op that made
    /// it and its operands (an [`Anomaly`](micrograd::Anomaly)); `None` when
    /// every value and gradient is finite.
    pub not_finite: Option<String>,
    pub nodes: usize,
    pub svg: String,
}

/// What went wrong, for the page: `{"error": "..."}` with a 4xx (or 503)
/// status, and where in the text when it is about text.
#[derive(Clone, Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub error: String,
    /// 1-based line and column in an uploaded file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Byte offset in an expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl ApiError {
    pub fn new(status: u16, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            line: None,
            column: None,
            position: None,
        }
    }

    /// 400: the request is not what the API reads.
    pub fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError::new(400, error)
    }

    /// 404
    pub fn not_found(error: impl Into<String>) -> ApiError {
        ApiError::new(404, error)
    }

    /// 409: not now (the session's events are being read, it diverged).
    pub fn conflict(error: impl Into<String>) -> ApiError {
        ApiError::new(409, error)
    }

    /// 413
    pub fn too_large(error: impl Into<String>) -> ApiError {
        ApiError::new(413, error)
    }

    /// 422: well-formed, but not something that can be done.
    pub fn unprocessable(error: impl Into<String>) -> ApiError {
        ApiError::new(422, error)
    }

    /// 503: the server is at a limit; try later.
    pub fn unavailable(error: impl Into<String>) -> ApiError {
        ApiError::new(503, error)
    }

    /// A library error at an edge a request reached: 422, with the line
    /// and column of a parse error.
    pub fn from_library(e: &micrograd::Error) -> ApiError {
        let mut error = ApiError::unprocessable(e.to_string());
        if let micrograd::Error::Parse { line, column, .. } = e {
            error.line = Some(*line);
            error.column = Some(*column);
        }
        error
    }
}

/// Standard base64 (RFC 4648, with padding): how grids travel in JSON.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Number, Record, Status, base64};

    #[test]
    fn numbers_that_are_not_finite_are_the_strings_javascript_reads() {
        let json = |x: f64| serde_json::to_string(&Number(x)).unwrap();
        assert_eq!(json(f64::NAN), "\"NaN\"");
        assert_eq!(json(f64::INFINITY), "\"Infinity\"");
        assert_eq!(json(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(json(-0.5), "-0.5");
        assert_eq!(json(1e300).parse::<f64>(), Ok(1e300));
        // Inside the answers: a NaN loss is "NaN", an absent accuracy null.
        let status = Status {
            generation: 0,
            playing: false,
            step: 1,
            loss: Some(Number(f64::NAN)),
            accuracy: None,
            stopped: None,
        };
        let status = serde_json::to_value(&status).unwrap();
        assert_eq!(status["loss"], "NaN");
        assert_eq!(status["accuracy"], serde_json::Value::Null);
        let record = Record {
            step: 0,
            loss: Number(f64::INFINITY),
            accuracy: Some(Number(0.5)),
            lr: Number(0.1),
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"step":0,"loss":"Infinity","accuracy":0.5,"lr":0.1}"#
        );
    }

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        // RFC 4648, section 10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}
