//! 09: second order. A gradient can be a `Value` too: new nodes of the same
//! graph (PyTorch's `create_graph=True`), so it can be printed, drawn and
//! differentiated again. The derivative of the derivative is the curvature,
//! and the curvature says how large a step can be.
//!
//! Run: `cargo run --release --example 09_second_order`

use micrograd::data::{Dataset, micrograd_demo, micrograd_demo_weights};
use micrograd::nn::{MLP, Module, batch_inputs};
use micrograd::{Scope, Value, draw_dot};

/// The lecture's first function, on Values: f(x) = 3x² - 4x + 5.
fn f(x: Value) -> Value {
    3.0 * x.powf(2.0) - 4.0 * x + 5.0
}

/// f'(x) by the graph, as a number.
fn df_at(x: f64) -> f64 {
    let _graph = Scope::new();
    let x = Value::new(x);
    f(x).gradients(&[x])[0].data()
}

/// micrograd's demo loss on the whole batch: the mean svm loss
/// relu(1 - y·score), plus 1e-4 times the sum of the squared parameters.
fn demo_loss(model: &MLP, data: &Dataset) -> Value {
    let n = data.y.len() as f64;
    let scores = model.forward(&batch_inputs(&data.x))[0];
    let minus_y: Vec<f64> = data.y.iter().map(|y| -y).collect();
    let data_loss = (1.0 + Value::batch(&minus_y) * scores).relu().sum_lanes() * (1.0 / n);
    data_loss + 1e-4 * Value::sum_squares(&model.parameters())
}

/// The demo's loss after one step `p - lr·g` from `start`, as a number.
fn loss_after_step(model: &MLP, data: &Dataset, start: &[f64], g: &[f64], lr: f64) -> f64 {
    for ((p, &p0), &gi) in model.parameters().iter().zip(start).zip(g) {
        p.set_data(p0 - lr * gi);
    }
    let _step = Scope::new();
    demo_loss(model, data).data()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // f'(3), twice: by nudging, as in 01, and by the graph.
    let fx = |x: f64| 3.0 * x * x - 4.0 * x + 5.0;
    let h = 0.0001;
    let x = Value::new(3.0).with_label("x");
    let y = f(x).with_label("f");
    let df = y.gradients(&[x])[0].with_label("df/dx");
    println!("f(x) = 3x² - 4x + 5, at x = 3: {:?}", y.data());
    println!("f'(3), by hand 6x - 4 = 14:");
    println!("  by nudging f:          {:?}", (fx(3.0 + h) - fx(3.0)) / h);
    println!("  by the graph:          {:?}", df.data());

    // df is a Value like any other: nudge it, or differentiate it again.
    let d2f = df.gradients(&[x])[0].with_label("d2f/dx2");
    println!("f''(3), by hand 6:");
    println!(
        "  by nudging f':         {:?}  (f' by the graph at 3 + h and at 3)",
        (df_at(3.0 + h) - df_at(3.0)) / h
    );
    println!(
        "  by nudging f twice:    {:?}  ((f(x+2h) - 2f(x+h) + f(x)) / h²)",
        (fx(3.0 + 2.0 * h) - 2.0 * fx(3.0 + h) + fx(3.0)) / (h * h)
    );
    println!("  by the graph, again:   {:?}", d2f.data());

    // The gradient's own graph, drawn as any other: the rules of ** and *
    // (2·x¹ for x²), run on Values, each step a node, adding up to 6x - 4.
    std::fs::create_dir_all("out")?;
    let picture = draw_dot(df);
    picture.save("out/09_gradient_graph.svg")?;
    picture.save("out/09_gradient_graph.png")?;
    println!(
        "the graph of df/dx: {} values, drawn to out/09_gradient_graph.png",
        picture.len()
    );

    // Newton's method: jump to where the slope is 0, x - f'/f''. A parabola
    // is its own quadratic model, so one step lands on the bottom, x = 2/3.
    let x_new = x.data() - df.data() / d2f.data();
    let slope = df_at(x_new);
    println!(
        "\nNewton: x - f'(x)/f''(x) = {x_new:?} (2/3 is {:?})",
        2.0 / 3.0
    );
    if slope == 0.0 {
        println!("  f'({x_new:?}) = 0: the bottom, in one step");
    } else {
        let ulps = x_new.to_bits().abs_diff((2.0f64 / 3.0).to_bits());
        println!(
            "  f'({x_new:?}) = {slope:?}: not exactly 0, but rounding: x is {ulps} \
             unit(s) in the last place off the f64 nearest 2/3"
        );
    }

    // A gradient step x - lr·f'(x) overshoots the bottom when lr > 1/f'',
    // and climbs back to where it started at lr = 2/f'': on a parabola, a
    // step longer than 2/curvature goes up.
    let lr = 2.0 / d2f.data();
    println!(
        "gradient steps x - lr·f'(x) from x = 3, where f = {:?}:",
        fx(3.0)
    );
    for m in [0.9, 1.0, 1.1] {
        let after = fx(x.data() - m * lr * df.data());
        println!("  lr {m} × 2/f'' = {:.4}: f = {after:?}", m * lr);
    }

    // The demo's loss, as micrograd's demo starts: its gradient g, and the
    // curvature along g, κ = gᵀHg / |g|², with Hg from the graph (hvp).
    let data = micrograd_demo();
    let model = MLP::from_weights(&micrograd_demo_weights());
    let params = model.parameters();
    let start: Vec<f64> = params.iter().map(|p| p.data()).collect();
    let (loss0, g, gg, kappa) = {
        let _graph = Scope::new();
        let loss = demo_loss(&model, &data);
        let g: Vec<f64> = loss.gradients(&params).iter().map(|v| v.data()).collect();
        let gg: f64 = g.iter().map(|gi| gi * gi).sum();
        let hg = loss.hvp(&params, &g);
        let ghg: f64 = hg.iter().zip(&g).map(|(h, gi)| h.data() * gi).sum();
        println!(
            "\nthe demo's loss {:?}, {} parameters",
            loss.data(),
            params.len()
        );
        // Forward mode: the slope of the loss along g, which is g·g = |g|².
        let slope = loss.jvp(&params, &g);
        println!("  slope along g by jvp (forward mode): {slope:?}");
        println!(
            "  |g|² from the gradient:              {gg:?} (apart by {:.0e})",
            (slope - gg).abs()
        );
        (loss.data(), g, gg, ghg / gg)
    };

    // Along the line p - lr·g a quadratic model says the loss moves by
    // -lr·|g|² + ½·lr²·κ·|g|²: down for small lr, back up past lr = 2/κ.
    println!("  curvature along g: κ = {kappa:?}");
    if kappa <= 0.0 {
        println!("  κ ≤ 0: the quadratic model never turns up along g, it gives no largest step");
    } else {
        println!(
            "  the quadratic model's largest step: lr = 2/κ = {:.4}",
            2.0 / kappa
        );
    }
    let unit = if kappa > 0.0 { 2.0 / kappa } else { 1.0 };
    let unit_name = if kappa > 0.0 { "2/κ" } else { "1" };
    let quadratic = |lr: f64| loss0 - lr * gg + 0.5 * lr * lr * kappa * gg;
    println!("  one step of lr from the demo's start (loss {loss0:.6}), then the loss:");
    let mut rows: Vec<(String, f64)> = [0.001, 0.01, 0.5, 1.0, 1.5, 2.0, 4.0]
        .iter()
        .map(|&m| (format!("{m} × {unit_name}"), m * unit))
        .collect();
    // The demo's first step, lr 1.0: its step 1 printed loss 1.7235905336972022.
    rows.push(("the demo's lr".into(), 1.0));
    rows.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (name, lr) in &rows {
        let after = loss_after_step(&model, &data, &start, &g, *lr);
        let way = if after > loss0 { "up" } else { "down" };
        println!(
            "    lr {lr:<8.4} ({name:>13}): {after:>12.6} {way:<4}  quadratic model: {:>10.6}",
            quadratic(*lr)
        );
    }

    // Where does it really start to go up? Scan lr from 2/κ / 1024 to
    // 4 × 2/κ, 16 steps per doubling.
    let scan: Vec<(f64, f64)> = (-160..=32)
        .map(|k| unit * 2f64.powf(k as f64 / 16.0))
        .map(|lr| (lr, loss_after_step(&model, &data, &start, &g, lr)))
        .collect();
    let lowest = scan.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    let model_says = if kappa > 0.0 {
        format!(" (the quadratic model: 1/κ = {:.4})", 1.0 / kappa)
    } else {
        String::new()
    };
    println!(
        "  scanning lr: the lowest loss along g is {:.6}, at lr {:.4}{model_says}",
        lowest.1, lowest.0
    );
    let mut agreed = false;
    match scan.iter().find(|(_, after)| *after > loss0) {
        Some(&(lr, _)) if kappa > 0.0 => {
            let ratio = lr / unit;
            agreed = (0.8..=1.25).contains(&ratio);
            let verdict = if agreed {
                "2/κ predicted it well".to_string()
            } else if ratio < 1.0 {
                format!("{:.0} times sooner than 2/κ says", 1.0 / ratio)
            } else {
                format!("{ratio:.1} times later than 2/κ says")
            };
            println!("  the loss first went up at lr {lr:.4}, {ratio:.3} × 2/κ: {verdict}");
        }
        Some(&(lr, _)) => println!("  the loss first went up at lr {lr:.4}"),
        None => println!("  up to lr {:.4} the loss never went up", 4.0 * unit),
    }
    if !agreed {
        // The demo's loss is a mean of relus plus squares: never below 0.
        let disc = gg * gg - 2.0 * kappa * gg * loss0;
        println!("  2/κ is a local estimate: κ is the curvature at the start, and this loss");
        println!("  is no parabola. Along the line the score multiplies three layers of moving");
        println!("  weights, and relu's kinks switch pieces on and off (points cross the svm");
        println!("  margin, neurons turn on and off); κ sees none of it.");
        if kappa > 0.0 && disc > 0.0 {
            let below_zero = (gg - disc.sqrt()) / (kappa * gg);
            println!(
                "  The quadratic model even goes below 0 from lr {below_zero:.4}, which this loss never does."
            );
        }
    }
    for (p, &p0) in params.iter().zip(&start) {
        p.set_data(p0);
    }
    Ok(())
}
