//! 07: past micrograd: three classes on three spiral arms, an MLP 2-32-32-3,
//! softmax cross-entropy, and Adam.
//!
//! Run: `cargo run --release --example 07_spiral`

use micrograd::data::spiral;
use micrograd::nn::{Loss, MLP, Module, OptimizerKind, Schedule};
use micrograd::train::{Batching, TrainConfig, Trainer};
use micrograd::viz::{DecisionBoundary, TrainingCurves};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = spiral(100, 3, 0.2, 0); // 100 points per arm
    let model = MLP::new(2, &[32, 32, 3]); // three outputs: one score per class
    println!("{} parameters", model.num_parameters());

    let steps = 400;
    let config = TrainConfig {
        loss: Loss::SoftmaxCe,
        optimizer: OptimizerKind::Adam,
        schedule: Schedule::Cosine {
            start: 0.02,
            end: 0.002,
            steps,
        },
        l2: 0.0,
        l1: 0.0,
        batch: None,
        seed: 0,
        batching: Batching::Lanes,
        threads: None,
    };
    let mut trainer = Trainer::new(&model, &data, &config)?;
    let mut history = Vec::new();
    let last = trainer.run(steps, |r| {
        history.push(*r);
        if r.step % 50 == 0 {
            println!(
                "step {:>3}: loss {:.4}, accuracy {:.1}%",
                r.step,
                r.loss,
                r.accuracy.unwrap_or(0.0) * 100.0
            );
        }
    })?;
    println!(
        "after {steps} steps: loss {:.4}, accuracy {:.1}%",
        last.loss,
        last.accuracy.unwrap_or(0.0) * 100.0
    );

    // The trained network as plain numbers: classify a few points without
    // building graphs.
    let weights = model.weights();
    for point in [[0.0, 0.5], [0.5, 0.0], [-0.3, -0.3]] {
        let scores = weights.predict(&point);
        let class = (0..3)
            .max_by(|&i, &j| scores[i].total_cmp(&scores[j]))
            .unwrap_or(0);
        println!("{point:?} -> class {class} (scores {scores:.2?})");
    }

    std::fs::create_dir_all("out")?;
    DecisionBoundary::new(&weights, &data, trainer.task())?
        .title("three spirals, MLP 2-32-32-3")
        .save("out/07_spiral_boundary.png")?;
    TrainingCurves::new(&history).save("out/07_spiral_training.png")?;
    println!("drawn to out/07_spiral_boundary.png and out/07_spiral_training.png");
    Ok(())
}
