//! A node's backward, from its rule: each operand receives `local
//! derivative × the node's gradient`, as micrograd's `_backward`, for a
//! single value or lane by lane, through a [`GradSink`]. The one exhaustive
//! `match` over [`Instr`]: a new instruction does not compile until it has
//! a rule here.

use super::dense;
use super::forward::operand;
use super::grads::{GradSink, Grads, give, give_local};
use super::lane_dot;
use super::lane_slab::{Arg, SINGLE};
use super::node::{Instr, Node, affine_operands, operands, run};
use super::rules::{self, Apply, Binary, Local, Local2, Unary, mul_grad};

/// Applies node `i`'s local gradient rule. Inlined into the sweep; the
/// rules over lanes are calls out of line.
#[inline(always)]
pub(crate) fn backward(i: usize, t: &mut Grads<'_>, sink: &mut impl GradSink) {
    let instr = t.nodes[i].instr;
    match instr {
        Instr::Leaf => {}
        // Over lanes, the op is matched once, outside the lane loop: each
        // op's rule gets its own loop (`UnaryLanes`).
        Instr::Unary(op, a) if t.nodes[i].lanes != SINGLE => {
            rules::unary(op, UnaryLanes { t, sink, i, a });
        }
        Instr::Unary(op, a) => unary(t, sink, i, a, |at| rules::unary(op, at)),
        Instr::Add(a, b) => binary(t, sink, i, a, b, |at| rules::binary(Binary::Add, at)),
        Instr::Mul(a, b) => binary(t, sink, i, a, b, |at| rules::binary(Binary::Mul, at)),
        Instr::Pow(a, b) => binary(t, sink, i, a, b, |at| rules::binary(Binary::Pow, at)),
        // The exponent is a constant and gets nothing.
        Instr::Powf(a, k) => {
            let k = t.nodes[k as usize].data;
            unary(t, sink, i, a, |at| rules::powf(k, at));
        }
        // d(Σₙ aₙ)/daₙ = 1: every lane receives the sum's gradient.
        Instr::SumLanes(a) => sum_lanes_backward(t, sink, i, a),
        // d(Σ cᵢ)/dcᵢ = 1, the `+` rule.
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
        // d(Σ cᵢ²)/dcᵢ = 2cᵢ, given as micrograd's `cᵢ*cᵢ` node gives it:
        // the `*` rule, once for each factor.
        Instr::SumSquares { start, len } => {
            if t.nodes[i].lanes == SINGLE {
                let g = t.nodes[i].grad;
                for &c in operands(t.edges, start, len) {
                    let x = t.nodes[c as usize].data;
                    let (dc, _) = mul_grad(x, x, 0.0, g);
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
                dc.extend(
                    nodes
                        .iter()
                        .map(|node| mul_grad(node.data, node.data, 0.0, g).0),
                );
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
                    let (w, x) = (t.nodes[wi as usize].data, t.nodes[xi as usize].data);
                    let (dw, dx) = mul_grad(w, x, 0.0, g);
                    sink.add(t.nodes, wi, dw);
                    sink.add(t.nodes, xi, dx);
                }
            } else {
                affine_backward_lanes(t, sink, i, start, len);
            }
        }
        // The same for each neuron of a layer, the whole layer at once.
        Instr::Dense { start, j } => dense::backward(t, sink, i, start, j as usize),
        // d(Σₙ aₙbₙ)/daₙ = bₙ, /dbₙ = aₙ: the `*` rule in every lane, the
        // whole block at once.
        Instr::LaneDot { start, at } => lane_dot::backward(t, sink, i, start, at),
    }
}

/// A one-operand rule, `rule(at)` applying it to what `at` holds, for node
/// `i` and its operand `a`: to a single value, or lane by lane. The single
/// value's rule gets numbers, not references (a struct of references to
/// the sweep's state would make it escape, and its loop reload it).
#[inline(always)]
fn unary<S: GradSink>(
    t: &mut Grads<'_>,
    sink: &mut S,
    i: usize,
    a: u32,
    rule: impl Fn(Local<f64>) -> f64 + Copy,
) {
    if t.nodes[i].lanes == SINGLE {
        unary_single(t.nodes, sink, i, a, rule);
    } else {
        unary_lanes(t, sink, i, a, move |x, out, g| rule(Local { x, out, g }));
    }
}

/// A one-operand rule applied to a single value: node `i` and its
/// operand `a`. The sweep's hot path for the elementwise ops (`sweep.rs`).
#[inline(always)]
pub(crate) fn unary_single<S: GradSink>(
    nodes: &mut [Node],
    sink: &mut S,
    i: usize,
    a: u32,
    rule: impl Fn(Local<f64>) -> f64,
) {
    let node = &nodes[i];
    let da = rule(Local {
        x: nodes[a as usize].data,
        out: node.data,
        g: node.grad,
    });
    sink.add(nodes, a, da);
}

/// What the operand of elementwise primitive `op` receives: its rule on
/// numbers, out of line (one `match` over the ops, kept out of the sweep's
/// loop).
#[inline(never)]
pub(crate) fn unary_rule(op: Unary, at: Local<f64>) -> f64 {
    rules::unary(op, at)
}

/// A one-operand rule applied to node `i`'s lanes.
struct UnaryLanes<'t, 'g, 's, S> {
    t: &'t mut Grads<'g>,
    sink: &'s mut S,
    i: usize,
    a: u32,
}

impl<S: GradSink> Apply<f64> for UnaryLanes<'_, '_, '_, S> {
    type Out = ();
    #[inline(always)]
    fn rule(self, _: impl Fn(f64) -> f64, grad: impl Fn(f64, f64, f64) -> f64) {
        unary_lanes(self.t, self.sink, self.i, self.a, grad);
    }
}

#[inline(never)]
fn unary_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    grad: impl Fn(f64, f64, f64) -> f64,
) {
    let (mut t, scratch) = t.lanes(i);
    let (data, g) = (t.data, t.own_lanes());
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
        |x, _, o, g| grad(x, o, g),
    );
}

/// A two-operand rule, `rule(at)` applying it to what `at` holds, for node
/// `i` and its operands `a`, `b`: to single values, or lane by lane.
#[inline(always)]
fn binary<S: GradSink>(
    t: &mut Grads<'_>,
    sink: &mut S,
    i: usize,
    a: u32,
    b: u32,
    rule: impl Fn(Local2<f64>) -> (f64, f64) + Copy,
) {
    if t.nodes[i].lanes == SINGLE {
        binary_single(t.nodes, sink, i, a, b, rule);
    } else {
        binary_lanes(t, sink, i, a, b, move |x, y, out, g| {
            rule(Local2 { x, y, out, g })
        });
    }
}

/// A two-operand rule applied to single values: node `i` and its operands
/// `a`, `b`. The sweep's hot path for `+` and `*` (`sweep.rs`).
#[inline(always)]
pub(crate) fn binary_single<S: GradSink>(
    nodes: &mut [Node],
    sink: &mut S,
    i: usize,
    a: u32,
    b: u32,
    rule: impl Fn(Local2<f64>) -> (f64, f64),
) {
    let node = &nodes[i];
    let (da, db) = rule(Local2 {
        x: nodes[a as usize].data,
        y: nodes[b as usize].data,
        out: node.data,
        g: node.grad,
    });
    sink.add(nodes, a, da);
    sink.add(nodes, b, db);
}

#[inline(never)]
fn binary_lanes(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    a: u32,
    b: u32,
    grad: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) {
    let (mut t, scratch) = t.lanes(i);
    let (data, g) = (t.data, t.own_lanes());
    let x = operand(t.nodes, data, t.shape, a);
    let y = operand(t.nodes, data, t.shape, b);
    let out = &data[t.shape.span(t.nodes[i].lanes)];
    let (buffer, xy) = (&mut scratch.lanes, (x, y));
    give_local(&mut t, buffer, sink, a, xy, out, g, |x, y, o, g| {
        grad(x, y, o, g).0
    });
    give_local(&mut t, buffer, sink, b, xy, out, g, |x, y, o, g| {
        grad(x, y, o, g).1
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
    let g = t.own_lanes();
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
    let (data, g) = (t.data, t.own_lanes());
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
                |x, _, _, g| mul_grad(x, x, 0.0, g).0,
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
    let (data, g) = (t.data, t.own_lanes());
    let buffer = &mut scratch.lanes;
    give(&mut t, buffer, sink, b, g);
    for (&wi, &xi) in w.iter().zip(xs) {
        let wx = (
            operand(t.nodes, data, t.shape, wi),
            operand(t.nodes, data, t.shape, xi),
        );
        give_local(&mut t, buffer, sink, wi, wx, g, g, |w, x, _, g| {
            mul_grad(w, x, 0.0, g).0
        });
        give_local(&mut t, buffer, sink, xi, wx, g, g, |w, x, _, g| {
            mul_grad(w, x, 0.0, g).1
        });
    }
}
