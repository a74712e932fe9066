//! A function of `Value`s recorded once and replayed: JAX's `jit`, for
//! micrograd.
//!
//! The first call runs the function, building its graph on the tape as
//! usual (the trace); later calls write their numbers into the trace's
//! inputs and recompute its nodes in place, in creation order, each by the
//! rule that made it (`forward.rs`, the layer kernels): no new nodes, no
//! handle checks, no allocation, and the bits building the graph again
//! would give. What would make a replay silently wrong is caught instead:
//! every number the function reads while it is traced (`data`,
//! `data_lanes`, a loss reading its logits) is a guard, checked after each
//! replay, and a guard that no longer holds (a branch on a value would now
//! go another way) traces the function again; writing a value's data
//! while tracing makes the trace one that is never replayed. A replay also
//! sets every gradient of the trace's nodes back to 0, as a new trace's
//! nodes start: an input's or a constant's gradient is then the latest
//! call's alone, not the sum over the calls.

use std::ops::Range;

use super::dense;
use super::forward;
use super::lane_dot;
use super::lane_slab::SINGLE;
use super::node::Instr;
use super::reads::TraceLog;
use super::rules::Unary;

use super::scope::Scope;
use super::tape::{Tape, misuse, with_tape};
use super::value::Value;

impl Tape {
    /// Recomputes nodes `first..end` in creation order, each from its
    /// operands as they are now, by the rule that made it; leaves keep
    /// their numbers. Every one's gradient starts at 0 again (a batch's
    /// rows: `rows`), as a new node's does. `single`: none of them holds a
    /// batch.
    fn reforward(&mut self, first: usize, end: usize, rows: Range<u32>, single: bool) {
        let shape = self.slab.shape;
        let lanes = shape.start(rows.start)..shape.start(rows.end);
        self.slab.grad[lanes].fill(0.0);
        // A graph of single values, as a user's graph built value by value
        // is, skips the question per node.
        if single {
            self.reforward_with::<true>(first, end);
        } else {
            self.reforward_with::<false>(first, end);
        }
    }

    #[inline(always)]
    fn reforward_with<const SINGLE_ONLY: bool>(&mut self, first: usize, end: usize) {
        let mut i = first;
        while i < end {
            // The hot loop: most of a graph built value by value is leaves
            // and `+`, `*` and the elementwise ops of single values, each
            // recomputed inline (forward.rs's rules); anything else out of
            // line.
            let nodes = &mut self.nodes[..end];
            while i < end {
                let node = &nodes[i];
                let data = match node.instr {
                    _ if !SINGLE_ONLY && node.lanes != SINGLE => break,
                    // A leaf keeps its number.
                    Instr::Leaf => node.data,
                    Instr::Add(a, b) => nodes[a as usize].data + nodes[b as usize].data,
                    Instr::Mul(a, b) => nodes[a as usize].data * nodes[b as usize].data,
                    // micrograd's activation, inline (its rule folds to a
                    // `max`); the other elementwise ops are calls.
                    Instr::Unary(op @ Unary::Relu, a) => forward::unary(op, nodes[a as usize].data),

                    _ => break,
                };
                nodes[i].data = data;
                nodes[i].grad = 0.0;
                i += 1;
            }
            if i < end {
                let count = self.reforward_node(i);
                for node in &mut self.nodes[i..i + count] {
                    node.grad = 0.0;
                }
                i += count;
            }
        }
    }

    /// Recomputes node `i` (and, for a layer or a block, the nodes made
    /// with it); returns how many nodes that was.
    #[inline(never)]
    fn reforward_node(&mut self, i: usize) -> usize {
        let node = self.nodes[i];
        match node.instr {
            // A layer's neurons are made together, from the first.
            Instr::Dense { start, .. } => {
                let shape = self.slab.shape;
                let neurons = dense::refresh(
                    &self.nodes,
                    &self.edges,
                    &mut self.saved,
                    &mut self.kernel,
                    shape,
                    start,
                );
                dense::forward(
                    &self.edges,
                    &self.saved,
                    &self.kernel,
                    &mut self.slab,
                    start,
                    node.lanes,
                );
                neurons
            }
            // So are a block's entries.
            Instr::LaneDot { start, .. } => {
                let mut values = std::mem::take(&mut self.kernel.dw);
                lane_dot::values(
                    &self.nodes,
                    &self.edges,
                    &self.slab,
                    &mut self.kernel,
                    start,
                    &mut values,
                );
                for (node, &value) in self.nodes[i..i + values.len()].iter_mut().zip(&values) {
                    node.data = value;
                }
                let count = values.len();
                self.kernel.dw = values;
                count
            }
            Instr::Leaf => 1,
            instr if node.lanes != SINGLE => {
                let shape = self.slab.shape;
                let (below, out) = self.slab.data.split_at_mut(shape.start(node.lanes));
                let out = &mut out[..shape.width];
                forward::forward_lanes(instr, &self.nodes, &self.edges, below, shape, out);
                1
            }
            instr => {
                self.nodes[i].data = forward::forward(instr, &self.nodes, &self.edges, &self.slab);
                1
            }
        }
    }
}

/// One input of a [`Recording`]: a number, or a batch's lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input<'a> {
    /// A single value.
    One(f64),
    /// A batch, one lane per number.
    Lanes(&'a [f64]),
}

impl From<f64> for Input<'_> {
    fn from(x: f64) -> Self {
        Input::One(x)
    }
}

impl<'a> From<&'a [f64]> for Input<'a> {
    fn from(lanes: &'a [f64]) -> Self {
        Input::Lanes(lanes)
    }
}

impl<'a> From<&'a Vec<f64>> for Input<'a> {
    fn from(lanes: &'a Vec<f64>) -> Self {
        Input::Lanes(lanes)
    }
}

impl Input<'_> {
    /// `None` for a single value, else the number of lanes.
    fn shape(self) -> Option<usize> {
        match self {
            Input::One(_) => None,
            Input::Lanes(lanes) => Some(lanes.len()),
        }
    }
}

/// A function of `Value`s recorded on its first call and replayed on the
/// next ones: JAX's `jit`, for a training step whose graph has the same
/// shape every time.
///
/// [`call`](Recording::call) gives the function its inputs as new leaves
/// and returns what it returns, a `Value` whose `backward` works as
/// usual. The first call builds the graph (the trace); a later call with
/// inputs of the same shapes writes their numbers into the trace's leaves
/// and recomputes its nodes in place, by the same rules, so every data and
/// gradient has the bits a new graph would, without building one.
///
/// ```
/// use micrograd::{Input, Recording, Value};
///
/// let w = Value::new(0.5); // a parameter, outside the recording
/// let mut step = Recording::new(|x: &[Value]| (w * x[0] - x[1]).powf(2.0));
/// for (x, y) in [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)] {
///     let loss = step.call(&[Input::One(x), Input::One(y)]);
///     w.set_grad(0.0);
///     loss.backward();
///     w.set_data(w.data() - 0.05 * w.grad());
/// }
/// assert_eq!(step.traces(), 1); // traced once, replayed twice
/// ```
///
/// JAX's rule holds: the function must be a function of its inputs and of
/// values made before it (the parameters, whose current numbers a replay
/// reads). Numbers it captures from Rust (`Value::new(lr)` of a captured
/// `lr`) are constants of the trace: pass what changes as an input. What a
/// replay cannot see is caught, not trusted: every number the function
/// reads while it is traced (`data`, `data_lanes`, a loss reading its
/// logits, a branch on a value) is a guard, and a call after which a guard
/// no longer holds traces the function again ([`traces`](Recording::traces)
/// counts the traces); a function that writes a value's data while traced
/// is traced on every call.
///
/// A replay gives what tracing anew would, gradients included: the
/// gradients of the nodes the function makes (its inputs and constants
/// too) start at 0 on every call, while values made before it (the
/// parameters) accumulate across calls, as they would without a recording.
///
/// The trace lives in a [`Scope`] of its own: a new trace frees the old
/// one, and with it anything built after it on this thread's tape; the
/// recording's end frees its trace. Gradient graphs
/// ([`Value::gradients`]) inside the function are recorded and replayed
/// like any other nodes. [`set_replay(false)`](Recording::set_replay)
/// traces on every call: the graph is built every time, as without a
/// recording.
pub struct Recording<F> {
    f: F,
    trace: Option<Trace>,
    replay: bool,
    traces: usize,
}

/// One trace of a recording's function.
struct Trace {
    inputs: Vec<Value>,
    shapes: Vec<Option<usize>>,
    output: Value,
    /// The trace's nodes: `first..end` of the tape, and their batches'
    /// rows of lanes.
    first: usize,
    end: usize,
    rows: Range<u32>,
    /// The trace's last node, if it has any.
    last: Option<Value>,
    /// Whether none of its nodes holds a batch.
    single: bool,
    reads: TraceLog,
    replayable: bool,
    /// Frees the trace: the last field, dropped after the handles.
    _scope: Scope,
}

/// Ends the tape's trace log even if the traced function panics.
struct Tracing;

impl Drop for Tracing {
    fn drop(&mut self) {
        super::tape::try_with_tape(|t| t.trace = None);
    }
}

impl<F: FnMut(&[Value]) -> Value> Recording<F> {
    /// A recording of `f`; nothing runs until the first
    /// [`call`](Recording::call).
    pub fn new(f: F) -> Recording<F> {
        Recording {
            f,
            trace: None,
            replay: true,
            traces: 0,
        }
    }

    /// `f` of `inputs`: replayed when the last trace fits them (the same
    /// shapes, its guards still hold, its nodes alive), else traced anew.
    ///
    /// # Panics
    ///
    /// If called while another recording's function is being traced on
    /// this thread (recordings do not nest), or as `f` panics.
    pub fn call(&mut self, inputs: &[Input<'_>]) -> Value {
        if self.replay {
            if let Some(trace) = &self.trace {
                if trace.replay(inputs) {
                    return trace.output;
                }
            }
        }
        self.trace(inputs)
    }

    /// Whether calls replay the last trace (the default) or trace the
    /// function every time.
    pub fn set_replay(&mut self, replay: bool) {
        self.replay = replay;
    }

    /// How many times the function has been traced (called), as opposed to
    /// replayed.
    pub fn traces(&self) -> usize {
        self.traces
    }

    fn trace(&mut self, inputs: &[Input<'_>]) -> Value {
        // The old trace goes first, so that the new one takes its place.
        self.trace = None;
        let scope = Scope::new();
        let first = super::value::tape_len();
        let first_row = with_tape(|t| t.slab.rows());
        let values: Vec<Value> = inputs
            .iter()
            .map(|&input| match input {
                Input::One(x) => Value::new(x),
                Input::Lanes(lanes) => Value::batch(lanes),
            })
            .collect();
        with_tape(|t| {
            if t.trace.is_some() {
                misuse(
                    "micrograd: a Recording was called while another one's function was being \
                     traced; recordings do not nest"
                        .into(),
                );
            }
            t.trace = Some(TraceLog::default());
        });
        let tracing = Tracing;
        let output = (self.f)(&values);
        let log = with_tape(|t| t.trace.take()).unwrap_or_default();
        drop(tracing);
        self.traces += 1;
        let end = super::value::tape_len();
        let rows = first_row..with_tape(|t| t.slab.rows());
        let last = (end > first).then(|| with_tape(|t| t.handle((end - 1) as u32)));
        let single = with_tape(|t| t.nodes[first..end].iter().all(|n| n.lanes == SINGLE));
        self.trace = Some(Trace {
            inputs: values,
            shapes: inputs.iter().map(|&i| i.shape()).collect(),
            output,
            first,
            end,
            rows,
            last,
            single,
            replayable: !log.wrote(),
            reads: log,
            _scope: scope,
        });
        output
    }
}

impl Trace {
    /// Replays the trace with `inputs`; `false` (having maybe recomputed
    /// some of it) if it does not fit them or a guard fails.
    fn replay(&self, inputs: &[Input<'_>]) -> bool {
        if !self.replayable
            || inputs.len() != self.shapes.len()
            || inputs
                .iter()
                .zip(&self.shapes)
                .any(|(i, &s)| i.shape() != s)
        {
            return false;
        }
        with_tape(|t| {
            // Alive: its last node is (a scope that freed any of it freed
            // that one too).
            let alive = self.last.is_none_or(|last| {
                t.nodes
                    .get(last.index as usize)
                    .is_some_and(|n| n.generation == last.generation)
            });
            if !alive || t.trace.is_some() {
                return false;
            }
            for (&v, &input) in self.inputs.iter().zip(inputs) {
                let node = t.node(v);
                match input {
                    Input::One(x) => t.node_mut(v).data = x,
                    Input::Lanes(lanes) => {
                        let span = t.slab.span(node.lanes);
                        t.slab.data[span].copy_from_slice(lanes);
                    }
                }
            }
            t.reforward(self.first, self.end, self.rows.clone(), self.single);
            self.reads.holds(&t.nodes, &t.slab)
        })
    }
}
