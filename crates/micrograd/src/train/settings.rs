//! A run's settings as a user gives them, with one set of names that the
//! program's flags, the playground's JSON and a run's summary share, and
//! their resolution, once, into what the run trains: each dataset starts
//! from its [`Preset`] and the settings given override it.
//!
//! Each front end keeps its own limits (the program's memory checks, the
//! playground's bounds) and checks them before or after [`Settings::resolve`];
//! what is checked here is what no run could train.

use std::fmt;
use std::str::FromStr;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{BuiltIn, Preset, Task, Trainer};
use crate::data::{Dataset, Features};
use crate::error::{Error, Result};
use crate::nn::{Activation, Loss, MLP, OptimizerKind, Schedule, ScheduleShape, Weights};

/// How a run trains, every field optional: `dataset`, `points`, `noise`
/// and `seed` choose the data and its preset; `test` holds some of its
/// points out and `features` says what the network reads of each; the
/// others override the preset's. Unknown keys are an error that names
/// them.
///
/// ```
/// use micrograd::train::Settings;
///
/// let settings: Settings =
///     serde_json::from_str(r#"{"dataset": "spiral", "hidden": "8,8", "lr": 0.05}"#).unwrap();
/// let setup = settings.resolve(None).unwrap();
/// assert_eq!(setup.preset.hidden, [8, 8]);
/// assert_eq!(setup.settings.points, Some(300)); // the spiral's own
/// let unknown = serde_json::from_str::<Settings>(r#"{"colour": "red"}"#).unwrap_err();
/// assert!(unknown.to_string().contains("unknown field `colour`"));
///
/// // A fifth of xor's 500 points held out; the network reads x1, x2 and x1·x2.
/// let settings: Settings =
///     serde_json::from_str(r#"{"dataset": "xor", "test": 0.2, "features": "x1,x2,x1*x2"}"#)
///         .unwrap();
/// let setup = settings.resolve(None).unwrap();
/// assert_eq!(setup.preset.data.len(), 400);
/// assert_eq!(setup.test.as_ref().map(|t| t.len()), Some(100));
/// assert_eq!(setup.widths()[0], 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `demo`, `moons` (the default), `circles`, `blobs`, `spiral`, `xor`,
    /// `gaussian`, `plane`, `multi-gaussian`, `lecture` or `upload` (the
    /// user's own file).
    #[serde(default, with = "by_name")]
    pub dataset: Option<DatasetName>,
    /// Points drawn for a built-in dataset (its own number by default):
    /// all of them, the held-out ones included.
    #[serde(default)]
    pub points: Option<usize>,
    /// A built-in dataset's noise (its own by default): the standard
    /// deviation of Gaussian noise on the coordinates of moons, circles and
    /// blobs and on the spiral's angle; TensorFlow Playground's noise for
    /// its datasets (see [`BuiltIn::data_with`]).
    #[serde(default)]
    pub noise: Option<f64>,
    /// The seed of the data, the initial weights, the batches and the
    /// held-out points (0 by default).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The fraction of the points held out of training, from 0 up to but
    /// not including 1 (0 or none: every point trains): `round(test·n)` of
    /// the `n` points (the product in floating point, halves rounded up),
    /// one at least, drawn from the
    /// seed (see [`Setup::held_out`]); each step measures the loss and the
    /// accuracy on them ([`StepRecord::test_loss`](super::StepRecord::test_loss)).
    #[serde(default)]
    pub test: Option<f64>,
    /// What the network reads of a point in the plane: some of `x1`, `x2`,
    /// `x1^2`, `x2^2`, `x1*x2`, `sin(x1)`, `sin(x2)` (TensorFlow
    /// Playground's), as a list or as text, `"x1,x2,sin(x1)"` (see
    /// [`Features`]). `x1,x2`, the default, is the data as it is, whatever
    /// its number of features; any other needs points in the plane.
    #[serde(default)]
    pub features: Option<Features>,
    /// The hidden layers' widths: `[16, 16]`, or `"16,16"`.
    #[serde(default)]
    pub hidden: Option<Hidden>,
    /// The hidden layers' activation.
    #[serde(default, with = "by_name")]
    pub activation: Option<Activation>,
    /// The loss.
    #[serde(default, with = "by_name")]
    pub loss: Option<Loss>,
    /// `sgd`, `momentum` (μ = 0.9) or `adam`.
    #[serde(default, with = "by_name")]
    pub optimizer: Option<OptimizerKind>,
    /// The learning rate at step 0; the schedule keeps its shape.
    #[serde(default)]
    pub lr: Option<f64>,
    /// The schedule's shape (linear and cosine fall to a tenth of `lr`).
    #[serde(default, with = "by_name")]
    pub schedule: Option<ScheduleShape>,
    /// Samples per step, drawn afresh each step; `None` for all of them.
    #[serde(default)]
    pub batch: Option<usize>,
    /// The weight of the L2 penalty `Σ p²` on the parameters.
    #[serde(default)]
    pub l2: Option<f64>,
    /// The weight of the L1 penalty `Σ |p|` on the same parameters.
    #[serde(default)]
    pub l1: Option<f64>,
    /// The steps the schedule spans (and that `micrograd train` takes).
    #[serde(default)]
    pub steps: Option<usize>,
}

/// Where a run's data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetName {
    /// micrograd's demo notebook: its 100 points, its network and settings.
    Demo,
    /// Points drawn from a seed.
    BuiltIn(BuiltIn),
    /// The lecture's four examples, three features each, with its
    /// MLP(3, [4, 4, 1]) of tanh neurons ([`Preset::lecture`]).
    Lecture,
    /// The user's own file (the playground's upload, `micrograd train
    /// --data`), given to [`Settings::resolve`].
    Upload,
}

impl DatasetName {
    /// Every name, in the order a user is shown them.
    pub const ALL: [DatasetName; 11] = [
        DatasetName::Demo,
        DatasetName::BuiltIn(BuiltIn::Moons),
        DatasetName::BuiltIn(BuiltIn::Circles),
        DatasetName::BuiltIn(BuiltIn::Blobs),
        DatasetName::BuiltIn(BuiltIn::Spiral),
        DatasetName::BuiltIn(BuiltIn::Xor),
        DatasetName::BuiltIn(BuiltIn::Gaussian),
        DatasetName::BuiltIn(BuiltIn::Plane),
        DatasetName::BuiltIn(BuiltIn::MultiGaussian),
        DatasetName::Lecture,
        DatasetName::Upload,
    ];
}

impl FromStr for DatasetName {
    type Err = String;

    fn from_str(s: &str) -> Result<DatasetName, String> {
        DatasetName::ALL
            .into_iter()
            .find(|name| name.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<String> = DatasetName::ALL.iter().map(|n| n.to_string()).collect();
                format!("unknown dataset `{s}` (expected {})", names.join(", "))
            })
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetName::Demo => f.write_str("demo"),
            DatasetName::BuiltIn(builtin) => builtin.fmt(f),
            DatasetName::Lecture => f.write_str("lecture"),
            DatasetName::Upload => f.write_str("upload"),
        }
    }
}

/// The hidden layers' widths, from a list (`[16, 16]`) or from text as
/// `--hidden` takes it (`"16,16"`); written as a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hidden(pub Vec<usize>);

impl FromStr for Hidden {
    type Err = String;

    /// `16,16`: each width a number of neurons, 1 or more.
    fn from_str(s: &str) -> Result<Hidden, String> {
        if s.trim().is_empty() {
            return Err("expected widths like 16,16".into());
        }
        s.split(',')
            .map(|w| match w.trim().parse::<usize>() {
                Ok(0) => Err("a layer needs at least one neuron".to_owned()),
                Ok(n) => Ok(n),
                Err(_) if w.trim().is_empty() => Err("an empty width between commas".to_owned()),
                Err(_) if w.trim().starts_with('-') => Err(format!(
                    "`{}`: a width is a number of neurons, 1 or more",
                    w.trim()
                )),
                Err(_) => Err(format!("`{}` is not a width", w.trim())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Hidden)
    }
}

impl fmt::Display for Hidden {
    /// `16,16`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&widths.join(","))
    }
}

impl Serialize for Hidden {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Hidden {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Hidden, D::Error> {
        struct Widths;
        impl<'de> Visitor<'de> for Widths {
            type Value = Hidden;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("widths as a list, [16, 16], or as text, \"16,16\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Hidden, E> {
                s.parse().map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Hidden, A::Error> {
                let mut widths: Vec<usize> = Vec::new();
                while let Some(width) = seq.next_element()? {
                    widths.push(width);
                }
                Ok(Hidden(widths))
            }
        }
        deserializer.deserialize_any(Widths)
    }
}

/// What a run trains, every setting decided: the data, the points held
/// out, what the network reads of them, the network's shape and
/// activation, the training configuration and its steps.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The settings as they were decided: every field given, but `points`
    /// and `noise` for data not drawn at random (which refuses them),
    /// `test` without held-out points, `features` for data not in the
    /// plane, and `batch` for every training point. Resolved again, they
    /// give the same run.
    pub settings: Settings,
    /// The data's name for people: `spiral`, `micrograd's demo`, the file's.
    pub name: String,
    /// The training points as the network reads them (in `data`: every
    /// point not held out, in their order, each its
    /// [`features`](Setup::features)), the hidden layers, the training
    /// configuration, the steps.
    pub preset: Preset,
    /// The held-out points as the network reads them, in their order;
    /// `None` without a split.
    pub test: Option<Dataset>,
    /// What the network reads of a point, where it is not the point
    /// itself (`x1,x2`): its features, which [`Features::map`] makes from
    /// the point's coordinates. `None`: the network reads the points as
    /// they are.
    pub features: Option<Features>,
    /// Which points are held out: their places among
    /// [`points`](Setup::points), in increasing order (empty without a
    /// split): `round(test·n)` of the `n` points, one at least, the first
    /// of a random permutation of them drawn by a ChaCha8 of the seed on a
    /// stream of its own, so that holding points out changes neither the
    /// points drawn nor the initial weights.
    pub held_out: Vec<usize>,
    /// Every point as drawn or read, where the network reads features of
    /// them (else `preset.data` and `test` hold them).
    raw: Option<Dataset>,
}

/// A point of the data as drawn or read, for drawing it: its coordinates
/// (before any [`Features`]), its target, and whether it is held out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point<'a> {
    /// The coordinates.
    pub x: &'a [f64],
    /// The label, or the value of a regression.
    pub y: f64,
    /// Whether training leaves it out.
    pub held_out: bool,
}

impl Setup {
    /// Every point as drawn or read, in its order: its coordinates as
    /// they are (not the features the network reads), and whether it is
    /// held out.
    pub fn points(&self) -> Vec<Point<'_>> {
        let mut held = self.held_out.iter().copied().peekable();
        let mut is_held = move |i: usize| held.next_if_eq(&i).is_some();
        match &self.raw {
            Some(raw) => raw
                .x
                .iter()
                .zip(&raw.y)
                .enumerate()
                .map(|(i, (x, &y))| Point {
                    x,
                    y,
                    held_out: is_held(i),
                })
                .collect(),
            None => {
                let train = &self.preset.data;
                let mut train = train.x.iter().zip(&train.y);
                let mut test = self.test.iter().flat_map(|t| t.x.iter().zip(&t.y));
                let n = self.preset.data.len() + self.held_out.len();
                (0..n)
                    .map(|i| {
                        let held_out = is_held(i);
                        let (x, &y) = if held_out { test.next() } else { train.next() }
                            .expect("the training and held-out points are every point");
                        Point { x, y, held_out }
                    })
                    .collect()
            }
        }
    }

    /// The network's inputs for a point as drawn or read (for a front end
    /// that evaluates the network over the plane): its features, or the
    /// point itself.
    ///
    /// # Panics
    ///
    /// Where there are features, if `x` is not a point in the plane.
    pub fn inputs(&self, x: &[f64]) -> Vec<f64> {
        match &self.features {
            Some(features) => features.map(x),
            None => x.to_vec(),
        }
    }

    /// A trainer of `model` on the training points, measuring the held-out
    /// points at each step where there are some ([`Trainer::with_test`]).
    ///
    /// # Errors
    ///
    /// As [`Trainer::new`] and [`Trainer::with_test`].
    pub fn trainer<'a>(&'a self, model: &'a MLP) -> Result<Trainer<'a>> {
        let trainer = Trainer::new(model, &self.preset.data, &self.preset.config)?;
        match &self.test {
            Some(test) => trainer.with_test(test),
            None => Ok(trainer),
        }
    }

    /// The network's widths, inputs first, outputs as the loss needs them
    /// (one where the loss cannot train on the data).
    pub fn widths(&self) -> Vec<usize> {
        self.preset.widths()
    }

    /// What the labels are to the loss.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the loss cannot train on the labels.
    pub fn task(&self) -> Result<Task> {
        Task::for_loss(self.preset.config.loss, &self.preset.data)
    }

    /// A fresh network for this run, drawn from its seed.
    pub fn model(&self) -> MLP {
        self.preset.model(self.preset.config.seed)
    }

    /// The weights a run starts from where they are not drawn from its
    /// seed: micrograd's demo starts from its notebook's
    /// ([`micrograd_demo_weights`](crate::data::micrograd_demo_weights)),
    /// as `micrograd train --dataset demo` and the playground do, unless
    /// its hidden layers were changed or the network reads other features
    /// than x1 and x2. `None` for any other run.
    ///
    /// They are for the demo's outputs too: with a loss that needs other
    /// outputs they do not fit the model (each front end says what it does
    /// then).
    pub fn initial_weights(&self) -> Option<Weights> {
        if self.settings.dataset != Some(DatasetName::Demo) || self.features.is_some() {
            return None;
        }
        let weights = crate::data::micrograd_demo_weights();
        let hidden = &weights.nouts()[..weights.layers.len() - 1];
        (self.preset.hidden == hidden).then_some(weights)
    }
}

impl Settings {
    /// Settings from a JSON object of them, as [`Deserialize`] reads them
    /// (`{"lr": 0.05, "hidden": "16,16"}`, what Optuna's `ask` prints under
    /// `"params"`, or a run's own [`Setup::settings`] as it writes them),
    /// with any other JSON value refused.
    ///
    /// ```
    /// use micrograd::train::{Hidden, Settings};
    ///
    /// let settings = Settings::from_json(r#"{"lr": 0.05, "hidden": "16,16", "l2": 1e-4}"#)?;
    /// assert_eq!(settings.hidden, Some(Hidden(vec![16, 16])));
    /// let error = Settings::from_json(r#"{"lr": "fast"}"#).unwrap_err().to_string();
    /// assert_eq!(error, "invalid type: string \"fast\", expected f64, at column 13");
    /// assert!(Settings::from_json("[0.05]").is_err()); // not an object
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Data`], in one line that says what is wrong and at which
    /// column: text that is not one JSON object, a key that is not a
    /// setting (named), a value of the wrong type, an unknown name. The
    /// values are checked by [`check`](Settings::check), not here.
    pub fn from_json(text: &str) -> Result<Settings> {
        crate::json::object(text.as_bytes(), "an object of settings").map_err(|e| {
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => &message[..cut],
                None => &message,
            };
            Error::Data(format!("{message}, at column {}", e.column()))
        })
    }

    /// These settings, each one not given taken from `fallback`: flags
    /// given one by one over settings given as a whole.
    #[must_use]
    pub fn or(self, fallback: Settings) -> Settings {
        Settings {
            dataset: self.dataset.or(fallback.dataset),
            points: self.points.or(fallback.points),
            noise: self.noise.or(fallback.noise),
            seed: self.seed.or(fallback.seed),
            test: self.test.or(fallback.test),
            features: self.features.or(fallback.features),
            hidden: self.hidden.or(fallback.hidden),
            activation: self.activation.or(fallback.activation),
            loss: self.loss.or(fallback.loss),
            optimizer: self.optimizer.or(fallback.optimizer),
            lr: self.lr.or(fallback.lr),
            schedule: self.schedule.or(fallback.schedule),
            batch: self.batch.or(fallback.batch),
            l2: self.l2.or(fallback.l2),
            l1: self.l1.or(fallback.l1),
            steps: self.steps.or(fallback.steps),
        }
    }

    /// Refuses the settings that no run could train with, whatever the
    /// data: [`resolve`](Settings::resolve)'s first look, which needs no
    /// data drawn or read.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for fewer than 3 points, a layer of no neurons, a
    /// learning rate that is not a positive number, a batch or steps of 0,
    /// a negative or non-finite L2, L1 or noise, `points` or `noise` for
    /// data that is not drawn, or a held-out fraction outside [0, 1).
    pub fn check(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::Data(message));
        let dataset = self.dataset.unwrap_or(DatasetName::BuiltIn(BuiltIn::Moons));
        match dataset {
            DatasetName::BuiltIn(builtin) => {
                if self.points.is_some_and(|points| points < 3) {
                    return invalid(format!("{builtin} needs at least 3 points"));
                }
                if let Some(noise) = self.noise
                    && !(noise.is_finite() && noise >= 0.0)
                {
                    return invalid("noise must be a finite number, 0 or more".into());
                }
            }
            _ => {
                if self.points.is_some() {
                    return invalid(format!(
                        "the {dataset} dataset has its own points; points is for {}",
                        BuiltIn::names()
                    ));
                }
                if self.noise.is_some() {
                    return invalid(format!(
                        "the {dataset} dataset is not drawn at random; noise is for {}",
                        BuiltIn::names()
                    ));
                }
            }
        }
        if let Some(test) = self.test
            && !(0.0..1.0).contains(&test)
        {
            return invalid(format!(
                "the held-out fraction must be a number from 0 up to (not including) 1, not {test}"
            ));
        }
        if let Some(l1) = self.l1
            && !(l1.is_finite() && l1 >= 0.0)
        {
            return invalid("L1 must be a finite number, 0 or more".into());
        }
        if let Some(Hidden(widths)) = &self.hidden
            && widths.contains(&0)
        {
            return invalid("a layer needs at least one neuron".into());
        }
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr > 0.0)
        {
            return invalid("the learning rate must be a positive finite number".into());
        }
        if let Some(l2) = self.l2
            && !(l2.is_finite() && l2 >= 0.0)
        {
            return invalid("L2 must be a finite number, 0 or more".into());
        }
        if self.batch == Some(0) {
            return invalid("the batch size must be at least 1".into());
        }
        if self.steps == Some(0) {
            return invalid("steps must be at least 1".into());
        }
        Ok(())
    }

    /// Resolves these settings into what a run trains: the dataset's
    /// preset (drawn from `seed` for a built-in one; `file`, its name and
    /// its data, for `upload`), with every setting given overriding the
    /// preset's; the points held out of it (`test`) and the features the
    /// network reads. A batch of every training point or more is `None`.
    /// Draws the data, and builds nothing on a tape.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for settings no run could train with (fewer than 3
    /// points, a layer of no neurons, a learning rate that is not a
    /// positive number, a batch or steps of 0, a negative L2, L1 or noise,
    /// `points` or `noise` for data that is not drawn, `upload` without
    /// a file, a held-out fraction outside [0, 1) or one that leaves no
    /// point to train on or holds out every point of a class, features
    /// other than `x1,x2` for data not in the plane), or a file whose
    /// labels are all the same.
    pub fn resolve(&self, file: Option<(&str, &Dataset)>) -> Result<Setup> {
        self.check()?;
        let invalid = |message: String| Err(Error::Data(message));
        let seed = self.seed.unwrap_or(0);
        let dataset = self.dataset.unwrap_or(DatasetName::BuiltIn(BuiltIn::Moons));

        let (name, mut preset, noise) = match dataset {
            DatasetName::Demo => (
                "micrograd's demo".to_owned(),
                Preset::micrograd_demo(),
                None,
            ),
            DatasetName::BuiltIn(builtin) => {
                let points = self.points.unwrap_or(builtin.points());
                let noise = self.noise.unwrap_or(builtin.noise());
                let preset = builtin.preset_with(points, noise, seed);
                (builtin.to_string(), preset, Some(noise))
            }
            DatasetName::Lecture => ("lecture".to_owned(), Preset::lecture(seed), None),
            DatasetName::Upload => {
                let Some((name, data)) = file else {
                    return invalid("the upload dataset needs a file".into());
                };
                let preset = Preset::for_dataset(data.clone(), seed)
                    .map_err(|e| Error::Data(format!("{name}: {e}")))?;
                (name.to_owned(), preset, None)
            }
        };

        if let Some(Hidden(widths)) = &self.hidden {
            preset.hidden = widths.clone();
        }
        if let Some(activation) = self.activation {
            preset.activation = activation;
        }
        if let Some(steps) = self.steps {
            preset.steps = steps;
        }
        let config = &mut preset.config;
        config.seed = seed;
        if let Some(loss) = self.loss {
            config.loss = loss;
        }
        if let Some(optimizer) = self.optimizer {
            config.optimizer = optimizer;
        }
        config.schedule = config
            .schedule
            .reshaped(self.schedule, self.lr, preset.steps);
        if let Some(l2) = self.l2 {
            config.l2 = l2;
        }
        if let Some(l1) = self.l1 {
            config.l1 = l1;
        }

        let points = std::mem::replace(
            &mut preset.data,
            Dataset {
                x: Vec::new(),
                y: Vec::new(),
            },
        );
        let n = points.len();
        let in_the_plane = points.dim() == 2;
        let features = match &self.features {
            Some(features) if !features.is_identity() => {
                if !in_the_plane {
                    return invalid(format!(
                        "the features {features} are made from points in the plane; the {name} \
                         points have {} features each (only x1,x2, the data as it is, fits them)",
                        points.dim()
                    ));
                }
                Some(features.clone())
            }
            _ => None,
        };
        let held_out = held_out(n, self.test.unwrap_or(0.0), seed)?;
        let (train, test, raw) = split(points, &held_out, features.as_ref())?;
        if let Some(test) = &test {
            check_split(preset.config.loss, &train, test)?;
        }
        preset.data = train;
        // A batch of every point or more is every point, as the trainer
        // takes it.
        let config = &mut preset.config;
        config.batch = self.batch.filter(|&b| b < preset.data.len());

        let config = &preset.config;
        let settings = Settings {
            dataset: Some(dataset),
            points: matches!(dataset, DatasetName::BuiltIn(_)).then_some(n),
            noise,
            seed: Some(seed),
            test: self.test.filter(|_| !held_out.is_empty()),
            features: in_the_plane.then(|| features.clone().unwrap_or_default()),
            hidden: Some(Hidden(preset.hidden.clone())),
            activation: Some(preset.activation),
            loss: Some(config.loss),
            optimizer: Some(config.optimizer),
            lr: Some(start(&config.schedule)),
            schedule: Some(config.schedule.shape()),
            batch: config.batch,
            l2: Some(config.l2),
            l1: Some(config.l1),
            steps: Some(preset.steps),
        };
        Ok(Setup {
            settings,
            name,
            preset,
            test,
            features,
            held_out,
            raw,
        })
    }
}

/// The stream of a seed's ChaCha8 that draws the held-out points, apart
/// from stream 0, which draws the data, the initial weights and the
/// batches.
const HELD_OUT_STREAM: u64 = 0x7e57;

/// The places of the points held out of `n`: `round(fraction·n)` of them
/// (`f64::round`, halves away from 0), one at least when `fraction` is
/// more than 0, the first of a random permutation (Fisher–Yates, drawn
/// from `seed` on [`HELD_OUT_STREAM`]), in increasing order.
fn held_out(n: usize, fraction: f64, seed: u64) -> Result<Vec<usize>> {
    if fraction == 0.0 {
        return Ok(Vec::new());
    }
    let count = ((fraction * n as f64).round() as usize).max(1);
    if count >= n {
        return Err(Error::Data(format!(
            "holding out {fraction} of {n} points leaves no point to train on"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(HELD_OUT_STREAM);
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..count {
        let j = rng.random_range(i..n);
        order.swap(i, j);
    }
    order.truncate(count);
    order.sort_unstable();
    Ok(order)
}

/// That the training points are read as every point would be: that no
/// class is held out whole. (Data the loss cannot read at all is for the
/// trainer to refuse, split or not.)
fn check_split(loss: Loss, train: &Dataset, test: &Dataset) -> Result<()> {
    let every = Dataset {
        x: Vec::new(),
        y: train.y.iter().chain(&test.y).copied().collect(),
    };
    let Ok(task) = Task::for_loss(loss, &every) else {
        return Ok(());
    };
    if Task::for_loss(loss, train).ok() == Some(task) {
        return Ok(());
    }
    let kept = train.classes();
    let gone: Vec<String> = every
        .classes()
        .into_iter()
        .filter(|c| !kept.contains(c))
        .map(|c| c.to_string())
        .collect();
    Err(Error::Data(format!(
        "the {} held-out points take every point labelled {}: the {} training points \
         cannot train the same model; hold out fewer points, or use more",
        test.len(),
        gone.join(", "),
        train.len()
    )))
}

/// `points` cut into the training points and the held-out ones (at
/// `held_out`, increasing), each as the network reads it (`features`, or
/// as they are); and the points as they are, where there are features.
fn split(
    points: Dataset,
    held_out: &[usize],
    features: Option<&Features>,
) -> Result<(Dataset, Option<Dataset>, Option<Dataset>)> {
    if held_out.is_empty() {
        return Ok(match features {
            Some(features) => (features.apply(&points)?, None, Some(points)),
            None => (points, None, None),
        });
    }
    let empty = || Dataset {
        x: Vec::new(),
        y: Vec::new(),
    };
    let (mut train, mut test) = (empty(), empty());
    let mut held = held_out.iter().copied().peekable();
    let mut push = |i: usize, x: Vec<f64>, y: f64| {
        let side = if held.next_if_eq(&i).is_some() {
            &mut test
        } else {
            &mut train
        };
        side.x.push(x);
        side.y.push(y);
    };
    let raw = match features {
        // The rows move to their side.
        None => {
            for (i, (x, y)) in points.x.into_iter().zip(points.y).enumerate() {
                push(i, x, y);
            }
            None
        }
        Some(features) => {
            for (i, (x, &y)) in points.x.iter().zip(&points.y).enumerate() {
                push(i, features.map(x), y);
            }
            Some(points)
        }
    };
    Ok((train, Some(test), raw))
}

/// The rate a schedule starts from, as written.
fn start(schedule: &Schedule) -> f64 {
    match *schedule {
        Schedule::Constant(start)
        | Schedule::Linear { start, .. }
        | Schedule::Cosine { start, .. } => start,
    }
}

/// The name a setting is written as, and read back from.
trait Named: FromStr<Err = String> {
    fn name(&self) -> String;
}

impl Named for DatasetName {
    fn name(&self) -> String {
        self.to_string()
    }
}

impl Named for Activation {
    fn name(&self) -> String {
        self.to_string()
    }
}

impl Named for Loss {
    fn name(&self) -> String {
        self.to_string()
    }
}

impl Named for ScheduleShape {
    fn name(&self) -> String {
        self.to_string()
    }
}

impl Named for OptimizerKind {
    /// What `FromStr` reads: `sgd`, `momentum` (μ = 0.9), `adam`.
    fn name(&self) -> String {
        match self {
            OptimizerKind::Sgd { momentum: 0.0 } => "sgd".into(),
            OptimizerKind::Sgd { .. } => "momentum".into(),
            OptimizerKind::Adam => "adam".into(),
        }
    }
}

/// An optional setting as its name.
mod by_name {
    use super::Named;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<T: Named, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_str(&value.name()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(name) => name.parse().map(Some).map_err(de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DatasetName, Hidden, Settings};
    use crate::data::{Dataset, Feature, Features};
    use crate::nn::{Activation, Loss, OptimizerKind, Schedule, ScheduleShape};
    use crate::train::BuiltIn;

    #[test]
    fn hidden_widths_read_from_a_list_or_from_text() {
        let read = |json: &str| serde_json::from_str::<Settings>(json).map(|s| s.hidden);
        assert_eq!(
            read(r#"{"hidden": [16, 16]}"#).unwrap(),
            Some(Hidden(vec![16, 16]))
        );
        assert_eq!(
            read(r#"{"hidden": "16,16"}"#).unwrap(),
            Some(Hidden(vec![16, 16]))
        );
        assert_eq!(
            read(r#"{"hidden": " 8 , 4 "}"#).unwrap(),
            Some(Hidden(vec![8, 4]))
        );
        assert_eq!(read(r#"{"hidden": []}"#).unwrap(), Some(Hidden(vec![])));
        assert_eq!(read(r#"{"hidden": null}"#).unwrap(), None);
        let error = |json: &str| read(json).unwrap_err().to_string();
        assert!(error(r#"{"hidden": "16,,16"}"#).contains("an empty width between commas"));
        assert!(error(r#"{"hidden": "0"}"#).contains("a layer needs at least one neuron"));
        assert!(error(r#"{"hidden": "-3"}"#).contains("`-3`: a width is a number of neurons"));
        assert!(error(r#"{"hidden": [1.5]}"#).contains("invalid type"));
        assert!(error(r#"{"hidden": 16}"#).contains("widths as a list"));
        // Written as a list.
        let settings = Settings {
            hidden: Some(Hidden(vec![4, 2])),
            ..Settings::default()
        };
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(json["hidden"], serde_json::json!([4, 2]));
        assert_eq!(Hidden(vec![32, 32]).to_string(), "32,32");
    }

    #[test]
    fn unknown_keys_and_names_are_errors_that_name_them() {
        let error = |json: &str| {
            serde_json::from_str::<Settings>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(error(r#"{"widths": [4]}"#).contains("unknown field `widths`"));
        assert!(error(r#"{"dataset": "mnist"}"#).contains("unknown dataset `mnist`"));
        assert!(error(r#"{"loss": "hinge2"}"#).contains("unknown loss `hinge2`"));
        assert!(error(r#"{"optimizer": "lbfgs"}"#).contains("unknown optimizer `lbfgs`"));
        assert!(error(r#"{"schedule": "exp"}"#).contains("unknown schedule `exp`"));
        assert!(error(r#"{"activation": "gelu"}"#).contains("unknown activation `gelu`"));
    }

    #[test]
    fn every_key_reads_back_what_it_wrote() {
        let json = serde_json::json!({
            "dataset": "circles", "points": 50, "noise": 0.0, "seed": 7, "test": 0.25,
            "features": ["x1", "x1*x2", "sin(x2)"],
            "hidden": [4], "activation": "tanh", "loss": "mse", "optimizer": "momentum",
            "lr": 0.5, "schedule": "cosine", "batch": 10, "l2": 0.001, "l1": 0.002, "steps": 30
        });
        let settings: Settings = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            settings,
            Settings {
                dataset: Some(DatasetName::BuiltIn(BuiltIn::Circles)),
                points: Some(50),
                noise: Some(0.0),
                seed: Some(7),
                test: Some(0.25),
                features: Some(
                    Features::new(&[Feature::X1, Feature::X1X2, Feature::SinX2]).unwrap()
                ),
                hidden: Some(Hidden(vec![4])),
                activation: Some(Activation::Tanh),
                loss: Some(Loss::Mse),
                optimizer: Some(OptimizerKind::Sgd { momentum: 0.9 }),
                lr: Some(0.5),
                schedule: Some(ScheduleShape::Cosine),
                batch: Some(10),
                l2: Some(0.001),
                l1: Some(0.002),
                steps: Some(30),
            }
        );
        assert_eq!(serde_json::to_value(&settings).unwrap(), json);
    }

    #[test]
    fn a_dataset_starts_from_its_preset_and_the_settings_override_it() {
        // The spiral's preset: 300 points, 32,32, softmax, Adam from 0.1
        // by a cosine over 400 steps (BuiltIn::settings_for).
        let spiral = Settings {
            dataset: Some(DatasetName::BuiltIn(BuiltIn::Spiral)),
            ..Settings::default()
        };
        let setup = spiral.resolve(None).unwrap();
        assert_eq!(
            (setup.name.as_str(), setup.preset.data.len()),
            ("spiral", 300)
        );
        assert_eq!(setup.preset.hidden, [32, 32]);
        assert_eq!(setup.preset.config.loss, Loss::SoftmaxCe);
        assert_eq!(setup.settings.lr, Some(0.1));
        assert_eq!(setup.settings.steps, Some(400));
        assert_eq!(setup.settings.noise, Some(0.2));
        // Three classes: 2 inputs, 3 outputs.
        assert_eq!(setup.widths(), [2, 32, 32, 3]);

        let given = Settings {
            hidden: Some(Hidden(vec![8])),
            lr: Some(0.5),
            schedule: Some(ScheduleShape::Constant),
            batch: Some(500),
            steps: Some(10),
            seed: Some(3),
            ..spiral
        };
        let setup = given.resolve(None).unwrap();
        assert_eq!(setup.preset.hidden, [8]);
        assert_eq!(setup.preset.config.schedule, Schedule::Constant(0.5));
        assert_eq!(setup.preset.steps, 10);
        assert_eq!(setup.preset.config.seed, 3);
        // 500 of 300 points is all of them.
        assert_eq!(setup.preset.config.batch, None);
        assert_eq!(setup.settings.batch, None);
    }

    #[test]
    fn settings_no_run_could_train_with_are_refused() {
        let refused = |settings: Settings| settings.resolve(None).unwrap_err().to_string();
        let demo = Some(DatasetName::Demo);
        assert!(
            refused(Settings {
                dataset: demo,
                points: Some(50),
                ..Settings::default()
            })
            .contains("own points")
        );
        assert!(
            refused(Settings {
                hidden: Some(Hidden(vec![4, 0])),
                ..Settings::default()
            })
            .contains("at least one neuron")
        );
        assert!(
            refused(Settings {
                lr: Some(-1.0),
                ..Settings::default()
            })
            .contains("learning rate")
        );
        assert!(
            refused(Settings {
                points: Some(2),
                ..Settings::default()
            })
            .contains("at least 3 points")
        );
        assert!(
            refused(Settings {
                dataset: Some(DatasetName::Upload),
                ..Settings::default()
            })
            .contains("needs a file")
        );
        let same = Dataset {
            x: vec![vec![0.0], vec![1.0]],
            y: vec![5.0, 5.0],
        };
        assert!(refused_with(&same).contains("one.csv: every label is 5"));
    }

    fn refused_with(data: &Dataset) -> String {
        let upload = Settings {
            dataset: Some(DatasetName::Upload),
            ..Settings::default()
        };
        upload
            .resolve(Some(("one.csv", data)))
            .unwrap_err()
            .to_string()
    }
}
