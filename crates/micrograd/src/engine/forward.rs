//! A node's forward value, from its rule: one number, or a batch's lanes
//! computed lane by lane. And which nodes a node reads.

use super::dense::DenseOperands;
use super::lane_dot::LaneDots;
use super::lane_slab::{self, Arg, LaneSlab, SINGLE, Shape};
use super::node::{Instr, Node, affine_operands, operands, run};
use super::rules::{self, Apply, Apply2, Binary};

/// The forward value of a single-valued node, whose operands already
/// exist. Inlined into each constructor, where the `match` folds away.
#[inline(always)]
pub(crate) fn forward(instr: Instr, nodes: &[Node], edges: &[u32], slab: &LaneSlab) -> f64 {
    let x = |i: u32| nodes[i as usize].data;
    match instr {
        Instr::Leaf => unreachable!("leaves are created with their data"),
        Instr::Unary(op, a) => rules::unary::<f64, _>(op, One(x(a))),
        Instr::Add(a, b) => rules::binary::<f64, _>(Binary::Add, Two(x(a), x(b))),
        Instr::Mul(a, b) => rules::binary::<f64, _>(Binary::Mul, Two(x(a), x(b))),
        Instr::Pow(a, b) => rules::binary::<f64, _>(Binary::Pow, Two(x(a), x(b))),
        Instr::Powf(a, k) => rules::powf::<f64, _>(x(k), One(x(a))),
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
        Instr::LaneDot { .. } => {
            unreachable!("a block's entries are made together, in lane_dot.rs")
        }
    }
}

/// The value of elementwise primitive `op` at `x`: its rule, inlined
/// (for a constant `op`, the rule alone).
#[inline(always)]
pub(crate) fn unary(op: rules::Unary, x: f64) -> f64 {
    rules::unary::<f64, _>(op, One(x))
}

/// A rule's value of one number.
struct One(f64);

impl Apply<f64> for One {
    type Out = f64;
    #[inline(always)]
    fn rule(self, value: impl Fn(f64) -> f64, _: impl Fn(f64, f64, f64) -> f64) -> f64 {
        value(self.0)
    }
}

/// A two-operand rule's value of two numbers.
struct Two(f64, f64);

impl Apply2<f64> for Two {
    type Out = f64;
    #[inline(always)]
    fn rule(
        self,
        value: impl Fn(f64, f64) -> f64,
        _: impl Fn(f64, f64, f64, f64) -> (f64, f64),
    ) -> f64 {
        value(self.0, self.1)
    }
}

/// Whether `instr`'s node holds a batch: it does when an operand does,
/// but for a sum over the lanes, which makes one number of a batch.
#[inline(always)]
pub(crate) fn is_batched(instr: Instr, nodes: &[Node], edges: &[u32]) -> bool {
    let batched = |i: u32| nodes[i as usize].lanes != SINGLE;
    match instr {
        Instr::Leaf | Instr::SumLanes(_) | Instr::LaneDot { .. } => false,
        Instr::Add(a, b) | Instr::Mul(a, b) | Instr::Pow(a, b) => batched(a) || batched(b),
        Instr::Unary(_, a) | Instr::Powf(a, _) => batched(a),
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
    match instr {
        Instr::Leaf => unreachable!("leaves are created with their data"),
        Instr::Unary(op, a) => rules::unary::<f64, _>(op, Map1(out, arg(a))),
        Instr::Add(a, b) => rules::binary::<f64, _>(Binary::Add, Map2(out, arg(a), arg(b))),
        Instr::Mul(a, b) => rules::binary::<f64, _>(Binary::Mul, Map2(out, arg(a), arg(b))),
        Instr::Pow(a, b) => rules::binary::<f64, _>(Binary::Pow, Map2(out, arg(a), arg(b))),
        Instr::Powf(a, k) => rules::powf::<f64, _>(nodes[k as usize].data, Map1(out, arg(a))),
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
        Instr::Dense { .. } => unreachable!("a layer's neurons are made together, in dense.rs"),
        Instr::LaneDot { .. } => unreachable!("a block's entries are single values"),
    }
}

/// A rule's value, lane by lane, into the first slice.
struct Map1<'o, 'a>(&'o mut [f64], Arg<'a>);

impl Apply<f64> for Map1<'_, '_> {
    type Out = ();
    #[inline(always)]
    fn rule(self, value: impl Fn(f64) -> f64, _: impl Fn(f64, f64, f64) -> f64) {
        lane_slab::map1(self.0, self.1, value);
    }
}

/// A two-operand rule's value, lane by lane, into the first slice.
struct Map2<'o, 'a>(&'o mut [f64], Arg<'a>, Arg<'a>);

impl Apply2<f64> for Map2<'_, '_> {
    type Out = ();
    #[inline(always)]
    fn rule(self, value: impl Fn(f64, f64) -> f64, _: impl Fn(f64, f64, f64, f64) -> (f64, f64)) {
        lane_slab::map2(self.0, self.1, self.2, value);
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

/// [`sum_of_squares`] of a run of nodes, the same bits, with whether one
/// of them holds a batch learned on the way (in one read of each node):
/// `None` if one does.
pub(crate) fn sum_of_squares_of_singles(run: &[Node]) -> Option<f64> {
    let (sum, batched) = run.iter().fold((0.0, false), |(acc, batched), node| {
        let x = node.data;
        (acc + x * x, batched | (node.lanes != SINGLE))
    });
    (!batched).then_some(sum)
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
pub(crate) fn operand<'a>(nodes: &[Node], slab: &'a [f64], shape: Shape, i: u32) -> Arg<'a> {
    let node = &nodes[i as usize];
    if node.lanes == SINGLE {
        Arg::One(node.data)
    } else {
        Arg::Lanes(&slab[shape.span(node.lanes)])
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
        Instr::Unary(_, a) | Instr::Powf(a, _) | Instr::SumLanes(a) => f(a),
        Instr::Sum { start, len } | Instr::SumSquares { start, len } => {
            operands(edges, start, len).iter().for_each(|&c| f(c));
        }
        Instr::SumSquaresRun { first, len } => run(first, len).for_each(f),
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            f(b);
            w.iter().chain(x).for_each(|&c| f(c));
        }
        Instr::LaneDot { start, at } => {
            let (a, b) = LaneDots::at(edges, start).operands(at);
            f(a);
            f(b);
        }
        Instr::Dense { start, j } => {
            let layer = DenseOperands::at(edges, start);
            f(layer.bias(j as usize));
            layer.weights(j as usize).for_each(&mut f);
            layer.inputs().iter().for_each(|&c| f(c));
        }
    }
}
