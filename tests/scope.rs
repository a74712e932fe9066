//! Freeing graphs: scopes, stale handles, and memory that stays flat.

use micrograd::{Scope, Value, scope, tape_len};

#[test]
fn a_scope_frees_what_was_built_inside_it() {
    let w = Value::new(2.0);
    let before = tape_len();
    {
        let _step = Scope::new();
        let y = (w * 3.0).tanh() + w;
        y.backward();
        assert!(tape_len() > before);
    }
    assert_eq!(tape_len(), before);
    // The persistent value and what backward gave it survive.
    assert_eq!(w.data(), 2.0);
    assert!(w.grad() > 1.0);
}

#[test]
fn the_closure_form_returns_plain_numbers() {
    let x = Value::new(4.0);
    let before = tape_len();
    let (y, dy) = scope(|| {
        let y = x.powf(0.5);
        y.backward();
        (y.data(), x.grad())
    });
    assert_eq!((y, dy), (2.0, 0.25));
    assert_eq!(tape_len(), before);
}

#[test]
fn scopes_nest() {
    let base = tape_len();
    let outer = Scope::new();
    let a = Value::new(1.0);
    {
        let _inner = Scope::new();
        let _b = a + 1.0;
        assert_eq!(tape_len(), base + 3);
    }
    assert_eq!(tape_len(), base + 1);
    assert_eq!(a.data(), 1.0);
    drop(outer);
    assert_eq!(tape_len(), base);
}

#[test]
#[should_panic(expected = "was freed when the Scope it was created in ended")]
fn using_a_freed_value_panics() {
    let escaped = scope(|| Value::new(1.0) * 2.0);
    let _ = escaped.data();
}

#[test]
#[should_panic(expected = "its slot now holds another node")]
fn a_freed_value_never_reads_the_node_that_replaced_it() {
    let escaped = scope(|| Value::new(1.0));
    let replacement = Value::new(99.0);
    assert_eq!(replacement.data(), 99.0);
    let _ = escaped.data(); // same slot, new generation: must panic, not read 99
}

#[test]
#[should_panic(expected = "was freed")]
fn operating_on_a_freed_value_panics() {
    let escaped = scope(|| Value::new(1.0));
    let _ = Value::new(1.0) + Value::new(2.0);
    let _ = escaped * 2.0;
}

#[test]
fn labels_go_with_their_nodes() {
    let kept = Value::new(1.0).with_label("kept");
    scope(|| {
        let _ = Value::new(2.0).with_label("temporary");
    });
    let fresh = Value::new(3.0);
    assert_eq!(fresh.label(), "");
    assert_eq!(kept.label(), "kept");
}

#[test]
fn memory_stays_flat_across_steps() {
    let w: Vec<Value> = (0..10).map(|i| Value::new(f64::from(i) * 0.1)).collect();
    let base = tape_len();
    for _ in 0..100 {
        let _step = Scope::new();
        let loss: Value = w.iter().map(|&p| (p * 2.0 - 1.0).powf(2.0)).sum();
        loss.backward();
        for p in &w {
            p.set_data(p.data() - 0.01 * p.grad());
            p.set_grad(0.0);
        }
    }
    assert_eq!(tape_len(), base);
}
