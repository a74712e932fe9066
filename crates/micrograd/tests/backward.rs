//! What `backward` promises beyond single gradients: accumulation across
//! calls, which nodes it touches, determinism, and depth.

use micrograd::{Scope, Value};

#[test]
fn leaves_accumulate_across_calls() {
    // PyTorch semantics: without zeroing, a second backward doubles the leaf
    // gradients exactly. (micrograd also overwrites the intermediates'
    // gradients by accumulation, so its second call gives wrong numbers.)
    let a = Value::new(3.0);
    let b = Value::new(-2.0);
    let c = a * b + a.tanh();
    let y = c * c;
    y.backward();
    let once = (a.grad(), b.grad(), c.grad());
    y.backward();
    assert_eq!(a.grad(), 2.0 * once.0);
    assert_eq!(b.grad(), 2.0 * once.1);
    // An intermediate node holds d(y)/d(c) of the latest call, not a sum.
    assert_eq!(c.grad(), once.2);
    assert_eq!(y.grad(), 1.0);
}

#[test]
fn intermediate_gradients_follow_the_latest_root() {
    let a = Value::new(2.0);
    let b = a * 3.0; // db/da = 3
    let c = b * b; // dc/db = 2b = 12
    c.backward();
    assert_eq!(b.grad(), 12.0);
    b.backward(); // now b is the root
    assert_eq!(b.grad(), 1.0);
    assert_eq!(a.grad(), 36.0 + 3.0); // leaves accumulate: 2b·3 + 3
    // A manually set gradient on an intermediate node is replaced, too.
    b.set_grad(100.0);
    c.backward();
    assert_eq!(b.grad(), 12.0);
}

#[test]
fn nodes_outside_the_roots_graph_are_untouched() {
    let a = Value::new(1.0);
    let unrelated = Value::new(5.0);
    let side = unrelated * 2.0; // built before the root, not part of it
    side.set_grad(7.0);
    unrelated.set_grad(-1.0);
    let y = a * 4.0;
    y.backward();
    assert_eq!((a.grad(), side.grad(), unrelated.grad()), (4.0, 7.0, -1.0));
}

#[test]
fn unreachable_infinities_do_not_poison_gradients() {
    // ln(0) has an infinite local derivative; a zero gradient flowing through
    // it would be 0·inf = NaN. It is not part of y's graph, so it must not
    // contribute at all.
    let a = Value::new(0.0);
    let _dead_end = a.ln();
    let y = a * 2.0 + 1.0;
    y.backward();
    assert_eq!(a.grad(), 2.0);
}

#[test]
fn a_leaf_root_accumulates_one() {
    let a = Value::new(5.0);
    a.backward();
    a.backward();
    assert_eq!(a.grad(), 2.0);
}

fn mixed_graph() -> (Vec<Value>, Value) {
    let xs: Vec<Value> = (0..20)
        .map(|i| Value::new(0.1 * f64::from(i) - 0.9))
        .collect();
    let mut acc = xs[0];
    for (i, &x) in xs.iter().enumerate().skip(1) {
        acc = match i % 5 {
            0 => (acc * x).tanh() + acc,
            1 => acc + x.sigmoid() * acc,
            2 => acc / (x * x + 1.0),
            3 => (acc - x).relu() + x.exp() * 0.1,
            _ => acc * acc * 0.5 - x,
        };
    }
    (xs, acc)
}

#[test]
fn results_are_bit_for_bit_repeatable() {
    let run = || {
        let _scope = Scope::new();
        let (xs, y) = mixed_graph();
        y.backward();
        let mut bits: Vec<u64> = xs.iter().map(|x| x.grad().to_bits()).collect();
        bits.push(y.data().to_bits());
        bits
    };
    let first = run();
    for _ in 0..5 {
        assert_eq!(run(), first);
    }
    let elsewhere = std::thread::spawn(run).join().unwrap();
    assert_eq!(elsewhere, first);
}

#[test]
fn a_million_additions_build_backpropagate_and_free() {
    let x = Value::new(0.5);
    let one = Value::new(1.0);
    let n = 1_000_000;
    let before = micrograd::tape_len();
    {
        let _scope = Scope::new();
        let mut y = x;
        for _ in 0..n {
            y += one;
        }
        y.backward();
        assert_eq!(y.data(), 0.5 + n as f64);
        assert_eq!((x.grad(), one.grad()), (1.0, n as f64));
        assert_eq!(micrograd::tape_len(), before + n);
    }
    assert_eq!(micrograd::tape_len(), before);
}

#[test]
fn a_deep_chain_of_every_op_backpropagates() {
    // 200,000 unary ops deep: no recursion anywhere.
    let x = Value::new(0.3);
    let mut y = x;
    for i in 0..50_000 {
        y = match i % 4 {
            0 => y.tanh(),
            1 => y.sigmoid(),
            2 => y.relu(),
            _ => y * 1.0,
        };
    }
    y.backward();
    assert!(x.grad().is_finite());
    assert!(micrograd::tape_len() > 50_000);
}
