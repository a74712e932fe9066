//! A training step over a batch in lanes, on every core.
//!
//! The batch is cut, by position, into chunks of at most [`CHUNK`] points;
//! each chunk is one batched graph (a lane per point) that gives the sum of
//! its points' loss terms and what every parameter receives from them. The
//! chunks are spread over the threads (`team`), each building its graphs on
//! its own tape with its own copy of the parameters, and their sums are
//! added in chunk order. The cut depends on the batch size alone, so every
//! thread count gives the same bits.

use std::ops::Range;

use crate::data::Dataset;
use crate::engine::{self, Scope, Value, tape_len};
use crate::nn::loss::{self, LossScratch, Targets};
use crate::nn::{Activation, Layer, Loss, MLP, Neuron, Workspace};

use super::Task;
use super::replay::{Program, Replay};

/// The most points one chunk's graph holds: small enough that a chunk's
/// lanes stay in the cache, large enough that building its graph is cheap
/// beside its arithmetic.
pub(crate) const CHUNK: usize = 256;

/// How many chunks a batch of `n` points is cut into.
pub(crate) fn chunk_count(n: usize) -> usize {
    n.div_ceil(CHUNK).max(1)
}

/// The positions in a batch of `n` points of chunk `c` of `count`: sizes
/// as equal as possible.
pub(crate) fn chunk(n: usize, count: usize, c: usize) -> Range<usize> {
    c * n / count..(c + 1) * n / count
}

/// A model's structure: each neuron's inputs and activation, layer by
/// layer; with the parameters' numbers it makes a copy of the model.
#[derive(Clone, Debug)]
pub(crate) struct Blueprint {
    layers: Vec<Vec<(usize, Activation)>>,
}

impl Blueprint {
    pub(crate) fn of(model: &MLP) -> Blueprint {
        Blueprint {
            layers: model
                .layers
                .iter()
                .map(|l| {
                    l.neurons
                        .iter()
                        .map(|n| (n.w.len(), n.activation))
                        .collect()
                })
                .collect(),
        }
    }

    /// The multiply-adds of one point's forward pass: one per weight.
    pub(crate) fn multiply_adds(&self) -> usize {
        self.layers.iter().flatten().map(|&(nin, _)| nin).sum()
    }

    /// Each layer's neurons: their inputs and activation.
    pub(crate) fn layers(&self) -> &[Vec<(usize, Activation)>] {
        &self.layers
    }

    /// A copy of the model on this thread's tape, its parameters (in
    /// `parameters()` order) set to `params`.
    pub(crate) fn build(&self, params: &[f64]) -> MLP {
        let mut params = params.iter().copied();
        let layers = self
            .layers
            .iter()
            .map(|neurons| Layer {
                neurons: neurons
                    .iter()
                    .map(|&(nin, activation)| {
                        let w: Vec<f64> = params.by_ref().take(nin).collect();
                        let b = params.next().unwrap_or(0.0);
                        Neuron::from_weights(&w, b, activation)
                    })
                    .collect(),
            })
            .collect();
        MLP { layers }
    }
}

/// What every chunk of a step reads.
pub(crate) struct Step<'a> {
    pub(crate) data: &'a Dataset,
    /// The batch: its points' indices in `data`, in lane order.
    pub(crate) batch: &'a [usize],
    /// Every point's class, or value.
    pub(crate) targets: &'a Targets,
    pub(crate) loss: Loss,
    pub(crate) task: &'a Task,
}

/// What the chunks give back, one entry per chunk (`grads`: one row of
/// parameters per chunk).
pub(crate) struct Sums<'a> {
    pub(crate) grads: &'a mut [f64],
    pub(crate) losses: &'a mut [f64],
    pub(crate) right: &'a mut [usize],
    pub(crate) nodes: &'a mut [usize],
}

impl<'a> Sums<'a> {
    pub(crate) fn split_at(self, chunks: usize, params: usize) -> (Sums<'a>, Sums<'a>) {
        let Sums {
            grads,
            losses,
            right,
            nodes,
        } = self;
        let (g0, g1) = grads.split_at_mut(chunks * params);
        let (l0, l1) = losses.split_at_mut(chunks);
        let (r0, r1) = right.split_at_mut(chunks);
        let (n0, n1) = nodes.split_at_mut(chunks);
        (
            Sums {
                grads: g0,
                losses: l0,
                right: r0,
                nodes: n0,
            },
            Sums {
                grads: g1,
                losses: l1,
                right: r1,
                nodes: n1,
            },
        )
    }
}

/// Chunks' sums, owned: one row of parameter gradients per chunk.
#[derive(Default)]
pub(crate) struct ChunkSums {
    pub(crate) grads: Vec<f64>,
    pub(crate) losses: Vec<f64>,
    pub(crate) right: Vec<usize>,
    pub(crate) nodes: Vec<usize>,
}

impl ChunkSums {
    /// The sums of `chunks` chunks of a model of `params` parameters.
    pub(crate) fn sized(&mut self, chunks: usize, params: usize) -> Sums<'_> {
        self.grads.resize(chunks * params, 0.0);
        self.losses.resize(chunks, 0.0);
        self.right.resize(chunks, 0);
        self.nodes.resize(chunks, 0);
        Sums {
            grads: &mut self.grads,
            losses: &mut self.losses,
            right: &mut self.right,
            nodes: &mut self.nodes,
        }
    }
}

/// How a thread runs its chunks: building each one's graph with its copy
/// of the model on its tape, or replaying the step's program.
#[derive(Clone, Copy)]
pub(crate) enum Graph<'a> {
    Build {
        model: &'a MLP,
        /// The model's parameters.
        params: &'a [Value],
        /// The first of them, if they are one run of nodes.
        run: Option<Value>,
    },
    Replay {
        program: &'a Program,
        /// The parameters' numbers.
        params: &'a [f64],
    },
}

/// Buffers for building a chunk's graph, kept from step to step.
#[derive(Default)]
pub(crate) struct Buffers {
    replay: Replay,
    column: Vec<f64>,
    inputs: Vec<Value>,
    workspace: Workspace,
    targets: Targets,
    loss: LossScratch,
    lanes: Vec<f64>,
}

/// Chunks `chunks` of `step` (cut into `count`) on this thread, as `graph`
/// says.
pub(crate) fn run_chunks(
    step: &Step<'_>,
    graph: Graph<'_>,
    buffers: &mut Buffers,
    chunks: Range<usize>,
    count: usize,
    sums: Sums<'_>,
) {
    let (model, params, run) = match graph {
        Graph::Build { model, params, run } => (model, params, run),
        Graph::Replay { program, params } => {
            let p = program.params();
            for (i, c) in chunks.enumerate() {
                let batch = &step.batch[chunk(step.batch.len(), count, c)];
                let grads = &mut sums.grads[i * p..(i + 1) * p];
                let (loss, right) = buffers.replay.chunk(program, params, step, batch, grads);
                sums.losses[i] = loss;
                sums.right[i] = right;
                sums.nodes[i] = 0;
            }
            return;
        }
    };
    let p = params.len();
    if run.is_none() {
        // Each chunk's backward starts from zero, and leaves them so.
        engine::zero_grads(params);
    }
    for (i, c) in chunks.enumerate() {
        let positions = chunk(step.batch.len(), count, c);
        let (loss, right, nodes) = run_chunk(
            step,
            model,
            params,
            run,
            buffers,
            &step.batch[positions],
            &mut sums.grads[i * p..(i + 1) * p],
        );
        sums.losses[i] = loss;
        sums.right[i] = right;
        sums.nodes[i] = nodes;
    }
}

/// The first number of the batch's loss that is not finite, found chunk
/// by chunk in chunk order, each chunk's graph alone on the tape as in
/// training (so the search needs no more memory than a step); `None` if
/// every chunk's loss is finite. Each lane holds its point's bits, so the
/// anomaly is what that point's own graph would show. Its `node` is freed
/// when this returns; read its op, lane and operands.
pub(crate) fn first_anomaly(
    step: &Step<'_>,
    model: &MLP,
    buffers: &mut Buffers,
) -> Option<Box<engine::Anomaly>> {
    let count = chunk_count(step.batch.len());
    (0..count).find_map(|c| {
        let _graph = Scope::new();
        let positions = chunk(step.batch.len(), count, c);
        let (_, root) = chunk_loss(step, model, buffers, &step.batch[positions]);
        root.check_finite().err()
    })
}

/// One chunk's loss graph on this thread's tape: the points `batch` as
/// lanes through `model`, their loss terms, summed, and scaled as their
/// share of the whole batch's mean. Returns the sum and the scaled root;
/// the outputs are left in `buffers.workspace`, the targets in
/// `buffers.targets`.
fn chunk_loss(
    step: &Step<'_>,
    model: &MLP,
    buffers: &mut Buffers,
    batch: &[usize],
) -> (Value, Value) {
    let Buffers {
        column,
        inputs,
        workspace,
        targets,
        loss: loss_scratch,
        ..
    } = buffers;
    inputs.clear();
    for k in 0..step.data.dim() {
        column.clear();
        column.extend(batch.iter().map(|&i| step.data.x[i][k]));
        inputs.push(Value::batch(column));
    }
    let outputs = model.forward_with(inputs, workspace);
    step.targets.gather_into(batch, targets);
    let terms = loss::lane_terms(step.loss, outputs, targets.read(), loss_scratch);
    let sum = terms.sum_lanes();
    // The whole batch's mean: each term's share is 1/n of the batch, not of
    // the chunk, exactly as in one graph over the batch.
    let root = match step.loss.scale(step.batch.len()) {
        Some(scale) => sum * scale,
        None => sum,
    };
    (sum, root)
}

/// One chunk: its graph over the points `batch`, the sum of their loss
/// terms, and, into `grads`, d(loss)/d(parameter) from them (the batch's
/// scale included). Returns the sum, how many points it classifies right,
/// and the nodes its graph had.
fn run_chunk(
    step: &Step<'_>,
    model: &MLP,
    params: &[Value],
    run: Option<Value>,
    buffers: &mut Buffers,
    batch: &[usize],
    grads: &mut [f64],
) -> (f64, usize, usize) {
    let _graph = Scope::new();
    let first_node = tape_len();
    let (sum, root) = chunk_loss(step, model, buffers, batch);
    // The parameters' gradients, straight into the chunk's row when they
    // are one run of nodes (as a model makes them).
    match run {
        Some(first) => {
            grads.fill(0.0);
            engine::backward_into(root, first, grads);
        }
        None => {
            root.backward();
            engine::take_grads(params, grads);
        }
    }

    let right = right_in(step.task, buffers, batch.len());
    (sum.data(), right, tape_len() - first_node)
}

/// How many of the `n` points of the chunk just built (its outputs in
/// `buffers.workspace`, its targets in `buffers.targets`) the outputs
/// classify right; 0 for a regression.
fn right_in(task: &Task, buffers: &mut Buffers, n: usize) -> usize {
    let Buffers {
        workspace,
        targets,
        lanes,
        ..
    } = buffers;
    let Some(classes) = targets.classes() else {
        return 0;
    };
    let outputs = workspace.outputs();
    // Lanes of output j at lanes[j*n..]: each point's outputs, in order.
    lanes.clear();
    for &out in outputs {
        engine::read_lanes_onto(out, lanes);
    }
    (0..n)
        .filter(|&lane| {
            let point = (0..outputs.len()).map(|j| lanes[j * n + lane]);
            task.is_right(point, classes[lane])
        })
        .count()
}

/// The whole of `step`'s batch through `model`, forward only, chunk by
/// chunk as a training step cuts it, each chunk's graph freed before the
/// next: the sum of the points' loss terms (the chunks' sums added in
/// chunk order, as a step adds them) and how many points the outputs
/// classify right.
///
/// With a `program` (and the model's parameters' numbers), each chunk is
/// replayed rather than built: the same bits.
pub(crate) fn evaluate(
    step: &Step<'_>,
    model: &MLP,
    program: Option<(&Program, &[f64])>,
    buffers: &mut Buffers,
) -> (f64, usize) {
    let count = chunk_count(step.batch.len());
    let mut sum = None;
    let mut right = 0;
    for c in 0..count {
        let batch = &step.batch[chunk(step.batch.len(), count, c)];
        let (chunk_sum, chunk_right) = match program {
            Some((program, params)) => buffers.replay.measure(program, params, step, batch),
            None => {
                let _graph = Scope::new();
                let (chunk_sum, _) = chunk_loss(step, model, buffers, batch);
                (chunk_sum.data(), right_in(step.task, buffers, batch.len()))
            }
        };
        sum = Some(sum.map_or(chunk_sum, |s: f64| s + chunk_sum));
        right += chunk_right;
    }
    (sum.unwrap_or(0.0), right)
}
