//! Optimizers and schedules: by hand, against the Adam paper's algorithm,
//! and against PyTorch (float64; tools/reference/torch_losses_optim.py).

#![cfg(feature = "nn")]

mod common;

use common::assert_close;
use micrograd::Value;
use micrograd::nn::{Adam, Optimizer, OptimizerKind, Schedule, Sgd};

/// The objective the PyTorch reference minimises:
/// Σ scaleᵢ (wᵢ - targetᵢ)² + tanh(w₀w₁).
fn objective(w: &[Value]) -> Value {
    let target = [1.0, 2.0, -1.0];
    let scale = [1.0, 3.0, 0.5];
    let squares: Value = w
        .iter()
        .zip(target)
        .zip(scale)
        .map(|((&wi, t), s)| s * (wi - t).powf(2.0))
        .sum();
    squares + (w[0] * w[1]).tanh()
}

fn minimise(optimizer: &mut dyn Optimizer, lr: f64, steps: usize) -> Vec<f64> {
    let w = vec![Value::new(0.5), Value::new(-1.5), Value::new(3.0)];
    for _ in 0..steps {
        micrograd::scope(|| {
            for p in &w {
                p.set_grad(0.0);
            }
            objective(&w).backward();
            optimizer.step(&w, lr);
        });
    }
    w.iter().map(|p| p.data()).collect()
}

#[test]
fn plain_sgd_is_micrograds_update() {
    let p = Value::new(2.0);
    p.set_grad(0.5);
    Sgd::new().step(&[p], 0.1);
    assert_eq!(p.data(), 2.0 - 0.1 * 0.5);
}

#[test]
fn momentum_by_hand_and_against_pytorch() {
    // v₁ = g₁, v₂ = 0.9 v₁ + g₂: two steps on f(w) = w² from w = 1, lr 0.1.
    let w = Value::new(1.0);
    let mut sgd = Sgd::with_momentum(0.9);
    for _ in 0..2 {
        w.set_grad(2.0 * w.data());
        sgd.step(&[w], 0.1);
    }
    // w₁ = 1 - 0.1·2 = 0.8; v₂ = 0.9·2 + 1.6 = 3.4; w₂ = 0.8 - 0.34
    assert_close(w.data(), 0.46, 1e-15, "w after two steps");

    let torch = [1.2362223404574915, 0.11212701412086859, -2.2436916426785163];
    let ours = minimise(&mut Sgd::with_momentum(0.9), 0.05, 10);
    for (a, e) in ours.iter().zip(torch) {
        assert_close(*a, e, 1e-13, "momentum SGD after 10 steps");
    }
}

#[test]
fn adam_against_pytorch() {
    let torch = [1.327537992150646, -0.5127654324720257, 2.009911675167123];
    let ours = minimise(&mut Adam::new(), 0.1, 10);
    for (a, e) in ours.iter().zip(torch) {
        assert_close(*a, e, 1e-13, "Adam after 10 steps");
    }
}

#[test]
fn adam_matches_the_papers_algorithm() {
    // Kingma & Ba (2015), Algorithm 1, on f(w) = (w - 3)² from w = 0.
    let (lr, b1, b2, eps) = (0.05, 0.9, 0.999, 1e-8);
    let (mut w_ref, mut m, mut v) = (0.0f64, 0.0, 0.0);
    let w = Value::new(0.0);
    let mut adam = Adam::new();
    for t in 1..=25 {
        let g = 2.0 * (w_ref - 3.0);
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - f64::powi(b1, t));
        let v_hat = v / (1.0 - f64::powi(b2, t));
        w_ref -= lr * m_hat / (v_hat.sqrt() + eps);

        w.set_grad(2.0 * (w.data() - 3.0));
        adam.step(&[w], lr);
        assert_close(w.data(), w_ref, 1e-12, &format!("step {t}"));
    }
}

#[test]
fn schedules() {
    let demo = Schedule::micrograd_demo(100);
    for k in [0, 1, 37, 99] {
        // demo.ipynb: learning_rate = 1.0 - 0.9*k/100
        assert_eq!(demo.at(k), 1.0 - 0.9 * k as f64 / 100.0);
    }
    assert_eq!(Schedule::Constant(0.3).at(1000), 0.3);
    // Past its steps the linear schedule stays at its end, never negative.
    assert_eq!((demo.at(100), demo.at(500)), (1.0 - 0.9, 1.0 - 0.9));
    let cosine = Schedule::Cosine {
        start: 1.0,
        end: 0.1,
        steps: 10,
    };
    assert_eq!(
        (cosine.at(0), cosine.at(10), cosine.at(50)),
        (1.0, 0.1, 0.1)
    );
    assert_close(cosine.at(5), 0.55, 1e-15, "halfway");
}

#[test]
fn schedules_reshaped_as_a_user_asks() {
    use micrograd::nn::ScheduleShape;
    let demo = Schedule::micrograd_demo(100);
    // Unchanged: micrograd's numbers exactly, spread over the new length.
    assert_eq!(demo.reshaped(None, None, 100), demo);
    assert_eq!(
        demo.reshaped(None, None, 200),
        Schedule::Linear {
            start: 1.0,
            decay: 0.9,
            steps: 200
        }
    );
    // A new start scales the whole schedule: 0.5 - 0.45·k/100.
    assert_eq!(
        demo.reshaped(None, Some(0.5), 100),
        Schedule::Linear {
            start: 0.5,
            decay: 0.45,
            steps: 100
        }
    );
    // Another shape falls to a tenth of the start.
    assert_eq!(
        demo.reshaped(Some(ScheduleShape::Cosine), Some(0.02), 400),
        Schedule::Cosine {
            start: 0.02,
            end: 0.002,
            steps: 400
        }
    );
    assert_eq!(
        demo.reshaped(Some(ScheduleShape::Constant), None, 10),
        Schedule::Constant(1.0)
    );
    // The spiral's preset as written, although its rate at step 0 is
    // 0.002 + 0.018 = 0.020000000000000004.
    let spiral = Schedule::Cosine {
        start: 0.02,
        end: 0.002,
        steps: 400,
    };
    assert_eq!(spiral.reshaped(None, None, 400), spiral);
    for shape in ScheduleShape::ALL {
        assert_eq!(shape.to_string().parse::<ScheduleShape>(), Ok(shape));
        assert_eq!(demo.reshaped(Some(shape), None, 10).shape(), shape);
    }
    assert!("exponential".parse::<ScheduleShape>().is_err());
    // A start near the largest float scales the end with it: 0.9·1e308 and
    // 1e307, not 0.09·(1e308 / 0.1), whose ratio overflows to infinity.
    let moons = Schedule::Linear {
        start: 0.1,
        decay: 0.09,
        steps: 200,
    };
    let Schedule::Linear { decay, .. } = moons.reshaped(None, Some(1e308), 200) else {
        panic!("linear")
    };
    assert!((decay / 9e307 - 1.0).abs() < 1e-15, "{decay}");
    let Schedule::Cosine { end, .. } = spiral.reshaped(None, Some(1e308), 400) else {
        panic!("cosine")
    };
    assert!((end / 1e307 - 1.0).abs() < 1e-15, "{end}");
    // The moons' preset with its own shape named keeps its numbers (0.09,
    // not 0.9·0.1 = 0.09000000000000001).
    assert_eq!(
        moons.reshaped(Some(ScheduleShape::Linear), Some(0.1), 200),
        moons
    );
}

#[test]
fn a_reshaped_schedule_is_reshaped_again_by_its_own_shape_and_start() {
    use micrograd::nn::ScheduleShape;
    // What a run's resolved settings promise: its schedule's shape and
    // start, given again to the preset, give the same schedule to the bit.
    let presets = [
        Schedule::micrograd_demo(100),
        Schedule::Linear {
            start: 0.1,
            decay: 0.09,
            steps: 200,
        },
        Schedule::Cosine {
            start: 0.02,
            end: 0.002,
            steps: 400,
        },
        Schedule::Constant(0.05),
    ];
    let shapes = [
        None,
        Some(ScheduleShape::Constant),
        Some(ScheduleShape::Linear),
        Some(ScheduleShape::Cosine),
    ];
    // Rates whose tenth or 0.9 times is rounded: 0.07 / 10 is not 0.007.
    let rates = [
        None,
        Some(0.07),
        Some(0.3),
        Some(1e-3),
        Some(0.1),
        Some(1.0),
    ];
    for preset in presets {
        for shape in shapes {
            for lr in rates {
                let once = preset.reshaped(shape, lr, 50);
                let start = match once {
                    Schedule::Constant(s)
                    | Schedule::Linear { start: s, .. }
                    | Schedule::Cosine { start: s, .. } => s,
                };
                let again = preset.reshaped(Some(once.shape()), Some(start), 50);
                assert_eq!(again, once, "{preset:?} {shape:?} {lr:?}");
            }
        }
    }
}

#[test]
fn optimizers_parse_from_their_names() {
    assert_eq!("sgd".parse(), Ok(OptimizerKind::Sgd { momentum: 0.0 }));
    assert_eq!("momentum".parse(), Ok(OptimizerKind::Sgd { momentum: 0.9 }));
    assert_eq!("Adam".parse(), Ok(OptimizerKind::Adam));
    assert!("rmsprop".parse::<OptimizerKind>().is_err());
}
