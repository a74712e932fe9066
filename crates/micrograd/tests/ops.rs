//! Every operation: its forward value against `f64` arithmetic, its
//! gradient against finite differences, its behaviour at the edges of its
//! domain, and the graph micrograd would build for it.

mod common;

use common::{assert_close, finite_difference, ulps_apart};
use micrograd::{Op, Value};

/// Checks the engine's value and gradient of a function of several inputs
/// against plain `f64` evaluation and five-point finite differences.
#[track_caller]
fn check(
    name: &str,
    engine: impl Fn(&[Value]) -> Value,
    plain: impl Fn(&[f64]) -> f64,
    at: &[f64],
) {
    let inputs: Vec<Value> = at.iter().map(|&x| Value::new(x)).collect();
    let out = engine(&inputs);
    assert_close(out.data(), plain(at), 1e-15, &format!("{name} at {at:?}"));
    out.backward();
    for (i, v) in inputs.iter().enumerate() {
        let numeric = finite_difference(&plain, at, i);
        let tolerance = 1e-9 * numeric.abs().max(1.0);
        assert!(
            (v.grad() - numeric).abs() <= tolerance,
            "d {name}/d x{i} at {at:?}: backward {}, finite differences {numeric}",
            v.grad()
        );
    }
}

#[test]
fn unary_ops_match_finite_differences() {
    for &x in &[-2.5, -0.7, -0.1, 0.3, 0.9, 1.7, 4.0] {
        check("tanh", |v| v[0].tanh(), |x| x[0].tanh(), &[x]);
        check("exp", |v| v[0].exp(), |x| x[0].exp(), &[x]);
        check(
            "sigmoid",
            |v| v[0].sigmoid(),
            |x| 1.0 / (1.0 + (-x[0]).exp()),
            &[x],
        );
        check("relu", |v| v[0].relu(), |x| x[0].max(0.0), &[x]);
        check("neg", |v| -v[0], |x| -x[0], &[x]);
        check("cube", |v| v[0].powf(3.0), |x| x[0].powi(3), &[x]);
        check("square", |v| v[0].powf(2.0), |x| x[0] * x[0], &[x]);
    }
    for &x in &[0.2, 0.9, 1.0, 3.5, 40.0] {
        check("ln", |v| v[0].ln(), |x| x[0].ln(), &[x]);
        check("sqrt", |v| v[0].powf(0.5), |x| x[0].sqrt(), &[x]);
        check("inverse", |v| v[0].powf(-1.0), |x| 1.0 / x[0], &[x]);
        check("x^-2.5", |v| v[0].powf(-2.5), |x| x[0].powf(-2.5), &[x]);
    }
}

#[test]
fn sin_and_cos_match_f64_by_hand_and_finite_differences() {
    for &x in &[-2.5, -0.7, 0.0, 0.3, 1.0, 1.7, 4.0] {
        check("sin", |v| v[0].sin(), |x| x[0].sin(), &[x]);
        check("cos", |v| v[0].cos(), |x| x[0].cos(), &[x]);
        // By hand: d sin(x)/dx = cos(x), d cos(x)/dx = -sin(x); times the
        // root's gradient 1, exact.
        let a = Value::new(x);
        let s = a.sin();
        s.backward();
        assert_eq!((s.data(), a.grad()), (x.sin(), x.cos()), "sin at {x}");
        let b = Value::new(x);
        let c = b.cos();
        c.backward();
        assert_eq!((c.data(), b.grad()), (x.cos(), -x.sin()), "cos at {x}");
    }
    // The chain rule through both: d sin(cos(x))/dx = -cos(cos(x))·sin(x).
    check(
        "sin(cos(x))",
        |v| v[0].cos().sin(),
        |x| x[0].cos().sin(),
        &[0.9],
    );
    let x = Value::new(0.9);
    let y = x.cos().sin();
    y.backward();
    assert_close(
        x.grad(),
        -(0.9f64.cos().cos()) * 0.9f64.sin(),
        1e-15,
        "chain",
    );
    // Out of the domain of a number: sin(inf) and cos(NaN) are NaN, as f64's.
    assert!(Value::new(f64::INFINITY).sin().data().is_nan());
    assert!(Value::new(f64::NAN).cos().data().is_nan());
    // micrograd would name them so.
    let a = Value::new(1.0);
    assert_eq!((a.sin().op(), a.cos().op()), (Op::Sin, Op::Cos));
    assert_eq!(
        (Op::Sin.to_string(), Op::Cos.to_string()),
        ("sin".into(), "cos".into())
    );
}

#[test]
fn binary_ops_match_finite_differences() {
    for &(a, b) in &[(1.5, -2.0), (-0.3, 0.8), (4.0, 0.25), (-3.0, -7.5)] {
        check("add", |v| v[0] + v[1], |x| x[0] + x[1], &[a, b]);
        check("sub", |v| v[0] - v[1], |x| x[0] - x[1], &[a, b]);
        check("mul", |v| v[0] * v[1], |x| x[0] * x[1], &[a, b]);
        check("div", |v| v[0] / v[1], |x| x[0] / x[1], &[a, b]);
        check(
            "a*a*b",
            |v| v[0] * v[0] * v[1],
            |x| x[0] * x[0] * x[1],
            &[a, b],
        );
        check(
            "number - a",
            |v| 2.0 - v[0] * v[1],
            |x| 2.0 - x[0] * x[1],
            &[a, b],
        );
        check(
            "number / a",
            |v| 3.0 / (v[0] + v[1]),
            |x| 3.0 / (x[0] + x[1]),
            &[a, b],
        );
        check(
            "a / number",
            |v| v[0] / 3.0 + v[1] * 0.5,
            |x| x[0] / 3.0 + x[1] * 0.5,
            &[a, b],
        );
    }
    for &(a, b) in &[(1.5, -2.0), (0.3, 0.8), (4.0, 0.25), (2.0, 3.0)] {
        check("pow", |v| v[0].pow(v[1]), |x| x[0].powf(x[1]), &[a, b]);
    }
}

#[test]
fn compound_assignment_matches_finite_differences() {
    let engine = |v: &[Value]| {
        let mut y = v[0];
        y += v[1];
        y *= v[0];
        y -= 2.5;
        y /= v[1];
        y += 1.0;
        y *= 3.0;
        y -= v[0];
        y
    };
    let plain = |x: &[f64]| (((x[0] + x[1]) * x[0] - 2.5) / x[1] + 1.0) * 3.0 - x[0];
    check("compound", engine, plain, &[1.3, -0.6]);
}

#[test]
fn nary_ops_match_finite_differences() {
    let at = [0.5, -1.25, 2.0, 0.75, -0.4];
    check("sum", |v| v.iter().sum::<Value>(), |x| x.iter().sum(), &at);
    check(
        "product",
        |v| v.iter().product::<Value>(),
        |x| x.iter().product(),
        &at,
    );
    check(
        "affine",
        |v| Value::affine(&v[0..2], &v[2..4], v[4]),
        |x| x[4] + x[0] * x[2] + x[1] * x[3],
        &at,
    );
    check(
        "affine with shared operands",
        |v| Value::affine(&[v[0], v[0], v[1]], &[v[0], v[2], v[0]], v[0]),
        |x| x[0] + x[0] * x[0] + x[0] * x[2] + x[1] * x[0],
        &at,
    );
    check(
        "sum of a reused value",
        |v| [v[0], v[0], v[1]].iter().sum::<Value>(),
        |x| 2.0 * x[0] + x[1],
        &at,
    );
}

#[test]
fn empty_sum_and_product_are_constants() {
    let s: Value = std::iter::empty::<Value>().sum();
    let p: Value = std::iter::empty::<Value>().product();
    assert_eq!((s.data(), s.op()), (0.0, Op::Leaf));
    assert_eq!((p.data(), p.op()), (1.0, Op::Leaf));
}

#[test]
fn sums_nest() {
    // Each item of the outer sum is itself a sum built while the outer one
    // is being collected.
    let x: Vec<Value> = (1..=4).map(|i| Value::new(f64::from(i))).collect();
    let total: Value = (0..3).map(|k| x[k..].iter().sum::<Value>() * x[k]).sum();
    // (1+2+3+4)·1 + (2+3+4)·2 + (3+4)·3 = 10 + 18 + 21
    assert_eq!(total.data(), 49.0);
    total.backward();
    // d/dx1 = 1 + 10 = 11; d/dx2 = 1 + 2 + 9 = 12; d/dx3 = 1 + 2 + 3 + 7 = 13; d/dx4 = 1 + 2 + 3
    let grads: Vec<f64> = x.iter().map(|v| v.grad()).collect();
    assert_eq!(grads, vec![11.0, 12.0, 13.0, 6.0]);
}

#[test]
#[should_panic(expected = "as many weights as inputs")]
fn affine_with_mismatched_lengths_panics() {
    let v = Value::new(1.0);
    Value::affine(&[v, v], &[v], v);
}

/// True values from mpmath at 200 bits, rounded to the nearest double.
#[test]
fn tanh_is_within_documented_ulps_of_the_truth() {
    let reference = [
        (1e-300, 1e-300),
        (1e-9, 1e-09),
        (1e-5, 9.999999999666668e-06),
        (0.1, 0.09966799462495582),
        (-0.3, -0.2913126124515909),
        (0.49999999999999994, 0.46211715726000974),
        (0.5, 0.46211715726000974),
        (0.8813735870195432, std::f64::consts::FRAC_1_SQRT_2),
        (1.0, 0.7615941559557649),
        (-2.5, -0.9866142981514303),
        (3.7, 0.9987782412811312),
        (10.0, 0.9999999958776927),
        (19.0, 0.9999999999999999),
        (19.4, 1.0),
        (20.0, 1.0),
    ];
    for (x, truth) in reference {
        let t = Value::new(x).tanh().data();
        assert!(
            ulps_apart(t, truth) <= 2,
            "tanh({x}) = {t}, true value {truth}"
        );
    }
}

#[test]
fn saturating_functions_never_give_nan_for_numbers() {
    for (x, t) in [
        (1000.0, 1.0),
        (-1000.0, -1.0),
        (f64::INFINITY, 1.0),
        (f64::NEG_INFINITY, -1.0),
    ] {
        let v = Value::new(x);
        let y = v.tanh();
        y.backward();
        assert_eq!((y.data(), v.grad()), (t, 0.0), "tanh({x})");
    }
    for (x, s) in [
        (1000.0, 1.0),
        (-1000.0, 0.0),
        (f64::INFINITY, 1.0),
        (f64::NEG_INFINITY, 0.0),
    ] {
        let v = Value::new(x);
        let y = v.sigmoid();
        y.backward();
        assert_eq!((y.data(), v.grad()), (s, 0.0), "sigmoid({x})");
    }
    assert_eq!(
        Value::new(-0.0).tanh().data().to_bits(),
        (-0.0f64).to_bits()
    );
    assert!(Value::new(f64::NAN).tanh().data().is_nan());
}

/// Reference values from mpmath: σ(x) = 1/(1 + e^-x) at 200 bits.
#[test]
fn sigmoid_is_accurate() {
    for (x, truth) in [
        (-3.0, 0.04742587317756678),
        (0.0, 0.5),
        (0.7, 0.668187772168166),
        (20.0, 0.9999999979388464),
        (-40.0, 4.248354255291589e-18),
        (-745.0, 5e-324),
    ] {
        let s = Value::new(x).sigmoid().data();
        assert!(
            ulps_apart(s, truth) <= 2,
            "sigmoid({x}) = {s}, true value {truth}"
        );
    }
}

#[test]
fn out_of_domain_follows_f64() {
    let zero = Value::new(0.0);
    let l = zero.ln();
    l.backward();
    assert_eq!((l.data(), zero.grad()), (f64::NEG_INFINITY, f64::INFINITY));

    let negative = Value::new(-1.0);
    let l = negative.ln();
    l.backward();
    assert!(l.data().is_nan() && negative.grad() == -1.0); // d ln/dx = 1/x is defined

    let root = Value::new(-8.0).powf(1.0 / 3.0);
    assert!(root.data().is_nan());

    let e = Value::new(1000.0).exp();
    assert_eq!(e.data(), f64::INFINITY);

    let inv = Value::new(0.0).powf(-1.0);
    assert_eq!(inv.data(), f64::INFINITY);
}

#[test]
fn pow_gradient_wrt_exponent_is_zero_at_zero_base() {
    // d(0^b)/db = 0^b · ln 0 is 0 · -inf; PyTorch (and we) take it as 0 for b >= 0.
    let a = Value::new(0.0);
    let b = Value::new(2.0);
    let y = a.pow(b);
    y.backward();
    assert_eq!((y.data(), a.grad(), b.grad()), (0.0, 0.0, 0.0));
    // d(a^b)/db = a^b ln a: 2^3 ln 2
    let (a, b) = (Value::new(2.0), Value::new(3.0));
    let y = a.pow(b);
    y.backward();
    assert_close(b.grad(), 8.0 * std::f64::consts::LN_2, 1e-15, "d 2^b/db");
    assert_eq!(a.grad(), 12.0); // b a^(b-1)
}

#[test]
fn relu_at_zero_passes_no_gradient() {
    for x in [0.0, -0.0, -3.0] {
        let v = Value::new(x);
        let y = v.relu();
        y.backward();
        assert_eq!(v.grad(), 0.0, "relu'({x})");
    }
    // micrograd: `0 if x < 0 else x`, so relu(-0.0) keeps its sign and NaN stays NaN.
    assert_eq!(
        Value::new(-0.0).relu().data().to_bits(),
        (-0.0f64).to_bits()
    );
    assert!(Value::new(f64::NAN).relu().data().is_nan());
}

#[test]
fn ops_print_as_in_micrograd() {
    let a = Value::new(2.0);
    let b = Value::new(3.0);
    let cases = [
        (Value::new(1.0), ""),
        (a + b, "+"),
        (a * b, "*"),
        (a.powf(2.0), "**2"),
        (a.powf(-1.0), "**-1"),
        (a.powf(0.5), "**0.5"),
        (a.pow(b), "**"),
        (a.relu(), "ReLU"),
        (a.tanh(), "tanh"),
        (a.exp(), "exp"),
        (a.ln(), "log"),
        (a.sigmoid(), "sigmoid"),
        ([a, b].iter().sum(), "+"),
    ];
    for (v, expected) in cases {
        assert_eq!(v.op().to_string(), expected, "{:?}", v.op());
    }
    assert_eq!(a.powf(3.0).op(), Op::Powf(3.0));
    assert_eq!(Value::affine(&[a], &[b], a).op(), Op::Affine);
}

/// The graphs of micrograd's derived operations (engine.py's identities,
/// with Python's evaluation of a bare number before it is wrapped).
#[test]
fn derived_ops_build_micrograds_graphs() {
    let a = Value::new(2.0);
    let b = Value::new(5.0);
    let constant = |v: Value| (v.op(), v.data());

    // -a = a * -1
    let neg = -a;
    let [x, k] = neg.children()[..] else { panic!() };
    assert_eq!((neg.op(), x, constant(k)), (Op::Mul, a, (Op::Leaf, -1.0)));

    // a - b = a + (b * -1)
    let diff = a - b;
    let [x, nb] = diff.children()[..] else {
        panic!()
    };
    assert_eq!(
        (diff.op(), x, nb.op(), nb.children()[0]),
        (Op::Add, a, Op::Mul, b)
    );

    // a / b = a * b**-1
    let quot = a / b;
    let [x, inv] = quot.children()[..] else {
        panic!()
    };
    assert_eq!(
        (quot.op(), x, inv.op(), inv.children()),
        (Op::Mul, a, Op::Powf(-1.0), vec![b])
    );

    // a - 2 = a + (-2); a / 4 = a * 0.25
    let [x, k] = (a - 2.0).children()[..] else {
        panic!()
    };
    assert_eq!((x, constant(k)), (a, (Op::Leaf, -2.0)));
    let [x, k] = (a / 4.0).children()[..] else {
        panic!()
    };
    assert_eq!((x, constant(k)), (a, (Op::Leaf, 0.25)));

    // 3 + a = a + 3; 3 * a = a * 3
    let [x, k] = (3.0 + a).children()[..] else {
        panic!()
    };
    assert_eq!((x, constant(k)), (a, (Op::Leaf, 3.0)));
    let [x, k] = (3.0 * a).children()[..] else {
        panic!()
    };
    assert_eq!((x, constant(k)), (a, (Op::Leaf, 3.0)));

    // 3 - a = (a * -1) + 3
    let r = 3.0 - a;
    let [na, k] = r.children()[..] else { panic!() };
    assert_eq!(
        (r.op(), na.op(), na.children()[0], constant(k)),
        (Op::Add, Op::Mul, a, (Op::Leaf, 3.0))
    );
    assert_eq!(r.data(), 1.0);

    // 3 / a = a**-1 * 3
    let r = 3.0 / a;
    let [ia, k] = r.children()[..] else { panic!() };
    assert_eq!(
        (r.op(), ia.op(), constant(k)),
        (Op::Mul, Op::Powf(-1.0), (Op::Leaf, 3.0))
    );
    assert_eq!(r.data(), 1.5);

    // powf's exponent is not a child (micrograd's `_prev` is `(self,)`).
    assert_eq!(a.powf(2.0).children(), vec![a]);
    // affine: b, then the weights, then the inputs.
    let (w0, w1, x0, x1) = (
        Value::new(1.0),
        Value::new(2.0),
        Value::new(3.0),
        Value::new(4.0),
    );
    assert_eq!(
        Value::affine(&[w0, w1], &[x0, x1], b).children(),
        vec![b, w0, w1, x0, x1]
    );
}

#[test]
fn values_print_like_micrograd() {
    let v = Value::new(3.0);
    (v * 1.0).backward();
    assert_eq!(v.to_string(), "Value(data=3.0, grad=1.0)");
    assert_eq!(format!("{v:?}"), "Value(data=3.0, grad=1.0)");
    // Python's repr of each number, as CPython 3.11 prints it.
    for (x, python) in [
        (1e-05, "1e-05"),
        (1e16, "1e+16"),
        (0.0001, "0.0001"),
        (0.00015000000000000001, "0.00015000000000000001"),
        (f64::NAN, "nan"),
        (f64::INFINITY, "inf"),
        (-0.0, "-0.0"),
        (123456789.0, "123456789.0"),
        (1.5e-07, "1.5e-07"),
        (2.5e+20, "2.5e+20"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e22, "1e+22"),
        (5e-324, "5e-324"),
    ] {
        assert_eq!(
            Value::new(x).to_string(),
            format!("Value(data={python}, grad=0.0)")
        );
    }
}

#[test]
fn labels() {
    let a = Value::new(1.0);
    assert_eq!(a.label(), "");
    let a = a.with_label("a");
    assert_eq!(a.label(), "a");
    a.set_label("alpha");
    assert_eq!(a.label(), "alpha");
    a.set_label("");
    assert_eq!(a.label(), "");
    assert!(a.is_leaf());
    assert!(!(a + a).is_leaf());
    let from: Value = 2.5.into();
    assert_eq!(from.data(), 2.5);
}

#[test]
fn reference_operands_work_like_values() {
    let a = Value::new(1.5);
    let b = Value::new(-2.0);
    let (ra, rb) = (&a, &b);
    let all = [
        ra + rb,
        ra - b,
        a * rb,
        ra / rb,
        ra + 1.0,
        2.0 * rb,
        1.0 - ra,
        4.0 / rb,
        -ra,
    ];
    let expected = [-0.5, 3.5, -3.0, -0.75, 2.5, -4.0, -0.5, -2.0, -1.5];
    let got: Vec<f64> = all.iter().map(|v| v.data()).collect();
    assert_eq!(got, expected);
    // ulps check of one identity through f64: (1.5 / -2) computed as 1.5 * (-2)**-1.
    assert_eq!(ulps_apart((ra / rb).data(), 1.5 / -2.0), 0);
}

#[test]
fn a_zero_exponent_has_a_zero_gradient_even_at_zero() {
    // d(x^0)/dx = 0 everywhere; 0·0^-1 would be NaN (PyTorch gives 0 too).
    let x = Value::new(0.0);
    let y = x.powf(0.0);
    y.backward();
    assert_eq!((y.data(), x.grad()), (1.0, 0.0));
    let (a, b) = (Value::new(0.0), Value::new(0.0));
    a.pow(b).backward();
    assert_eq!((a.grad(), b.grad()), (0.0, 0.0));
}
