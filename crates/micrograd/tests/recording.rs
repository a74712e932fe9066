//! `Recording`: a function traced once and replayed gives the bits of the
//! same function built anew, call after call (forward values, gradients,
//! parameters after updates); what a replay cannot see (a number read while
//! tracing, a value written) traces again; freed traces are traced again;
//! recordings do not nest.

#![cfg(feature = "nn")]

use micrograd::nn::{MLP, Module, loss};
use micrograd::{Input, Recording, Scope, Value};

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// An MLP's SVM loss over a batch of points given as two input batches and
/// a batch of labels (±1): micrograd's demo step in lanes.
fn demo_loss(model: &MLP, x: &[Value]) -> Value {
    let scores = model.forward(&x[..2]);
    let margins = (scores[0] * -x[2] + 1.0).relu();
    let data_loss = margins.sum_lanes() * (1.0 / 7.0);
    data_loss + 1e-4 * loss::l2(&model.parameters())
}

fn points(step: usize) -> [Vec<f64>; 3] {
    let x1: Vec<f64> = (0..7)
        .map(|i| ((i * 7 + step * 3) % 11) as f64 / 5.0 - 1.0)
        .collect();
    let x2: Vec<f64> = (0..7)
        .map(|i| ((i * 5 + step) % 13) as f64 / 6.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..7)
        .map(|i| if (i + step) % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    [x1, x2, y]
}

/// Trains `steps` SGD steps of the demo's loss, each step's graph either
/// replayed from one recording or built anew in a scope; returns every
/// step's loss, and every parameter's gradient and data after each step.
fn train(replay: bool, steps: usize) -> Vec<(u64, Vec<u64>, Vec<u64>)> {
    let model = MLP::new(2, &[6, 5, 1]);
    let params = model.parameters();
    let mut recording = Recording::new(|x: &[Value]| demo_loss(&model, x));
    recording.set_replay(replay);
    let mut out = Vec::new();
    for step in 0..steps {
        let [x1, x2, y] = points(step);
        let inputs = [Input::from(&x1), Input::from(&x2), Input::from(&y)];
        let loss = recording.call(&inputs);
        for p in &params {
            p.set_grad(0.0);
        }
        loss.backward();
        let grads: Vec<f64> = params.iter().map(|p| p.grad()).collect();
        for p in &params {
            p.set_data(p.data() - 0.1 * p.grad());
        }
        let data: Vec<f64> = params.iter().map(|p| p.data()).collect();
        out.push((loss.data().to_bits(), bits(&grads), bits(&data)));
    }
    assert_eq!(
        recording.traces(),
        if replay { 1 } else { steps },
        "traced once when replayed, every call otherwise"
    );
    out
}

#[test]
fn a_replayed_training_step_gives_the_bits_of_building_it_again() {
    let (replayed, built) = (train(true, 12), train(false, 12));
    for (step, (r, b)) in replayed.iter().zip(&built).enumerate() {
        assert_eq!(r.0, b.0, "step {step}: loss");
        assert!(r.1 == b.1, "step {step}: gradients");
        assert!(r.2 == b.2, "step {step}: parameters");
    }
}

#[test]
fn a_graph_of_single_values_replays_node_by_node() {
    // The lecture's neuron, a node per + and *.
    let w = [Value::new(-3.0), Value::new(1.0)];
    let b = Value::new(6.881_373_587_019_543);
    let mut neuron = Recording::new(|x: &[Value]| (x[0] * w[0] + x[1] * w[1] + b).tanh());
    for (x1, x2) in [(2.0, 0.0), (1.5, -0.5), (-2.0, 3.0), (0.25, 0.125)] {
        let out = neuron.call(&[Input::One(x1), Input::One(x2)]);
        for p in [w[0], w[1], b] {
            p.set_grad(0.0);
        }
        out.backward();
        let replayed = [out.data(), w[0].grad(), w[1].grad(), b.grad()];
        // The same graph, built anew, by hand.
        let _built = Scope::new();
        let (v1, v2) = (Value::new(x1), Value::new(x2));
        let fresh = (v1 * w[0] + v2 * w[1] + b).tanh();
        for p in [w[0], w[1], b] {
            p.set_grad(0.0);
        }
        fresh.backward();
        let built = [fresh.data(), w[0].grad(), w[1].grad(), b.grad()];
        assert_eq!(bits(&replayed), bits(&built), "x = ({x1}, {x2})");
    }
    assert_eq!(neuron.traces(), 1);
}

/// The gradients of every node the function made, in creation order,
/// found from `out` through the operands (its inputs and constants among
/// them); batches as their lanes.
fn made_grads(out: Value) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut stack = vec![out];
    while let Some(v) = stack.pop() {
        if !seen.contains(&v) {
            seen.push(v);
            stack.extend(v.children());
        }
    }
    seen.iter()
        .flat_map(|v| {
            if v.is_batch() {
                v.grad_lanes()
            } else {
                vec![v.grad()]
            }
        })
        .map(f64::to_bits)
        .collect()
}

#[test]
fn a_replay_starts_the_functions_gradients_at_zero_as_a_new_trace_does() {
    // x·c + c, c a constant made inside; and a batch's lanes times a
    // parameter, summed.
    let w = Value::new(0.5);
    let f = |x: &[Value]| {
        let c = Value::new(3.0);
        let one = x[0] * c + c;
        let unused = one * 2.0; // a node the root does not reach
        let _ = unused;
        (x[1] * w).sum_lanes() + one
    };
    let mut replayed = Recording::new(f);
    let mut traced = Recording::new(f);
    traced.set_replay(false);
    for (step, x) in [2.0, -1.0, 0.5].into_iter().enumerate() {
        let lanes = [x, 2.0 * x, -3.0];
        let inputs = [Input::One(x), Input::Lanes(&lanes)];
        let (r, t) = (replayed.call(&inputs), traced.call(&inputs));
        r.backward();
        t.backward();
        assert_eq!(made_grads(r), made_grads(t), "step {step}");
        // By hand: d/dx = c = 3, d/dc = x + 1, each lane's d/dx = w.
        let [sum, one] = r.children()[..] else {
            panic!()
        };
        let [product, c] = one.children()[..] else {
            panic!()
        };
        let x_node = product.children()[0];
        assert_eq!((x_node.grad(), c.grad()), (3.0, x + 1.0), "step {step}");
        let lanes_node = sum.children()[0].children()[0];
        assert_eq!(lanes_node.grad_lanes(), [0.5; 3], "step {step}");
    }
    assert_eq!(replayed.traces(), 1);
    assert_eq!(traced.traces(), 3);
    // The parameter, made outside, accumulates as it would with no
    // recording: each call of both recordings adds its lanes' sum.
    let sums: f64 = [2.0f64, -1.0, 0.5].iter().map(|&x| x + 2.0 * x - 3.0).sum();
    assert_eq!(w.grad(), 2.0 * sums);
}

#[test]
fn the_lectures_first_neuron_replayed_is_the_lectures_number() {
    // tanh(2·-3 + 0·1 + 6.8813735870195432) = 0.7071067811865476 in the
    // lecture; replayed with other inputs, then with the lecture's again.
    let w = [Value::new(-3.0), Value::new(1.0)];
    let b = Value::new(6.881_373_587_019_543);
    let mut neuron = Recording::new(|x: &[Value]| (x[0] * w[0] + x[1] * w[1] + b).tanh());
    let _ = neuron.call(&[Input::One(1.0), Input::One(1.0)]);
    let out = neuron.call(&[Input::One(2.0), Input::One(0.0)]);
    // The lecture prints 0.7071067811865476: 1/√2 to the last digit.
    assert_eq!(out.data(), std::f64::consts::FRAC_1_SQRT_2);
    out.backward();
    // d tanh = 1 - 0.5 = 0.5 (to the bits of 1 - t·t); dw0 = x0 · 0.5.
    let dt = 1.0 - out.data() * out.data();
    assert_eq!(w[0].grad(), 2.0 * dt);
    assert_eq!(neuron.traces(), 1);
}

#[test]
fn second_derivatives_are_recorded_and_replayed() {
    // d/dx of d(x³)/dx = 6x, as a gradient graph inside the recording.
    let mut slope = Recording::new(|x: &[Value]| {
        let y = x[0].powf(3.0);
        let dy = y.gradients(&x[..1])[0];
        dy.gradients(&x[..1])[0]
    });
    for x in [1.0, -2.5, 0.75] {
        let d2 = slope.call(&[Input::One(x)]);
        assert_eq!(d2.data(), 6.0 * x, "x = {x}");
    }
    assert_eq!(slope.traces(), 1);
}

#[test]
fn a_branch_on_a_value_traces_again_and_stays_right() {
    let mut f = Recording::new(|x: &[Value]| {
        if x[0].data() > 0.0 {
            x[0] * 2.0
        } else {
            x[0] * -3.0
        }
    });
    for (x, want) in [(1.0, 2.0), (2.0, 4.0), (-1.0, 3.0), (-2.0, 6.0)] {
        assert_eq!(f.call(&[Input::One(x)]).data(), want, "x = {x}");
    }
    // Every call read a new number: each was traced.
    assert_eq!(f.traces(), 4);
    // A read that does not change is a guard that holds: replayed.
    let c = Value::new(5.0);
    let mut g = Recording::new(|x: &[Value]| if c.data() > 0.0 { x[0] + c } else { x[0] - c });
    for x in [1.0, 2.0, 3.0] {
        assert_eq!(g.call(&[Input::One(x)]).data(), x + 5.0);
    }
    assert_eq!(g.traces(), 1);
    c.set_data(-5.0);
    assert_eq!(g.call(&[Input::One(1.0)]).data(), 6.0, "the other branch");
    assert_eq!(g.traces(), 2);
}

#[test]
fn a_softmax_loss_reads_its_logits_so_it_traces_every_call() {
    let model = MLP::new(2, &[4, 3]);
    let mut f = Recording::new(|x: &[Value]| {
        let logits = model.forward(&x[..2]);
        let classes = [0, 2, 1];
        loss::softmax_cross_entropy(&logits, &classes, 3)
    });
    for step in 0..3 {
        let [x1, x2, _] = points(step);
        let (x1, x2) = (&x1[..3], &x2[..3]);
        let replayed = f.call(&[Input::Lanes(x1), Input::Lanes(x2)]).data();
        let built = micrograd::scope(|| {
            let logits = model.forward(&[Value::batch(x1), Value::batch(x2)]);
            loss::softmax_cross_entropy(&logits, &[0, 2, 1], 3).data()
        });
        assert_eq!(replayed.to_bits(), built.to_bits(), "step {step}");
    }
    assert_eq!(f.traces(), 3);
}

#[test]
fn writing_data_while_tracing_traces_every_call() {
    let mut f = Recording::new(|x: &[Value]| {
        let y = x[0] * 2.0;
        y.set_data(1.0);
        y + 1.0
    });
    assert_eq!(f.call(&[Input::One(3.0)]).data(), 2.0);
    assert_eq!(f.call(&[Input::One(4.0)]).data(), 2.0);
    assert_eq!(f.traces(), 2);
}

#[test]
fn a_trace_freed_by_a_scope_is_traced_again() {
    let w = Value::new(2.0);
    let mut f = Recording::new(|x: &[Value]| x[0] * w);
    {
        let _step = Scope::new();
        assert_eq!(f.call(&[Input::One(3.0)]).data(), 6.0);
    }
    assert_eq!(f.call(&[Input::One(4.0)]).data(), 8.0);
    assert_eq!(f.traces(), 2);
    // Other shapes trace again too.
    assert_eq!(
        f.call(&[Input::Lanes(&[1.0, 2.0])]).data_lanes(),
        [2.0, 4.0]
    );
    assert_eq!(f.traces(), 3);
}

#[test]
fn recordings_do_not_nest() {
    let outer = std::panic::catch_unwind(|| {
        let mut inner = Recording::new(|x: &[Value]| x[0] * 2.0);
        let mut outer = Recording::new(|x: &[Value]| inner.call(&[Input::One(1.0)]) + x[0]);
        outer.call(&[Input::One(1.0)]);
    });
    let message = outer.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("do not nest"), "{message}");
    // The tape is usable after the panic: no trace left running.
    let mut f = Recording::new(|x: &[Value]| x[0] + 1.0);
    assert_eq!(f.call(&[Input::One(1.0)]).data(), 2.0);
    assert_eq!(f.call(&[Input::One(2.0)]).data(), 3.0);
    assert_eq!(f.traces(), 1);
}
