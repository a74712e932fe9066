//! Many values at once, with one look at the tape: what the `nn` library's
//! layers, optimizers and trainer do to a model's parameters every step.

use super::lane_slab::SINGLE;
use super::node::Node;
use super::tape::{Tape, consecutive, with_tape};
use super::value::{Value, batch_misuse};

/// A layer over a batch, neuron by neuron `(weights, bias)`, pushed onto
/// `out`: what [`Value::dense`] does, for the `nn` library's layers.
pub(crate) fn dense_into<'w>(
    neurons: impl ExactSizeIterator<Item = (&'w [Value], Value)> + Clone,
    x: &[Value],
    out: &mut Vec<Value>,
) {
    with_tape(|t| t.dense(neurons, x, out));
}

/// Backpropagates from `root`, adding what the run of consecutive
/// single-valued leaves from `first` receive to `out` (one each) rather
/// than to their gradients.
pub(crate) fn backward_into(root: Value, first: Value, out: &mut [f64]) {
    with_tape(|t| t.backward_into(root, first, out));
}

/// The first of `values` if they are consecutive single-valued nodes of
/// one generation (as a model's parameters are made), so that
/// [`backward_into`] can collect their gradients.
pub(crate) fn run_start(values: &[Value]) -> Option<Value> {
    let first = *values.first()?;
    let single = with_tape(|t| values.iter().all(|&v| t.node(v).lanes == SINGLE));
    (consecutive(values) && single).then_some(first)
}

/// The forward values of the `len` single values of the run that starts at
/// `first` (see [`run_start`]), into `out`: one slice of the tape rather
/// than a look per value, for what a trainer does every step.
pub(crate) fn read_run_data(first: Value, len: usize, out: &mut Vec<f64>) {
    with_tape(|t| {
        out.clear();
        out.extend(run_nodes(t, first, len, "data").iter().map(|n| n.data));
    });
}

/// The first of the run's `len` values (see [`read_run_data`]) whose
/// forward value is NaN or infinite.
pub(crate) fn first_non_finite_in_run(first: Value, len: usize) -> Option<usize> {
    with_tape(|t| {
        run_nodes(t, first, len, "data")
            .iter()
            .position(|n| !n.data.is_finite())
    })
}

/// The nodes of the run of `len` single values from `first`.
fn run_nodes<'t>(t: &'t Tape, first: Value, len: usize, method: &str) -> &'t [Node] {
    &t.nodes[run_range(t, first, len, method)]
}

/// Where on the tape the run of `len` single values from `first` lies.
/// Nodes are only ever removed from the end of the tape, so if the run's
/// first and last nodes are still the ones of `first`'s generation, all
/// between are.
fn run_range(t: &Tape, first: Value, len: usize, method: &str) -> std::ops::Range<usize> {
    if len == 0 {
        return 0..0;
    }
    let start = t.index(first) as usize;
    // Panics as any stale handle does if the run's last node is gone.
    t.index(Value::from_parts(
        (start + len - 1) as u32,
        first.generation,
    ));
    // A node's lanes are fixed when it is made, and a run is checked for
    // single values when it is found.
    debug_assert!(
        t.nodes[start..start + len]
            .iter()
            .all(|n| n.lanes == SINGLE),
        "{method}: a run of single values"
    );
    start..start + len
}

/// A batch's forward lanes (or a single value's number), into `out`.
pub(crate) fn read_lanes(v: Value, out: &mut Vec<f64>) {
    with_tape(|t| {
        let i = t.index(v);
        t.note_lanes_read(i);
        out.clear();
        match t.lane_rows(v) {
            Some((data, _)) => out.extend_from_slice(data),
            None => out.push(t.node(v).data),
        }
    });
}

/// A batch's forward lanes (or a single value's number), after what `out`
/// holds.
pub(crate) fn read_lanes_onto(v: Value, out: &mut Vec<f64>) {
    with_tape(|t| {
        let i = t.index(v);
        t.note_lanes_read(i);
        match t.lane_rows(v) {
            Some((data, _)) => out.extend_from_slice(data),
            None => out.push(t.node(v).data),
        }
    });
}

/// The forward values of single values, into `out`.
pub(crate) fn read_data(values: &[Value], out: &mut Vec<f64>) {
    out.clear();
    each(values, "data", |_, node| out.push(node.data));
}

/// The first of single values whose forward value is NaN or infinite.
pub(crate) fn first_non_finite(values: &[Value]) -> Option<usize> {
    let mut found = None;
    each(values, "data", |i, node| {
        if found.is_none() && !node.data.is_finite() {
            found = Some(i);
        }
    });
    found
}

/// Overwrites single values' forward values with `data`, one each.
pub(crate) fn write_data(values: &[Value], data: &[f64]) {
    each(values, "set_data", |i, node| node.data = data[i]);
}

/// Moves single values' gradients into `out`, leaving 0.
pub(crate) fn take_grads(values: &[Value], out: &mut [f64]) {
    each(values, "grad", |i, node| {
        out[i] = std::mem::take(&mut node.grad)
    });
}

/// Sets single values' gradients to 0.
pub(crate) fn zero_grads(values: &[Value]) {
    each(values, "set_grad", |_, node| node.grad = 0.0);
}

/// The gradients of single values, into `out` (one each).
pub(crate) fn read_grads(values: &[Value], out: &mut [f64]) {
    each(values, "grad", |i, node| out[i] = node.grad);
}

/// Sets each single value's gradient to `grads[i]` and its data to
/// `f(i, data, grads[i])`: an optimizer's update, given the gradients.
pub(crate) fn update_with(
    values: &[Value],
    grads: &[f64],
    mut f: impl FnMut(usize, f64, f64) -> f64,
) {
    each(values, "set_data", |i, node| {
        node.grad = grads[i];
        node.data = f(i, node.data, grads[i]);
    });
}

/// Sets the data and the gradients of the run of `data.len()` single
/// values from `first` (see [`run_start`]) to `data` and `grads`, one each,
/// in one pass over one slice of the tape: an optimizer's update, worked
/// out on the numbers.
pub(crate) fn set_run(first: Value, data: &[f64], grads: &[f64]) {
    debug_assert_eq!(data.len(), grads.len());
    with_tape(|t| {
        let run = run_range(t, first, data.len(), "set_data");
        for ((node, &data), &grad) in t.nodes[run].iter_mut().zip(data).zip(grads) {
            node.data = data;
            node.grad = grad;
        }
        t.note_write();
    });
}

/// Sets single values' gradients to `grads`, one each.
pub(crate) fn set_grads(values: &[Value], grads: &[f64]) {
    each(values, "set_grad", |i, node| node.grad = grads[i]);
}

/// Sets each single value's data to `f(i, data, grad)`: an optimizer's
/// update.
pub(crate) fn update(values: &[Value], mut f: impl FnMut(usize, f64, f64) -> f64) {
    each(values, "set_data", |i, node| {
        node.data = f(i, node.data, node.grad)
    });
}

/// Calls `f(i, node)` with the node of each of `values`, which must be
/// single values (`method` names what needs them so), with one look at the
/// tape: when they are consecutive nodes of one generation (a model's
/// parameters, as it makes them), one slice of it, with no handle looked
/// up one by one.
#[inline]
fn each(values: &[Value], method: &str, mut f: impl FnMut(usize, &mut Node)) {
    with_tape(|t| {
        match run_of(t, values) {
            Some(start) => {
                let nodes = &mut t.nodes[start..start + values.len()];
                let batch = nodes.iter_mut().enumerate().find_map(|(i, node)| {
                    if node.lanes != SINGLE {
                        return Some(i);
                    }
                    f(i, node);
                    None
                });
                if let Some(i) = batch {
                    // Panics, naming the handle and what needed one number.
                    single_mut(t, values[i], method);
                }
            }
            None => {
                for (i, &v) in values.iter().enumerate() {
                    f(i, single_mut(t, v, method));
                }
            }
        }
        // What a recording's function reads and writes while traced.
        if t.trace.is_some() {
            match method {
                "data" => {
                    for &v in values {
                        let i = t.index(v);
                        t.note_read(i, t.nodes[i as usize].data);
                    }
                }
                "set_data" => t.note_write(),
                _ => {}
            }
        }
    });
}

/// Where the nodes of `values` start on the tape, if they are consecutive
/// nodes of one generation whose first and last are live (so every node
/// between them is: nodes are only ever freed from the end of the tape);
/// `None` for any other list, or an empty one. Every handle is looked at
/// with no branch on it.
#[inline]
fn run_of(t: &Tape, values: &[Value]) -> Option<usize> {
    let (&first, &last) = (values.first()?, values.last()?);
    let live = |v: Value| {
        t.nodes
            .get(v.index as usize)
            .is_some_and(|node| node.generation == v.generation)
    };
    (consecutive(values) && live(first) && live(last)).then_some(first.index as usize)
}

/// `v`'s node, mutably, which must hold one number for `method`.
#[inline]
fn single_mut<'t>(t: &'t mut Tape, v: Value, method: &str) -> &'t mut Node {
    let lanes = t.slab.width();
    let node = t.node_mut(v);
    if node.lanes != SINGLE {
        batch_misuse(v, method, lanes);
    }
    node
}
