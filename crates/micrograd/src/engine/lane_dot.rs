//! `Σₙ a[j][n]·b[k][n]` over a batch's lanes, for every pair of `J` batches
//! `a` and `K` batches `b`, as `J·K` single values made and differentiated
//! together ([`Instr::LaneDot`]): a layer's weight gradients `Σₙ
//! g[j][n]·x[k][n]` in a gradient graph. Their values are one matrix
//! product over the lanes (the layer backward's kernel), and what they give
//! back is two: `a[j]` receives `Σₖ ĝ[j][k]·b[k]` and `b[k]` receives
//! `Σⱼ ĝ[j][k]·a[j]`, each a layer's product with the block's gradients as
//! its weights. A second derivative of a layer is then layers again, not
//! `J·K` nodes of lanes.
//!
//! The operand list at `edges[start..]`, written and read here only: `J,
//! K`, the `J` nodes of `a`, the `K` nodes of `b`. Node `(j, k)` is the
//! block's `j·K + k`-th, consecutive from the first.

use super::grads::{GradSink, Grads, Part, Scratch, give};
use super::kernels::{self, Arith, Epilogue, GradsOut, Rows, Weights};
use super::lane_slab::{LaneSlab, Shape};
use super::node::{Instr, Node};

/// A block's operand list, read.
pub(crate) struct LaneDots<'e> {
    k_count: usize,
    a: &'e [u32],
    b: &'e [u32],
}

impl<'e> LaneDots<'e> {
    pub(crate) fn at(edges: &'e [u32], start: u32) -> LaneDots<'e> {
        let start = start as usize;
        let (j_count, k_count) = (edges[start] as usize, edges[start + 1] as usize);
        let (a, b) = edges[start + 2..start + 2 + j_count + k_count].split_at(j_count);
        LaneDots { k_count, a, b }
    }

    /// Node `at`'s operands: `a[j]` and `b[k]`, `at = j·K + k`.
    pub(crate) fn operands(&self, at: u32) -> (u32, u32) {
        let at = at as usize;
        (self.a[at / self.k_count], self.b[at % self.k_count])
    }

    pub(crate) fn a(&self) -> &'e [u32] {
        self.a
    }

    pub(crate) fn b(&self) -> &'e [u32] {
        self.b
    }
}

/// Whether a block of `j_count × k_count` fits after `start` entries, its
/// nodes after `nodes`: every index is a u32.
pub(crate) fn fits(start: u32, nodes: usize, j_count: usize, k_count: usize) -> bool {
    let list = (start as usize).checked_add(2 + j_count + k_count);
    let count = j_count.checked_mul(k_count);
    list.is_some_and(|end| end <= u32::MAX as usize)
        && count
            .and_then(|c| c.checked_add(nodes))
            .is_some_and(|end| end < u32::MAX as usize)
}

/// Writes a block's operand list (which must [`fit`](fits)) at the end of
/// `edges`, and its values, `J×K` row by row, into `values`.
pub(crate) fn write(
    nodes: &[Node],
    edges: &mut Vec<u32>,
    slab: &LaneSlab,
    kernel: &mut Scratch,
    (a, b): (&[u32], &[u32]),
    values: &mut Vec<f64>,
) -> u32 {
    // The caller checked that the list fits in u32.
    let start = edges.len() as u32;
    edges.extend([a.len() as u32, b.len() as u32]);
    edges.extend_from_slice(a);
    edges.extend_from_slice(b);
    compute(nodes, slab, kernel, (a, b), values);
    start
}

/// The values of the block at `start` from its operands as they are now,
/// `J×K` row by row, into `values` (a replayed trace).
pub(crate) fn values(
    nodes: &[Node],
    edges: &[u32],
    slab: &LaneSlab,
    kernel: &mut Scratch,
    start: u32,
    values: &mut Vec<f64>,
) {
    let block = LaneDots::at(edges, start);
    compute(nodes, slab, kernel, (block.a, block.b), values);
}

/// `Σₙ a[j][n]·b[k][n]` for every pair, `J×K` row by row, into `values`.
fn compute(
    nodes: &[Node],
    slab: &LaneSlab,
    kernel: &mut Scratch,
    (a, b): (&[u32], &[u32]),
    values: &mut Vec<f64>,
) {
    let shape = slab.shape;
    let Scratch {
        g,
        db,
        starts,
        transposed,
        ..
    } = kernel;
    // The kernel takes `a` as consecutive rows.
    g.clear();
    for &aj in a {
        g.extend_from_slice(&slab.data[row(nodes, shape, aj)]);
    }
    starts.clear();
    starts.extend(b.iter().map(|&bk| row(nodes, shape, bk).start));
    let x = Rows {
        slab: &slab.data,
        starts,
        width: shape.stride,
    };
    values.clear();
    values.resize(a.len() * b.len(), 0.0);
    db.resize(a.len(), 0.0);
    let out = GradsOut::apart(values, db, b.len());
    kernels::dense_weight_grads(g, x, shape.width, out, transposed, Arith::Exact);
}

/// Batched node `i`'s whole padded row.
fn row(nodes: &[Node], shape: Shape, i: u32) -> std::ops::Range<usize> {
    let start = shape.start(nodes[i as usize].lanes);
    start..start + shape.stride
}

/// The instruction of node `(j, k)`, `at = j·K + k`, of the block at `start`.
pub(crate) fn entry(start: u32, at: usize) -> Instr {
    // at < J·K, which fits in u32 with the nodes.
    Instr::LaneDot {
        start,
        at: at as u32,
    }
}

/// A block's backward: with `ĝ[j][k]` the gradient of each node taking
/// part (0 for the others), `a[j]` receives `Σₖ ĝ[j][k]·b[k]` and `b[k]`
/// receives `Σⱼ ĝ[j][k]·a[j]`, lane by lane, through the layer kernel
/// (multiply, then add, from 0).
#[inline(never)]
pub(crate) fn backward(t: &mut Grads<'_>, sink: &mut impl GradSink, i: usize, start: u32, at: u32) {
    let block = LaneDots::at(t.edges, start);
    let (j_count, k_count) = (block.a.len(), block.b.len());
    let first = i - at as usize;
    let (mut t, scratch) = t.lanes(i);
    let t = &mut t;
    let Some(part) = sink.layer_part(t.nodes, first, j_count * k_count, i) else {
        return;
    };
    let Scratch {
        b,
        g: b_rows,
        dx,
        dw,
        starts,
        transposed,
        lanes,
        ..
    } = scratch;
    dw.clear();
    dw.extend((0..j_count * k_count).map(|jk| {
        let takes_part = match part {
            Part::Reached => sink.reached(first + jk),
            Part::Only(node) => first + jk == node,
        };
        if takes_part {
            t.nodes[first + jk].grad
        } else {
            0.0
        }
    }));
    let shape = t.shape;
    b.clear();
    b.resize(j_count.max(k_count), 0.0);
    let mut product = |weights: &[f64], inputs: &[u32], out: &mut Vec<f64>| {
        starts.clear();
        starts.extend(inputs.iter().map(|&c| row(t.nodes, shape, c).start));
        let x = Rows {
            slab: t.data,
            starts,
            width: shape.stride,
        };
        let rows = weights.len() / inputs.len();
        out.resize(rows * shape.stride, 0.0);
        let weights = Weights::apart(weights, &b[..rows], rows, inputs.len());
        kernels::dense_forward(weights, x, out, Epilogue::None, Arith::Exact);
    };
    // a[j] ← Σₖ ĝ[j][k]·b[k]
    product(dw, block.b, dx);
    let a_rows = std::mem::take(dx);
    // b[k] ← Σⱼ ĝ[j][k]·a[j]: the transposed gradients as weights.
    transposed.clear();
    for k in 0..k_count {
        transposed.extend((0..j_count).map(|j| dw[j * k_count + k]));
    }
    product(transposed, block.a, b_rows);
    for (j, &aj) in block.a.iter().enumerate() {
        let row = &a_rows[j * shape.stride..][..shape.width];
        give(t, lanes, sink, aj, row);
    }
    for (k, &bk) in block.b.iter().enumerate() {
        let row = &b_rows[k * shape.stride..][..shape.width];
        give(t, lanes, sink, bk, row);
    }
    *dx = a_rows;
}
