//! What a page may ask for, and a page's settings checked against it and
//! resolved by the library's [`Settings::resolve`] (each built-in dataset
//! from its preset, as `micrograd train` resolves them) into what it
//! trains. The bounds that need no data are checked before the data is
//! drawn.

use micrograd::data::Dataset;
use micrograd::nn::parameter_count;
use micrograd::train::{Batching, BuiltIn, DatasetName, Footprint, Hidden, Settings, Setup, Task};

/// How much a page may ask of the browser: a tab with the largest network
/// on the most points still trains a few steps a second and never runs out
/// of memory (WebAssembly has 4 GiB at most).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Points in a dataset, built in or uploaded.
    pub points: usize,
    /// Features per point of an uploaded dataset.
    pub features: usize,
    /// Hidden layers.
    pub hidden_layers: usize,
    /// Neurons in a hidden layer.
    pub width: usize,
    /// Parameters (weights and biases) of a network.
    pub parameters: usize,
    /// Memory the training may need ([`Footprint`]).
    pub training_bytes: u64,
    /// Bytes of an uploaded file.
    pub upload_bytes: usize,
    /// Bytes of an expression to draw (its parser's work grows with them).
    pub expression_bytes: usize,
    /// Nodes of a graph to draw (an expression's, or one point's through
    /// the network): laying out more takes seconds.
    pub graph_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            points: 10_000,
            features: 32,
            hidden_layers: 6,
            width: 64,
            parameters: 20_000,
            training_bytes: 256 << 20,
            upload_bytes: 1 << 20,
            expression_bytes: 2_000,
            graph_nodes: 4_000,
        }
    }
}

/// What a page trains: its settings resolved, checked against the limits.
#[derive(Clone, Debug)]
pub struct Training {
    /// The data, the network and its training, every setting decided.
    pub setup: Setup,
    /// The network's widths, inputs first.
    pub widths: Vec<usize>,
    pub task: Task,
}

/// Resolves `settings` into what a page trains: the data (`upload` is the
/// file the page uploaded last, with its name), its preset, and the
/// overrides, all within `limits`.
pub fn resolve(
    settings: &Settings,
    upload: Option<(&str, &Dataset)>,
    limits: &Limits,
) -> Result<Training, String> {
    let mut settings = settings.clone();
    let dataset = settings
        .dataset
        .unwrap_or(DatasetName::BuiltIn(BuiltIn::Moons));
    match dataset {
        DatasetName::BuiltIn(builtin) => {
            let points = settings.points.unwrap_or(builtin.points());
            if !(4..=limits.points).contains(&points) {
                return Err(format!("points must be between 4 and {}", limits.points));
            }
            let noise = settings.noise.unwrap_or(builtin.noise());
            if !(0.0..=2.0).contains(&noise) {
                return Err("noise must be between 0 and 2".into());
            }
        }
        // Data that is not drawn has its own points: the page's controls
        // for them are ignored.
        _ => {
            settings.points = None;
            settings.noise = None;
        }
    }
    if dataset == DatasetName::Upload && upload.is_none() {
        return Err(
            "this setup trains on an uploaded file, and links carry settings, not data: upload the file again"
                .into(),
        );
    }
    if let Some(Hidden(hidden)) = &settings.hidden {
        check_hidden(hidden, limits)?;
    }
    if let Some(lr) = settings.lr
        && !(lr > 0.0 && lr <= 10.0)
    {
        return Err("the learning rate must be more than 0 and at most 10".into());
    }
    for (name, alpha) in [("L1", settings.l1), ("L2", settings.l2)] {
        if let Some(alpha) = alpha
            && !(0.0..=1.0).contains(&alpha)
        {
            return Err(format!("{name} must be between 0 and 1"));
        }
    }
    if settings.steps.is_some_and(|s| s > 1_000_000) {
        return Err("steps must be at most 1,000,000".into());
    }

    let mut setup = settings.resolve(upload).map_err(|e| e.to_string())?;
    // The preset's own network, within the limits too.
    check_hidden(&setup.preset.hidden, limits)?;
    let config = &mut setup.preset.config;
    // A page has one thread (a browser's WebAssembly has no others).
    config.threads = Some(1);
    config.batching = Batching::Replay;

    let task = setup.task().map_err(|e| {
        format!(
            "the {} loss cannot train on {}: {e}",
            setup.preset.config.loss, setup.name
        )
    })?;
    let widths = setup.widths();
    let parameters = parameter_count(&widths);
    if parameters > limits.parameters {
        return Err(format!(
            "the network has {parameters} parameters; at most {} are allowed",
            limits.parameters
        ));
    }
    let points = setup.preset.data.len();
    let need = Footprint::of(&widths, points, &setup.preset.config);
    if need.bytes > limits.training_bytes {
        return Err(format!(
            "training this network on {points} points needs about {} MB; a page may use {} MB",
            need.bytes >> 20,
            limits.training_bytes >> 20
        ));
    }
    Ok(Training {
        setup,
        widths,
        task,
    })
}

/// Hidden layers within the limits: so many, so wide.
fn check_hidden(hidden: &[usize], limits: &Limits) -> Result<(), String> {
    if hidden.len() > limits.hidden_layers {
        return Err(format!("at most {} hidden layers", limits.hidden_layers));
    }
    if hidden.iter().any(|&w| w == 0 || w > limits.width) {
        return Err(format!("a hidden layer has 1 to {} neurons", limits.width));
    }
    Ok(())
}

/// An upload checked against the limits.
pub fn check_upload(data: &Dataset, name: &str, limits: &Limits) -> Result<(), String> {
    if data.len() > limits.points {
        return Err(format!(
            "{name}: {} points; at most {} are allowed",
            data.len(),
            limits.points
        ));
    }
    if data.dim() > limits.features {
        return Err(format!(
            "{name}: {} features per point; at most {} are allowed",
            data.dim(),
            limits.features
        ));
    }
    Ok(())
}
