//! What a dataset's targets mean for a loss: two classes, k classes, or
//! real values; and what the model's outputs predict.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nn::Weights;
use crate::nn::loss::Loss;

/// How targets are read and outputs interpreted.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// Two classes scored by one output: a positive score predicts
    /// `classes[1]` (the larger label), otherwise `classes[0]`.
    Binary {
        /// The two labels, smaller first.
        classes: [f64; 2],
    },
    /// `k` classes, one output each; the largest output wins.
    Multiclass {
        /// The labels, in increasing order; output `j` scores `classes[j]`.
        classes: Vec<f64>,
    },
    /// Real-valued targets, predicted by one output.
    Regression,
}

impl Task {
    /// How `loss` reads `data`'s targets.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if a binary loss (SVM, BCE) does not find exactly two
    /// distinct targets, or softmax finds fewer than two.
    pub fn for_loss(loss: Loss, data: &Dataset) -> Result<Task> {
        let classes = data.classes();
        let listed = || {
            let shown: Vec<String> = classes.iter().take(6).map(f64::to_string).collect();
            let more = if classes.len() > 6 { ", ..." } else { "" };
            format!("{}{more}", shown.join(", "))
        };
        match loss {
            Loss::Svm | Loss::Bce => match classes[..] {
                [a, b] => Ok(Task::Binary { classes: [a, b] }),
                _ => Err(Error::Data(format!(
                    "the {loss} loss needs exactly two classes; the targets have {} distinct values ({})",
                    classes.len(),
                    listed()
                ))),
            },
            Loss::SoftmaxCe if classes.len() < 2 => Err(Error::Data(format!(
                "the softmax loss needs at least two classes; the targets have {} ({})",
                classes.len(),
                listed()
            ))),
            Loss::SoftmaxCe => Ok(Task::Multiclass { classes }),
            Loss::Mse | Loss::SumSquares => Ok(Task::Regression),
        }
    }

    /// How many outputs the model needs.
    pub fn outputs(&self) -> usize {
        match self {
            Task::Multiclass { classes } => classes.len(),
            Task::Binary { .. } | Task::Regression => 1,
        }
    }

    /// Whether the targets are classes (so accuracy means something).
    pub fn is_classification(&self) -> bool {
        !matches!(self, Task::Regression)
    }

    /// A target as `loss` reads it: ±1 for SVM, 0/1 for BCE, the class's
    /// index for softmax, the value itself for regression.
    pub(crate) fn target(&self, loss: Loss, y: f64) -> f64 {
        match self {
            Task::Binary { classes } => {
                let positive = y == classes[1];
                match (loss, positive) {
                    (Loss::Bce, true) => 1.0,
                    (Loss::Bce, false) => 0.0,
                    (_, true) => 1.0,
                    (_, false) => -1.0,
                }
            }
            Task::Multiclass { classes } => {
                classes.iter().position(|&c| c == y).unwrap_or(0) as f64
            }
            Task::Regression => y,
        }
    }

    /// The label the outputs predict (the value itself, for regression; NaN
    /// where the outputs fit no class).
    pub fn predict(&self, outputs: impl IntoIterator<Item = f64>) -> f64 {
        let mut outputs = outputs.into_iter();
        match self {
            Task::Binary { classes } => {
                if outputs.next().is_some_and(|score| score > 0.0) {
                    classes[1]
                } else {
                    classes[0]
                }
            }
            // More outputs than classes: the extra ones predict no class.
            Task::Multiclass { classes } => {
                classes.get(argmax(outputs)).copied().unwrap_or(f64::NAN)
            }
            Task::Regression => outputs.next().unwrap_or(f64::NAN),
        }
    }

    /// The fraction of `data` that `weights` classify right (`None` for
    /// regression), evaluated without building graphs.
    pub fn accuracy(&self, weights: &Weights, data: &Dataset) -> Option<f64> {
        if !self.is_classification() || data.is_empty() {
            return None;
        }
        let right = data
            .x
            .iter()
            .zip(&data.y)
            .filter(|(x, y)| self.predict(weights.predict(x)) == **y)
            .count();
        Some(right as f64 / data.len() as f64)
    }

    /// Whether the outputs classify right a sample whose target, as the loss
    /// reads it ([`target`](Task::target)), is `target`. micrograd's demo:
    /// `(yi > 0) == (scorei.data > 0)`.
    pub(crate) fn is_right(&self, outputs: impl Iterator<Item = f64>, target: f64) -> bool {
        let mut outputs = outputs;
        match self {
            Task::Binary { .. } => outputs.next().is_some_and(|s| s > 0.0) == (target > 0.0),
            Task::Multiclass { .. } => argmax(outputs) as f64 == target,
            Task::Regression => false,
        }
    }
}

/// The index of the largest item (the first, on ties; 0 if empty).
fn argmax(items: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, x) in items.enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best.0
}
