//! Expressions as text: Python's precedence, errors that point at the
//! problem, and graphs micrograd would build.

use std::collections::HashMap;

use micrograd::expr::{BinaryOp, Expr, MAX_TOKENS, parse};
use micrograd::{Op, Value};

/// Evaluates `text` with the given variables; returns the value and each
/// variable's derivative.
fn eval(text: &str, vars: &[(&str, f64)]) -> (f64, Vec<f64>) {
    let inputs: HashMap<String, Value> = vars
        .iter()
        .map(|&(n, v)| (n.to_owned(), Value::new(v).with_label(n)))
        .collect();
    let root = parse(text).unwrap().build(&inputs).unwrap();
    root.backward();
    (
        root.data(),
        vars.iter().map(|(n, _)| inputs[*n].grad()).collect(),
    )
}

#[test]
fn precedence_and_associativity_are_pythons() {
    // -x**2 is -(x**2); ** is right associative; ^ is **; * before +.
    assert_eq!(eval("-x**2", &[("x", 3.0)]).0, -9.0);
    assert_eq!(eval("2**3**2", &[]).0, 512.0);
    assert_eq!(eval("2^3^2", &[]).0, 512.0);
    assert_eq!(eval("(2**3)**2", &[]).0, 64.0);
    assert_eq!(eval("2**-1", &[]).0, 0.5);
    assert_eq!(eval("1 + 2 * 3 - 4 / 2", &[]).0, 5.0);
    assert_eq!(eval("10 - 4 - 3", &[]).0, 3.0); // left associative
    assert_eq!(eval("--x", &[("x", 2.0)]).0, 2.0);
    assert_eq!(eval("2*-x", &[("x", 2.0)]).0, -4.0);
    assert_eq!(eval("1.5e2 + .5 + 2E-1", &[]).0, 150.7);
}

#[test]
fn derivatives_worked_out_by_hand() {
    // d/dx (x·y + x³) = y + 3x², d/dy = x
    let (v, g) = eval("x*y + x**3", &[("x", 2.0), ("y", -1.0)]);
    assert_eq!((v, g), (6.0, vec![11.0, 2.0]));
    // d/dx log(x) = 1/x; d/dx exp(2x) = 2e^(2x); relu'(-1) = 0
    let (_, g) = eval(
        "log(x) + exp(2*y) + relu(z)",
        &[("x", 4.0), ("y", 0.0), ("z", -1.0)],
    );
    assert_eq!(g, vec![0.25, 2.0, 0.0]);
    // sigmoid'(0) = 1/4; tanh'(0) = 1
    let (v, g) = eval("sigmoid(x) + tanh(y)", &[("x", 0.0), ("y", 0.0)]);
    assert_eq!((v, g), (0.5, vec![0.25, 1.0]));
    // x**y with both variables: d/dy = x^y ln x
    let (v, g) = eval("x**y", &[("x", 2.0), ("y", 3.0)]);
    assert_eq!(v, 8.0);
    assert_eq!(g[0], 12.0);
    assert!((g[1] - 8.0 * std::f64::consts::LN_2).abs() < 1e-15);
}

#[test]
fn the_lectures_neuron() {
    #[allow(clippy::excessive_precision)]
    let b = 6.8813735870195432;
    let vars = [
        ("x1", 2.0),
        ("x2", 0.0),
        ("w1", -3.0),
        ("w2", 1.0),
        ("b", b),
    ];
    let (v, g) = eval("tanh(x1*w1 + x2*w2 + b)", &vars);
    // What the lecture's Python prints (tools/reference/lecture.py).
    assert_eq!(v, std::f64::consts::FRAC_1_SQRT_2); // printed 0.7071067811865476
    assert_eq!(
        g,
        vec![
            -1.4999999999999996,
            0.4999999999999999,
            0.9999999999999998,
            0.0,
            0.4999999999999999
        ]
    );
}

#[test]
fn graphs_are_micrograds() {
    let x = Value::new(3.0).with_label("x");
    let inputs = HashMap::from([("x".to_owned(), x)]);
    let build = |text: &str| parse(text).unwrap().build(&inputs).unwrap();
    // A number exponent is micrograd's **k.
    assert_eq!(build("x**2").op(), Op::Powf(2.0));
    assert_eq!(build("x**-1").op(), Op::Powf(-1.0));
    // Numbers combine before any node exists, as in Python: 2*3*x has one
    // constant, 6.
    let y = build("2*3*x");
    assert_eq!(y.op(), Op::Mul);
    let constants: Vec<f64> = y
        .children()
        .iter()
        .filter(|c| *c != &x)
        .map(|c| c.data())
        .collect();
    assert_eq!(constants, vec![6.0]);
    // x - 2 is micrograd's x + (-2).
    let y = build("x - 2");
    assert_eq!(y.op(), Op::Add);
    assert_eq!(y.children()[1].data(), -2.0);
}

#[test]
fn variables_in_order_of_appearance() {
    assert_eq!(
        parse("b*a + c*a + b").unwrap().variables(),
        vec!["b", "a", "c"]
    );
    assert_eq!(parse("2 + 3").unwrap().variables(), Vec::<&str>::new());
    let e = parse("a^b").unwrap();
    assert!(matches!(e, Expr::Binary(BinaryOp::Pow, _, _)));
}

#[test]
fn errors_point_at_the_problem() {
    let cases = [
        (
            "tanh(x + ",
            9,
            "expected a number, a name or `(`, found the end",
        ),
        ("x + * y", 4, "expected a number, a name or `(`, found `*`"),
        ("(x + 1", 6, "expected a closing `)`, found the end"),
        ("x y", 2, "unexpected name `y`"),
        (
            "sinh(x)",
            0,
            "unknown function `sinh` (known: tanh, exp, log, relu, step, sigmoid, softplus, sin, cos)",
        ),
        ("x # 2", 2, "unexpected character `#`"),
        ("1.2.3 + x", 0, "`1.2.3` is not a number"),
        ("", 0, "expected a number, a name or `(`, found the end"),
        ("x)", 1, "unexpected `)`"),
    ];
    for (text, position, message) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(
            (err.position, err.message.as_str()),
            (position, message),
            "for {text:?}"
        );
        // The display: the message, the text, a caret under the position.
        let shown = err.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        assert_eq!(lines[2].find('^'), Some(position + 2), "{shown}");
    }
    let inputs = HashMap::new();
    assert_eq!(parse("x * y").unwrap().build(&inputs), Err("x".to_owned()));
}

#[test]
fn no_expression_can_exhaust_the_stack() {
    // Deep nesting and long chains are refused past the token limit,
    // before anything recurses that deep.
    let deep = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = parse(&deep).unwrap_err();
    assert_eq!(
        err.message,
        "the expression is too long (more than 2000 tokens)"
    );
    let long = vec!["x"; 50_000].join("+");
    assert!(parse(&long).is_err());
    let minus = format!("{}x", "-".repeat(50_000));
    assert!(parse(&minus).is_err());
    // Up to the limit, they work: 999 nested parentheses, a 500-term sum.
    let nested = format!("{}x{}", "(".repeat(999), ")".repeat(999));
    assert_eq!(eval(&nested, &[("x", 2.0)]).0, 2.0);
    let sum = vec!["x"; 500].join("+");
    assert_eq!(eval(&sum, &[("x", 1.0)]), (500.0, vec![500.0]));
}

#[test]
fn the_token_limit_is_exact() {
    // `x+x+...+x` with n terms is 2n - 1 tokens; a leading `-` makes 2n.
    let at_limit = format!("-{}", vec!["x"; 1000].join("+"));
    assert_eq!(at_limit.split('+').count() * 2, MAX_TOKENS);
    assert_eq!(eval(&at_limit, &[("x", 1.0)]), (998.0, vec![998.0]));
    let past = vec!["x"; 1001].join("+");
    let err = parse(&past).unwrap_err();
    assert_eq!(
        err.message,
        "the expression is too long (more than 2000 tokens)"
    );
    // The 2,001st token is the last `x`, at the end of the text.
    assert_eq!(err.position, past.len() - 1);
}

#[test]
fn a_long_expression_is_shown_in_part_with_the_caret_in_place() {
    let long = vec!["x"; 60_000].join("+");
    let shown = parse(&long).unwrap_err().to_string();
    assert!(shown.len() < 400, "{} bytes", shown.len());
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3);
    // The caret is under the 2,001st token, an `x` (token 2000 from 0 is
    // at byte 2000: tokens and bytes coincide in `x+x+...`).
    let caret = lines[2].chars().count() - 1;
    assert_eq!(lines[1].chars().nth(caret), Some('x'), "{shown}");
    assert!(
        lines[1].starts_with("  …") && lines[1].ends_with('…'),
        "{shown}"
    );
}

#[test]
fn the_caret_lines_up_after_tabs_and_line_breaks() {
    let err = parse("x\t+\n\t)").unwrap_err();
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[1], "  x +  )");
    assert_eq!(lines[2].find('^'), lines[1].find(')'), "{shown}");
}

#[test]
fn a_literal_too_large_for_a_float_is_refused_where_it_stands() {
    let err = parse("2 * 1e400").unwrap_err();
    assert_eq!(err.position, 4);
    assert_eq!(
        err.message,
        "`1e400` is too large for a 64-bit float (at most about 1.8e308)"
    );
    // Underflow to zero is a number like any other, as in Python.
    assert_eq!(eval("1e-400 + x", &[("x", 1.0)]).0, 1.0);
}

#[test]
fn sin_and_cos_are_functions() {
    let e = parse("sin(x)*cos(y)").unwrap();
    let Expr::Binary(BinaryOp::Mul, a, b) = &e else {
        panic!("{e:?}")
    };
    let (Expr::Call(f, _), Expr::Call(g, _)) = (&**a, &**b) else {
        panic!("{e:?}")
    };
    assert_eq!((f.name(), g.name()), ("sin".to_owned(), "cos".to_owned()));
    assert_eq!(e.variables(), ["x", "y"]);
    let (x0, y0) = (0.4, -1.1);
    let inputs: HashMap<String, Value> = [("x", x0), ("y", y0)]
        .into_iter()
        .map(|(name, v)| (name.to_owned(), Value::new(v).with_label(name)))
        .collect();
    let out = e.build(&inputs).unwrap();
    out.backward();
    assert_eq!(out.data(), x0.sin() * y0.cos());
    // By hand: d/dx = cos(x)·cos(y), d/dy = -sin(x)·sin(y).
    assert_eq!(inputs["x"].grad(), x0.cos() * y0.cos());
    assert_eq!(inputs["y"].grad(), -y0.sin() * x0.sin());
    assert_eq!((out.op(), inputs["x"].op()), (Op::Mul, Op::Leaf));
}

/// `Expr::evaluate`, the one way `micrograd grad` and the playground
/// evaluate an expression: gradients in the order given, checked.
#[test]
fn evaluate_gives_gradients_in_the_order_given_and_names_what_is_not_finite() {
    use micrograd::expr::EvaluateError;
    let values = |pairs: &[(&str, f64)]| -> Vec<(String, f64)> {
        pairs.iter().map(|&(n, x)| (n.to_owned(), x)).collect()
    };
    // f = x*y + sin(x): df/dx = y + cos(x), df/dy = x (by hand).
    let f = parse("x*y + sin(x)").unwrap();
    let e = f.evaluate(&values(&[("y", 3.0), ("x", 2.0)])).unwrap();
    assert_eq!(e.root.data(), 2.0 * 3.0 + 2.0_f64.sin());
    let names: Vec<&str> = e.inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["y", "x"]);
    assert_eq!(e.inputs[0].1.grad(), 2.0);
    assert_eq!(e.inputs[1].1.grad(), 3.0 + 2.0_f64.cos());
    assert!(e.not_finite.is_none());

    assert_eq!(
        f.evaluate(&values(&[("x", 1.0), ("x", 2.0), ("y", 0.0)]))
            .unwrap_err(),
        EvaluateError::Twice("x".into())
    );
    assert_eq!(
        f.evaluate(&values(&[("x", 1.0)])).unwrap_err(),
        EvaluateError::Missing("y".into())
    );

    // log(0) = -inf, and 0 * -inf is NaN: the numbers are kept, and the op
    // that first left the real numbers is named.
    let g = parse("x * log(x)").unwrap();
    let e = g.evaluate(&values(&[("x", 0.0)])).unwrap();
    assert!(e.root.data().is_nan());
    let anomaly = e.not_finite.expect("log(0) is not finite").to_string();
    assert!(anomaly.contains("log"), "{anomaly}");
}
