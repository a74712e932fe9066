//! 05: the lecture's neural net, MLP(3, [4, 4, 1]) with tanh neurons,
//! fitted to four examples with the sum-of-squares loss.
//!
//! Run: `cargo run --example 05_mlp`

use micrograd::data::lecture_examples;
use micrograd::nn::{MLP, Module, loss};
use micrograd::train::StepRecord;
use micrograd::viz::TrainingCurves;
use micrograd::{Scope, Value, draw_dot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = lecture_examples(); // xs: 4 × 3, ys: [1, -1, -1, 1]
    let n = MLP::lecture(3, &[4, 4, 1], 1337);
    println!("{n}");
    println!("{} parameters", n.num_parameters());

    // The whole network's graph for one input: 41 parameters, every neuron.
    std::fs::create_dir_all("out")?;
    micrograd::scope(|| draw_dot(n.forward(&data.x[0])[0]).save("out/05_mlp_graph.svg"))?;

    let mut history = Vec::new();
    for k in 0..20 {
        // Each step's graph is freed at the end of the step; the
        // parameters, made before, stay.
        let _step = Scope::new();
        // forward pass
        let ypred: Vec<Value> = data.x.iter().map(|x| n.forward(x)[0]).collect();
        let loss = loss::sum_squares(&ypred, &data.y);
        // backward pass
        n.zero_grad();
        loss.backward();
        // update
        for p in n.parameters() {
            p.set_data(p.data() - 0.1 * p.grad());
        }
        println!("step {k:>2}: loss {:.6}", loss.data());
        history.push(StepRecord {
            step: k,
            loss: loss.data(),
            accuracy: None,
            test_loss: None,
            test_accuracy: None,
            lr: 0.1,
            nodes: 0,
        });
    }

    let ypred: Vec<f64> = data.x.iter().map(|x| n.forward(x)[0].data()).collect();
    println!("predictions {ypred:.3?}, targets {:?}", data.y);
    TrainingCurves::new(&history).save("out/05_loss.png")?;
    println!("drawn to out/05_mlp_graph.svg and out/05_loss.png");
    Ok(())
}
