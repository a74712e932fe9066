//! `micrograd predict --model PATH --data PATH`: a saved model's outputs,
//! and its accuracy where the file has labels.

use std::path::PathBuf;

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use micrograd::data::Dataset;
use micrograd::train::{SavedModel, Task};

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model saved by `micrograd train --save` (safetensors)
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Points: CSV rows of features (and optionally a label last), or JSON {"X": [[...]], "y": [...]}
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// One JSON object per point on stdout, {"outputs", "prediction"}, then {"accuracy"}
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PredictArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let model = SavedModel::load(&args.model)?;
    let nin = model.weights.nin();
    let points = Dataset::load_points(&args.data, nin)
        .with_context(|| format!("the model takes {nin} features per point"))?;
    let mut right = 0;
    for (i, x) in points.x.iter().enumerate() {
        let outputs = model.weights.predict(x);
        let prediction = model.task.predict(outputs.iter().copied());
        if let Some(y) = &points.y {
            right += usize::from(prediction == y[i]);
        }
        if args.json {
            let line = serde_json::json!({ "outputs": outputs, "prediction": prediction });
            writeln!(out, "{line}")?;
        } else {
            let shown: Vec<String> = outputs.iter().map(|o| format!("{o:.6}")).collect();
            let label = match model.task {
                Task::Regression => String::new(),
                _ => format!(" -> {prediction}"),
            };
            writeln!(out, "{x:?}: [{}]{label}", shown.join(", "))?;
        }
    }
    if let (Some(_), true) = (&points.y, model.task.is_classification()) {
        let accuracy = right as f64 / points.x.len() as f64;
        if args.json {
            writeln!(out, "{}", serde_json::json!({ "accuracy": accuracy }))?;
        } else {
            writeln!(
                out,
                "accuracy {}% ({right} of {})",
                accuracy * 100.0,
                points.x.len()
            )?;
        }
    }
    Ok(())
}
