//! The network's inputs made from a point in the plane: TensorFlow
//! Playground's seven input features (`INPUTS` in its
//! [playground.ts](https://github.com/tensorflow/playground/blob/master/src/playground.ts)),
//! `x1`, `x2`, `x1^2`, `x2^2`, `x1*x2`, `sin(x1)` and `sin(x2)`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::Dataset;
use crate::error::{Error, Result};

/// One input made from a point `(x1, x2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// `x1`, the first coordinate.
    X1,
    /// `x2`, the second coordinate.
    X2,
    /// `x1^2`
    X1Squared,
    /// `x2^2`
    X2Squared,
    /// `x1*x2`
    X1X2,
    /// `sin(x1)`
    SinX1,
    /// `sin(x2)`
    SinX2,
}

impl Feature {
    /// Every feature, in TensorFlow Playground's order: the order of a
    /// network's inputs.
    pub const ALL: [Feature; 7] = [
        Feature::X1,
        Feature::X2,
        Feature::X1Squared,
        Feature::X2Squared,
        Feature::X1X2,
        Feature::SinX1,
        Feature::SinX2,
    ];

    /// Its name: `x1`, `x1^2`, `x1*x2`, `sin(x1)`, ...
    pub fn name(self) -> &'static str {
        match self {
            Feature::X1 => "x1",
            Feature::X2 => "x2",
            Feature::X1Squared => "x1^2",
            Feature::X2Squared => "x2^2",
            Feature::X1X2 => "x1*x2",
            Feature::SinX1 => "sin(x1)",
            Feature::SinX2 => "sin(x2)",
        }
    }

    /// Its value at the point `(x1, x2)`.
    pub fn of(self, x1: f64, x2: f64) -> f64 {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Squared => x1 * x1,
            Feature::X2Squared => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Feature {
    type Err = String;

    /// A name of [`Feature::ALL`], in any case, spaces around it ignored.
    fn from_str(s: &str) -> Result<Feature, String> {
        let s = s.trim();
        Feature::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown feature `{s}` (expected {})", names()))
    }
}

/// `x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)`.
fn names() -> String {
    let names: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
    names.join(", ")
}

/// The features a network reads from a point in the plane: a set of one
/// or more of [`Feature::ALL`], kept (and fed to the network) in that
/// order, whatever order they were given in, as TensorFlow Playground's
/// column of inputs. Read from a list (`["x1", "x1*x2"]`) or from text as
/// `--features` takes it (`"x1,x1*x2"`); a name given twice is an error.
/// Written as a list. The default, `x1,x2`, is the point as it is.
///
/// ```
/// use micrograd::data::Features;
///
/// let features: Features = "sin(x1), x1*x2, x1".parse().unwrap();
/// assert_eq!(features.to_string(), "x1,x1*x2,sin(x1)");
/// assert_eq!(features.map(&[2.0, 3.0]), [2.0, 6.0, 2.0f64.sin()]);
/// assert!(Features::default().is_identity());
/// assert!("x1,x1".parse::<Features>().unwrap_err().contains("twice"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Features(Vec<Feature>);

impl Default for Features {
    /// `x1,x2`: the point as it is.
    fn default() -> Features {
        Features(vec![Feature::X1, Feature::X2])
    }
}

impl Features {
    /// These features, in [`Feature::ALL`]'s order.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if there are none, or one is given twice.
    pub fn new(features: &[Feature]) -> Result<Features> {
        Features::checked(features.to_vec()).map_err(Error::Data)
    }

    fn checked(mut features: Vec<Feature>) -> Result<Features, String> {
        if features.is_empty() {
            return Err(format!("expected one or more features of {}", names()));
        }
        features.sort_unstable();
        if let Some(pair) = features.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("the feature `{}` is given twice", pair[0]));
        }
        Ok(Features(features))
    }

    /// The features, in the order the network reads them.
    pub fn as_slice(&self) -> &[Feature] {
        &self.0
    }

    /// How many: the network's inputs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: there is always one at least.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether these are `x1,x2`, the point as it is.
    pub fn is_identity(&self) -> bool {
        self.0 == [Feature::X1, Feature::X2]
    }

    /// The network's inputs for the point `x = [x1, x2]`.
    ///
    /// # Panics
    ///
    /// If `x` is not a point in the plane (two numbers).
    pub fn map(&self, x: &[f64]) -> Vec<f64> {
        let mut inputs = Vec::with_capacity(self.len());
        self.map_into(x, &mut inputs);
        inputs
    }

    /// The network's inputs for the point `x = [x1, x2]`, into `inputs`
    /// (cleared first), so that a grid of points allocates once.
    ///
    /// # Panics
    ///
    /// If `x` is not a point in the plane (two numbers).
    pub fn map_into(&self, x: &[f64], inputs: &mut Vec<f64>) {
        let &[x1, x2] = x else {
            panic!(
                "micrograd: features are made from a point in the plane (2 numbers), not {}",
                x.len()
            )
        };
        inputs.clear();
        inputs.extend(self.0.iter().map(|f| f.of(x1, x2)));
    }

    /// The dataset as the network reads it: each point's features, the
    /// targets as they are.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] unless the points are in the plane (two features
    /// each).
    pub fn apply(&self, data: &Dataset) -> Result<Dataset> {
        if data.dim() != 2 {
            return Err(Error::Data(format!(
                "the features {self} are made from points in the plane (2 numbers each); \
                 these points have {}",
                data.dim()
            )));
        }
        Ok(Dataset {
            x: data.x.iter().map(|x| self.map(x)).collect(),
            y: data.y.clone(),
        })
    }
}

impl fmt::Display for Features {
    /// `x1,x2,sin(x1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|f| f.name()).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Features {
    type Err = String;

    /// `x1,x2,sin(x1)`: names of [`Feature::ALL`], comma-separated.
    fn from_str(s: &str) -> Result<Features, String> {
        if s.trim().is_empty() {
            return Features::checked(Vec::new());
        }
        let features = s
            .split(',')
            .map(|name| match name.trim() {
                "" => Err("an empty feature between commas".to_owned()),
                name => name.parse(),
            })
            .collect::<Result<Vec<Feature>, String>>()?;
        Features::checked(features)
    }
}

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|f| f.name()))
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Features, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = Features;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("features as a list, [\"x1\", \"x2\"], or as text, \"x1,x2\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Features, E> {
                s.parse().map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Features, A::Error> {
                let mut features = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    features.push(name.parse().map_err(de::Error::custom)?);
                }
                Features::checked(features).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(Names)
    }
}
