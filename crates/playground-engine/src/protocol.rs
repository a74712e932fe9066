//! What the page's worker asks of a [`Page`](crate::Page) and what it
//! answers: one JSON object each way.
//!
//! Numbers are JSON numbers, except NaN and the infinities, which JSON has
//! not: they are the strings `"NaN"`, `"Infinity"` and `"-Infinity"`
//! (JavaScript's `Number()` reads them back). `null` always means a value
//! that is absent (no test loss without a held-out split), never a number.

use std::collections::BTreeMap;

use micrograd::json::Number;
use micrograd::train::Settings;
use serde::{Deserialize, Serialize};

/// A request, `{"op": "...", ...}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The names and limits the page's controls offer: [`Options`].
    Options,
    /// Train these settings from fresh weights: [`Info`].
    Configure { settings: Settings },
    /// The same settings from fresh weights: [`Info`].
    Reset,
    /// Up to `steps` training steps, fewer if training stops: [`Steps`].
    Step { steps: usize },
    /// The pictures' numbers now: [`Frame`]. `focus` is the enlarged
    /// neuron, `[layer, neuron]`; `neurons: false` leaves the small
    /// pictures out.
    Frame {
        #[serde(default)]
        focus: Option<(usize, usize)>,
        #[serde(default = "yes")]
        neurons: bool,
    },
    /// An expression's graph with its variables' values, backpropagated
    /// from its root: [`ExpressionAnswer`].
    Expression {
        expr: String,
        #[serde(default)]
        values: BTreeMap<String, f64>,
    },
    /// One point's graph through the network, its loss backpropagated:
    /// [`PointAnswer`].
    Point { point: usize },
}

fn yes() -> bool {
    true
}

/// What a request gets: its answer, or why not.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Options(Options),
    Info(Box<Info>),
    Steps(Steps),
    Frame(Frame),
    Expression(ExpressionAnswer),
    Point(PointAnswer),
    Error(PageError),
}

/// The names the controls list, and the limits.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    pub datasets: Vec<String>,
    pub features: Vec<String>,
    pub activations: Vec<String>,
    pub losses: Vec<String>,
    pub optimizers: Vec<String>,
    pub schedules: Vec<String>,
    pub limits: LimitsInfo,
}

/// [`Limits`](crate::Limits) as the page reads them.
#[derive(Clone, Debug, Serialize)]
pub struct LimitsInfo {
    pub points: usize,
    pub hidden_layers: usize,
    pub width: usize,
    pub parameters: usize,
    pub upload_bytes: usize,
    pub graph_nodes: usize,
}

/// What a page trains, once its settings are resolved.
#[derive(Clone, Debug, Serialize)]
pub struct Info {
    /// Every setting decided: read back, they are the same settings.
    pub settings: Settings,
    pub data: DataInfo,
    pub network: NetworkInfo,
    /// Why training cannot start, if it cannot.
    pub stopped: Option<String>,
}

/// The data, as the pictures need it.
#[derive(Clone, Debug, Serialize)]
pub struct DataInfo {
    pub name: String,
    pub points: usize,
    pub features: usize,
    /// `binary`, `multiclass` or `regression`.
    pub task: &'static str,
    pub classes: Vec<Number>,
    /// The points, when they have two features (the plane).
    pub x: Option<Vec<[Number; 2]>>,
    pub y: Vec<Number>,
    /// Whether each point is held out (the test set) rather than trained on.
    pub test: Vec<bool>,
    /// The plane shown: `[x0, x1, y0, y1]`, when the points have two
    /// features.
    pub extent: Option<[Number; 4]>,
    /// The smallest and largest target (a regression's colour scale).
    pub targets: [Number; 2],
}

/// The network.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkInfo {
    /// Its widths, inputs first.
    pub widths: Vec<usize>,
    pub parameters: usize,
    /// Each layer's activation, the output's last.
    pub activations: Vec<String>,
    /// The names of its inputs (the features, on the plane).
    pub inputs: Vec<String>,
    /// Each input over the plane, when there is one.
    pub input_grids: Option<Vec<Grid>>,
}

/// Training steps taken.
#[derive(Clone, Debug, Serialize)]
pub struct Steps {
    /// Steps taken in all since the weights were fresh.
    pub step: usize,
    /// One per step taken now.
    pub records: Vec<Record>,
    /// Why training stopped for good (it diverged), if it did.
    pub stopped: Option<String>,
}

/// One step's numbers.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Record {
    pub step: usize,
    /// The training loss, the penalties included.
    pub loss: Number,
    pub accuracy: Option<Number>,
    /// The held-out points' loss, without penalties.
    pub test_loss: Option<Number>,
    pub test_accuracy: Option<Number>,
    pub lr: Number,
}

/// A picture's cells, row by row from the top left, one byte each or two
/// (see [`Frame`]).
#[derive(Clone, Debug, Serialize)]
pub struct Grid {
    pub side: usize,
    pub cells: Vec<u8>,
}

/// The pictures' numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    pub step: usize,
    /// The decision boundary, two bytes a cell: the class that wins (0 for
    /// a regression), and how sure (0 to 255; a regression's output, 0 at
    /// the smallest target and 255 at the largest). `None` off the plane.
    pub boundary: Option<Grid>,
    /// Every neuron's output over the plane, one byte a cell: 128 is 0,
    /// 255 and 1 the neuron's largest magnitude there.
    pub neurons: Option<Vec<Vec<Grid>>>,
    /// The enlarged neuron's, as the boundary's resolution.
    pub focus: Option<Grid>,
    /// `weights[l][n][i]`: layer `l`'s neuron `n`'s weight for input `i`.
    pub weights: Vec<Vec<Vec<Number>>>,
    /// `biases[l][n]`.
    pub biases: Vec<Vec<Number>>,
}

/// An expression drawn.
#[derive(Clone, Debug, Serialize)]
pub struct ExpressionAnswer {
    pub value: Number,
    /// The derivative of the root with respect to each variable it uses.
    pub grads: BTreeMap<String, Number>,
    /// The op that first made a number NaN or infinite, if one did.
    pub not_finite: Option<String>,
    pub nodes: usize,
    pub svg: String,
}

/// One point's graph drawn.
#[derive(Clone, Debug, Serialize)]
pub struct PointAnswer {
    pub point: usize,
    pub loss: Number,
    pub nodes: usize,
    /// Hidden neurons not drawn: ReLUs at 0 for this point, which pass on
    /// no value and no gradient.
    pub left_out: usize,
    pub svg: String,
}

/// Why a request was not done.
#[derive(Clone, Debug, Serialize)]
pub struct PageError {
    pub error: String,
    /// Where in an uploaded file (1-based; a CSV's column is its field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Where in an expression (a byte offset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl PageError {
    pub fn new(error: impl Into<String>) -> PageError {
        PageError {
            error: error.into(),
            line: None,
            column: None,
            position: None,
        }
    }

    pub fn from_library(e: &micrograd::Error) -> PageError {
        let mut error = PageError::new(e.to_string());
        if let micrograd::Error::Parse { line, column, .. } = e {
            error.line = Some(*line);
            error.column = Some(*column);
        }
        error
    }
}

impl From<String> for PageError {
    fn from(error: String) -> PageError {
        PageError::new(error)
    }
}
