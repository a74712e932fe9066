//! `micrograd train`'s flags, and the settings they stand for.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use micrograd::data::Features;
use micrograd::nn::{Activation, Loss, OptimizerKind};
use micrograd::train::{BuiltIn, DatasetName, Hidden, Settings};

use crate::size::parse_hidden;
use crate::usage::usage;

/// Unset options take the dataset's own defaults (for the demo: micrograd's
/// own, SVM loss and SGD with lr = 1.0 - 0.9·k/100 over 100 steps; for
/// moons and circles the same loss with Adam, lr 0.1 to 0.01 over 200
/// steps, which trains wide networks too).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// A dataset file: CSV rows `feature,...,label` or JSON {"X": [[...]], "y": [...]}
    #[arg(long, value_name = "PATH", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// A built-in dataset: demo (micrograd's own 100 points and initial
    /// weights), moons, circles, blobs, spiral, or TensorFlow Playground's
    /// xor, gaussian, plane or multi-gaussian (the last two are
    /// regressions) [default: moons]
    #[arg(long, value_name = "NAME", value_parser = dataset)]
    pub dataset: Option<DatasetName>,
    /// Points in the built-in dataset, held-out ones included [default:
    /// 100; blobs 150, spiral 300, xor and gaussian 500, plane and
    /// multi-gaussian 1200]
    #[arg(long, allow_negative_numbers = true, value_name = "N", conflicts_with = "data", value_parser = clap::value_parser!(u32).range(3..=MOST_POINTS as i64))]
    pub points: Option<u32>,
    /// Hold this fraction of the points out of training (0 to below 1;
    /// round(FRACTION·N) points, one at least, drawn from --seed) and
    /// measure the loss and accuracy on them at every step [default: 0,
    /// none]
    #[arg(long, allow_negative_numbers = true, value_name = "FRACTION", value_parser = fraction)]
    pub test: Option<f64>,
    /// What the network reads of each point in the plane, comma-separated:
    /// x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2) (quote it in a shell),
    /// fed in that order [default: x1,x2, the data as it is]
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub features: Option<Features>,
    /// Start from weights exported from Python micrograd: {"layers": [[[w...], b], ...], ...]}
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
    /// Hidden layer widths, comma-separated, e.g. 16,16
    #[arg(long, value_name = "WIDTHS", value_parser = parse_hidden, allow_hyphen_values = true)]
    pub hidden: Option<Hidden>,
    /// Hidden layers' activation: relu, tanh, sigmoid or linear
    #[arg(long, value_name = "NAME")]
    pub activation: Option<Activation>,
    /// Loss: svm, mse, sum-squares, bce or softmax
    #[arg(long, value_name = "NAME")]
    pub loss: Option<Loss>,
    /// Optimizer: sgd, momentum or adam
    #[arg(long, value_name = "NAME")]
    pub optimizer: Option<OptimizerKind>,
    /// Initial learning rate (the schedule keeps its shape)
    #[arg(long, allow_negative_numbers = true, value_name = "RATE", value_parser = positive_number)]
    pub lr: Option<f64>,
    /// Learning-rate schedule: constant, linear (to a tenth) or cosine (to a tenth)
    #[arg(long, value_name = "NAME", value_parser = ["constant", "linear", "cosine"])]
    pub schedule: Option<String>,
    /// Training steps
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: Option<u32>,
    /// Samples per step, drawn at random each step [default: all]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Option<u32>,
    /// Weight of the L2 penalty Σp² on the parameters
    #[arg(long, allow_negative_numbers = true, value_name = "ALPHA", value_parser = non_negative_number)]
    pub l2: Option<f64>,
    /// Weight of the L1 penalty Σ|p| on the parameters [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "ALPHA", value_parser = non_negative_number)]
    pub l1: Option<f64>,
    /// Threads to train on; any number gives the same numbers [default: every core]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Build micrograd's graph point by point instead of one graph for the
    /// batch (the same outputs to the bit, and a slower step)
    #[arg(long, conflicts_with = "no_replay")]
    pub per_point: bool,
    /// Build the batch's graph every step instead of replaying the step
    /// recorded at the first (the same numbers to the bit, a slower step)
    #[arg(long)]
    pub no_replay: bool,
    /// Replay the step with a fused multiply-add for every term of the layers'
    /// products and the L2 penalty summed in eight running sums: faster, the same
    /// numbers on every CPU and thread count, but not micrograd's to the last bit
    #[arg(long, conflicts_with_all = ["no_replay", "per_point"])]
    pub fused: bool,
    /// Seed for the built-in data, the initial weights, the batches and the held-out points
    /// [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = seed)]
    pub seed: Option<u64>,
    /// Settings as one JSON object, as a run's summary writes them under "params" or Optuna's
    /// `ask` prints them: {"lr": 0.05, "hidden": "16,16", "l2": 1e-4, "optimizer": "adam"}.
    /// Keys: dataset, points, noise, seed, test, features, hidden (a list or "16,16"),
    /// activation, loss, optimizer, lr, schedule, batch, l2, l1, steps; null is not given. A
    /// flag given as well wins over its key
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// One JSON object per step on stdout, {"step", "loss", "accuracy", "test_loss",
    /// "test_accuracy", "lr"}, then a summary, and nothing else (test_ null without --test;
    /// accuracy null for a regression). The summary, the last line, also on exit 3:
    /// {"final": true, "status": "done" or "diverged", "params": every setting resolved (valid
    /// --params: the run again), "loss", "accuracy", "test_loss", "test_accuracy" of the model
    /// after its last update (the loss and accuracy on every training point, as a further
    /// full-batch step would measure them), "best_test_loss" and "best_test_step" (the
    /// updates before it, --steps for the final model), "steps" (the updates taken),
    /// "steps_per_second", "seconds" (the run's wall time)}
    #[arg(long)]
    pub json: bool,
    /// Print every Nth step (and always the last) [default: 1, every step]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub log_every: Option<u32>,
    /// Print no steps and no progress bar: only the summary (with --json, its one line)
    #[arg(long, conflicts_with = "log_every")]
    pub quiet: bool,
    /// Where to write the pictures of the training [default: out]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to save the trained model (safetensors) [default: DIR/model.safetensors]
    #[arg(long, value_name = "PATH")]
    pub save: Option<PathBuf>,
    /// Write nothing: no model and no pictures (a sweep's trials keep only what they print)
    #[arg(long, conflicts_with_all = ["out", "save"])]
    pub no_out: bool,
}

impl TrainArgs {
    /// The main job: micrograd's demo, its own points and initial weights.
    pub fn demo() -> TrainArgs {
        TrainArgs {
            dataset: Some(DatasetName::Demo),
            ..TrainArgs::default()
        }
    }

    /// The run's settings, as the library resolves them (`upload` for
    /// `--data`): the flags given, over `--params`; the flags that are the
    /// program's own (threads, outputs, what to print) are not settings.
    ///
    /// # Errors
    ///
    /// A usage error for `--params` that is not an object of settings, or
    /// whose settings no run could train with.
    pub fn settings(&self) -> Result<Settings> {
        let flags = Settings {
            dataset: match (&self.data, self.dataset) {
                (Some(_), _) => Some(DatasetName::Upload),
                (None, name) => name,
            },
            points: self.points.map(|n| n as usize),
            noise: None,
            seed: self.seed,
            test: self.test,
            features: self.features.clone(),
            hidden: self.hidden.clone(),
            activation: self.activation,
            loss: self.loss,
            optimizer: self.optimizer,
            lr: self.lr,
            schedule: self
                .schedule
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            batch: self.batch.map(|b| b as usize),
            l2: self.l2,
            l1: self.l1,
            steps: self.steps.map(|n| n as usize),
        };
        let Some(json) = &self.params else {
            return Ok(flags);
        };
        let params = Settings::from_json(json).or_else(|e| usage(format!("--params: {e}")))?;
        match params.dataset {
            Some(DatasetName::Lecture) => {
                let refused = dataset("lecture").expect_err("the lecture is the playground's");
                return usage(format!("--params: {refused}"));
            }
            Some(DatasetName::Upload) if self.data.is_none() => {
                return usage("--params: the upload dataset is a file: give it with --data PATH");
            }
            _ => {}
        }
        // The flags' own bounds (a run of more points than --points
        // takes would be refused only once drawn).
        if let Some(points) = params.points
            && points > MOST_POINTS as usize
        {
            return usage(format!(
                "--params: points is at most {MOST_POINTS}, not {points}"
            ));
        }
        for (key, value) in [("steps", params.steps), ("batch", params.batch)] {
            if let Some(n) = value
                && n > u32::MAX as usize
            {
                return usage(format!("--params: {key} is at most {}, not {n}", u32::MAX));
            }
        }
        let settings = flags.or(params);
        settings
            .check()
            .or_else(|e| usage(format!("--params: {e}")))?;
        Ok(settings)
    }
}

/// The most points `--points` takes.
const MOST_POINTS: u32 = 10_000_000;

/// `--dataset`: the demo or a built-in dataset (the lecture's and an
/// upload are the playground's).
fn dataset(s: &str) -> Result<DatasetName, String> {
    match s.parse() {
        Ok(name @ (DatasetName::Demo | DatasetName::BuiltIn(_))) => Ok(name),
        _ => Err(format!(
            "unknown dataset `{s}` (expected demo, {})",
            BuiltIn::names()
        )),
    }
}

/// `--test`: a fraction from 0 up to (not including) 1.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        Ok(_) => Err("must be a number from 0 up to (not including) 1".into()),
        Err(_) => Err("not a number".into()),
    }
}

fn seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

fn positive_number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a positive finite number".into()),
        Err(_) => Err("not a number".into()),
    }
}

fn non_negative_number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(_) => Err("must be a finite number, 0 or more".into()),
        Err(_) => Err("not a number".into()),
    }
}
