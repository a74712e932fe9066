//! Second order on micrograd's demo: its loss's gradient graph, its
//! Hessian-vector products on a batch and per point (against finite
//! differences, each other and JAX in float64), and a gradient penalty
//! backpropagated.

#![cfg(feature = "nn")]

mod common;

use common::{assert_close, near, second_order_reference as reference};
use micrograd::nn::{MLP, Module, batch_inputs};
use micrograd::{Scope, Value};

/// micrograd's demo loss at `params` (its MLP 2-16-16-1 on its 100
/// points), on a batch or point by point: `mean(relu(1 - y·score)) +
/// 1e-4·Σp²`.
fn demo_loss(model: &MLP, batched: bool) -> Value {
    let data = micrograd::data::micrograd_demo();
    let n = data.y.len() as f64;
    let data_loss = if batched {
        let scores = model.forward(&batch_inputs(&data.x))[0];
        let minus_y: Vec<f64> = data.y.iter().map(|y| -y).collect();
        (1.0 + Value::batch(&minus_y) * scores).relu().sum_lanes() * (1.0 / n)
    } else {
        let losses: Vec<Value> = data
            .x
            .iter()
            .zip(&data.y)
            .map(|(x, &y)| (1.0 + -y * model.forward(x)[0]).relu())
            .collect();
        losses.iter().sum::<Value>() * (1.0 / n)
    };
    data_loss + 1e-4 * Value::sum_squares(&model.parameters())
}

fn demo_model() -> MLP {
    MLP::from_weights(&micrograd::data::micrograd_demo_weights())
}

#[test]
fn the_demos_gradient_graph_holds_backwards_numbers_on_a_batch_and_per_point() {
    let model = demo_model();
    let params = model.parameters();
    for batched in [true, false] {
        let _scope = Scope::new();
        let loss = demo_loss(&model, batched);
        let grads = loss.gradients(&params);
        model.zero_grad();
        loss.backward();
        for (i, (p, g)) in params.iter().zip(&grads).enumerate() {
            assert_close(
                g.data(),
                p.grad(),
                1e-12,
                &format!("batched {batched}: parameter {i}"),
            );
        }
    }
}

/// The demo's Hessian times `v`, by the graph, on a batch or per point.
fn demo_hvp(model: &MLP, batched: bool, v: &[f64]) -> Vec<f64> {
    let _scope = Scope::new();
    let loss = demo_loss(model, batched);
    let hv = loss.hvp(&model.parameters(), v);
    hv.iter().map(|h| h.data()).collect()
}

/// The demo's gradient at `params`, by `backward`.
fn demo_gradient(params: &[f64], batched: bool) -> Vec<f64> {
    let model = demo_model();
    for (p, &x) in model.parameters().iter().zip(params) {
        p.set_data(x);
    }
    let _scope = Scope::new();
    demo_loss(&model, batched).backward();
    model.parameters().iter().map(|p| p.grad()).collect()
}

#[test]
fn the_demos_hvp_on_a_batch_equals_per_point_and_finite_differences_of_its_gradient() {
    let model = demo_model();
    let p0: Vec<f64> = model.parameters().iter().map(|p| p.data()).collect();
    let v: Vec<f64> = (0..p0.len()).map(|i| (i as f64 * 0.37).sin()).collect();
    let batched = demo_hvp(&model, true, &v);
    let per_point = demo_hvp(&model, false, &v);
    // Central differences of the gradient along v.
    let h = 1e-5;
    let along = |k: f64| -> Vec<f64> {
        let p: Vec<f64> = p0.iter().zip(&v).map(|(p, v)| p + k * h * v).collect();
        demo_gradient(&p, true)
    };
    let (plus, minus) = (along(1.0), along(-1.0));
    let scale = batched.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    for i in 0..p0.len() {
        assert!(
            (batched[i] - per_point[i]).abs() <= 1e-12 * scale,
            "parameter {i}: batched {}, per point {}",
            batched[i],
            per_point[i]
        );
        let fd = (plus[i] - minus[i]) / (2.0 * h);
        assert!(
            (batched[i] - fd).abs() <= 1e-6 * scale,
            "parameter {i}: hvp {}, finite differences {fd}",
            batched[i]
        );
    }
}

#[test]
fn the_demos_hvp_is_a_graph_that_differentiates_again() {
    let model = demo_model();
    let params = model.parameters();
    let v: Vec<f64> = params.iter().map(|p| p.data().sin()).collect();
    let _scope = Scope::new();
    let loss = demo_loss(&model, true);
    let hv = loss.hvp(&params, &v);
    // vᵀHv, and its gradient: d(vᵀH(p)v)/dp, the third derivative along
    // v twice, against finite differences of vᵀHv itself.
    let vhv = Value::affine(
        &v.iter().map(|&x| Value::new(x)).collect::<Vec<_>>(),
        &hv,
        Value::new(0.0),
    );
    let third = vhv.gradients(&params);
    let p0: Vec<f64> = params.iter().map(|p| p.data()).collect();
    let quadratic = |p: &[f64]| -> f64 {
        let model = demo_model();
        for (q, &x) in model.parameters().iter().zip(p) {
            q.set_data(x);
        }
        let hv = demo_hvp(&model, true, &v);
        hv.iter().zip(&v).map(|(h, v)| h * v).sum()
    };
    // Along a few parameters of the last layer and of the first.
    for i in [0, 5, 100, 300, 336] {
        let h = 1e-5;
        let shifted = |k: f64| {
            let mut p = p0.clone();
            p[i] += k * h;
            quadratic(&p)
        };
        let fd = (shifted(1.0) - shifted(-1.0)) / (2.0 * h);
        let got = third[i].data();
        assert!(
            (got - fd).abs() <= 1e-5 * fd.abs().max(1e-3),
            "parameter {i}: d(vᵀHv)/dp = {got}, finite differences {fd}"
        );
    }
}

#[test]
fn the_demos_gradient_hvp_and_jvp_match_jax_on_a_batch_and_per_point() {
    let data = reference();
    let demo = &data["demo_hvp"];
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let model = demo_model();
    let params = model.parameters();
    let p = numbers(&demo["params"]);
    assert_eq!(p.len(), params.len());
    for (q, &x) in params.iter().zip(&p) {
        assert_eq!(q.data(), x, "the reference starts from the demo's weights");
    }
    for batched in [true, false] {
        let _scope = Scope::new();
        let loss = demo_loss(&model, batched);
        near(
            loss.data(),
            demo["loss"].as_f64().unwrap(),
            1e-14,
            1.0,
            "loss",
        );
        let gradient = numbers(&demo["gradient"]);
        let scale = gradient.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        for (i, g) in loss.gradients(&params).iter().enumerate() {
            near(
                g.data(),
                gradient[i],
                1e-12,
                scale,
                &format!("gradient {i}"),
            );
        }
        for vector in demo["vectors"].as_array().unwrap() {
            let name = vector["name"].as_str().unwrap();
            let v = numbers(&vector["v"]);
            let expected = numbers(&vector["hvp"]);
            let scale = expected.iter().fold(0.0_f64, |m, h| m.max(h.abs()));
            let hv = loss.hvp(&params, &v);
            for i in 0..params.len() {
                let what = format!("batched {batched}: (H·{name})[{i}]");
                near(hv[i].data(), expected[i], 1e-12, scale, &what);
            }
            let vhv: f64 = hv.iter().zip(&v).map(|(h, v)| h.data() * v).sum();
            near(vhv, vector["vHv"].as_f64().unwrap(), 1e-11, 1.0, "vᵀHv");
        }
        let v = numbers(&demo["vectors"][1]["v"]);
        let jvp = loss.jvp(&params, &v);
        near(jvp, demo["jvp_random"].as_f64().unwrap(), 1e-12, 1.0, "jvp");
    }
}

/// The demo's loss plus a gradient penalty, `λ·Σ (∂loss/∂p)²`, on a batch.
fn penalized(model: &MLP) -> Value {
    let params = model.parameters();
    let loss = demo_loss(model, true);
    let grads = loss.gradients(&params);
    loss + 0.1 * Value::sum_squares(&grads)
}

#[test]
fn a_gradient_penalty_backpropagates_through_the_gradient_graph() {
    let model = demo_model();
    let params = model.parameters();
    let p0: Vec<f64> = params.iter().map(|p| p.data()).collect();
    let _scope = Scope::new();
    let total = penalized(&model);
    // backward's numbers, and the same gradient as a graph.
    model.zero_grad();
    total.backward();
    let by_graph = total.gradients(&params);
    let at = |p: &[f64]| -> f64 {
        for (q, &x) in params.iter().zip(p) {
            q.set_data(x);
        }
        let _scope = Scope::new();
        penalized(&model).data()
    };
    let scale = params.iter().fold(0.0_f64, |m, p| m.max(p.grad().abs()));
    for (i, p) in params.iter().enumerate() {
        near(
            by_graph[i].data(),
            p.grad(),
            1e-12,
            scale,
            &format!("parameter {i}"),
        );
    }
    for i in [0, 17, 40, 200, 330, 336] {
        let h = 1e-6;
        let mut p = p0.clone();
        p[i] += h;
        let plus = at(&p);
        p[i] -= 2.0 * h;
        let minus = at(&p);
        let fd = (plus - minus) / (2.0 * h);
        near(
            params[i].grad(),
            fd,
            1e-6,
            scale,
            &format!("parameter {i} by finite differences"),
        );
    }
    at(&p0);
}
