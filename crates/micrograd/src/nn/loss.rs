//! Losses: each builds its graph from the engine's operations, so its
//! gradient is exact to floating point and nothing is special-cased.

use std::fmt;
use std::str::FromStr;

use crate::engine::Value;

/// micrograd's demo loss, the SVM max-margin loss
/// `mean(relu(1 - yᵢ·scoreᵢ))` for labels `yᵢ` in {-1, +1}, built node for
/// node as micrograd builds it: `(1 + -yi*scorei).relu()`, summed, times
/// `1.0 / n`.
///
/// `scores` holds one score per point, or one batch of scores (a lane per
/// point, [`MLP::forward`](super::MLP::forward) of a batch): every loss
/// here takes either.
///
/// # Panics
///
/// If the scores and labels differ in number or there are none.
pub fn svm(scores: &[Value], y: &[f64]) -> Value {
    let total = match layout(scores, y.len(), 1) {
        Layout::PerPoint => scores
            .iter()
            .zip(y)
            .map(|(&s, &yi)| hinge(s, Value::new(-yi)))
            .sum(),
        Layout::Lanes => lane_terms(Loss::Svm, scores, y, &mut LossScratch::default()).sum_lanes(),
    };
    total * (1.0 / y.len() as f64)
}

/// The lecture's loss: `Σ (predᵢ - yᵢ)²`, as
/// `sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))`.
///
/// # Panics
///
/// If the predictions and targets differ in number.
pub fn sum_squares(pred: &[Value], y: &[f64]) -> Value {
    if pred.is_empty() && y.is_empty() {
        return Value::new(0.0);
    }
    match layout(pred, y.len(), 1) {
        Layout::PerPoint => pred
            .iter()
            .zip(y)
            .map(|(&p, &yi)| square_error(p, Value::new(-yi)))
            .sum(),
        Layout::Lanes => {
            lane_terms(Loss::SumSquares, pred, y, &mut LossScratch::default()).sum_lanes()
        }
    }
}

/// Mean squared error, `mean((predᵢ - yᵢ)²)` (PyTorch's `MSELoss`).
///
/// # Panics
///
/// If the predictions and targets differ in number or there are none.
pub fn mse(pred: &[Value], y: &[f64]) -> Value {
    layout(pred, y.len(), 1);
    sum_squares(pred, y) * (1.0 / y.len() as f64)
}

/// Binary cross-entropy on logits, `mean(softplus(zᵢ) - yᵢ·zᵢ)` for labels
/// in {0, 1} (PyTorch's `BCEWithLogitsLoss`), with the stable
/// [`softplus`](Value::softplus); its derivative is `σ(z) - y`.
///
/// # Panics
///
/// If the logits and labels differ in number or there are none.
pub fn bce_with_logits(logits: &[Value], y: &[f64]) -> Value {
    let total = match layout(logits, y.len(), 1) {
        Layout::PerPoint => logits
            .iter()
            .zip(y)
            .map(|(&z, &yi)| cross_entropy(z, Value::new(yi)))
            .sum(),
        Layout::Lanes => lane_terms(Loss::Bce, logits, y, &mut LossScratch::default()).sum_lanes(),
    };
    total * (1.0 / y.len() as f64)
}

/// Softmax cross-entropy over `k` classes, `mean(logsumexp(zᵢ) - zᵢ[cᵢ])`
/// (PyTorch's `CrossEntropyLoss`), with `logits` holding `k` numbers per
/// sample, one after the other (or `k` batches, one per class), and
/// `classes` each sample's class in `0..k`. The log-sum-exp subtracts each
/// sample's largest logit (a constant, whose gradient would cancel) so
/// `exp` never overflows.
///
/// # Panics
///
/// If `k` is 0, `logits` does not hold `k` numbers per class (or `k`
/// batches of a lane each), there are no samples, or a class is not below
/// `k`.
pub fn softmax_cross_entropy(logits: &[Value], classes: &[usize], k: usize) -> Value {
    assert!(k > 0, "micrograd: softmax needs at least one class");
    for &class in classes {
        assert!(
            class < k,
            "micrograd: class {class} is not below the number of classes, {k}"
        );
    }
    let total = match layout(logits, classes.len(), k) {
        Layout::PerPoint => logits
            .chunks_exact(k)
            .zip(classes)
            .map(|(z, &class)| {
                let max = z.iter().map(|v| v.data()).fold(f64::NEG_INFINITY, f64::max);
                log_softmax_loss(z, Value::new(-max), Value::new(max), z[class])
            })
            .sum(),
        Layout::Lanes => {
            let targets: Vec<f64> = classes.iter().map(|&c| c as f64).collect();
            lane_terms(
                Loss::SoftmaxCe,
                logits,
                &targets,
                &mut LossScratch::default(),
            )
            .sum_lanes()
        }
    };
    total * (1.0 / classes.len() as f64)
}

/// The L2 penalty `Σ p²` (micrograd's demo adds `1e-4 * sum((p*p for p in
/// model.parameters()))`), as one [`sum_squares`](Value::sum_squares) node
/// with micrograd's numbers.
pub fn l2(params: &[Value]) -> Value {
    Value::sum_squares(params)
}

// Each loss's term for one sample, for a single value or a batch alike:
// the one place its formula lives.

/// micrograd's `(1 + -yi*scorei).relu()`, given `-yᵢ`.
fn hinge(score: Value, neg_y: Value) -> Value {
    (score * neg_y + 1.0).relu()
}

/// `(pred - y)**2`, given `-y`: micrograd's `(yout - ygt)**2`.
fn square_error(pred: Value, neg_y: Value) -> Value {
    (pred + neg_y).powf(2.0)
}

/// `softplus(z) - y·z`.
fn cross_entropy(z: Value, y: Value) -> Value {
    z.softplus() - z * y
}

/// `ln Σⱼ e^(zⱼ - max) + max - z[class]`, given `-max`, `max` and the class's
/// logit.
fn log_softmax_loss(z: &[Value], neg_max: Value, max: Value, picked: Value) -> Value {
    let sum_exp: Value = z.iter().map(|&zj| (zj + neg_max).exp()).sum();
    sum_exp.ln() + max - picked
}

/// How a loss's outputs hold its samples.
enum Layout {
    /// A value per sample (per output of a sample).
    PerPoint,
    /// A batch per output, a lane per sample.
    Lanes,
}

fn layout(outputs: &[Value], samples: usize, per_sample: usize) -> Layout {
    match outputs.first() {
        Some(first) if first.is_batch() => {
            assert_eq!(
                outputs.len(),
                per_sample,
                "micrograd: over a batch, a loss takes one batch per output ({per_sample}), got {}",
                outputs.len()
            );
            for v in outputs {
                assert_eq!(
                    v.lanes(),
                    Some(samples),
                    "micrograd: one target per lane of the outputs"
                );
            }
            Layout::Lanes
        }
        _ => {
            assert_eq!(
                outputs.len(),
                samples * per_sample,
                "micrograd: one target per output"
            );
            assert!(samples > 0, "micrograd: a loss needs at least one sample");
            Layout::PerPoint
        }
    }
}

/// Buffers for building a batch's loss terms without allocating.
#[derive(Default)]
pub(crate) struct LossScratch {
    lanes: Vec<f64>,
    more: Vec<f64>,
    values: Vec<Value>,
}

/// The per-sample terms of `loss` over a batch, as one batch: `outputs`
/// holds one batch per model output, `targets` one target per lane as the
/// loss reads it (±1 for SVM, 0/1 for BCE, the class index for softmax,
/// the value for regression). The loss is their sum over the lanes (times
/// [`Loss::scale`]).
pub(crate) fn lane_terms(
    loss: Loss,
    outputs: &[Value],
    targets: &[f64],
    scratch: &mut LossScratch,
) -> Value {
    let LossScratch {
        lanes,
        more,
        values,
    } = scratch;
    let mut negated = |targets: &[f64]| {
        lanes.clear();
        lanes.extend(targets.iter().map(|&y| -y));
        Value::batch(lanes)
    };
    match loss {
        Loss::Svm => hinge(outputs[0], negated(targets)),
        Loss::Mse | Loss::SumSquares => square_error(outputs[0], negated(targets)),
        Loss::Bce => cross_entropy(outputs[0], Value::batch(targets)),
        Loss::SoftmaxCe => {
            // Each lane's largest logit, a constant (as `max` per sample).
            lanes.clear();
            lanes.resize(targets.len(), f64::NEG_INFINITY);
            more.clear();
            for z in outputs {
                crate::engine::read_lanes(*z, more);
                for (m, &x) in lanes.iter_mut().zip(more.iter()) {
                    *m = m.max(x);
                }
            }
            let max = Value::batch(lanes);
            more.clear();
            more.extend(lanes.iter().map(|&m| -m));
            let neg_max = Value::batch(more);
            // Each lane's class logit, z[class] = Σⱼ [j = class]·zⱼ: exact
            // (the other terms are zeros), with d/dzⱼ = [j = class].
            values.clear();
            for (j, &z) in outputs.iter().enumerate() {
                lanes.clear();
                lanes.extend(targets.iter().map(|&c| f64::from(u8::from(c == j as f64))));
                values.push(z * Value::batch(lanes));
            }
            let picked: Value = values.iter().sum();
            log_softmax_loss(outputs, neg_max, max, picked)
        }
    }
}

impl Loss {
    /// Every loss.
    pub const ALL: [Loss; 5] = [
        Loss::Svm,
        Loss::Mse,
        Loss::SumSquares,
        Loss::Bce,
        Loss::SoftmaxCe,
    ];

    /// What the sum of a batch's terms is multiplied by: `1/n` for a mean,
    /// nothing for a sum.
    pub(crate) fn scale(self, samples: usize) -> Option<f64> {
        match self {
            Loss::SumSquares => None,
            Loss::Svm | Loss::Mse | Loss::Bce | Loss::SoftmaxCe => Some(1.0 / samples as f64),
        }
    }
}

/// A loss, by name: what `micrograd train --loss` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    /// [`svm`]: two classes, one output.
    Svm,
    /// [`mse`]: regression, one output.
    Mse,
    /// [`sum_squares`]: regression, one output (the lecture's).
    SumSquares,
    /// [`bce_with_logits`]: two classes, one output.
    Bce,
    /// [`softmax_cross_entropy`]: k classes, k outputs.
    SoftmaxCe,
}

impl FromStr for Loss {
    type Err = String;

    fn from_str(s: &str) -> Result<Loss, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "svm" | "hinge" | "max-margin" => Ok(Loss::Svm),
            "mse" => Ok(Loss::Mse),
            "sum-squares" | "sse" => Ok(Loss::SumSquares),
            "bce" => Ok(Loss::Bce),
            "softmax" | "cross-entropy" | "ce" => Ok(Loss::SoftmaxCe),
            _ => Err(format!(
                "unknown loss `{s}` (expected svm, mse, sum-squares, bce or softmax)"
            )),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Loss::Svm => "svm",
            Loss::Mse => "mse",
            Loss::SumSquares => "sum-squares",
            Loss::Bce => "bce",
            Loss::SoftmaxCe => "softmax",
        })
    }
}
