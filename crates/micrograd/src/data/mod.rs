//! Datasets: labelled points, built in (micrograd's demo, moons, circles,
//! blobs, spiral, TensorFlow Playground's xor, gaussian, plane and
//! multi-gaussian, the lecture's four examples) or read from a CSV or JSON
//! file; and the features a network reads from a point in the plane.

mod demo;
mod features;
mod from_file;
mod synthetic;
mod tensorflow_playground;

pub use demo::{micrograd_demo, micrograd_demo_weights};
pub use features::{Feature, Features};
pub use synthetic::{blobs, circles, lecture_examples, moons, spiral, spiral_sized};
pub use tensorflow_playground::{multi_gaussian, plane, two_gaussians, xor};

use crate::error::{Error, Result};

/// Labelled points: one row of features per sample and one target each (a
/// class label, or a real value for regression).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// One row of features per sample; every row has the same length.
    pub x: Vec<Vec<f64>>,
    /// One target per sample.
    pub y: Vec<f64>,
}

/// Points to predict: features, and labels if the file has them.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    /// One row of features per point.
    pub x: Vec<Vec<f64>>,
    /// One label per point, if the file has labels.
    pub y: Option<Vec<f64>>,
}

impl Dataset {
    /// A dataset from rows and targets, after checking that it is not empty,
    /// that there is one target per row, that every row has the same number
    /// of features (at least one), and that every number is finite.
    pub fn new(x: Vec<Vec<f64>>, y: Vec<f64>) -> Result<Dataset> {
        if x.is_empty() {
            return Err(Error::Data("the dataset has no samples".into()));
        }
        if x.len() != y.len() {
            return Err(Error::Data(format!(
                "the dataset has {} rows of features but {} targets",
                x.len(),
                y.len()
            )));
        }
        let dim = x[0].len();
        if dim == 0 {
            return Err(Error::Data("the samples have no features".into()));
        }
        if let Some(i) = x.iter().position(|row| row.len() != dim) {
            return Err(Error::Data(format!(
                "sample {} has {} features, sample 1 has {dim}",
                i + 1,
                x[i].len()
            )));
        }
        let non_finite = x.iter().flatten().chain(&y).any(|v| !v.is_finite());
        if non_finite {
            return Err(Error::Data(
                "the dataset contains a NaN or infinite number".into(),
            ));
        }
        Ok(Dataset { x, y })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no samples (never, for a dataset built by `new`).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The number of features per sample.
    pub fn dim(&self) -> usize {
        self.x.first().map_or(0, Vec::len)
    }

    /// The distinct targets, in increasing order: the classes of a
    /// classification dataset.
    pub fn classes(&self) -> Vec<f64> {
        let mut classes = self.y.clone();
        classes.sort_by(f64::total_cmp);
        classes.dedup();
        classes
    }
}
