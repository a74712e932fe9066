//! How to train: the loss, the optimizer and its schedule, the L2 and L1
//! penalties, the batches, how a step builds its graph and on how many
//! threads.

use crate::nn::loss::Loss;
use crate::nn::{OptimizerKind, Schedule};

/// How to train: loss, optimizer, learning rate, regularisation, batches.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The data loss.
    pub loss: Loss,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The learning rate at each step.
    pub schedule: Schedule,
    /// The weight of the L2 penalty `Σ p²` added to the loss (0 for none).
    pub l2: f64,
    /// The weight of the L1 penalty `Σ |p|` added to the loss (0 for none),
    /// over the same parameters as L2: every weight and bias.
    pub l1: f64,
    /// Samples per step, drawn afresh each step; `None` for all of them.
    pub batch: Option<usize>,
    /// The seed minibatches are drawn from.
    pub seed: u64,
    /// How each step's graph is built.
    pub batching: Batching,
    /// How many threads a step may use; `None` for every core. Any number
    /// gives the same bits.
    pub threads: Option<usize>,
}

/// How a training step builds its graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Batching {
    /// [`Lanes`](Batching::Lanes)' graph, recorded once and replayed: its
    /// shape is the same every step, so each step runs it as a fixed
    /// program over the batch (layer kernels and lane loops, no nodes, no
    /// allocation), with the same bits as building it. Steps that cannot
    /// be replayed (a model with a layer whose neurons differ in inputs or
    /// activation) are built as `Lanes` does: [`Trainer::replays`] says
    /// which.
    ///
    /// [`Trainer::replays`]: super::Trainer::replays
    #[default]
    Replay,
    /// [`Replay`](Batching::Replay) with a fused multiply-add for every
    /// term of the layers' products (one rounding where the graph rounds
    /// twice), and, with no L1 penalty, the L2 penalty's sum of squares in
    /// eight running sums (parameter `i` into sum `i % 8`, added pairwise)
    /// rather than micrograd's one chain: faster, and still the same bits on every CPU,
    /// with or without its vector units, and for any thread count, but not
    /// the graph's bits, nor micrograd's (about 1e-16 relative apart per
    /// sum).
    /// In WebAssembly, which has no fused multiply-add, slow. Falls back
    /// to building as `Replay` does, with the graph's arithmetic.
    Fused,
    /// One graph for the whole batch, built every step, each node holding a lane per point
    /// (JAX's `vmap`), layers as matrix products; large batches are cut by
    /// position into chunks of 256 points, spread over the threads, and
    /// their sums added in order. Each point's outputs are the bits of its
    /// own graph; the gradients agree with [`PerPoint`](Batching::PerPoint)
    /// to about 1e-15 (the sums are added in another order).
    Lanes,
    /// micrograd's graph: one node per number, point after point, on one
    /// thread.
    PerPoint,
}

impl TrainConfig {
    /// micrograd's demo over `steps` steps: SVM loss, L2 of 1e-4 (no L1),
    /// plain SGD with `lr = 1.0 - 0.9*k/steps`, full batch.
    pub fn micrograd_demo(steps: usize) -> TrainConfig {
        TrainConfig {
            loss: Loss::Svm,
            optimizer: OptimizerKind::Sgd { momentum: 0.0 },
            schedule: Schedule::micrograd_demo(steps),
            l2: 1e-4,
            l1: 0.0,
            batch: None,
            seed: 0,
            batching: Batching::Replay,
            threads: None,
        }
    }

    /// The threads a step may use: [`threads`](TrainConfig::threads), or
    /// every core.
    pub fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        })
    }
}
