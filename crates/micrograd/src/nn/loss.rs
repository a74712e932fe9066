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
    total(Loss::Svm, scores, Read::Values(y), 1)
}

/// The lecture's loss: `Σ (predᵢ - yᵢ)²`, as
/// `sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))`.
///
/// # Panics
///
/// If the predictions and targets differ in number.
pub fn sum_squares(pred: &[Value], y: &[f64]) -> Value {
    total(Loss::SumSquares, pred, Read::Values(y), 1)
}

/// Mean squared error, `mean((predᵢ - yᵢ)²)` (PyTorch's `MSELoss`).
///
/// # Panics
///
/// If the predictions and targets differ in number or there are none.
pub fn mse(pred: &[Value], y: &[f64]) -> Value {
    total(Loss::Mse, pred, Read::Values(y), 1)
}

/// Binary cross-entropy on logits, `mean(softplus(zᵢ) - yᵢ·zᵢ)` for labels
/// in {0, 1} (PyTorch's `BCEWithLogitsLoss`), with the stable
/// [`softplus`](Value::softplus); its derivative is `σ(z) - y`.
///
/// # Panics
///
/// If the logits and labels differ in number or there are none.
pub fn bce_with_logits(logits: &[Value], y: &[f64]) -> Value {
    total(Loss::Bce, logits, Read::Values(y), 1)
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
    total(Loss::SoftmaxCe, logits, Read::Classes(classes), k)
}

/// The L2 penalty `Σ p²` (micrograd's demo adds `1e-4 * sum((p*p for p in
/// model.parameters()))`), as one [`sum_squares`](Value::sum_squares) node
/// with micrograd's numbers.
pub fn l2(params: &[Value]) -> Value {
    Value::sum_squares(params)
}

/// The L1 penalty `Σ |p|`, as one [`affine`](Value::affine) node
/// `0 + Σ sign(pᵢ)·pᵢ` whose weights are the signs, taken as constants:
/// its value is `Σ |pᵢ|` exactly (a sign times a number is its absolute
/// value), and its derivative is `sign(pᵢ)`, 0 where `pᵢ` is 0 (the
/// subgradient PyTorch's `abs` takes there). The engine has no `abs`;
/// `relu(p) + relu(-p)` would give the same numbers (ReLU's derivative at 0
/// is 0) at five nodes a parameter.
///
/// ```
/// use micrograd::Value;
/// use micrograd::nn::loss;
/// let p = [Value::new(3.0), Value::new(-2.0), Value::new(0.0)];
/// let l1 = loss::l1(&p);
/// l1.backward();
/// assert_eq!(l1.data(), 5.0);
/// assert_eq!((p[0].grad(), p[1].grad(), p[2].grad()), (1.0, -1.0, 0.0));
/// ```
pub fn l1(params: &[Value]) -> Value {
    l1_with(params, &mut Vec::new())
}

/// [`l1`] with the signs' leaves made in `signs`, kept from step to step.
pub(crate) fn l1_with(params: &[Value], signs: &mut Vec<Value>) -> Value {
    signs.clear();
    signs.extend(params.iter().map(|p| {
        let p = p.data();
        Value::new(if p > 0.0 {
            1.0
        } else if p < 0.0 {
            -1.0
        } else {
            0.0
        })
    }));
    Value::affine(signs, params, Value::new(0.0))
}

/// What a loss compares each sample's outputs with: a class, or a number.
///
/// ```
/// use micrograd::nn::{Loss, loss::Targets};
/// use micrograd::Value;
/// // Class 1 of two, scored by one output, is micrograd's label +1.
/// let score = [Value::new(0.25)];
/// let by_class = Loss::Svm.of(&score, &Targets::Classes(vec![1]));
/// let by_label = Loss::Svm.of(&score, &Targets::Values(vec![1.0]));
/// assert_eq!(by_class.data(), by_label.data()); // relu(1 - 0.25)
/// assert_eq!(by_class.data(), 0.75);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Each sample's class, by its index among the classes. Two classes
    /// scored by one output are read as -1 (class 0) and +1 (class 1) by
    /// the SVM loss and the squared errors, as 0 and 1 by binary
    /// cross-entropy; `k` classes scored by `k` outputs (softmax) as the
    /// output that scores each.
    Classes(Vec<usize>),
    /// Each sample's number as the loss reads it: a regression's value (or
    /// a label given as a number, as the functions of this module take
    /// them).
    Values(Vec<f64>),
}

impl Targets {
    /// How many samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(y) => y.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class of each sample, if these are classes.
    pub fn classes(&self) -> Option<&[usize]> {
        match self {
            Targets::Classes(c) => Some(c),
            Targets::Values(_) => None,
        }
    }

    /// The targets of the samples `indices`, in that order, into `batch`
    /// (whose buffer is reused when it holds the same kind).
    pub(crate) fn gather_into(&self, indices: &[usize], batch: &mut Targets) {
        match (self, batch) {
            (Targets::Classes(all), Targets::Classes(some)) => {
                some.clear();
                some.extend(indices.iter().map(|&i| all[i]));
            }
            (Targets::Values(all), Targets::Values(some)) => {
                some.clear();
                some.extend(indices.iter().map(|&i| all[i]));
            }
            (Targets::Classes(_), batch) => {
                *batch = Targets::Classes(Vec::new());
                self.gather_into(indices, batch);
            }
            (Targets::Values(_), batch) => {
                *batch = Targets::Values(Vec::new());
                self.gather_into(indices, batch);
            }
        }
    }

    pub(crate) fn read(&self) -> Read<'_> {
        match self {
            Targets::Classes(c) => Read::Classes(c),
            Targets::Values(y) => Read::Values(y),
        }
    }
}

impl Default for Targets {
    /// No values.
    fn default() -> Targets {
        Targets::Values(Vec::new())
    }
}

/// Targets as a loss reads them, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Read<'a> {
    Classes(&'a [usize]),
    Values(&'a [f64]),
}

impl Read<'_> {
    fn len(self) -> usize {
        match self {
            Read::Classes(c) => c.len(),
            Read::Values(y) => y.len(),
        }
    }

    /// Sample `i`'s target as `loss` reads it, a number.
    fn number(self, loss: Loss, i: usize) -> f64 {
        match self {
            Read::Classes(c) => class_number(class_numbers(loss), loss, c[i]),
            Read::Values(y) => y[i],
        }
    }
}

/// The numbers `loss` reads classes 0 and 1 of two as: micrograd's labels
/// -1 and +1 for the SVM loss and the squared errors, 0 and 1 for binary
/// cross-entropy.
///
/// # Panics
///
/// For softmax, which reads the class itself.
fn class_numbers(loss: Loss) -> [f64; 2] {
    match loss {
        Loss::Svm | Loss::Mse | Loss::SumSquares => [-1.0, 1.0],
        Loss::Bce => [0.0, 1.0],
        Loss::SoftmaxCe => softmax_needs_classes(),
    }
}

/// The number of class `class` among `numbers`, the two a loss reads.
///
/// # Panics
///
/// For a class other than 0 and 1.
#[inline]
fn class_number(numbers: [f64; 2], loss: Loss, class: usize) -> f64 {
    match numbers.get(class) {
        Some(&y) => y,
        None => not_binary(loss, class),
    }
}

#[cold]
fn not_binary(loss: Loss, class: usize) -> ! {
    panic!(
        "micrograd: the {loss} loss scores two classes, 0 and 1, with one output; not class {class}"
    )
}

/// The whole loss of `outputs` (`k` per sample, or `k` batches) against
/// `targets`: each sample's term, summed, times [`Loss::scale`].
fn total(loss: Loss, outputs: &[Value], targets: Read<'_>, k: usize) -> Value {
    let n = targets.len();
    if loss == Loss::SumSquares && outputs.is_empty() && n == 0 {
        return Value::new(0.0);
    }
    let sum = match layout(outputs, n, k) {
        Layout::PerPoint => match (loss, targets) {
            (Loss::Svm, _) => (0..n)
                .map(|i| hinge(outputs[i], Value::new(-targets.number(loss, i))))
                .sum(),
            (Loss::Mse | Loss::SumSquares, _) => (0..n)
                .map(|i| square_error(outputs[i], Value::new(-targets.number(loss, i))))
                .sum(),
            (Loss::Bce, _) => (0..n)
                .map(|i| cross_entropy(outputs[i], Value::new(targets.number(loss, i))))
                .sum(),
            (Loss::SoftmaxCe, Read::Classes(classes)) => outputs
                .chunks_exact(k)
                .zip(classes)
                .map(|(z, &class)| {
                    let max = z.iter().map(|v| v.data()).fold(f64::NEG_INFINITY, f64::max);
                    log_softmax_loss(z, Value::new(-max), Value::new(max), z[class])
                })
                .sum(),
            (Loss::SoftmaxCe, Read::Values(_)) => softmax_needs_classes(),
        },
        Layout::Lanes => {
            lane_terms(loss, outputs, targets, &mut LossScratch::default()).sum_lanes()
        }
    };
    match loss.scale(n) {
        Some(scale) => sum * scale,
        None => sum,
    }
}

fn softmax_needs_classes() -> ! {
    panic!("micrograd: the softmax loss reads each sample's class, not a number")
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
/// holds one batch per model output, `targets` one target per lane. The
/// loss is their sum over the lanes (times [`Loss::scale`]).
///
/// # Panics
///
/// As [`Loss::of`], for targets the loss cannot read.
pub(crate) fn lane_terms(
    loss: Loss,
    outputs: &[Value],
    targets: Read<'_>,
    scratch: &mut LossScratch,
) -> Value {
    let LossScratch {
        lanes,
        more,
        values,
    } = scratch;
    match loss {
        Loss::Svm => hinge(outputs[0], numbers(loss, targets, Sign::Negated, lanes)),
        Loss::Mse | Loss::SumSquares => {
            square_error(outputs[0], numbers(loss, targets, Sign::Negated, lanes))
        }
        Loss::Bce => cross_entropy(outputs[0], numbers(loss, targets, Sign::Kept, lanes)),
        Loss::SoftmaxCe => {
            let Read::Classes(classes) = targets else {
                softmax_needs_classes()
            };
            // Each lane's largest logit, a constant (as `max` per sample).
            lanes.clear();
            lanes.resize(classes.len(), f64::NEG_INFINITY);
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
                lanes.extend(classes.iter().map(|&c| f64::from(u8::from(c == j))));
                values.push(z * Value::batch(lanes));
            }
            let picked: Value = values.iter().sum();
            log_softmax_loss(outputs, neg_max, max, picked)
        }
    }
}

/// Whether a batch of targets is taken as it is or negated.
#[derive(Clone, Copy)]
pub(crate) enum Sign {
    Kept,
    Negated,
}

/// Each lane's target as `loss` reads it (`-y`, negated), as a batch.
fn numbers(loss: Loss, targets: Read<'_>, sign: Sign, lanes: &mut Vec<f64>) -> Value {
    target_numbers(loss, targets, sign, lanes);
    Value::batch(lanes)
}

/// Each lane's target as `loss` reads it (`-y`, negated), into `lanes`:
/// the numbers of [`numbers`]' batch, for a replayed step.
pub(crate) fn target_numbers(loss: Loss, targets: Read<'_>, sign: Sign, lanes: &mut Vec<f64>) {
    lanes.clear();
    match (targets, sign) {
        (Read::Values(y), Sign::Kept) => lanes.extend_from_slice(y),
        (Read::Values(y), Sign::Negated) => lanes.extend(y.iter().map(|&y| -y)),
        (Read::Classes(c), Sign::Kept) => {
            let numbers = class_numbers(loss);
            lanes.extend(c.iter().map(|&c| class_number(numbers, loss, c)));
        }
        (Read::Classes(c), Sign::Negated) => {
            let [lo, hi] = class_numbers(loss);
            let numbers = [-lo, -hi];
            lanes.extend(c.iter().map(|&c| class_number(numbers, loss, c)));
        }
    }
}

impl Loss {
    /// This loss of `outputs` against `targets`: each sample's term,
    /// summed, and for a mean times `1/n`; the graph a training step
    /// builds for its batch, the L2 penalty aside. `outputs` holds each
    /// sample's outputs one after the other (one for every loss but
    /// softmax, one per class for softmax), or one batch per output, a lane
    /// per sample.
    ///
    /// ```
    /// use micrograd::nn::{Loss, loss::{self, Targets}};
    /// use micrograd::Value;
    /// let logits = [Value::new(0.0), Value::new(2.0), Value::new(2.0), Value::new(0.0)];
    /// let classes = vec![1, 1];
    /// let by_loss = Loss::SoftmaxCe.of(&logits, &Targets::Classes(classes.clone()));
    /// let by_function = loss::softmax_cross_entropy(&logits, &classes, 2);
    /// assert_eq!(by_loss.data(), by_function.data());
    /// ```
    ///
    /// # Panics
    ///
    /// If the outputs and targets differ in number or there are none (but
    /// for the sum of squares, whose loss of nothing is 0); if softmax is
    /// given values, not classes, or a class not below its outputs per
    /// sample; if another loss is given a class other than 0 and 1.
    pub fn of(self, outputs: &[Value], targets: &Targets) -> Value {
        match (self, targets) {
            (Loss::SoftmaxCe, Targets::Classes(classes)) => {
                let k = match outputs.first() {
                    Some(first) if first.is_batch() => outputs.len(),
                    _ => outputs.len() / classes.len().max(1),
                };
                softmax_cross_entropy(outputs, classes, k)
            }
            (Loss::SoftmaxCe, Targets::Values(_)) => softmax_needs_classes(),
            (Loss::Svm | Loss::Mse | Loss::SumSquares | Loss::Bce, _) => {
                total(self, outputs, targets.read(), 1)
            }
        }
    }

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
