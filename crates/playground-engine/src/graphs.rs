//! The graphs a page draws, as micrograd's `draw_dot` lays them out: an
//! expression's with its variables' values, and one point's through the
//! network. Each is built inside a [`Scope`], so its nodes are freed once
//! it is drawn.

use std::collections::BTreeMap;

use micrograd::json::Number;
use micrograd::nn::{Activation, Loss, Weights};
use micrograd::train::Task;
use micrograd::viz::Graph;
use micrograd::{Scope, Value, draw_dot, expr};

use crate::protocol::{ExpressionAnswer, PageError};

/// The graph of `expr` with its variables' `values`, backpropagated from its
/// root, as `micrograd grad` draws it: the value, every variable's
/// derivative, and the picture.
pub fn expression(
    source: &str,
    values: &BTreeMap<String, f64>,
    most_bytes: usize,
    most_nodes: usize,
) -> Result<ExpressionAnswer, PageError> {
    // Bytes, not characters: the parser's work grows with the bytes.
    if source.len() > most_bytes {
        return Err(PageError::new(format!(
            "the expression is longer than {most_bytes} bytes (it has {}; a character outside ASCII takes 2 to 4)",
            source.len()
        )));
    }
    let parsed = expr::parse(source).map_err(|e| {
        let mut error = PageError::new(e.to_string());
        error.position = Some(e.position);
        error
    })?;
    let _graph = Scope::new();
    let values: Vec<(String, f64)> = values.iter().map(|(k, &v)| (k.clone(), v)).collect();
    // As `micrograd grad` does: the numbers all the same, and the op that
    // first left the real numbers.
    let evaluation = parsed.evaluate(&values).map_err(|e| match e {
        expr::EvaluateError::Missing(name) => {
            PageError::new(format!("no value for `{name}`: give it one"))
        }
        e => PageError::new(e.to_string()),
    })?;
    let root = evaluation.root;
    let graph = draw_dot(root);
    let svg = render(&graph, most_nodes)?;
    let used = parsed.variables();
    let grads = evaluation
        .inputs
        .iter()
        .filter(|(name, _)| used.contains(&name.as_str()))
        .map(|(name, leaf)| (name.clone(), Number(leaf.grad())))
        .collect();
    Ok(ExpressionAnswer {
        value: Number(root.data()),
        grads,
        not_finite: evaluation.not_finite.map(|a| a.to_string()),
        nodes: graph.len(),
        svg,
    })
}

/// One point's graph through the network, as much of it as matters: its
/// inputs `x1, x2, ...`, the neurons as micrograd builds them, the outputs
/// and the point's loss (as training computes it for a batch of one,
/// without the penalties), backpropagated.
///
/// A ReLU at 0 for this point passes on no value and no gradient, so it is
/// left out of the layers after it: every node drawn has the data and the
/// gradient it has in the whole graph (a term `w·0` added or not changes no
/// sum), and the picture is of the neurons this point uses. That is what
/// makes the default networks' graphs drawable (the spiral's 2-32-32-3:
/// 3,702 nodes, 6.8 s to lay out natively; about half of its neurons are
/// at 0 for a point).
///
/// Returns the loss, the node count, the neurons left out and the picture.
pub fn point(
    weights: &Weights,
    task: &Task,
    loss_kind: Loss,
    x: &[f64],
    y: f64,
    most_nodes: usize,
) -> Result<PointGraph, PageError> {
    let _graph = Scope::new();
    let mut current: Vec<Option<Value>> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| Some(Value::new(v).with_label(&format!("x{}", i + 1))))
        .collect();
    let mut left_out = 0;
    let last = weights.layers.len() - 1;
    let (mut w, mut inputs) = (Vec::new(), Vec::new());
    for (l, layer) in weights.layers.iter().enumerate() {
        let mut next = Vec::with_capacity(layer.nout());
        for (row, &b) in layer.w.iter().zip(&layer.b) {
            w.clear();
            inputs.clear();
            for (&weight, input) in row.iter().zip(&current) {
                if let Some(input) = input {
                    w.push(Value::new(weight));
                    inputs.push(*input);
                }
            }
            let out = layer
                .activation
                .apply(Value::affine(&w, &inputs, Value::new(b)));
            let silent = l < last && layer.activation == Activation::Relu && out.data() == 0.0;
            left_out += usize::from(silent);
            next.push((!silent).then_some(out));
        }
        current = next;
    }
    let outputs: Vec<Value> = current
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.expect("outputs are never left out")
                .with_label(&format!("out{}", i + 1))
        })
        .collect();
    let target = task
        .targets(loss_kind, &[y])
        .map_err(|e| PageError::from_library(&e))?;
    let l = loss_kind.of(&outputs, &target).with_label("loss");
    l.backward();
    let graph = draw_dot(l);
    Ok(PointGraph {
        loss: l.data(),
        nodes: graph.len(),
        left_out,
        svg: render(&graph, most_nodes)?,
    })
}

/// One point's graph, drawn.
pub struct PointGraph {
    pub loss: f64,
    pub nodes: usize,
    /// Hidden neurons left out: ReLUs at 0 for this point.
    pub left_out: usize,
    pub svg: String,
}

fn too_large(nodes: usize, most_nodes: usize) -> PageError {
    PageError::new(format!(
        "the graph has {nodes} nodes; graphs of up to {most_nodes} are drawn (laying out more takes too long): \
         try a smaller network or expression"
    ))
}

fn render(graph: &Graph, most_nodes: usize) -> Result<String, PageError> {
    if graph.len() > most_nodes {
        return Err(too_large(graph.len(), most_nodes));
    }
    graph.to_svg().map_err(|e| PageError::new(e.to_string()))
}
