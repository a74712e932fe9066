//! Numbers in the JSON the project writes. JSON has no NaN or infinity
//! (`serde_json` writes them as `null`, which reads as "absent"), so they
//! are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`: the
//! names JavaScript's `Number()` and Python's `float()` read back.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

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

/// Parses a JSON object into `T`, refusing any other JSON value with
/// "expected `expecting`". (serde also reads a struct from an array of
/// its fields in order; no file of ours is written that way, and the
/// error it gives for `[1, 2]` would say nothing about the file's shape.)
pub(crate) fn json_object<T: DeserializeOwned>(
    text: &[u8],
    path: &Path,
    expecting: &'static str,
) -> Result<T> {
    object(text, expecting).map_err(|e| json_error(path, &e))
}

/// [`json_object`] with serde_json's own error.
pub(crate) fn object<T: DeserializeOwned>(
    text: &[u8],
    expecting: &'static str,
) -> serde_json::Result<T> {
    struct Object<T> {
        expecting: &'static str,
        wanted: PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Object<T> {
        type Value = T;
        fn deserialize<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> std::result::Result<T, D::Error> {
            deserializer.deserialize_map(self)
        }
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let seed = Object {
        expecting,
        wanted: PhantomData,
    };
    seed.deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
}

/// serde_json's errors carry their own line and column; its message is kept
/// without the " at line L column C" it appends.
fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    };
    Error::Parse {
        path: PathBuf::from(path),
        line: e.line() as u64,
        column: e.column().max(1) as u64,
        message,
    }
}
