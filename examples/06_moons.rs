//! 06: micrograd's demo, to the last digit: 100 points of two moons, an MLP
//! 2-16-16-1, the SVM max-margin loss with L2 regularisation, SGD with a
//! decaying learning rate. The points and the initial weights are the
//! notebook's own (data/micrograd_demo_moons.json), so the losses printed
//! are the notebook's: 0.8958441028683222 at step 0, 0.010978370135492717 at
//! step 99.
//!
//! Run: `cargo run --release --example 06_moons`

use micrograd::data::Dataset;
use micrograd::nn::{MLP, Module, Weights};
use micrograd::train::{TrainConfig, Trainer};

fn main() -> micrograd::Result<()> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/micrograd_demo_moons.json"
    );
    let data = Dataset::load(path)?;
    let model = MLP::from_weights(&Weights::load_micrograd_json(path)?);
    println!("{model}");
    println!("number of parameters {}", model.num_parameters());

    // The notebook's loop, step by step: loss and accuracy on all 100
    // points, zero_grad, backward, p -= lr * grad with lr = 1.0 - 0.9*k/100.
    let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100))?;
    for _ in 0..100 {
        let r = trainer.step()?;
        let accuracy = r.accuracy.unwrap_or(0.0) * 100.0;
        println!("step {} loss {:?}, accuracy {accuracy:?}%", r.step, r.loss);
    }
    Ok(())
}
