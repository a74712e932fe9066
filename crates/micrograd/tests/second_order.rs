//! Gradients that are Values: second derivatives, Hessian-vector products,
//! forward mode. Expected values come from closed forms written by hand,
//! from finite differences of `backward`'s first-order gradients, and from
//! JAX in float64 (`tools/reference/second_order.py`, committed as
//! `tests/data/second_order.json`).

mod common;

use std::collections::HashMap;

use common::{assert_close, near, second_order_reference as reference};
use micrograd::expr::parse;
use micrograd::{Scope, Value, tape_len};

/// d²f/dx² of `f(x)` at `x`, by the graph.
fn second(f: impl Fn(Value) -> Value, x: f64) -> (f64, f64) {
    let _scope = Scope::new();
    let v = Value::new(x);
    let d1 = f(v).gradients(&[v])[0];
    let d2 = d1.gradients(&[v])[0];
    (d1.data(), d2.data())
}

#[test]
fn second_derivatives_of_every_elementwise_primitive_match_their_closed_forms() {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    type Case = (
        &'static str,
        fn(Value) -> Value,
        Box<dyn Fn(f64) -> (f64, f64)>,
    );
    let cases: Vec<Case> = vec![
        (
            "tanh",
            |v| v.tanh(),
            Box::new(|x: f64| {
                let t = x.tanh();
                (1.0 - t * t, -2.0 * t * (1.0 - t * t))
            }),
        ),
        ("exp", |v| v.exp(), Box::new(|x: f64| (x.exp(), x.exp()))),
        (
            "ln",
            |v| v.ln(),
            Box::new(|x: f64| (1.0 / x, -1.0 / (x * x))),
        ),
        (
            "relu",
            |v| v.relu(),
            Box::new(|x: f64| (if x > 0.0 { 1.0 } else { 0.0 }, 0.0)),
        ),
        ("step", |v| v.step(), Box::new(|_| (0.0, 0.0))),
        (
            "sigmoid",
            |v| v.sigmoid(),
            Box::new(move |x: f64| {
                let s = sigmoid(x);
                (s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
            }),
        ),
        (
            "softplus",
            |v| v.softplus(),
            Box::new(move |x: f64| (sigmoid(x), sigmoid(x) * (1.0 - sigmoid(x)))),
        ),
        ("sin", |v| v.sin(), Box::new(|x: f64| (x.cos(), -x.sin()))),
        ("cos", |v| v.cos(), Box::new(|x: f64| (-x.sin(), -x.cos()))),
        (
            "powf 3",
            |v| v.powf(3.0),
            Box::new(|x: f64| (3.0 * x * x, 6.0 * x)),
        ),
        (
            "powf -1",
            |v| v.powf(-1.0),
            Box::new(|x: f64| (-1.0 / (x * x), 2.0 / (x * x * x))),
        ),
        (
            "powf 0.5",
            |v| v.powf(0.5),
            Box::new(|x: f64| (0.5 / x.sqrt(), -0.25 / (x * x.sqrt()))),
        ),
        ("powf 1", |v| v.powf(1.0), Box::new(|_| (1.0, 0.0))),
        ("powf 0", |v| v.powf(0.0), Box::new(|_| (0.0, 0.0))),
    ];
    for (name, f, closed) in &cases {
        for x in [0.3, 1.7, 2.5] {
            let (d1, d2) = second(f, x);
            let (e1, e2) = closed(x);
            assert_close(d1, e1, 1e-14, &format!("{name}' at {x}"));
            if e2 == 0.0 {
                assert_eq!(d2, 0.0, "{name}'' at {x}");
            } else {
                assert_close(d2, e2, 1e-13, &format!("{name}'' at {x}"));
            }
        }
    }
    // ReLU at its kink, as PyTorch: the derivative at 0 is 0, and so the
    // second; below 0 both are 0.
    for x in [0.0, -0.7] {
        assert_eq!(second(|v| v.relu(), x), (0.0, 0.0), "relu at {x}");
    }
}

#[test]
fn second_derivatives_of_the_two_operand_primitives_match_their_closed_forms() {
    let _scope = Scope::new();
    let hessian = |f: fn(Value, Value) -> Value, a: f64, b: f64| -> Vec<Vec<f64>> {
        let (x, y) = (Value::new(a), Value::new(b));
        let h = f(x, y).hessian(&[x, y]);
        h.iter()
            .map(|row| row.iter().map(|v| v.data()).collect())
            .collect()
    };
    assert_eq!(hessian(|x, y| x + y, 1.5, -2.0), [[0.0, 0.0], [0.0, 0.0]]);
    assert_eq!(hessian(|x, y| x * y, 1.5, -2.0), [[0.0, 1.0], [1.0, 0.0]]);
    // a^b: ∂²/∂a² = b(b-1)a^(b-2), ∂²/∂a∂b = a^(b-1)(1 + b ln a),
    // ∂²/∂b² = a^b ln² a.
    let (a, b) = (1.7_f64, 2.3_f64);
    let h = hessian(|x, y| x.pow(y), a, b);
    let expected = [
        [
            b * (b - 1.0) * a.powf(b - 2.0),
            a.powf(b - 1.0) * (1.0 + b * a.ln()),
        ],
        [
            a.powf(b - 1.0) * (1.0 + b * a.ln()),
            a.powf(b) * a.ln() * a.ln(),
        ],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert_close(h[i][j], expected[i][j], 1e-14, &format!("pow H[{i}][{j}]"));
        }
    }
    // a^b at a = 0, b = 2: PyTorch's conventions, 0 where ln 0 would
    // appear: ∂/∂b = 0, and ∂²/∂a² = b(b-1)·0^0 = 2.
    let h = hessian(|x, y| x.pow(y), 0.0, 2.0);
    assert_eq!(h[0][0], 2.0);
    assert_eq!((h[1][1], h[0][1].is_finite()), (0.0, true));
}

#[test]
fn the_fused_nodes_have_the_second_derivatives_of_what_they_fuse() {
    let _scope = Scope::new();
    let (w0, w1, x0, x1, b) = (
        Value::new(0.5),
        Value::new(-1.5),
        Value::new(2.0),
        Value::new(3.0),
        Value::new(0.25),
    );
    let all = [w0, w1, x0, x1, b];
    let numbers = |h: Vec<Vec<Value>>| -> Vec<Vec<f64>> {
        h.iter()
            .map(|row| row.iter().map(|v| v.data()).collect())
            .collect()
    };
    // (b + w·x)²: H = 2·∇∇ᵀ + 2·(b + w·x)·(∂²(w·x)), ∇ = (x0, x1, w0, w1, 1).
    let s = Value::affine(&[w0, w1], &[x0, x1], b);
    let h = numbers(s.powf(2.0).hessian(&all));
    let grad = [2.0, 3.0, 0.5, -1.5, 1.0];
    let value = 0.25 + 0.5 * 2.0 - 1.5 * 3.0;
    for i in 0..5 {
        for j in 0..5 {
            let cross =
                if (i, j) == (0, 2) || (i, j) == (2, 0) || (i, j) == (1, 3) || (i, j) == (3, 1) {
                    1.0
                } else {
                    0.0
                };
            let expected = 2.0 * grad[i] * grad[j] + 2.0 * value * cross;
            assert_eq!(h[i][j], expected, "affine² H[{i}][{j}]");
        }
    }
    // Σ cᵢ²: 2 on the diagonal.
    let h = numbers(Value::sum_squares(&[w0, x1]).hessian(&[w0, x1]));
    assert_eq!(h, [[2.0, 0.0], [0.0, 2.0]]);
    // Σ cᵢ as `Iterator::sum`, cubed: 6·(Σ c) everywhere.
    let total: Value = [w0, x0, b].iter().sum();
    let h = numbers(total.powf(3.0).hessian(&[w0, x0]));
    let t = 0.5 + 2.0 + 0.25;
    assert_eq!(h, [[6.0 * t, 6.0 * t], [6.0 * t, 6.0 * t]]);
}

#[test]
fn third_order_on_a_small_expression_matches_its_closed_form() {
    let _scope = Scope::new();
    // f = x⁴·sin(y): ∂³f/∂x³ = 24x·sin y, ∂³f/∂x²∂y = 12x²·cos y.
    let (xv, yv) = (1.3_f64, 0.4_f64);
    let (x, y) = (Value::new(xv), Value::new(yv));
    let f = x.powf(4.0) * y.sin();
    let fx = f.gradients(&[x])[0];
    let fxx = fx.gradients(&[x])[0];
    let [fxxx, fxxy] = fxx.gradients(&[x, y])[..] else {
        unreachable!()
    };
    assert_close(fxxx.data(), 24.0 * xv * yv.sin(), 1e-14, "f_xxx");
    assert_close(fxxy.data(), 12.0 * xv * xv * yv.cos(), 1e-14, "f_xxy");
    // And a fourth: ∂⁴f/∂x⁴ = 24 sin y.
    let fxxxx = fxxx.gradients(&[x])[0];
    assert_close(fxxxx.data(), 24.0 * yv.sin(), 1e-14, "f_xxxx");
}

#[test]
fn gradients_hold_backwards_numbers_and_leave_every_grad_alone() {
    let _scope = Scope::new();
    // The lecture's neuron.
    let x1 = Value::new(2.0);
    let x2 = Value::new(0.0);
    let w1 = Value::new(-3.0);
    let w2 = Value::new(1.0);
    let b = Value::new(6.881_373_587_019_543);
    let o = (x1 * w1 + x2 * w2 + b).tanh();
    let grads = o.gradients(&[x1, w1, x2, w2, b]);
    for v in [x1, w1, x2, w2, b] {
        assert_eq!(v.grad(), 0.0, "gradients writes no grad");
    }
    o.backward();
    for (v, g) in [x1, w1, x2, w2, b].iter().zip(&grads) {
        assert_eq!(g.data(), v.grad(), "the same number as backward");
    }
    // Asked twice, and a value the root does not reach: in the order asked.
    let far = Value::new(5.0);
    let again = o.gradients(&[b, far, b]);
    assert_eq!(again[0].data(), b.grad());
    assert_eq!(again[1].data(), 0.0);
    assert_eq!(again[2].data(), b.grad());
}

#[test]
fn a_gradient_graph_lives_in_its_scope() {
    let x = Value::new(0.7);
    let before = tape_len();
    {
        let _scope = Scope::new();
        let f = (x * x).tanh() * x.exp();
        let h = f.hessian(&[x]);
        assert!(h[0][0].data().is_finite());
        assert!(tape_len() > before + 10);
    }
    assert_eq!(tape_len(), before);
}

/// A deterministic stream of numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize % n
    }
}

/// A random smooth expression of `x`, `y`, `z` in `grad`'s grammar.
fn expression(rng: &mut Lcg, depth: usize) -> String {
    let names = ["x", "y", "z"];
    if depth == 0 || rng.next() < 0.2 {
        return if rng.next() < 0.8 {
            names[rng.below(3)].to_string()
        } else {
            format!("{:.2}", rng.next() * 2.0 - 1.0)
        };
    }
    let a = expression(rng, depth - 1);
    match rng.below(7) {
        0 => format!("({a} + {})", expression(rng, depth - 1)),
        1 => format!("({a} - {})", expression(rng, depth - 1)),
        2 | 3 => format!("({a} * {})", expression(rng, depth - 1)),
        4 => format!("({a})**{}", 2 + rng.below(2)),
        _ => {
            let f = ["tanh", "sin", "cos", "sigmoid", "softplus"][rng.below(5)];
            format!("{f}({a})")
        }
    }
}

/// The graph of `text` over leaves `x`, `y`, `z` holding `at`.
fn build_xyz(text: &str, at: &[f64]) -> (Vec<Value>, Value) {
    let leaves: Vec<Value> = at.iter().map(|&v| Value::new(v)).collect();
    let inputs: HashMap<String, Value> = ["x", "y", "z"]
        .iter()
        .map(|n| n.to_string())
        .zip(leaves.iter().copied())
        .collect();
    let root = parse(text).unwrap().build(&inputs).unwrap();
    (leaves, root)
}

/// The gradient of `text` at `at` (over `x`, `y`, `z`), by `backward`.
fn gradient(text: &str, at: &[f64]) -> Vec<f64> {
    let _scope = Scope::new();
    let (leaves, root) = build_xyz(text, at);
    root.backward();
    leaves.iter().map(|v| v.grad()).collect()
}

#[test]
fn hessians_of_random_expressions_match_finite_differences_of_their_gradients() {
    let mut rng = Lcg(18);
    for case in 0..200 {
        let text = expression(&mut rng, 4);
        let at: Vec<f64> = (0..3).map(|_| rng.next() * 2.0 - 1.0).collect();
        let _scope = Scope::new();
        let (leaves, root) = build_xyz(&text, &at);
        let h = root.hessian(&leaves);
        for j in 0..3 {
            // Central differences of the first-order gradient along xⱼ.
            let step = 1e-5;
            let shifted = |k: f64| {
                let mut p = at.clone();
                p[j] += k * step;
                gradient(&text, &p)
            };
            let (plus, minus) = (shifted(1.0), shifted(-1.0));
            for i in 0..3 {
                let fd = (plus[i] - minus[i]) / (2.0 * step);
                let got = h[i][j].data();
                assert!(
                    (got - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                    "case {case}: {text} at {at:?}: H[{i}][{j}] = {got}, finite differences {fd}"
                );
                // Symmetric, as second derivatives of smooth functions.
                let other = h[j][i].data();
                assert!(
                    (got - other).abs() <= 1e-12 * got.abs().max(1.0),
                    "case {case}: {text}: H[{i}][{j}] = {got}, H[{j}][{i}] = {other}"
                );
            }
        }
    }
}

#[test]
fn jvp_is_the_gradient_along_the_tangents_by_forward_mode() {
    let mut rng = Lcg(7);
    for case in 0..100 {
        let text = expression(&mut rng, 4);
        let at: Vec<f64> = (0..3).map(|_| rng.next() * 2.0 - 1.0).collect();
        let tangents: Vec<f64> = (0..3).map(|_| rng.next() * 2.0 - 1.0).collect();
        let _scope = Scope::new();
        let (leaves, root) = build_xyz(&text, &at);
        let before = tape_len();
        let jvp = root.jvp(&leaves, &tangents);
        assert_eq!(tape_len(), before, "forward mode builds no graph");
        // The same sum, from finite differences along the direction.
        let h = 1e-5;
        let along = |k: f64| {
            let _scope = Scope::new();
            let moved: Vec<f64> = (0..3).map(|i| at[i] + k * h * tangents[i]).collect();
            build_xyz(&text, &moved).1.data()
        };
        let fd = (along(1.0) - along(-1.0)) / (2.0 * h);
        assert!(
            (jvp - fd).abs() <= 1e-7 * fd.abs().max(1.0),
            "case {case}: {text}: jvp {jvp}, finite differences {fd}"
        );
    }
}

/// The reference's leaves for `inputs`, in its order, and the graph of
/// `expr` over them.
fn build(case: &serde_json::Value, key: &str) -> (Vec<String>, Vec<Value>, Value) {
    let inputs = case[key].as_object().expect("an object of inputs");
    let names: Vec<String> = inputs.keys().cloned().collect();
    let leaves: Vec<Value> = inputs
        .values()
        .map(|v| Value::new(v.as_f64().unwrap()))
        .collect();
    let by_name: HashMap<String, Value> = names.iter().cloned().zip(leaves.clone()).collect();
    let text = case["expr"].as_str().unwrap();
    let root = parse(text).unwrap().build(&by_name).unwrap();
    (names, leaves, root)
}

#[test]
fn values_gradients_and_hessians_of_random_expressions_match_jax() {
    let data = reference();
    let cases = data["expressions"].as_array().unwrap();
    assert!(cases.len() >= 50);
    for case in cases {
        let _scope = Scope::new();
        let text = case["expr"].as_str().unwrap();
        let (names, leaves, root) = build(case, "inputs");
        near(
            root.data(),
            case["value"].as_f64().unwrap(),
            1e-12,
            1.0,
            text,
        );
        let grads = root.gradients(&leaves);
        let hessian = root.hessian(&leaves);
        for (i, a) in names.iter().enumerate() {
            let expected = case["gradient"][a].as_f64().unwrap();
            near(
                grads[i].data(),
                expected,
                1e-10,
                1.0,
                &format!("{text}: d/d{a}"),
            );
            for (j, b) in names.iter().enumerate() {
                let expected = case["hessian"][a][b].as_f64().unwrap();
                let what = format!("{text}: d²/d{a}d{b}");
                near(hessian[i][j].data(), expected, 1e-8, 1.0, &what);
            }
        }
    }
}

#[test]
fn jvp_and_third_derivatives_match_jax() {
    let data = reference();
    for case in data["jvp"].as_array().unwrap() {
        let _scope = Scope::new();
        let text = case["expr"].as_str().unwrap();
        let (names, leaves, root) = build(case, "inputs");
        let tangents: Vec<f64> = names
            .iter()
            .map(|n| case["tangents"][n].as_f64().unwrap())
            .collect();
        let expected = case["jvp"].as_f64().unwrap();
        near(root.jvp(&leaves, &tangents), expected, 1e-10, 1.0, text);
    }
    for case in data["third_order"].as_array().unwrap() {
        let _scope = Scope::new();
        let text = case["expr"].as_str().unwrap();
        let (_, leaves, root) = build(case, "inputs");
        let mut d = root;
        for _ in 0..3 {
            d = d.gradients(&leaves)[0];
        }
        near(d.data(), case["d3"].as_f64().unwrap(), 1e-10, 1.0, text);
    }
}

#[test]
fn a_batch_root_is_differentiated_as_the_sum_of_its_lanes() {
    let _scope = Scope::new();
    // f = Σₙ (w·xₙ)²: ∂f/∂w = Σ 2w·xₙ² = 56, ∂f/∂xₙ = 2w²·xₙ, ∂²f/∂w² = Σ 2xₙ² = 28,
    // ∂²f/∂w∂xₙ = 4w·xₙ.
    let w = Value::new(2.0);
    let x = Value::batch(&[1.0, 2.0, 3.0]);
    let f = (w * x).powf(2.0);
    let [dw, dx] = f.gradients(&[w, x])[..] else {
        unreachable!()
    };
    assert_eq!(dw.data(), 56.0);
    assert_eq!(dx.data_lanes(), [8.0, 16.0, 24.0]);
    let [dww, dwx] = dw.gradients(&[w, x])[..] else {
        unreachable!()
    };
    assert_eq!(dww.data(), 28.0);
    assert_eq!(dwx.data_lanes(), [8.0, 16.0, 24.0]);
    // Forward mode along w: d/dt Σ (w+t)²xₙ² summed is ∂f/∂w, but f is a
    // batch: jvp takes one number, so it needs sum_lanes.
    assert_eq!(f.sum_lanes().jvp(&[w], &[1.0]), 56.0);
    // Nothing asked, nothing given.
    assert!(f.gradients(&[]).is_empty() && f.hessian(&[]).is_empty());
    assert_eq!(f.sum_lanes().jvp(&[], &[]), 0.0);
}
