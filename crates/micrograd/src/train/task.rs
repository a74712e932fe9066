//! What a dataset's targets mean for a loss: two classes, k classes, or
//! real values; and what the model's outputs predict.

use std::fmt;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nn::Weights;
use crate::nn::loss::{Loss, Targets};

/// The labels of a classifier: at least two, each a finite number, in
/// increasing order with no repeats. Class `j` is `labels()[j]`: the `j`th
/// output of a multiclass model scores it, and a binary model's positive
/// score predicts the second.
///
/// ```
/// use micrograd::train::Classes;
/// let classes = Classes::new(vec![0.0, 1.0, 2.0]).unwrap();
/// assert_eq!(classes.index_of(2.0), Some(2));
/// assert_eq!(classes.index_of(7.0), None);
/// assert!(Classes::new(vec![1.0, -1.0]).is_err()); // not increasing
/// assert!(Classes::new(vec![f64::NAN, 1.0]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Classes(Vec<f64>);

impl Classes {
    /// Classes with these labels.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if there are fewer than two, or one is NaN or
    /// infinite, or they are not increasing (a repeat included).
    pub fn new(labels: Vec<f64>) -> Result<Classes> {
        if labels.len() < 2 {
            return Err(Error::Data(format!(
                "a classifier needs at least two classes, not {}",
                labels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|c| !c.is_finite()) {
            return Err(Error::Data(format!(
                "a class label must be a finite number, not {bad}"
            )));
        }
        if let Some(pair) = labels.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::Data(format!(
                "class labels must be distinct and in increasing order, but {} comes before {}",
                pair[0], pair[1]
            )));
        }
        // -0 and 0 are one label.
        Ok(Classes(labels.into_iter().map(|c| c + 0.0).collect()))
    }

    /// The distinct values of `labels`, as classes.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if there are fewer than two distinct values, or a
    /// value is NaN or infinite.
    pub fn of(labels: &[f64]) -> Result<Classes> {
        Classes::new(distinct(labels))
    }

    /// The labels, in increasing order.
    pub fn labels(&self) -> &[f64] {
        &self.0
    }

    /// How many classes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: there are always at least two.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The class of a label, if it is one of them.
    pub fn index_of(&self, label: f64) -> Option<usize> {
        self.0.iter().position(|&c| c == label)
    }
}

/// `0, 1, 2`, or the first six and `...`.
impl fmt::Display for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&listed(&self.0))
    }
}

/// The distinct values, increasing, -0 counted as 0.
fn distinct(labels: &[f64]) -> Vec<f64> {
    let mut values: Vec<f64> = labels.iter().map(|&y| y + 0.0).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values
}

/// Up to six numbers, comma-separated.
fn listed(values: &[f64]) -> String {
    let shown: Vec<String> = values.iter().take(6).map(f64::to_string).collect();
    let more = if values.len() > 6 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// How targets are read and outputs interpreted.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// Two classes scored by one output: a positive score predicts the
    /// second class (the larger label), otherwise the first.
    Binary {
        /// The two labels (see [`Task::binary`]).
        classes: Classes,
    },
    /// `k` classes, one output each; the largest output wins.
    Multiclass {
        /// The labels; output `j` scores class `j`.
        classes: Classes,
    },
    /// Real-valued targets, predicted by one output.
    Regression,
}

impl Task {
    /// Two classes scored by one output.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] unless `negative < positive`, both finite.
    pub fn binary(negative: f64, positive: f64) -> Result<Task> {
        Ok(Task::Binary {
            classes: Classes::new(vec![negative, positive])?,
        })
    }

    /// How `loss` reads `data`'s targets: two classes for the SVM and BCE
    /// losses, two or more for softmax; for squared errors, two classes
    /// scored ±1 when the labels are exactly -1 and 1 (the lecture's
    /// classifier trained with a sum of squares), real values otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if a binary loss (SVM, BCE) does not find exactly two
    /// distinct targets, or softmax finds fewer than two.
    pub fn for_loss(loss: Loss, data: &Dataset) -> Result<Task> {
        let labels = distinct(&data.y);
        match loss {
            Loss::Svm | Loss::Bce if labels.len() != 2 => Err(Error::Data(format!(
                "the {loss} loss needs exactly two classes; the targets have {} distinct value{} ({})",
                labels.len(),
                if labels.len() == 1 { "" } else { "s" },
                listed(&labels)
            ))),
            Loss::Svm | Loss::Bce => Ok(Task::Binary {
                classes: Classes::new(labels)?,
            }),
            Loss::SoftmaxCe if labels.len() < 2 => Err(Error::Data(format!(
                "the softmax loss needs at least two classes; the targets have {} ({})",
                labels.len(),
                listed(&labels)
            ))),
            Loss::SoftmaxCe => Ok(Task::Multiclass {
                classes: Classes::new(labels)?,
            }),
            Loss::Mse | Loss::SumSquares if labels == [-1.0, 1.0] => Ok(Task::Binary {
                classes: Classes::new(labels)?,
            }),
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

    /// Whether `loss` can read this task's labels: the SVM loss and binary
    /// cross-entropy read two classes scored by one output; softmax reads
    /// two or more classes scored by an output each; the squared errors
    /// read real values, or two classes scored by one output whose labels
    /// are exactly -1 and 1 (the lecture's classifier), since they compare
    /// the score with the label itself. These are the tasks that
    /// [`for_loss`](Task::for_loss) makes for each loss.
    ///
    /// ```
    /// use micrograd::nn::Loss;
    /// use micrograd::train::Task;
    /// let zero_one = Task::binary(0.0, 1.0)?;
    /// assert!(zero_one.check_loss(Loss::Svm).is_ok());
    /// assert!(zero_one.check_loss(Loss::Mse).is_err()); // it would compare with -1 and 1
    /// assert!(zero_one.check_loss(Loss::SoftmaxCe).is_err()); // one output
    /// assert!(Task::binary(-1.0, 1.0)?.check_loss(Loss::SumSquares).is_ok());
    /// assert!(Task::Regression.check_loss(Loss::Bce).is_err());
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Data`] saying why the loss cannot read the labels, and
    /// which losses can.
    pub fn check_loss(&self, loss: Loss) -> Result<()> {
        let refused = |why: String| Err(Error::Data(format!("the {loss} loss cannot read {why}")));
        match (self, loss) {
            (Task::Binary { .. }, Loss::Svm | Loss::Bce)
            | (Task::Multiclass { .. }, Loss::SoftmaxCe)
            | (Task::Regression, Loss::Mse | Loss::SumSquares) => Ok(()),
            (Task::Binary { classes }, Loss::Mse | Loss::SumSquares) => {
                if classes.labels() == [-1.0, 1.0] {
                    Ok(())
                } else {
                    refused(format!(
                        "two classes ({classes}) as a score: it compares the score with -1 and 1, \
                         which are not the labels; use the svm or bce loss, or labels -1 and 1"
                    ))
                }
            }
            (Task::Binary { classes }, Loss::SoftmaxCe) => refused(format!(
                "two classes ({classes}) scored by one output: it needs an output per class; \
                 use the svm or bce loss, or a task of two classes with an output each"
            )),
            (Task::Multiclass { classes }, Loss::Svm | Loss::Bce | Loss::Mse | Loss::SumSquares) => {
                refused(format!(
                    "{} classes ({classes}) scored by an output each: it reads one output; \
                     use the softmax loss",
                    classes.len()
                ))
            }
            (Task::Regression, Loss::Svm | Loss::Bce | Loss::SoftmaxCe) => refused(
                "real-valued targets (a regression): it reads classes; use the mse or sum-squares loss"
                    .into(),
            ),
        }
    }

    /// Each label's target for `loss`: its class's index for a
    /// classifier, the value itself for a regression. Here labels become
    /// classes, once; the loss reads a class as [`Targets`] says.
    ///
    /// ```
    /// use micrograd::nn::{Loss, loss::Targets};
    /// use micrograd::train::Task;
    /// let task = Task::binary(5.0, 7.0)?;
    /// assert_eq!(task.targets(Loss::Svm, &[7.0, 5.0])?, Targets::Classes(vec![1, 0]));
    /// assert!(task.targets(Loss::Svm, &[6.0]).is_err()); // not a class
    /// assert!(task.targets(Loss::Mse, &[7.0]).is_err()); // see check_loss
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the loss cannot read this task's labels (see
    /// [`check_loss`](Task::check_loss)), or a label is not one of a
    /// classifier's classes.
    pub fn targets(&self, loss: Loss, labels: &[f64]) -> Result<Targets> {
        self.check_loss(loss)?;
        match self.classes() {
            None => Ok(Targets::Values(labels.to_vec())),
            Some(classes) => labels
                .iter()
                .enumerate()
                .map(|(i, &y)| {
                    classes.index_of(y).ok_or_else(|| {
                        Error::Data(format!(
                            "sample {} has label {y}, which is not one of the classes ({classes})",
                            i + 1
                        ))
                    })
                })
                .collect::<Result<_>>()
                .map(Targets::Classes),
        }
    }

    /// The classes, for a classifier.
    pub fn classes(&self) -> Option<&Classes> {
        match self {
            Task::Binary { classes } | Task::Multiclass { classes } => Some(classes),
            Task::Regression => None,
        }
    }

    /// The class the outputs predict: for two classes, the second if the
    /// score is positive; for more, the largest output's (`None` if that
    /// output has no class, or for regression).
    pub fn class_of(&self, outputs: impl IntoIterator<Item = f64>) -> Option<usize> {
        let mut outputs = outputs.into_iter();
        match self {
            Task::Binary { .. } => Some(usize::from(outputs.next().is_some_and(|s| s > 0.0))),
            Task::Multiclass { classes } => Some(argmax(outputs)).filter(|&j| j < classes.len()),
            Task::Regression => None,
        }
    }

    /// The label the outputs predict (the value itself, for regression; NaN
    /// where the outputs fit no class).
    pub fn predict(&self, outputs: impl IntoIterator<Item = f64>) -> f64 {
        match self {
            Task::Regression => outputs.into_iter().next().unwrap_or(f64::NAN),
            _ => {
                let classes = self.classes().expect("a classifier");
                self.class_of(outputs)
                    .map_or(f64::NAN, |j| classes.labels()[j])
            }
        }
    }

    /// The fraction of `data` that `weights` classify right (`None` for
    /// regression), evaluated without building graphs.
    pub fn accuracy(&self, weights: &Weights, data: &Dataset) -> Option<f64> {
        if !self.is_classification() || data.is_empty() {
            return None;
        }
        let classes = self.classes()?;
        let right = data
            .x
            .iter()
            .zip(&data.y)
            .filter(|&(x, &y)| {
                self.class_of(weights.predict(x))
                    .is_some_and(|c| classes.index_of(y) == Some(c))
            })
            .count();
        Some(right as f64 / data.len() as f64)
    }

    /// Whether the outputs predict `class`. micrograd's demo:
    /// `(yi > 0) == (scorei.data > 0)`, the positive label being class 1.
    pub(crate) fn is_right(&self, outputs: impl Iterator<Item = f64>, class: usize) -> bool {
        let mut outputs = outputs;
        match self {
            Task::Binary { .. } => usize::from(outputs.next().is_some_and(|s| s > 0.0)) == class,
            Task::Multiclass { .. } => argmax(outputs) == class,
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
