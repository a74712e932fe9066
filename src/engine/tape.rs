//! The tape: a thread-local, append-only arena of nodes addressed by `u32`.
//!
//! Creation order is a topological order (a node's operands always exist
//! before it), so `backward` is one reverse sweep with no sort and no
//! recursion. A [`Scope`](crate::Scope) truncates the tape back to a mark; the
//! vectors keep their capacity, so a training loop allocates nothing after its
//! first step. Every handle carries the generation of its node, and a handle
//! whose node was truncated away panics instead of reading whatever now lives
//! at its index.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::op::Instr;
use super::rules::{self, GradSink};
use super::value::Value;

/// One node of the graph: micrograd's `Value` minus the Python object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) data: f64,
    pub(crate) grad: f64,
    pub(crate) instr: Instr,
    /// The tape generation this node was created in; see [`Tape::truncate`].
    pub(crate) generation: u32,
    /// The latest sweep (`backward` or `topo`) that reached this node.
    stamp: u32,
}

pub(crate) struct Tape {
    pub(crate) nodes: Vec<Node>,
    /// Operand lists of the n-ary instructions (`Sum`, `Affine`).
    pub(crate) edges: Vec<u32>,
    /// Labels are rare, so they live beside the nodes rather than in them.
    labels: BTreeMap<u32, Box<str>>,
    /// Bumped by every truncation that removes nodes, so that handles to the
    /// removed nodes can be told from handles to their successors.
    generation: u32,
    /// Operands of sums still being collected from an iterator. Sums nest (an
    /// item of one sum may itself be a sum), so this is used as a stack.
    /// Handles, not indices: a scope may end while an iterator runs.
    scratch: Vec<Value>,
    /// The open scopes, oldest first: their ids and the marks they
    /// truncate back to.
    scopes: Vec<(u64, (u32, u32))>,
    /// The id the next scope gets.
    next_scope: u64,
    /// The stamp of the latest sweep: a node whose `stamp` equals it has
    /// been reached by that sweep. Stamps make "reached" free to reset.
    stamp: u32,
}

thread_local! {
    static TAPE: RefCell<Tape> = const { RefCell::new(Tape::new()) };
}

/// Runs `f` with this thread's tape.
#[inline]
pub(crate) fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    TAPE.with(|tape| f(&mut tape.borrow_mut()))
}

/// Like [`with_tape`], but does nothing once the thread's tape is gone or
/// busy; for destructors, which must not panic.
pub(crate) fn try_with_tape(f: impl FnOnce(&mut Tape)) {
    let _ = TAPE.try_with(|tape| {
        if let Ok(mut tape) = tape.try_borrow_mut() {
            f(&mut tape);
        }
    });
}

#[cold]
#[inline(never)]
fn stale_handle(v: Value, len: usize) -> ! {
    if (v.index as usize) < len {
        panic!(
            "micrograd: this Value (node {}) was freed when the Scope it was created in ended, \
             and its slot now holds another node; a Value must not outlive its Scope",
            v.index
        )
    }
    panic!(
        "micrograd: this Value (node {}) was freed when the Scope it was created in ended; \
         a Value must not outlive its Scope",
        v.index
    )
}

impl Tape {
    const fn new() -> Self {
        Tape {
            nodes: Vec::new(),
            edges: Vec::new(),
            labels: BTreeMap::new(),
            generation: 0,
            scratch: Vec::new(),
            scopes: Vec::new(),
            next_scope: 0,
            stamp: 0,
        }
    }

    /// The index of `v`'s node, after checking that the handle is still live.
    ///
    /// # Panics
    ///
    /// If `v`'s node was freed by the end of a [`Scope`](crate::Scope).
    #[inline]
    pub(crate) fn index(&self, v: Value) -> u32 {
        checked_index(&self.nodes, v)
    }

    /// `v`'s node, after checking that the handle is still live.
    #[inline]
    pub(crate) fn node(&self, v: Value) -> &Node {
        &self.nodes[self.index(v) as usize]
    }

    /// `v`'s node, mutably, after checking that the handle is still live.
    #[inline]
    pub(crate) fn node_mut(&mut self, v: Value) -> &mut Node {
        let i = self.index(v) as usize;
        &mut self.nodes[i]
    }

    /// The handle of the node at `index`, which must exist.
    #[inline]
    pub(crate) fn handle(&self, index: u32) -> Value {
        Value::from_parts(index, self.nodes[index as usize].generation)
    }

    /// Appends a node computed by `instr` from its (already checked) operands.
    #[inline]
    pub(crate) fn push(&mut self, instr: Instr) -> Value {
        let data = rules::forward(instr, &self.nodes, &self.edges);
        self.push_node(data, instr)
    }

    #[inline]
    fn push_node(&mut self, data: f64, instr: Instr) -> Value {
        // u32::MAX itself is never an index, so a tape's length always fits.
        let Some(index) = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i < u32::MAX)
        else {
            panic!(
                "micrograd: the tape is full ({} nodes); free graphs with a Scope",
                u32::MAX
            )
        };
        let generation = self.generation;
        self.nodes.push(Node {
            data,
            grad: 0.0,
            instr,
            generation,
            stamp: 0,
        });
        Value::from_parts(index, generation)
    }

    pub(crate) fn leaf(&mut self, data: f64) -> Value {
        self.push_node(data, Instr::Leaf)
    }

    /// Appends `b + Σ wᵢ·xᵢ` as one `Affine` node; its operand list is
    /// `b, w0, ..., wn-1, x0, ..., xn-1`.
    pub(crate) fn affine(&mut self, w: &[Value], x: &[Value], b: Value) -> Value {
        let start = self.edge_mark();
        let len = u32::try_from(w.len()).expect("micrograd: too many operands for one node");
        let Tape { nodes, edges, .. } = self;
        edges.push(checked_index(nodes, b));
        edges.extend(w.iter().map(|&v| checked_index(nodes, v)));
        edges.extend(x.iter().map(|&v| checked_index(nodes, v)));
        self.check_edges();
        self.push(Instr::Affine { start, len })
    }

    fn edge_mark(&self) -> u32 {
        u32::try_from(self.edges.len())
            .expect("micrograd: the tape's operand list is full; free graphs with a Scope")
    }

    /// Keeps the operand list's length within u32, so that every range into
    /// it (`start + len`) fits too.
    fn check_edges(&self) {
        self.edge_mark();
    }

    /// Starts collecting the operands of a sum; returns the stack mark.
    pub(crate) fn sum_begin(&self) -> usize {
        self.scratch.len()
    }

    pub(crate) fn sum_operand(&mut self, v: Value) {
        self.index(v);
        self.scratch.push(v);
    }

    /// Drops the operands collected since `mark` (a sum that did not finish).
    pub(crate) fn sum_abandon(&mut self, mark: usize) {
        self.scratch.truncate(mark);
    }

    /// Ends the sum begun at `mark`: the operands collected since become one
    /// `Sum` node (or the constant 0 when there are none, like Python's `sum`).
    ///
    /// # Panics
    ///
    /// If a scope ended while the operands were collected and freed one.
    pub(crate) fn sum_end(&mut self, mark: usize) -> Value {
        let count = self.scratch.len() - mark;
        if count == 0 {
            return self.leaf(0.0);
        }
        let start = self.edge_mark();
        let len = u32::try_from(count).expect("micrograd: too many operands for one node");
        let Tape {
            nodes,
            edges,
            scratch,
            ..
        } = self;
        edges.extend(scratch[mark..].iter().map(|&v| checked_index(nodes, v)));
        scratch.truncate(mark);
        self.check_edges();
        self.push(Instr::Sum { start, len })
    }

    pub(crate) fn label(&self, v: Value) -> &str {
        let i = self.index(v);
        self.labels.get(&i).map_or("", |label| label)
    }

    pub(crate) fn set_label(&mut self, v: Value, label: &str) {
        let i = self.index(v);
        if label.is_empty() {
            self.labels.remove(&i);
        } else {
            self.labels.insert(i, label.into());
        }
    }

    /// Opens a scope at the current end of the tape; returns its id.
    pub(crate) fn open_scope(&mut self) -> u64 {
        let id = self.next_scope;
        self.next_scope += 1;
        // The node count fits in u32: push_node refuses to grow past it.
        let mark = (self.nodes.len() as u32, self.edge_mark());
        self.scopes.push((id, mark));
        id
    }

    /// Ends scope `id`, and with it every scope opened after it (they are
    /// inside it): frees what they built. A scope already ended that way
    /// does nothing, so scopes dropped out of order cannot cut into nodes
    /// built after them.
    pub(crate) fn close_scope(&mut self, id: u64) {
        if let Some(at) = self.scopes.iter().rposition(|&(open, _)| open == id) {
            let mark = self.scopes[at].1;
            self.scopes.truncate(at);
            self.truncate(mark);
        }
    }

    /// Frees every node created since `mark`. Handles to the freed nodes
    /// stay invalid forever: the nodes that later take their slots belong to
    /// a new generation.
    fn truncate(&mut self, (nodes, edges): (u32, u32)) {
        if (nodes as usize) < self.nodes.len() {
            self.nodes.truncate(nodes as usize);
            // Wrapping after 2^32 scopes could in principle revive a handle
            // from four billion steps ago; no training loop gets near that.
            self.generation = self.generation.wrapping_add(1);
            if self.labels.range(nodes..).next().is_some() {
                drop(self.labels.split_off(&nodes));
            }
        }
        self.edges.truncate(edges as usize);
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// A stamp no node carries yet, for a new sweep.
    fn next_stamp(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Once every 2^32 sweeps: clear the old stamps so none can match.
            self.nodes.iter_mut().for_each(|node| node.stamp = 0);
            self.stamp = 1;
        }
        self.stamp
    }

    /// Reverse-mode sweep from `root`: d(root)/d(node) for every node the root
    /// depends on, in one pass from the root down. Intermediate nodes are
    /// overwritten; leaves accumulate. Nodes the root does not depend on are
    /// left alone.
    pub(crate) fn backward(&mut self, root: Value) {
        let root = self.index(root) as usize;
        let stamp = self.next_stamp();
        // d(root)/d(root) = 1; a leaf root accumulates it like any leaf.
        let seed = &mut self.nodes[root];
        seed.grad = if seed.instr == Instr::Leaf {
            seed.grad + 1.0
        } else {
            1.0
        };
        seed.stamp = stamp;
        let mut sweep = Sweep {
            stamp,
            lowest: root,
        };
        // Every node above `i` is done, so when the sweep reaches a node its
        // gradient is complete; `lowest` is the lowest node reached so far.
        let mut i = root + 1;
        while i > sweep.lowest {
            i -= 1;
            if self.nodes[i].stamp == stamp {
                rules::backward(i, &mut self.nodes, &self.edges, &mut sweep);
            }
        }
    }

    /// Applies one node's local gradient rule once, accumulating into its
    /// operands: micrograd's `_backward`.
    pub(crate) fn backward_local(&mut self, v: Value) {
        let i = self.index(v);
        rules::backward(i as usize, &mut self.nodes, &self.edges, &mut Accumulate);
    }

    /// The operands of `v`'s node, in order.
    pub(crate) fn children(&self, v: Value) -> Vec<Value> {
        let i = self.index(v);
        let mut out = Vec::new();
        rules::for_each_operand(self.nodes[i as usize].instr, &self.edges, |c| {
            out.push(self.handle(c));
        });
        out
    }

    /// Every node `v` depends on, itself included, children before parents.
    pub(crate) fn topo(&mut self, v: Value) -> Vec<Value> {
        let root = self.index(v) as usize;
        let stamp = self.next_stamp();
        self.nodes[root].stamp = stamp;
        let mut lowest = root;
        let mut i = root + 1;
        while i > lowest {
            i -= 1;
            if self.nodes[i].stamp == stamp {
                let Tape { nodes, edges, .. } = self;
                rules::for_each_operand(nodes[i].instr, edges, |c| {
                    nodes[c as usize].stamp = stamp;
                    lowest = lowest.min(c as usize);
                });
            }
        }
        (lowest..=root)
            .filter(|&i| self.nodes[i].stamp == stamp)
            .map(|i| self.handle(i as u32))
            .collect()
    }
}

/// The index of `v`'s node in `nodes`, after checking the handle is live.
#[inline]
fn checked_index(nodes: &[Node], v: Value) -> u32 {
    match nodes.get(v.index as usize) {
        Some(node) if node.generation == v.generation => v.index,
        _ => stale_handle(v, nodes.len()),
    }
}

/// micrograd's `+=`: what the lecture's manual `_backward` calls do.
struct Accumulate;

impl GradSink for Accumulate {
    #[inline]
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64) {
        nodes[child as usize].grad += contribution;
    }
}

/// `backward`'s sink. The first contribution a node receives in a sweep
/// replaces an intermediate node's old gradient (and adds to a leaf's), and
/// stamps the node as reached; later ones accumulate.
struct Sweep {
    stamp: u32,
    lowest: usize,
}

impl GradSink for Sweep {
    #[inline]
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64) {
        let c = child as usize;
        let node = &mut nodes[c];
        if node.stamp == self.stamp {
            node.grad += contribution;
        } else {
            node.stamp = self.stamp;
            self.lowest = self.lowest.min(c);
            let before = if node.instr == Instr::Leaf {
                node.grad
            } else {
                0.0
            };
            node.grad = before + contribution;
        }
    }
}
