//! micrograd's demo training step node for node, recorded once and
//! replayed: with the engine's [`Recording`] (its nodes recomputed in place
//! by their rules, then `backward`), and on the flat tape (its ops run
//! again over the same slots, then its sweep), the baseline. Full batch, so
//! each step's inputs are the first's: both replay the same graph.

use micrograd::{Recording, Value};

use crate::flat_tape::{self, FlatParams, FlatTape, Op, demo_loss as flat_demo_loss};
use crate::values::{Params, demo_loss, descend};

/// The demo's step on the engine, recorded on the first call of
/// [`step`](Engine::step) and replayed on the next ones.
pub struct Engine<'p, F> {
    params: &'p Params,
    recording: Recording<F>,
}

/// The engine's replayed step over `params`, `x` and `y`.
pub fn engine<'p>(
    params: &'p Params,
    x: &'p [Vec<f64>],
    y: &'p [f64],
) -> Engine<'p, impl FnMut(&[Value]) -> Value + 'p> {
    Engine {
        params,
        recording: Recording::new(move |_: &[Value]| demo_loss(params, x, y)),
    }
}

impl<F: FnMut(&[Value]) -> Value> Engine<'_, F> {
    /// One step: the loss (replayed), zero, backward, SGD update. Returns
    /// the loss.
    pub fn step(&mut self, lr: f64) -> f64 {
        let root = self.recording.call(&[]);
        descend(self.params, root, lr)
    }

    /// How many times the loss was traced (once, if it replays).
    pub fn traces(&self) -> usize {
        self.recording.traces()
    }
}

/// The demo's step on the flat tape, recorded once: the parameters at
/// `..base`, the loss's nodes at `base..=root`.
pub struct Flat {
    base: usize,
    root: u32,
}

impl Flat {
    /// Records the loss once after the parameters.
    pub fn record(tape: &mut FlatTape, params: &FlatParams, x: &[Vec<f64>], y: &[f64]) -> Flat {
        let base = tape.len();
        let root = flat_demo_loss(tape, params, x, y);
        Flat { base, root }
    }

    /// One step: the loss's ops run again from the parameters as they are,
    /// zero, backward, SGD update. Returns the loss.
    pub fn step(&self, tape: &mut FlatTape, lr: f64) -> f64 {
        let (base, root) = (self.base, self.root as usize);
        for i in base..=root {
            let x = |j: u32| tape.data[j as usize];
            tape.data[i] = match tape.ops[i] {
                Op::Leaf => continue,
                Op::Add(a, b) => x(a) + x(b),
                Op::Mul(a, b) => x(a) * x(b),
                Op::Relu(a) => x(a).max(0.0),
            };
        }
        flat_tape::descend(tape, base, self.root, lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat_tape::{self, flat_params};
    use crate::values;

    fn layers() -> Vec<Vec<(Vec<f64>, f64)>> {
        let number = |i: usize| ((i * 37 % 101) as f64 / 101.0 - 0.5) * 1.5;
        let mut i = 0;
        let mut next = || {
            i += 1;
            number(i)
        };
        [(2, 5), (5, 4), (4, 1)]
            .iter()
            .map(|&(nin, nout)| {
                (0..nout)
                    .map(|_| ((0..nin).map(|_| next()).collect(), next()))
                    .collect()
            })
            .collect()
    }

    fn points() -> (Vec<Vec<f64>>, Vec<f64>) {
        let x = (0..9)
            .map(|i| vec![(i as f64 * 0.37).sin(), (i as f64 * 0.91).cos()])
            .collect();
        let y = (0..9)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        (x, y)
    }

    #[test]
    fn replayed_steps_are_the_built_steps_bit_for_bit() {
        let (x, y) = points();
        let built = values::params(&layers());
        let replayed = values::params(&layers());
        let mut engine = engine(&replayed, &x, &y);
        let mut tape = FlatTape::default();
        let flat = flat_params(&mut tape, &layers());
        let mut built_tape = FlatTape::default();
        let built_flat = flat_params(&mut built_tape, &layers());
        let recorded = Flat::record(&mut tape, &flat, &x, &y);
        for step in 0..6 {
            let want = values::demo_step(&built, &x, &y, 0.1);
            assert_eq!(
                engine.step(0.1).to_bits(),
                want.to_bits(),
                "engine, step {step}"
            );
            let (want, _) = flat_tape::demo_step(&mut built_tape, &built_flat, &x, &y, 0.1);
            assert_eq!(
                recorded.step(&mut tape, 0.1).to_bits(),
                want.to_bits(),
                "flat, step {step}"
            );
        }
        assert_eq!(engine.traces(), 1, "the engine's loss is traced once");
    }
}
