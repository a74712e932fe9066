//! Training an [`MLP`] on a [`Dataset`]: micrograd's demo loop, with any
//! loss, optimizer, schedule and batch size, and without allocating after
//! the first step.

mod preset;
mod saved;
mod task;

pub use preset::{BuiltIn, Preset};
pub use saved::SavedModel;
pub use task::Task;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::engine::{Scope, Value, tape_len};
use crate::error::{Error, Result};
use crate::nn::loss::{self, Loss};
use crate::nn::{MLP, Module, Optimizer, OptimizerKind, Schedule, Workspace};

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
    /// Samples per step, drawn afresh each step; `None` for all of them.
    pub batch: Option<usize>,
    /// The seed minibatches are drawn from.
    pub seed: u64,
}

impl TrainConfig {
    /// micrograd's demo over `steps` steps: SVM loss, L2 of 1e-4, plain SGD
    /// with `lr = 1.0 - 0.9*k/steps`, full batch.
    pub fn micrograd_demo(steps: usize) -> TrainConfig {
        TrainConfig {
            loss: Loss::Svm,
            optimizer: OptimizerKind::Sgd { momentum: 0.0 },
            schedule: Schedule::micrograd_demo(steps),
            l2: 1e-4,
            batch: None,
            seed: 0,
        }
    }
}

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
    x: &'a [Vec<f64>],
    task: Task,
    /// Each sample's target as the loss reads it: ±1 for the SVM loss, 0/1
    /// for BCE, the class index for softmax, the value for regression.
    targets: Vec<f64>,
    config: TrainConfig,
    params: Vec<Value>,
    optimizer: Box<dyn Optimizer>,
    rng: ChaCha8Rng,
    step: usize,
    // Buffers kept from step to step.
    order: Vec<usize>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    batch_targets: Vec<f64>,
    batch_classes: Vec<usize>,
    workspace: Workspace,
}

impl<'a> Trainer<'a> {
    /// A trainer of `model` on `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the data does not fit the loss (an SVM loss needs
    /// two classes, say) or the model (its input width, or its number of
    /// outputs), or the batch size is 0.
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
        let targets = data
            .y
            .iter()
            .map(|&y| task.target(config.loss, y))
            .collect();
        Ok(Trainer {
            model,
            x: &data.x,
            task,
            targets,
            config: config.clone(),
            params: model.parameters(),
            optimizer: config.optimizer.build(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            step: 0,
            order: (0..data.len()).collect(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            batch_targets: Vec::new(),
            batch_classes: Vec::new(),
            workspace: Workspace::default(),
        })
    }

    /// One step, as micrograd's demo: forward the batch, compute the loss,
    /// zero the gradients, backpropagate, update. Its graph is freed when it
    /// returns.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] if the loss is NaN or infinite; the model is
    /// then left as it was before the step.
    pub fn step(&mut self) -> Result<StepRecord> {
        let _graph = Scope::new();
        let first_node = tape_len();
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
        let batch = &self.order[start..];

        self.outputs.clear();
        self.batch_targets.clear();
        for &i in batch {
            self.inputs.clear();
            self.inputs.extend(self.x[i].iter().map(|&x| Value::new(x)));
            let out = self.model.forward_with(&self.inputs, &mut self.workspace);
            self.outputs.extend_from_slice(out);
            self.batch_targets.push(self.targets[i]);
        }
        let data_loss = match self.config.loss {
            Loss::Svm => loss::svm(&self.outputs, &self.batch_targets),
            Loss::Mse => loss::mse(&self.outputs, &self.batch_targets),
            Loss::SumSquares => loss::sum_squares(&self.outputs, &self.batch_targets),
            Loss::Bce => loss::bce_with_logits(&self.outputs, &self.batch_targets),
            Loss::SoftmaxCe => {
                self.batch_classes.clear();
                self.batch_classes
                    .extend(self.batch_targets.iter().map(|&c| c as usize));
                loss::softmax_cross_entropy(&self.outputs, &self.batch_classes, self.task.outputs())
            }
        };
        // micrograd: `total_loss = data_loss + alpha * sum((p*p for p in model.parameters()))`
        let total = if self.config.l2 != 0.0 {
            data_loss + self.config.l2 * loss::l2(&self.params)
        } else {
            data_loss
        };
        let loss = total.data();
        if !loss.is_finite() {
            return Err(Error::NonFinite { step: k, loss });
        }
        let accuracy = self.task.is_classification().then(|| {
            let width = self.task.outputs();
            let correct = self
                .outputs
                .chunks_exact(width)
                .zip(&self.batch_targets)
                .filter(|(out, target)| self.task.is_right(out.iter().map(|v| v.data()), **target))
                .count();
            correct as f64 / n as f64
        });

        for p in &self.params {
            p.set_grad(0.0);
        }
        total.backward();
        self.optimizer.step(&self.params, lr);
        self.step += 1;
        let nodes = tape_len() - first_node;
        Ok(StepRecord {
            step: k,
            loss,
            accuracy,
            lr,
            nodes,
        })
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
