//! The pictures of a run: its loss and accuracy, and its decision boundary.

use anyhow::{Context, Result};
use micrograd::data::Dataset;
use micrograd::nn::Weights;
use micrograd::train::{StepRecord, Task};
use micrograd::viz::{DecisionBoundary, TrainingCurves};

/// Writes the loss and accuracy curves, and for a classifier of points in
/// the plane its decision boundary, as PNG and SVG; returns their paths.
pub fn pictures(
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
