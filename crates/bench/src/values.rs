//! micrograd's demo training step written with `Value`s node by node, as a
//! user following the lecture writes it: each neuron a chain of `*` and `+`,
//! every constant a leaf. The same graph as the flat tape's, so the two
//! measure what the engine costs per node.
//!
//! Shared by `micrograd bench` and `cargo bench` (crates/bench/benches/engine).

#![allow(dead_code)] // each user takes what it needs

use micrograd::Value;

/// An MLP's parameters as leaves: `layers[l][n] = (weights, bias)`.
pub type Params = Vec<Vec<(Vec<Value>, Value)>>;

/// Puts the parameters on this thread's tape, as leaves.
pub fn params(layers: &[Vec<(Vec<f64>, f64)>]) -> Params {
    layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|(w, b)| (w.iter().map(|&x| Value::new(x)).collect(), Value::new(*b)))
                .collect()
        })
        .collect()
}

/// micrograd's demo loss node for node: ReLU hidden layers, a linear
/// output, `mean(relu(1 - y*score)) + 1e-4 * sum(p*p)`.
pub fn demo_loss(params: &Params, x: &[Vec<f64>], y: &[f64]) -> Value {
    let last = params.len() - 1;
    let mut losses = Vec::with_capacity(x.len());
    let mut acts = Vec::new();
    let mut next = Vec::new();
    for (p, &yi) in x.iter().zip(y) {
        acts.clear();
        acts.extend(p.iter().map(|&v| Value::new(v)));
        for (l, layer) in params.iter().enumerate() {
            next.clear();
            for (w, b) in layer {
                let act = w
                    .iter()
                    .zip(&acts)
                    .fold(*b, |sum, (&wi, &xi)| sum + wi * xi);
                next.push(if l == last { act } else { act.relu() });
            }
            std::mem::swap(&mut acts, &mut next);
        }
        losses.push((acts[0] * Value::new(-yi) + Value::new(1.0)).relu());
    }
    let data_loss =
        losses.iter().fold(Value::new(0.0), |s, &l| s + l) * Value::new(1.0 / losses.len() as f64);
    let reg = params
        .iter()
        .flatten()
        .flat_map(|(w, b)| w.iter().chain([b]))
        .fold(Value::new(0.0), |s, &p| s + p * p);
    data_loss + reg * Value::new(1e-4)
}

/// One full training step of the demo: build, zero, backward, SGD update,
/// free. Returns the loss.
pub fn demo_step(params: &Params, x: &[Vec<f64>], y: &[f64], lr: f64) -> f64 {
    let _step = micrograd::Scope::new();
    let root = demo_loss(params, x, y);
    descend(params, root, lr)
}

/// micrograd's update from the loss `root`: zero the parameters'
/// gradients, backward, one SGD step. Returns the loss.
pub fn descend(params: &Params, root: Value, lr: f64) -> f64 {
    let all = || {
        params
            .iter()
            .flatten()
            .flat_map(|(w, b)| w.iter().chain([b]))
    };
    for p in all() {
        p.set_grad(0.0);
    }
    root.backward();
    for p in all() {
        p.set_data(p.data() - lr * p.grad());
    }
    root.data()
}
