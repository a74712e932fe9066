//! One node of the graph, and the instruction that made it.

use super::op::Op;
use super::rules::Unary;

/// One node of the graph: micrograd's `Value` minus the Python object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) data: f64,
    pub(crate) grad: f64,
    pub(crate) instr: Instr,
    /// The tape generation this node was created in; see the tape's
    /// `truncate`.
    pub(crate) generation: u64,
    /// The row of this node's lanes in the slab; `SINGLE` for a single
    /// number (in `data` and `grad`, which a batched node leaves unused).
    pub(crate) lanes: u32,
}

/// One tape instruction: the primitive that produced a node and the indices of
/// its operands. Operands always have smaller indices than the node itself, so
/// creation order is a topological order. Every instruction fits in twelve
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Instr {
    /// An input or parameter: no operands.
    Leaf,
    /// An elementwise primitive of one operand (`relu`, `tanh`, `sin`, ...).
    Unary(Unary, u32),
    /// `a + b`. The three two-operand primitives are instructions of their
    /// own, not one `Binary(op, ..)`: `+` and `*` are most of a graph's
    /// nodes, and a flat `match` dispatches them in one jump (callgrind, the
    /// bench's node-by-node step: 2.7% fewer instructions in `backward`).
    Add(u32, u32),
    /// `a * b`.
    Mul(u32, u32),
    /// `a ** b` (a node as exponent).
    Pow(u32, u32),
    /// `a ** k` for a constant `k`, stored as the data of a hidden leaf node
    /// (the second index).
    Powf(u32, u32),
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
    /// list at `edges[start..]` is `dense.rs`'s to write and read.
    Dense { start: u32, j: u32 },
    /// Entry `at = j·K + k` of a block of `Σₙ a[j][n]·b[k][n]` over the
    /// lanes (a layer's weight gradients in a gradient graph): the block's
    /// `J·K` nodes are made together, consecutive, and differentiated
    /// together; their operand list at `edges[start..]` is `lane_dot.rs`'s.
    LaneDot { start: u32, at: u32 },
}

impl Instr {
    /// The op a user sees (micrograd's `_op`); `nodes` holds a `Powf`'s
    /// hidden exponent.
    pub(crate) fn op(self, nodes: &[Node]) -> Op {
        match self {
            Instr::Leaf => Op::Leaf,
            Instr::Unary(op, _) => op.into(),
            Instr::Add(..) => Op::Add,
            Instr::Mul(..) => Op::Mul,
            Instr::Pow(..) => Op::Pow,
            Instr::Powf(_, k) => Op::Powf(nodes[k as usize].data),
            Instr::SumLanes(_) => Op::SumLanes,
            Instr::Sum { .. } => Op::Sum,
            Instr::SumSquares { .. } | Instr::SumSquaresRun { .. } => Op::SumSquares,
            Instr::Affine { .. } | Instr::Dense { .. } => Op::Affine,
            Instr::LaneDot { .. } => Op::LaneDot,
        }
    }
}

/// A `Sum` node's operands (ranges in usize: no u32 overflow).
#[inline]
pub(crate) fn operands(edges: &[u32], start: u32, len: u32) -> &[u32] {
    &edges[start as usize..start as usize + len as usize]
}

/// An `Affine` node's operands: its bias, weights and inputs.
#[inline]
pub(crate) fn affine_operands(edges: &[u32], start: u32, len: u32) -> (u32, &[u32], &[u32]) {
    let (start, len) = (start as usize, len as usize);
    let (w, x) = edges[start + 1..start + 1 + 2 * len].split_at(len);
    (edges[start], w, x)
}

/// The nodes `first..first + len`.
#[inline]
pub(crate) fn run(first: u32, len: u32) -> impl Iterator<Item = u32> + Clone {
    first..first + len
}

// Nodes are what the sweep walks: an instruction stays twelve bytes, a
// node forty.
const _: () = assert!(std::mem::size_of::<Instr>() == 12 && std::mem::size_of::<Node>() == 40);
