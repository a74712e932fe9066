//! Why a step stopped: the first op of its graph whose result left the
//! real numbers, or the first gradient or updated parameter that is not a
//! number, said in words, with the likely cause judged from the run's
//! losses so far.

use crate::engine::{self, Anomaly, Op, Value};
use crate::error::{Error, Result};

use super::{Batching, Trainer, batched_step};

impl Trainer<'_> {
    /// The loss, if it is a number; else the error that says where it
    /// stopped being one: the first op of the batch `order[start..]`'s
    /// graph that made a NaN or an infinity. The per-point graph is the
    /// step's own (`total`); the lanes path looks again at its chunks one
    /// at a time, as a step builds them, so the search takes no more memory
    /// than the step did.
    pub(super) fn check(&mut self, total: Value, start: usize) -> Result<f64> {
        let loss = total.data();
        if loss.is_finite() {
            return Ok(loss);
        }
        let anomaly = match self.config.batching {
            Batching::PerPoint => total.check_finite().err(),
            Batching::Lanes | Batching::Replay | Batching::Fused => {
                let step = batched_step::Step {
                    data: self.data,
                    batch: &self.order[start..],
                    targets: &self.targets,
                    loss: self.config.loss,
                    task: &self.task,
                };
                // Every point's loss is finite but not their sum: the sum
                // overflowed. Else the penalty did, on `total`'s graph.
                let scratch = &mut self.scratch;
                batched_step::first_anomaly(&step, self.model, &mut scratch.lanes).or_else(|| {
                    let sum = scratch.sums.losses.iter().copied().reduce(|a, b| a + b);
                    match sum {
                        Some(sum) if !sum.is_finite() => None,
                        _ => total.check_finite().err(),
                    }
                })
            }
        };
        let origin = match anomaly.as_deref() {
            // A neuron's or a sum's operands are too many to list.
            Some(Anomaly { op, operands, .. })
                if !operands.is_empty()
                    && !matches!(op, Op::Affine | Op::Sum | Op::SumSquares | Op::SumLanes) =>
            {
                let shown: Vec<String> = operands.iter().map(|x| format!("{x:?}")).collect();
                format!(
                    " (first made by {} of {}: ",
                    op_words(*op),
                    shown.join(", ")
                )
            }
            Some(Anomaly { op, .. }) => format!(" (first made by {}: ", op_words(*op)),
            None => " (first made by the sum of the points' losses: ".to_owned(),
        };
        Err(self.diverged(format!(
            "the loss is {loss:?}{origin}{})",
            self.likely_cause()
        )))
    }

    /// Every gradient of the step, if each is a number.
    pub(super) fn check_gradients(&self) -> Result<()> {
        let p = self.params.len();
        let grads = &self.scratch.sums.grads[..p];
        if all_finite(grads) {
            return Ok(());
        }
        match grads.iter().position(|g| !g.is_finite()) {
            None => Ok(()),
            Some(i) => Err(self.diverged(format!(
                "the gradient of {} is {:?} ({})",
                self.parameter_name(i),
                grads[i],
                self.likely_cause()
            ))),
        }
    }

    /// Every parameter after the update, if each is a number; else the
    /// parameters before it are put back.
    pub(super) fn check_update(&mut self, lr: f64) -> Result<()> {
        let first_non_finite = match self.run {
            Some(first) => engine::first_non_finite_in_run(first, self.params.len()),
            None => engine::first_non_finite(&self.params),
        };
        let Some(i) = first_non_finite else {
            return Ok(());
        };
        let now = self.params[i].data();
        engine::write_data(&self.params, &self.scratch.before);
        Err(self.bad_update(i, now, lr))
    }

    /// Every number of an update worked out on the numbers (in the
    /// scratch's `snapshot`, from those in its `before`), if each is one;
    /// the model, not yet written, stays as it was.
    pub(super) fn check_update_numbers(&self, lr: f64) -> Result<()> {
        let after = &self.scratch.snapshot;
        if all_finite(after) {
            return Ok(());
        }
        match after.iter().position(|p| !p.is_finite()) {
            None => Ok(()),
            Some(i) => Err(self.bad_update(i, after[i], lr)),
        }
    }

    /// The update made parameter `i` `now`, not a number.
    fn bad_update(&self, i: usize, now: f64, lr: f64) -> Error {
        self.diverged(format!(
            "the update made {} {now:?} (it was {:?}, its gradient {:?}, the learning rate {lr:?}): \
             the learning rate is too large for these gradients; try a smaller one",
            self.parameter_name(i),
            self.scratch.before[i],
            self.scratch.sums.grads[i],
        ))
    }

    /// Why the run left the real numbers, judged from its losses so far.
    pub(super) fn likely_cause(&self) -> String {
        self.course.likely_cause(self.step)
    }

    fn parameter_name(&self, i: usize) -> String {
        self.model
            .parameter_name(i)
            .unwrap_or_else(|| format!("parameter {i}"))
    }

    pub(super) fn diverged(&self, message: String) -> Error {
        Error::Diverged {
            step: self.step,
            message,
        }
    }

    /// Checks the model's outputs on every sample of the data: a step
    /// checks the loss, the gradients and the updated parameters, but an
    /// update can leave finite parameters whose outputs are not (weights
    /// near 1e308). Call it before keeping a model.
    ///
    /// # Errors
    ///
    /// [`Error::Diverged`] naming the first sample whose outputs are NaN
    /// or infinite.
    pub fn check_model(&self) -> Result<()> {
        let weights = self.model.weights();
        for (i, x) in self.data.x.iter().enumerate() {
            let outputs = weights.predict(x);
            if outputs.iter().any(|y| !y.is_finite()) {
                let largest = weights
                    .layers
                    .iter()
                    .flat_map(|l| l.w.iter().flatten().chain(&l.b))
                    .fold(0.0f64, |m, w| m.max(w.abs()));
                let shown: Vec<String> = outputs.iter().map(|y| format!("{y:?}")).collect();
                return Err(self.diverged(format!(
                    "the model's output for sample {} is [{}] (its largest weight is {largest:e}): {}",
                    i + 1,
                    shown.join(", "),
                    self.likely_cause()
                )));
            }
        }
        Ok(())
    }
}

/// The run's losses so far, to tell why it left the real numbers.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Course {
    /// The first step's loss.
    first: Option<f64>,
    /// The latest step's loss.
    last: Option<f64>,
}

impl Course {
    /// A step's loss, taken.
    pub(super) fn record(&mut self, loss: f64) {
        self.first.get_or_insert(loss);
        self.last = Some(loss);
    }

    /// Why a run leaves the real numbers after `steps` steps.
    fn likely_cause(&self, steps: usize) -> String {
        match (self.first, self.last) {
            (Some(first), Some(last)) if last > 10.0 * first => format!(
                "the loss grew from {first:?} at step 0 to {last:?} at step {}: \
                 the learning rate is too large; try a smaller one",
                steps - 1
            ),
            (Some(_), Some(_)) => {
                "the learning rate is probably too large; try a smaller one".into()
            }
            _ => "before any update: the data or the initial weights are too large for the model; \
                  scale the features, or try a smaller learning rate"
                .into(),
        }
    }
}

/// An op in a sentence: `log`, `exp`, `**2`, `the product`.
fn op_words(op: Op) -> String {
    match op {
        Op::Add | Op::Sum => "a sum".into(),
        Op::SumLanes => "the sum over the points".into(),
        Op::Mul => "a product".into(),
        Op::Affine => "a neuron's weighted sum".into(),
        Op::SumSquares => "a sum of squares".into(),
        Op::Leaf => "an input".into(),
        op => format!("`{op}`"),
    }
}

/// Whether every number of `xs` is finite: `x·0` is 0 for a finite `x`
/// and NaN for an infinity or a NaN, and sums of them, in eight running
/// sums (a vector's work, with no branch a number), are NaN if one is.
fn all_finite(xs: &[f64]) -> bool {
    let mut sums = [0.0_f64; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (sum, &x) in sums.iter_mut().zip(chunk) {
            *sum += x * 0.0;
        }
    }
    for (sum, &x) in sums.iter_mut().zip(chunks.remainder()) {
        *sum += x * 0.0;
    }
    sums.iter().all(|s| *s == 0.0)
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    #[test]
    fn all_finite_finds_any_infinity_or_nan_anywhere() {
        let mut xs: Vec<f64> = (0..29).map(|i| f64::from(i) * 1e300 - 1e301).collect();
        xs.push(f64::MAX);
        xs.push(-f64::MIN_POSITIVE / 4.0);
        assert!(all_finite(&xs));
        assert!(all_finite(&[]));
        for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            for at in 0..xs.len() {
                let mut ys = xs.clone();
                ys[at] = bad;
                assert!(!all_finite(&ys), "{bad} at {at}");
            }
        }
    }
}
