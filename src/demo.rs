//! `micrograd demo`: the seed notebook's example, L = (a*b + c) * f, its
//! gradients by manual backpropagation, and its picture.

use std::path::PathBuf;

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use micrograd::{Value, draw_dot};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to draw the graph (manual-backpropagation.png and .svg) [default: image, the
    /// folder of the seed notebook's pictures]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("image"));
    let paths: Vec<PathBuf> = ["png", "svg"]
        .iter()
        .map(|ext| dir.join(format!("manual-backpropagation.{ext}")))
        .collect();
    // Before any work: a folder that cannot be made or written.
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
        .context("cannot write the pictures")?;
    for path in &paths {
        micrograd::whole_file::check_writable(path).context("cannot write the pictures")?;
    }
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
    let graph = draw_dot(l);
    let mut written = Vec::new();
    for path in &paths {
        graph.save(path)?;
        written.push(path.display().to_string());
    }
    writeln!(out, "pictures: {}", written.join(", "))?;
    Ok(())
}
