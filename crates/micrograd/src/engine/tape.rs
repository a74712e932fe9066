//! The tape: a thread-local, append-only arena of nodes addressed by `u32`.
//!
//! Creation order is a topological order (a node's operands always exist
//! before it), so `backward` is one reverse sweep with no sort and no
//! recursion. A [`Scope`](crate::Scope) truncates the tape back to a mark; the
//! vectors keep their capacity, so a training loop allocates nothing after its
//! first step. Every handle carries the generation of its node, and a handle
//! whose node was truncated away panics instead of reading whatever now lives
//! at its index. Each tape counts its generations from a start of its own, so
//! a handle made on another tape (another copy of this crate in the process,
//! as evcxr's Jupyter cells make) is caught too, and told apart.
//!
//! A batched node keeps its lanes in the [`LaneSlab`] beside the nodes, one
//! row per node in creation order, so a scope frees rows as it frees nodes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use super::dense;
use super::forward::{self, for_each_operand};
use super::grads::{Grads, Scratch};
use super::lane_dot;
use super::lane_slab::{LaneSlab, SINGLE};
use super::node::{Instr, Node};
use super::reads::TraceLog;
use super::rules::Unary;
use super::sweep::{self, Keep};
use super::value::Value;

/// Where a scope truncates back to.
#[derive(Clone, Copy, Debug)]
struct Mark {
    nodes: u32,
    edges: u32,
    rows: u32,
    saved: usize,
}

pub(crate) struct Tape {
    pub(crate) nodes: Vec<Node>,
    /// Operand lists of the n-ary instructions (`Sum`, `Affine`).
    pub(crate) edges: Vec<u32>,
    /// Labels are rare, so they live beside the nodes rather than in them.
    labels: BTreeMap<u32, Box<str>>,
    /// Bumped by every truncation that removes nodes, so that handles to the
    /// removed nodes can be told from handles to their successors.
    generation: u64,
    /// Operands of sums still being collected from an iterator. Sums nest (an
    /// item of one sum may itself be a sum), so this is used as a stack.
    /// Handles, not indices: a scope may end while an iterator runs.
    scratch: Vec<Value>,
    /// The open scopes, oldest first: their ids and the marks they
    /// truncate back to.
    scopes: Vec<(u64, Mark)>,
    /// The id the next scope gets.
    next_scope: u64,
    /// The latest sweep (`backward` or `topo`) that reached each node, by
    /// index: sized at the start of each sweep, so that building a graph
    /// never touches it.
    stamps: Vec<u32>,
    /// The stamp of the latest sweep: a node whose stamp equals it has
    /// been reached by that sweep. Stamps make "reached" free to reset.
    stamp: u32,
    /// The lanes of the batched nodes.
    pub(crate) slab: LaneSlab,
    /// The weights each layer over a batch was computed with, row by row,
    /// for its backward.
    pub(crate) saved: Vec<f64>,
    /// Buffers of the layer kernels, kept from call to call.
    pub(crate) kernel: Scratch,
    /// What the function a [`Recording`](super::trace) traces reads and
    /// writes, while it runs.
    pub(crate) trace: Option<TraceLog>,
}

thread_local! {
    // Not `const`: the first generation is computed when the thread first
    // touches its tape. A `const` initializer saves nothing here: a tape
    // needs a destructor, so every access checks the slot's state anyway.
    static TAPE: RefCell<Tape> = RefCell::new(Tape::new(first_generation()));
}

/// The generation this thread's tape starts counting from: a different one
/// for every copy of this crate in the process and every thread, so that a
/// handle made on another tape never matches a node of this one (its
/// generation does not), and can be told from a handle freed by a scope.
///
/// Several copies of micrograd in one process is what evcxr (Rust in
/// Jupyter) makes by default: every cell is a library of its own, linked
/// with its own copy of its dependencies, thread-locals included.
fn first_generation() -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    // One per copy of the crate: its address tells the copies apart.
    static THIS_COPY: u8 = 0;
    let mut h = DefaultHasher::new(); // fixed keys: the same answer each call
    (&raw const THIS_COPY as usize).hash(&mut h);
    std::thread::current().id().hash(&mut h);
    // The top bit clear: counting up from here never wraps.
    h.finish() >> 1
}

/// Generations a tape is assumed never to count past, for the wording of
/// [`stale_handle`] only: 2^40 scopes, one a microsecond, take 12 days.
const OWN_GENERATIONS: u64 = 1 << 40;

/// Runs `f` with this thread's tape.
///
/// A programmer error that `f` finds ([`misuse`]) is raised as a panic
/// here, once the tape is no longer borrowed: a panic hook that reads a
/// `Value` (to print it, say) then finds the tape free. Raised inside the
/// borrow, such a hook would panic again, and a panic in a panic hook
/// aborts the process.
#[inline]
pub(crate) fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    let borrowed = AssertUnwindSafe(|| TAPE.with(|tape| f(&mut tape.borrow_mut())));
    match std::panic::catch_unwind(borrowed) {
        Ok(result) => result,
        Err(payload) => raise(payload),
    }
}

/// Runs `fast` with this thread's tape, for the operations that make
/// nearly every node (`+`, `*`, the elementwise ops, a leaf): `fast`
/// cannot fail, and returns `None` instead where the operation needs a
/// path that may (a freed handle, a batch, a full tape, a tape that is
/// busy or gone); `slow` then does it all again through [`with_tape`],
/// which reports the mistake. With nothing to catch, the hot path needs no
/// `catch_unwind`, which would keep it out of line: a call per node.
#[inline(always)]
pub(crate) fn with_tape_or<R>(
    fast: impl FnOnce(&mut Tape) -> Option<R>,
    slow: impl FnOnce(&mut Tape) -> R,
) -> R {
    let done = TAPE.try_with(|tape| match tape.try_borrow_mut() {
        Ok(mut tape) => fast(&mut tape),
        Err(_) => None,
    });
    match done {
        Ok(Some(result)) => result,
        _ => slow_path(slow),
    }
}

#[cold]
#[inline(never)]
fn slow_path<R>(slow: impl FnOnce(&mut Tape) -> R) -> R {
    with_tape(slow)
}

/// `make(a, b)`, a two-operand primitive (`+`, `*`), appended.
///
/// # Panics
///
/// If `a` or `b` was freed by a scope, or belongs to another tape.
#[inline(always)]
pub(crate) fn binary(a: Value, b: Value, make: impl Fn(u32, u32) -> Instr + Copy) -> Value {
    with_tape_or(
        move |t| {
            t.room()?;
            let instr = make(t.live_single(a)?, t.live_single(b)?);
            t.try_push_single(instr)
        },
        move |t| {
            let (a, b) = (t.index(a), t.index(b));
            t.push(make(a, b))
        },
    )
}

/// `op(v)`, an elementwise primitive, appended.
///
/// # Panics
///
/// If `v` was freed by a scope, or belongs to another tape.
#[inline(always)]
pub(crate) fn unary(v: Value, op: Unary) -> Value {
    with_tape_or(
        move |t| {
            t.room()?;
            let instr = Instr::Unary(op, t.live_single(v)?);
            t.try_push_single(instr)
        },
        move |t| t.unary(v, op),
    )
}

/// A new leaf holding `data`.
#[inline(always)]
pub(crate) fn leaf(data: f64) -> Value {
    with_tape_or(
        move |t| {
            t.room()?;
            t.try_push_node(data, Instr::Leaf, SINGLE)
        },
        move |t| t.leaf(data),
    )
}

/// A programmer error found while the tape was borrowed: its message,
/// carried out of the borrow by unwinding, without the panic hook.
struct Misuse(String);

/// Stops a tape operation with `message`, a mistake of its caller's (a
/// freed `Value`, batches of two sizes): the panic itself is raised by
/// [`with_tape`], outside the tape's borrow.
#[cold]
#[inline(never)]
pub(crate) fn misuse(message: String) -> ! {
    let borrowed = TAPE
        .try_with(|tape| tape.try_borrow_mut().is_err())
        .unwrap_or(false);
    if borrowed {
        std::panic::resume_unwind(Box::new(Misuse(message)))
    }
    panic!("{message}")
}

#[cold]
#[inline(never)]
fn raise(payload: Box<dyn std::any::Any + Send>) -> ! {
    match payload.downcast::<Misuse>() {
        Ok(misuse) => panic!("{}", misuse.0),
        Err(other) => std::panic::resume_unwind(other),
    }
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
    if v.generation.wrapping_sub(first_generation()) >= OWN_GENERATIONS {
        misuse(format!(
            "micrograd: this Value (node {}) belongs to another tape than this thread's: it was \
             made by another copy of micrograd in this process, whose graphs this copy cannot \
             see. (In Jupyter, evcxr links a copy of each dependency into every cell; load \
             micrograd as one shared library instead, in the first cell: `:dep micrograd = \
             {{ package = \"micrograd-notebook\", path = \"<micrograd>/notebook\" }}`)",
            v.index
        ))
    }
    if (v.index as usize) < len {
        misuse(format!(
            "micrograd: this Value (node {}) was freed when the Scope it was created in ended, \
             and its slot now holds another node; a Value must not outlive its Scope",
            v.index
        ))
    }
    misuse(format!(
        "micrograd: this Value (node {}) was freed when the Scope it was created in ended; \
         a Value must not outlive its Scope",
        v.index
    ))
}

impl Tape {
    fn new(first_generation: u64) -> Self {
        Tape {
            nodes: Vec::new(),
            edges: Vec::new(),
            labels: BTreeMap::new(),
            generation: first_generation,
            scratch: Vec::new(),
            scopes: Vec::new(),
            next_scope: 0,
            stamps: Vec::new(),
            stamp: 0,
            slab: LaneSlab::new(),
            saved: Vec::new(),
            kernel: Scratch::default(),
            trace: None,
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

    /// The index of `v`'s node if the handle is live and the node holds a
    /// single value; `None` otherwise (the hot path's check, which cannot
    /// fail: [`index`](Tape::index) tells what is wrong).
    #[inline(always)]
    fn live_single(&self, v: Value) -> Option<u32> {
        match self.nodes.get(v.index as usize) {
            Some(node) if node.generation == v.generation && node.lanes == SINGLE => Some(v.index),
            _ => None,
        }
    }

    /// Appends the single-valued node computed by `instr`, whose operands
    /// are live single values; `None` if the tape is full.
    #[inline(always)]
    fn try_push_single(&mut self, instr: Instr) -> Option<Value> {
        let data = forward::forward(instr, &self.nodes, &self.edges, &self.slab);
        self.try_push_node(data, instr, SINGLE)
    }

    /// `Some` if one more node fits without growing the tape's memory. The
    /// hot path leaves growing (once per doubling) to the slow path: with
    /// no call that may grow, its numbers stay in registers.
    #[inline(always)]
    fn room(&self) -> Option<()> {
        (self.nodes.len() < self.nodes.capacity()).then_some(())
    }

    /// Appends a node computed by `instr` from its (already checked) operands.
    #[inline(always)]
    pub(crate) fn push(&mut self, instr: Instr) -> Value {
        if forward::is_batched(instr, &self.nodes, &self.edges) {
            // A copy for the call out of line, so that `instr` itself
            // stays in registers on the single-value path.
            return self.push_lanes(std::hint::black_box(instr));
        }
        let data = forward::forward(instr, &self.nodes, &self.edges, &self.slab);
        self.push_node(data, instr, SINGLE)
    }

    /// Appends `op(v)`, an elementwise primitive.
    #[inline(always)]
    pub(crate) fn unary(&mut self, v: Value, op: Unary) -> Value {
        let a = self.index(v);
        self.push(Instr::Unary(op, a))
    }

    /// Appends a batched node: a new row of lanes, computed lane by lane.
    #[cold]
    #[inline(never)]
    fn push_lanes(&mut self, instr: Instr) -> Value {
        let row = self.grow(1);
        let shape = self.slab.shape;
        let (below, out) = self.slab.data.split_at_mut(shape.start(row));
        let out = &mut out[..shape.width];
        forward::forward_lanes(instr, &self.nodes, &self.edges, below, shape, out);
        self.push_node(f64::NAN, instr, row)
    }

    #[inline(always)]
    fn push_node(&mut self, data: f64, instr: Instr, lanes: u32) -> Value {
        match self.try_push_node(data, instr, lanes) {
            Some(v) => v,
            None => misuse(format!(
                "micrograd: the tape is full ({} nodes); free graphs with a Scope",
                u32::MAX
            )),
        }
    }

    /// Appends a node; `None` if the tape is full.
    #[inline(always)]
    fn try_push_node(&mut self, data: f64, instr: Instr, lanes: u32) -> Option<Value> {
        // u32::MAX itself is never an index, so a tape's length always fits.
        let index = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i < u32::MAX)?;
        let generation = self.generation;
        self.nodes.push(Node {
            data,
            grad: 0.0,
            instr,
            generation,
            lanes,
        });
        Some(Value::from_parts(index, generation))
    }

    pub(crate) fn leaf(&mut self, data: f64) -> Value {
        self.push_node(data, Instr::Leaf, SINGLE)
    }

    /// A batched leaf: one lane per number of `data`.
    ///
    /// # Panics
    ///
    /// If `data` is empty, or batches of another size are alive.
    pub(crate) fn batch(&mut self, data: &[f64]) -> Value {
        if data.is_empty() {
            misuse("micrograd: a batch needs at least one lane".into())
        }
        if self.slab.width() == 0 {
            self.slab.set_width(data.len());
        } else if self.slab.width() != data.len() {
            misuse(format!(
                "micrograd: this graph's batches have {} lanes, so a batch of {} cannot join it; \
                 one batch size per graph (build the next batch after the Scope of this one ends)",
                self.slab.width(),
                data.len()
            ))
        }
        let row = self.grow(1);
        let span = self.slab.span(row);
        self.slab.data[span].copy_from_slice(data);
        self.push_node(f64::NAN, Instr::Leaf, row)
    }

    /// The number of lanes of `v`'s node; `None` for a single value.
    pub(crate) fn lanes(&self, v: Value) -> Option<usize> {
        (self.node(v).lanes != SINGLE).then_some(self.slab.width())
    }

    /// `v`'s forward lanes and gradient lanes; `None` for a single value.
    pub(crate) fn lane_rows(&self, v: Value) -> Option<(&[f64], &[f64])> {
        let row = self.node(v).lanes;
        (row != SINGLE).then(|| {
            let span = self.slab.span(row);
            (&self.slab.data[span.clone()], &self.slab.grad[span])
        })
    }

    /// A layer over a batch: one `Dense` node per neuron, `b + Σₖ wₖ·x[k]`,
    /// pushed onto `out`, computed by the layer kernel. Where it cannot be
    /// one (an input that is a single value, a weight that is a batch, no
    /// inputs), each neuron is an `Affine` node instead, with the same
    /// numbers.
    ///
    /// # Panics
    ///
    /// If a neuron has not one weight per input.
    pub(crate) fn dense<'w>(
        &mut self,
        neurons: impl ExactSizeIterator<Item = (&'w [Value], Value)> + Clone,
        x: &[Value],
        out: &mut Vec<Value>,
    ) {
        let (j_count, k_count) = (neurons.len(), x.len());
        let inputs_batched = x.iter().all(|&v| self.node(v).lanes != SINGLE);
        if inputs_batched && j_count > 0 && k_count > 0 {
            if let Some(start) = self.dense_operands(neurons.clone(), x) {
                return self.dense_nodes(start, j_count, out);
            }
        }
        for (j, (w, b)) in neurons.enumerate() {
            check_weights(j, w.len(), k_count);
            let v = self.affine(w, x, b);
            out.push(v);
        }
    }

    /// Writes a layer's operand list (`dense.rs`), and its weights, biases
    /// and input rows into the kernel's buffers; returns where the list
    /// starts, or `None` (having written nothing) if a weight or bias is a
    /// batch.
    fn dense_operands<'w>(
        &mut self,
        neurons: impl ExactSizeIterator<Item = (&'w [Value], Value)> + Clone,
        x: &[Value],
    ) -> Option<u32> {
        let (j_count, k_count) = (neurons.len(), x.len());
        if !dense::fits(self.edge_mark(), j_count, k_count) {
            misuse("micrograd: the tape's operand list is full; free graphs with a Scope".into())
        }
        // The parameters as a run of consecutive nodes, if they are one.
        let first = neurons
            .clone()
            .next()
            .map(|(w, b)| w.first().copied().unwrap_or(b));
        let mut next = first.map_or(0, |v| v.index);
        let mut consecutive = true;
        for (j, (w, b)) in neurons.clone().enumerate() {
            check_weights(j, w.len(), k_count);
            for v in w.iter().chain([&b]) {
                consecutive &= Some(v.generation) == first.map(|f| f.generation) && v.index == next;
                next = next.wrapping_add(1);
            }
        }
        let Tape {
            nodes,
            edges,
            kernel,
            saved,
            slab,
            ..
        } = self;
        let run = first.filter(|_| consecutive).map(|first| {
            // The run's first and last nodes are live and of one
            // generation, so every node between them is too.
            let start = checked_index(nodes, first);
            let end = start as usize + j_count * (k_count + 1);
            checked_index(nodes, Value::from_parts((end - 1) as u32, first.generation));
            start
        });
        let nodes = &*nodes;
        let listed = neurons
            .flat_map(|(w, b)| w.iter().copied().chain([b]))
            .map(|v| checked_index(nodes, v));
        let inputs = x.iter().map(|&v| checked_index(nodes, v));
        let shape = slab.shape;
        let counts = (j_count, k_count);
        dense::write(
            nodes, edges, saved, kernel, shape, counts, run, listed, inputs,
        )
    }

    /// The layer's nodes, from the operand list at `start` and the kernel's
    /// buffers: its forward over the whole batch, then one node per neuron.
    fn dense_nodes(&mut self, start: u32, j_count: usize, out: &mut Vec<Value>) {
        let first_row = self.grow(j_count);
        dense::forward(
            &self.edges,
            &self.saved,
            &self.kernel,
            &mut self.slab,
            start,
            first_row,
        );
        out.reserve(j_count);
        for j in 0..j_count {
            let v = self.push_node(f64::NAN, dense::neuron(start, j), first_row + j as u32);
            out.push(v);
        }
    }

    /// A block of `Σₙ a[j][n]·b[k][n]` for every pair (`lane_dot.rs`),
    /// pushed onto `out` row by row; `a` and `b` are live batches' nodes.
    pub(crate) fn lane_dots(&mut self, a: &[u32], b: &[u32], out: &mut Vec<Value>) {
        if !lane_dot::fits(self.edge_mark(), self.nodes.len(), a.len(), b.len()) {
            misuse("micrograd: the tape is full; free graphs with a Scope".into())
        }
        let mut values = std::mem::take(&mut self.kernel.dw);
        let start = lane_dot::write(
            &self.nodes,
            &mut self.edges,
            &self.slab,
            &mut self.kernel,
            (a, b),
            &mut values,
        );
        out.reserve(values.len());
        for (at, &value) in values.iter().enumerate() {
            let v = self.push_node(value, lane_dot::entry(start, at), SINGLE);
            out.push(v);
        }
        self.kernel.dw = values;
    }

    /// Appends `count` rows to the lane slab; returns the first one's number.
    fn grow(&mut self, count: usize) -> u32 {
        self.slab.grow(count).unwrap_or_else(|| {
            misuse("micrograd: the tape's batch rows are full; free graphs with a Scope".into())
        })
    }

    /// Appends `b + Σ wᵢ·xᵢ` as one `Affine` node; its operand list is
    /// `b, w0, ..., wn-1, x0, ..., xn-1`.
    pub(crate) fn affine(&mut self, w: &[Value], x: &[Value], b: Value) -> Value {
        let start = self.edge_mark();
        let len = u32::try_from(w.len())
            .unwrap_or_else(|_| misuse("micrograd: too many operands for one node".into()));
        let Tape { nodes, edges, .. } = self;
        edges.push(checked_index(nodes, b));
        edges.extend(w.iter().map(|&v| checked_index(nodes, v)));
        edges.extend(x.iter().map(|&v| checked_index(nodes, v)));
        self.check_edges();
        self.push(Instr::Affine { start, len })
    }

    fn edge_mark(&self) -> u32 {
        u32::try_from(self.edges.len()).unwrap_or_else(|_| {
            misuse("micrograd: the tape's operand list is full; free graphs with a Scope".into())
        })
    }

    /// Keeps the operand list's length within u32, so that every range into
    /// it (`start + len`) fits too.
    fn check_edges(&self) {
        self.edge_mark();
    }

    /// `Σ vᵢ·vᵢ` as one node (the constant 0 for none): over a run of
    /// consecutive nodes (a model's parameters) with no operand list.
    pub(crate) fn sum_squares(&mut self, values: &[Value]) -> Value {
        if values.is_empty() {
            return self.leaf(0.0);
        }
        let len = u32::try_from(values.len())
            .unwrap_or_else(|_| misuse("micrograd: too many operands for one node".into()));
        let first = values[0];
        if consecutive(values) {
            // The run's first and last nodes are live and of one generation,
            // so every node between them is too.
            let first = self.index(first);
            self.index(values[values.len() - 1]);
            let instr = Instr::SumSquaresRun { first, len };
            // The sum and whether a node holds a batch, in one pass over
            // the run (a model's parameters: one read of each node, not
            // two); a batch's node is made by `push`.
            let run = &self.nodes[first as usize..][..len as usize];
            return match forward::sum_of_squares_of_singles(run) {
                Some(data) => self.push_node(data, instr, SINGLE),
                None => self.push(instr),
            };
        }
        let start = self.edge_mark();
        let Tape { nodes, edges, .. } = self;
        edges.extend(values.iter().map(|&v| checked_index(nodes, v)));
        self.check_edges();
        self.push(Instr::SumSquares { start, len })
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
        let len = u32::try_from(count)
            .unwrap_or_else(|_| misuse("micrograd: too many operands for one node".into()));
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
        let mark = Mark {
            nodes: self.nodes.len() as u32,
            edges: self.edge_mark(),
            rows: self.slab.rows(),
            saved: self.saved.len(),
        };
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
    fn truncate(
        &mut self,
        Mark {
            nodes,
            edges,
            rows,
            saved,
        }: Mark,
    ) {
        self.slab.truncate(rows);
        self.saved.truncate(saved);
        if (nodes as usize) < self.nodes.len() {
            self.nodes.truncate(nodes as usize);
            // 64 bits: 2^64 scopes, one a nanosecond, take 584 years, so a
            // generation is never used twice.
            self.generation += 1;
            if self.labels.range(nodes..).next().is_some() {
                drop(self.labels.split_off(&nodes));
            }
        }
        self.edges.truncate(edges as usize);
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// A stamp no node carries yet, for a new sweep, with a stamp slot
    /// for every node.
    fn next_stamp(&mut self) -> u32 {
        self.stamps.resize(self.nodes.len(), 0);
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Once every 2^32 sweeps: clear the old stamps so none can match.
            self.stamps.fill(0);
            self.stamp = 1;
        }
        self.stamp
    }

    /// Reverse-mode sweep from `root`: d(root)/d(node) for every node the root
    /// depends on, in one pass from the root down. Intermediate nodes are
    /// overwritten; leaves accumulate. Nodes the root does not depend on are
    /// left alone. A batched root is seeded with 1 in every lane, so each
    /// lane gets its own point's gradient (JAX's `vmap(grad)`).
    pub(crate) fn backward(&mut self, root: Value) {
        let root = self.index(root) as usize;
        self.sweep(root, Keep);
    }

    /// Like [`backward`](Tape::backward), but what the single-valued
    /// leaves `first..first + out.len()` (consecutive nodes, as a model's
    /// parameters are) receive is added to `out` instead of their
    /// gradients, which are left alone: PyTorch's `torch.autograd.grad`.
    ///
    /// # Panics
    ///
    /// If `first` or the last of the run was freed by a scope.
    #[cfg(feature = "nn")]
    pub(crate) fn backward_into(&mut self, root: Value, first: Value, out: &mut [f64]) {
        let root = self.index(root) as usize;
        let start = self.index(first) as usize;
        if let Some(last) = out.len().checked_sub(1) {
            // The run's first and last nodes are live and of one generation,
            // so every node between them is too.
            let end = u32::try_from(start + last).unwrap_or(u32::MAX);
            self.index(Value::from_parts(end, first.generation));
        }
        self.sweep(
            root,
            sweep::Capture {
                first: start,
                grads: out,
            },
        );
    }

    /// The reverse sweep from `root` (`sweep.rs`), leaves' gradients
    /// going where `capture` says.
    #[inline(always)]
    fn sweep(&mut self, root: usize, capture: impl sweep::Catch) {
        let stamp = self.next_stamp();
        let (grads, stamps) = self.grads();
        sweep::sweep(grads, stamps, stamp, root, capture);
    }

    /// Applies one node's local gradient rule once, accumulating into its
    /// operands: micrograd's `_backward`.
    pub(crate) fn backward_local(&mut self, v: Value) {
        let i = self.index(v);
        sweep::backward_local(self.grads().0, i as usize);
    }

    /// What the gradient rules read and write, and the sweeps' stamps.
    #[inline(always)]
    fn grads(&mut self) -> (Grads<'_>, &mut [u32]) {
        let Tape {
            nodes,
            edges,
            slab,
            kernel,
            saved,
            stamps,
            ..
        } = self;
        let grads = Grads {
            nodes,
            edges,
            saved,
            slab,
            scratch: kernel,
        };
        (grads, stamps)
    }

    /// The operands of `v`'s node, in order.
    pub(crate) fn children(&self, v: Value) -> Vec<Value> {
        let i = self.index(v);
        let mut out = Vec::new();
        for_each_operand(self.nodes[i as usize].instr, &self.edges, |c| {
            out.push(self.handle(c));
        });
        out
    }

    /// Every node `v` depends on, itself included, children before parents.
    pub(crate) fn topo(&mut self, v: Value) -> Vec<Value> {
        let root = self.index(v) as usize;
        let stamp = self.next_stamp();
        let Tape {
            nodes,
            edges,
            stamps,
            ..
        } = self;
        stamps[root] = stamp;
        let mut lowest = root;
        let mut i = root + 1;
        while i > lowest {
            i -= 1;
            if stamps[i] == stamp {
                for_each_operand(nodes[i].instr, edges, |c| {
                    stamps[c as usize] = stamp;
                    lowest = lowest.min(c as usize);
                });
            }
        }
        (lowest..=root)
            .filter(|&i| self.stamps[i] == stamp)
            .map(|i| self.handle(i as u32))
            .collect()
    }
}

/// Neuron `j` of a layer must have one weight per input.
fn check_weights(j: usize, weights: usize, inputs: usize) {
    assert_eq!(
        weights, inputs,
        "micrograd: neuron {j} of the layer has {weights} weights for {inputs} inputs"
    );
}

/// Whether `values` are consecutive handles of one generation, as a
/// model's parameters are made (true for none): every handle looked at,
/// with no branch on each (a model's parameters are thousands). Says
/// nothing of whether their nodes are still live.
#[inline]
pub(crate) fn consecutive(values: &[Value]) -> bool {
    let Some(&first) = values.first() else {
        return true;
    };
    values.iter().enumerate().fold(true, |run, (i, v)| {
        run & (v.generation == first.generation) & (v.index as usize == first.index as usize + i)
    })
}

/// The index of `v`'s node in `nodes`, after checking the handle is live.
#[inline]
fn checked_index(nodes: &[Node], v: Value) -> u32 {
    match nodes.get(v.index as usize) {
        Some(node) if node.generation == v.generation => v.index,
        _ => stale_handle(v, nodes.len()),
    }
}

/// What a recording's function reads and writes while traced
/// (`reads.rs`), noted as it happens.
impl Tape {
    /// Node `index`'s forward value was read as `data`.
    #[inline]
    pub(crate) fn note_read(&mut self, index: u32, data: f64) {
        if let Some(log) = &mut self.trace {
            log.read(index, data);
        }
    }

    /// Node `index`'s lanes (or its number) were read.
    #[inline]
    pub(crate) fn note_lanes_read(&mut self, index: u32) {
        if let Some(log) = &mut self.trace {
            log.read_lanes(index, &self.nodes, &self.slab);
        }
    }

    /// A value's data was overwritten.
    #[inline]
    pub(crate) fn note_write(&mut self) {
        if let Some(log) = &mut self.trace {
            log.write();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;

    #[test]
    fn a_stale_handle_stays_stale_past_two_to_the_32_scopes() {
        let stale = {
            let _scope = Scope::new();
            Value::new(7.0)
        };
        // Skip ahead as if 2^32 scopes had ended since: a 32-bit generation
        // would now be back at the stale handle's.
        with_tape(|t| t.generation = stale.generation + (1 << 32));
        let fresh = Value::new(99.0);
        assert_eq!(fresh.index, stale.index, "the same slot");
        assert_eq!(fresh.generation as u32, stale.generation as u32);
        let read = std::panic::catch_unwind(|| stale.data());
        assert!(read.is_err(), "a stale handle read another node");
        assert_eq!(fresh.data(), 99.0);
    }

    #[test]
    #[should_panic(expected = "belongs to another tape")]
    fn a_handle_from_another_tape_is_not_blamed_on_a_scope() {
        let here = Value::new(1.0);
        // What another copy of the crate (or another thread) hands out: same
        // index, a generation this tape never had.
        let foreign = Value::from_parts(here.index, here.generation ^ (1 << 62));
        let _ = foreign.data();
    }

    #[test]
    fn the_hot_path_checks_every_handle() {
        let here = Value::new(1.0);
        let freed = {
            let _scope = Scope::new();
            Value::new(2.0)
        };
        let foreign = Value::from_parts(here.index, here.generation ^ (1 << 62));
        let message = |f: fn(Value, Value) -> Value, a, b| {
            let payload = std::panic::catch_unwind(move || f(a, b)).unwrap_err();
            *payload.downcast::<String>().unwrap()
        };
        let ops: [fn(Value, Value) -> Value; 3] = [|a, b| a + b, |a, b| b * a, |a, _| a.relu()];
        for op in ops {
            assert!(message(op, freed, here).contains("was freed when the Scope"));
            assert!(message(op, foreign, here).contains("belongs to another tape"));
        }
        // A freed slot taken by a new node: its generation tells them apart.
        let taker = Value::new(3.0);
        assert_eq!(taker.index, freed.index);
        assert!(message(|a, b| a + b, freed, here).contains("its slot now holds another node"));
        assert_eq!((here + taker).data(), 4.0);
    }

    /// The hot path (`with_tape_or`) hands a freed operand to `with_tape`,
    /// which panics with the tape free: a panic hook that reads a value
    /// then works, where a panic inside the borrow would abort. A hook is
    /// the process's, so the case runs in a child process.
    #[test]
    fn a_freed_operand_panics_with_the_tape_free() {
        const CASE: &str = "MICROGRAD_TAPE_HOT_PATH_CASE";
        const NAME: &str = "engine::tape::tests::a_freed_operand_panics_with_the_tape_free";
        if let Ok(case) = std::env::var(CASE) {
            std::panic::set_hook(Box::new(|info| {
                eprintln!("hook read {} after: {info}", Value::new(42.0).data());
            }));
            let freed = {
                let _scope = Scope::new();
                Value::new(1.0)
            };
            let _ = match case.as_str() {
                "add" => freed + 2.0,
                "mul" => 2.0 * freed,
                _ => freed.tanh(),
            };
            return;
        }
        for case in ["add", "mul", "tanh"] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
                .env(CASE, case)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            // A test that panics exits with 101; an abort is a signal.
            assert_eq!(out.status.code(), Some(101), "{case}: {err}");
            assert!(err.contains("hook read 42 after: "), "{case}: {err}");
            assert!(err.contains("was freed when the Scope"), "{case}: {err}");
        }
    }

    #[test]
    fn tapes_of_two_threads_start_from_different_generations() {
        let here = Value::new(1.0).generation;
        let there = std::thread::spawn(|| Value::new(1.0).generation)
            .join()
            .unwrap();
        assert_ne!(here, there);
        assert!(here.wrapping_sub(first_generation()) < OWN_GENERATIONS);
    }
}
