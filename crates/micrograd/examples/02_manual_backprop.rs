//! 02: backpropagation by hand, then by `backward`.
//!
//! The expression L = (a*b + c) * f, each node labelled as in the lecture.
//! We fill in every gradient ourselves with the chain rule, then let the
//! engine do it and compare.
//!
//! Run: `cargo run --example 02_manual_backprop`

use micrograd::{Value, draw_dot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Value::new(2.0).with_label("a");
    let b = Value::new(-3.0).with_label("b");
    let c = Value::new(10.0).with_label("c");
    let e = (a * b).with_label("e");
    let d = (e + c).with_label("d");
    let f = Value::new(-2.0).with_label("f");
    let l = (d * f).with_label("L");
    println!("L = {}", l.data());

    // The chain rule, from the output back:
    l.set_grad(1.0); //                       dL/dL = 1
    f.set_grad(d.data() * l.grad()); //         dL/df = d
    d.set_grad(f.data() * l.grad()); //         dL/dd = f
    c.set_grad(1.0 * d.grad()); //              dL/dc = dL/dd · dd/dc, and dd/dc = 1
    e.set_grad(1.0 * d.grad()); //              a + node routes its gradient unchanged
    a.set_grad(b.data() * e.grad()); //         dL/da = dL/de · de/da = dL/de · b
    b.set_grad(a.data() * e.grad()); //         dL/db = dL/de · a
    let nodes = [a, b, c, d, e, f, l];
    let by_hand: Vec<f64> = nodes.iter().map(|v| v.grad()).collect();
    for v in nodes {
        println!("{:>2}: {v}", v.label());
    }
    // micrograd's draw_dot: each value with its data and gradient.
    std::fs::create_dir_all("out")?;
    draw_dot(l).save("out/02_manual_backprop.png")?;
    draw_dot(l).save("out/02_manual_backprop.svg")?;
    println!("drawn to out/02_manual_backprop.png and .svg");

    // Now let the engine do it. It recomputes the intermediate nodes'
    // gradients, but adds to the leaves' (so clear those first).
    for leaf in [a, b, c, f] {
        leaf.set_grad(0.0);
    }
    l.backward();
    let by_backward: Vec<f64> = nodes.iter().map(|v| v.grad()).collect();
    assert_eq!(by_hand, by_backward);
    println!("backward() agrees: {by_backward:?}");

    // One step along the gradient makes L larger, as the gradient promises.
    for leaf in [a, b, c, f] {
        leaf.set_data(leaf.data() + 0.01 * leaf.grad());
    }
    let l2 = (a.data() * b.data() + c.data()) * f.data();
    println!(
        "after a 0.01 step along the gradient, L = {l2} (was {})",
        l.data()
    );
    Ok(())
}
