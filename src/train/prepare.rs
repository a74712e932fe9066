//! From `micrograd train`'s flags to a run ready to train: the settings
//! resolved by the library, with what is the program's own (the threads,
//! `--init`'s weights, the memory the machine has) and what to tell the
//! user about them.

use anyhow::{Context, Result};
use micrograd::data::Dataset;
use micrograd::nn::{MLP, Weights};
use micrograd::train::{Batching, DatasetName, Hidden, Preset, Setup, Task};

use super::args::TrainArgs;
use super::report::describe_task;
use crate::size::{check_file_fits, check_fits, fit_threads};
use crate::usage::usage;

/// A run ready to train: what it trains, its network, and what to say.
pub struct Prepared {
    /// What the user may not expect of these settings, for stderr.
    pub notes: Vec<String>,
    /// The data (its training points in `preset`, its held-out ones, its
    /// features), the network and the training, resolved.
    pub setup: Setup,
    pub model: MLP,
    /// What the labels were taken to mean, and why.
    pub task: String,
}

pub fn prepare(args: &TrainArgs) -> Result<Prepared> {
    let file = match &args.data {
        Some(path) => {
            check_file_fits(path)?;
            Some((path.display().to_string(), Dataset::load(path)?))
        }
        None => None,
    };
    let mut settings = args.settings()?;
    let demo = settings.dataset == Some(DatasetName::Demo);
    if demo && args.points.is_some() {
        return usage(
            "the demo has its own 100 points; --points is for the other built-in datasets",
        );
    }

    let mut notes = Vec::new();
    let init = match &args.init {
        Some(path) => {
            check_file_fits(path)?;
            Some(Weights::load_micrograd_json(path)?)
        }
        None => None,
    };
    // Without --hidden, the initial weights decide.
    if let (None, Some(weights)) = (&settings.hidden, &init) {
        settings.hidden = Some(Hidden(weights.nouts()[..weights.layers.len() - 1].to_vec()));
    }
    let mut setup = settings.resolve(file.as_ref().map(|(name, data)| (name.as_str(), data)))?;
    drop(file);
    // The demo starts from the notebook's weights, unless asked for
    // another network or other features.
    let init = init.or_else(|| setup.initial_weights());
    if demo && init.is_none() {
        notes.push(why_not_the_demos_weights(&setup));
    }
    let preset = &mut setup.preset;
    preset.config.threads = args.threads.map(|t| t as usize);
    if args.per_point {
        preset.config.batching = Batching::PerPoint;
    }
    if args.no_replay {
        preset.config.batching = Batching::Lanes;
    }
    if args.fused {
        preset.config.batching = Batching::Fused;
    }
    check_size(preset)?;
    let model = preset.model(preset.config.seed);
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
    Ok(Prepared {
        notes,
        setup,
        model,
        task,
    })
}

/// Why the demo does not start from its notebook's weights
/// ([`Setup::initial_weights`]): its hidden layers or its features.
fn why_not_the_demos_weights(setup: &Setup) -> String {
    let weights = micrograd::data::micrograd_demo_weights();
    let demo_hidden = &weights.nouts()[..weights.layers.len() - 1];
    match &setup.features {
        Some(features) if setup.preset.hidden == demo_hidden => format!(
            "the demo's initial weights read x1,x2; --features {features} starts from \
             weights drawn from --seed {}",
            setup.preset.config.seed
        ),
        _ => format!(
            "the demo's initial weights are for hidden layers {}; --hidden {} starts from \
             weights drawn from --seed {}",
            Hidden(demo_hidden.to_vec()),
            Hidden(setup.preset.hidden.clone()),
            setup.preset.config.seed
        ),
    }
}

/// Refuses a network the tape or the machine cannot hold, before it is
/// made; chooses the threads of a run on every core that fit.
fn check_size(preset: &mut Preset) -> Result<()> {
    let widths = preset.widths();
    fit_threads(&widths, preset.data.len(), &mut preset.config);
    check_fits(&widths, preset.data.len(), &preset.config)
}
