//! The training loop: what it checks, what it records, determinism,
//! minibatches, divergence, and the built-in datasets' settings.

#![cfg(feature = "nn")]

use micrograd::Error;
use micrograd::data::{self, Dataset};
use micrograd::nn::loss::Targets;
use micrograd::nn::{Loss, MLP, Module, OptimizerKind, Schedule};
use micrograd::train::{Batching, BuiltIn, Task, TrainConfig, Trainer};

fn config(loss: Loss) -> TrainConfig {
    TrainConfig {
        loss,
        optimizer: OptimizerKind::Adam,
        schedule: Schedule::Constant(0.01),
        l2: 0.0,
        l1: 0.0,
        batch: None,
        seed: 0,
        batching: Batching::Lanes,
        threads: None,
    }
}

#[test]
fn the_data_must_fit_the_loss_and_the_model() {
    let three = data::blobs(30, 3, 1.0, 0);
    let model = MLP::new(2, &[4, 1]);
    let err = Trainer::new(&model, &three, &config(Loss::Svm))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "the svm loss needs exactly two classes; the targets have 3 distinct values (0, 1, 2)"
    );
    let err = Trainer::new(&model, &three, &config(Loss::SoftmaxCe))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "the softmax loss on this data needs 3 outputs, the model has 1"
    );
    let wide = MLP::new(3, &[4, 3]);
    let err = Trainer::new(&wide, &three, &config(Loss::SoftmaxCe))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "the data has 2 features per sample, the model takes 3 inputs"
    );
    let zero_batch = TrainConfig {
        batch: Some(0),
        ..config(Loss::SoftmaxCe)
    };
    assert!(Trainer::new(&MLP::new(2, &[3]), &three, &zero_batch).is_err());
}

#[test]
fn targets_are_read_as_the_loss_needs() {
    let d = Dataset::new(vec![vec![0.0]; 3], vec![5.0, 7.0, 5.0]).unwrap();
    assert_eq!(
        Task::for_loss(Loss::Svm, &d).unwrap(),
        Task::binary(5.0, 7.0).unwrap()
    );
    assert_eq!(Task::for_loss(Loss::Mse, &d).unwrap(), Task::Regression);
    let task = Task::for_loss(Loss::SoftmaxCe, &d).unwrap();
    assert_eq!(task.outputs(), 2);
    assert_eq!(task.predict([0.1, 0.9]), 7.0);
    assert_eq!(Task::binary(5.0, 7.0).unwrap().predict([-0.2]), 5.0);
    // An output beyond the classes predicts no class.
    assert!(task.predict([0.1, 0.2, 0.9]).is_nan());

    // A 5/7 labelled set trains with the SVM loss exactly as a -1/+1 one.
    let moons = data::moons(40, 0.1, 3);
    let relabelled = Dataset::new(
        moons.x.clone(),
        moons
            .y
            .iter()
            .map(|&y| if y > 0.0 { 7.0 } else { 5.0 })
            .collect(),
    )
    .unwrap();
    let run = |d: &Dataset| {
        let model = MLP::new(2, &[8, 1]);
        let mut t = Trainer::new(&model, d, &TrainConfig::micrograd_demo(10)).unwrap();
        t.run(10, |_| {}).unwrap()
    };
    assert_eq!(run(&moons), run(&relabelled));
}

#[test]
fn a_step_records_the_loss_before_its_update() {
    let d = data::moons(50, 0.1, 1);
    let model = MLP::new(2, &[8, 1]);
    let cfg = TrainConfig::micrograd_demo(5);
    // The loss by hand, from the untrained model: micrograd's formula.
    let scores: Vec<f64> = d.x.iter().map(|x| model.weights().predict(x)[0]).collect();
    let data_loss = scores
        .iter()
        .zip(&d.y)
        .map(|(s, y)| (1.0 - y * s).max(0.0))
        .sum::<f64>()
        / 50.0;
    let reg: f64 = model.parameters().iter().map(|p| p.data() * p.data()).sum();
    let accuracy = scores
        .iter()
        .zip(&d.y)
        .filter(|(s, y)| (**s > 0.0) == (**y > 0.0))
        .count() as f64
        / 50.0;

    let mut t = Trainer::new(&model, &d, &cfg).unwrap();
    let r = t.step().unwrap();
    assert!((r.loss - (data_loss + 1e-4 * reg)).abs() < 1e-12);
    assert_eq!((r.step, r.accuracy, r.lr), (0, Some(accuracy), 1.0));
    assert_eq!(t.steps_taken(), 1);
    assert!(model.parameters().iter().any(|p| p.grad() != 0.0));
}

#[test]
fn training_is_deterministic_and_minibatches_follow_the_seed() {
    let d = data::spiral(30, 3, 0.2, 0);
    let run = |seed: u64| {
        let model = MLP::new(2, &[8, 3]);
        let cfg = TrainConfig {
            batch: Some(16),
            seed,
            ..config(Loss::SoftmaxCe)
        };
        let mut t = Trainer::new(&model, &d, &cfg).unwrap();
        let losses: Vec<f64> = (0..20).map(|_| t.step().unwrap().loss).collect();
        (losses, model.weights())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).0, run(2).0);
}

#[test]
fn a_diverging_loss_stops_with_the_step_and_leaves_the_model() {
    // Plain SGD at a huge rate on squared error explodes within a few steps.
    let d = Dataset::new(
        vec![vec![1.0], vec![2.0], vec![3.0]],
        vec![10.0, 20.0, 30.0],
    )
    .unwrap();
    let model = MLP::new(1, &[4, 1]);
    let cfg = TrainConfig {
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        schedule: Schedule::Constant(1e3),
        ..config(Loss::Mse)
    };
    let mut t = Trainer::new(&model, &d, &cfg).unwrap();
    let mut failure = None;
    for _ in 0..50 {
        let before = model.weights();
        match t.step() {
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                assert_eq!(model.weights(), before, "the failed step changed the model");
                break;
            }
        }
    }
    let Some(Error::Diverged { step, message }) = failure else {
        panic!("the run never diverged")
    };
    assert_eq!(step, t.steps_taken());
    assert!(message.contains("try a smaller one"), "{message}");
}

#[test]
fn an_update_past_the_largest_float_names_the_parameter_and_undoes_itself() {
    // One linear neuron, squared error against 1000: d/dw = 2(wx + b - 1000)x
    // is about -2000, and lr = 1e306 sends w + 2e309 past f64::MAX.
    let d = Dataset::new(vec![vec![1.0]], vec![1000.0]).unwrap();
    for batching in [Batching::Replay, Batching::Lanes, Batching::PerPoint] {
        let model = MLP::new(1, &[1]);
        let cfg = TrainConfig {
            loss: Loss::Mse,
            schedule: Schedule::Constant(1e306),
            l2: 0.0,
            batching,
            ..TrainConfig::micrograd_demo(1)
        };
        let before = model.weights();
        let w = before.layers[0].w[0][0];
        let mut t = Trainer::new(&model, &d, &cfg).unwrap();
        let Err(Error::Diverged { step, message }) = t.step() else {
            panic!("the update was accepted")
        };
        assert_eq!((step, t.steps_taken()), (0, 0));
        assert_eq!(
            model.weights(),
            before,
            "{batching:?}: the model must be as it was"
        );
        let g = 2.0 * (w - 1000.0);
        assert_eq!(
            message,
            format!(
                "the update made layer 1, neuron 1, weight 1 inf (it was {w:?}, its gradient {g:?}, \
                 the learning rate 1e306): the learning rate is too large for these gradients; \
                 try a smaller one"
            )
        );
    }
}

#[test]
fn a_model_whose_outputs_overflow_is_caught_at_the_next_step_and_by_check_model() {
    // micrograd's demo at lr = 1e308: the update leaves weights near
    // ±1e308, finite, whose outputs are not.
    for batching in [Batching::Replay, Batching::Lanes, Batching::PerPoint] {
        let model = MLP::new(2, &[16, 16, 1]);
        let d = data::moons(20, 0.1, 3);
        let cfg = TrainConfig {
            schedule: Schedule::Constant(1e308),
            batching,
            ..TrainConfig::micrograd_demo(1)
        };
        let mut t = Trainer::new(&model, &d, &cfg).unwrap();
        t.step().unwrap();
        let Err(Error::Diverged { step: 1, message }) = t.check_model() else {
            panic!("a model with non-finite outputs passed")
        };
        assert!(
            message.starts_with("the model's output for sample "),
            "{message}"
        );
        let after_one = model.weights();
        let Err(Error::Diverged { step: 1, message }) = t.step() else {
            panic!("a non-finite loss was accepted")
        };
        assert!(message.starts_with("the loss is "), "{message}");
        assert!(message.contains("the learning rate is"), "{message}");
        assert_eq!(model.weights(), after_one);
    }
}

#[test]
fn a_loss_that_overflows_names_the_op_that_overflowed() {
    // Sum of squares on outputs near 1e200: the squares overflow at once.
    let d = Dataset::new(vec![vec![1e200], vec![-1e200]], vec![1.0, -1.0]).unwrap();
    for batching in [Batching::Lanes, Batching::PerPoint] {
        let model = MLP::new(1, &[1]);
        let cfg = TrainConfig {
            loss: Loss::SumSquares,
            l2: 0.0,
            batching,
            ..TrainConfig::micrograd_demo(1)
        };
        let mut t = Trainer::new(&model, &d, &cfg).unwrap();
        let Err(Error::Diverged { step: 0, message }) = t.step() else {
            panic!("an infinite loss was accepted")
        };
        assert!(
            message.starts_with("the loss is inf (first made by"),
            "{message}"
        );
        assert!(message.contains("before any update"), "{message}");
    }
}

#[test]
fn a_penalty_that_overflows_names_the_sum_of_squares_and_keeps_the_model() {
    // A weight of 1e200 on inputs of 1e-200: the outputs are near 1, the
    // data loss is a number, but the weight's square is past f64::MAX.
    let d = Dataset::new(vec![vec![1e-200], vec![-1e-200]], vec![1.0, -1.0]).unwrap();
    for batching in [Batching::Replay, Batching::Lanes, Batching::PerPoint] {
        let model = MLP::new(1, &[1]);
        model.parameters()[0].set_data(1e200);
        let before = model.weights();
        let cfg = TrainConfig {
            batching,
            ..TrainConfig::micrograd_demo(2)
        };
        let mut t = Trainer::new(&model, &d, &cfg).unwrap();
        let Err(Error::Diverged { step: 0, message }) = t.step() else {
            panic!("{batching:?}: an infinite penalty was accepted")
        };
        assert!(
            message.starts_with("the loss is inf (first made by a sum of squares"),
            "{batching:?}: {message}"
        );
        assert_eq!(model.weights(), before, "{batching:?}");
        assert_eq!(t.steps_taken(), 0);
    }
}

#[test]
fn every_built_in_dataset_trains_to_its_mark() {
    for (builtin, mark) in [
        (BuiltIn::Moons, 1.0),
        (BuiltIn::Circles, 1.0),
        (BuiltIn::Blobs, 0.95),
        (BuiltIn::Spiral, 0.95),
    ] {
        let preset = builtin.preset(0);
        let model = preset.model(0);
        let mut t = Trainer::new(&model, &preset.data, &preset.config).unwrap();
        let last = t.run(preset.steps, |_| {}).unwrap();
        let accuracy = last.accuracy.unwrap();
        assert!(
            accuracy >= mark,
            "{builtin}: accuracy {accuracy} after {} steps",
            preset.steps
        );
    }
}

#[test]
fn user_datasets_get_settings_from_their_targets() {
    use micrograd::train::Preset;
    let two = Preset::for_dataset(data::moons(20, 0.1, 0), 0).unwrap();
    assert_eq!(two.config.loss, Loss::Svm);
    let three = Preset::for_dataset(data::spiral(10, 3, 0.1, 0), 0).unwrap();
    assert_eq!(
        (three.config.loss, three.model(0).nouts().last().copied()),
        (Loss::SoftmaxCe, Some(3))
    );
    let real = Dataset::new(
        (0..30).map(|i| vec![f64::from(i)]).collect(),
        (0..30).map(|i| f64::from(i) * 0.1).collect(),
    )
    .unwrap();
    assert_eq!(Preset::for_dataset(real, 0).unwrap().config.loss, Loss::Mse);
}

#[test]
fn a_dataset_with_one_label_is_refused_as_nothing_to_learn() {
    // The program's `--data` and the playground's upload both take their
    // settings from here, so both refuse it alike.
    use micrograd::train::Preset;
    let same = Dataset::new(vec![vec![0.0], vec![1.0], vec![2.0]], vec![5.0; 3]).unwrap();
    let error = Preset::for_dataset(same, 0).unwrap_err().to_string();
    assert!(
        error.starts_with("every label is 5: there is nothing to learn"),
        "{error}"
    );
}

#[test]
fn squared_errors_on_plus_and_minus_one_train_a_classifier_as_the_lecture_does() {
    // The lecture: ys = [1, -1, -1, 1], loss = sum((yout - ygt)**2).
    let lecture = Dataset::new(
        vec![
            vec![2.0, 3.0, -1.0],
            vec![3.0, -1.0, 0.5],
            vec![0.5, 1.0, 1.0],
            vec![1.0, 1.0, -1.0],
        ],
        vec![1.0, -1.0, -1.0, 1.0],
    )
    .unwrap();
    for loss in [Loss::SumSquares, Loss::Mse] {
        let task = Task::for_loss(loss, &lecture).unwrap();
        assert_eq!(task, Task::binary(-1.0, 1.0).unwrap());
        assert!(task.is_classification());
    }
    let model = MLP::lecture(3, &[4, 4, 1], 0);
    let cfg = TrainConfig {
        loss: Loss::SumSquares,
        schedule: Schedule::Constant(0.05),
        l2: 0.0,
        ..TrainConfig::micrograd_demo(1)
    };
    let mut t = Trainer::new(&model, &lecture, &cfg).unwrap();
    // The loss is the sum of squares against the labels themselves.
    let outputs: Vec<f64> = lecture
        .x
        .iter()
        .map(|x| model.forward(x)[0].data())
        .collect();
    let expected: f64 = outputs
        .iter()
        .zip(&lecture.y)
        .map(|(o, y)| (o - y) * (o - y))
        .sum();
    let first = t.step().unwrap();
    assert!(
        (first.loss - expected).abs() < 1e-12,
        "{} vs {expected}",
        first.loss
    );
    assert!(first.accuracy.is_some());
    let last = t.run(200, |_| {}).unwrap();
    assert_eq!(last.accuracy, Some(1.0));
    // Other labels stay a regression.
    let zero_one = Dataset::new(vec![vec![0.0], vec![1.0]], vec![0.0, 1.0]).unwrap();
    assert_eq!(
        Task::for_loss(Loss::Mse, &zero_one).unwrap(),
        Task::Regression
    );
}

#[test]
fn classes_are_finite_distinct_and_increasing() {
    use micrograd::train::Classes;
    let three = Classes::new(vec![-1.0, 0.0, 2.5]).unwrap();
    assert_eq!(
        (three.len(), three.index_of(2.5), three.index_of(1.0)),
        (3, Some(2), None)
    );
    assert_eq!(three.to_string(), "-1, 0, 2.5");
    assert!(Classes::new(vec![1.0]).is_err());
    assert!(Classes::new(vec![0.0, f64::INFINITY]).is_err());
    assert!(Classes::new(vec![2.0, 1.0]).is_err());
    assert!(Classes::new(vec![1.0, 1.0]).is_err());
    // -0 and 0 are one label, as they are equal numbers.
    let labels = Classes::of(&[-0.0, 0.0, 1.0]).unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels.index_of(-0.0), Some(0));
    // A multiclass task predicts by class, and says when an output has none.
    let task = Task::Multiclass {
        classes: Classes::new(vec![3.0, 5.0]).unwrap(),
    };
    assert_eq!(task.class_of([0.2, 0.9]), Some(1));
    assert_eq!(task.class_of([0.2, 0.1, 0.9]), None);
}

#[test]
fn the_task_chosen_for_a_file_says_why() {
    use micrograd::train::Preset;
    let with = |y: Vec<f64>| {
        let x = (0..y.len()).map(|i| vec![i as f64]).collect();
        Dataset::new(x, y).unwrap()
    };
    let many = with((0..25).map(f64::from).collect());
    assert_eq!(
        Preset::for_dataset(many.clone(), 0).unwrap().config.loss,
        Loss::Mse
    );
    assert_eq!(
        Preset::reason(&many),
        "25 distinct integer labels (0, 1, 2, 3, 4, 5, ...): more than 20 read as numbers, \
         a regression (mean squared error); --loss softmax reads them as classes"
    );
    let three = with(vec![0.0, 1.0, 2.0, 1.0]);
    assert_eq!(
        Preset::reason(&three),
        "3 integer labels (0, 1, 2): 3 classes, one output each (softmax loss)"
    );
    let two = with(vec![5.0, 7.0, 5.0]);
    assert!(Preset::reason(&two).starts_with("2 distinct labels (5, 7): two classes"));
    let real = with(vec![0.5, 1.0, 2.0]);
    assert!(Preset::reason(&real).starts_with("labels with fractions (0.5, 1, 2): a regression"));
}

#[test]
fn a_history_keeps_evenly_spaced_steps_within_its_bound() {
    use micrograd::train::{History, StepRecord};
    let record = |step| StepRecord {
        step,
        loss: 1.0,
        accuracy: None,
        test_loss: None,
        test_accuracy: None,
        lr: 0.1,
        nodes: 0,
    };
    let mut history = History::new(4_096);
    for step in 0..40_960 {
        history.push(record(step));
    }
    // 40,960 steps in fewer than 4,096 records: every 16th step, 16 the
    // least power of two with 40,960 / 16 < 4,096; then the latest step.
    assert_eq!(history.every(), 16);
    let records = history.records();
    let (kept, last) = records.split_at(records.len() - 1);
    assert_eq!(kept.len(), 40_960 / 16);
    assert!(kept.iter().enumerate().all(|(i, r)| r.step == 16 * i));
    assert_eq!(last[0].step, 40_959);
}

#[test]
fn a_loss_that_cannot_read_the_labels_is_refused() {
    use micrograd::train::Classes;
    let binary = |lo: f64, hi: f64| Task::binary(lo, hi).unwrap();
    let three = Task::Multiclass {
        classes: Classes::new(vec![0.0, 1.0, 2.0]).unwrap(),
    };
    let two_outputs = Task::Multiclass {
        classes: Classes::new(vec![-1.0, 1.0]).unwrap(),
    };
    // (task, the losses that read its labels): the SVM loss and BCE score
    // two classes with one output, softmax k classes with k outputs, the
    // squared errors a value, or two classes only where the labels are the
    // -1 and 1 they compare the score with.
    let table = [
        (
            binary(-1.0, 1.0),
            vec![Loss::Svm, Loss::Bce, Loss::Mse, Loss::SumSquares],
        ),
        (binary(0.0, 1.0), vec![Loss::Svm, Loss::Bce]),
        (binary(5.0, 7.0), vec![Loss::Svm, Loss::Bce]),
        (binary(-1.0, 0.0), vec![Loss::Svm, Loss::Bce]),
        (three, vec![Loss::SoftmaxCe]),
        (two_outputs, vec![Loss::SoftmaxCe]),
        (Task::Regression, vec![Loss::Mse, Loss::SumSquares]),
    ];
    for (task, readers) in &table {
        for loss in Loss::ALL {
            let checked = task.check_loss(loss);
            assert_eq!(checked.is_ok(), readers.contains(&loss), "{task:?} {loss}");
            let Err(Error::Data(message)) = checked else {
                continue;
            };
            assert!(
                message.starts_with(&format!("the {loss} loss cannot read ")),
                "{message}"
            );
            // The same refusal where the labels become targets.
            let labels = task.classes().map_or(vec![0.5], |c| c.labels().to_vec());
            assert_eq!(
                task.targets(loss, &labels).unwrap_err().to_string(),
                message.clone()
            );
        }
    }
    assert_eq!(
        binary(0.0, 1.0)
            .check_loss(Loss::Mse)
            .unwrap_err()
            .to_string(),
        "the mse loss cannot read two classes (0, 1) as a score: it compares the score \
         with -1 and 1, which are not the labels; use the svm or bce loss, or labels -1 and 1"
    );
    assert_eq!(
        binary(-1.0, 1.0)
            .check_loss(Loss::SoftmaxCe)
            .unwrap_err()
            .to_string(),
        "the softmax loss cannot read two classes (-1, 1) scored by one output: it needs \
         an output per class; use the svm or bce loss, or a task of two classes with an output each"
    );
    assert_eq!(
        Task::Regression
            .check_loss(Loss::Svm)
            .unwrap_err()
            .to_string(),
        "the svm loss cannot read real-valued targets (a regression): it reads classes; \
         use the mse or sum-squares loss"
    );
}

#[test]
fn labels_become_class_indices_once() {
    let task = Task::binary(5.0, 7.0).unwrap();
    assert_eq!(
        task.targets(Loss::Bce, &[7.0, 5.0, 7.0]).unwrap(),
        Targets::Classes(vec![1, 0, 1])
    );
    assert_eq!(
        task.targets(Loss::Svm, &[5.0, 6.0])
            .unwrap_err()
            .to_string(),
        "sample 2 has label 6, which is not one of the classes (5, 7)"
    );
    assert_eq!(
        Task::Regression.targets(Loss::Mse, &[0.5, -2.0]).unwrap(),
        Targets::Values(vec![0.5, -2.0])
    );
    // Accuracy compares classes: 5 and 7 are classes 0 and 1, whatever
    // their values; a score of exactly 0 predicts class 0.
    let d = Dataset::new(vec![vec![-1.0], vec![1.0], vec![0.0]], vec![5.0, 7.0, 7.0]).unwrap();
    let model = MLP::new(1, &[1]);
    let neuron = &model.layers[0].neurons[0];
    neuron.w[0].set_data(1.0);
    neuron.b.set_data(0.0);
    assert_eq!(task.accuracy(&model.weights(), &d), Some(2.0 / 3.0));
}

#[test]
fn every_task_for_loss_makes_is_one_its_loss_reads() {
    // The refusal never stops a run that `for_loss` sets up: its tasks
    // are the rule's.
    let x = |n: usize| (0..n).map(|i| vec![i as f64]).collect::<Vec<_>>();
    let labels: [&[f64]; 6] = [
        &[-1.0, 1.0, 1.0],
        &[0.0, 1.0, 0.0],
        &[5.0, 7.0, 7.0],
        &[0.0, 1.0, 2.0],
        &[0.5, 1.5, -3.25],
        &[2.0, 2.0, 2.0],
    ];
    for y in labels {
        let d = Dataset::new(x(y.len()), y.to_vec()).unwrap();
        for loss in Loss::ALL {
            if let Ok(task) = Task::for_loss(loss, &d) {
                assert!(task.check_loss(loss).is_ok(), "{loss} {y:?}: {task:?}");
                assert!(task.targets(loss, &d.y).is_ok(), "{loss} {y:?}");
            }
        }
    }
}

#[test]
fn only_micrograds_demo_with_its_own_network_starts_from_the_notebooks_weights() {
    use micrograd::data::micrograd_demo_weights;
    use micrograd::train::Settings;
    let setup = |json: &str| {
        serde_json::from_str::<Settings>(json)
            .unwrap()
            .resolve(None)
            .unwrap()
    };
    assert_eq!(
        setup(r#"{"dataset": "demo"}"#).initial_weights(),
        Some(micrograd_demo_weights())
    );
    // The notebook's network is 2-16-16-1: its weights are for those layers.
    assert_eq!(
        setup(r#"{"dataset": "demo", "hidden": [16, 16], "activation": "tanh"}"#).initial_weights(),
        Some(micrograd_demo_weights())
    );
    assert_eq!(
        setup(r#"{"dataset": "demo", "hidden": [4]}"#).initial_weights(),
        None
    );
    assert_eq!(
        setup(r#"{"dataset": "demo", "features": ["x1", "x2", "x1*x2"]}"#).initial_weights(),
        None
    );
    assert_eq!(setup(r#"{"dataset": "moons"}"#).initial_weights(), None);
}
