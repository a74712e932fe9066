//! A page's settings checked against the [`Limits`] and resolved by the
//! library's [`Settings::resolve`](micrograd::train::Settings::resolve)
//! (each built-in dataset from its preset, as `micrograd train` resolves
//! them) into what a session trains. The bounds that need no data are
//! checked before the data is drawn. Nothing here touches a tape, so the
//! server can check settings before a session exists.

use std::sync::Arc;

use super::Limits;
use super::api::{ApiError, Number, SessionSettings, SettingsRequest};
use micrograd::data::Dataset;
use micrograd::nn::parameter_count;
use micrograd::train::{Batching, BuiltIn, DatasetName, Footprint, Hidden, Setup, Task};

/// The steps per second a session trains at unless told: slow enough to
/// watch micrograd's demo learn (100 steps), fast enough for the spiral's 400.
pub const DEFAULT_SPEED: f64 = 100.0;

/// The datasets a page can choose, in the order it lists them (`upload`:
/// the file the page uploaded last).
pub const DATASETS: [DatasetName; 6] = [
    DatasetName::BuiltIn(BuiltIn::Moons),
    DatasetName::BuiltIn(BuiltIn::Circles),
    DatasetName::BuiltIn(BuiltIn::Blobs),
    DatasetName::BuiltIn(BuiltIn::Spiral),
    DatasetName::Lecture,
    DatasetName::Upload,
];

/// A user's uploaded data, kept by its session.
#[derive(Clone, Debug)]
pub struct Upload {
    pub name: String,
    pub data: Arc<Dataset>,
}

/// What a session trains, and how fast.
#[derive(Clone, Debug)]
pub struct Training {
    /// The data, the network and its training, every setting decided.
    pub setup: Setup,
    /// The network's widths, inputs first.
    pub widths: Vec<usize>,
    pub task: Task,
    /// Steps per second.
    pub speed: f64,
}

impl Training {
    /// The settings as the page shows them.
    pub fn settings(&self) -> SessionSettings {
        SessionSettings {
            settings: self.setup.settings.clone(),
            speed: Number(self.speed),
        }
    }
}

/// Resolves `request` into what a session trains: the data (`upload` is
/// the session's uploaded file), its preset, and the overrides, all within
/// `limits`.
pub fn resolve(
    request: &SettingsRequest,
    upload: Option<&Upload>,
    limits: &Limits,
) -> Result<Training, ApiError> {
    let mut settings = request.settings.clone();
    let dataset = settings
        .dataset
        .unwrap_or(DatasetName::BuiltIn(BuiltIn::Moons));
    if !DATASETS.contains(&dataset) {
        let names: Vec<String> = DATASETS.iter().map(ToString::to_string).collect();
        return Err(ApiError::unprocessable(format!(
            "unknown dataset `{dataset}` (expected {})",
            names.join(", ")
        )));
    }
    match dataset {
        DatasetName::BuiltIn(builtin) => {
            let points = settings.points.unwrap_or(builtin.points());
            if !(4..=limits.points).contains(&points) {
                return Err(ApiError::unprocessable(format!(
                    "points must be between 4 and {}",
                    limits.points
                )));
            }
            let noise = settings.noise.unwrap_or(builtin.noise());
            if !(0.0..=2.0).contains(&noise) {
                return Err(ApiError::unprocessable("noise must be between 0 and 2"));
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
        return Err(ApiError::unprocessable(
            "no file has been uploaded to this session",
        ));
    }
    if let Some(Hidden(hidden)) = &settings.hidden {
        check_hidden(hidden, limits)?;
    }
    if let Some(lr) = settings.lr
        && !(lr > 0.0 && lr <= 10.0)
    {
        return Err(ApiError::unprocessable(
            "the learning rate must be more than 0 and at most 10",
        ));
    }
    if let Some(l2) = settings.l2
        && !(0.0..=1.0).contains(&l2)
    {
        return Err(ApiError::unprocessable("L2 must be between 0 and 1"));
    }
    if settings.batch == Some(0) {
        return Err(ApiError::unprocessable("the batch size must be at least 1"));
    }
    let speed = request.speed.unwrap_or(DEFAULT_SPEED);
    if !(speed >= 1.0 && speed <= limits.steps_per_second) {
        return Err(ApiError::unprocessable(format!(
            "the speed must be between 1 and {} steps per second",
            limits.steps_per_second
        )));
    }

    let file = upload.map(|u| (u.name.as_str(), &*u.data));
    let mut setup = settings
        .resolve(file)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    // The preset's own network, within the limits too.
    check_hidden(&setup.preset.hidden, limits)?;
    let config = &mut setup.preset.config;
    // One thread per session: a tab must not take every core.
    config.threads = Some(1);
    config.batching = Batching::Lanes;

    let task = setup.task().map_err(|e| {
        ApiError::unprocessable(format!(
            "the {} loss cannot train on {}: {e}",
            setup.preset.config.loss, setup.name
        ))
    })?;
    let widths = setup.widths();
    let parameters = parameter_count(&widths);
    if parameters > limits.parameters {
        return Err(ApiError::unprocessable(format!(
            "the network has {parameters} parameters; at most {} are allowed",
            limits.parameters
        )));
    }
    let points = setup.preset.data.len();
    let need = Footprint::of(&widths, points, &setup.preset.config);
    if need.bytes > limits.session_bytes {
        return Err(ApiError::unprocessable(format!(
            "training this network on {points} points needs about {} MB; a session may use {} MB",
            need.bytes >> 20,
            limits.session_bytes >> 20
        )));
    }
    Ok(Training {
        setup,
        widths,
        task,
        speed,
    })
}

/// Hidden layers within the limits: so many, so wide.
fn check_hidden(hidden: &[usize], limits: &Limits) -> Result<(), ApiError> {
    if hidden.len() > limits.hidden_layers {
        return Err(ApiError::unprocessable(format!(
            "at most {} hidden layers",
            limits.hidden_layers
        )));
    }
    if hidden.iter().any(|&w| w == 0 || w > limits.width) {
        return Err(ApiError::unprocessable(format!(
            "a hidden layer has 1 to {} neurons",
            limits.width
        )));
    }
    Ok(())
}

/// The upload checked against the limits.
pub fn check_upload(data: &Dataset, name: &str, limits: &Limits) -> Result<(), ApiError> {
    if data.len() > limits.points {
        return Err(ApiError::unprocessable(format!(
            "{name}: {} points; at most {} are allowed",
            data.len(),
            limits.points
        )));
    }
    if data.dim() > limits.features {
        return Err(ApiError::unprocessable(format!(
            "{name}: {} features per point; at most {} are allowed",
            data.dim(),
            limits.features
        )));
    }
    Ok(())
}

/// The optimizers by the names the settings read.
pub const OPTIMIZERS: [&str; 3] = ["sgd", "momentum", "adam"];
