//! `Value`: a `Copy` handle to one node of this thread's tape.

use std::fmt;
use std::marker::PhantomData;

use super::lane_slab::SINGLE;
use super::node::{Instr, Node};
use super::op::Op;
use super::pyrepr::PyFloat;
use super::rules::Unary;
use super::tape::{self, Tape, misuse, with_tape};

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
///
/// # Batches
///
/// A `Value` can also hold a whole batch: one number per point, in lanes
/// ([`Value::batch`]). Every operation works lane by lane, exactly as it
/// would on each point alone, so the same code computes a batch in one
/// graph (JAX's `vmap`). A single value meets a batch by broadcasting, and
/// receives the sum of its gradients over the lanes, in lane order;
/// [`sum_lanes`](Value::sum_lanes) and [`mean_lanes`](Value::mean_lanes)
/// turn a batch into one number, as a loss needs.
///
/// ```
/// use micrograd::Value;
/// let w = Value::new(3.0);
/// let x = Value::batch(&[1.0, 2.0, 4.0]);
/// let y = (w * x).relu();
/// assert_eq!(y.data_lanes(), [3.0, 6.0, 12.0]);
/// let total = y.sum_lanes(); // one number: 21
/// total.backward();
/// assert_eq!(total.data(), 21.0);
/// assert_eq!(w.grad(), 1.0 + 2.0 + 4.0); // d/dw, summed over the lanes
/// assert_eq!(x.grad_lanes(), [3.0, 3.0, 3.0]); // each point's own d/dx
/// ```
///
/// All batches alive on a thread have the same number of lanes: build each
/// batch's graph in a [`Scope`](crate::Scope), and the next may have
/// another size.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    pub(crate) index: u32,
    pub(crate) generation: u64,
    _not_send: PhantomData<*const ()>,
}

impl Value {
    pub(crate) const fn from_parts(index: u32, generation: u64) -> Value {
        Value {
            index,
            generation,
            _not_send: PhantomData,
        }
    }

    /// A new leaf (an input or a parameter) holding `data`, with gradient 0.
    // `#[inline]`, as the elementwise methods below and the operators: in
    // a user's crate, a node made without a call (and its tape's hot path
    // inlined with it).
    #[inline]
    pub fn new(data: f64) -> Value {
        tape::leaf(data)
    }

    /// A new batched leaf: one lane per number of `data` (the same feature
    /// of every point of a batch), each with gradient 0.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::batch(&[0.5, -1.0]);
    /// assert_eq!(x.lanes(), Some(2));
    /// assert_eq!((x * 2.0).data_lanes(), [1.0, -2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `data` is empty, or batches of another size are alive on this
    /// thread (one batch size per graph: free the last batch's graph with
    /// a [`Scope`](crate::Scope) first).
    pub fn batch(data: &[f64]) -> Value {
        with_tape(|t| t.batch(data))
    }

    /// The number of lanes of a batch; `None` for a single value.
    pub fn lanes(self) -> Option<usize> {
        with_tape(|t| t.lanes(self))
    }

    /// Whether this value holds a batch.
    pub fn is_batch(self) -> bool {
        self.lanes().is_some()
    }

    /// The forward value.
    ///
    /// # Panics
    ///
    /// This and every other method panic if the node was freed by the end
    /// of its [`Scope`](crate::Scope). The methods for one number
    /// (`data`, `grad`, `set_data`, `set_grad`) panic on a batch: read it
    /// with [`data_lanes`](Value::data_lanes).
    pub fn data(self) -> f64 {
        with_tape(|t| {
            let data = single(t, self, "data").data;
            t.note_read(self.index, data);
            data
        })
    }

    /// d(root)/d(self) from the latest [`backward`](Value::backward) (or what
    /// [`set_grad`](Value::set_grad) stored).
    pub fn grad(self) -> f64 {
        with_tape(|t| single(t, self, "grad").grad)
    }

    /// Overwrites the forward value, as `p.data += -lr * p.grad` does in
    /// micrograd. Nodes computed from this one are not recomputed.
    pub fn set_data(self, data: f64) {
        with_tape(|t| {
            single(t, self, "set_data");
            t.node_mut(self).data = data;
            t.note_write();
        });
    }

    /// Overwrites the gradient: the lecture's manual backpropagation, and
    /// `zero_grad` (`p.set_grad(0.0)`).
    pub fn set_grad(self, grad: f64) {
        with_tape(|t| {
            single(t, self, "set_grad");
            t.node_mut(self).grad = grad;
        });
    }

    /// The forward value of every lane of a batch; one number for a single
    /// value.
    pub fn data_lanes(self) -> Vec<f64> {
        with_tape(|t| {
            let i = t.index(self);
            t.note_lanes_read(i);
        });
        with_tape(|t| match t.lane_rows(self) {
            Some((data, _)) => data.to_vec(),
            None => vec![t.node(self).data],
        })
    }

    /// The gradient of every lane of a batch: each point's own
    /// d(root)/d(self); one number for a single value.
    pub fn grad_lanes(self) -> Vec<f64> {
        with_tape(|t| match t.lane_rows(self) {
            Some((_, grad)) => grad.to_vec(),
            None => vec![t.node(self).grad],
        })
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
        with_tape(|t| t.node(self).instr.op(&t.nodes))
    }

    /// Whether this node is a leaf (made by [`Value::new`], not by an op).
    pub fn is_leaf(self) -> bool {
        self.op() == Op::Leaf
    }

    /// The operands this node was computed from (micrograd's `_prev`), in
    /// operand order: `(a * b).children()` is `[a, b]`. For
    /// [`affine`](Value::affine) (and a neuron of [`dense`](Value::dense))
    /// the order is `b, w0, w1, ..., x0, x1, ...`.
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
    ///
    /// From a batch, every lane is seeded with 1: each lane then holds its
    /// own point's gradient, and a single value the sum over the lanes.
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
    #[inline]
    pub fn relu(self) -> Value {
        tape::unary(self, Unary::Relu)
    }

    /// The hyperbolic tangent, computed as the lecture does,
    /// `(e^2x - 1) / (e^2x + 1)`, so its numbers come out to the last digit;
    /// near 0 through `expm1` and beyond 19.5 as exactly 1, so it stays
    /// within 2.3 ulp of the truth and never gives NaN for a number
    /// (`tanh(1000) = 1`, where the lecture's formula gives inf/inf).
    #[inline]
    pub fn tanh(self) -> Value {
        tape::unary(self, Unary::Tanh)
    }

    /// `e^self`; overflows to infinity above about 709.78, as `f64::exp`.
    #[inline]
    pub fn exp(self) -> Value {
        tape::unary(self, Unary::Exp)
    }

    /// The natural logarithm. As `f64::ln`: `ln(0) = -inf`, and NaN for a
    /// negative input; its derivative `1/self` is then infinite or NaN.
    #[inline]
    pub fn ln(self) -> Value {
        tape::unary(self, Unary::Ln)
    }

    /// The logistic function `1 / (1 + e^-self)`, in [0, 1] for every input
    /// but NaN (`sigmoid(-1000) = 0`).
    #[inline]
    pub fn sigmoid(self) -> Value {
        tape::unary(self, Unary::Sigmoid)
    }

    /// `ln(1 + e^self)`, computed so that it never overflows
    /// (`softplus(1000) = 1000`); its derivative is the logistic function.
    #[inline]
    pub fn softplus(self) -> Value {
        tape::unary(self, Unary::Softplus)
    }

    /// The sine (of radians); d/dself = cos(self).
    #[inline]
    pub fn sin(self) -> Value {
        tape::unary(self, Unary::Sin)
    }

    /// The cosine (of radians); d/dself = -sin(self).
    #[inline]
    pub fn cos(self) -> Value {
        tape::unary(self, Unary::Cos)
    }

    /// The unit step: 1 where `self > 0`, else 0 (at 0 too). It is ReLU's
    /// derivative, as it appears in a gradient graph
    /// ([`gradients`](Value::gradients)); its own derivative is 0.
    #[inline]
    pub fn step(self) -> Value {
        tape::unary(self, Unary::Step)
    }

    /// The sum of a batch's lanes, in lane order, as one value: how a
    /// batch's loss becomes one number. d/dlane = 1 for every lane.
    ///
    /// # Panics
    ///
    /// If `self` is a single value.
    pub fn sum_lanes(self) -> Value {
        with_tape(|t| {
            let a = t.index(self);
            if t.nodes[a as usize].lanes == SINGLE {
                misuse(
                    "micrograd: sum_lanes sums a batch's lanes; this Value is a single number"
                        .into(),
                )
            }
            t.push(Instr::SumLanes(a))
        })
    }

    /// The mean of a batch's lanes: `sum_lanes() * (1.0 / lanes)`, as
    /// micrograd's demo takes the mean of its losses.
    ///
    /// # Panics
    ///
    /// If `self` is a single value.
    pub fn mean_lanes(self) -> Value {
        let n = self.lanes().unwrap_or(1) as f64;
        self.sum_lanes() * (1.0 / n)
    }

    /// `op(self)`, an elementwise primitive chosen at run time (the methods
    /// above each make their own closure, so that the rule's `match` on
    /// their `op` folds away).
    pub(crate) fn unary(self, op: Unary) -> Value {
        tape::unary(self, op)
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

    /// `Σ vᵢ·vᵢ` as one node, left to right: micrograd's
    /// `sum((p*p for p in params))` (the demo's L2 penalty), with its
    /// numbers and gradients to the bit, at the cost of one node. Drawn as
    /// micrograd's `*` and `+` nodes. The constant 0 for no values.
    ///
    /// ```
    /// use micrograd::Value;
    /// let p = [Value::new(3.0), Value::new(-2.0)];
    /// let l2 = Value::sum_squares(&p);
    /// l2.backward();
    /// assert_eq!(l2.data(), 13.0);
    /// assert_eq!((p[0].grad(), p[1].grad()), (6.0, -4.0));
    /// ```
    pub fn sum_squares(values: &[Value]) -> Value {
        with_tape(|t| t.sum_squares(values))
    }

    /// A layer of neurons over a batch: for each neuron `j`,
    /// `b[j] + Σₖ w[j][k]·x[k]` (`w` holds the weights row by row, one row
    /// of `x.len()` per neuron), the same sums as [`affine`](Value::affine)
    /// in every lane. The layer is computed, and differentiated, as one
    /// matrix product over the batch, with no fused multiply-add, so each
    /// lane holds the bits its point's own `affine` would. Each neuron is
    /// drawn, and has children, as an `affine` node.
    ///
    /// ```
    /// use micrograd::Value;
    /// let w: Vec<Value> = [1.0, 2.0, -1.0, 0.5].map(Value::new).to_vec(); // 2 neurons × 2 inputs
    /// let b = [Value::new(0.0), Value::new(1.0)];
    /// let x = [Value::batch(&[1.0, 2.0]), Value::batch(&[3.0, 4.0])];
    /// let out = Value::dense(&w, &b, &x);
    /// assert_eq!(out[0].data_lanes(), [1.0 + 2.0 * 3.0, 2.0 + 2.0 * 4.0]);
    /// assert_eq!(out[1].data_lanes(), [1.0 - 1.0 + 0.5 * 3.0, 1.0 - 2.0 + 0.5 * 4.0]);
    /// ```
    ///
    /// Inputs that are single values (or weights that are batches) are
    /// allowed, and give one `affine` node per neuron instead.
    ///
    /// # Panics
    ///
    /// If `w` does not hold `x.len()` weights per bias.
    pub fn dense(w: &[Value], b: &[Value], x: &[Value]) -> Vec<Value> {
        assert_eq!(
            w.len(),
            b.len() * x.len(),
            "micrograd: Value::dense needs one weight per neuron and input ({} neurons × {} inputs), got {}",
            b.len(),
            x.len(),
            w.len()
        );
        let mut out = Vec::with_capacity(b.len());
        // `chunks` of an empty slice yields nothing; a layer with no inputs
        // is its biases.
        let rows = (0..b.len()).map(|j| &w[j * x.len()..(j + 1) * x.len()]);
        with_tape(|t| t.dense(rows.zip(b.iter().copied()), x, &mut out));
        out
    }
}

/// `v`'s node, which must hold one number for `method`.
fn single<'t>(t: &'t Tape, v: Value, method: &str) -> &'t Node {
    let node = t.node(v);
    if node.lanes != SINGLE {
        batch_misuse(v, method, t.slab.width());
    }
    node
}

#[cold]
#[inline(never)]
pub(crate) fn batch_misuse(v: Value, method: &str, lanes: usize) -> ! {
    let (verb, instead) = if method.starts_with("set_") {
        (
            "sets",
            "a batch's numbers are computed or given whole (Value::batch)",
        )
    } else {
        (
            "reads",
            "use data_lanes/grad_lanes, or sum_lanes/mean_lanes for one number",
        )
    };
    misuse(format!(
        "micrograd: Value::{method} {verb} one number, but this Value (node {}) is a batch of \
         {lanes} lanes; {instead}",
        v.index
    ))
}

impl From<f64> for Value {
    fn from(data: f64) -> Value {
        Value::new(data)
    }
}

/// micrograd's `__repr__`: `Value(data=3.0, grad=1.0)`, numbers as Python
/// prints them; a batch as `Value(lanes=3, data=[1.0, 2.0, 4.0], grad=[...])`,
/// its first six lanes shown.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 6;
        let (data, grad, lanes) = with_tape(|t| match t.lane_rows(*self) {
            Some((data, grad)) => (
                data[..data.len().min(SHOWN)].to_vec(),
                grad[..grad.len().min(SHOWN)].to_vec(),
                Some(data.len()),
            ),
            None => {
                let node = t.node(*self);
                (vec![node.data], vec![node.grad], None)
            }
        });
        let Some(lanes) = lanes else {
            return write!(
                f,
                "Value(data={}, grad={})",
                PyFloat(data[0]),
                PyFloat(grad[0])
            );
        };
        let list = |f: &mut fmt::Formatter<'_>, xs: &[f64]| {
            f.write_str("[")?;
            for (i, &x) in xs.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", PyFloat(x))?;
            }
            if lanes > xs.len() {
                f.write_str(", ...")?;
            }
            f.write_str("]")
        };
        write!(f, "Value(lanes={lanes}, data=")?;
        list(f, &data)?;
        f.write_str(", grad=")?;
        list(f, &grad)?;
        f.write_str(")")
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
