//! The gradient checker users get: it agrees with hand-derived gradients,
//! flags a disagreement, and leaves the tape as it found it.

use micrograd::{Value, gradcheck, tape_len};

#[test]
fn agrees_with_gradients_derived_by_hand() {
    // f = x²y + e^y: df/dx = 2xy, df/dy = x² + e^y
    let (x, y) = (1.5, -0.5);
    let check = gradcheck(|v| v[0] * v[0] * v[1] + v[1].exp(), &[x, y]);
    let by_hand = [2.0 * x * y, x * x + f64::exp(y)];
    for ((analytic, numeric), expected) in check.analytic.iter().zip(&check.numeric).zip(by_hand) {
        assert!((analytic - expected).abs() < 1e-15 * expected.abs().max(1.0));
        assert!((numeric - expected).abs() < 1e-9 * expected.abs().max(1.0));
    }
    assert!(check.passes(1e-9), "{check:?}");
}

#[test]
fn flags_a_disagreement_and_names_the_input() {
    // At a ReLU's kink backward says 0 while central differences see the
    // average slope 1/2: relative error 0.5 on input 1.
    let check = gradcheck(|v| v[0] * 2.0 + v[1].relu(), &[1.0, 0.0]);
    assert_eq!(check.analytic, vec![2.0, 0.0]);
    assert!((check.numeric[1] - 0.5).abs() < 1e-9);
    assert_eq!(check.worst, 1);
    assert!((check.max_rel_error - 0.5).abs() < 1e-9);
    assert!(!check.passes(1e-6));
}

#[test]
fn a_nan_on_one_side_is_an_infinite_error() {
    // ln(x) at x = -1e-5: backward gives 1/x, but ln is NaN on both sides.
    let check = gradcheck(|v| v[0].ln(), &[-1e-5]);
    assert_eq!(check.max_rel_error, f64::INFINITY);
}

#[test]
fn leaves_the_tape_as_it_was() {
    let before = tape_len();
    let _ = gradcheck(|v| v.iter().map(|x| x.tanh()).sum(), &[0.1, 0.2, 0.3]);
    assert_eq!(tape_len(), before);
    let empty = gradcheck(|_| Value::new(1.0), &[]);
    assert_eq!((empty.max_rel_error, empty.worst), (0.0, 0));
}

#[test]
fn nan_on_both_sides_is_a_failure_not_a_pass() {
    // powf(0.5) at -1: the value, its finite differences and backward are
    // all NaN, so nothing was checked.
    let check = gradcheck(|v| v[0].powf(0.5), &[-1.0]);
    assert!(check.analytic[0].is_nan() && check.numeric[0].is_nan());
    assert!(!check.passes(1.0));
}
