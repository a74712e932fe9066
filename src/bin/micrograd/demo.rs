//! `micrograd demo`: the seed notebook's example, L = (a*b + c) * f, its
//! gradients by manual backpropagation, and its picture.

use std::path::Path;

use std::io::Write;

use anyhow::{Context, Result};
use micrograd::{Value, draw_dot};

pub fn run() -> Result<()> {
    let mut out = crate::output::stdout();
    let a = Value::new(2.0).with_label("a");
    let b = Value::new(-3.0).with_label("b");
    let c = Value::new(10.0).with_label("c");
    let e = (a * b).with_label("e");
    let d = (e + c).with_label("d");
    let f = Value::new(-2.0).with_label("f");
    let l = (d * f).with_label("L");

    // Manual backpropagation, as in the notebook: the chain rule, node by
    // node from L back to the leaves.
    l.set_grad(1.0);
    f.set_grad(d.data() * l.grad());
    d.set_grad(f.data() * l.grad());
    c.set_grad(d.grad());
    e.set_grad(d.grad());
    a.set_grad(b.data() * e.grad());
    b.set_grad(a.data() * e.grad());

    writeln!(out, "L = (a*b + c) * f, backpropagated by hand:")?;
    for v in [a, b, c, d, e, f, l] {
        writeln!(out, "  {:>2} = {v}", v.label())?;
    }
    let dir = Path::new("image");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let graph = draw_dot(l);
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = dir.join(format!("manual-backpropagation.{ext}"));
        graph.save(&path)?;
        written.push(path.display().to_string());
    }
    writeln!(out, "pictures: {}", written.join(", "))?;
    Ok(())
}
