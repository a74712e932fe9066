//! How a run is described to the user: its network, its task, its
//! accuracy.

use micrograd::nn::MLP;
use micrograd::train::Task;

/// `two classes (-1, 1)`, `3 classes (0, 1, 2)`, `a regression`.
pub fn describe_task(task: &Task) -> String {
    match task {
        Task::Binary { classes } => format!("two classes ({classes}), one output scoring them"),
        Task::Multiclass { classes } => {
            format!("{} classes ({classes}), one output each", classes.len())
        }
        Task::Regression => "a regression: the output predicts the label's value".into(),
    }
}

/// `MLP 2-16-16-1 (relu)`.
pub fn describe(model: &MLP) -> String {
    let widths: Vec<String> = std::iter::once(model.nin())
        .chain(model.nouts())
        .map(|n| n.to_string())
        .collect();
    let activation = model.layers[0].neurons[0].activation;
    format!("MLP {} ({activation})", widths.join("-"))
}

/// `{prefix}87.3%`: one decimal, enough for a thousand samples.
pub fn percent(accuracy: Option<f64>, prefix: &str) -> String {
    accuracy.map_or(String::new(), |a| format!("{prefix}{:.1}%", a * 100.0))
}
