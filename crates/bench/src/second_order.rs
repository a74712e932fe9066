//! The Hessian-vector product of micrograd's demo loss over a batch, and
//! the one gradient it is measured against: the same graph (the MLP's
//! layers as dense nodes over the batch's lanes, `mean(relu(1 -
//! y·score)) + 1e-4·Σp²`), then `backward` for the gradient, or
//! [`Value::hvp`] (a gradient graph, then the gradient graph of `vᵀ∇`)
//! for H·v.

use micrograd::nn::{MLP, Module, batch_inputs};
use micrograd::{Scope, Value};

/// The demo's loss over the batch `x`, `y`, one graph.
pub fn batched_loss(model: &MLP, params: &[Value], x: &[Vec<f64>], y: &[f64]) -> Value {
    let scores = model.forward(&batch_inputs(x))[0];
    let minus_y: Vec<f64> = y.iter().map(|y| -y).collect();
    let margins = (1.0 + Value::batch(&minus_y) * scores).relu();
    margins.mean_lanes() + 1e-4 * Value::sum_squares(params)
}

/// One gradient: the loss's graph and `backward`, freed. Returns the loss.
pub fn gradient(model: &MLP, params: &[Value], x: &[Vec<f64>], y: &[f64]) -> f64 {
    let _step = Scope::new();
    let loss = batched_loss(model, params, x, y);
    model.zero_grad();
    loss.backward();
    loss.data()
}

/// H·v: the loss's graph and its Hessian-vector product as a graph, read
/// into `out`, freed.
pub fn hvp(
    model: &MLP,
    params: &[Value],
    x: &[Vec<f64>],
    y: &[f64],
    v: &[f64],
    out: &mut Vec<f64>,
) {
    let _step = Scope::new();
    let loss = batched_loss(model, params, x, y);
    out.clear();
    out.extend(loss.hvp(params, v).iter().map(|h| h.data()));
}
