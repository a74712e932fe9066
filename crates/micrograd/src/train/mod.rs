//! Training an [`MLP`] on a [`Dataset`]: micrograd's demo loop, with any
//! loss, optimizer, schedule and batch size, on every core, and without
//! allocating after the first step.

mod batched_step;
mod config;
mod divergence;
mod footprint;
mod gradients;
mod history;
mod penalty;
mod preset;
mod replay;
mod saved;
mod settings;
mod task;
mod team;

pub use config::{Batching, TrainConfig};
pub use footprint::Footprint;
pub use history::History;
pub use preset::{BuiltIn, Preset};
pub use saved::SavedModel;
pub use settings::{DatasetName, Hidden, Point, Settings, Setup};
pub use task::{Classes, Task};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::engine::{self, Value};
use crate::error::{Error, Result};
use crate::nn::loss::{self, Targets};
use crate::nn::optim::Update;
use crate::nn::{MLP, Module, Workspace};

use crate::engine::kernels::Arith;
use divergence::Course;
use team::Team;

/// What one training step measured, before its update: micrograd's
/// `step {k} loss {total_loss.data}, accuracy {acc*100}%`, and the same on
/// the held-out points where there are some ([`Trainer::with_test`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord {
    /// The step number, from 0.
    pub step: usize,
    /// The total loss on the step's batch: the data loss plus the L2 and
    /// L1 penalties.
    pub loss: f64,
    /// The fraction of the batch classified right; `None` for regression.
    pub accuracy: Option<f64>,
    /// The data loss on the held-out points, without the penalties, with
    /// the parameters `loss` had (before the step's update); `None` without
    /// held-out points.
    pub test_loss: Option<f64>,
    /// The fraction of the held-out points classified right, with the same
    /// parameters; `None` without held-out points, or for regression.
    pub test_accuracy: Option<f64>,
    /// The learning rate the step's update used.
    pub lr: f64,
    /// The nodes the step's graph had on the tape: 0 for a replayed step
    /// whose penalty goes without its graph (no L1 penalty), which makes
    /// none.
    pub nodes: usize,
}

/// How the model scores as it stands, on every training point and every
/// held-out one ([`Trainer::scores`]): after the last update, what a
/// further step over every training point would record before its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// The total loss on every training point: the data loss plus the L2
    /// and L1 penalties, as [`StepRecord::loss`].
    pub loss: f64,
    /// The fraction of the training points classified right; `None` for
    /// regression.
    pub accuracy: Option<f64>,
    /// The data loss on the held-out points; `None` without them.
    pub test_loss: Option<f64>,
    /// The fraction of the held-out points classified right; `None`
    /// without them, or for regression.
    pub test_accuracy: Option<f64>,
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
    optimizer: Update,
    /// Draws the minibatches.
    rng: ChaCha8Rng,
    /// The samples' indices; a step's batch is their tail, drawn afresh.
    order: Vec<usize>,
    /// How many steps have been taken.
    step: usize,
    threads: Threads,
    scratch: Scratch,
    course: Course,
    /// The held-out points, measured at each step.
    test: Option<HeldOut<'a>>,
    /// Whether the steps leave the parameters in the numbers rather than
    /// writing them to the model ([`Trainer::run_loop`]).
    defer: bool,
}

/// Points a trainer measures but does not train on.
struct HeldOut<'a> {
    data: &'a Dataset,
    targets: Targets,
    /// Every point's index, the batch each step measures.
    all: Vec<usize>,
    buffers: batched_step::Buffers,
}

/// The threads of the lanes path.
struct Threads {
    /// How many a step may use.
    count: usize,
    /// The model's structure, for the helpers' copies of it.
    blueprint: batched_step::Blueprint,
    /// The step's program, when it is replayed.
    program: Option<replay::Program>,
    /// The other threads, started at the first step that has chunks for
    /// them.
    team: Option<Team>,
}

/// The parameters' numbers into `out`: one slice of the tape when they are
/// one run of nodes from `run`, else one look each.
fn read_params(params: &[Value], run: Option<Value>, out: &mut Vec<f64>) {
    match run {
        Some(first) => engine::read_run_data(first, params.len(), out),
        None => engine::read_data(params, out),
    }
}

/// The least arithmetic (multiply-adds, forward and backward) a thread is
/// given: below it, handing a share to another thread and waiting for it
/// costs more than the share saves. About 30 µs of a core's work; a
/// batch of 1,000 points through micrograd's 2-16-16-1 network is three
/// times that.
const LEAST_WORK_PER_THREAD: usize = 300_000;

impl Threads {
    /// How many threads a step over `points` points, cut into `chunks`,
    /// uses: as many as it is allowed, as it has chunks for, and as its
    /// work pays for. Any number gives the same bits.
    fn for_step(&self, points: usize, chunks: usize) -> usize {
        let work = 3 * points * self.blueprint.multiply_adds();
        self.count
            .min(chunks)
            .min(work / LEAST_WORK_PER_THREAD)
            .max(1)
    }
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
    /// Whether `snapshot` holds the parameters as they are: read once in a
    /// step, for the replay, the held-out points and the update's undo.
    fresh: bool,
    /// Whether the model's nodes lag `snapshot` (and their gradients
    /// `last_grads`): in a [`Trainer::run_loop`], the parameters live in
    /// the numbers from step to step and are written once.
    pending: bool,
    /// While `pending`, the gradients of the last step taken (a failing
    /// step writes its own into `sums`, so these stay the model's).
    last_grads: Vec<f64>,
    /// Each chunk's sums; the first row of gradients is the step's (the
    /// only row, point by point).
    sums: batched_step::ChunkSums,
    /// The parameters before the step's update, restored if it diverges.
    before: Vec<f64>,
    /// The L1 penalty's signs.
    signs: Vec<Value>,
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
            optimizer: Update::of(config.optimizer),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            order: (0..data.len()).collect(),
            step: 0,
            threads: Threads {
                count: config.thread_count(),
                blueprint: batched_step::Blueprint::of(model),
                program: {
                    let blueprint = batched_step::Blueprint::of(model);
                    match config.batching {
                        Batching::Replay => {
                            replay::Program::of(&blueprint, config.loss, Arith::Exact)
                        }
                        Batching::Fused => {
                            replay::Program::of(&blueprint, config.loss, Arith::Fused)
                        }
                        Batching::Lanes | Batching::PerPoint => None,
                    }
                },
                team: None,
            },
            scratch: Scratch::default(),
            course: Course::default(),
            test: None,
            defer: false,
        })
    }

    /// The same trainer, measuring at each step the data loss and the
    /// accuracy on `test`, points held out of its training
    /// ([`StepRecord::test_loss`]): one graph over them, forward only, in
    /// lanes (as a step's batch, chunk by chunk, on this thread, whatever
    /// the batching), freed before the step's update.
    ///
    /// ```
    /// use micrograd::data::{Dataset, moons};
    /// use micrograd::nn::MLP;
    /// use micrograd::train::{TrainConfig, Trainer};
    ///
    /// let data = moons(100, 0.1, 1);
    /// let (train, test) = (
    ///     Dataset { x: data.x[..80].to_vec(), y: data.y[..80].to_vec() },
    ///     Dataset { x: data.x[80..].to_vec(), y: data.y[80..].to_vec() },
    /// );
    /// let model = MLP::new(2, &[16, 16, 1]);
    /// let config = TrainConfig::micrograd_demo(100);
    /// let mut trainer = Trainer::new(&model, &train, &config)?.with_test(&test)?;
    /// let last = trainer.run(100, |_| {})?;
    /// assert!(last.test_accuracy.unwrap() > 0.8);
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if `test` is empty, its points do not fit the
    /// model's inputs, or a label is not one of the classes the training
    /// data has.
    pub fn with_test(mut self, test: &'a Dataset) -> Result<Trainer<'a>> {
        if test.is_empty() {
            return Err(Error::Data("there are no held-out points".into()));
        }
        if test.dim() != self.model.nin() {
            return Err(Error::Data(format!(
                "the held-out points have {} features each, the model takes {} inputs",
                test.dim(),
                self.model.nin()
            )));
        }
        let targets = self
            .task
            .targets(self.config.loss, &test.y)
            .map_err(|e| Error::Data(format!("held-out points: {e}")))?;
        self.test = Some(HeldOut {
            data: test,
            targets,
            all: (0..test.len()).collect(),
            buffers: batched_step::Buffers::default(),
        });
        Ok(self)
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
        // In a loop, the numbers are the parameters; else they are read
        // afresh, as the user may have changed the model since.
        self.scratch.fresh &= self.scratch.pending;
        let (loss, accuracy, nodes) = match self.config.batching {
            Batching::Lanes | Batching::Replay | Batching::Fused => self.lanes_gradients(start)?,
            Batching::PerPoint => {
                let record = self.per_point_gradients(start)?;
                let grads = &mut self.scratch.sums.grads;
                grads.resize(p, 0.0);
                engine::read_grads(&self.params, &mut grads[..p]);
                record
            }
        };
        self.check_gradients()?;
        let (test_loss, test_accuracy) = self.measure_test();
        let Scratch {
            before,
            sums,
            snapshot,
            fresh,
            ..
        } = &mut self.scratch;
        let grads = &sums.grads[..p];
        match self.run {
            // The update worked out on the numbers the step read, a
            // vector's work, and written to the model once it is known to
            // be numbers: the same bits as through the values.
            Some(run) if *fresh => {
                // The numbers before the update are taken, not copied: the
                // two buffers trade places, each with room for every
                // parameter (no allocation after the first step).
                before.reserve(snapshot.len().saturating_sub(before.len()));
                std::mem::swap(before, snapshot);
                snapshot.resize(p, 0.0);
                self.optimizer.step_numbers(before, grads, lr, snapshot);
                if let Err(error) = self.check_update_numbers(lr) {
                    // The numbers before the update are the parameters.
                    let Scratch {
                        before, snapshot, ..
                    } = &mut self.scratch;
                    std::mem::swap(before, snapshot);
                    return Err(error);
                }
                if self.defer {
                    // The next step's parameters, kept in the numbers, and
                    // this step's gradients with them; the spare row (sized
                    // once, in the loop's first step) takes the next
                    // step's.
                    let Scratch {
                        sums,
                        last_grads,
                        pending,
                        ..
                    } = &mut self.scratch;
                    last_grads.resize(sums.grads.len(), 0.0);
                    std::mem::swap(&mut sums.grads, last_grads);
                    *pending = true;
                } else {
                    let Scratch { sums, snapshot, .. } = &mut self.scratch;
                    engine::set_run(run, snapshot, &sums.grads[..p]);
                    self.scratch.fresh = false;
                }
            }
            _ => {
                if *fresh {
                    before.reserve(snapshot.len().saturating_sub(before.len()));
                    std::mem::swap(before, snapshot);
                } else {
                    read_params(&self.params, self.run, before);
                }
                self.optimizer.step_with(&self.params, grads, lr);
                self.scratch.fresh = false;
                self.check_update(lr)?;
            }
        }
        self.course.record(loss);
        self.step += 1;
        Ok(StepRecord {
            step: k,
            loss,
            accuracy,
            test_loss,
            test_accuracy,
            lr,
            nodes,
        })
    }

    /// micrograd: `total_loss = data_loss + alpha * sum((p*p for p in
    /// model.parameters()))`, then `+ l1 * Σ|p|`; a weight of 0 adds no
    /// node.
    fn with_penalties(&mut self, data_loss: Value) -> Value {
        let mut total = data_loss;
        if self.config.l2 != 0.0 {
            total += self.config.l2 * loss::l2(&self.params);
        }
        if self.config.l1 != 0.0 {
            total += self.config.l1 * loss::l1_with(&self.params, &mut self.scratch.signs);
        }
        total
    }

    /// Whether the total loss has a penalty on the parameters.
    fn penalised(&self) -> bool {
        self.config.l2 != 0.0 || self.config.l1 != 0.0
    }

    /// The data loss and the accuracy on the held-out points, with the
    /// parameters as they are (`None`s without them).
    fn measure_test(&mut self) -> (Option<f64>, Option<f64>) {
        let Some(held) = &mut self.test else {
            return (None, None);
        };
        let step = batched_step::Step {
            data: held.data,
            batch: &held.all,
            targets: &held.targets,
            loss: self.config.loss,
            task: &self.task,
        };
        let program = self.threads.program.as_ref();
        if program.is_some() && !self.scratch.fresh {
            read_params(&self.params, self.run, &mut self.scratch.snapshot);
            self.scratch.fresh = true;
        }
        let program = program.map(|p| (p, self.scratch.snapshot.as_slice()));
        let (sum, right) = batched_step::evaluate(&step, self.model, program, &mut held.buffers);
        let n = held.all.len();
        let loss = match self.config.loss.scale(n) {
            Some(scale) => sum * scale,
            None => sum,
        };
        let accuracy = self
            .task
            .is_classification()
            .then(|| right as f64 / n as f64);
        (Some(loss), accuracy)
    }

    /// The model's scores as it stands (after the last update): the total
    /// loss and the accuracy on every training point, and the data loss and
    /// the accuracy on the held-out points. Forward only, on this thread,
    /// chunk by chunk in lanes as a step over every point measures them
    /// (replayed where the steps are): the numbers, to the bit, that a
    /// further full-batch step in lanes would record before its update. A
    /// per-point step ([`Batching::PerPoint`]) adds its points in another
    /// order, so may differ from these in the last bits.
    ///
    /// ```
    /// use micrograd::data::moons;
    /// use micrograd::nn::MLP;
    /// use micrograd::train::{TrainConfig, Trainer};
    ///
    /// let data = moons(100, 0.1, 1);
    /// let model = MLP::new(2, &[16, 16, 1]);
    /// let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100))?;
    /// trainer.run(10, |_| {})?;
    /// let scores = trainer.scores();
    /// // What step 10 measures before its update.
    /// assert_eq!(scores.loss, trainer.step()?.loss);
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    pub fn scores(&mut self) -> Scores {
        let all: Vec<usize> = (0..self.data.len()).collect();
        let step = batched_step::Step {
            data: self.data,
            batch: &all,
            targets: &self.targets,
            loss: self.config.loss,
            task: &self.task,
        };
        let program = self.threads.program.as_ref();
        if program.is_some() {
            read_params(&self.params, self.run, &mut self.scratch.snapshot);
        }
        self.scratch.fresh = program.is_some();
        let program = program.map(|p| (p, self.scratch.snapshot.as_slice()));
        let (sum, right) =
            batched_step::evaluate(&step, self.model, program, &mut self.scratch.lanes);
        let n = all.len();
        let data_loss = match self.config.loss.scale(n) {
            Some(scale) => sum * scale,
            None => sum,
        };
        let loss = self.total_loss(data_loss);
        let accuracy = self
            .task
            .is_classification()
            .then(|| right as f64 / n as f64);
        let (test_loss, test_accuracy) = self.measure_test();
        Scores {
            loss,
            accuracy,
            test_loss,
            test_accuracy,
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
            test_loss: None,
            test_accuracy: None,
            lr: f64::NAN,
            nodes: 0,
        };
        for _ in 0..steps {
            last = self.step()?;
            on_step(&last);
        }
        Ok(last)
    }

    /// Takes `steps` steps with nothing between them, as JAX's
    /// `lax.fori_loop` runs a training loop compiled whole: where the steps
    /// are replayed with the penalty worked out on the numbers (the
    /// default [`Batching::Replay`] or [`Batching::Fused`], parameters made
    /// by a model, no L1 penalty), the parameters stay in the trainer's
    /// numbers from one step to the next and are written to the model once,
    /// after the last step, with its gradients. Every step gives the same
    /// bits as [`step`](Trainer::step); only the writes between steps are
    /// saved (at 100 points and 128 wide, a tenth of a step). Returns the
    /// last step's record (for 0 steps, as [`run`](Trainer::run)).
    ///
    /// ```
    /// use micrograd::data::moons;
    /// use micrograd::nn::{MLP, Module};
    /// use micrograd::train::{TrainConfig, Trainer};
    ///
    /// let data = moons(100, 0.1, 1);
    /// let (a, b) = (MLP::new(2, &[16, 16, 1]), MLP::new(2, &[16, 16, 1]));
    /// let config = TrainConfig::micrograd_demo(100);
    /// let looped = Trainer::new(&a, &data, &config)?.run_loop(20)?;
    /// let stepped = Trainer::new(&b, &data, &config)?.run(20, |_| {})?;
    /// assert_eq!(looped, stepped);
    /// assert_eq!(a.weights(), b.weights());
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first step's error, as [`step`](Trainer::step): the model is then
    /// written as it was before that step, its parameters and their
    /// gradients (the last step's taken), as `step` leaves it.
    pub fn run_loop(&mut self, steps: usize) -> Result<StepRecord> {
        // A panic out of a step (a helper thread's) leaves the model as it
        // was last written, and the next steps read it again.
        struct Unwind<'t, 'a>(&'t mut Trainer<'a>);
        impl Drop for Unwind<'_, '_> {
            fn drop(&mut self) {
                let trainer = &mut *self.0;
                trainer.defer = false;
                trainer.scratch.pending = false;
                trainer.scratch.fresh = false;
            }
        }
        let this = Unwind(self);
        let last = this.0.loop_steps(steps);
        this.0.defer = false;
        this.0.settle();
        last
    }

    /// `steps` steps, kept in the numbers where they can be.
    fn loop_steps(&mut self, steps: usize) -> Result<StepRecord> {
        self.defer = self.penalty_without_graph().is_some();
        self.run(steps, |_| {})
    }

    /// Writes the parameters' numbers (and the last step's gradients) to
    /// the model, where a loop left it behind them.
    fn settle(&mut self) {
        if let (true, Some(run)) = (self.scratch.pending, self.run) {
            let p = self.params.len();
            engine::set_run(run, &self.scratch.snapshot, &self.scratch.last_grads[..p]);
        }
        self.scratch.pending = false;
        self.scratch.fresh = false;
    }

    /// Whether this trainer's steps are replayed
    /// ([`Batching::Replay`]): `false` when they are built every step, by
    /// choice ([`Batching::Lanes`], [`Batching::PerPoint`]) or because the
    /// step cannot be replayed (a layer whose neurons differ in inputs or
    /// activation, which the `nn` library's models never have).
    pub fn replays(&self) -> bool {
        self.threads.program.is_some()
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
