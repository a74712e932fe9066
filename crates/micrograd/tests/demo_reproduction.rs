//! micrograd's demo.ipynb, reproduced to the last digits: the same 100
//! points, the same initial weights (exported from Python micrograd into
//! data/micrograd_demo_moons.json), the same loss, the same schedule. The
//! expected losses and accuracies are what the notebook prints.

#![cfg(feature = "nn")]

use micrograd::data::Dataset;
use micrograd::nn::{MLP, Module, Weights};
use micrograd::train::{StepRecord, TrainConfig, Trainer};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/micrograd_demo_moons.json"
);

#[test]
fn the_demo_trains_to_micrograds_numbers() {
    let data = Dataset::load(DEMO).unwrap();
    let weights = Weights::load_micrograd_json(DEMO).unwrap();
    let model = MLP::from_weights(&weights);
    assert_eq!((data.len(), model.num_parameters()), (100, 337));
    assert_eq!(
        model.to_string().matches("ReLUNeuron(2)").count()
            + model.to_string().matches("LinearNeuron(16)").count(),
        17
    );

    // step: (loss, accuracy), as demo.ipynb prints them.
    let expected = [
        (0, 0.8958441028683222, 0.5),
        (1, 1.7235905336972022, 0.81),
        (40, 0.06016009895234464, 1.0),
        (99, 0.010978370135492717, 1.0),
    ];
    let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100)).unwrap();
    let mut records = Vec::new();
    for _ in 0..100 {
        records.push(trainer.step().unwrap());
    }
    for (step, loss, accuracy) in expected {
        let r = records[step];
        assert_eq!(r.step, step);
        assert_matches_micrograd(&r, loss, accuracy);
        assert_eq!(r.lr, 1.0 - 0.9 * step as f64 / 100.0);
    }
}

/// The loss to 1e-9 relative (the order in which micrograd accumulates a
/// parameter's gradient depends on Python's set ordering, so the last bits
/// may differ), the accuracy exactly.
#[track_caller]
fn assert_matches_micrograd(r: &StepRecord, loss: f64, accuracy: f64) {
    let rel = ((r.loss - loss) / loss).abs();
    assert!(
        rel <= 1e-9,
        "step {}: loss {}, micrograd {loss} (relative error {rel:e})",
        r.step,
        r.loss
    );
    assert_eq!(r.accuracy, Some(accuracy), "step {}", r.step);
}

/// Another micrograd-exported model and dataset (MLP(3, [5, 4, 1]) on 30
/// points; see the file's "about"), with the loss and accuracy Python
/// micrograd printed at every one of its 50 steps.
#[test]
fn any_micrograd_export_trains_to_micrograds_numbers() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/micrograd_reference_mlp_3_5_4_1.json"
    );
    let data = Dataset::load(path).unwrap();
    let model = MLP::from_weights(&Weights::load_micrograd_json(path).unwrap());
    assert_eq!((model.nin(), model.nouts()), (3, vec![5, 4, 1]));

    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let losses: Vec<f64> = serde_json::from_value(file["expected"]["loss"].clone()).unwrap();
    let accuracies: Vec<f64> =
        serde_json::from_value(file["expected"]["accuracy"].clone()).unwrap();
    assert_eq!(losses.len(), 50);

    let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(50)).unwrap();
    for (&loss, &accuracy) in losses.iter().zip(&accuracies) {
        assert_matches_micrograd(&trainer.step().unwrap(), loss, accuracy);
    }
}
