//! The baseline the engine is measured against: a flat tape of `Vec<f64>`
//! with `u32` operand indices, no handles, no checks, no thread-local, as
//! small as a compiled tape gets; and on it, micrograd's demo training step
//! node for node (each neuron a chain of binary `*` and `+`, every constant
//! a leaf), so its node count is micrograd's.
//!
//! Shared by `micrograd bench` and `cargo bench` (crates/bench/benches/engine).

#![allow(dead_code)] // each user takes what it needs

#[derive(Clone, Copy)]
pub enum Op {
    Leaf,
    Add(u32, u32),
    Mul(u32, u32),
    Relu(u32),
}

#[derive(Default)]
pub struct FlatTape {
    pub data: Vec<f64>,
    pub grad: Vec<f64>,
    pub ops: Vec<Op>,
}

impl FlatTape {
    #[inline]
    fn push(&mut self, data: f64, op: Op) -> u32 {
        self.data.push(data);
        self.grad.push(0.0);
        self.ops.push(op);
        (self.data.len() - 1) as u32
    }

    pub fn leaf(&mut self, x: f64) -> u32 {
        self.push(x, Op::Leaf)
    }

    pub fn add(&mut self, a: u32, b: u32) -> u32 {
        let x = self.data[a as usize] + self.data[b as usize];
        self.push(x, Op::Add(a, b))
    }

    pub fn mul(&mut self, a: u32, b: u32) -> u32 {
        let x = self.data[a as usize] * self.data[b as usize];
        self.push(x, Op::Mul(a, b))
    }

    pub fn relu(&mut self, a: u32) -> u32 {
        let x = self.data[a as usize].max(0.0);
        self.push(x, Op::Relu(a))
    }

    /// The nodes recorded so far.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no node has been recorded.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Zeroes every gradient from `from` on, seeds `root`, and sweeps back.
    pub fn backward(&mut self, from: usize, root: u32) {
        self.grad[from..].iter_mut().for_each(|g| *g = 0.0);
        self.grad[root as usize] = 1.0;
        for i in (from..=root as usize).rev() {
            let g = self.grad[i];
            match self.ops[i] {
                Op::Leaf => {}
                Op::Add(a, b) => {
                    self.grad[a as usize] += g;
                    self.grad[b as usize] += g;
                }
                Op::Mul(a, b) => {
                    self.grad[a as usize] += self.data[b as usize] * g;
                    self.grad[b as usize] += self.data[a as usize] * g;
                }
                Op::Relu(a) => {
                    if self.data[i] > 0.0 {
                        self.grad[a as usize] += g;
                    }
                }
            }
        }
    }

    pub fn truncate(&mut self, len: usize) {
        self.data.truncate(len);
        self.grad.truncate(len);
        self.ops.truncate(len);
    }
}

/// An MLP's parameters on a flat tape: `layers[l][n] = (weights, bias)`.
pub type FlatParams = Vec<Vec<(Vec<u32>, u32)>>;

/// Puts the parameters on the tape, first, as leaves.
pub fn flat_params(tape: &mut FlatTape, layers: &[Vec<(Vec<f64>, f64)>]) -> FlatParams {
    layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|(w, b)| (w.iter().map(|&x| tape.leaf(x)).collect(), tape.leaf(*b)))
                .collect()
        })
        .collect()
}

/// micrograd's demo loss on the flat tape, node for node: ReLU hidden
/// layers, a linear output, `mean(relu(1 - y*score)) + 1e-4 * sum(p*p)`.
pub fn demo_loss(tape: &mut FlatTape, params: &FlatParams, x: &[Vec<f64>], y: &[f64]) -> u32 {
    let last = params.len() - 1;
    let mut losses = Vec::with_capacity(x.len());
    let mut acts = Vec::new();
    let mut next = Vec::new();
    for (p, &yi) in x.iter().zip(y) {
        acts.clear();
        acts.extend(p.iter().map(|&v| tape.leaf(v)));
        for (l, layer) in params.iter().enumerate() {
            next.clear();
            for (w, b) in layer {
                let mut act = *b;
                for (&wi, &xi) in w.iter().zip(&acts) {
                    let prod = tape.mul(wi, xi);
                    act = tape.add(act, prod);
                }
                next.push(if l == last { act } else { tape.relu(act) });
            }
            std::mem::swap(&mut acts, &mut next);
        }
        let minus_y = tape.leaf(-yi);
        let margin = tape.mul(acts[0], minus_y);
        let one = tape.leaf(1.0);
        let margin = tape.add(margin, one);
        losses.push(tape.relu(margin));
    }
    let mut sum = tape.leaf(0.0);
    for &l in &losses {
        sum = tape.add(sum, l);
    }
    let scale = tape.leaf(1.0 / losses.len() as f64);
    let data_loss = tape.mul(sum, scale);
    let mut reg = tape.leaf(0.0);
    for layer in params {
        for (w, b) in layer {
            for &p in w.iter().chain([b]) {
                let sq = tape.mul(p, p);
                reg = tape.add(reg, sq);
            }
        }
    }
    let alpha = tape.leaf(1e-4);
    let reg_loss = tape.mul(reg, alpha);
    tape.add(data_loss, reg_loss)
}

/// One full training step of the demo on the flat tape: build, backward,
/// SGD update, free. Returns the loss and the nodes the step built.
pub fn demo_step(
    tape: &mut FlatTape,
    params: &FlatParams,
    x: &[Vec<f64>],
    y: &[f64],
    lr: f64,
) -> (f64, usize) {
    let base = tape.len();
    let root = demo_loss(tape, params, x, y);
    let loss = descend(tape, base, root, lr);
    let nodes = tape.len() - base;
    tape.truncate(base);
    (loss, nodes)
}

/// micrograd's update from the loss `root`, the parameters at `..base`:
/// zero their gradients, backward, one SGD step. Returns the loss.
pub fn descend(tape: &mut FlatTape, base: usize, root: u32, lr: f64) -> f64 {
    let loss = tape.data[root as usize];
    // micrograd zeroes the parameters' gradients before backward.
    tape.grad[..base].iter_mut().for_each(|g| *g = 0.0);
    tape.backward(base, root);
    for i in 0..base {
        tape.data[i] -= lr * tape.grad[i];
    }
    loss
}
