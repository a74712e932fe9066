//! The lecture "The spelled-out intro to neural networks and
//! backpropagation: building micrograd", step by step. Expected numbers are
//! worked out by hand, or are what the lecture's own Python code prints
//! (its `Value` class, run under CPython: the reference implementation).

// Numbers are written as the lecture writes and prints them.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

mod common;

use common::assert_close;
use micrograd::{Op, Value};

/// The lecture's first expression: L = (a*b + c) * f.
#[test]
fn expression_and_its_gradients() {
    let a = Value::new(2.0).with_label("a");
    let b = Value::new(-3.0).with_label("b");
    let c = Value::new(10.0).with_label("c");
    let e = (a * b).with_label("e");
    let d = (e + c).with_label("d");
    let f = Value::new(-2.0).with_label("f");
    let l = (d * f).with_label("L");
    assert_eq!(l.data(), -8.0);
    l.backward();
    // dL/dd = f, dL/df = d, dL/de = dL/dc = f, dL/da = f·b, dL/db = f·a
    assert_eq!(
        (a.grad(), b.grad(), c.grad(), f.grad()),
        (6.0, -4.0, -2.0, 4.0)
    );
    assert_eq!((d.grad(), e.grad(), l.grad()), (-2.0, -2.0, 1.0));
    assert_eq!(l.label(), "L");
    assert_eq!(l.children(), vec![d, f]);
    assert_eq!(l.op(), Op::Mul);
}

/// The lecture's manual backpropagation: gradients set by hand agree with
/// `backward`, and a nudge along them raises L as predicted.
#[test]
fn manual_backpropagation() {
    let build = || {
        let a = Value::new(2.0);
        let b = Value::new(-3.0);
        let c = Value::new(10.0);
        let f = Value::new(-2.0);
        let e = a * b;
        let d = e + c;
        (a, b, c, f, e, d, d * f)
    };
    let (a, b, c, f, e, d, l) = build();
    l.set_grad(1.0);
    f.set_grad(d.data() * l.grad());
    d.set_grad(f.data() * l.grad());
    c.set_grad(d.grad());
    e.set_grad(d.grad());
    a.set_grad(b.data() * e.grad());
    b.set_grad(a.data() * e.grad());
    let by_hand: Vec<f64> = [a, b, c, f, e, d].iter().map(|v| v.grad()).collect();

    let (a2, b2, c2, f2, e2, d2, l2) = build();
    l2.backward();
    let by_backward: Vec<f64> = [a2, b2, c2, f2, e2, d2].iter().map(|v| v.grad()).collect();
    assert_eq!(by_hand, by_backward);

    // One step of 0.01 along the gradient: L goes from -8 to
    // (a'b' + c')f' with every input moved by 0.01·grad.
    for v in [a, b, c, f] {
        v.set_data(v.data() + 0.01 * v.grad());
    }
    let l_after = (a.data() * b.data() + c.data()) * f.data();
    assert!(l_after > l.data());
    assert_close(
        l_after,
        (2.06 * -3.04 + 9.98) * -1.96,
        1e-12,
        "L after one step",
    );
}

fn neuron() -> [Value; 6] {
    let x1 = Value::new(2.0).with_label("x1");
    let x2 = Value::new(0.0).with_label("x2");
    let w1 = Value::new(-3.0).with_label("w1");
    let w2 = Value::new(1.0).with_label("w2");
    let b = Value::new(6.8813735870195432).with_label("b");
    let n = (x1 * w1 + x2 * w2 + b).with_label("n");
    [x1, x2, w1, w2, b, n]
}

/// The tanh neuron: o = tanh(x1·w1 + x2·w2 + b) with b chosen so that
/// n = atanh(1/√2), o = 1/√2, do/dn = 1 - o² = 1/2.
#[test]
fn tanh_neuron() {
    let [x1, x2, w1, w2, b, n] = neuron();
    let o = n.tanh().with_label("o");
    o.backward();
    // The lecture's micrograd prints exactly these (its tanh is
    // (e^2n - 1)/(e^2n + 1), and 1 - o**2 rounds to 0.4999999999999999).
    assert_eq!(n.data(), 0.8813735870195432);
    assert_eq!(o.data(), 0.7071067811865476);
    assert_eq!(x1.grad(), -1.4999999999999996);
    assert_eq!(w1.grad(), 0.9999999999999998);
    assert_eq!(x2.grad(), 0.4999999999999999);
    assert_eq!(w2.grad(), 0.0);
    assert_eq!(b.grad(), 0.4999999999999999);
    // The true values, to the last few bits: 1/√2; w1·½, x1·½, w2·½, x2·½.
    assert_close(o.data(), std::f64::consts::FRAC_1_SQRT_2, 1e-15, "o");
    assert_close(x1.grad(), -1.5, 1e-15, "do/dx1");
    assert_close(w1.grad(), 1.0, 1e-15, "do/dw1");
    assert_close(x2.grad(), 0.5, 1e-15, "do/dx2");
}

/// The same neuron with tanh spelled out from exp, as the lecture does next:
/// o = (e - 1)/(e + 1) with e = exp(2n).
#[test]
fn tanh_neuron_built_from_exp() {
    let [x1, x2, w1, w2, _, n] = neuron();
    let e = (2.0 * n).exp();
    let o = (e - 1.0) / (e + 1.0);
    o.backward();
    // What the lecture's Python prints for this graph.
    assert_eq!(o.data(), 0.7071067811865477);
    assert_eq!(
        (x1.grad(), w1.grad(), x2.grad(), w2.grad()),
        (-1.5, 1.0, 0.5, 0.0)
    );
    assert_close(o.data(), std::f64::consts::FRAC_1_SQRT_2, 1e-15, "o");
}

/// Stepping through the lecture's manual `_backward` calls in reverse
/// topological order gives what `backward` gives.
#[test]
fn backward_local_in_topological_order() {
    let [x1, x2, w1, w2, b, n] = neuron();
    let o = n.tanh();
    o.set_grad(1.0);
    for node in o.topo().into_iter().rev() {
        node.backward_local();
    }
    let stepwise: Vec<f64> = [x1, x2, w1, w2, b, n].iter().map(|v| v.grad()).collect();

    let [x1, x2, w1, w2, b, n] = neuron();
    n.tanh().backward();
    let swept: Vec<f64> = [x1, x2, w1, w2, b, n].iter().map(|v| v.grad()).collect();
    assert_eq!(stepwise, swept);
}

/// The bug the lecture fixes: a node used twice must receive both
/// contributions. b = a + a: db/da = 2.
#[test]
fn reused_node_in_one_op() {
    let a = Value::new(3.0);
    let b = a + a;
    b.backward();
    assert_eq!(a.grad(), 2.0);
}

/// f = d·e with d = a·b, e = a + b: f = ab(a + b),
/// df/da = b(a + b) + ab = -3, df/db = a(a + b) + ab = -8 at a = -2, b = 3.
#[test]
fn reused_nodes_across_ops() {
    let a = Value::new(-2.0);
    let b = Value::new(3.0);
    let d = a * b;
    let e = a + b;
    let f = d * e;
    f.backward();
    assert_eq!((a.grad(), b.grad()), (-3.0, -8.0));
}

/// g = f + f·c with f = a·b: g = ab(1 + c), dg/da = b(1 + c) = 15. A
/// pre-order traversal (a bug found in a published Rust port) gets this wrong.
#[test]
fn reused_intermediate_node() {
    let a = Value::new(2.0);
    let b = Value::new(3.0);
    let c = Value::new(4.0);
    let f = a * b;
    let g = f + f * c;
    g.backward();
    assert_eq!(a.grad(), 15.0);
    assert_eq!(b.grad(), 10.0); // a(1 + c)
    assert_eq!(c.grad(), 6.0); // ab
    assert_eq!(f.grad(), 5.0); // 1 + c
}
