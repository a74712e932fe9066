//! 04: `backward()`, and the bug micrograd fixed: a node used twice.
//!
//! backward() visits the graph in reverse topological order and, for each
//! node, adds its contribution to its children's gradients. *Adds*: if a
//! child is used twice, both uses count. Setting the gradient instead of
//! adding to it was a bug in the lecture's first version.
//!
//! Run: `cargo run --example 04_backward`

use micrograd::{Value, draw_dot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // b = a + a: db/da = 2.
    let a = Value::new(3.0).with_label("a");
    let b = (a + a).with_label("b");

    // The buggy rule: each use of `a` *sets* a.grad = 1·b.grad.
    b.set_grad(1.0);
    a.set_grad(b.grad());
    a.set_grad(b.grad());
    println!("setting instead of adding: a.grad = {} (wrong)", a.grad());

    // backward() accumulates.
    a.set_grad(0.0);
    b.backward();
    println!("backward():                a.grad = {} (right)", a.grad());

    // The same bug, less obvious: f = d·e with d = a·b and e = a + b, both
    // using a and b. By hand: f = ab(a + b), df/da = b(a+b) + ab = -3.
    let a = Value::new(-2.0).with_label("a");
    let b = Value::new(3.0).with_label("b");
    let d = (a * b).with_label("d");
    let e = (a + b).with_label("e");
    let f = (d * e).with_label("f");
    f.backward();
    println!(
        "f = {}: df/da = {}, df/db = {}",
        f.data(),
        a.grad(),
        b.grad()
    );

    // The order: every node after all the nodes that use it.
    let order: Vec<String> = f.topo().iter().rev().map(|v| v.label()).collect();
    println!("backward visits: {}", order.join(" -> "));

    // Leaves keep accumulating across calls (as in PyTorch), so a second
    // backward() doubles them: zero the gradients between training steps.
    f.backward();
    println!("after a second backward(): df/da = {} (twice)", a.grad());

    std::fs::create_dir_all("out")?;
    draw_dot(f).save("out/04_backward.png")?;
    println!("drawn to out/04_backward.png");
    Ok(())
}
