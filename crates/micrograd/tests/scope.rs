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

#[test]
fn scopes_dropped_out_of_order_do_not_cut_into_later_nodes() {
    // Dropping the outer scope first ends the inner one too; the inner
    // guard's own drop must then do nothing, not truncate nodes (or sum
    // operands) built after the outer scope ended.
    let outer = Scope::new();
    let inner = Scope::new();
    drop(outer);
    let (a, b) = (Value::new(1.0), Value::new(2.0));
    let before = tape_len();
    drop(inner);
    assert_eq!(tape_len(), before);
    let s: Value = [a, b, a, b, a].iter().sum();
    s.backward();
    assert_eq!((s.data(), a.grad(), b.grad()), (7.0, 3.0, 2.0));
}

#[test]
#[should_panic(expected = "was freed")]
fn a_sum_whose_operand_was_freed_mid_iteration_panics() {
    let mut step = Some(Scope::new());
    let _: Value = (0..2)
        .map(|i| {
            if i == 1 {
                drop(step.take()); // frees the first item
            }
            Value::new(10.0 + f64::from(i))
        })
        .sum();
}

#[test]
fn a_panicking_inner_sum_leaves_nothing_for_the_outer_one() {
    let a = Value::new(1.0);
    let outer: Value = (0..2)
        .map(|i| {
            if i == 1 {
                let _ = std::panic::catch_unwind(|| {
                    let _: Value = (0..3)
                        .map(|k| if k == 2 { panic!("inner") } else { a })
                        .sum();
                });
            }
            a
        })
        .sum();
    // Two operands, both `a`: the inner sum's collected `a`s are forgotten.
    assert_eq!(outer.data(), 2.0);
    assert_eq!(outer.children().len(), 2);
}
