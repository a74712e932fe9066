//! What made a node: the tape's instruction (with operand indices) and the
//! public [`Op`] a user inspects (micrograd's `_op`).

use std::fmt;

/// One tape instruction: the primitive that produced a node and the indices of
/// its operands. Operands always have smaller indices than the node itself, so
/// creation order is a topological order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Instr {
    /// An input or parameter: no operands.
    Leaf,
    /// `a + b`
    Add(u32, u32),
    /// `a * b`
    Mul(u32, u32),
    /// `a ** k` for a constant `k`, stored as the data of a hidden leaf node
    /// (the second index), so that every instruction fits in twelve bytes.
    Powf(u32, u32),
    /// `a ** b` with `b` a node that receives a gradient too.
    Pow(u32, u32),
    /// `max(a, 0)`
    Relu(u32),
    /// `tanh(a)`
    Tanh(u32),
    /// `e^a`
    Exp(u32),
    /// `ln(a)`
    Ln(u32),
    /// `1 / (1 + e^-a)`
    Sigmoid(u32),
    /// `ln(1 + e^a)`
    Softplus(u32),
    /// `Σₙ a[n]`: a batch's lanes summed into a single value, in lane order.
    SumLanes(u32),
    /// `Σ edges[start..start + len]`, summed left to right.
    Sum { start: u32, len: u32 },
    /// `Σ cᵢ·cᵢ` over `edges[start..start + len]`, left to right: micrograd's
    /// `sum((p*p for p in params))` in one node.
    SumSquares { start: u32, len: u32 },
    /// The same over the consecutive nodes `first..first + len` (a model's
    /// parameters), with no operand list.
    SumSquaresRun { first: u32, len: u32 },
    /// `b + Σ wᵢ·xᵢ` with `b = edges[start]`, then the `len` weights, then
    /// the `len` inputs.
    Affine { start: u32, len: u32 },
    /// Neuron `j` of a layer over a batch: `b[j] + Σₖ w[j][k]·x[k]`. A
    /// layer's `J` neurons are made together, as consecutive nodes with
    /// consecutive lane rows, and differentiated together; their operand
    /// list at `edges[start..]` is laid out by `rules::DenseOperands`.
    Dense { start: u32, j: u32 },
}

/// The operation that produced a [`Value`](crate::Value): micrograd's `_op`.
///
/// Its `Display` gives micrograd's strings (`+`, `*`, `**3`, `ReLU`, `tanh`,
/// `exp`), and the empty string for a leaf.
///
/// ```
/// use micrograd::{Op, Value};
/// let a = Value::new(2.0);
/// assert_eq!(a.op(), Op::Leaf);
/// assert_eq!((a * a).op().to_string(), "*");
/// assert_eq!(a.powf(3.0).op().to_string(), "**3");
/// assert_eq!(a.relu().op().to_string(), "ReLU");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// An input or parameter, made by [`Value::new`](crate::Value::new).
    Leaf,
    /// `a + b`
    Add,
    /// `a * b`
    Mul,
    /// `a ** k` with a constant exponent `k` ([`Value::powf`](crate::Value::powf)).
    Powf(f64),
    /// `a ** b` with a node as exponent ([`Value::pow`](crate::Value::pow)).
    Pow,
    /// [`Value::relu`](crate::Value::relu)
    Relu,
    /// [`Value::tanh`](crate::Value::tanh)
    Tanh,
    /// [`Value::exp`](crate::Value::exp)
    Exp,
    /// [`Value::ln`](crate::Value::ln), the natural logarithm.
    Ln,
    /// [`Value::sigmoid`](crate::Value::sigmoid)
    Sigmoid,
    /// [`Value::softplus`](crate::Value::softplus)
    Softplus,
    /// A sum of any number of values (`Iterator::sum`).
    Sum,
    /// `Σ cᵢ·cᵢ` in one node ([`Value::sum_squares`](crate::Value::sum_squares)).
    SumSquares,
    /// A batch's lanes summed into one value
    /// ([`Value::sum_lanes`](crate::Value::sum_lanes)).
    SumLanes,
    /// `b + Σ wᵢ·xᵢ` in one node ([`Value::affine`](crate::Value::affine)),
    /// or one neuron of a layer over a batch ([`Value::dense`](crate::Value::dense)).
    Affine,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Leaf => Ok(()),
            Op::Add | Op::Sum | Op::SumSquares => f.write_str("+"),
            Op::Mul => f.write_str("*"),
            // micrograd writes f'**{other}': `**2`, `**-1`, `**0.5`.
            Op::Powf(k) => write!(f, "**{k}"),
            Op::Pow => f.write_str("**"),
            Op::Relu => f.write_str("ReLU"),
            Op::Tanh => f.write_str("tanh"),
            Op::Exp => f.write_str("exp"),
            Op::Ln => f.write_str("log"),
            Op::Sigmoid => f.write_str("sigmoid"),
            Op::Softplus => f.write_str("softplus"),
            Op::SumLanes => f.write_str("sum lanes"),
            Op::Affine => f.write_str("affine"),
        }
    }
}
