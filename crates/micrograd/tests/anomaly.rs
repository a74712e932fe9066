//! Anomaly detection: the first value or gradient that is not finite, by
//! op, label and position, for the cases `grad --json` used to hide.

use micrograd::{AnomalyKind, Op, Value};

#[test]
fn a_finite_graph_has_no_anomaly() {
    let x = Value::new(2.0);
    let y = (x * x).tanh() + x.exp();
    y.backward_checked().unwrap();
    assert!(y.grad().is_finite());
}

#[test]
fn log_of_a_negative_number_is_named_with_its_operand() {
    let x = Value::new(-1.0).with_label("x");
    let y = x.ln();
    let a = y.check_finite().unwrap_err();
    assert_eq!(
        (a.kind, a.op, a.position, a.lane),
        (AnomalyKind::Value, Op::Ln, 1, None)
    );
    assert!(a.number.is_nan());
    assert_eq!(a.operands, [-1.0]);
    assert_eq!(a.node, y);
}

#[test]
fn one_over_zero_is_infinite_at_the_power() {
    // micrograd's 1/x is 1 * x**-1: x (0), the constant 1 (1), x**-1 (2).
    let x = Value::new(0.0);
    let y = 1.0 / x;
    let a = y.check_finite().unwrap_err();
    assert_eq!((a.op, a.position), (Op::Powf(-1.0), 2));
    assert_eq!(a.number, f64::INFINITY);
    assert_eq!(a.operands, [0.0]);
    assert_eq!(
        a.to_string(),
        "the value of node 2 (**-1) is inf, from operand 0.0"
    );
}

#[test]
fn an_overflowing_product_names_both_factors() {
    let x = Value::new(1e308).with_label("x");
    let y = (x * 10.0).with_label("y");
    let a = y.check_finite().unwrap_err();
    assert_eq!((a.op, a.position, a.label.as_str()), (Op::Mul, 2, "y"));
    assert_eq!(a.operands, [1e308, 10.0]);
    assert_eq!(
        a.to_string(),
        "the value of node 2 (* \"y\") is inf, from operands 1e308, 10.0"
    );
}

#[test]
fn an_infinite_leaf_is_found_first() {
    let big = Value::new(f64::INFINITY);
    let y = big * 0.0;
    let a = y.check_finite().unwrap_err();
    assert_eq!((a.op, a.position, a.number), (Op::Leaf, 0, f64::INFINITY));
    assert!(a.operands.is_empty());
}

#[test]
fn the_first_overflow_is_reported_not_the_nan_it_causes() {
    // 0 * exp(1000): exp overflows to inf, then 0 * inf is NaN.
    let x = Value::new(1000.0);
    let zero = Value::new(0.0);
    let y = zero * x.exp();
    let a = y.check_finite().unwrap_err();
    assert_eq!((a.op, a.position, a.number), (Op::Exp, 2, f64::INFINITY));
    assert_eq!(a.operands, [1000.0]);
}

#[test]
fn an_infinite_gradient_names_the_rule_that_made_it() {
    // d/dx sqrt(x) at 0 = 0.5 * 0^-0.5 = inf; every value is finite.
    let x = Value::new(0.0).with_label("x");
    let y = x.powf(0.5);
    y.check_finite().unwrap();
    let a = y.backward_checked().unwrap_err();
    assert_eq!(
        (a.kind, a.op, a.position, a.number),
        (AnomalyKind::Gradient, Op::Leaf, 0, f64::INFINITY)
    );
    assert_eq!(a.from, Some((1, Op::Powf(0.5))));
    assert_eq!(
        a.to_string(),
        "the gradient of node 0 (leaf \"x\") is inf, from the backward rule of node 1 (**0.5)"
    );
}

#[test]
fn the_gradient_nearest_the_root_is_reported() {
    // (sqrt(x) * 0): the product's gradient is finite, sqrt's is 0, and
    // x's is inf * 0 = NaN, made by the power's rule.
    let x = Value::new(0.0);
    let s = x.powf(0.5);
    let y = s * 0.0;
    let a = y.backward_checked().unwrap_err();
    assert_eq!((a.position, a.op), (0, Op::Leaf));
    assert!(a.number.is_nan());
    assert_eq!(a.from, Some((1, Op::Powf(0.5))));
}

#[test]
fn a_batch_reports_the_lane() {
    let x = Value::batch(&[1.0, 0.5, -2.0, 3.0]);
    let y = x.ln().sum_lanes();
    let a = y.check_finite().unwrap_err();
    assert_eq!((a.op, a.position, a.lane), (Op::Ln, 1, Some(2)));
    assert_eq!(a.operands, [-2.0]);
    assert!(
        a.to_string()
            .contains("in lane 2 is NaN, from operand -2.0")
    );
}

#[test]
fn an_anomaly_through_sin_names_sin() {
    // sin and cos make no NaN or infinity from finite numbers (an infinite
    // input is reported where it was made), so a sin node is named by a
    // gradient that overflows at it.
    // x = 1e-300: sin(x) = 1e-300, z = sin(x)·1e300 ≈ 1, w = z·1e300; then
    // dw/dz = 1e300 and dw/dsin(x) = 1e300·1e300 = inf.
    let x = Value::new(1e-300).with_label("x");
    let s = x.sin();
    let w = s * 1e300 * 1e300;
    let a = w.backward_checked().unwrap_err();
    assert_eq!(
        (a.kind, a.op, a.position, a.number),
        (AnomalyKind::Gradient, Op::Sin, 1, f64::INFINITY)
    );
    assert_eq!(a.from, Some((3, Op::Mul)));
    assert_eq!(
        a.to_string(),
        "the gradient of node 1 (sin) is inf, from the backward rule of node 3 (*)"
    );
}
