//! What a training run needs: memory at its peak, and room on the tape
//! (its nodes and operands are numbered in u32). Worked out from the
//! shapes the trainer allocates, so that a run that cannot fit is refused
//! before it starts rather than failing an hour in.

use super::batched_step::{CHUNK, chunk_count};
use super::{Batching, TrainConfig};
use crate::nn::OptimizerKind;

/// The bytes of one tape node (`engine::tape::Node`).
const NODE: u64 = 40;
/// Rows of lanes are padded to a multiple of this (`engine::batched_step::PAD`).
const PAD: u64 = 16;
/// The stack of a helper thread (`std::thread`'s default).
const STACK: u64 = 2 << 20;

/// The address space `helpers` threads reserve: a stack each, and under
/// glibc a heap of `HEAP_MAX_SIZE` (64 MiB on 64-bit systems) for each
/// thread's allocations, up to its cap of 8 heaps per core
/// (<https://sourceware.org/glibc/manual/latest/html_node/Memory-Allocation-Tunables.html>).
fn reserved_by(helpers: u64) -> u64 {
    let heaps = if cfg!(target_env = "gnu") {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        helpers.min(8 * cores - 1) * (64 << 20)
    } else {
        0
    };
    helpers * STACK + heaps
}

/// What training a network needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Bytes of memory at the peak of a run, all threads together, with
    /// the saved model: an estimate from the sizes the trainer allocates,
    /// vectors grown by doubling counted at their largest capacity. Measured
    /// against peak memory: within 10% for batched training above 100 MB,
    /// and up to twice it for per-point graphs.
    pub bytes: u64,
    /// Bytes of address space the run reserves beyond `bytes`, which an
    /// address-space limit (`ulimit -v`) counts though they are never
    /// touched: each helper thread's stack, and where the C library is
    /// glibc, the 64 MiB heap it reserves for each thread's allocations
    /// (up to 8 per core).
    pub reserved: u64,
    /// The most nodes one tape holds at once.
    pub nodes: u64,
    /// The most operand indices one tape holds at once.
    pub operands: u64,
}

impl Footprint {
    /// The footprint of training an MLP of `widths` (inputs first, outputs
    /// last) on `points` samples with `config`.
    pub fn of(widths: &[usize], points: usize, config: &TrainConfig) -> Footprint {
        let w: Vec<u64> = widths.iter().map(|&n| n as u64).collect();
        let layers: Vec<(u64, u64)> = w.windows(2).map(|io| (io[0], io[1])).collect();
        let params = crate::nn::parameter_count(widths) as u64;
        let optimizer = match config.optimizer {
            OptimizerKind::Adam => 2,
            OptimizerKind::Sgd { momentum } if momentum != 0.0 => 1,
            OptimizerKind::Sgd { .. } => 0,
        };
        // A vector filled one push at a time ends at the next power of two.
        let grown = |n: u64| n.next_power_of_two();
        // A copy of the model: its nodes and their stamps on a tape, and its
        // handles (`Value`s, 16 bytes) in the network and in a list.
        let copy = |graph_nodes: u64| grown(params + graph_nodes) * (NODE + 4) + params * 32;
        // The optimizer's state, the weights copied out to save and draw,
        // and the saved file's bytes (built, then written).
        let mut bytes = params * 8 * (optimizer + 4);
        let batch = config.batch.map_or(points, |b| b.min(points)) as u64;
        let (nodes, operands);
        let mut helpers = 0;
        match config.batching {
            Batching::Lanes | Batching::Replay | Batching::Fused => {
                let chunks = chunk_count(batch as usize) as u64;
                let lanes = batch.div_ceil(chunks).min(CHUNK as u64);
                let stride = lanes.next_multiple_of(PAD);
                let threads = (config.thread_count() as u64).clamp(1, chunks);
                helpers = threads - 1;
                let dim = w[0];
                let graph_nodes = 4 * w.iter().sum::<u64>() + 16;
                // One chunk's graph: the inputs' rows; per layer the
                // neurons' and activations' rows (forward and gradient),
                // the saved weights, the kernels' buffers; the loss's rows.
                let mut rows = dim + 8;
                let mut graph = 0;
                for &(k, j) in &layers {
                    rows += 2 * j;
                    graph += grown(j * k) * 8
                        + j * k * 8
                        + (j + k + k.max(j) + 1) * stride * 8
                        + (k + 8) * 4;
                }
                graph += grown(rows * stride) * 16;
                // Each chunk's gradients and the helpers' copies of the
                // model, its numbers and the data.
                bytes += copy(graph_nodes)
                    + chunks * params * 8
                    + threads * graph
                    + (threads - 1)
                        * (copy(graph_nodes) + grown(params) * 8 + points as u64 * (dim + 1) * 8);
                nodes = params + graph_nodes;
                operands = params + layers.iter().map(|&(k, _)| k + 8).sum::<u64>();
            }
            Batching::PerPoint => {
                // Per point and neuron: an affine node with its operands,
                // and its activation.
                let per_point_nodes: u64 =
                    w[0] + layers.iter().map(|&(_, j)| 2 * j).sum::<u64>() + 8;
                let per_point_operands: u64 = layers.iter().map(|&(k, j)| j * (2 * k + 1)).sum();
                nodes = params + batch * per_point_nodes + 16;
                operands = batch * per_point_operands + batch + params;
                bytes += copy(batch * per_point_nodes + 16) + grown(operands) * 4;
            }
        }
        Footprint {
            bytes,
            reserved: reserved_by(helpers),
            nodes,
            operands,
        }
    }

    /// Whether one tape can number this run's nodes and operands (u32).
    pub fn fits_a_tape(&self) -> bool {
        self.nodes < u64::from(u32::MAX) && self.operands < u64::from(u32::MAX)
    }
}
