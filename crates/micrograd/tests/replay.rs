//! A replayed step (`Batching::Replay`) against the same step built every
//! time (`Batching::Lanes`): every loss, accuracy and parameter, bit for
//! bit, step after step, for every loss it replays, every activation,
//! penalties, optimizers, minibatches, batches of several chunks, and any
//! thread count.

#![cfg(feature = "nn")]

use micrograd::data::{self, Dataset};
use micrograd::nn::{Activation, Loss, MLP, Module, OptimizerKind, Schedule};
use micrograd::train::{Batching, StepRecord, TrainConfig, Trainer};

/// Every step's record and the parameters after the last, as bits.
fn train(
    data: &Dataset,
    model: impl Fn() -> MLP,
    config: &TrainConfig,
    steps: usize,
) -> (Vec<[Option<u64>; 3]>, Vec<u64>, bool) {
    let model = model();
    let mut trainer = Trainer::new(&model, data, config).unwrap();
    let replays = trainer.replays();
    let bits = |r: &StepRecord| {
        [
            Some(r.loss.to_bits()),
            r.accuracy.map(f64::to_bits),
            Some(r.lr.to_bits()),
        ]
    };
    let records = (0..steps).map(|_| bits(&trainer.step().unwrap())).collect();
    let params = model
        .parameters()
        .iter()
        .map(|p| p.data().to_bits())
        .collect();
    (records, params, replays)
}

/// Trains once replayed and once built, and asserts the same bits.
fn same_bits(what: &str, data: &Dataset, model: impl Fn() -> MLP, config: TrainConfig) {
    let steps = 30;
    let replayed = TrainConfig {
        batching: Batching::Replay,
        ..config.clone()
    };
    let built = TrainConfig {
        batching: Batching::Lanes,
        ..config
    };
    let (r_records, r_params, replays) = train(data, &model, &replayed, steps);
    let (b_records, b_params, built_replays) = train(data, &model, &built, steps);
    assert!(replays, "{what}: the step is replayed");
    assert!(!built_replays, "{what}: Batching::Lanes builds every step");
    for (step, (r, b)) in r_records.iter().zip(&b_records).enumerate() {
        assert_eq!(r, b, "{what}: step {step}'s loss, accuracy and lr");
    }
    assert!(
        r_params == b_params,
        "{what}: the parameters after {steps} steps differ"
    );
}

fn config(loss: Loss) -> TrainConfig {
    TrainConfig {
        loss,
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        schedule: Schedule::Constant(0.05),
        l2: 1e-4,
        l1: 0.0,
        batch: None,
        seed: 7,
        batching: Batching::Replay,
        threads: Some(1),
    }
}

fn model(widths: &'static [usize], activation: Activation) -> impl Fn() -> MLP {
    move || {
        MLP::builder(2, widths)
            .activation(activation)
            .seed(3)
            .build()
    }
}

#[test]
fn micrograd_demo_replayed_is_built_bit_for_bit() {
    let data = data::moons(100, 0.1, 1);
    let steps = 100;
    same_bits(
        "micrograd's demo",
        &data,
        || MLP::new(2, &[16, 16, 1]),
        TrainConfig::micrograd_demo(steps),
    );
}

#[test]
fn every_replayed_loss_and_activation_gives_the_built_bits() {
    let moons = data::moons(150, 0.1, 2);
    let plane = data::plane(150, 0.1, 4);
    for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
        for loss in [Loss::Svm, Loss::Bce] {
            let what = format!("{loss} with {}", activation.name());
            same_bits(&what, &moons, model(&[8, 5, 1], activation), config(loss));
        }
        for loss in [Loss::Mse, Loss::SumSquares] {
            let what = format!("{loss} with {}", activation.name());
            let config = TrainConfig {
                schedule: Schedule::Constant(0.002),
                ..config(loss)
            };
            same_bits(&what, &plane, model(&[8, 5, 1], activation), config);
        }
    }
}

#[test]
fn penalties_optimizers_and_minibatches_replay_the_built_bits() {
    let data = data::moons(300, 0.2, 5);
    for (optimizer, l2, l1, batch) in [
        (OptimizerKind::Adam, 0.0, 1e-3, Some(64)),
        (OptimizerKind::Sgd { momentum: 0.0 }, 1e-3, 1e-4, Some(33)),
        (OptimizerKind::Adam, 1e-4, 0.0, None),
    ] {
        let config = TrainConfig {
            optimizer,
            l2,
            l1,
            batch,
            ..config(Loss::Svm)
        };
        let what = format!("{optimizer:?}, l2 {l2}, l1 {l1}, batch {batch:?}");
        same_bits(&what, &data, model(&[16, 16, 1], Activation::Relu), config);
    }
}

#[test]
fn batches_of_several_chunks_on_any_thread_count_replay_the_built_bits() {
    // 1,100 points: five chunks of 220; a minibatch of 700: three of 233
    // and 234 (unequal, so the rows' padding changes from chunk to chunk).
    let data = data::moons(1100, 0.1, 3);
    for threads in [1, 2, 3] {
        for batch in [None, Some(700)] {
            let config = TrainConfig {
                threads: Some(threads),
                batch,
                ..TrainConfig::micrograd_demo(30)
            };
            let what = format!("{threads} threads, batch {batch:?}");
            same_bits(&what, &data, || MLP::new(2, &[16, 16, 1]), config);
        }
    }
}

#[test]
fn the_output_layers_activation_and_deep_models_replay_too() {
    let data = data::moons(120, 0.1, 6);
    let deep = || {
        MLP::builder(2, &[7, 9, 6, 4, 1])
            .activation(Activation::Tanh)
            .output_activation(Activation::Sigmoid)
            .seed(11)
            .build()
    };
    same_bits(
        "a deep model, sigmoid output",
        &data,
        deep,
        config(Loss::Mse),
    );
}

#[test]
fn the_softmax_cross_entropy_replays_the_built_bits() {
    // Its graph reads each lane's largest logit while it is built: the
    // program computes it each step. 900 points: four chunks.
    let data = data::spiral(300, 3, 0.2, 1);
    for activation in [Activation::Relu, Activation::Tanh] {
        for threads in [1, 2] {
            let config = TrainConfig {
                optimizer: OptimizerKind::Adam,
                schedule: Schedule::Constant(0.01),
                threads: Some(threads),
                ..config(Loss::SoftmaxCe)
            };
            let model = move || {
                MLP::builder(2, &[12, 10, 3])
                    .activation(activation)
                    .seed(4)
                    .build()
            };
            let what = format!("softmax with {}, {threads} threads", activation.name());
            same_bits(&what, &data, model, config);
        }
    }
}

#[test]
fn what_cannot_be_replayed_is_built_and_says_so() {
    // A layer whose neurons differ: built.
    let moons = data::moons(40, 0.1, 1);
    let mut model = MLP::new(2, &[4, 1]);
    model.layers[0].neurons[1].activation = Activation::Tanh;
    let trainer = Trainer::new(&model, &moons, &config(Loss::Svm)).unwrap();
    assert!(!trainer.replays(), "a layer of mixed activations is built");
    // It still trains, the same as built.
    let mut trainer = trainer;
    assert!(trainer.step().unwrap().loss.is_finite());
}

#[test]
fn held_out_scores_replayed_are_the_built_bits() {
    let all = data::moons(700, 0.2, 9);
    let (train, test) = (
        Dataset {
            x: all.x[..300].to_vec(),
            y: all.y[..300].to_vec(),
        },
        // 400 held-out points: two chunks.
        Dataset {
            x: all.x[300..].to_vec(),
            y: all.y[300..].to_vec(),
        },
    );
    let run = |batching: Batching| {
        let model = MLP::new(2, &[16, 16, 1]);
        let config = TrainConfig {
            batching,
            ..TrainConfig::micrograd_demo(20)
        };
        let mut trainer = Trainer::new(&model, &train, &config)
            .unwrap()
            .with_test(&test)
            .unwrap();
        (0..20)
            .map(|_| {
                let r = trainer.step().unwrap();
                (
                    r.test_loss.map(f64::to_bits),
                    r.test_accuracy.map(f64::to_bits),
                )
            })
            .collect::<Vec<_>>()
    };
    let (replayed, built) = (run(Batching::Replay), run(Batching::Lanes));
    assert!(replayed.iter().all(|(l, a)| l.is_some() && a.is_some()));
    assert_eq!(replayed, built, "held-out loss and accuracy, step by step");
}

#[test]
fn fused_mode_gives_one_set_of_bits_for_any_thread_count_near_the_exact_ones() {
    // 1,100 points: five chunks; 64 wide, so the products are long sums.
    let data = data::moons(1100, 0.1, 3);
    let run = |batching: Batching, threads: usize| {
        let config = TrainConfig {
            batching,
            threads: Some(threads),
            ..TrainConfig::micrograd_demo(10)
        };
        train(&data, || MLP::new(2, &[64, 64, 1]), &config, 10)
    };
    let fused = run(Batching::Fused, 1);
    assert!(fused.2, "the fused step is replayed");
    for threads in [2, 3] {
        assert!(
            run(Batching::Fused, threads) == fused,
            "fused, {threads} threads: other bits than 1 thread"
        );
    }
    // A fused multiply-add rounds once where the graph rounds twice: the
    // losses agree closely, and are not all the same bits.
    let exact = run(Batching::Replay, 1);
    let loss = |r: &[Option<u64>; 3]| f64::from_bits(r[0].unwrap());
    for (f, e) in fused.0.iter().zip(&exact.0) {
        let (f, e) = (loss(f), loss(e));
        assert!((f - e).abs() <= 1e-12 * e.abs(), "fused {f}, exact {e}");
    }
    assert!(
        fused.1 != exact.1,
        "fused multiply-adds changed no bit of 10 steps' parameters"
    );
}

#[test]
fn fused_scores_are_what_the_next_fused_step_records() {
    // Full batches: a step's batch is every point, as the scores'. The
    // fused penalty (eight running sums) is the same in both.
    let data = data::moons(300, 0.1, 4);
    let model = MLP::new(2, &[32, 32, 1]);
    let config = TrainConfig {
        batching: Batching::Fused,
        ..TrainConfig::micrograd_demo(20)
    };
    let mut trainer = Trainer::new(&model, &data, &config).unwrap();
    for _ in 0..5 {
        let scores = trainer.scores();
        let record = trainer.step().unwrap();
        assert_eq!(scores.loss.to_bits(), record.loss.to_bits());
        assert_eq!(scores.accuracy, record.accuracy);
    }
}

/// The parameters' data and gradients, as bits.
fn params_and_grads(model: &MLP) -> Vec<(u64, u64)> {
    model
        .parameters()
        .iter()
        .map(|p| (p.data().to_bits(), p.grad().to_bits()))
        .collect()
}

#[test]
fn a_loop_of_steps_is_the_steps_one_by_one() {
    let all = data::moons(700, 0.2, 5);
    let (train, test) = (
        Dataset {
            x: all.x[..600].to_vec(),
            y: all.y[..600].to_vec(),
        },
        Dataset {
            x: all.x[600..].to_vec(),
            y: all.y[600..].to_vec(),
        },
    );
    let demo = TrainConfig::micrograd_demo(30);
    for (what, config) in [
        ("replayed", demo.clone()),
        (
            "fused, 2 threads, minibatches, adam",
            TrainConfig {
                batching: Batching::Fused,
                threads: Some(2),
                batch: Some(300),
                optimizer: OptimizerKind::Adam,
                ..demo.clone()
            },
        ),
        (
            "momentum, no penalty",
            TrainConfig {
                optimizer: OptimizerKind::Sgd { momentum: 0.9 },
                l2: 0.0,
                ..demo.clone()
            },
        ),
        // Not kept in the numbers: written every step, as ever.
        (
            "l1",
            TrainConfig {
                l1: 1e-4,
                ..demo.clone()
            },
        ),
        (
            "built",
            TrainConfig {
                batching: Batching::Lanes,
                ..demo.clone()
            },
        ),
        (
            "per point",
            TrainConfig {
                batching: Batching::PerPoint,
                ..demo.clone()
            },
        ),
    ] {
        let (a, b) = (MLP::new(2, &[16, 16, 1]), MLP::new(2, &[16, 16, 1]));
        let mut looped = Trainer::new(&a, &train, &config)
            .unwrap()
            .with_test(&test)
            .unwrap();
        let mut stepped = Trainer::new(&b, &train, &config)
            .unwrap()
            .with_test(&test)
            .unwrap();
        for (steps, change) in [(12, false), (1, true), (17, false)] {
            if change {
                // The user's own change between loops is read by the next.
                a.parameters()[3].set_data(0.25);
                b.parameters()[3].set_data(0.25);
            }
            let last = looped.run_loop(steps).unwrap();
            assert_eq!(last, stepped.run(steps, |_| {}).unwrap(), "{what}");
            assert_eq!(params_and_grads(&a), params_and_grads(&b), "{what}");
        }
        assert_eq!(looped.steps_taken(), 30);
        assert_eq!(looped.scores(), stepped.scores(), "{what}");
    }
}

#[test]
fn a_loop_that_diverges_leaves_the_model_as_the_steps_do() {
    let moons = data::moons(20, 0.1, 3);
    let far = Dataset::new(vec![vec![1.0]], vec![1000.0]).unwrap();
    let demo = TrainConfig::micrograd_demo(1);
    let cases = [
        // At 1e308 the first update leaves weights near 1e308, whose loss
        // at the next step is not a number: found from the graph, after a
        // step kept in the numbers.
        (
            &moons,
            &[16, 16, 1][..],
            TrainConfig {
                schedule: Schedule::Constant(1e308),
                ..demo.clone()
            },
            "the loss is",
        ),
        // One linear neuron, squared error against 1000 (d/dw about -2000):
        // a small first step, then a rate of 1e306 sends w past f64::MAX.
        (
            &far,
            &[1][..],
            TrainConfig {
                loss: Loss::Mse,
                l2: 0.0,
                schedule: Schedule::Linear {
                    start: 0.01,
                    decay: -1e306,
                    steps: 1,
                },
                ..demo.clone()
            },
            "the update made",
        ),
    ];
    for (data, widths, config, says) in cases {
        let nin = data.dim();
        let (a, b) = (MLP::new(nin, widths), MLP::new(nin, widths));
        let mut looped = Trainer::new(&a, data, &config).unwrap();
        let mut stepped = Trainer::new(&b, data, &config).unwrap();
        let looped_error = looped.run_loop(5).unwrap_err().to_string();
        let stepped_error = stepped.run(5, |_| {}).unwrap_err().to_string();
        assert_eq!(looped_error, stepped_error);
        assert!(looped_error.contains(says), "{looped_error}");
        assert_eq!(looped.steps_taken(), 1, "{looped_error}");
        assert_eq!(stepped.steps_taken(), 1);
        // The parameters and their gradients (the last step's taken).
        assert_eq!(params_and_grads(&a), params_and_grads(&b), "{says}");
        assert!(a.parameters().iter().all(|p| p.data().is_finite()));
    }
}
