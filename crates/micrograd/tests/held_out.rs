//! Points held out of training: how many and which (from the seed, apart
//! from the data and the weights), what a step measures on them, the L1
//! penalty beside L2, settings that read back as themselves, and
//! TensorFlow Playground's datasets trained by their presets.

#![cfg(feature = "nn")]

use micrograd::data::{Dataset, Features};
use micrograd::nn::{
    Activation, LayerWeights, Loss, MLP, Module, OptimizerKind, Schedule, Weights,
};
use micrograd::train::{Batching, BuiltIn, DatasetName, Hidden, Settings, TrainConfig, Trainer};

fn moons(points: usize, test: f64, seed: u64) -> Settings {
    Settings {
        points: Some(points),
        test: Some(test),
        seed: Some(seed),
        ..Settings::default()
    }
}

#[test]
fn round_fraction_times_n_points_are_held_out_one_at_least() {
    // (points, fraction, held out): round() takes halves away from 0.
    for (points, fraction, held) in [
        (100, 0.25, 25),
        (10, 0.25, 3),   // 2.5
        (7, 0.5, 4),     // 3.5
        (20, 0.125, 3),  // 2.5
        (20, 0.1, 2),    // 2.0000000000000004
        (3, 0.1, 1),     // 0.3: one at least
        (400, 0.001, 1), // 0.4: one at least
        (3, 0.5, 2),     // 1.5, leaving 1
        (4, 0.75, 3),
    ] {
        // A regression: any split of it trains.
        let plane = Settings {
            dataset: Some(DatasetName::BuiltIn(BuiltIn::Plane)),
            ..moons(points, fraction, 1)
        };
        let setup = plane.resolve(None).unwrap();
        let what = format!("{fraction} of {points}");
        assert_eq!(setup.held_out.len(), held, "{what}");
        assert_eq!(setup.test.as_ref().unwrap().len(), held, "{what}");
        assert_eq!(setup.preset.data.len(), points - held, "{what}");
        assert!(setup.held_out.windows(2).all(|w| w[0] < w[1]), "{what}");
        assert!(setup.held_out.iter().all(|&i| i < points), "{what}");
        assert_eq!(setup.settings.points, Some(points), "{what}");
        assert_eq!(setup.settings.test, Some(fraction), "{what}");
    }
    // 0, or none, holds nothing out.
    for test in [None, Some(0.0)] {
        let setup = Settings {
            test,
            ..Settings::default()
        }
        .resolve(None)
        .unwrap();
        assert_eq!((setup.held_out.len(), &setup.test), (0, &None));
        assert_eq!(setup.settings.test, None);
        assert_eq!(setup.preset.data, BuiltIn::Moons.data(0));
    }
}

#[test]
fn a_split_that_leaves_nothing_to_train_is_refused() {
    let refused = |settings: Settings| settings.resolve(None).unwrap_err().to_string();
    for fraction in [1.0, 1.5, -0.1, f64::NAN, f64::INFINITY] {
        let error = refused(moons(100, fraction, 0));
        assert!(
            error.contains("the held-out fraction must be a number from 0 up to (not including) 1"),
            "{fraction}: {error}"
        );
    }
    // round(0.9·3) = 3 of 3.
    assert!(
        refused(moons(3, 0.9, 0))
            .contains("holding out 0.9 of 3 points leaves no point to train on")
    );
}

#[test]
fn holding_points_out_changes_neither_the_points_nor_the_initial_weights() {
    let whole = moons(100, 0.0, 5).resolve(None).unwrap();
    let split = moons(100, 0.3, 5).resolve(None).unwrap();
    // The points drawn are the dataset's own for the seed.
    let drawn = BuiltIn::Moons.data_with(100, 0.1, 5);
    assert_eq!(whole.preset.data, drawn);
    let points = split.points();
    let held: Vec<usize> = (0..100).filter(|&i| points[i].held_out).collect();
    assert_eq!(held, split.held_out);
    let mut train = Dataset {
        x: Vec::new(),
        y: Vec::new(),
    };
    let mut test = train.clone();
    for (i, point) in points.iter().enumerate() {
        assert_eq!((point.x, point.y), (&drawn.x[i][..], drawn.y[i]));
        let side = if point.held_out {
            &mut test
        } else {
            &mut train
        };
        side.x.push(drawn.x[i].clone());
        side.y.push(drawn.y[i]);
    }
    assert_eq!(split.preset.data, train);
    assert_eq!(split.test, Some(test));
    assert_eq!(whole.model().weights(), split.model().weights());
}

#[test]
fn the_held_out_points_follow_the_seed() {
    let held = |seed: u64| moons(100, 0.2, seed).resolve(None).unwrap().held_out;
    assert_eq!(held(3), held(3));
    let sets: Vec<Vec<usize>> = (0..6).map(held).collect();
    for (a, set) in sets.iter().enumerate() {
        for other in &sets[a + 1..] {
            assert_ne!(set, other);
        }
    }
    // Which points depends on their number, the fraction and the seed
    // alone: the same places in any data of 100 points.
    let spiral = Settings {
        dataset: Some(DatasetName::BuiltIn(BuiltIn::Spiral)),
        ..moons(100, 0.2, 3)
    };
    assert_eq!(spiral.resolve(None).unwrap().held_out, held(3));
}

#[test]
fn a_class_held_out_whole_is_refused() {
    // Four points, two held out: where both are of one class, the other
    // class is all that trains.
    let upload = |y: Vec<f64>, seed: u64| {
        let data = Dataset {
            x: vec![
                vec![0.0, 0.0],
                vec![1.0, 0.0],
                vec![0.0, 1.0],
                vec![1.0, 1.0],
            ],
            y,
        };
        let settings = Settings {
            dataset: Some(DatasetName::Upload),
            test: Some(0.5),
            seed: Some(seed),
            ..Settings::default()
        };
        settings.resolve(Some(("four.csv", &data)))
    };
    let (mut refused, mut kept) = (0, 0);
    for seed in 0..20 {
        // The places held out, from data that any split trains (a regression).
        let held = upload(vec![0.5, 1.5, 2.5, 3.5], seed).unwrap().held_out;
        let labels = [-1.0, -1.0, 1.0, 1.0];
        match upload(labels.to_vec(), seed) {
            Ok(setup) => {
                assert_ne!(labels[held[0]], labels[held[1]], "seed {seed}");
                assert_eq!(setup.preset.data.classes(), [-1.0, 1.0]);
                kept += 1;
            }
            Err(e) => {
                assert_eq!(labels[held[0]], labels[held[1]], "seed {seed}");
                let gone = labels[held[0]];
                assert_eq!(
                    e.to_string(),
                    format!(
                        "the 2 held-out points take every point labelled {gone}: the 2 training \
                         points cannot train the same model; hold out fewer points, or use more"
                    )
                );
                refused += 1;
            }
        }
    }
    // Both happen: 2 of the 6 pairs are of one class.
    assert!(refused > 0 && kept > 0, "{refused} refused, {kept} kept");
}

/// A linear model `w·x + b` with these numbers: micrograd's output layer
/// is linear.
fn linear(w: [f64; 2], b: f64) -> MLP {
    MLP::from_weights(&Weights {
        layers: vec![LayerWeights {
            w: vec![w.to_vec()],
            b: vec![b],
            activation: Activation::Linear,
        }],
    })
}

#[test]
fn a_step_measures_the_held_out_points_before_its_update_without_the_penalties() {
    // w = (0.5, -0.25), b = 0.125: every number below is exact in binary.
    let train = Dataset {
        x: vec![vec![1.0, 0.0], vec![0.0, 1.0]],
        y: vec![1.0, -1.0],
    };
    let test = Dataset {
        x: vec![
            vec![2.0, 2.0],
            vec![-2.0, 0.0],
            vec![0.0, -4.0],
            vec![0.0, 0.0],
        ],
        y: vec![1.0, -1.0, -1.0, 1.0],
    };
    let config = TrainConfig {
        loss: Loss::Svm,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        schedule: Schedule::Constant(1.0),
        l2: 0.5,
        l1: 0.25,
        batch: None,
        seed: 0,
        batching: Batching::Lanes,
        threads: Some(1),
    };
    for batching in [Batching::Lanes, Batching::PerPoint] {
        let model = linear([0.5, -0.25], 0.125);
        let config = TrainConfig {
            batching,
            ..config.clone()
        };
        let mut trainer = Trainer::new(&model, &train, &config)
            .unwrap()
            .with_test(&test)
            .unwrap();
        let record = trainer.step().unwrap();
        // Training scores 0.625 and -0.125: hinges 1 - 0.625 = 0.375 and
        // 1 - 0.125 = 0.875, mean 0.625; L2 0.5·(0.25 + 0.0625 + 0.015625)
        // = 0.1640625; L1 0.25·(0.5 + 0.25 + 0.125) = 0.21875.
        assert_eq!(record.loss, 0.625 + 0.1640625 + 0.21875, "{batching:?}");
        assert_eq!(record.accuracy, Some(1.0));
        // Held out, scores 0.625, -0.875, 1.125 and 0.125: hinges 0.375,
        // 0.125, 2.125 (the one misclassified) and 0.875; mean 3.5/4, no
        // penalty.
        assert_eq!(record.test_loss, Some(0.875), "{batching:?}");
        assert_eq!(record.test_accuracy, Some(0.75), "{batching:?}");
        // The update, with lr 1: both hinges are active, so the data
        // gradient is the mean of -y·x, (-0.5, 0.5) and 0 for b; L2 adds
        // 2·0.5·p = p, L1 0.25·sign(p).
        let p: Vec<f64> = model.parameters().iter().map(|v| v.data()).collect();
        assert_eq!(
            p,
            [
                0.5 - (-0.5 + 0.5 + 0.25),
                -0.25 - (0.5 - 0.25 - 0.25),
                0.125 - (0.125 + 0.25)
            ],
            "{batching:?}"
        );
        // The next step measures the updated model: w = (0.25, -0.25),
        // b = -0.25 scores the held-out points 0.5 - 0.5 - 0.25 = -0.25,
        // -0.75, 1 - 0.25 = 0.75 and -0.25: hinges 1.25, 0.25, 1.75, 1.25,
        // mean 1.125; only (-2, 0) is right.
        let next = trainer.step().unwrap();
        assert_eq!(next.test_loss, Some(1.125), "{batching:?}");
        assert_eq!(next.test_accuracy, Some(0.25), "{batching:?}");
    }
    // Without held-out points, nothing is measured.
    let model = linear([0.5, -0.25], 0.125);
    let record = Trainer::new(&model, &train, &config)
        .unwrap()
        .step()
        .unwrap();
    assert_eq!((record.test_loss, record.test_accuracy), (None, None));
}

#[test]
fn a_regressions_held_out_loss_is_its_mean_squared_error_and_no_accuracy() {
    let model = linear([1.0, 2.0], 0.0);
    let train = Dataset {
        x: vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]],
        y: vec![1.5, 1.5, 2.5],
    };
    // Predictions 3 and -1 against 1 and 0.5: errors 2 and -1.5, mean of
    // squares (4 + 2.25)/2.
    let test = Dataset {
        x: vec![vec![1.0, 1.0], vec![1.0, -1.0]],
        y: vec![1.0, 0.5],
    };
    let config = TrainConfig {
        loss: Loss::Mse,
        l2: 0.0,
        ..TrainConfig::micrograd_demo(1)
    };
    let mut trainer = Trainer::new(&model, &train, &config)
        .unwrap()
        .with_test(&test)
        .unwrap();
    let record = trainer.step().unwrap();
    assert_eq!(
        (record.test_loss, record.test_accuracy),
        (Some(3.125), None)
    );
    assert_eq!(record.accuracy, None);
}

#[test]
fn held_out_points_must_fit_the_model_and_its_classes() {
    let model = linear([1.0, 1.0], 0.0);
    let train = Dataset {
        x: vec![vec![1.0, 0.0], vec![0.0, 1.0]],
        y: vec![1.0, -1.0],
    };
    let config = TrainConfig::micrograd_demo(1);
    let trainer = || Trainer::new(&model, &train, &config).unwrap();
    let error = |test: &Dataset| trainer().with_test(test).err().unwrap().to_string();
    let three = Dataset {
        x: vec![vec![1.0, 2.0, 3.0]],
        y: vec![1.0],
    };
    assert_eq!(
        error(&three),
        "the held-out points have 3 features each, the model takes 2 inputs"
    );
    let other = Dataset {
        x: vec![vec![1.0, 2.0]],
        y: vec![7.0],
    };
    assert!(error(&other).starts_with("held-out points: sample 1 has label 7"));
    let none = Dataset {
        x: Vec::new(),
        y: Vec::new(),
    };
    assert_eq!(error(&none), "there are no held-out points");
}

#[test]
fn l1_weighs_the_absolute_parameters_and_zero_adds_nothing() {
    let data = micrograd::data::moons(40, 0.1, 2);
    let run = |l1: f64| {
        let model = MLP::builder(2, &[8, 1]).seed(1).build();
        let config = TrainConfig {
            l1,
            ..TrainConfig::micrograd_demo(5)
        };
        let mut trainer = Trainer::new(&model, &data, &config).unwrap();
        let records: Vec<_> = (0..5).map(|_| trainer.step().unwrap()).collect();
        (records, model.weights())
    };
    // L1 of 0 builds no node: the bits of a run without it, node counts too.
    let without = {
        let model = MLP::builder(2, &[8, 1]).seed(1).build();
        let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(5)).unwrap();
        let records: Vec<_> = (0..5).map(|_| trainer.step().unwrap()).collect();
        (records, model.weights())
    };
    assert_eq!(run(0.0), without);
    // L1's share of the first step's loss is l1·Σ|p| of the initial weights.
    let initial = MLP::builder(2, &[8, 1]).seed(1).build();
    let sum_abs: f64 = initial.parameters().iter().map(|p| p.data().abs()).sum();
    let (with, _) = run(0.01);
    let share = with[0].loss - without.0[0].loss;
    assert!(
        (share - 0.01 * sum_abs).abs() < 1e-14,
        "{share} vs {}",
        0.01 * sum_abs
    );
}

#[test]
fn resolved_settings_read_back_as_themselves() {
    let cases = [
        Settings::default(),
        Settings {
            dataset: Some(DatasetName::BuiltIn(BuiltIn::Xor)),
            points: Some(80),
            noise: Some(0.1),
            test: Some(0.3),
            features: Some("x1,x2,x1*x2,sin(x1)".parse().unwrap()),
            l1: Some(0.001),
            seed: Some(9),
            ..Settings::default()
        },
        Settings {
            dataset: Some(DatasetName::BuiltIn(BuiltIn::MultiGaussian)),
            points: Some(50),
            test: Some(0.2),
            hidden: Some(Hidden(vec![4])),
            batch: Some(10),
            ..Settings::default()
        },
        Settings {
            dataset: Some(DatasetName::Lecture),
            features: Some(Features::default()),
            l1: Some(0.0),
            ..Settings::default()
        },
        Settings {
            dataset: Some(DatasetName::Demo),
            test: Some(0.1),
            ..Settings::default()
        },
    ];
    for settings in cases {
        let setup = settings.resolve(None).unwrap();
        // Every field decided but those that do not apply.
        let decided = &setup.settings;
        assert!(decided.seed.is_some() && decided.l1.is_some() && decided.l2.is_some());
        let json = serde_json::to_string(decided).unwrap();
        let read: Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(&read, decided, "{json}");
        let again = read.resolve(None).unwrap();
        assert_eq!(&again.settings, decided, "{json}");
        assert_eq!(again.preset.data, setup.preset.data, "{json}");
        assert_eq!(again.test, setup.test, "{json}");
        assert_eq!(again.held_out, setup.held_out, "{json}");
        let (a, b) = (&again.preset.config, &setup.preset.config);
        assert_eq!(
            (a.loss, a.l2, a.l1, a.batch, a.seed),
            (b.loss, b.l2, b.l1, b.batch, b.seed)
        );
    }
}

#[test]
fn tensorflow_playgrounds_datasets_train_with_their_presets() {
    // A fifth of the points held out, seed 0.
    let trained = |builtin: BuiltIn| {
        let settings = Settings {
            dataset: Some(DatasetName::BuiltIn(builtin)),
            test: Some(0.2),
            ..Settings::default()
        };
        let setup = settings.resolve(None).unwrap();
        let model = setup.model();
        let mut trainer = setup.trainer(&model).unwrap();
        let last = trainer.run(setup.preset.steps, |_| {}).unwrap();
        (setup, last)
    };
    for (builtin, mark) in [(BuiltIn::Xor, 0.95), (BuiltIn::Gaussian, 1.0)] {
        let (setup, last) = trained(builtin);
        assert_eq!(setup.preset.config.loss, Loss::Svm);
        assert_eq!((setup.preset.data.len(), setup.held_out.len()), (400, 100));
        let (train, test) = (last.accuracy.unwrap(), last.test_accuracy.unwrap());
        assert!(
            train >= mark && test >= mark,
            "{builtin}: {train}, held out {test}"
        );
    }
    // Regressions: the held-out loss well below the constant predictor's,
    // the held-out targets' variance (the mean squared error of their mean).
    for (builtin, times) in [(BuiltIn::Plane, 20.0), (BuiltIn::MultiGaussian, 4.0)] {
        let (setup, last) = trained(builtin);
        assert_eq!(setup.preset.config.loss, Loss::Mse);
        assert_eq!((setup.preset.data.len(), setup.held_out.len()), (960, 240));
        let y = &setup.test.as_ref().unwrap().y;
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let variance = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / y.len() as f64;
        let loss = last.test_loss.unwrap();
        assert_eq!(last.test_accuracy, None);
        assert!(
            loss * times < variance,
            "{builtin}: held-out loss {loss}, variance {variance}"
        );
    }
}
