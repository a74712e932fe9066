//! Training an [`MLP`] on a [`Dataset`]: micrograd's demo loop, with any
//! loss, optimizer, schedule and batch size, on every core, and without
//! allocating after the first step.

mod batched_step;
mod footprint;
mod history;
mod preset;
mod saved;
mod settings;
mod task;
mod team;

pub use footprint::Footprint;
pub use history::History;
pub use preset::{BuiltIn, Preset};
pub use saved::SavedModel;
pub use settings::{DatasetName, Hidden, Settings, Setup};
pub use task::{Classes, Task};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::Op;
use crate::data::Dataset;
use crate::engine::{self, Anomaly, Scope, Value, tape_len};
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
    /// How each step's graph is built.
    pub batching: Batching,
    /// How many threads a step may use; `None` for every core. Any number
    /// gives the same bits.
    pub threads: Option<usize>,
}

/// How a training step builds its graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Batching {
    /// One graph for the whole batch, each node holding a lane per point
    /// (JAX's `vmap`), layers as matrix products; large batches are cut by
    /// position into chunks of 256 points, spread over the threads, and
    /// their sums added in order. Each point's outputs are the bits of its
    /// own graph; the gradients agree with [`PerPoint`](Batching::PerPoint)
    /// to about 1e-15 (the sums are added in another order).
    #[default]
    Lanes,
    /// micrograd's graph: one node per number, point after point, on one
    /// thread.
    PerPoint,
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
            batching: Batching::Lanes,
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

/// An op in a sentence: `log`, `exp`, `**2`, `the product`.
fn op_words(op: Op) -> String {
    match op {
        Op::Add | Op::Sum => "a sum".into(),
        Op::SumLanes => "the sum over the points".into(),
        Op::Mul => "a product".into(),
        Op::Affine => "a neuron's weighted sum".into(),
        Op::SumSquares => "a sum of squares".into(),
        Op::Leaf => "an input".into(),
        op => format!("`{op}`"),
    }
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
    /// Each sample's target as the loss reads it: ±1 for the SVM loss, 0/1
    /// for BCE, the class index for softmax, the value for regression.
    targets: Vec<f64>,
    config: TrainConfig,
    params: Vec<Value>,
    /// The first parameter, if they are one run of nodes.
    run: Option<Value>,
    optimizer: Box<dyn Optimizer>,
    rng: ChaCha8Rng,
    step: usize,
    blueprint: batched_step::Blueprint,
    /// The threads a step may use.
    threads: usize,
    /// The other threads of the lanes path, started at its first step that
    /// has chunks for them.
    team: Option<team::Team>,
    // Buffers kept from step to step.
    order: Vec<usize>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    batch_targets: Vec<f64>,
    batch_classes: Vec<usize>,
    workspace: Workspace,
    lane_buffers: batched_step::Buffers,
    snapshot: Vec<f64>,
    grads: Vec<f64>,
    losses: Vec<f64>,
    right: Vec<usize>,
    nodes: Vec<usize>,
    /// The parameters before the step's update, restored if it diverges.
    before: Vec<f64>,
    /// The first step's loss, to tell a run that diverged.
    first_loss: Option<f64>,
    /// The latest step's loss.
    last_loss: Option<f64>,
}

impl<'a> Trainer<'a> {
    /// A trainer of `model` on `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the data does not fit the loss (an SVM loss needs
    /// two classes, say) or the model (its input width, or its number of
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
        let targets = data
            .y
            .iter()
            .map(|&y| task.target(config.loss, y))
            .collect();
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
            step: 0,
            blueprint: batched_step::Blueprint::of(model),
            threads: config.thread_count(),
            team: None,
            order: (0..data.len()).collect(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            batch_targets: Vec::new(),
            batch_classes: Vec::new(),
            workspace: Workspace::default(),
            lane_buffers: batched_step::Buffers::default(),
            snapshot: Vec::new(),
            grads: Vec::new(),
            losses: Vec::new(),
            right: Vec::new(),
            nodes: Vec::new(),
            before: Vec::new(),
            first_loss: None,
            last_loss: None,
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
                self.grads.resize(p, 0.0);
                engine::read_grads(&self.params, &mut self.grads[..p]);
                record
            }
        };
        self.check_gradients()?;
        match self.run {
            Some(first) => engine::read_run_data(first, p, &mut self.before),
            None => engine::read_data(&self.params, &mut self.before),
        }
        self.optimizer.step_with(&self.params, &self.grads[..p], lr);
        self.check_update(lr)?;
        self.first_loss.get_or_insert(loss);
        self.last_loss = Some(loss);
        self.step += 1;
        Ok(StepRecord {
            step: k,
            loss,
            accuracy,
            lr,
            nodes,
        })
    }

    /// micrograd's graph of the batch `order[start..]`'s total loss, point
    /// by point; its outputs are left in `outputs`, the targets in
    /// `batch_targets`.
    fn per_point_loss(&mut self, start: usize) -> Value {
        let batch = &self.order[start..];
        self.outputs.clear();
        self.batch_targets.clear();
        for &i in batch {
            self.inputs.clear();
            self.inputs
                .extend(self.data.x[i].iter().map(|&x| Value::new(x)));
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
        self.with_l2(data_loss)
    }

    /// micrograd's step, point by point: the batch `order[start..]`'s
    /// graph, its loss, and the parameters' gradients. Returns the loss,
    /// the accuracy and the graph's size.
    fn per_point_gradients(&mut self, start: usize) -> Result<(f64, Option<f64>, usize)> {
        let _graph = Scope::new();
        let first_node = tape_len();
        let total = self.per_point_loss(start);
        let loss = self.check(total, start)?;
        let points = self.order.len() - start;
        let accuracy = self.task.is_classification().then(|| {
            let width = self.task.outputs();
            let correct = self
                .outputs
                .chunks_exact(width)
                .zip(&self.batch_targets)
                .filter(|(out, target)| self.task.is_right(out.iter().map(|v| v.data()), **target))
                .count();
            correct as f64 / points as f64
        });
        engine::zero_grads(&self.params);
        total.backward();
        Ok((loss, accuracy, tape_len() - first_node))
    }

    /// The same step over the batch `order[start..]` in lanes, chunk by
    /// chunk, on up to [`thread_count`](TrainConfig::thread_count) threads.
    fn lanes_gradients(&mut self, start: usize) -> Result<(f64, Option<f64>, usize)> {
        let batch = &self.order[start..];
        let count = batched_step::chunk_count(batch.len());
        let p = self.params.len();
        self.grads.resize(count * p, 0.0);
        self.losses.resize(count, 0.0);
        self.right.resize(count, 0);
        self.nodes.resize(count, 0);
        if self.threads > 1 && count > 1 && self.team.is_none() {
            let team = team::Team::new(
                self.threads - 1,
                self.data,
                &self.targets,
                &self.task,
                self.config.loss,
                &self.blueprint,
            )?;
            self.team = Some(team);
        }
        let Trainer {
            model,
            data,
            targets,
            task,
            config,
            params,
            run,
            team,
            lane_buffers,
            snapshot,
            grads,
            losses,
            right,
            nodes,
            ..
        } = self;
        let step = batched_step::Step {
            data,
            batch,
            targets,
            loss: config.loss,
            task,
        };
        let sums = batched_step::Sums {
            grads,
            losses,
            right,
            nodes,
        };
        let mut own = |chunks: std::ops::Range<usize>, sums: batched_step::Sums<'_>| {
            batched_step::run_chunks(
                &step,
                model,
                params,
                *run,
                lane_buffers,
                chunks,
                count,
                sums,
            );
        };
        match team {
            Some(team) if count > 1 => {
                // The helpers' copies of the model start from these numbers.
                engine::read_data(params, snapshot);
                team.step(batch, snapshot, count, own, sums);
            }
            _ => own(0..count, sums),
        }

        let _graph = Scope::new();
        let first_node = tape_len();
        // The chunks' sums, in chunk order; then the batch's mean, as
        // micrograd's `sum(losses) * (1.0 / len(losses))`.
        let sum = self
            .losses
            .iter()
            .copied()
            .reduce(|a, b| a + b)
            .unwrap_or(0.0);
        let data_loss = match self.config.loss.scale(batch.len()) {
            Some(scale) => sum * scale,
            None => sum,
        };
        let points = batch.len();
        let total = self.with_l2(Value::new(data_loss));
        let loss = self.check(total, start)?;
        // The chunks' gradients, added in chunk order; then the penalty's,
        // into the same row when the parameters are one run of nodes.
        let (first, rest) = self.grads.split_at_mut(p);
        for chunk in rest.chunks_exact(p) {
            for (g, &c) in first.iter_mut().zip(chunk) {
                *g += c;
            }
        }
        match (self.run, self.config.l2 != 0.0) {
            (Some(run), true) => engine::backward_into(total, run, first),
            (None, true) => {
                engine::set_grads(&self.params, first);
                total.backward();
                engine::read_grads(&self.params, first);
            }
            (_, false) => {}
        }
        let accuracy = self
            .task
            .is_classification()
            .then(|| self.right.iter().sum::<usize>() as f64 / points as f64);
        let nodes = self.nodes.iter().sum::<usize>() + (tape_len() - first_node);
        Ok((loss, accuracy, nodes))
    }

    /// micrograd: `total_loss = data_loss + alpha * sum((p*p for p in model.parameters()))`
    fn with_l2(&self, data_loss: Value) -> Value {
        if self.config.l2 != 0.0 {
            data_loss + self.config.l2 * loss::l2(&self.params)
        } else {
            data_loss
        }
    }

    /// The loss, if it is a number; else the error that says where it
    /// stopped being one: the first op of the batch `order[start..]`'s
    /// graph that made a NaN or an infinity. The per-point graph is the
    /// step's own (`total`); the lanes path looks again at its chunks one
    /// at a time, as a step builds them, so the search takes no more memory
    /// than the step did.
    fn check(&mut self, total: Value, start: usize) -> Result<f64> {
        let loss = total.data();
        if loss.is_finite() {
            return Ok(loss);
        }
        let anomaly = match self.config.batching {
            Batching::PerPoint => total.check_finite().err(),
            Batching::Lanes => {
                let step = batched_step::Step {
                    data: self.data,
                    batch: &self.order[start..],
                    targets: &self.targets,
                    loss: self.config.loss,
                    task: &self.task,
                };
                // Every point's loss is finite but not their sum: the sum
                // overflowed. Else the penalty did, on `total`'s graph.
                batched_step::first_anomaly(&step, self.model, &mut self.lane_buffers).or_else(
                    || {
                        let sum = self.losses.iter().copied().reduce(|a, b| a + b);
                        match sum {
                            Some(sum) if !sum.is_finite() => None,
                            _ => total.check_finite().err(),
                        }
                    },
                )
            }
        };
        let origin = match anomaly.as_deref() {
            // A neuron's or a sum's operands are too many to list.
            Some(Anomaly { op, operands, .. })
                if !operands.is_empty()
                    && !matches!(op, Op::Affine | Op::Sum | Op::SumSquares | Op::SumLanes) =>
            {
                let shown: Vec<String> = operands.iter().map(|x| format!("{x:?}")).collect();
                format!(
                    " (first made by {} of {}: ",
                    op_words(*op),
                    shown.join(", ")
                )
            }
            Some(Anomaly { op, .. }) => format!(" (first made by {}: ", op_words(*op)),
            None => " (first made by the sum of the points' losses: ".to_owned(),
        };
        Err(self.diverged(format!(
            "the loss is {loss:?}{origin}{})",
            self.likely_cause()
        )))
    }

    /// Every gradient of the step, if each is a number.
    fn check_gradients(&self) -> Result<()> {
        let p = self.params.len();
        match self.grads[..p].iter().position(|g| !g.is_finite()) {
            None => Ok(()),
            Some(i) => Err(self.diverged(format!(
                "the gradient of {} is {:?} ({})",
                self.parameter_name(i),
                self.grads[i],
                self.likely_cause()
            ))),
        }
    }

    /// Every parameter after the update, if each is a number; else the
    /// parameters before it are put back.
    fn check_update(&mut self, lr: f64) -> Result<()> {
        let first_non_finite = match self.run {
            Some(first) => engine::first_non_finite_in_run(first, self.params.len()),
            None => engine::first_non_finite(&self.params),
        };
        let Some(i) = first_non_finite else {
            return Ok(());
        };
        let now = self.params[i].data();
        engine::write_data(&self.params, &self.before);
        Err(self.diverged(format!(
            "the update made {} {now:?} (it was {:?}, its gradient {:?}, the learning rate {lr:?}): \
             the learning rate is too large for these gradients; try a smaller one",
            self.parameter_name(i),
            self.before[i],
            self.grads[i],
        )))
    }

    /// Why a run leaves the real numbers, judged from its losses so far.
    fn likely_cause(&self) -> String {
        match (self.first_loss, self.last_loss) {
            (Some(first), Some(last)) if last > 10.0 * first => format!(
                "the loss grew from {first:?} at step 0 to {last:?} at step {}: \
                 the learning rate is too large; try a smaller one",
                self.step - 1
            ),
            (Some(_), Some(_)) => {
                "the learning rate is probably too large; try a smaller one".into()
            }
            _ => "before any update: the data or the initial weights are too large for the model; \
                  scale the features, or try a smaller learning rate"
                .into(),
        }
    }

    fn parameter_name(&self, i: usize) -> String {
        self.model
            .parameter_name(i)
            .unwrap_or_else(|| format!("parameter {i}"))
    }

    fn diverged(&self, message: String) -> Error {
        Error::Diverged {
            step: self.step,
            message,
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

    /// Checks the model's outputs on every sample of the data: a step
    /// checks the loss, the gradients and the updated parameters, but an
    /// update can leave finite parameters whose outputs are not (weights
    /// near 1e308). Call it before keeping a model.
    ///
    /// # Errors
    ///
    /// [`Error::Diverged`] naming the first sample whose outputs are NaN
    /// or infinite.
    pub fn check_model(&self) -> Result<()> {
        let weights = self.model.weights();
        for (i, x) in self.data.x.iter().enumerate() {
            let outputs = weights.predict(x);
            if outputs.iter().any(|y| !y.is_finite()) {
                let largest = weights
                    .layers
                    .iter()
                    .flat_map(|l| l.w.iter().flatten().chain(&l.b))
                    .fold(0.0f64, |m, w| m.max(w.abs()));
                let shown: Vec<String> = outputs.iter().map(|y| format!("{y:?}")).collect();
                return Err(self.diverged(format!(
                    "the model's output for sample {} is [{}] (its largest weight is {largest:e}): {}",
                    i + 1,
                    shown.join(", "),
                    self.likely_cause()
                )));
            }
        }
        Ok(())
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
