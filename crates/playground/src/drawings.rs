//! The pictures a page downloads or asks for once: an expression's graph,
//! one point's graph through a session's network, the decision boundary
//! and the training curves as SVG. Each is drawn on a thread of its own,
//! never on the server's: graphs are built on that thread's tape, which
//! ends with it, and layout takes CPU time the server must not wait on.

use std::collections::BTreeMap;

use super::api::{ApiError, ExpressionAnswer, ExpressionRequest, Number};
use micrograd::data::Dataset;
use micrograd::nn::{Loss, MLP, Weights};
use micrograd::train::{StepRecord, Task};
use micrograd::viz::{DecisionBoundary, Graph, TrainingCurves};
use micrograd::{Scope, Value, draw_dot, expr};

/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION: usize = 2_000;

/// Cells on the longer side of a downloaded decision boundary.
const BOUNDARY_CELLS: f64 = 300.0;

/// What a graph is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn parse(name: Option<&str>) -> Result<Format, ApiError> {
        match name {
            None | Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            Some(other) => Err(ApiError::bad_request(format!(
                "unknown format `{other}` (expected svg or png)"
            ))),
        }
    }
}

/// A drawn graph.
pub enum Picture {
    Svg(String),
    Png(Vec<u8>),
}

/// The graph of `request`'s expression with its variables' values,
/// backpropagated from its root, as `micrograd grad` draws it: the value,
/// every variable's derivative, and the picture. Builds on this thread's
/// tape, inside a scope.
pub fn expression(
    request: &ExpressionRequest,
    most_nodes: usize,
    format: Format,
) -> Result<(ExpressionAnswer, Picture), ApiError> {
    // Bytes, not characters: the parser's work grows with the bytes.
    if request.expr.len() > MAX_EXPRESSION {
        return Err(ApiError::unprocessable(format!(
            "the expression is longer than {MAX_EXPRESSION} bytes (it has {}; a character outside ASCII takes 2 to 4)",
            request.expr.len()
        )));
    }
    let parsed = expr::parse(&request.expr).map_err(|e| {
        let mut error = ApiError::unprocessable(e.to_string());
        error.position = Some(e.position);
        error
    })?;
    let _graph = Scope::new();
    let values: Vec<(String, f64)> = request
        .values
        .iter()
        .map(|(name, &v)| (name.clone(), v))
        .collect();
    // As `micrograd grad` does: the numbers all the same, and the op that
    // first left the real numbers.
    let evaluation = parsed.evaluate(&values).map_err(|e| match e {
        expr::EvaluateError::Missing(name) => {
            ApiError::unprocessable(format!("no value for `{name}`: give it one"))
        }
        e => ApiError::unprocessable(e.to_string()),
    })?;
    let root = evaluation.root;
    let not_finite = evaluation.not_finite.map(|a| a.to_string());
    let graph = draw_dot(root);
    let picture = render(&graph, most_nodes, format)?;
    let used = parsed.variables();
    let grads: BTreeMap<String, Number> = evaluation
        .inputs
        .iter()
        .filter(|(name, _)| used.contains(&name.as_str()))
        .map(|(name, leaf)| (name.clone(), Number(leaf.grad())))
        .collect();
    let answer = ExpressionAnswer {
        value: Number(root.data()),
        grads,
        not_finite,
        nodes: graph.len(),
        svg: match &picture {
            Picture::Svg(svg) => svg.clone(),
            Picture::Png(_) => String::new(),
        },
    };
    Ok((answer, picture))
}

/// One point's graph through the network: its inputs `x1, x2, ...`, the
/// neurons as micrograd builds them, the outputs and the point's loss (as
/// training computes it for a batch of one, without the L2 penalty),
/// backpropagated.
pub fn point(
    weights: &Weights,
    task: &Task,
    loss_kind: Loss,
    x: &[f64],
    y: f64,
    most_nodes: usize,
    format: Format,
) -> Result<Picture, ApiError> {
    let _graph = Scope::new();
    let model = MLP::from_weights(weights);
    let inputs: Vec<Value> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| Value::new(v).with_label(&format!("x{}", i + 1)))
        .collect();
    let outputs: Vec<Value> = model
        .forward(&inputs)
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.with_label(&format!("out{}", i + 1)))
        .collect();
    let target = task
        .targets(loss_kind, &[y])
        .map_err(|e| ApiError::from_library(&e))?;
    let l = loss_kind.of(&outputs, &target).with_label("loss");
    l.backward();
    render(&draw_dot(l), most_nodes, format)
}

fn render(graph: &Graph, most_nodes: usize, format: Format) -> Result<Picture, ApiError> {
    if graph.len() > most_nodes {
        return Err(ApiError::unprocessable(format!(
            "the graph has {} nodes; graphs of up to {most_nodes} are drawn (laying out more takes too long): \
             try a smaller network or expression",
            graph.len()
        )));
    }
    let drawn = match format {
        Format::Svg => graph.to_svg().map(Picture::Svg),
        Format::Png => graph.to_png().map(Picture::Png),
    };
    drawn.map_err(|e| ApiError::unprocessable(e.to_string()))
}

/// The decision boundary as `micrograd train` draws it, on a mesh of at
/// most 300 cells a side.
pub fn boundary_svg(
    weights: &Weights,
    data: &Dataset,
    task: &Task,
    title: &str,
) -> Result<String, ApiError> {
    let plot =
        DecisionBoundary::new(weights, data, task).map_err(|e| ApiError::from_library(&e))?;
    // The plot's box is the data's, with a margin that does not change the
    // longer side's ratio to the mesh much.
    let span = |k: usize| {
        let (lo, hi) = data
            .x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[k]), hi.max(p[k]))
            });
        hi - lo + 1.0
    };
    let step = span(0).max(span(1)) / BOUNDARY_CELLS;
    let plot = plot.mesh_step(step.max(1e-9)).title(title);
    plot.to_svg().map_err(|e| ApiError::from_library(&e))
}

/// Loss and accuracy per step, as `micrograd train` draws them.
pub fn curves_svg(records: &[StepRecord]) -> Result<String, ApiError> {
    TrainingCurves::new(records)
        .to_svg()
        .map_err(|e| ApiError::from_library(&e))
}
