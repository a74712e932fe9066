//! Every primitive's forward value and local derivative, side by side.
//!
//! `backward` is one exhaustive `match`: a new [`Instr`] does not compile
//! until it has a gradient rule here. Where micrograd (or the lecture's
//! version of it) defines an op, the arithmetic is written exactly as there,
//! operand for operand, so results agree bit for bit; where it does not, the
//! rule follows PyTorch's derivatives.yaml.
//!
//! Each rule is written once, for one number, and applied either to single
//! values or lane by lane to batches: a single value broadcasts to every
//! lane, and what it receives back is summed over the lanes in lane order.

use super::kernels::{self, Rows};
use super::lane_slab::{self, Arg, Into, LaneSlab, SINGLE, Shape};
use super::math;
use super::op::Instr;
use super::tape::Node;

/// The forward value of a single-valued node, whose operands already
/// exist. Inlined into each constructor, where the `match` folds away.
#[inline(always)]
pub(crate) fn forward(instr: Instr, nodes: &[Node], edges: &[u32], slab: &LaneSlab) -> f64 {
    let x = |i: u32| nodes[i as usize].data;
    match instr {
        Instr::Leaf => unreachable!("leaves are created with their data"),
        Instr::Add(a, b) => x(a) + x(b),
        Instr::Mul(a, b) => x(a) * x(b),
        Instr::Powf(a, k) => x(a).powf(x(k)),
        Instr::Pow(a, b) => x(a).powf(x(b)),
        Instr::Relu(a) => math::relu(x(a)),
        Instr::Tanh(a) => math::tanh(x(a)),
        Instr::Exp(a) => x(a).exp(),
        Instr::Ln(a) => x(a).ln(),
        Instr::Sigmoid(a) => math::sigmoid(x(a)),
        Instr::Softplus(a) => math::softplus(x(a)),
        // Lane order, from 0, as Python's `sum` over the points.
        Instr::SumLanes(a) => sum_row(&slab.data[slab.span(nodes[a as usize].lanes)]),
        // Left to right, as Python's `sum`.
        Instr::Sum { start, len } => sum_of(nodes, operands(edges, start, len)),
        // micrograd's demo: `sum((p*p for p in model.parameters()))`.
        Instr::SumSquares { start, len } => {
            sum_of_squares(nodes, operands(edges, start, len).iter().copied())
        }
        Instr::SumSquaresRun { first, len } => sum_of_squares(nodes, run(first, len)),
        // micrograd's Neuron: `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`.
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            affine(nodes, b, w, x)
        }
        Instr::Dense { .. } => unreachable!("a layer's neurons are made together, over a batch"),
    }
}

/// Whether `instr`'s node holds a batch: it does when an operand does,
/// but for a sum over the lanes, which makes one number of a batch.
#[inline(always)]
pub(crate) fn is_batched(instr: Instr, nodes: &[Node], edges: &[u32]) -> bool {
    let batched = |i: u32| nodes[i as usize].lanes != SINGLE;
    match instr {
        Instr::Leaf | Instr::SumLanes(_) => false,
        Instr::Add(a, b) | Instr::Mul(a, b) | Instr::Pow(a, b) => batched(a) || batched(b),
        Instr::Powf(a, _)
        | Instr::Relu(a)
        | Instr::Tanh(a)
        | Instr::Exp(a)
        | Instr::Ln(a)
        | Instr::Sigmoid(a)
        | Instr::Softplus(a) => batched(a),
        Instr::Sum { start, len } | Instr::SumSquares { start, len } => {
            operands(edges, start, len).iter().any(|&c| batched(c))
        }
        Instr::SumSquaresRun { first, len } => run(first, len).any(batched),
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            batched(b) || w.iter().chain(x).any(|&c| batched(c))
        }
        Instr::Dense { .. } => true,
    }
}

/// The lanes of a batched node: `out[n]` is `forward` of the operands'
/// numbers in lane `n`, computed the same way, so every lane holds the bits
/// its point's own graph would. `slab` holds the rows below `out`'s.
pub(crate) fn forward_lanes(
    instr: Instr,
    nodes: &[Node],
    edges: &[u32],
    slab: &[f64],
    shape: Shape,
    out: &mut [f64],
) {
    let arg = |i: u32| operand(nodes, slab, shape, i);
    let data = |i: u32| nodes[i as usize].data;
    match instr {
        Instr::Leaf => unreachable!("leaves are created with their data"),
        Instr::Add(a, b) => lane_slab::map2(out, arg(a), arg(b), |x, y| x + y),
        Instr::Mul(a, b) => lane_slab::map2(out, arg(a), arg(b), |x, y| x * y),
        Instr::Powf(a, k) => {
            let k = data(k);
            lane_slab::map1(out, arg(a), |x| x.powf(k));
        }
        Instr::Pow(a, b) => lane_slab::map2(out, arg(a), arg(b), f64::powf),
        Instr::Relu(a) => lane_slab::map1(out, arg(a), math::relu),
        Instr::Tanh(a) => lane_slab::map1(out, arg(a), math::tanh),
        Instr::Exp(a) => lane_slab::map1(out, arg(a), f64::exp),
        Instr::Ln(a) => lane_slab::map1(out, arg(a), f64::ln),
        Instr::Sigmoid(a) => lane_slab::map1(out, arg(a), math::sigmoid),
        Instr::Softplus(a) => lane_slab::map1(out, arg(a), math::softplus),
        Instr::SumLanes(_) => unreachable!("a sum over the lanes is a single value"),
        Instr::Sum { start, len } => {
            out.fill(0.0);
            for &c in operands(edges, start, len) {
                lane_slab::add_into(out, arg(c));
            }
        }
        Instr::SumSquares { start, len } => {
            out.fill(0.0);
            for &c in operands(edges, start, len) {
                lane_slab::add_product(out, arg(c), arg(c));
            }
        }
        Instr::SumSquaresRun { first, len } => {
            out.fill(0.0);
            for c in run(first, len) {
                lane_slab::add_product(out, arg(c), arg(c));
            }
        }
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            lane_slab::map1(out, arg(b), |v| v);
            for (&wi, &xi) in w.iter().zip(x) {
                lane_slab::add_product(out, arg(wi), arg(xi));
            }
        }
        Instr::Dense { .. } => unreachable!("a layer's neurons are made together, by Tape::dense"),
    }
}

// The loops of the n-ary instructions stay out of line so that their
// accumulator lives in a register rather than on the caller's stack.
#[inline(never)]
fn sum_of(nodes: &[Node], operands: &[u32]) -> f64 {
    operands
        .iter()
        .fold(0.0, |acc, &c| acc + nodes[c as usize].data)
}

#[inline(never)]
fn sum_of_squares(nodes: &[Node], operands: impl Iterator<Item = u32>) -> f64 {
    operands.fold(0.0, |acc, c| {
        let x = nodes[c as usize].data;
        acc + x * x
    })
}

/// The nodes `first..first + len`.
#[inline]
fn run(first: u32, len: u32) -> impl Iterator<Item = u32> + Clone {
    first..first + len
}

#[inline(never)]
fn sum_row(lanes: &[f64]) -> f64 {
    lane_slab::sum(lanes)
}

#[inline(never)]
fn affine(nodes: &[Node], b: u32, w: &[u32], x: &[u32]) -> f64 {
    let data = |i: u32| nodes[i as usize].data;
    w.iter()
        .zip(x)
        .fold(data(b), |acc, (&wi, &xi)| acc + data(wi) * data(xi))
}

/// Operand `i` as a lane kernel reads it.
#[inline(always)]
fn operand<'a>(nodes: &[Node], slab: &'a [f64], shape: Shape, i: u32) -> Arg<'a> {
    let node = &nodes[i as usize];
    if node.lanes == SINGLE {
        Arg::One(node.data)
    } else {
        Arg::Lanes(&slab[shape.span(node.lanes)])
    }
}

/// Where `backward` sends each local contribution d(root)/d(child).
pub(crate) trait GradSink {
    /// Adds `contribution` to single value `child`'s gradient.
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64);

    /// How a contribution reaches batched `child`'s gradient row, which
    /// is about to receive one.
    fn reach_lanes(&mut self, nodes: &mut [Node], child: u32) -> Into;

    /// Adds `contributions[i]` to single value `first + i`'s gradient.
    #[inline]
    fn add_run(&mut self, nodes: &mut [Node], first: usize, contributions: &[f64]) {
        for (i, &c) in contributions.iter().enumerate() {
            // The nodes exist, so their indices fit in u32.
            self.add(nodes, (first + i) as u32, c);
        }
    }

    /// Which neurons of a layer (nodes `first..first + count`) take part
    /// when node `this`, one of them, is differentiated; `None` for none,
    /// when another neuron already did the layer's work.
    fn layer_part(
        &mut self,
        nodes: &[Node],
        first: usize,
        count: usize,
        this: usize,
    ) -> Option<Part>;

    /// Whether this sweep has reached node `node`.
    fn reached(&self, node: usize) -> bool;
}

/// The neurons of a layer whose gradients a layer's backward uses.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part {
    /// Those the sweep has reached.
    Reached,
    /// Just this node.
    Only(usize),
}

/// What a node's backward rule reads and writes.
pub(crate) struct Grads<'a> {
    pub(crate) nodes: &'a mut [Node],
    pub(crate) edges: &'a [u32],
    /// The weights layers over a batch were computed with.
    pub(crate) saved: &'a [f64],
    pub(crate) slab: &'a mut LaneSlab,
    pub(crate) scratch: &'a mut Scratch,
}

impl Grads<'_> {
    /// What node `i`'s rule over lanes reads and writes, with the buffers.
    fn lanes(&mut self, i: usize) -> (LaneGrads<'_>, &mut Scratch) {
        let Grads {
            nodes,
            edges,
            saved,
            slab,
            scratch,
        } = self;
        let shape = slab.shape;
        let node = &nodes[i];
        let LaneSlab { data, grad, .. } = &mut **slab;
        let (split, own_rows) = match (node.lanes, node.instr) {
            (SINGLE, _) => (grad.len(), 0),
            // A layer's neurons own consecutive rows, differentiated together.
            (row, Instr::Dense { start, j }) => {
                let layer = DenseOperands::at(edges, start);
                (shape.start(row - j), layer.j_count)
            }
            (row, _) => (shape.start(row), 1),
        };
        let (below, above) = grad.split_at_mut(split);
        let view = LaneGrads {
            nodes,
            edges,
            saved,
            data,
            below,
            own: &above[..own_rows * shape.stride],
            shape,
        };
        (view, scratch)
    }
}

/// What a node's rule over lanes reads and writes.
struct LaneGrads<'a> {
    nodes: &'a mut [Node],
    edges: &'a [u32],
    /// The weights layers over a batch were computed with.
    saved: &'a [f64],
    /// Every row's forward lanes.
    data: &'a [f64],
    /// The gradient rows below the node's own: its operands'.
    below: &'a mut [f64],
    /// The node's own gradient rows (a layer's: its neurons' rows, one
    /// after the other), padding included; empty for a single value.
    own: &'a [f64],
    shape: Shape,
}

/// Buffers a layer's backward reuses from call to call.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) b: Vec<f64>,
    pub(crate) g: Vec<f64>,
    pub(crate) dx: Vec<f64>,
    pub(crate) dw: Vec<f64>,
    pub(crate) db: Vec<f64>,
    pub(crate) starts: Vec<usize>,
    pub(crate) transposed: Vec<f64>,
    /// What a single value receives, lane by lane, before it is summed.
    pub(crate) lanes: Vec<f64>,
    /// Which neurons of a layer take part in its backward.
    pub(crate) taking: Vec<bool>,
}

/// Sends `local(x[n], y[n], o[n], g[n])` of every lane to `child`: lane by
/// lane, straight into a batch's gradient row; summed over the lanes in
/// lane order (through `buffer`) to a single value.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn give_local(
    t: &mut LaneGrads<'_>,
    buffer: &mut Vec<f64>,
    sink: &mut impl GradSink,
    child: u32,
    (x, y): (Arg<'_>, Arg<'_>),
    o: &[f64],
    g: &[f64],
    local: impl Fn(f64, f64, f64, f64) -> f64,
) {
    let row = t.nodes[child as usize].lanes;
    if row == SINGLE {
        buffer.resize(t.shape.width, 0.0);
        lane_slab::local_lanes(buffer, Into::Replace, x, y, o, g, local);
        sink.add(t.nodes, child, lane_slab::sum(buffer));
    } else {
        let into = sink.reach_lanes(t.nodes, child);
        let span = t.shape.span(row);
        lane_slab::local_lanes(&mut t.below[span], into, x, y, o, g, local);
    }
}

/// Sends `contribution[n]` of every lane to `child`.
#[inline(always)]
fn give(
    t: &mut LaneGrads<'_>,
    buffer: &mut Vec<f64>,
    sink: &mut impl GradSink,
    child: u32,
    contribution: &[f64],
) {
    let c = Arg::Lanes(contribution);
    give_local(
        t,
        buffer,
        sink,
        child,
        (c, c),
        contribution,
        contribution,
        |c, _, _, _| c,
    );
}

/// Lane `n` of a batched node's own gradient row.
#[inline(always)]
fn own_lanes<'a>(t: &LaneGrads<'a>) -> &'a [f64] {
    &t.own[..t.shape.width]
}

/// Applies node `i`'s local gradient rule: each operand receives
/// `local derivative × i's gradient`, as micrograd's `_backward`. Inlined
/// into the sweep; the rules over lanes are calls out of line.
#[inline(always)]
pub(crate) fn backward(i: usize, t: &mut Grads<'_>, sink: &mut impl GradSink) {
    let instr = t.nodes[i].instr;
    match instr {
        Instr::Leaf => {}
        // d(a+b)/da = d(a+b)/db = 1
        Instr::Add(a, b) => binary(t, sink, i, a, b, |_, _, _, g| (g, g)),
        // d(ab)/da = b, d(ab)/db = a
        Instr::Mul(a, b) => binary(t, sink, i, a, b, |x, y, _, g| (y * g, x * g)),
        // d(a^k)/da = k·a^(k-1), and 0 for k = 0 (PyTorch's pow_backward;
        // 0·0^-1 would be NaN); the exponent is a constant and gets nothing.
        Instr::Powf(a, k) => {
            let k = t.nodes[k as usize].data;
            unary(t, sink, i, a, move |x, _, g| {
                if k == 0.0 {
                    0.0
                } else {
                    (k * x.powf(k - 1.0)) * g
                }
            });
        }
        // d(a^b)/da = b·a^(b-1), 0 for b = 0 (PyTorch's pow_backward_self);
        // d(a^b)/db = a^b·ln(a), 0 where a = 0 and b >= 0
        // (pow_backward_exponent).
        Instr::Pow(a, b) => binary(t, sink, i, a, b, |base, exponent, out, g| {
            let da = if exponent == 0.0 {
                0.0
            } else {
                (exponent * base.powf(exponent - 1.0)) * g
            };
            let db = if base == 0.0 && exponent >= 0.0 {
                0.0
            } else {
                (out * base.ln()) * g
            };
            (da, db)
        }),
        // d relu(a)/da = 1 if relu(a) > 0 else 0 (micrograd: `(out.data > 0) * out.grad`).
        Instr::Relu(a) => unary(t, sink, i, a, |_, out, g| {
            f64::from(u8::from(out > 0.0)) * g
        }),
        // d tanh(a)/da = 1 - tanh²(a) (the lecture: `(1 - t**2) * out.grad`).
        Instr::Tanh(a) => unary(t, sink, i, a, |_, out, g| (1.0 - out * out) * g),
        // d e^a/da = e^a (the lecture: `out.data * out.grad`).
        Instr::Exp(a) => unary(t, sink, i, a, |_, out, g| out * g),
        // d ln(a)/da = 1/a (PyTorch: `grad / self`).
        Instr::Ln(a) => unary(t, sink, i, a, |x, _, g| g / x),
        // d σ(a)/da = σ(a)(1 - σ(a)) (PyTorch: `grad * (1 - out) * out`).
        Instr::Sigmoid(a) => unary(t, sink, i, a, |_, out, g| g * (1.0 - out) * out),
        // d ln(1 + e^a)/da = σ(a) (PyTorch's softplus_backward: `grad * z / (z + 1)`, z = e^a).
        Instr::Softplus(a) => unary(t, sink, i, a, |x, _, g| g * math::sigmoid(x)),
        // d(Σₙ aₙ)/daₙ = 1: every lane receives the sum's gradient.
        Instr::SumLanes(a) => sum_lanes_backward(t, sink, i, a),
        // d(Σ cᵢ)/dcᵢ = 1
        Instr::Sum { start, len } => {
            if t.nodes[i].lanes == SINGLE {
                let g = t.nodes[i].grad;
                for &c in operands(t.edges, start, len) {
                    sink.add(t.nodes, c, g);
                }
            } else {
                sum_backward_lanes(t, sink, i, start, len);
            }
        }
        // d(Σ cᵢ²)/dcᵢ = 2cᵢ, given as micrograd's `cᵢ*cᵢ` node gives it: `cᵢ·g`
        // once for each factor.
        Instr::SumSquares { start, len } => {
            if t.nodes[i].lanes == SINGLE {
                let g = t.nodes[i].grad;
                for &c in operands(t.edges, start, len) {
                    let dc = t.nodes[c as usize].data * g;
                    sink.add(t.nodes, c, dc);
                    sink.add(t.nodes, c, dc);
                }
            } else {
                let listed = operands(t.edges, start, len).iter().copied();
                sum_squares_backward_lanes(t, sink, i, listed);
            }
        }
        // The same for a run of nodes, its contributions given as runs.
        Instr::SumSquaresRun { first, len } => {
            if t.nodes[i].lanes == SINGLE {
                let g = t.nodes[i].grad;
                let nodes = &t.nodes[first as usize..][..len as usize];
                let dc = &mut t.scratch.lanes;
                dc.clear();
                dc.extend(nodes.iter().map(|node| node.data * g));
                sink.add_run(t.nodes, first as usize, dc);
                sink.add_run(t.nodes, first as usize, dc);
            } else {
                sum_squares_backward_lanes(t, sink, i, run(first, len));
            }
        }
        // d(b + Σ wᵢxᵢ)/db = 1, /dwᵢ = xᵢ, /dxᵢ = wᵢ: micrograd's chain of `+`
        // passes g unchanged to each product, whose `*` rule gives these.
        Instr::Affine { start, len } => {
            let (b, w, xs) = affine_operands(t.edges, start, len);
            if t.nodes[i].lanes == SINGLE {
                let g = t.nodes[i].grad;
                sink.add(t.nodes, b, g);
                for (&wi, &xi) in w.iter().zip(xs) {
                    let (dw, dx) = (t.nodes[xi as usize].data * g, t.nodes[wi as usize].data * g);
                    sink.add(t.nodes, wi, dw);
                    sink.add(t.nodes, xi, dx);
                }
            } else {
                affine_backward_lanes(t, sink, i, start, len);
            }
        }
        // The same for each neuron of a layer, the whole layer at once.
        Instr::Dense { start, j } => dense_backward(t, sink, i, start, j as usize),
    }
}

/// A one-operand rule `local(x, out, g)` (the operand's number, the
/// node's, its gradient), applied to a single value or lane by lane.
#[inline(always)]
fn unary(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    local: impl Fn(f64, f64, f64) -> f64,
) {
    let node = t.nodes[i];
    if node.lanes == SINGLE {
        let da = local(t.nodes[a as usize].data, node.data, node.grad);
        sink.add(t.nodes, a, da);
    } else {
        unary_lanes(t, sink, i, a, local);
    }
}

#[inline(never)]
fn unary_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    local: impl Fn(f64, f64, f64) -> f64,
) {
    let (mut t, scratch) = t.lanes(i);
    let (data, g) = (t.data, own_lanes(&t));
    let x = operand(t.nodes, data, t.shape, a);
    let out = &data[t.shape.span(t.nodes[i].lanes)];
    give_local(
        &mut t,
        &mut scratch.lanes,
        sink,
        a,
        (x, x),
        out,
        g,
        |x, _, o, g| local(x, o, g),
    );
}

/// A two-operand rule `local(x, y, out, g) = (d/dx, d/dy)`, applied to
/// single values or lane by lane.
#[inline(always)]
fn binary(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    b: u32,
    local: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) {
    let node = t.nodes[i];
    if node.lanes == SINGLE {
        let (x, y) = (t.nodes[a as usize].data, t.nodes[b as usize].data);
        let (da, db) = local(x, y, node.data, node.grad);
        sink.add(t.nodes, a, da);
        sink.add(t.nodes, b, db);
    } else {
        binary_lanes(t, sink, i, a, b, local);
    }
}

#[inline(never)]
fn binary_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    b: u32,
    local: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) {
    let (mut t, scratch) = t.lanes(i);
    let (data, g) = (t.data, own_lanes(&t));
    let x = operand(t.nodes, data, t.shape, a);
    let y = operand(t.nodes, data, t.shape, b);
    let out = &data[t.shape.span(t.nodes[i].lanes)];
    let (buffer, xy) = (&mut scratch.lanes, (x, y));
    give_local(&mut t, buffer, sink, a, xy, out, g, |x, y, o, g| {
        local(x, y, o, g).0
    });
    give_local(&mut t, buffer, sink, b, xy, out, g, |x, y, o, g| {
        local(x, y, o, g).1
    });
}

#[inline(never)]
fn sum_lanes_backward(t: &mut Grads<'_>, sink: &mut impl GradSink, i: usize, a: u32) {
    let (mut t, scratch) = t.lanes(i);
    let g = Arg::One(t.nodes[i].grad);
    // The operand's lanes stand in for the rule's unused `out` and `g`.
    let lanes = &t.data[t.shape.span(t.nodes[a as usize].lanes)];
    give_local(
        &mut t,
        &mut scratch.lanes,
        sink,
        a,
        (g, g),
        lanes,
        lanes,
        |g, _, _, _| g,
    );
}

#[inline(never)]
fn sum_backward_lanes(t: &mut Grads<'_>, sink: &mut impl GradSink, i: usize, start: u32, len: u32) {
    let (mut t, scratch) = t.lanes(i);
    let g = own_lanes(&t);
    for &c in operands(t.edges, start, len) {
        give(&mut t, &mut scratch.lanes, sink, c, g);
    }
}

#[inline(never)]
fn sum_squares_backward_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    operands: impl Iterator<Item = u32>,
) {
    let (mut t, scratch) = t.lanes(i);
    let (data, g) = (t.data, own_lanes(&t));
    for c in operands {
        let x = operand(t.nodes, data, t.shape, c);
        for _ in 0..2 {
            give_local(
                &mut t,
                &mut scratch.lanes,
                sink,
                c,
                (x, x),
                g,
                g,
                |x, _, _, g| x * g,
            );
        }
    }
}

#[inline(never)]
fn affine_backward_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    start: u32,
    len: u32,
) {
    let (mut t, scratch) = t.lanes(i);
    let (b, w, xs) = affine_operands(t.edges, start, len);
    let (data, g) = (t.data, own_lanes(&t));
    let buffer = &mut scratch.lanes;
    give(&mut t, buffer, sink, b, g);
    for (&wi, &xi) in w.iter().zip(xs) {
        let wx = (
            operand(t.nodes, data, t.shape, wi),
            operand(t.nodes, data, t.shape, xi),
        );
        give_local(&mut t, buffer, sink, wi, wx, g, g, |_, x, _, g| x * g);
        give_local(&mut t, buffer, sink, xi, wx, g, g, |w, _, _, g| w * g);
    }
}

/// A layer's backward: what its inputs, weights and biases receive from
/// the neurons that take part, through the layer kernels. Equal to each
/// neuron's `Affine` rule, with every sum over the lanes in lane order and
/// every input's contributions added over the neurons from the last.
#[inline(never)]
fn dense_backward(t: &mut Grads<'_>, sink: &mut impl GradSink, i: usize, start: u32, j: usize) {
    let (mut t, scratch) = t.lanes(i);
    let t = &mut t;
    let layer = DenseOperands::at(t.edges, start);
    let (j_count, k_count) = (layer.j_count, layer.k_count);
    let Shape { width, stride } = t.shape;
    let first = i - j;
    let Some(part) = sink.layer_part(t.nodes, first, j_count, i) else {
        return;
    };
    let Scratch {
        g,
        dx,
        dw,
        db,
        starts,
        transposed,
        lanes,
        taking,
        ..
    } = scratch;
    taking.clear();
    taking.extend((0..j_count).map(|jj| match part {
        Part::Reached => sink.reached(first + jj),
        Part::Only(node) => first + jj == node,
    }));
    let w = layer.saved_weights(t.saved);
    g.clear();
    starts.clear();
    for (&takes_part, own) in taking.iter().zip(t.own.chunks_exact(stride)) {
        if takes_part {
            g.extend_from_slice(own);
        } else {
            g.resize(g.len() + stride, 0.0);
        }
    }
    starts.extend(
        layer
            .inputs()
            .iter()
            .map(|&c| t.shape.start(t.nodes[c as usize].lanes)),
    );

    // Every entry is written by the kernel.
    dx.resize(k_count * stride, 0.0);
    kernels::dense_input_grads(w, g, stride, dx);
    for (k, &xk) in layer.inputs().iter().enumerate() {
        give(t, lanes, sink, xk, &dx[k * stride..k * stride + width]);
    }

    dw.resize(j_count * k_count, 0.0);
    db.resize(j_count, 0.0);
    let x = Rows {
        slab: t.data,
        starts,
        width: stride,
    };
    kernels::dense_weight_grads(g, x, width, dw, db, transposed);
    let neurons = taking
        .iter()
        .enumerate()
        .filter(|&(_, &takes_part)| takes_part);
    for (jj, _) in neurons {
        let dwj = &dw[jj * k_count..(jj + 1) * k_count];
        match layer.params() {
            Params::Run(first) => {
                let weights = first as usize + jj * (k_count + 1);
                sink.add_run(t.nodes, weights, dwj);
            }
            Params::Listed(_) => {
                for (wjk, &d) in layer.weights(jj).zip(dwj) {
                    sink.add(t.nodes, wjk, d);
                }
            }
        }
        sink.add(t.nodes, layer.bias(jj), db[jj]);
    }
}

/// A layer's operand list, as [`Instr::Dense`] lays it out: the header
/// `J, K`, where its weights are saved (two u32, low first), and where its
/// parameters are: the first node of a run of consecutive nodes (the usual
/// case: a model's parameters are made in order), or `LISTED` followed by
/// the parameters' nodes; then the `K` inputs. Either way the parameters go
/// neuron by neuron, its `K` weights then its bias (micrograd's
/// `parameters()` order).
pub(crate) struct DenseOperands<'e> {
    pub(crate) j_count: usize,
    pub(crate) k_count: usize,
    saved: usize,
    params: Params<'e>,
    inputs: &'e [u32],
}

/// Where a layer's parameters are.
#[derive(Clone, Copy)]
pub(crate) enum Params<'e> {
    /// Consecutive nodes from this one.
    Run(u32),
    /// These nodes.
    Listed(&'e [u32]),
}

/// The length of a layer's operand list before its parameters.
pub(crate) const DENSE_HEADER: usize = 5;

/// The header's run entry when the parameters are listed.
pub(crate) const LISTED: u32 = u32::MAX;

/// A u64 as two u32, low first.
pub(crate) fn split_u64(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

impl<'e> DenseOperands<'e> {
    #[inline]
    pub(crate) fn at(edges: &'e [u32], start: u32) -> DenseOperands<'e> {
        let start = start as usize;
        let header = &edges[start..start + DENSE_HEADER];
        let (j_count, k_count) = (header[0] as usize, header[1] as usize);
        let saved = u64::from(header[2]) | u64::from(header[3]) << 32;
        let mut rest = start + DENSE_HEADER;
        let params = if header[4] == LISTED {
            let listed = &edges[rest..rest + j_count * (k_count + 1)];
            rest += listed.len();
            Params::Listed(listed)
        } else {
            Params::Run(header[4])
        };
        DenseOperands {
            j_count,
            k_count,
            // It indexed `saved` when it was written, so it fits in usize.
            saved: saved as usize,
            params,
            inputs: &edges[rest..rest + k_count],
        }
    }

    /// The weights the layer was computed with, `J×K` row by row: what its
    /// backward uses, as PyTorch's saved tensors (micrograd would read the
    /// weights at backward time; they only differ if a weight is changed
    /// in between).
    #[inline]
    pub(crate) fn saved_weights<'s>(&self, saved: &'s [f64]) -> &'s [f64] {
        &saved[self.saved..self.saved + self.j_count * self.k_count]
    }

    /// Where the parameters are.
    #[inline]
    pub(crate) fn params(&self) -> Params<'e> {
        self.params
    }

    /// Parameter `i` of neuron `j`: weight `i`, or the bias for `i = K`.
    #[inline]
    fn param(&self, j: usize, i: usize) -> u32 {
        let at = j * (self.k_count + 1) + i;
        match self.params {
            // The run's nodes exist, so their indices fit in u32.
            Params::Run(first) => first + at as u32,
            Params::Listed(listed) => listed[at],
        }
    }

    /// Neuron `j`'s weights.
    #[inline]
    pub(crate) fn weights(&self, j: usize) -> impl Iterator<Item = u32> + '_ {
        (0..self.k_count).map(move |k| self.param(j, k))
    }

    /// Neuron `j`'s bias.
    #[inline]
    pub(crate) fn bias(&self, j: usize) -> u32 {
        self.param(j, self.k_count)
    }

    /// The layer's inputs.
    #[inline]
    pub(crate) fn inputs(&self) -> &'e [u32] {
        self.inputs
    }
}

/// Calls `f` with each operand of `instr` that is part of the graph (a
/// `Powf`'s hidden exponent is not), in order; a layer's neuron has the
/// operands of an `Affine`: its bias, its weights, the inputs.
#[inline]
pub(crate) fn for_each_operand(instr: Instr, edges: &[u32], mut f: impl FnMut(u32)) {
    match instr {
        Instr::Leaf => {}
        Instr::Add(a, b) | Instr::Mul(a, b) | Instr::Pow(a, b) => {
            f(a);
            f(b);
        }
        Instr::Powf(a, _)
        | Instr::Relu(a)
        | Instr::Tanh(a)
        | Instr::Exp(a)
        | Instr::Ln(a)
        | Instr::Sigmoid(a)
        | Instr::Softplus(a)
        | Instr::SumLanes(a) => f(a),
        Instr::Sum { start, len } | Instr::SumSquares { start, len } => {
            operands(edges, start, len).iter().for_each(|&c| f(c));
        }
        Instr::SumSquaresRun { first, len } => run(first, len).for_each(f),
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            f(b);
            w.iter().chain(x).for_each(|&c| f(c));
        }
        Instr::Dense { start, j } => {
            let layer = DenseOperands::at(edges, start);
            f(layer.bias(j as usize));
            layer.weights(j as usize).for_each(&mut f);
            layer.inputs().iter().for_each(|&c| f(c));
        }
    }
}

/// A `Sum` node's operands (ranges in usize: no u32 overflow).
#[inline]
fn operands(edges: &[u32], start: u32, len: u32) -> &[u32] {
    &edges[start as usize..start as usize + len as usize]
}

/// An `Affine` node's operands: its bias, weights and inputs.
#[inline]
fn affine_operands(edges: &[u32], start: u32, len: u32) -> (u32, &[u32], &[u32]) {
    let (start, len) = (start as usize, len as usize);
    let (w, x) = edges[start + 1..start + 1 + 2 * len].split_at(len);
    (edges[start], w, x)
}
