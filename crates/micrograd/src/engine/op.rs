//! What made a node, as a user inspects it: micrograd's `_op`, and its name.

use std::fmt;

/// The operation that produced a [`Value`](crate::Value): micrograd's `_op`.
///
/// Its `Display` gives micrograd's strings (`+`, `*`, `**3`, `ReLU`, `tanh`,
/// `exp`), and the empty string for a leaf: an op is named as its variant,
/// in lower case, where micrograd does not name it otherwise.
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
    /// [`Value::sin`](crate::Value::sin)
    Sin,
    /// [`Value::cos`](crate::Value::cos)
    Cos,
    /// [`Value::step`](crate::Value::step), ReLU's derivative.
    Step,
    /// A sum of any number of values (`Iterator::sum`).
    Sum,
    /// `Σ cᵢ·cᵢ` in one node ([`Value::sum_squares`](crate::Value::sum_squares)).
    SumSquares,
    /// A batch's lanes summed into one value
    /// ([`Value::sum_lanes`](crate::Value::sum_lanes)).
    SumLanes,
    /// `Σₙ aₙ·bₙ` over two batches' lanes: a layer weight's gradient in a
    /// gradient graph ([`Value::gradients`](crate::Value::gradients)).
    LaneDot,
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
            Op::Ln => f.write_str("log"),
            Op::SumLanes => f.write_str("sum lanes"),
            Op::LaneDot => f.write_str("sum lanes *"),
            // The rest by name: `tanh`, `exp`, `sigmoid`, `affine`.
            _ => f.write_str(&format!("{self:?}").to_lowercase()),
        }
    }
}
