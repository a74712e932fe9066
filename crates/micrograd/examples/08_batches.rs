//! 08: from one point's graph to the whole batch's. micrograd builds a graph
//! per point; here a `Value` can hold a whole batch, one number per point
//! (a lane), so one graph computes every point at once: JAX's `vmap`, for
//! micrograd. Each lane holds exactly the bits its point's own graph would,
//! and a weight's gradient is the sum of its points' gradients.
//!
//! Run: `cargo run --release --example 08_batches`

use std::time::Instant;

use micrograd::data::moons;
use micrograd::nn::{MLP, Module, batch_inputs, loss};
use micrograd::train::{Batching, TrainConfig, Trainer};
use micrograd::{Scope, draw_dot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all("out")?;
    let model = MLP::new(2, &[3, 1]);
    let points = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0], [0.0, 0.75]];
    let labels = [1.0, -1.0, -1.0, 1.0];

    // One point, micrograd's way: its graph, its loss, its gradients.
    println!("point by point:");
    let mut scores = Vec::new();
    let mut grads = vec![0.0; model.num_parameters()];
    for (i, (x, &y)) in points.iter().zip(&labels).enumerate() {
        let _graph = Scope::new();
        let score = model.forward(x)[0];
        let point_loss = loss::svm(&[score], &[y]); // relu(1 - y·score)
        model.zero_grad();
        point_loss.backward();
        println!(
            "  point {i}: score {:?}, loss {:?}",
            score.data(),
            point_loss.data()
        );
        scores.push(score.data());
        for (g, p) in grads.iter_mut().zip(model.parameters()) {
            *g += p.grad();
        }
        if i == 0 {
            let picture = draw_dot(point_loss);
            picture.save("out/08_one_point.svg")?;
            picture.save("out/08_one_point.png")?;
            println!(
                "  (point 0's graph: {} values, drawn to out/08_one_point.png)",
                picture.len()
            );
        }
    }

    // The batch: one input per feature, a lane per point; one graph.
    println!("the batch, one graph:");
    let _graph = Scope::new();
    let x = batch_inputs(&points);
    let batch_scores = model.forward(&x)[0];
    println!("  scores {batch_scores}");
    for (own, lane) in scores.iter().zip(batch_scores.data_lanes()) {
        assert_eq!(
            own.to_bits(),
            lane.to_bits(),
            "a lane is its point's own number"
        );
    }
    println!("  every lane is its point's score, to the last bit");

    // The mean of the points' losses, as micrograd's demo; its gradient is
    // the mean of the points' gradients, summed over the lanes in order.
    let batch_loss = loss::svm(&[batch_scores], &labels);
    model.zero_grad();
    batch_loss.backward();
    let picture = draw_dot(batch_loss);
    picture.save("out/08_batch.svg")?;
    picture.save("out/08_batch.png")?;
    println!(
        "  loss {:?}; its graph has {} values whatever the batch size (out/08_batch.png)",
        batch_loss.data(),
        picture.len()
    );
    let w = model.parameters()[0];
    println!(
        "  d loss/d w0: {:?} from the batch, {:?} from the points' own graphs (their mean)",
        w.grad(),
        grads[0] / points.len() as f64
    );
    drop(_graph);

    // What it is for: micrograd's demo step, point by point and batched.
    let data = moons(1000, 0.1, 0);
    for batching in [Batching::PerPoint, Batching::Lanes] {
        let model = MLP::new(2, &[16, 16, 1]);
        let config = TrainConfig {
            batching,
            ..TrainConfig::micrograd_demo(20)
        };
        let mut trainer = Trainer::new(&model, &data, &config)?;
        let started = Instant::now();
        let last = trainer.run(20, |_| {})?;
        println!(
            "1000 points, MLP 2-16-16-1, {batching:?}: {:.0} µs a step, loss after 20 steps {:?}",
            started.elapsed().as_secs_f64() * 1e6 / 20.0,
            last.loss
        );
    }
    Ok(())
}
