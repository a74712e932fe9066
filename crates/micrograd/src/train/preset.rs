//! The built-in datasets, each with settings that train it well: what
//! `micrograd train --dataset NAME` uses unless told otherwise.

use std::fmt;
use std::str::FromStr;

use super::{Batching, Task, TrainConfig};
use crate::data::{self, Dataset};
use crate::error::{Error, Result};
use crate::nn::loss::Loss;
use crate::nn::{Activation, MLP, OptimizerKind, Schedule};

/// A built-in dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltIn {
    /// micrograd's demo: 100 points of two moons, noise 0.1.
    Moons,
    /// 100 points on two concentric circles.
    Circles,
    /// 150 points in three Gaussian blobs.
    Blobs,
    /// 300 points on three spiral arms (CS231n).
    Spiral,
    /// TensorFlow Playground's exclusive or: 500 points in four squares,
    /// labels -1 and +1 ([`data::xor`]).
    Xor,
    /// TensorFlow Playground's two Gaussians: 500 points, labels -1 and +1
    /// ([`data::two_gaussians`]).
    Gaussian,
    /// TensorFlow Playground's plane: 1,200 points whose targets are
    /// `(x1 + x2) / 10`, a regression ([`data::plane`]).
    Plane,
    /// TensorFlow Playground's six Gaussian bumps: 1,200 points whose
    /// targets are in [-1, 1], a regression ([`data::multi_gaussian`]).
    MultiGaussian,
}

/// A dataset with the network and training settings that suit it.
#[derive(Clone, Debug)]
pub struct Preset {
    /// The points.
    pub data: Dataset,
    /// The hidden layers' widths.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// Loss, optimizer, schedule, regularisation, batches.
    pub config: TrainConfig,
    /// How many steps to train.
    pub steps: usize,
}

impl BuiltIn {
    /// Every built-in dataset.
    pub const ALL: [BuiltIn; 8] = [
        BuiltIn::Moons,
        BuiltIn::Circles,
        BuiltIn::Blobs,
        BuiltIn::Spiral,
        BuiltIn::Xor,
        BuiltIn::Gaussian,
        BuiltIn::Plane,
        BuiltIn::MultiGaussian,
    ];

    /// The dataset drawn from `seed`, with its settings.
    pub fn preset(self, seed: u64) -> Preset {
        self.settings_for(self.data(seed), seed)
    }

    /// The dataset drawn from `seed` with `points` points (the classes of
    /// blobs and spiral as equal as can be), with its settings.
    pub fn preset_sized(self, points: usize, seed: u64) -> Preset {
        self.settings_for(self.data_sized(points, seed), seed)
    }

    /// The dataset drawn from `seed` with `points` points and `noise`
    /// instead of its own (see [`data_with`](BuiltIn::data_with)), with its
    /// settings.
    ///
    /// # Panics
    ///
    /// If `points` is less than 3.
    pub fn preset_with(self, points: usize, noise: f64, seed: u64) -> Preset {
        self.settings_for(self.data_with(points, noise, seed), seed)
    }

    /// The dataset alone, drawn from `seed`.
    pub fn data(self, seed: u64) -> Dataset {
        self.data_sized(self.points(), seed)
    }

    /// The dataset alone with `points` points, drawn from `seed`.
    pub fn data_sized(self, points: usize, seed: u64) -> Dataset {
        self.data_with(points, self.noise(), seed)
    }

    /// The dataset with `points` points and `noise` instead of its own,
    /// drawn from `seed`. The noise is the standard deviation of Gaussian
    /// noise on the coordinates for moons, circles and blobs, on the angle
    /// for spiral; TensorFlow Playground's for its datasets (its slider
    /// over 100): the labels of xor, plane and multi-gaussian are read at
    /// the point moved by `uniform(-r, r)·noise` on each coordinate (r = 5
    /// for xor, 6 for the others), and gaussian's variance is
    /// `0.5 + 7·noise` (see [`data::xor`] and the others).
    ///
    /// # Panics
    ///
    /// If `points` is less than 3 (2 for moons and circles).
    pub fn data_with(self, points: usize, noise: f64, seed: u64) -> Dataset {
        match self {
            BuiltIn::Moons => data::moons(points, noise, seed),
            BuiltIn::Circles => data::circles(points, noise, 0.5, seed),
            BuiltIn::Blobs => data::blobs(points, 3, noise, seed),
            BuiltIn::Spiral => data::spiral_sized(points, 3, noise, seed),
            BuiltIn::Xor => data::xor(points, noise, seed),
            BuiltIn::Gaussian => data::two_gaussians(points, noise, seed),
            BuiltIn::Plane => data::plane(points, noise, seed),
            BuiltIn::MultiGaussian => data::multi_gaussian(points, noise, seed),
        }
    }

    /// The dataset's own noise: micrograd's demo's 0.1 for moons, 0.05 for
    /// circles, 1 for blobs, CS231n's 0.2 for spiral, and TensorFlow
    /// Playground's default, 0, for its datasets.
    pub fn noise(self) -> f64 {
        match self {
            BuiltIn::Moons => 0.1,
            BuiltIn::Circles => 0.05,
            BuiltIn::Blobs => 1.0,
            BuiltIn::Spiral => 0.2,
            BuiltIn::Xor | BuiltIn::Gaussian | BuiltIn::Plane | BuiltIn::MultiGaussian => 0.0,
        }
    }

    /// How many points the dataset has by default: TensorFlow Playground's
    /// 500 for its classifications and 1,200 for its regressions.
    pub fn points(self) -> usize {
        match self {
            BuiltIn::Moons | BuiltIn::Circles => 100,
            BuiltIn::Blobs => 150,
            BuiltIn::Spiral => 300,
            BuiltIn::Xor | BuiltIn::Gaussian => 500,
            BuiltIn::Plane | BuiltIn::MultiGaussian => 1200,
        }
    }

    /// This dataset's settings, applied to `data`.
    ///
    /// Two classes train with micrograd's demo loss (SVM with an L2 penalty
    /// of 1e-4) and its schedule's shape (linear, to a tenth), but with Adam
    /// at 0.1 over 200 steps rather than its SGD at 1.0 over 100: SGD's
    /// step does not scale with the network (micrograd's weights are
    /// uniform in [-1, 1] whatever the width, so a wide layer's outputs and
    /// gradients grow with it), and it diverged from 256,256 on; Adam's
    /// step is the same size at every width. `tools/presets/stability.py`
    /// measures every dataset over widths 16 to 512, one and two layers,
    /// 100 to 10,000 points. [`Preset::micrograd_demo`] keeps the demo's
    /// own settings. xor trains as the moons (100% of its points, held out
    /// or not, over seeds 0 to 4 with half held out), gaussian too over 100
    /// steps.
    ///
    /// TensorFlow Playground's regressions train with the mean squared
    /// error and Adam from 0.03 by a cosine, 16,16 tanh neurons (ReLU's
    /// kinks fit the bumps worse, and its first losses were 10 times
    /// larger): plane over 300 steps, multi-gaussian over 1,000. With half
    /// the points held out, over seeds 0 to 4, the held-out loss ended 37
    /// to 290 times below the constant predictor's (the targets' variance)
    /// for plane, 6 to 19 times for multi-gaussian.
    fn settings_for(self, data: Dataset, seed: u64) -> Preset {
        let two_classes = |data: Dataset, steps: usize| Preset {
            data,
            hidden: vec![16, 16],
            activation: Activation::Relu,
            config: TrainConfig {
                optimizer: OptimizerKind::Adam,
                schedule: Schedule::Linear {
                    start: 0.1,
                    decay: 0.09,
                    steps,
                },
                seed,
                ..TrainConfig::micrograd_demo(steps)
            },
            steps,
        };
        let softmax = |data: Dataset, hidden: Vec<usize>, lr: f64, steps: usize| Preset {
            data,
            hidden,
            activation: Activation::Relu,
            config: TrainConfig {
                loss: Loss::SoftmaxCe,
                optimizer: OptimizerKind::Adam,
                schedule: Schedule::Cosine {
                    start: lr,
                    end: lr / 10.0,
                    steps,
                },
                l2: 0.0,
                l1: 0.0,
                batch: None,
                seed,
                batching: Batching::Replay,
                threads: None,
            },
            steps,
        };
        let regression = |data: Dataset, lr: f64, steps: usize| Preset {
            data,
            hidden: vec![16, 16],
            activation: Activation::Tanh,
            config: TrainConfig {
                loss: Loss::Mse,
                optimizer: OptimizerKind::Adam,
                schedule: Schedule::Cosine {
                    start: lr,
                    end: lr / 10.0,
                    steps,
                },
                l2: 0.0,
                l1: 0.0,
                batch: None,
                seed,
                batching: Batching::Replay,
                threads: None,
            },
            steps,
        };
        match self {
            BuiltIn::Moons | BuiltIn::Circles | BuiltIn::Xor => two_classes(data, 200),
            BuiltIn::Gaussian => two_classes(data, 100),
            BuiltIn::Blobs => softmax(data, vec![16], 0.05, 100),
            BuiltIn::Spiral => softmax(data, vec![32, 32], 0.1, 400),
            BuiltIn::Plane => regression(data, 0.03, 300),
            BuiltIn::MultiGaussian => regression(data, 0.03, 1000),
        }
    }
}

impl Preset {
    /// micrograd's demo as the notebook ran it: its 100 points and
    /// initial weights' network (MLP 2-16-16-1, ReLU), SVM loss with an L2
    /// penalty of 1e-4, SGD with `lr = 1.0 - 0.9*k/100` for 100 steps.
    /// Start the model from [`micrograd_demo_weights`](crate::data::micrograd_demo_weights)
    /// to get the notebook's losses.
    pub fn micrograd_demo() -> Preset {
        Preset {
            data: data::micrograd_demo(),
            hidden: vec![16, 16],
            activation: Activation::Relu,
            config: TrainConfig::micrograd_demo(100),
            steps: 100,
        }
    }

    /// The lecture's network and loop: MLP(3, [4, 4, 1]) with tanh
    /// neurons on its four examples, the sum of squared errors, plain
    /// gradient descent at 0.05 for 100 steps, on one thread.
    pub fn lecture(seed: u64) -> Preset {
        Preset {
            data: data::lecture_examples(),
            hidden: vec![4, 4],
            activation: Activation::Tanh,
            config: TrainConfig {
                loss: Loss::SumSquares,
                optimizer: OptimizerKind::Sgd { momentum: 0.0 },
                schedule: Schedule::Constant(0.05),
                l2: 0.0,
                l1: 0.0,
                batch: None,
                seed,
                batching: Batching::Replay,
                threads: Some(1),
            },
            steps: 100,
        }
    }

    /// Settings for a user's dataset, chosen by its targets: two classes
    /// as the moons (SVM loss, Adam); up to 20 integer
    /// classes as the spiral (softmax, Adam); anything else as regression
    /// (mean squared error, Adam). [`Preset::reason`] says which, and why.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if every label is the same: there is nothing to
    /// learn, as a classifier or as a regression.
    pub fn for_dataset(data: Dataset, seed: u64) -> Result<Preset> {
        Ok(match Labels::of(&data) {
            Labels::One => {
                let label = data.y.first().copied().unwrap_or(f64::NAN);
                return Err(Error::Data(format!(
                    "every label is {label}: there is nothing to learn (a model needs two different labels or more)"
                )));
            }
            Labels::Two => BuiltIn::Moons.settings_for(data, seed),
            Labels::Classes(_) => BuiltIn::Spiral.settings_for(data, seed),
            Labels::ManyIntegers(_) | Labels::Real => Preset {
                hidden: vec![16, 16],
                activation: Activation::Relu,
                config: TrainConfig {
                    loss: Loss::Mse,
                    optimizer: OptimizerKind::Adam,
                    schedule: Schedule::Cosine {
                        start: 0.01,
                        end: 0.001,
                        steps: 500,
                    },
                    l2: 0.0,
                    l1: 0.0,
                    batch: None,
                    seed,
                    batching: Batching::Replay,
                    threads: None,
                },
                steps: 500,
                data,
            },
        })
    }

    /// What [`for_dataset`](Preset::for_dataset) makes of `data`'s labels,
    /// and why, in a sentence: `3 integer labels (0, 1, 2): classes, one
    /// output each (softmax loss)`.
    pub fn reason(data: &Dataset) -> String {
        let classes = data.classes();
        let shown: Vec<String> = classes.iter().take(6).map(f64::to_string).collect();
        let more = if classes.len() > 6 { ", ..." } else { "" };
        let listed = format!("{}{more}", shown.join(", "));
        match Labels::of(data) {
            Labels::One => format!("every label is {listed}: there is nothing to learn"),
            Labels::Two => format!(
                "2 distinct labels ({listed}): two classes, one output scoring them, as micrograd's demo (SVM loss)"
            ),
            Labels::Classes(k) => format!(
                "{k} integer labels ({listed}): {k} classes, one output each (softmax loss)"
            ),
            Labels::ManyIntegers(k) => format!(
                "{k} distinct integer labels ({listed}): more than {MAX_CLASSES} read as numbers, a regression \
                 (mean squared error); --loss softmax reads them as classes"
            ),
            Labels::Real => {
                format!("labels with fractions ({listed}): a regression (mean squared error)")
            }
        }
    }

    /// A fresh network for this preset: `hidden` layers with the preset's
    /// activation and an output layer as the loss needs, drawn from `seed`.
    pub fn model(&self, seed: u64) -> MLP {
        let widths = self.widths();
        MLP::builder(widths[0], &widths[1..])
            .activation(self.activation)
            .seed(seed)
            .build()
    }

    /// The network's widths, inputs first: the data's features, the hidden
    /// layers, and the outputs the loss needs (one where it cannot train
    /// on the data).
    pub fn widths(&self) -> Vec<usize> {
        let outputs = Task::for_loss(self.config.loss, &self.data).map_or(1, |task| task.outputs());
        std::iter::once(self.data.dim())
            .chain(self.hidden.iter().copied())
            .chain([outputs])
            .collect()
    }
}

/// The most integer labels read as classes by default.
const MAX_CLASSES: usize = 20;

/// What a dataset's labels look like.
enum Labels {
    One,
    Two,
    /// 3 to [`MAX_CLASSES`] integers.
    Classes(usize),
    /// More integers than that.
    ManyIntegers(usize),
    Real,
}

impl Labels {
    fn of(data: &Dataset) -> Labels {
        let classes = data.classes();
        let integers = classes.iter().all(|c| c.fract() == 0.0);
        match classes.len() {
            0 | 1 => Labels::One,
            2 => Labels::Two,
            _ if !integers => Labels::Real,
            k if k <= MAX_CLASSES => Labels::Classes(k),
            k => Labels::ManyIntegers(k),
        }
    }
}

impl FromStr for BuiltIn {
    type Err = String;

    /// A name of [`BuiltIn::ALL`], in any case.
    fn from_str(s: &str) -> Result<BuiltIn, String> {
        BuiltIn::ALL
            .into_iter()
            .find(|b| b.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown dataset `{s}` (expected {})", BuiltIn::names()))
    }
}

impl BuiltIn {
    /// `moons, circles, ..., multi-gaussian`: every name, for messages.
    pub fn names() -> String {
        let names: Vec<String> = BuiltIn::ALL.iter().map(BuiltIn::to_string).collect();
        names.join(", ")
    }
}

impl fmt::Display for BuiltIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuiltIn::Moons => "moons",
            BuiltIn::Circles => "circles",
            BuiltIn::Blobs => "blobs",
            BuiltIn::Spiral => "spiral",
            BuiltIn::Xor => "xor",
            BuiltIn::Gaussian => "gaussian",
            BuiltIn::Plane => "plane",
            BuiltIn::MultiGaussian => "multi-gaussian",
        })
    }
}
