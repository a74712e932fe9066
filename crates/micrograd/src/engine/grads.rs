//! What a backward rule reads and writes: the nodes' gradients and lanes,
//! and the [`GradSink`] each contribution d(root)/d(operand) goes through.

use super::lane_slab::{self, Arg, Into, LaneSlab, SINGLE, Shape};
use super::node::Node;

/// Where `backward` sends each local contribution d(root)/d(child): the
/// sweep's sinks are in `sweep.rs`.
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
    pub(crate) fn lanes(&mut self, i: usize) -> (LaneGrads<'_>, &mut Scratch) {
        let row = self.nodes[i].lanes;
        self.rows(row, usize::from(row != SINGLE))
    }

    /// The same for the `count` nodes whose lane rows start at `first`
    /// (a layer's neurons, differentiated together).
    pub(crate) fn rows(&mut self, first: u32, count: usize) -> (LaneGrads<'_>, &mut Scratch) {
        let Grads {
            nodes,
            edges,
            saved,
            slab,
            scratch,
        } = self;
        let shape = slab.shape;
        let LaneSlab { data, grad, .. } = &mut **slab;
        let split = if first == SINGLE {
            grad.len()
        } else {
            shape.start(first)
        };
        let (below, above) = grad.split_at_mut(split);
        let view = LaneGrads {
            nodes,
            edges,
            saved,
            data,
            below,
            own: &above[..count * shape.stride],
            shape,
        };
        (view, scratch)
    }
}

/// What a node's rule over lanes reads and writes.
pub(crate) struct LaneGrads<'a> {
    pub(crate) nodes: &'a mut [Node],
    pub(crate) edges: &'a [u32],
    /// The weights layers over a batch were computed with.
    pub(crate) saved: &'a [f64],
    /// Every row's forward lanes.
    pub(crate) data: &'a [f64],
    /// The gradient rows below the node's own: its operands'.
    pub(crate) below: &'a mut [f64],
    /// The node's own gradient rows (a layer's: its neurons' rows, one
    /// after the other), padding included; empty for a single value.
    pub(crate) own: &'a [f64],
    pub(crate) shape: Shape,
}

impl<'a> LaneGrads<'a> {
    /// The node's own gradient lanes (its first row's, for a layer).
    #[inline(always)]
    pub(crate) fn own_lanes(&self) -> &'a [f64] {
        &self.own[..self.shape.width]
    }
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
pub(crate) fn give_local(
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
pub(crate) fn give(
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
