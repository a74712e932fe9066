//! `micrograd train`: the demo, a built-in dataset, or a user's file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::size::{Widths, check_file_fits, check_fits, fit_threads, parse_widths};
use crate::usage::usage;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use micrograd::data::Dataset;
use micrograd::json::Number;
use micrograd::nn::{Activation, Loss, MLP, Module, OptimizerKind, Weights};
use micrograd::train::{Batching, BuiltIn, History, Preset, SavedModel, StepRecord, Task, Trainer};
use micrograd::viz::{DecisionBoundary, TrainingCurves};

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
    /// weights), moons, circles, blobs or spiral [default: moons]
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<DatasetName>,
    /// Points in the built-in dataset [default: 100; blobs 150, spiral 300]
    #[arg(long, allow_negative_numbers = true, value_name = "N", conflicts_with = "data", value_parser = clap::value_parser!(u32).range(3..=10_000_000))]
    pub points: Option<u32>,
    /// Start from weights exported from Python micrograd: {"layers": [[[w...], b], ...], ...]}
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
    /// Hidden layer widths, comma-separated, e.g. 16,16
    #[arg(long, value_name = "WIDTHS", value_parser = parse_widths, allow_hyphen_values = true)]
    pub hidden: Option<Widths>,
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
    /// Weight of the L2 penalty on the parameters
    #[arg(long, allow_negative_numbers = true, value_name = "ALPHA", value_parser = non_negative_number)]
    pub l2: Option<f64>,
    /// Threads to train on; any number gives the same numbers [default: every core]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Build micrograd's graph point by point instead of one graph for the
    /// batch (the same outputs to the bit, and a slower step)
    #[arg(long)]
    pub per_point: bool,
    /// Seed for the built-in data, the initial weights and the batches
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "N",
        default_value_t = 0,
        value_parser = seed
    )]
    pub seed: u64,
    /// One JSON object per step on stdout, {"step", "loss", "accuracy", "lr"}, and nothing else
    #[arg(long)]
    pub json: bool,
    /// Print every Nth step (and always the last) [default: 1, every step]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub log_every: Option<u32>,
    /// Print no steps and no progress bar: only the summary, or with --json nothing on stdout
    #[arg(long, conflicts_with = "log_every")]
    pub quiet: bool,
    /// Where to write the pictures of the training [default: out]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to save the trained model (safetensors) [default: DIR/model.safetensors]
    #[arg(long, value_name = "PATH")]
    pub save: Option<PathBuf>,
}

/// A built-in dataset, or micrograd's demo as it ran.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DatasetName {
    /// The demo notebook's points and initial weights.
    Demo,
    /// Points drawn from a seed.
    BuiltIn(BuiltIn),
}

impl std::str::FromStr for DatasetName {
    type Err = String;

    fn from_str(s: &str) -> Result<DatasetName, String> {
        if s.eq_ignore_ascii_case("demo") {
            return Ok(DatasetName::Demo);
        }
        s.parse().map(DatasetName::BuiltIn).map_err(|_| {
            format!("unknown dataset `{s}` (expected demo, moons, circles, blobs or spiral)")
        })
    }
}

impl TrainArgs {
    /// The main job: micrograd's demo, its own points and initial weights.
    pub fn demo() -> TrainArgs {
        TrainArgs {
            dataset: Some(DatasetName::Demo),
            ..TrainArgs::default()
        }
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

/// What the arguments resolve to.
struct Plan {
    /// What the user may not expect of these settings, for stderr.
    notes: Vec<String>,
    name: String,
    preset: Preset,
    model: MLP,
    /// What the labels were taken to mean, and why.
    task: String,
}

fn plan(args: &TrainArgs) -> Result<Plan> {
    let (name, mut preset) = match &args.data {
        Some(path) => {
            check_file_fits(path)?;
            let data = Dataset::load(path)?;
            let preset =
                Preset::for_dataset(data, args.seed).with_context(|| path.display().to_string())?;
            (path.display().to_string(), preset)
        }
        None if args.dataset == Some(DatasetName::Demo) => {
            if args.points.is_some() {
                return usage(
                    "the demo has its own 100 points; --points is for the other built-in datasets",
                );
            }
            ("micrograd's demo".to_owned(), Preset::micrograd_demo())
        }
        None => {
            let builtin = match args.dataset {
                Some(DatasetName::BuiltIn(builtin)) => builtin,
                _ => BuiltIn::Moons,
            };
            let points = args.points.map_or(builtin.points(), |n| n as usize);
            (builtin.to_string(), builtin.preset_sized(points, args.seed))
        }
    };
    let config = &mut preset.config;
    config.seed = args.seed;
    if let Some(loss) = args.loss {
        config.loss = loss;
    }
    if let Some(optimizer) = args.optimizer {
        config.optimizer = optimizer;
    }
    if let Some(steps) = args.steps {
        preset.steps = steps as usize;
    }
    let shape = args.schedule.as_deref().map(str::parse).transpose();
    config.schedule =
        config
            .schedule
            .reshaped(shape.map_err(anyhow::Error::msg)?, args.lr, preset.steps);
    if let Some(l2) = args.l2 {
        config.l2 = l2;
    }
    config.batch = args.batch.map(|b| b as usize);
    config.threads = args.threads.map(|t| t as usize);
    if args.per_point {
        config.batching = Batching::PerPoint;
    }
    if let Some(activation) = args.activation {
        preset.activation = activation;
    }

    let mut notes = Vec::new();
    let init = match &args.init {
        Some(path) => {
            check_file_fits(path)?;
            Some(Weights::load_micrograd_json(path)?)
        }
        // The demo starts from the notebook's weights, unless asked for
        // another network.
        None if args.dataset == Some(DatasetName::Demo) => {
            let weights = micrograd::data::micrograd_demo_weights();
            let demo_hidden = &weights.nouts()[..weights.layers.len() - 1];
            match &args.hidden {
                Some(Widths(widths)) if widths != demo_hidden => {
                    notes.push(format!(
                        "the demo's initial weights are for hidden layers {}; --hidden {} starts from \
                         weights drawn from --seed {}",
                        join(demo_hidden),
                        join(widths),
                        args.seed
                    ));
                    None
                }
                _ => Some(weights),
            }
        }
        None => None,
    };
    preset.hidden = match (&args.hidden, &init) {
        (Some(Widths(widths)), _) => widths.clone(),
        // Without --hidden, the initial weights decide.
        (None, Some(weights)) => weights.nouts()[..weights.layers.len() - 1].to_vec(),
        (None, None) => preset.hidden,
    };
    check_size(&mut preset)?;
    let model = preset.model(args.seed);
    if let Some(weights) = &init {
        let source = args
            .init
            .as_ref()
            .map_or("the demo's weights".to_owned(), |p| p.display().to_string());
        model
            .set_weights(weights)
            .with_context(|| format!("{source} do not fit the model"))?;
    }
    let loss = preset.config.loss;
    let task = match (args.loss, &args.data) {
        (None, Some(_)) => Preset::reason(&preset.data),
        (given, _) => format!(
            "{} ({})",
            describe_task(&Task::for_loss(loss, &preset.data)?),
            match given {
                Some(_) => format!("--loss {loss}"),
                None => format!("the {loss} loss"),
            }
        ),
    };
    Ok(Plan {
        notes,
        name,
        preset,
        model,
        task,
    })
}

/// Refuses a network the tape or the machine cannot hold, before it is
/// made; chooses the threads of a run on every core that fit.
fn check_size(preset: &mut Preset) -> Result<()> {
    let outputs = Task::for_loss(preset.config.loss, &preset.data).map_or(1, |t| t.outputs());
    let widths: Vec<usize> = std::iter::once(preset.data.dim())
        .chain(preset.hidden.iter().copied())
        .chain([outputs])
        .collect();
    fit_threads(&widths, preset.data.len(), &mut preset.config);
    check_fits(&widths, preset.data.len(), &preset.config)
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("out"));
    let model_path = args
        .save
        .clone()
        .unwrap_or_else(|| dir.join("model.safetensors"));
    check_outputs(args, &dir, &model_path)?;
    let Plan {
        notes,
        name,
        preset,
        model,
        task,
    } = plan(args)?;
    for note in &notes {
        eprintln!("micrograd: note: {note}");
    }
    let mut trainer = Trainer::new(&model, &preset.data, &preset.config)
        .with_context(|| format!("cannot train on {name}"))?;
    let steps = preset.steps;
    let mut out = crate::output::stdout();

    let progress = (!args.json && !args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}")
                .expect("a valid template")
                .progress_chars("━╸ "),
        );
        bar
    });
    let plain = !args.json && progress.is_none();
    let every = args.log_every.map_or(1, |n| n as usize);
    // The steps printed: every `every`th and the last, none when quiet.
    let printed = |k: usize| !args.quiet && (k % every == 0 || k + 1 == steps);

    let started = Instant::now();
    // A curve of at most 4,096 points, however many steps: a run's
    // memory does not grow with its length.
    let mut history = History::new(4_096);
    let mut divergence = Divergence::default();
    for _ in 0..steps {
        let record = trainer.step().inspect_err(|_| {
            if let Some(bar) = &progress {
                bar.abandon();
            }
        })?;
        if printed(record.step) {
            if args.json {
                writeln!(out, "{}", json_line(&record))?;
            } else if plain {
                writeln!(out, "{}", micrograd_line(&record))?;
            }
        }
        divergence.watch(&record);
        if let Some(bar) = &progress {
            bar.set_message(format!(
                "loss {}{}",
                short(record.loss),
                percent(record.accuracy, " accuracy ")
            ));
            bar.inc(1);
        }
        history.push(record);
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let Some(last) = history.last() else {
        bail!("no steps to take")
    };
    // A model whose outputs are not numbers is not saved; one whose loss
    // exploded is, with a word (a run that failed said it in its error).
    trainer.check_model()?;
    if let Some(warning) = divergence.warning() {
        eprintln!("micrograd: warning: {warning}");
    }

    // Reports go to stdout, or to stderr when stdout is for JSON.
    let mut report: Box<dyn Write> = if args.json {
        Box::new(crate::output::stderr())
    } else {
        Box::new(out)
    };
    if !args.json {
        writeln!(
            report,
            "trained {} ({} parameters) on {name} ({} samples) for {steps} steps in {:.3} s ({:.0} steps/s)",
            describe(&model),
            model.num_parameters(),
            preset.data.len(),
            elapsed,
            steps as f64 / elapsed.max(1e-9),
        )?;
        writeln!(
            report,
            "final loss {:?}{}",
            last.loss,
            percent(last.accuracy, ", accuracy ")
        )?;
    }
    writeln!(report, "task: {task}")?;
    let weights = model.weights();
    // The model first: a picture that cannot be drawn must not lose it.
    let saved = SavedModel {
        weights,
        task: trainer.task().clone(),
        loss: Some(preset.config.loss),
    };
    saved.save(&model_path)?;
    writeln!(report, "model: {}", model_path.display())?;
    let title = format!(
        "{name}: {}{}",
        describe(&model),
        percent(
            trainer.task().accuracy(&saved.weights, &preset.data),
            ", accuracy "
        )
    );
    let pictures = pictures(
        &dir,
        &saved.weights,
        &preset.data,
        trainer.task(),
        &history.records(),
        &title,
    )
    .with_context(|| format!("the model is saved in {}, but", model_path.display()))?;
    writeln!(report, "pictures: {}", pictures.join(", "))?;
    report.flush()?;
    Ok(())
}

/// Refuses, before any work, outputs that could not be written or would
/// overwrite an input: the model file, and the pictures' directory.
fn check_outputs(args: &TrainArgs, dir: &Path, model_path: &Path) -> Result<()> {
    for (flag, input) in [("--data", &args.data), ("--init", &args.init)] {
        if let Some(input) = input
            && same_file(input, model_path)
        {
            bail!(
                "--save {} would overwrite the {flag} file; save the model elsewhere",
                model_path.display()
            );
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
        .context("cannot write the pictures")?;
    micrograd::whole_file::check_writable(&dir.join("training.png"))
        .context("cannot write the pictures")?;
    micrograd::whole_file::check_writable(model_path).context("cannot save the model")?;
    Ok(())
}

/// Whether two paths name one existing file (links and `..` included).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Watches the losses for a run that diverged without overflowing: the
/// largest loss, if it passed a thousand times the first.
#[derive(Default)]
struct Divergence {
    first: Option<f64>,
    worst: Option<(usize, f64)>,
}

impl Divergence {
    fn watch(&mut self, record: &StepRecord) {
        let first = *self.first.get_or_insert(record.loss);
        let worst = self.worst.map_or(first, |(_, loss)| loss);
        if first > 0.0 && record.loss > 1000.0 * first && record.loss > worst {
            self.worst = Some((record.step, record.loss));
        }
    }

    fn warning(&self) -> Option<String> {
        let (first, (step, worst)) = (self.first?, self.worst?);
        Some(format!(
            "the loss grew from {first:.4} at step 0 to {worst:.4e} at step {step}: \
             the training diverged; try a smaller --lr"
        ))
    }
}

/// Writes the loss and accuracy curves, and for a classifier of points in
/// the plane its decision boundary, as PNG and SVG; returns their paths.
fn pictures(
    dir: &std::path::Path,
    weights: &Weights,
    data: &Dataset,
    task: &Task,
    records: &[StepRecord],
    title: &str,
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = dir.join(format!("training.{ext}"));
        TrainingCurves::new(records)
            .save(&path)
            .with_context(|| format!("cannot draw {}", path.display()))?;
        written.push(path.display().to_string());
    }
    if let Ok(boundary) = DecisionBoundary::new(weights, data, task) {
        let boundary = boundary.title(title);
        for ext in ["png", "svg"] {
            let path = dir.join(format!("decision-boundary.{ext}"));
            boundary
                .save(&path)
                .with_context(|| format!("cannot draw {}", path.display()))?;
            written.push(path.display().to_string());
        }
    }
    Ok(written)
}

/// `two classes (-1, 1)`, `3 classes (0, 1, 2)`, `a regression`.
fn describe_task(task: &Task) -> String {
    match task {
        Task::Binary { classes } => format!("two classes ({classes}), one output scoring them"),
        Task::Multiclass { classes } => {
            format!("{} classes ({classes}), one output each", classes.len())
        }
        Task::Regression => "a regression: the output predicts the label's value".into(),
    }
}

/// `MLP 2-16-16-1 (relu)`.
fn describe(model: &MLP) -> String {
    let widths: Vec<String> = std::iter::once(model.nin())
        .chain(model.nouts())
        .map(|n| n.to_string())
        .collect();
    let activation = model.layers[0].neurons[0].activation;
    format!("MLP {} ({activation})", widths.join("-"))
}

/// A number in a few characters for the progress bar: `0.012346`,
/// `1.2346e5`, `5.9459e255`, so that a loss that diverges does not wrap
/// the bar over lines.
fn short(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e4).contains(&x.abs()) {
        format!("{x:.4e}")
    } else {
        format!("{x:.6}")
    }
}

/// `16,16`.
fn join(widths: &[usize]) -> String {
    let widths: Vec<String> = widths.iter().map(usize::to_string).collect();
    widths.join(",")
}

/// `{prefix}87.3%`: one decimal, enough for a thousand samples.
fn percent(accuracy: Option<f64>, prefix: &str) -> String {
    accuracy.map_or(String::new(), |a| format!("{prefix}{:.1}%", a * 100.0))
}

/// micrograd's demo prints `step 0 loss 0.8958441028683222, accuracy 50.0%`
/// (the loss to the last digit, the accuracy to one decimal).
fn micrograd_line(r: &StepRecord) -> String {
    match r.accuracy {
        Some(a) => format!(
            "step {} loss {:?}, accuracy {:.1}%",
            r.step,
            r.loss,
            a * 100.0
        ),
        None => format!("step {} loss {:?}", r.step, r.loss),
    }
}

/// `{"step": k, "loss": ..., "accuracy": ..., "lr": ...}`, in that order.
fn json_line(r: &StepRecord) -> String {
    #[derive(serde::Serialize)]
    struct Line {
        step: usize,
        loss: Number,
        accuracy: Option<Number>,
        lr: Number,
    }
    let line = Line {
        step: r.step,
        loss: Number(r.loss),
        accuracy: r.accuracy.map(Number),
        lr: Number(r.lr),
    };
    serde_json::to_string(&line).expect("numbers always serialize")
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn the_progress_bars_numbers_are_short_at_any_size() {
        // A diverging loss printed with `{:.6}` took 262 characters.
        assert_eq!(short(5.945869932681609e255), "5.9459e255");
        assert_eq!(short(12_345.678), "1.2346e4");
        assert_eq!(short(0.012_345_678), "0.012346");
        assert_eq!(short(0.000_012_345), "1.2345e-5");
        assert_eq!(short(0.0), "0.000000");
        assert_eq!(short(f64::INFINITY), "inf");
    }
}
