//! `Value`: a `Copy` handle to one node of this thread's tape.

use std::fmt;
use std::marker::PhantomData;

use super::op::{Instr, Op};
use super::pyrepr::PyFloat;
use super::tape::with_tape;

/// A scalar in a computation graph, with the gradient `backward` gives it:
/// micrograd's `Value`.
///
/// A `Value` is a small `Copy` handle to a node of this thread's tape, so
/// expressions read like the Python: `a * b + c`, `(x * w).tanh()`,
/// `2.0 * a`, `1.0 - a`. Every operation records a node whose forward value is
/// computed at once; [`backward`](Value::backward) then fills in the gradients.
///
/// ```
/// use micrograd::Value;
/// let a = Value::new(2.0).with_label("a");
/// let b = Value::new(-3.0).with_label("b");
/// let c = Value::new(10.0).with_label("c");
/// let e = (a * b).with_label("e");
/// let d = (e + c).with_label("d");
/// let f = Value::new(-2.0).with_label("f");
/// let l = (d * f).with_label("L");
/// l.backward();
/// assert_eq!(l.data(), -8.0);
/// assert_eq!((a.grad(), b.grad(), c.grad(), f.grad()), (6.0, -4.0, -2.0, 4.0));
/// ```
///
/// Handles are tied to the thread that made them (`Value` is neither `Send`
/// nor `Sync`). Two handles are equal when they name the same node, as
/// Python's identity: compare [`data`](Value::data) to compare numbers.
///
/// Nodes live until the [`Scope`](crate::Scope) they were created in ends
/// (forever, outside any scope).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    _not_send: PhantomData<*const ()>,
}

impl Value {
    pub(crate) const fn from_parts(index: u32, generation: u32) -> Value {
        Value {
            index,
            generation,
            _not_send: PhantomData,
        }
    }

    /// A new leaf (an input or a parameter) holding `data`, with gradient 0.
    pub fn new(data: f64) -> Value {
        with_tape(|t| t.leaf(data))
    }

    /// The forward value.
    ///
    /// # Panics
    ///
    /// This and every other method panic if the node was freed by the end
    /// of its [`Scope`](crate::Scope).
    pub fn data(self) -> f64 {
        with_tape(|t| t.node(self).data)
    }

    /// d(root)/d(self) from the latest [`backward`](Value::backward) (or what
    /// [`set_grad`](Value::set_grad) stored).
    pub fn grad(self) -> f64 {
        with_tape(|t| t.node(self).grad)
    }

    /// Overwrites the forward value, as `p.data += -lr * p.grad` does in
    /// micrograd. Nodes computed from this one are not recomputed.
    pub fn set_data(self, data: f64) {
        with_tape(|t| t.node_mut(self).data = data);
    }

    /// Overwrites the gradient: the lecture's manual backpropagation, and
    /// `zero_grad` (`p.set_grad(0.0)`).
    pub fn set_grad(self, grad: f64) {
        with_tape(|t| t.node_mut(self).grad = grad);
    }

    /// The label given by [`with_label`](Value::with_label); empty if none.
    pub fn label(self) -> String {
        with_tape(|t| t.label(self).to_owned())
    }

    /// Names this node for pictures and printing, and returns it:
    /// `let e = (a * b).with_label("e");`. An empty label removes it.
    #[must_use = "with_label returns the same Value, for chaining"]
    pub fn with_label(self, label: &str) -> Value {
        self.set_label(label);
        self
    }

    /// Names this node in place; see [`with_label`](Value::with_label).
    pub fn set_label(self, label: &str) {
        with_tape(|t| t.set_label(self, label));
    }

    /// The operation that produced this node (micrograd's `_op`).
    pub fn op(self) -> Op {
        with_tape(|t| {
            let instr = t.node(self).instr;
            match instr {
                Instr::Leaf => Op::Leaf,
                Instr::Add(..) => Op::Add,
                Instr::Mul(..) => Op::Mul,
                Instr::Powf(_, k) => Op::Powf(t.nodes[k as usize].data),
                Instr::Pow(..) => Op::Pow,
                Instr::Relu(_) => Op::Relu,
                Instr::Tanh(_) => Op::Tanh,
                Instr::Exp(_) => Op::Exp,
                Instr::Ln(_) => Op::Ln,
                Instr::Sigmoid(_) => Op::Sigmoid,
                Instr::Sum { .. } => Op::Sum,
                Instr::Affine { .. } => Op::Affine,
            }
        })
    }

    /// Whether this node is a leaf (made by [`Value::new`], not by an op).
    pub fn is_leaf(self) -> bool {
        self.op() == Op::Leaf
    }

    /// The operands this node was computed from (micrograd's `_prev`), in
    /// operand order: `(a * b).children()` is `[a, b]`. For
    /// [`affine`](Value::affine) the order is `b, w0, w1, ..., x0, x1, ...`.
    pub fn children(self) -> Vec<Value> {
        with_tape(|t| t.children(self))
    }

    /// Every node this one depends on, itself last, each after its
    /// children: the order micrograd's `backward` builds with `build_topo`.
    pub fn topo(self) -> Vec<Value> {
        with_tape(|t| t.topo(self))
    }

    /// Backpropagates from this node: sets its gradient to 1 and gives every
    /// node it depends on d(self)/d(node).
    ///
    /// Leaves accumulate across calls (as in PyTorch: two calls give twice
    /// the gradient, so zero them between training steps); intermediate
    /// nodes hold the result of the latest call; nodes this one does not
    /// depend on are untouched. A leaf root adds 1 to its own gradient.
    /// One reverse sweep over the tape: no recursion, any depth.
    pub fn backward(self) {
        with_tape(|t| t.backward(self));
    }

    /// Applies this node's local derivative once, adding `local × grad` to
    /// each operand's gradient: micrograd's `_backward`, for following the
    /// lecture's manual backpropagation step by step.
    pub fn backward_local(self) {
        with_tape(|t| t.backward_local(self));
    }

    /// `self ** k` for a constant exponent (micrograd's `**` with an int or
    /// float): d/dself = k·self^(k-1). Out of the real domain (a negative
    /// base with a fractional `k`, `0 ** -1`) it gives what `f64::powf`
    /// gives, NaN or infinity.
    pub fn powf(self, k: f64) -> Value {
        with_tape(|t| {
            let base = t.index(self);
            let k = t.leaf(k).index;
            t.push(Instr::Powf(base, k))
        })
    }

    /// `self ** exponent` where the exponent is a node too and receives
    /// d/dexponent = self^exponent·ln(self) (taken as 0 where self = 0 and
    /// the exponent is ≥ 0, as PyTorch). Out of the real domain it follows
    /// `f64::powf` (NaN, infinity).
    pub fn pow(self, exponent: Value) -> Value {
        with_tape(|t| {
            let (a, b) = (t.index(self), t.index(exponent));
            t.push(Instr::Pow(a, b))
        })
    }

    /// `max(self, 0)`, micrograd's ReLU; its derivative at 0 is 0.
    pub fn relu(self) -> Value {
        self.unary(Instr::Relu)
    }

    /// The hyperbolic tangent, computed as the lecture does,
    /// `(e^2x - 1) / (e^2x + 1)`, so its numbers come out to the last digit;
    /// near 0 through `expm1` and beyond 19.5 as exactly 1, so it stays
    /// within 2.3 ulp of the truth and never gives NaN for a number
    /// (`tanh(1000) = 1`, where the lecture's formula gives inf/inf).
    pub fn tanh(self) -> Value {
        self.unary(Instr::Tanh)
    }

    /// `e^self`; overflows to infinity above about 709.78, as `f64::exp`.
    pub fn exp(self) -> Value {
        self.unary(Instr::Exp)
    }

    /// The natural logarithm. As `f64::ln`: `ln(0) = -inf`, and NaN for a
    /// negative input; its derivative `1/self` is then infinite or NaN.
    pub fn ln(self) -> Value {
        self.unary(Instr::Ln)
    }

    /// The logistic function `1 / (1 + e^-self)`, in [0, 1] for every input
    /// but NaN (`sigmoid(-1000) = 0`).
    pub fn sigmoid(self) -> Value {
        self.unary(Instr::Sigmoid)
    }

    fn unary(self, make: impl FnOnce(u32) -> Instr) -> Value {
        with_tape(|t| {
            let a = t.index(self);
            t.push(make(a))
        })
    }

    /// `b + Σ wᵢ·xᵢ` as one node: a neuron's pre-activation, micrograd's
    /// `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`, summed in the
    /// same order so the result is the same to the last bit, with the same
    /// gradients, at a fraction of the cost of `2n` separate nodes.
    ///
    /// ```
    /// use micrograd::Value;
    /// let w = [Value::new(2.0), Value::new(-1.0)];
    /// let x = [Value::new(3.0), Value::new(4.0)];
    /// let b = Value::new(0.5);
    /// let y = Value::affine(&w, &x, b);
    /// y.backward();
    /// assert_eq!(y.data(), 0.5 + 6.0 - 4.0);
    /// assert_eq!((w[0].grad(), x[1].grad(), b.grad()), (3.0, -1.0, 1.0));
    /// ```
    ///
    /// # Panics
    ///
    /// If `w` and `x` differ in length.
    pub fn affine(w: &[Value], x: &[Value], b: Value) -> Value {
        assert_eq!(
            w.len(),
            x.len(),
            "micrograd: Value::affine needs as many weights as inputs"
        );
        with_tape(|t| t.affine(w, x, b))
    }
}

impl From<f64> for Value {
    fn from(data: f64) -> Value {
        Value::new(data)
    }
}

/// micrograd's `__repr__`: `Value(data=3.0, grad=1.0)`, numbers as Python
/// prints them.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (data, grad) = with_tape(|t| {
            let node = t.node(*self);
            (node.data, node.grad)
        });
        write!(f, "Value(data={}, grad={})", PyFloat(data), PyFloat(grad))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The number of nodes on this thread's tape: the size of every graph built
/// so far that no [`Scope`](crate::Scope) has freed.
pub fn tape_len() -> usize {
    with_tape(|t| t.len())
}
