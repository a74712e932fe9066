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
/// # Panics
///
/// If the slices differ in length or are empty.
pub fn svm(scores: &[Value], y: &[f64]) -> Value {
    check_lengths(scores.len(), y.len());
    let losses = scores.iter().zip(y).map(|(&s, &yi)| (1.0 + -yi * s).relu());
    losses.sum::<Value>() * (1.0 / scores.len() as f64)
}

/// The lecture's loss: `Σ (predᵢ - yᵢ)²`, as
/// `sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))`.
///
/// # Panics
///
/// If the slices differ in length.
pub fn sum_squares(pred: &[Value], y: &[f64]) -> Value {
    assert_eq!(pred.len(), y.len(), "micrograd: one target per prediction");
    pred.iter().zip(y).map(|(&p, &yi)| (p - yi).powf(2.0)).sum()
}

/// Mean squared error, `mean((predᵢ - yᵢ)²)` (PyTorch's `MSELoss`).
///
/// # Panics
///
/// If the slices differ in length or are empty.
pub fn mse(pred: &[Value], y: &[f64]) -> Value {
    check_lengths(pred.len(), y.len());
    sum_squares(pred, y) * (1.0 / pred.len() as f64)
}

/// Binary cross-entropy on logits, `mean(softplus(zᵢ) - yᵢ·zᵢ)` for labels
/// in {0, 1} (PyTorch's `BCEWithLogitsLoss`). `softplus(z) = ln(1 + e^z)` is
/// built as `z + ln(1 + e^-z)` for positive `z`, so it never overflows;
/// either form has the exact derivative `σ(z) - y`.
///
/// # Panics
///
/// If the slices differ in length or are empty.
pub fn bce_with_logits(logits: &[Value], y: &[f64]) -> Value {
    check_lengths(logits.len(), y.len());
    let losses = logits.iter().zip(y).map(|(&z, &yi)| {
        let softplus = if z.data() > 0.0 {
            z + (1.0 + (-z).exp()).ln()
        } else {
            (1.0 + z.exp()).ln()
        };
        softplus - z * yi
    });
    losses.sum::<Value>() * (1.0 / logits.len() as f64)
}

/// Softmax cross-entropy over `k` classes, `mean(logsumexp(zᵢ) - zᵢ[cᵢ])`
/// (PyTorch's `CrossEntropyLoss`), with `logits` holding `k` numbers per
/// sample, one after the other, and `classes` each sample's class in
/// `0..k`. The log-sum-exp subtracts each sample's largest logit (a
/// constant, whose gradient would cancel) so `exp` never overflows.
///
/// # Panics
///
/// If `k` is 0, `logits.len()` is not `k` times `classes.len()`, there are
/// no samples, or a class is not below `k`.
pub fn softmax_cross_entropy(logits: &[Value], classes: &[usize], k: usize) -> Value {
    assert!(k > 0, "micrograd: softmax needs at least one class");
    check_lengths(logits.len(), classes.len() * k);
    let losses = logits.chunks_exact(k).zip(classes).map(|(z, &class)| {
        assert!(
            class < k,
            "micrograd: class {class} is not below the number of classes, {k}"
        );
        let max = z.iter().map(|v| v.data()).fold(f64::NEG_INFINITY, f64::max);
        let sum_exp: Value = z.iter().map(|&zj| (zj - max).exp()).sum();
        sum_exp.ln() + max - z[class]
    });
    losses.sum::<Value>() * (1.0 / classes.len() as f64)
}

/// The L2 penalty `Σ p²` (micrograd's demo adds `1e-4 * sum((p*p for p in
/// model.parameters()))`).
pub fn l2(params: &[Value]) -> Value {
    params.iter().map(|&p| p * p).sum()
}

fn check_lengths(outputs: usize, targets: usize) {
    assert_eq!(outputs, targets, "micrograd: one target per output");
    assert!(outputs > 0, "micrograd: a loss needs at least one sample");
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
