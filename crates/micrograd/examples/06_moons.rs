//! 06: micrograd's demo, to the last digit: 100 points of two moons, an MLP
//! 2-16-16-1, the SVM max-margin loss with L2 regularisation, SGD with a
//! decaying learning rate. The points and the initial weights are the
//! notebook's own (data/micrograd_demo_moons.json), so the losses printed
//! are the notebook's: 0.8958441028683222 at step 0, 0.010978370135492717 at
//! step 99.
//!
//! Run: `cargo run --release --example 06_moons`

use micrograd::nn::{MLP, Module};
use micrograd::train::{TrainConfig, Trainer};
use micrograd::viz::{DecisionBoundary, TrainingCurves};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Built into the library from data/micrograd_demo_moons.json.
    let data = micrograd::data::micrograd_demo();
    let model = MLP::from_weights(&micrograd::data::micrograd_demo_weights());
    println!("{model}");
    println!("number of parameters {}", model.num_parameters());

    // The notebook's loop, step by step: loss and accuracy on all 100
    // points, zero_grad, backward, p -= lr * grad with lr = 1.0 - 0.9*k/100.
    let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100))?;
    let mut history = Vec::new();
    for _ in 0..100 {
        let r = trainer.step()?;
        let accuracy = r.accuracy.unwrap_or(0.0) * 100.0;
        println!("step {} loss {:?}, accuracy {accuracy:?}%", r.step, r.loss);
        history.push(r);
    }

    // The notebook's last cell: the decision boundary, here on a mesh 25
    // times finer, and the curves of the training.
    std::fs::create_dir_all("out")?;
    let weights = model.weights();
    let boundary = DecisionBoundary::new(&weights, &data, trainer.task())?
        .title("micrograd's demo, MLP 2-16-16-1");
    boundary.save("out/06_moons_boundary.png")?;
    boundary.save("out/06_moons_boundary.svg")?;
    TrainingCurves::new(&history).save("out/06_moons_training.png")?;
    println!("drawn to out/06_moons_boundary.png (and .svg) and out/06_moons_training.png");
    Ok(())
}
