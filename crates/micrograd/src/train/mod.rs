//! Training an [`MLP`] on a [`Dataset`]: micrograd's demo loop, with any
//! loss, optimizer, schedule and batch size, on every core, and without
//! allocating after the first step.

mod batched_step;
mod config;
mod divergence;
mod footprint;
mod gradients;
mod history;
mod preset;
mod saved;
mod settings;
mod task;
mod team;

pub use config::{Batching, TrainConfig};
pub use footprint::Footprint;
pub use history::History;
pub use preset::{BuiltIn, Preset};
pub use saved::SavedModel;
pub use settings::{DatasetName, Hidden, Settings, Setup};
pub use task::{Classes, Task};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::engine::{self, Value};
use crate::error::{Error, Result};
use crate::nn::loss::{self, Targets};
use crate::nn::{MLP, Module, Optimizer, Workspace};

use divergence::Course;
use team::Team;

/// What one training step measured, before its update: micrograd's
/// `step {k} loss {total_loss.data}, accuracy {acc*100}%`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord {
    /// The step number, from 0.
    pub step: usize,
    /// The total loss (data loss plus the L2 penalty) on the step's batch.
    pub loss: f64,
    /// The fraction of the batch classified right; `None` for regression.
    pub accuracy: Option<f64>,
    /// The learning rate the step's update used.
    pub lr: f64,
    /// The nodes the step's graph had on the tape.
    pub nodes: usize,
}

/// Trains a model step by step.
///
/// ```
/// use micrograd::data::moons;
/// use micrograd::nn::MLP;
/// use micrograd::train::{TrainConfig, Trainer};
///
/// let data = moons(100, 0.1, 1);
/// let model = MLP::new(2, &[16, 16, 1]);
/// let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100))?;
/// let first = trainer.step()?;
/// let last = trainer.run(99, |_| {})?;
/// assert!(last.loss < first.loss);
/// # Ok::<(), micrograd::Error>(())
/// ```
pub struct Trainer<'a> {
    model: &'a MLP,
    data: &'a Dataset,
    task: Task,
    /// Each sample's class, or its value for a regression.
    targets: Targets,
    config: TrainConfig,
    params: Vec<Value>,
    /// The first parameter, if they are one run of nodes.
    run: Option<Value>,
    optimizer: Box<dyn Optimizer>,
    /// Draws the minibatches.
    rng: ChaCha8Rng,
    /// The samples' indices; a step's batch is their tail, drawn afresh.
    order: Vec<usize>,
    /// How many steps have been taken.
    step: usize,
    threads: Threads,
    scratch: Scratch,
    course: Course,
}

/// The threads of the lanes path.
struct Threads {
    /// How many a step may use.
    count: usize,
    /// The model's structure, for the helpers' copies of it.
    blueprint: batched_step::Blueprint,
    /// The other threads, started at the first step that has chunks for
    /// them.
    team: Option<Team>,
}

/// What a step fills, kept from step to step so that a step allocates
/// nothing after the first.
#[derive(Default)]
struct Scratch {
    /// micrograd's graph: a point's inputs, the batch's outputs and
    /// targets, the layers' buffers.
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    targets: Targets,
    workspace: Workspace,
    /// The lanes path: the chunks' graphs' buffers, and the parameters'
    /// numbers for the helpers.
    lanes: batched_step::Buffers,
    snapshot: Vec<f64>,
    /// Each chunk's sums; the first row of gradients is the step's (the
    /// only row, point by point).
    sums: batched_step::ChunkSums,
    /// The parameters before the step's update, restored if it diverges.
    before: Vec<f64>,
}

impl<'a> Trainer<'a> {
    /// A trainer of `model` on `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the data does not fit the loss (an SVM loss needs
    /// two classes, say; see [`Task::for_loss`] and [`Task::check_loss`])
    /// or the model (its input width, or its number of
    /// outputs), or the batch size or thread count is 0.
    pub fn new(model: &'a MLP, data: &'a Dataset, config: &TrainConfig) -> Result<Trainer<'a>> {
        let task = Task::for_loss(config.loss, data)?;
        if model.nin() != data.dim() {
            return Err(Error::Data(format!(
                "the data has {} features per sample, the model takes {} inputs",
                data.dim(),
                model.nin()
            )));
        }
        let outputs = model.nouts().last().copied().unwrap_or(0);
        if outputs != task.outputs() {
            return Err(Error::Data(format!(
                "the {} loss on this data needs {} output{}, the model has {outputs}",
                config.loss,
                task.outputs(),
                if task.outputs() == 1 { "" } else { "s" }
            )));
        }
        if config.batch == Some(0) {
            return Err(Error::Data("the batch size must be at least 1".into()));
        }
        if config.threads == Some(0) {
            return Err(Error::Data("the thread count must be at least 1".into()));
        }
        let targets = task.targets(config.loss, &data.y)?;
        Ok(Trainer {
            model,
            data,
            task,
            targets,
            config: config.clone(),
            params: model.parameters(),
            run: engine::run_start(&model.parameters()),
            optimizer: config.optimizer.build(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            order: (0..data.len()).collect(),
            step: 0,
            threads: Threads {
                count: config.thread_count(),
                blueprint: batched_step::Blueprint::of(model),
                team: None,
            },
            scratch: Scratch::default(),
            course: Course::default(),
        })
    }

    /// One step, as micrograd's demo: forward the batch, compute the loss,
    /// zero the gradients, backpropagate, update. Its graph is freed when it
    /// returns.
    ///
    /// # Errors
    ///
    /// [`Error::Diverged`] if the loss, a gradient or an updated parameter
    /// is NaN or infinite, naming which (the op that first made a loss
    /// non-finite, or the parameter) and the likely cause; the model is
    /// then left as it was before the step, and the step is not counted.
    /// [`Error::Data`] if the threads could not be started.
    pub fn step(&mut self) -> Result<StepRecord> {
        let k = self.step;
        let lr = self.config.schedule.at(k);
        let n = self
            .config
            .batch
            .map_or(self.order.len(), |b| b.min(self.order.len()));
        let start = self.order.len() - n;
        if start > 0 {
            // numpy.random.permutation(len)[:batch_size] without allocating:
            // the last n entries become a uniform random sample.
            let _ = self.order.partial_shuffle(&mut self.rng, n);
        }
        let p = self.params.len();
        let (loss, accuracy, nodes) = match self.config.batching {
            Batching::Lanes => self.lanes_gradients(start)?,
            Batching::PerPoint => {
                let record = self.per_point_gradients(start)?;
                let grads = &mut self.scratch.sums.grads;
                grads.resize(p, 0.0);
                engine::read_grads(&self.params, &mut grads[..p]);
                record
            }
        };
        self.check_gradients()?;
        let Scratch { before, sums, .. } = &mut self.scratch;
        match self.run {
            Some(first) => engine::read_run_data(first, p, before),
            None => engine::read_data(&self.params, before),
        }
        self.optimizer.step_with(&self.params, &sums.grads[..p], lr);
        self.check_update(lr)?;
        self.course.record(loss);
        self.step += 1;
        Ok(StepRecord {
            step: k,
            loss,
            accuracy,
            lr,
            nodes,
        })
    }

    /// micrograd: `total_loss = data_loss + alpha * sum((p*p for p in model.parameters()))`
    fn with_l2(&self, data_loss: Value) -> Value {
        if self.config.l2 != 0.0 {
            data_loss + self.config.l2 * loss::l2(&self.params)
        } else {
            data_loss
        }
    }

    /// Takes `steps` steps, calling `on_step` after each; returns the last
    /// step's record (or, for 0 steps, a record of the loss not taken:
    /// step count so far, NaN loss).
    ///
    /// # Errors
    ///
    /// The first step's error, as [`step`](Trainer::step).
    pub fn run(
        &mut self,
        steps: usize,
        mut on_step: impl FnMut(&StepRecord),
    ) -> Result<StepRecord> {
        let mut last = StepRecord {
            step: self.step,
            loss: f64::NAN,
            accuracy: None,
            lr: f64::NAN,
            nodes: 0,
        };
        for _ in 0..steps {
            last = self.step()?;
            on_step(&last);
        }
        Ok(last)
    }

    /// How many steps have been taken.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    /// How the data's targets are read.
    pub fn task(&self) -> &Task {
        &self.task
    }
}
