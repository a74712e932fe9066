//! The pictures of a run: its loss and accuracy, and its decision boundary.

use anyhow::{Context, Result};
use micrograd::data::Dataset;
use micrograd::train::{SavedModel, StepRecord};
use micrograd::viz::{DecisionBoundary, TrainingCurves};

/// Writes the loss and accuracy curves, and for a classifier of points in
/// the plane (`data`, as drawn or read) its decision boundary, as PNG and
/// SVG; returns their paths.
pub fn pictures(
    dir: &std::path::Path,
    model: &SavedModel,
    data: &Dataset,
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
    let boundary =
        DecisionBoundary::with_features(&model.weights, data, &model.task, model.features.as_ref());
    if let Ok(boundary) = boundary {
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
