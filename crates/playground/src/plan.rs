//! From a page's settings to what a session trains: the data, the network's
//! shape, the training configuration. Each built-in dataset starts from its
//! preset (what `micrograd train --dataset` uses); every number is checked
//! against the [`Limits`] before anything is built. Nothing here touches a
//! tape, so the server can check settings before a session exists.

use std::sync::Arc;

use super::Limits;
use super::api::{ApiError, Number, Resolved, Settings};
use micrograd::data::{self, Dataset};
use micrograd::nn::{Activation, Loss, OptimizerKind, Schedule, ScheduleShape};
use micrograd::train::{Batching, BuiltIn, Footprint, Preset, Task, TrainConfig};

/// The steps per second a session trains at unless told: slow enough to
/// watch micrograd's demo learn (100 steps), fast enough for the spiral's 400.
pub const DEFAULT_SPEED: f64 = 100.0;

/// A dataset a page can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    BuiltIn(BuiltIn),
    /// The lecture's four examples, three features each.
    Lecture,
    /// The file the page uploaded last.
    Upload,
}

impl Choice {
    /// Every choice, in the order the page lists them.
    pub const ALL: [Choice; 6] = [
        Choice::BuiltIn(BuiltIn::Moons),
        Choice::BuiltIn(BuiltIn::Circles),
        Choice::BuiltIn(BuiltIn::Blobs),
        Choice::BuiltIn(BuiltIn::Spiral),
        Choice::Lecture,
        Choice::Upload,
    ];

    pub fn name(self) -> String {
        match self {
            Choice::BuiltIn(b) => b.to_string(),
            Choice::Lecture => "lecture".into(),
            Choice::Upload => "upload".into(),
        }
    }

    fn parse(name: &str) -> Result<Choice, ApiError> {
        Choice::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<String> = Choice::ALL.iter().map(|c| c.name()).collect();
                ApiError::unprocessable(format!(
                    "unknown dataset `{name}` (expected {})",
                    names.join(", ")
                ))
            })
    }
}

/// A user's uploaded data, kept by its session.
#[derive(Clone, Debug)]
pub struct Upload {
    pub name: String,
    pub data: Arc<Dataset>,
}

/// What a session trains.
#[derive(Clone, Debug)]
pub struct Plan {
    pub settings: Resolved,
    /// The data's name for people: `spiral`, `points.csv`.
    pub name: String,
    pub preset: Preset,
    /// The network's widths, inputs first.
    pub widths: Vec<usize>,
    pub task: Task,
    pub speed: f64,
}

/// Resolves `settings` into a plan: the data (`upload` is the session's
/// uploaded file), its preset, and the overrides, all within `limits`.
pub fn resolve(
    settings: &Settings,
    upload: Option<&Upload>,
    limits: &Limits,
) -> Result<Plan, ApiError> {
    let choice = Choice::parse(settings.dataset.as_deref().unwrap_or("moons"))?;
    let seed = settings.seed.unwrap_or(0);
    let (name, mut preset, noise) = match choice {
        Choice::BuiltIn(builtin) => {
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
            let data = builtin.data_with(points, noise, seed);
            let preset = builtin.preset(seed);
            let preset = Preset { data, ..preset };
            (builtin.to_string(), preset, Some(noise))
        }
        Choice::Lecture => ("lecture".to_owned(), lecture(seed), None),
        Choice::Upload => {
            let upload = upload.ok_or_else(|| {
                ApiError::unprocessable("no file has been uploaded to this session")
            })?;
            let preset = Preset::for_dataset(Dataset::clone(&upload.data), seed)
                .map_err(|e| ApiError::unprocessable(format!("{}: {e}", upload.name)))?;
            (upload.name.clone(), preset, None)
        }
    };

    if let Some(hidden) = &settings.hidden {
        preset.hidden = hidden.clone();
    }
    if preset.hidden.len() > limits.hidden_layers {
        return Err(ApiError::unprocessable(format!(
            "at most {} hidden layers",
            limits.hidden_layers
        )));
    }
    if preset.hidden.iter().any(|&w| w == 0 || w > limits.width) {
        return Err(ApiError::unprocessable(format!(
            "a hidden layer has 1 to {} neurons",
            limits.width
        )));
    }
    if let Some(activation) = &settings.activation {
        preset.activation = activation
            .parse::<Activation>()
            .map_err(ApiError::unprocessable)?;
    }
    let config = &mut preset.config;
    if let Some(loss) = &settings.loss {
        config.loss = loss.parse::<Loss>().map_err(ApiError::unprocessable)?;
    }
    if let Some(optimizer) = &settings.optimizer {
        config.optimizer = optimizer
            .parse::<OptimizerKind>()
            .map_err(ApiError::unprocessable)?;
    }
    if let Some(lr) = settings.lr {
        if !(lr > 0.0 && lr <= 10.0) {
            return Err(ApiError::unprocessable(
                "the learning rate must be more than 0 and at most 10",
            ));
        }
    }
    let shape = match &settings.schedule {
        Some(s) => Some(
            s.parse::<ScheduleShape>()
                .map_err(ApiError::unprocessable)?,
        ),
        None => None,
    };
    config.schedule = config.schedule.reshaped(shape, settings.lr, preset.steps);
    if let Some(l2) = settings.l2 {
        if !(0.0..=1.0).contains(&l2) {
            return Err(ApiError::unprocessable("L2 must be between 0 and 1"));
        }
        config.l2 = l2;
    }
    if settings.batch == Some(0) {
        return Err(ApiError::unprocessable("the batch size must be at least 1"));
    }
    config.batch = settings.batch.filter(|&b| b < preset.data.len());
    // One thread per session: a tab must not take every core.
    config.threads = Some(1);
    config.batching = Batching::Lanes;
    let speed = settings.speed.unwrap_or(DEFAULT_SPEED);
    if !(speed >= 1.0 && speed <= limits.steps_per_second) {
        return Err(ApiError::unprocessable(format!(
            "the speed must be between 1 and {} steps per second",
            limits.steps_per_second
        )));
    }

    let task = Task::for_loss(config.loss, &preset.data).map_err(|e| {
        ApiError::unprocessable(format!(
            "the {} loss cannot train on {name}: {e}",
            config.loss
        ))
    })?;
    let widths: Vec<usize> = std::iter::once(preset.data.dim())
        .chain(preset.hidden.iter().copied())
        .chain([task.outputs()])
        .collect();
    let parameters: usize = widths.windows(2).map(|io| (io[0] + 1) * io[1]).sum();
    if parameters > limits.parameters {
        return Err(ApiError::unprocessable(format!(
            "the network has {parameters} parameters; at most {} are allowed",
            limits.parameters
        )));
    }
    let need = Footprint::of(&widths, preset.data.len(), &preset.config);
    if need.bytes > limits.session_bytes {
        return Err(ApiError::unprocessable(format!(
            "training this network on {} points needs about {} MB; a session may use {} MB",
            preset.data.len(),
            need.bytes >> 20,
            limits.session_bytes >> 20
        )));
    }

    let config = &preset.config;
    let settings = Resolved {
        dataset: choice.name(),
        points: preset.data.len(),
        noise: noise.map(Number),
        seed,
        hidden: preset.hidden.clone(),
        activation: preset.activation.to_string(),
        loss: config.loss.to_string(),
        optimizer: optimizer_name(config.optimizer),
        lr: Number(match config.schedule {
            Schedule::Constant(start)
            | Schedule::Linear { start, .. }
            | Schedule::Cosine { start, .. } => start,
        }),
        schedule: config.schedule.shape().to_string(),
        batch: config.batch,
        l2: Number(config.l2),
        speed: Number(speed),
    };
    Ok(Plan {
        settings,
        name,
        preset,
        widths,
        task,
        speed,
    })
}

/// The name `--optimizer` takes: `sgd`, `momentum` (μ = 0.9) or `adam`.
fn optimizer_name(kind: OptimizerKind) -> String {
    match kind {
        OptimizerKind::Sgd { momentum: 0.0 } => "sgd".into(),
        OptimizerKind::Sgd { .. } => "momentum".into(),
        OptimizerKind::Adam => "adam".into(),
    }
}

/// The lecture's network and loop: MLP(3, [4, 4, 1]) with tanh neurons on
/// its four examples, the sum of squared errors, plain gradient descent at
/// 0.05.
fn lecture(seed: u64) -> Preset {
    Preset {
        data: data::lecture_examples(),
        hidden: vec![4, 4],
        activation: Activation::Tanh,
        config: TrainConfig {
            loss: Loss::SumSquares,
            optimizer: OptimizerKind::Sgd { momentum: 0.0 },
            schedule: Schedule::Constant(0.05),
            l2: 0.0,
            batch: None,
            seed,
            batching: Batching::Lanes,
            threads: Some(1),
        },
        steps: 100,
    }
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

/// The optimizers by the names `OptimizerKind` parses.
pub const OPTIMIZERS: [&str; 3] = ["sgd", "momentum", "adam"];
