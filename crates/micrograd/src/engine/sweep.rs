//! The reverse sweep, and its sinks: where each contribution d(root)/d(node)
//! accumulates.
//!
//! Creation order is a topological order, so `backward` is one reverse
//! loop from the root down, with no sort and no recursion. The first
//! contribution a node receives in a sweep replaces an intermediate node's
//! old gradient (and adds to a leaf's); later ones accumulate.

use super::backward::{backward, binary_single, unary_rule, unary_single};
use super::grads::{GradSink, Grads, Part};
use super::lane_slab::{Into, SINGLE};
use super::node::{Instr, Node};
use super::rules::{self, Binary, Unary};

/// Reverse-mode sweep from `root`: d(root)/d(node) for every node the root
/// depends on, in one pass from the root down; leaves' gradients go where
/// `capture` says. `stamp` is new to this sweep, and `stamps` has a slot
/// for every node.
#[inline(always)]
pub(crate) fn sweep(
    mut grads: Grads<'_>,
    stamps: &mut [u32],
    stamp: u32,
    root: usize,
    capture: impl Catch,
) {
    // d(root)/d(root) = 1; a leaf root accumulates it like any leaf.
    let seed = &mut grads.nodes[root];
    let leaf = matches!(seed.instr, Instr::Leaf);
    if seed.lanes == SINGLE {
        seed.grad = if leaf { seed.grad + 1.0 } else { 1.0 };
    } else {
        let span = grads.slab.span(seed.lanes);
        for g in &mut grads.slab.grad[span] {
            *g = if leaf { *g + 1.0 } else { 1.0 };
        }
    }
    stamps[root] = stamp;
    // The nodes, apart from the rest of what the rules read, which only
    // the calls out of line need: the hot loop keeps less in registers.
    let nodes = std::mem::take(&mut grads.nodes);
    // As long as the nodes: one bounds check then covers both.
    let stamps = &mut stamps[..nodes.len()];
    // By reference, so that the sweep's state can be copied for a call.
    let mut capture = capture;
    let mut sweep = Sweep {
        stamp,
        stamps,
        lowest: root,
        layer_done: None,
        capture: &mut capture,
    };
    // Every node above `i` is done, so when the sweep reaches a node its
    // gradient is complete; `lowest` is the lowest node reached so far.
    let mut i = root;
    loop {
        if sweep.stamps[i] == stamp {
            // `+`, `*` and the elementwise ops of single values are most
            // of a graph's nodes: their rule runs here, with the sweep's
            // state in registers. Every other node's is a call, which sees
            // that state through a copy.
            let node = &nodes[i];
            match node.instr {
                // A leaf has no rule: it only receives.
                Instr::Leaf => {}
                Instr::Add(a, b) if node.lanes == SINGLE => {
                    let rule = |at| rules::binary(Binary::Add, at);
                    binary_single(nodes, &mut sweep, i, a, b, rule);
                }
                Instr::Mul(a, b) if node.lanes == SINGLE => {
                    let rule = |at| rules::binary(Binary::Mul, at);
                    binary_single(nodes, &mut sweep, i, a, b, rule);
                }
                // micrograd's activation: its rule inline, a compare.
                Instr::Unary(op @ Unary::Relu, a) if node.lanes == SINGLE => {
                    unary_single(nodes, &mut sweep, i, a, |at| rules::unary(op, at));
                }
                Instr::Unary(op, a) if node.lanes == SINGLE => {
                    let rule = |at| unary_rule(op, at);
                    unary_single(nodes, &mut sweep, i, a, rule);
                }
                _ => sweep.out_of_line(i, nodes, &mut grads),
            }
        }
        if i <= sweep.lowest {
            break;
        }
        i -= 1;
    }
}

/// Applies node `i`'s local gradient rule once, accumulating into its
/// operands: micrograd's `_backward`.
pub(crate) fn backward_local(mut grads: Grads<'_>, i: usize) {
    backward(i, &mut grads, &mut Accumulate);
}

/// micrograd's `+=`: what the lecture's manual `_backward` calls do.
struct Accumulate;

impl GradSink for Accumulate {
    #[inline]
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64) {
        nodes[child as usize].grad += contribution;
    }

    #[inline]
    fn reach_lanes(&mut self, _nodes: &mut [Node], _child: u32) -> Into {
        Into::Add
    }

    fn layer_part(&mut self, _: &[Node], _: usize, _: usize, this: usize) -> Option<Part> {
        Some(Part::Only(this))
    }

    fn reached(&self, _: usize) -> bool {
        false
    }
}

/// Where a sweep's contributions to some leaves go instead of their nodes.
pub(crate) trait Catch {
    /// Takes `contribution` for node `c` if it is one of those leaves.
    fn catch(&mut self, c: usize, contribution: f64) -> bool;
    /// Takes the contributions to the run of nodes from `first`, if it is
    /// inside those leaves.
    fn catch_run(&mut self, first: usize, contributions: &[f64]) -> bool;
}

impl<C: Catch> Catch for &mut C {
    #[inline(always)]
    fn catch(&mut self, c: usize, contribution: f64) -> bool {
        (**self).catch(c, contribution)
    }
    #[inline(always)]
    fn catch_run(&mut self, first: usize, contributions: &[f64]) -> bool {
        (**self).catch_run(first, contributions)
    }
}

/// Every node keeps what it receives.
pub(crate) struct Keep;

impl Catch for Keep {
    #[inline(always)]
    fn catch(&mut self, _: usize, _: f64) -> bool {
        false
    }
    #[inline(always)]
    fn catch_run(&mut self, _: usize, _: &[f64]) -> bool {
        false
    }
}

/// Leaves `first..first + grads.len()` receive into `grads`.
#[cfg(feature = "nn")]
pub(crate) struct Capture<'c> {
    pub(crate) first: usize,
    pub(crate) grads: &'c mut [f64],
}

#[cfg(feature = "nn")]
impl Catch for Capture<'_> {
    #[inline(always)]
    fn catch(&mut self, c: usize, contribution: f64) -> bool {
        match self.grads.get_mut(c.wrapping_sub(self.first)) {
            Some(g) => {
                *g += contribution;
                true
            }
            None => false,
        }
    }
    #[inline(always)]
    fn catch_run(&mut self, first: usize, contributions: &[f64]) -> bool {
        let at = first.wrapping_sub(self.first);
        match self.grads.get_mut(at..at.wrapping_add(contributions.len())) {
            Some(grads) => {
                for (g, &c) in grads.iter_mut().zip(contributions) {
                    *g += c;
                }
                true
            }
            None => false,
        }
    }
}

/// `backward`'s sink. The first contribution a node receives in a sweep
/// replaces an intermediate node's old gradient (and adds to a leaf's), and
/// stamps the node as reached; later ones accumulate.
struct Sweep<'s, C> {
    stamp: u32,
    stamps: &'s mut [u32],
    lowest: usize,
    /// The first node of the layer whose backward ran last: its other
    /// neurons have nothing left to do.
    layer_done: Option<usize>,
    capture: C,
}
impl<C: Catch> GradSink for Sweep<'_, C> {
    #[inline]
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64) {
        let c = child as usize;
        if self.capture.catch(c, contribution) {
            return;
        }
        let node = &mut nodes[c];
        if self.stamps[c] != self.stamp {
            self.reach(node, c);
            if !matches!(node.instr, Instr::Leaf) {
                node.grad = 0.0;
            }
        }
        node.grad += contribution;
    }

    #[inline]
    fn reach_lanes(&mut self, nodes: &mut [Node], child: u32) -> Into {
        let c = child as usize;
        let node = &mut nodes[c];
        if self.stamps[c] == self.stamp {
            return Into::Add;
        }
        self.reach(node, c);
        if matches!(node.instr, Instr::Leaf) {
            Into::Add
        } else {
            Into::Replace
        }
    }

    #[inline]
    fn add_run(&mut self, nodes: &mut [Node], first: usize, contributions: &[f64]) {
        if self.capture.catch_run(first, contributions) {
            return;
        }
        let run = &mut nodes[first..first + contributions.len()];
        for (i, (node, &c)) in run.iter_mut().zip(contributions).enumerate() {
            if self.stamps[first + i] != self.stamp {
                self.reach(node, first + i);
                if !matches!(node.instr, Instr::Leaf) {
                    node.grad = 0.0;
                }
            }
            node.grad += c;
        }
    }

    fn layer_part(&mut self, _: &[Node], first: usize, _: usize, _: usize) -> Option<Part> {
        if self.layer_done == Some(first) {
            return None;
        }
        self.layer_done = Some(first);
        Some(Part::Reached)
    }

    #[inline]
    fn reached(&self, node: usize) -> bool {
        self.stamps[node] == self.stamp
    }
}

impl<C: Catch> Sweep<'_, &mut C> {
    /// Applies node `i`'s rule through [`backward`], out of line; `rest`
    /// holds what the rules read but the nodes.
    #[inline(always)]
    fn out_of_line(&mut self, i: usize, nodes: &mut [Node], rest: &mut Grads<'_>) {
        let sweep = Sweep {
            stamp: self.stamp,
            stamps: &mut *self.stamps,
            lowest: self.lowest,
            layer_done: self.layer_done,
            capture: &mut *self.capture,
        };
        (self.lowest, self.layer_done) = rule_out_of_line(i, nodes, rest, sweep);
    }
}

/// Node `i`'s rule, in a sweep; returns where the sweep now ends and the
/// layer it last differentiated.
#[inline(never)]
fn rule_out_of_line<C: Catch>(
    i: usize,
    nodes: &mut [Node],
    rest: &mut Grads<'_>,
    mut sweep: Sweep<'_, &mut C>,
) -> (usize, Option<usize>) {
    let mut grads = Grads {
        nodes,
        edges: rest.edges,
        saved: rest.saved,
        slab: &mut *rest.slab,
        scratch: &mut *rest.scratch,
    };
    backward(i, &mut grads, &mut sweep);
    (sweep.lowest, sweep.layer_done)
}

impl<C> Sweep<'_, C> {
    /// Marks node `c` reached by this sweep. A node with a rule lowers where
    /// the sweep ends; a leaf has none, so the sweep need not visit it (a
    /// model's parameters, at the bottom of the tape, are not walked over).
    #[inline]
    fn reach(&mut self, node: &Node, c: usize) {
        self.stamps[c] = self.stamp;
        if !matches!(node.instr, Instr::Leaf) {
            self.lowest = self.lowest.min(c);
        }
    }
}
