//! The threads of a training step: the caller, and helpers that wait for
//! the next step.
//!
//! Each helper keeps its own copy of the model on its own tape (a tape is
//! per thread), takes a contiguous share of a step's chunks, and gives back
//! each chunk's sums; the caller takes the first share with the model
//! itself. Between steps a helper spins for a moment before it sleeps, so
//! that back-to-back steps start it within a microsecond: a general pool
//! (rayon) puts its threads to sleep after a few microseconds, and waking
//! them cost 20-50 µs a step on the 2-core machines this was measured on,
//! most of a 1,000-point step.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Task;
use super::batched_step::{self, Blueprint, Buffers, ChunkSums, Graph, Step, Sums};
use super::replay::Program;
use crate::data::Dataset;
use crate::engine::{self, Value};
use crate::error::{Error, Result};
use crate::nn::loss::Targets;
use crate::nn::{Loss, MLP, Module};

/// How long a helper spins for the next step before it sleeps.
const SPIN: Duration = Duration::from_micros(300);

/// The helpers of one trainer.
pub(crate) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

/// What the caller and the helpers share.
struct Shared {
    /// The latest step the caller started; a helper runs each new one.
    step: AtomicU64,
    /// How many helpers have finished the latest step.
    finished: AtomicUsize,
    /// Whether a helper panicked (a bug: the step's sums are not whole).
    failed: AtomicBool,
    /// Set when the team is dropped.
    stop: AtomicBool,
    inputs: RwLock<Inputs>,
    /// Each helper's sums, for its share of the latest step's chunks.
    outputs: Vec<Mutex<ChunkSums>>,
}

/// What a step's helpers read: the trainer's data, then the step's batch
/// and parameters.
struct Inputs {
    data: Dataset,
    targets: Targets,
    task: Task,
    loss: Loss,
    blueprint: Blueprint,
    /// The step's program, when it is replayed.
    program: Option<Program>,
    batch: Vec<usize>,
    params: Vec<f64>,
    /// The step's chunks, and how many shares they are cut into.
    chunks: usize,
    shares: usize,
}

/// The chunks of share `s` of `shares`: contiguous, as equal as possible;
/// none past the last share.
pub(crate) fn share(chunks: usize, shares: usize, s: usize) -> Range<usize> {
    if s >= shares {
        return chunks..chunks;
    }
    s * chunks / shares..(s + 1) * chunks / shares
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Team {
    /// `helpers` threads for a trainer of `blueprint`'s model on `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the threads could not be started.
    pub(crate) fn new(
        helpers: usize,
        data: &Dataset,
        targets: &Targets,
        task: &Task,
        loss: Loss,
        blueprint: &Blueprint,
        program: Option<Program>,
    ) -> Result<Team> {
        let shared = Arc::new(Shared {
            step: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            inputs: RwLock::new(Inputs {
                data: data.clone(),
                targets: targets.clone(),
                task: task.clone(),
                loss,
                blueprint: blueprint.clone(),
                program,
                batch: Vec::new(),
                params: Vec::new(),
                chunks: 0,
                shares: 1,
            }),
            outputs: (0..helpers).map(|_| Mutex::default()).collect(),
        });
        let mut team = Team {
            shared,
            helpers: Vec::with_capacity(helpers),
        };
        for h in 0..helpers {
            let shared = Arc::clone(&team.shared);
            let helper = std::thread::Builder::new()
                .name(format!("micrograd-train-{}", h + 1))
                .spawn(move || help(&shared, h))
                .map_err(|e| Error::Data(format!("could not start a training thread: {e}")))?;
            team.helpers.push(helper);
        }
        Ok(team)
    }

    /// One step's chunks over `shares` threads of the team (the caller and
    /// `shares - 1` helpers; the others idle): `batch` and `params` go to
    /// the helpers, `own` computes the caller's share (the first) into the
    /// sums it is given, and each helper's sums are copied into `sums`.
    ///
    /// # Panics
    ///
    /// If a helper panicked (a bug).
    pub(crate) fn step(
        &mut self,
        batch: &[usize],
        params: &[f64],
        (chunks, shares): (usize, usize),
        own: impl FnOnce(Range<usize>, Sums<'_>),
        sums: Sums<'_>,
    ) {
        let shared = &*self.shared;
        let shares = shares.clamp(1, self.helpers.len() + 1);
        // The helpers that take part: the first `shares - 1`.
        let helping = shares - 1;
        {
            let mut inputs = shared
                .inputs
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            inputs.batch.clear();
            inputs.batch.extend_from_slice(batch);
            inputs.params.clear();
            inputs.params.extend_from_slice(params);
            inputs.chunks = chunks;
            inputs.shares = shares;
        }
        shared.finished.store(0, Ordering::Relaxed);
        shared.step.fetch_add(1, Ordering::Release);
        for helper in &self.helpers[..helping] {
            helper.thread().unpark();
        }

        let p = params.len();
        let mine = share(chunks, shares, 0);
        let (first, mut rest) = sums.split_at(mine.len(), p);
        own(mine.clone(), first);

        let started = Instant::now();
        while shared.finished.load(Ordering::Acquire) < helping {
            if started.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        assert!(
            !shared.failed.load(Ordering::Relaxed),
            "micrograd: a training thread panicked"
        );
        for (h, output) in shared.outputs[..helping].iter().enumerate() {
            let theirs = share(chunks, shares, h + 1);
            let (part, remaining) = rest.split_at(theirs.len(), p);
            rest = remaining;
            let output = lock(output);
            part.grads
                .copy_from_slice(&output.grads[..theirs.len() * p]);
            part.losses.copy_from_slice(&output.losses[..theirs.len()]);
            part.right.copy_from_slice(&output.right[..theirs.len()]);
            part.nodes.copy_from_slice(&output.nodes[..theirs.len()]);
        }
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for helper in self.helpers.drain(..) {
            helper.thread().unpark();
            // A helper that panicked has said so already.
            let _ = helper.join();
        }
    }
}

/// A helper's copy of the model, on its own tape.
struct Copy {
    model: MLP,
    params: Vec<Value>,
    run: Option<Value>,
}

/// Helper `h`'s life: wait for a step, do its share, say so.
fn help(shared: &Shared, h: usize) {
    let mut seen = 0;
    let mut copy: Option<Copy> = None;
    let mut buffers = Buffers::default();
    loop {
        let started = Instant::now();
        loop {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let step = shared.step.load(Ordering::Acquire);
            if step != seen {
                seen = step;
                break;
            }
            if started.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::park_timeout(Duration::from_millis(10));
            }
        }
        let mut takes_part = true;
        let done = catch_unwind(AssertUnwindSafe(|| {
            let inputs = shared.inputs.read().unwrap_or_else(PoisonError::into_inner);
            if h + 1 >= inputs.shares {
                // Not needed this step: the caller waits for the others.
                takes_part = false;
                return;
            }
            let chunks = share(inputs.chunks, inputs.shares, h + 1);
            let mut output = lock(&shared.outputs[h]);
            let sums = output.sized(chunks.len(), inputs.params.len());
            let step = Step {
                data: &inputs.data,
                batch: &inputs.batch,
                targets: &inputs.targets,
                loss: inputs.loss,
                task: &inputs.task,
            };
            if let Some(program) = &inputs.program {
                // A replay needs no copy of the model: the numbers will do.
                let graph = Graph::Replay {
                    program,
                    params: &inputs.params,
                };
                batched_step::run_chunks(&step, graph, &mut buffers, chunks, inputs.chunks, sums);
                return;
            }
            let copy = copy.get_or_insert_with(|| {
                let model = inputs.blueprint.build(&inputs.params);
                let params = model.parameters();
                Copy {
                    run: engine::run_start(&params),
                    params,
                    model,
                }
            });
            engine::write_data(&copy.params, &inputs.params);
            let graph = Graph::Build {
                model: &copy.model,
                params: &copy.params,
                run: copy.run,
            };
            batched_step::run_chunks(&step, graph, &mut buffers, chunks, inputs.chunks, sums);
        }));
        if done.is_err() {
            shared.failed.store(true, Ordering::Relaxed);
        }
        if takes_part || done.is_err() {
            shared.finished.fetch_add(1, Ordering::Release);
        }
    }
}
