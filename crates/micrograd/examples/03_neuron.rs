//! 03: a neuron, o = tanh(x1·w1 + x2·w2 + b), backpropagated by hand.
//!
//! The bias 6.8813735870195432 makes n = atanh(1/√2), so o = 1/√2 and
//! do/dn = 1 - o² = 1/2: every gradient is easy to check in your head.
//!
//! Run: `cargo run --example 03_neuron`

use micrograd::{Value, draw_dot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let x1 = Value::new(2.0).with_label("x1");
    let x2 = Value::new(0.0).with_label("x2");
    let w1 = Value::new(-3.0).with_label("w1");
    let w2 = Value::new(1.0).with_label("w2");
    #[allow(clippy::excessive_precision)] // the lecture's number, as written there
    let b = Value::new(6.8813735870195432).with_label("b");
    let x1w1 = (x1 * w1).with_label("x1*w1");
    let x2w2 = (x2 * w2).with_label("x2*w2");
    let x1w1x2w2 = (x1w1 + x2w2).with_label("x1*w1 + x2*w2");
    let n = (x1w1x2w2 + b).with_label("n");
    let o = n.tanh().with_label("o");
    println!("o = {}", o.data()); // 0.7071067811865476, as in the lecture

    // By hand, from the top.
    o.set_grad(1.0);
    n.set_grad(1.0 - o.data() * o.data()); // d tanh(n)/dn = 1 - tanh²(n)
    b.set_grad(n.grad()); // + routes the gradient
    x1w1x2w2.set_grad(n.grad());
    x1w1.set_grad(x1w1x2w2.grad());
    x2w2.set_grad(x1w1x2w2.grad());
    x1.set_grad(w1.data() * x1w1.grad()); // * swaps the data
    w1.set_grad(x1.data() * x1w1.grad());
    x2.set_grad(w2.data() * x2w2.grad());
    w2.set_grad(x2.data() * x2w2.grad());
    for v in [x1, w1, x2, w2, b, n, o] {
        println!("{:>2}: {v}", v.label());
    }
    std::fs::create_dir_all("out")?;
    draw_dot(o).save("out/03_neuron.png")?;
    println!("drawn to out/03_neuron.png");

    // The same, one node at a time, with micrograd's `_backward`: each
    // node adds its gradient's share to its children's, so every gradient
    // starts again from 0.
    for node in o.topo() {
        node.set_grad(0.0);
    }
    o.set_grad(1.0);
    for node in o.topo().into_iter().rev() {
        node.backward_local();
    }
    println!(
        "with _backward in reverse topological order: x1.grad = {}, w1.grad = {}",
        x1.grad(),
        w1.grad()
    );

    // tanh spelled out from exp, as the lecture does next: same gradients.
    let e = (2.0 * n).exp();
    let o2 = (e - 1.0) / (e + 1.0);
    for leaf in [x1, x2, w1, w2, b] {
        leaf.set_grad(0.0);
    }
    o2.backward();
    println!(
        "with tanh built from exp: o = {}, x1.grad = {}, w1.grad = {}",
        o2.data(),
        x1.grad(),
        w1.grad()
    );
    draw_dot(o2).save("out/03_neuron_from_exp.png")?;
    println!("drawn to out/03_neuron_from_exp.png");
    Ok(())
}
