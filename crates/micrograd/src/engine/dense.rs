//! A layer over a batch as one node per neuron ([`Instr::Dense`]): its
//! operand list, written and read here only, and its forward and backward
//! through the layer kernels.
//!
//! The operand list at `edges[start..]`: the header `J, K`, where the
//! layer's weights are saved (two u32, low first), and where its parameters
//! are: the first node of a run of consecutive nodes (the usual case: a
//! model's parameters are made in order), or [`LISTED`] followed by the
//! parameters' nodes; then the `K` inputs. Either way the parameters go
//! neuron by neuron, its `K` weights then its bias (micrograd's
//! `parameters()` order).

use super::grads::{GradSink, Grads, Part, Scratch, give};
use super::kernels::{self, Arith, Epilogue, GradsOut, Rows, Weights};
use super::lane_slab::{LaneSlab, SINGLE, Shape};
use super::node::{Instr, Node};

/// The length of a layer's operand list before its parameters.
const HEADER: usize = 5;

/// The header's run entry when the parameters are listed.
const LISTED: u32 = u32::MAX;

/// Whether the operand list of a layer of `j_count` neurons over `k_count`
/// inputs fits after `start` entries: every index into it is a u32.
pub(crate) fn fits(start: u32, j_count: usize, k_count: usize) -> bool {
    j_count
        .checked_mul(k_count + 1)
        .and_then(|n| n.checked_add(k_count + HEADER))
        .and_then(|n| n.checked_add(start as usize))
        .is_some_and(|end| end <= u32::MAX as usize)
}

/// Writes a layer's operand list (which must [`fit`](fits)) at the end of
/// `edges`, its weights to `saved` and its biases and input rows to the
/// kernel's buffers; returns where the list starts, or `None` (having
/// written nothing) if a weight or bias is a batch. The parameters are the
/// run of nodes from `run`, or else the `listed` ones; all are live.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    nodes: &[Node],
    edges: &mut Vec<u32>,
    saved: &mut Vec<f64>,
    kernel: &mut Scratch,
    shape: Shape,
    (j_count, k_count): (usize, usize),
    run: Option<u32>,
    listed: impl Iterator<Item = u32>,
    inputs: impl Iterator<Item = u32>,
) -> Option<u32> {
    // The caller checked that the list fits in u32.
    let start = edges.len() as u32;
    let weights = saved.len();
    edges.extend([j_count as u32, k_count as u32]);
    edges.extend(split_u64(weights as u64));
    kernel.b.clear();
    saved.reserve(j_count * k_count);
    let mut single = true;
    match run {
        Some(first) => {
            edges.push(first);
            let end = first as usize + j_count * (k_count + 1);
            for neuron in nodes[first as usize..end].chunks_exact(k_count + 1) {
                let (w, b) = neuron.split_at(k_count);
                single &= neuron.iter().all(|n| n.lanes == SINGLE);
                saved.extend(w.iter().map(|n| n.data));
                kernel.b.push(b[0].data);
            }
        }
        None => {
            edges.push(LISTED);
            edges.reserve(j_count * (k_count + 1) + k_count);
            for (at, i) in listed.enumerate() {
                let node = &nodes[i as usize];
                single &= node.lanes == SINGLE;
                edges.push(i);
                if at % (k_count + 1) == k_count {
                    kernel.b.push(node.data);
                } else {
                    saved.push(node.data);
                }
            }
        }
    }
    if !single {
        edges.truncate(start as usize);
        saved.truncate(weights);
        return None;
    }
    kernel.starts.clear();
    for i in inputs {
        edges.push(i);
        kernel.starts.push(shape.start(nodes[i as usize].lanes));
    }
    Some(start)
}

/// Takes the layer at `start` as it is now, for its forward to be run again
/// (a replayed trace): its weights into `saved`, its biases and input rows
/// into the kernel's buffers, as [`write`] did. Returns its neuron count.
pub(crate) fn refresh(
    nodes: &[Node],
    edges: &[u32],
    saved: &mut [f64],
    kernel: &mut Scratch,
    shape: Shape,
    start: u32,
) -> usize {
    let layer = DenseOperands::at(edges, start);
    let (j_count, k_count) = (layer.j_count, layer.k_count);
    let weights = &mut saved[layer.saved..layer.saved + j_count * k_count];
    kernel.b.clear();
    for (j, row) in weights.chunks_exact_mut(k_count).enumerate() {
        for (w, i) in row.iter_mut().zip(layer.weights(j)) {
            *w = nodes[i as usize].data;
        }
        kernel.b.push(nodes[layer.bias(j) as usize].data);
    }
    kernel.starts.clear();
    kernel.starts.extend(
        layer
            .inputs()
            .iter()
            .map(|&i| shape.start(nodes[i as usize].lanes)),
    );
    j_count
}

/// A u64 as two u32, low first.
fn split_u64(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

/// The layer's forward over the whole batch, from the operand list at
/// `start` and the kernel's buffers that [`write`] filled, into the rows
/// from `first_row`.
pub(crate) fn forward(
    edges: &[u32],
    saved: &[f64],
    kernel: &Scratch,
    slab: &mut LaneSlab,
    start: u32,
    first_row: u32,
) {
    let shape = slab.shape;
    let (below, rows) = slab.data.split_at_mut(shape.start(first_row));
    // Whole padded rows: the kernel works in full vector blocks.
    let x = Rows {
        slab: below,
        starts: &kernel.starts,
        width: shape.stride,
    };
    let layer = DenseOperands::at(edges, start);
    let (j_count, k_count) = (kernel.b.len(), kernel.starts.len());
    kernels::dense_forward(
        Weights::apart(layer.saved_weights(saved), &kernel.b, j_count, k_count),
        x,
        rows,
        Epilogue::None,
        Arith::Exact,
    );
}

/// A layer's backward: what its inputs, weights and biases receive from
/// the neurons that take part, through the layer kernels. Equal to each
/// neuron's `Affine` rule, with every sum over the lanes in lane order and
/// every input's contributions added over the neurons from the last.
#[inline(never)]
pub(crate) fn backward(
    t: &mut Grads<'_>,
    sink: &mut impl GradSink,
    i: usize,
    start: u32,
    j: usize,
) {
    let layer = DenseOperands::at(t.edges, start);
    let (j_count, k_count) = (layer.j_count, layer.k_count);
    // A layer's neurons own consecutive rows, differentiated together.
    let first_row = t.nodes[i].lanes - j as u32;
    let (mut t, scratch) = t.rows(first_row, j_count);
    let t = &mut t;
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
    let w = Weights::apart(w, &[], j_count, k_count);
    kernels::dense_input_grads(w, g, stride, dx, None, Arith::Exact);
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
    let out = GradsOut::apart(dw, db, k_count);
    kernels::dense_weight_grads(g, x, width, out, transposed, Arith::Exact);
    let neurons = taking
        .iter()
        .enumerate()
        .filter(|&(_, &takes_part)| takes_part);
    for (jj, _) in neurons {
        let dwj = &dw[jj * k_count..(jj + 1) * k_count];
        match layer.params {
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

/// A layer's operand list, read.
pub(crate) struct DenseOperands<'e> {
    j_count: usize,
    k_count: usize,
    saved: usize,
    params: Params<'e>,
    inputs: &'e [u32],
}

/// Where a layer's parameters are.
#[derive(Clone, Copy)]
enum Params<'e> {
    /// Consecutive nodes from this one.
    Run(u32),
    /// These nodes.
    Listed(&'e [u32]),
}

impl<'e> DenseOperands<'e> {
    #[inline]
    pub(crate) fn at(edges: &'e [u32], start: u32) -> DenseOperands<'e> {
        let start = start as usize;
        let header = &edges[start..start + HEADER];
        let (j_count, k_count) = (header[0] as usize, header[1] as usize);
        let saved = u64::from(header[2]) | u64::from(header[3]) << 32;
        let mut rest = start + HEADER;
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
    fn saved_weights<'s>(&self, saved: &'s [f64]) -> &'s [f64] {
        &saved[self.saved..self.saved + self.j_count * self.k_count]
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

    /// The layer's neurons, `J`.
    #[inline]
    pub(crate) fn neurons(&self) -> usize {
        self.j_count
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

/// The node of neuron `j` of the layer whose list starts at `start`.
pub(crate) fn neuron(start: u32, j: usize) -> Instr {
    // j < J, which fits in u32 with the operand list.
    Instr::Dense { start, j: j as u32 }
}
