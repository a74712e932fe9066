//! `micrograd train`: the demo, a built-in dataset, or a user's file. Its
//! rooms: the flags (args.rs), from flags to a run ready to train
//! (prepare.rs), the outputs checked first (outputs.rs), what prints while
//! it trains (progress.rs), the summary's words (report.rs), the JSON
//! summary (summary.rs) and the pictures (pictures.rs); here, the run
//! itself.

mod args;
mod outputs;
mod pictures;
mod prepare;
mod progress;
mod report;
mod summary;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use micrograd::data::Dataset;
use micrograd::nn::Module;
use micrograd::train::{History, SavedModel, Trainer};

pub use args::TrainArgs;
use outputs::check_outputs;
use pictures::pictures;
use prepare::{Prepared, prepare};
use progress::{Divergence, json_line, micrograd_line, short};
use report::{describe, percent};
use summary::{Best, Status, summary_line};

pub fn run(args: &TrainArgs) -> Result<()> {
    let run_started = Instant::now();
    // Where the model and the pictures go; nowhere with --no-out.
    let outputs = (!args.no_out).then(|| {
        let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("out"));
        let model_path = args
            .save
            .clone()
            .unwrap_or_else(|| dir.join("model.safetensors"));
        (dir, model_path)
    });
    if let Some((dir, model_path)) = &outputs {
        check_outputs(args, dir, model_path)?;
    }
    let Prepared {
        notes,
        setup,
        model,
        task,
    } = prepare(args)?;
    for note in &notes {
        eprintln!("micrograd: note: {note}");
    }
    let (name, preset) = (&setup.name, &setup.preset);
    let mut trainer = setup
        .trainer(&model)
        .with_context(|| format!("cannot train on {name}"))?;
    let steps = preset.steps;
    let mut out = crate::output::stdout();

    let progress = (!args.json && !args.quiet && std::io::stderr().is_terminal())
        .then(|| progress::bar(steps));
    let plain = !args.json && progress.is_none();
    let every = args.log_every.map_or(1, |n| n as usize);
    // The steps printed: every `every`th and the last, none when quiet.
    let printed = |k: usize| !args.quiet && (k % every == 0 || k + 1 == steps);

    let started = Instant::now();
    // A curve of at most 4,096 points, however many steps: a run's
    // memory does not grow with its length.
    let mut history = History::new(4_096);
    let mut divergence = Divergence::default();
    let mut best = Best::default();
    // With --json, the summary ends the output however the run ends: done,
    // or diverged (exit code 3).
    let summary = |trainer: &mut Trainer<'_>, status: Status, best: Best, training: f64| {
        summary_line(
            trainer,
            &setup.settings,
            status,
            best,
            training,
            run_started,
        )
    };
    for _ in 0..steps {
        let record = match trainer.step() {
            Ok(record) => record,
            Err(e) => {
                if let Some(bar) = &progress {
                    bar.abandon();
                }
                if args.json && matches!(e, micrograd::Error::Diverged { .. }) {
                    let training = started.elapsed().as_secs_f64();
                    let line = summary(&mut trainer, Status::Diverged, best, training);
                    writeln!(out, "{line}")?;
                }
                return Err(e.into());
            }
        };
        best.watch(record.test_loss, record.step);
        if printed(record.step) {
            if args.json {
                writeln!(out, "{}", json_line(&record))?;
            } else if plain {
                writeln!(out, "{}", micrograd_line(&record))?;
            }
        }
        divergence.watch(&record);
        if let Some(bar) = &progress {
            let test = match record.test_loss {
                Some(loss) => format!(
                    "  test loss {}{}",
                    short(loss),
                    percent(record.test_accuracy, " accuracy ")
                ),
                None => String::new(),
            };
            bar.set_message(format!(
                "loss {}{}{test}",
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
    let checked = trainer.check_model();
    if args.json {
        let status = match checked {
            Ok(()) => Status::Done,
            Err(_) => Status::Diverged,
        };
        writeln!(out, "{}", summary(&mut trainer, status, best, elapsed))?;
    }
    checked?;
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
        let held_out = match &setup.test {
            Some(test) => format!(", {} held out", test.len()),
            None => String::new(),
        };
        writeln!(
            report,
            "trained {} ({} parameters) on {name} ({} samples{held_out}) for {steps} steps in {:.3} s ({:.0} steps/s)",
            describe(&model),
            model.num_parameters(),
            preset.data.len(),
            elapsed,
            steps as f64 / elapsed.max(1e-9),
        )?;
        let test = match last.test_loss {
            Some(loss) => format!(
                "; held out: loss {loss:?}{}",
                percent(last.test_accuracy, ", accuracy ")
            ),
            None => String::new(),
        };
        writeln!(
            report,
            "final loss {:?}{}{test}",
            last.loss,
            percent(last.accuracy, ", accuracy ")
        )?;
    }
    writeln!(report, "task: {task}")?;
    let Some((dir, model_path)) = outputs else {
        report.flush()?;
        return Ok(());
    };
    let weights = model.weights();
    // The model first: a picture that cannot be drawn must not lose it.
    let saved = SavedModel {
        weights,
        task: trainer.task().clone(),
        loss: Some(preset.config.loss),
        features: setup.features.clone(),
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
    // The boundary is drawn over every point as it was drawn or read.
    let points = setup.points();
    let points = Dataset {
        x: points.iter().map(|p| p.x.to_vec()).collect(),
        y: points.iter().map(|p| p.y).collect(),
    };
    let pictures = pictures(&dir, &saved, &points, &history.records(), &title)
        .with_context(|| format!("the model is saved in {}, but", model_path.display()))?;
    writeln!(report, "pictures: {}", pictures.join(", "))?;
    report.flush()?;
    Ok(())
}
