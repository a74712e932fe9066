//! Optimizers (what to do with the gradients) and learning-rate schedules
//! (how large a step to take at step k).

use std::fmt;
use std::str::FromStr;

use crate::engine::{self, Value};

/// Updates parameters from their gradients.
pub trait Optimizer {
    /// One update of every parameter in `params` with learning rate `lr`.
    /// The parameters must be passed in the same order at every step.
    fn step(&mut self, params: &[Value], lr: f64);

    /// The same update with the gradients given in `grads` (one per
    /// parameter), which also become the parameters' gradients: what the
    /// trainer does when a batch's gradients were collected apart.
    fn step_with(&mut self, params: &[Value], grads: &[f64], lr: f64) {
        engine::set_grads(params, grads);
        self.step(params, lr);
    }
}

/// Stochastic gradient descent, `p -= lr * g` (micrograd's update), with
/// optional momentum as PyTorch's `SGD`: `v = μ·v + g`, `p -= lr * v`, and
/// `v = g` on the first step.
#[derive(Clone, Debug, Default)]
pub struct Sgd {
    /// μ; 0 is plain gradient descent.
    pub momentum: f64,
    velocity: Vec<f64>,
}

impl Sgd {
    /// Plain gradient descent, micrograd's `p.data -= learning_rate * p.grad`.
    pub fn new() -> Sgd {
        Sgd::default()
    }

    /// Gradient descent with momentum μ.
    pub fn with_momentum(momentum: f64) -> Sgd {
        Sgd {
            momentum,
            velocity: Vec::new(),
        }
    }
}

impl Sgd {
    /// `p - lr·g`, or with momentum `p - lr·v` and `v = μ·v + g`.
    fn rule(&mut self, params: usize, lr: f64) -> impl FnMut(usize, f64, f64) -> f64 + '_ {
        let first = self.velocity.is_empty();
        if self.momentum != 0.0 {
            self.velocity.resize(params, 0.0);
        }
        let (momentum, velocity) = (self.momentum, &mut self.velocity);
        move |i, p, g| {
            if momentum == 0.0 {
                return p - lr * g;
            }
            let v = &mut velocity[i];
            *v = if first { g } else { momentum * *v + g };
            p - lr * *v
        }
    }
}

impl Sgd {
    /// The update on the parameters' numbers: `after[i]` is what
    /// [`step_with`](Optimizer::step_with) makes of `before[i]`, the same
    /// bits; a vector's work where there is no momentum.
    fn step_numbers(&mut self, before: &[f64], grads: &[f64], lr: f64, after: &mut [f64]) {
        if self.momentum == 0.0 {
            // The rule's plain case, with no branch in the loop.
            for ((after, &p), &g) in after.iter_mut().zip(before).zip(grads) {
                *after = p - lr * g;
            }
            return;
        }
        let mut rule = self.rule(before.len(), lr);
        for (i, ((after, &p), &g)) in after.iter_mut().zip(before).zip(grads).enumerate() {
            *after = rule(i, p, g);
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &[Value], lr: f64) {
        engine::update(params, self.rule(params.len(), lr));
    }

    fn step_with(&mut self, params: &[Value], grads: &[f64], lr: f64) {
        engine::update_with(params, grads, self.rule(params.len(), lr));
    }
}

/// Adam, with PyTorch's formula and defaults (β₁ = 0.9, β₂ = 0.999,
/// ε = 1e-8): `m = m + (1-β₁)(g - m)`, `v = β₂v + (1-β₂)g²`,
/// `p -= lr/(1-β₁ᵗ) · m / (√v/√(1-β₂ᵗ) + ε)`.
#[derive(Clone, Debug)]
pub struct Adam {
    /// β₁, the decay of the gradient's running mean.
    pub beta1: f64,
    /// β₂, the decay of the squared gradient's running mean.
    pub beta2: f64,
    /// ε, added to the denominator.
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Default for Adam {
    fn default() -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }
}

impl Adam {
    /// Adam with PyTorch's defaults.
    pub fn new() -> Adam {
        Adam::default()
    }
}

impl Adam {
    /// PyTorch's update of parameter `i`, one step further.
    fn rule(&mut self, params: usize, lr: f64) -> impl FnMut(usize, f64, f64) -> f64 + '_ {
        self.m.resize(params, 0.0);
        self.v.resize(params, 0.0);
        self.t = self.t.saturating_add(1);
        // torch/optim/adam.py, _single_tensor_adam
        // `beta1 ** step` in Python is C's pow, as f64::powf.
        let bias_correction1 = 1.0 - self.beta1.powf(f64::from(self.t));
        let bias_correction2 = 1.0 - self.beta2.powf(f64::from(self.t));
        let step_size = lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.sqrt();
        let Adam {
            beta1,
            beta2,
            eps,
            m,
            v,
            ..
        } = self;
        move |i, p, g| {
            let (m, v) = (&mut m[i], &mut v[i]);
            *m += (1.0 - *beta1) * (g - *m); // exp_avg.lerp_(grad, 1 - beta1)
            *v = *v * *beta2 + (1.0 - *beta2) * g * g;
            let denom = v.sqrt() / bias_correction2_sqrt + *eps;
            p - step_size * (*m / denom)
        }
    }
}

impl Adam {
    /// The update on the parameters' numbers: `after[i]` is what
    /// [`step_with`](Optimizer::step_with) makes of `before[i]`, the same
    /// bits.
    fn step_numbers(&mut self, before: &[f64], grads: &[f64], lr: f64, after: &mut [f64]) {
        let mut rule = self.rule(before.len(), lr);
        for (i, ((after, &p), &g)) in after.iter_mut().zip(before).zip(grads).enumerate() {
            *after = rule(i, p, g);
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &[Value], lr: f64) {
        engine::update(params, self.rule(params.len(), lr));
    }

    fn step_with(&mut self, params: &[Value], grads: &[f64], lr: f64) {
        engine::update_with(params, grads, self.rule(params.len(), lr));
    }
}

/// Which optimizer to use, by name: what `micrograd train --optimizer`
/// accepts (`sgd`, `momentum`, `adam`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// [`Sgd`] with this momentum (0 for plain).
    Sgd {
        /// μ
        momentum: f64,
    },
    /// [`Adam`] with PyTorch's defaults.
    Adam,
}

impl OptimizerKind {
    /// A fresh optimizer of this kind.
    pub fn build(self) -> Box<dyn Optimizer> {
        match self {
            OptimizerKind::Sgd { momentum } => Box::new(Sgd::with_momentum(momentum)),
            OptimizerKind::Adam => Box::new(Adam::new()),
        }
    }
}

/// A built-in optimizer, as the trainer holds it: it updates the
/// parameters' numbers as well as their values.
pub(crate) enum Update {
    Sgd(Sgd),
    Adam(Adam),
}

impl Update {
    pub(crate) fn of(kind: OptimizerKind) -> Update {
        match kind {
            OptimizerKind::Sgd { momentum } => Update::Sgd(Sgd::with_momentum(momentum)),
            OptimizerKind::Adam => Update::Adam(Adam::new()),
        }
    }

    /// [`Optimizer::step_with`].
    pub(crate) fn step_with(&mut self, params: &[Value], grads: &[f64], lr: f64) {
        match self {
            Update::Sgd(sgd) => sgd.step_with(params, grads, lr),
            Update::Adam(adam) => adam.step_with(params, grads, lr),
        }
    }

    /// The same update on the parameters' numbers (one per parameter, in
    /// the same order at every step): `after[i]` is what `step_with` makes
    /// of a parameter whose number is `before[i]`, the same bits, and the
    /// optimizer's state moves on as it would.
    pub(crate) fn step_numbers(
        &mut self,
        before: &[f64],
        grads: &[f64],
        lr: f64,
        after: &mut [f64],
    ) {
        debug_assert!(before.len() == grads.len() && grads.len() == after.len());
        match self {
            Update::Sgd(sgd) => sgd.step_numbers(before, grads, lr, after),
            Update::Adam(adam) => adam.step_numbers(before, grads, lr, after),
        }
    }
}

impl FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<OptimizerKind, String> {
        match s.to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd { momentum: 0.0 }),
            "momentum" => Ok(OptimizerKind::Sgd { momentum: 0.9 }),
            "adam" => Ok(OptimizerKind::Adam),
            _ => Err(format!(
                "unknown optimizer `{s}` (expected sgd, momentum or adam)"
            )),
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizerKind::Sgd { momentum } if *momentum == 0.0 => f.write_str("sgd"),
            OptimizerKind::Sgd { momentum } => write!(f, "sgd with momentum {momentum}"),
            OptimizerKind::Adam => f.write_str("adam"),
        }
    }
}

/// The learning rate as a function of the step number `k` (from 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The same rate at every step.
    Constant(f64),
    /// `start - decay·k/steps`, and `start - decay` from step `steps` on:
    /// micrograd's demo uses `1.0 - 0.9*k/100` (start 1, decay 0.9, 100
    /// steps).
    Linear {
        /// The rate at step 0.
        start: f64,
        /// How much it falls over `steps` steps.
        decay: f64,
        /// The steps the decay is spread over.
        steps: usize,
    },
    /// Half a cosine from `start` at step 0 to `end` at step `steps`.
    Cosine {
        /// The rate at step 0.
        start: f64,
        /// The rate at step `steps` and after.
        end: f64,
        /// The steps the decay is spread over.
        steps: usize,
    },
}

impl Schedule {
    /// micrograd's demo schedule over `steps` steps: `1.0 - 0.9*k/steps`.
    pub fn micrograd_demo(steps: usize) -> Schedule {
        Schedule::Linear {
            start: 1.0,
            decay: 0.9,
            steps,
        }
    }

    /// The learning rate at step `k`.
    pub fn at(&self, k: usize) -> f64 {
        match *self {
            Schedule::Constant(lr) => lr,
            // Written as the demo's `1.0 - 0.9*k/100`, for the same rounding;
            // from step `steps` on it stays at `start - decay`.
            Schedule::Linear {
                start,
                decay,
                steps,
            } => start - decay * k.min(steps) as f64 / steps.max(1) as f64,
            Schedule::Cosine { start, end, steps } => {
                let progress = (k as f64 / steps.max(1) as f64).min(1.0);
                end + (start - end) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// The rate at step 0.
    pub fn initial(&self) -> f64 {
        self.at(0)
    }

    /// This schedule's shape.
    pub fn shape(&self) -> ScheduleShape {
        match self {
            Schedule::Constant(_) => ScheduleShape::Constant,
            Schedule::Linear { .. } => ScheduleShape::Linear,
            Schedule::Cosine { .. } => ScheduleShape::Cosine,
        }
    }

    /// This schedule changed as a user asks, spread over `steps` steps:
    /// given its own shape and start, or neither, its own numbers exactly
    /// (micrograd's `1.0 - 0.9*k/100`); given another shape or another
    /// start (`lr`), that shape (its own by default) falling from that
    /// start to a tenth of it (linear: `start - 0.9·start·k/steps`;
    /// cosine: to `start / 10`).
    ///
    /// So the schedule decided is decided again, to the bit, by its own
    /// shape and start: a run repeats from its settings as they were
    /// resolved ([`Settings`](crate::train::Settings)).
    pub fn reshaped(self, shape: Option<ScheduleShape>, lr: Option<f64>, steps: usize) -> Schedule {
        // The start as written, not `at(0)`: half a cosine at 0 can be an
        // ulp off it.
        let own = match self {
            Schedule::Constant(start)
            | Schedule::Linear { start, .. }
            | Schedule::Cosine { start, .. } => start,
        };
        let start = lr.unwrap_or(own);
        let shape = shape.unwrap_or(self.shape());
        if shape == self.shape() && start == own {
            return match self {
                Schedule::Constant(_) => self,
                Schedule::Linear { start, decay, .. } => Schedule::Linear {
                    start,
                    decay,
                    steps,
                },
                Schedule::Cosine { start, end, .. } => Schedule::Cosine { start, end, steps },
            };
        }
        match shape {
            ScheduleShape::Constant => Schedule::Constant(start),
            ScheduleShape::Linear => Schedule::Linear {
                start,
                decay: 0.9 * start,
                steps,
            },
            ScheduleShape::Cosine => Schedule::Cosine {
                start,
                end: start / 10.0,
                steps,
            },
        }
    }
}

/// The shape of a [`Schedule`], by name: what `micrograd train --schedule`
/// accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleShape {
    /// [`Schedule::Constant`]
    Constant,
    /// [`Schedule::Linear`]
    Linear,
    /// [`Schedule::Cosine`]
    Cosine,
}

impl ScheduleShape {
    /// Every shape.
    pub const ALL: [ScheduleShape; 3] = [
        ScheduleShape::Constant,
        ScheduleShape::Linear,
        ScheduleShape::Cosine,
    ];
}

impl FromStr for ScheduleShape {
    type Err = String;

    fn from_str(s: &str) -> Result<ScheduleShape, String> {
        ScheduleShape::ALL
            .into_iter()
            .find(|shape| shape.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown schedule `{s}` (expected constant, linear or cosine)"))
    }
}

impl fmt::Display for ScheduleShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScheduleShape::Constant => "constant",
            ScheduleShape::Linear => "linear",
            ScheduleShape::Cosine => "cosine",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{OptimizerKind, Update};
    use crate::engine::{self, Scope, Value};

    #[test]
    fn an_update_on_numbers_is_the_update_on_values_step_after_step() {
        for kind in [
            OptimizerKind::Sgd { momentum: 0.0 },
            OptimizerKind::Sgd { momentum: 0.9 },
            OptimizerKind::Adam,
        ] {
            let _graph = Scope::new();
            let start: Vec<f64> = (0..37).map(|i| (f64::from(i) * 0.7).sin() * 3.0).collect();
            let values: Vec<Value> = start.iter().map(|&p| Value::new(p)).collect();
            let mut numbers = start.clone();
            let (mut on_values, mut on_numbers) = (Update::of(kind), Update::of(kind));
            let mut after = vec![0.0; numbers.len()];
            for step in 0..5 {
                let grads: Vec<f64> = numbers
                    .iter()
                    .enumerate()
                    .map(|(i, p)| p * 0.3 - f64::from(i as u32 + step) / 7.0)
                    .collect();
                let lr = 0.1 / f64::from(step + 1);
                on_values.step_with(&values, &grads, lr);
                on_numbers.step_numbers(&numbers, &grads, lr, &mut after);
                std::mem::swap(&mut numbers, &mut after);
                let mut read = Vec::new();
                engine::read_data(&values, &mut read);
                for (i, (a, b)) in read.iter().zip(&numbers).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "{kind}, step {step}, parameter {i}"
                    );
                }
                assert!(numbers.iter().zip(&start).any(|(a, b)| a != b), "{kind}");
            }
        }
    }
}
