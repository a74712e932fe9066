//! Anomaly detection, after PyTorch's `detect_anomaly`: the first node of a
//! graph whose value or gradient is NaN or infinite, named by op, label and
//! position, with the numbers that made it.

use std::fmt;

use super::op::Op;
use super::value::Value;

/// The first number of a graph that is not finite: what
/// [`Value::check_finite`] and [`Value::backward_checked`] report.
///
/// ```
/// use micrograd::{AnomalyKind, Op, Value};
///
/// let x = Value::new(-1.0).with_label("x");
/// let y = (x.ln() * 2.0).with_label("y");
/// let anomaly = y.check_finite().unwrap_err();
/// assert_eq!(anomaly.kind, AnomalyKind::Value);
/// assert_eq!(anomaly.op, Op::Ln);
/// assert_eq!(anomaly.operands, [-1.0]);
/// assert_eq!(
///     anomaly.to_string(),
///     "the value of node 1 (log) is NaN, from operand -1.0"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Whether the node's value or its gradient is not finite.
    pub kind: AnomalyKind,
    /// The node.
    pub node: Value,
    /// Its position in the graph: its index in
    /// [`root.topo()`](Value::topo), children before parents.
    pub position: usize,
    /// The op that made it.
    pub op: Op,
    /// Its label (empty if it has none).
    pub label: String,
    /// The number that is not finite (of its first such lane, for a
    /// batch).
    pub number: f64,
    /// The lane it is in, for a batch.
    pub lane: Option<usize>,
    /// For a value: its operands' values (in the same lane), which say
    /// why (`log` of -1, `exp` of 1000). At most
    /// [`Anomaly::OPERANDS_KEPT`].
    pub operands: Vec<f64>,
    /// For a gradient: the node whose backward rule produced it (position
    /// and op), the first one from the root that uses this node.
    pub from: Option<(usize, Op)>,
}

/// Which number of a node is not finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnomalyKind {
    /// The value the forward pass computed.
    Value,
    /// The gradient the latest backward pass left.
    Gradient,
}

impl Anomaly {
    /// How many operand values an anomaly keeps (a layer's node has as
    /// many operands as weights).
    pub const OPERANDS_KEPT: usize = 8;
}

impl std::error::Error for Anomaly {}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            AnomalyKind::Value => "value",
            AnomalyKind::Gradient => "gradient",
        };
        write!(
            f,
            "the {what} of node {} ({}",
            self.position,
            op_name(self.op)
        )?;
        if !self.label.is_empty() {
            write!(f, " {:?}", self.label)?;
        }
        f.write_str(")")?;
        if let Some(lane) = self.lane {
            write!(f, " in lane {lane}")?;
        }
        write!(f, " is {}", number(self.number))?;
        match (self.kind, self.from) {
            (AnomalyKind::Gradient, Some((position, op))) => write!(
                f,
                ", from the backward rule of node {position} ({})",
                op_name(op)
            ),
            (AnomalyKind::Value, _) if !self.operands.is_empty() => {
                let plural = if self.operands.len() > 1 { "s" } else { "" };
                let shown: Vec<String> = self.operands.iter().map(|&x| number(x)).collect();
                write!(f, ", from operand{plural} {}", shown.join(", "))
            }
            _ => Ok(()),
        }
    }
}

/// An op as a reader would name it: a leaf is "leaf", not micrograd's "".
fn op_name(op: Op) -> String {
    match op {
        Op::Leaf => "leaf".into(),
        op => op.to_string(),
    }
}

/// A number as Python prints it: `NaN`, `inf`, `-1.0`, `1e+300` as `1e300`.
fn number(x: f64) -> String {
    format!("{x:?}")
}

impl Value {
    /// Checks every value of this node's graph, then every gradient the
    /// latest [`backward`](Value::backward) from it left, and reports the
    /// first that is NaN or infinite: for values, the first node computed
    /// (children before parents), with its operands; for gradients, the
    /// first node from the root, with the node whose backward rule made it.
    /// Values are checked first, since a non-finite value spoils every
    /// gradient that passes through it.
    ///
    /// One walk over the graph; nothing is changed.
    ///
    /// # Errors
    ///
    /// The [`Anomaly`] found (boxed: it is large, and rare).
    ///
    /// # Panics
    ///
    /// If this `Value` was freed by the end of a [`Scope`](crate::Scope).
    pub fn check_finite(self) -> Result<(), Box<Anomaly>> {
        let topo = self.topo();
        for (position, &v) in topo.iter().enumerate() {
            if let Some((lane, x)) = first_non_finite(v, Value::data_lanes, Value::data) {
                let operands = v
                    .children()
                    .into_iter()
                    .take(Anomaly::OPERANDS_KEPT)
                    .map(|c| match (c.is_batch(), lane) {
                        (true, Some(lane)) => c.data_lanes()[lane],
                        (true, None) => f64::NAN,
                        (false, _) => c.data(),
                    })
                    .collect();
                return Err(anomaly(
                    AnomalyKind::Value,
                    v,
                    position,
                    x,
                    lane,
                    operands,
                    None,
                ));
            }
        }
        for (position, &v) in topo.iter().enumerate().rev() {
            if let Some((lane, x)) = first_non_finite(v, Value::grad_lanes, Value::grad) {
                // Every node above this one has finite numbers: the first
                // user of it from the root made its gradient.
                let from = topo
                    .iter()
                    .enumerate()
                    .skip(position + 1)
                    .rev()
                    .find(|(_, u)| u.children().contains(&v))
                    .map(|(p, u)| (p, u.op()));
                return Err(anomaly(
                    AnomalyKind::Gradient,
                    v,
                    position,
                    x,
                    lane,
                    Vec::new(),
                    from,
                ));
            }
        }
        Ok(())
    }

    /// [`backward`](Value::backward), then
    /// [`check_finite`](Value::check_finite): PyTorch's backward under
    /// `detect_anomaly`. The gradients are computed either way.
    ///
    /// # Errors
    ///
    /// The first [`Anomaly`] of the graph.
    ///
    /// # Panics
    ///
    /// If this `Value` was freed by the end of a [`Scope`](crate::Scope).
    pub fn backward_checked(self) -> Result<(), Box<Anomaly>> {
        self.backward();
        self.check_finite()
    }
}

fn anomaly(
    kind: AnomalyKind,
    node: Value,
    position: usize,
    number: f64,
    lane: Option<usize>,
    operands: Vec<f64>,
    from: Option<(usize, Op)>,
) -> Box<Anomaly> {
    Box::new(Anomaly {
        kind,
        node,
        position,
        op: node.op(),
        label: node.label(),
        number,
        lane,
        operands,
        from,
    })
}

/// The first number of `v` that is not finite, and its lane for a batch.
fn first_non_finite(
    v: Value,
    lanes: fn(Value) -> Vec<f64>,
    single: fn(Value) -> f64,
) -> Option<(Option<usize>, f64)> {
    if v.is_batch() {
        let numbers = lanes(v);
        let lane = numbers.iter().position(|x| !x.is_finite())?;
        Some((Some(lane), numbers[lane]))
    } else {
        let x = single(v);
        (!x.is_finite()).then_some((None, x))
    }
}
