//! `micrograd predict --model PATH --data PATH`: a saved model's outputs,
//! and its accuracy where the file has labels.

use std::path::PathBuf;

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;
use micrograd::data::Dataset;
use micrograd::json::{Number, numbers};

use crate::size::check_file_fits;
use micrograd::train::{SavedModel, Task};

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model saved by `micrograd train --save` (safetensors)
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Points: CSV rows of features (and optionally a label last), or JSON {"X": [[...]], "y": [...]}
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// One JSON object per point on stdout, {"outputs", "prediction", "probabilities"}, then
    /// {"accuracy"} (or {"mse"} for regression); probabilities are null where the loss does
    /// not define them
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PredictArgs) -> Result<()> {
    let mut out = crate::output::stdout();
    check_file_fits(&args.model)?;
    check_file_fits(&args.data)?;
    let model = SavedModel::load(&args.model)?;
    // A point's numbers: the model makes its features from them.
    let nin = model.nin();
    let points = Dataset::load_points(&args.data, nin)?;
    // Each label's class, once; a label the model cannot predict would
    // count as wrong without a word.
    let label_classes: Option<Vec<usize>> = match (&points.y, model.task.classes()) {
        (Some(y), Some(classes)) => Some(
            y.iter()
                .enumerate()
                .map(|(i, &label)| match classes.index_of(label) {
                    Some(class) => Ok(class),
                    None => bail!(
                        "{}: point {} has label {label}, which is not one of the model's classes ({classes})",
                        args.data.display(),
                        i + 1,
                    ),
                })
                .collect::<Result<_>>()?,
        ),
        _ => None,
    };
    let mut right = 0;
    let mut squared_error = 0.0;
    for (i, x) in points.x.iter().enumerate() {
        let outputs = model.predict(x);
        if outputs.iter().any(|o| !o.is_finite()) {
            let shown: Vec<String> = outputs.iter().map(|&o| number(o)).collect();
            bail!(
                "{}: point {}: the model's output is [{}]: its numbers overflow on this point",
                args.data.display(),
                i + 1,
                shown.join(", ")
            );
        }
        let prediction = model.task.predict(outputs.iter().copied());
        let probabilities = model.probabilities(&outputs);
        match (&label_classes, &points.y) {
            (Some(classes), _) => {
                right +=
                    usize::from(model.task.class_of(outputs.iter().copied()) == Some(classes[i]));
            }
            (None, Some(y)) => squared_error += (prediction - y[i]).powi(2),
            (None, None) => {}
        }
        if args.json {
            let line = serde_json::json!({
                "outputs": numbers(&outputs),
                "prediction": Number(prediction),
                "probabilities": probabilities.as_deref().map(numbers),
            });
            writeln!(out, "{line}")?;
        } else {
            let shown: Vec<String> = outputs.iter().map(|&o| number(o)).collect();
            let label = match model.task {
                Task::Regression => String::new(),
                _ => format!(" -> {prediction}"),
            };
            // `p(-1, 1) = 0.12, 0.88`: each class's probability.
            let chances = match (&probabilities, model.task.classes()) {
                (Some(p), Some(classes)) => {
                    let shown: Vec<String> = p.iter().map(|&p| format!("{p:.4}")).collect();
                    format!("  p({classes}) = {}", shown.join(", "))
                }
                _ => String::new(),
            };
            writeln!(out, "{x:?}: [{}]{label}{chances}", shown.join(", "))?;
        }
    }
    let n = points.x.len();
    match (&points.y, model.task.is_classification()) {
        (None, _) => {}
        (Some(_), true) => {
            let accuracy = right as f64 / n as f64;
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "accuracy": Number(accuracy) })
                )?;
            } else {
                writeln!(out, "accuracy {:.1}% ({right} of {n})", accuracy * 100.0)?;
            }
        }
        (Some(_), false) => {
            let mse = squared_error / n as f64;
            if args.json {
                writeln!(out, "{}", serde_json::json!({ "mse": Number(mse) }))?;
            } else {
                writeln!(out, "mean squared error {}", number(mse))?;
            }
        }
    }
    Ok(())
}

/// An output to six decimals, or six significant digits in scientific
/// notation when it is very large or very small.
fn number(x: f64) -> String {
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude) && x.is_finite() {
        format!("{x:.6e}")
    } else {
        format!("{x:.6}")
    }
}
