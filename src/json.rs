//! Numbers in the JSON the project writes. JSON has no NaN or infinity
//! (`serde_json` writes them as `null`, which reads as "absent"), so they
//! are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`: the
//! names JavaScript's `Number()` and Python's `float()` read back.

use serde::{Serialize, Serializer};

/// A number as JSON: a finite one as a JSON number, NaN and the
/// infinities as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
///
/// ```
/// use micrograd::json::Number;
/// let json = |x: f64| serde_json::to_string(&Number(x)).unwrap();
/// assert_eq!(json(0.5), "0.5");
/// assert_eq!(json(f64::NAN), r#""NaN""#);
/// assert_eq!(json(-f64::INFINITY), r#""-Infinity""#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            x if x.is_finite() => serializer.serialize_f64(x),
            x if x.is_nan() => serializer.serialize_str("NaN"),
            x if x > 0.0 => serializer.serialize_str("Infinity"),
            _ => serializer.serialize_str("-Infinity"),
        }
    }
}

impl From<f64> for Number {
    fn from(x: f64) -> Number {
        Number(x)
    }
}

/// The numbers of `xs` as [`Number`]s.
pub fn numbers(xs: &[f64]) -> Vec<Number> {
    xs.iter().copied().map(Number).collect()
}
