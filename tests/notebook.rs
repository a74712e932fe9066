//! The committed notebook, notebooks/micrograd.ipynb, as `notebooks/run`
//! executed it in the evcxr kernel: every code cell ran, one after the
//! other, without an error or a panic; its pictures are there; and the
//! numbers it printed are the lecture's, derived here by hand, from the
//! demo's reference data, or by running the library on the same inputs.
//! No Jupyter needed: the notebook is read as JSON.

use micrograd::Scope;
use micrograd::nn::{MLP, Module, loss};
use micrograd::train::{TrainConfig, Trainer};
use serde_json::Value as Json;

const NOTEBOOK: &str = include_str!("../notebooks/micrograd.ipynb");
const DEMO: &str = include_str!("../crates/micrograd/data/micrograd_demo_moons.json");

fn notebook() -> Json {
    serde_json::from_str(NOTEBOOK).expect("the notebook is JSON")
}

/// A multi-line string of nbformat: one string, or a list of lines.
fn joined(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(lines) => lines.iter().map(|l| l.as_str().unwrap()).collect(),
        _ => panic!("not text: {v}"),
    }
}

fn code_cells(nb: &Json) -> Vec<Json> {
    nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .cloned()
        .collect()
}

/// The one code cell whose source contains `marker`.
#[track_caller]
fn cell(marker: &str) -> Json {
    let found: Vec<Json> = code_cells(&notebook())
        .into_iter()
        .filter(|c| joined(&c["source"]).contains(marker))
        .collect();
    assert_eq!(found.len(), 1, "cells containing {marker:?}");
    found.into_iter().next().unwrap()
}

/// What a cell printed to stdout, and the text of its result, in order.
fn text(cell: &Json) -> String {
    let mut out = String::new();
    for o in cell["outputs"].as_array().unwrap() {
        match o["output_type"].as_str().unwrap() {
            "stream" if o["name"] == "stdout" => out += &joined(&o["text"]),
            "execute_result" | "display_data" => {
                if let Some(plain) = o["data"].get("text/plain") {
                    out += &joined(plain);
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

/// The SVG pictures a cell showed.
fn svgs(cell: &Json) -> Vec<String> {
    cell["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["data"].get("image/svg+xml").map(joined))
        .collect()
}

/// The number printed right after `key` (up to a space, comma, bracket or
/// `%`).
#[track_caller]
fn number_after(text: &str, key: &str) -> f64 {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("{key:?} in {text}"))
        + key.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| !matches!(c, ' ' | ',' | ')' | ']' | '%' | '\n'))
        .collect();
    token
        .parse()
        .unwrap_or_else(|_| panic!("{key:?}: {token:?} is not a number"))
}

/// A printed list or tuple of numbers: `[1.0, -2.5]`, `(0.5, 0.0)`.
#[track_caller]
fn numbers(text: &str) -> Vec<f64> {
    text.trim()
        .trim_matches(|c| matches!(c, '[' | ']' | '(' | ')'))
        .split(", ")
        .map(|t| t.parse().unwrap_or_else(|_| panic!("{t:?} in {text}")))
        .collect()
}

#[test]
fn every_code_cell_ran_in_order_without_an_error() {
    let nb = notebook();
    assert_eq!(nb["metadata"]["kernelspec"]["name"], "rust");
    let cells = code_cells(&nb);
    assert!(cells.len() >= 20, "{} code cells", cells.len());
    let mut previous = None;
    for c in &cells {
        let source = joined(&c["source"]);
        // evcxr counts from 2; what matters is one after the other, each once.
        let count = c["execution_count"]
            .as_u64()
            .unwrap_or_else(|| panic!("not executed: {source}"));
        if let Some(previous) = previous {
            assert_eq!(count, previous + 1, "out of order: {source}");
        }
        previous = Some(count);
        for o in c["outputs"].as_array().unwrap() {
            assert_ne!(o["output_type"], "error", "{source}: {o}");
            // A panic in evcxr is a message on stderr, not an error output.
            assert_ne!(o["name"], "stderr", "{source}: {o}");
        }
    }
}

#[test]
fn the_first_cell_loads_the_shared_library_in_this_repository() {
    let first = joined(&code_cells(&notebook())[0]["source"]);
    assert_eq!(
        first.trim(),
        r#":dep micrograd = { package = "micrograd-notebook", path = "../notebook" }"#
    );
    // The path is the notebook's folder's neighbour: the facade crate, a dylib.
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/notebooks/../notebook/Cargo.toml"
    ))
    .unwrap();
    assert!(manifest.contains(r#"name = "micrograd-notebook""#));
    assert!(manifest.contains(r#"crate-type = ["dylib"]"#));
}

#[test]
fn every_drawing_cell_shows_an_svg() {
    let nb = notebook();
    let pictures: Vec<Json> = code_cells(&nb)
        .into_iter()
        .filter(|c| {
            c["metadata"]["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "picture"))
        })
        .collect();
    assert!(pictures.len() >= 8, "{} pictures", pictures.len());
    for c in &pictures {
        let svg = svgs(c);
        assert_eq!(svg.len(), 1, "{}", joined(&c["source"]));
        assert!(svg[0].contains("<svg") && svg[0].trim_end().ends_with("</svg>"));
    }
    // The graphs are draw_dot's, with its records; the last picture is the
    // demo's decision boundary.
    assert!(svgs(&cell("draw_dot(n.forward(&x)[0])"))[0].contains("graphviz-pure"));
    assert!(svgs(&pictures[pictures.len() - 1])[0].contains("micrograd&apos;s demo"));
}

#[test]
fn a_derivative_measured_by_nudging() {
    // f(3) = 3·9 - 4·3 + 5 = 20, exact in floating point.
    let f3 = numbers(&text(&cell("fn f(x: f64)")))[0];
    assert_eq!(f3, 20.0);
    // (f(3 + h) - f(3)) / h = f'(3) + 3h = 14 + 3h, up to rounding.
    let slope = numbers(&text(&cell("(f(x + h) - f(x)) / h")))[0];
    assert!((slope - 14.0003).abs() < 1e-8, "{slope}");
    // d = a·b + c at a = 2, b = -3, c = 10 is 4; its slope in a is b = -3.
    let out = text(&cell("let d2 = (a + h) * b + c;"));
    assert_eq!(number_after(&out, "d1 "), 4.0);
    assert!((number_after(&out, "d2 ") - (4.0 - 3.0 * 1e-4)).abs() < 1e-12);
    assert!((number_after(&out, "slope ") + 3.0).abs() < 1e-8);
}

#[test]
fn l_is_minus_8_and_its_gradients_are_the_chain_rules() {
    let (a, b, c, f) = (2.0, -3.0, 10.0, -2.0);
    // L = (a·b + c)·f = (-6 + 10)·(-2)
    let out = text(&cell(r#"let l = (d * f).with_label("L");"#));
    assert_eq!(number_after(&out, "Value(data="), -8.0);
    assert_eq!(number_after(&out, "grad="), 0.0);

    // A later cell reads the values made by that one: d = e + c.
    let out = text(&cell("d.children()"));
    assert_eq!(
        out,
        "[Value(data=-6.0, grad=0.0), Value(data=10.0, grad=0.0)]\n+\n"
    );

    // dL/da = b·f, dL/db = a·f, dL/dc = dL/dd = dL/de = f, dL/df = a·b + c.
    let out = text(&cell("l.set_grad(1.0);"));
    let by_hand = [
        ("a", b * f),
        ("b", a * f),
        ("c", f),
        ("d", f),
        ("e", f),
        ("f", a * b + c),
        ("L", 1.0),
    ];
    for (name, grad) in by_hand {
        assert_eq!(
            number_after(&out, &format!("{name}.grad = ")),
            grad,
            "{name}"
        );
    }
    assert_eq!(
        by_hand.map(|(_, g)| g),
        [6.0, -4.0, -2.0, -2.0, -2.0, 4.0, 1.0]
    );

    // A step of 0.01 along the gradient: (2.06·-3.04 + 9.98)·-1.96.
    let out = text(&cell("leaf.set_data(leaf.data() + 0.01 * leaf.grad());"));
    let stepped = number_after(&out, "L = ");
    assert!((stepped - -7.286496).abs() < 1e-12, "{stepped}");
    assert!(stepped > -8.0);
}

#[test]
fn the_drawing_of_l_is_what_draw_dot_draws_today() {
    use micrograd::{Value, draw_dot};
    let a = Value::new(2.0).with_label("a");
    let b = Value::new(-3.0).with_label("b");
    let c = Value::new(10.0).with_label("c");
    let e = (a * b).with_label("e");
    let d = (e + c).with_label("d");
    let f = Value::new(-2.0).with_label("f");
    let l = (d * f).with_label("L");
    let drawn = svgs(&cell("l.set_grad(1.0);"));
    // The gradients by hand, as above.
    for (v, grad) in [(a, 6.0), (b, -4.0), (c, -2.0), (d, -2.0), (e, -2.0)] {
        v.set_grad(grad);
    }
    f.set_grad(4.0);
    l.set_grad(1.0);
    assert_eq!(drawn.len(), 1);
    assert_eq!(
        drawn[0].trim_end(),
        draw_dot(l).to_svg().unwrap().trim_end()
    );
}

#[test]
fn the_neuron_gives_one_over_root_two_and_the_lectures_gradients() {
    // n = x1·w1 + x2·w2 + b = 2·(-3) + 0·1 + 6.8813735870195432, which is
    // atanh(1/√2) to the digits given, so o = tanh(n) is 1/√2, rounded.
    #[allow(clippy::excessive_precision)] // the lecture's number, as written there
    let n: f64 = -6.0 + 6.8813735870195432;
    let o = 0.5f64.sqrt();
    // tanh as micrograd's Value defines it, (e^2n - 1) / (e^2n + 1), gives
    // 1/√2 rounded (libm's tanh of the rounded n is one unit above).
    assert_eq!(((2.0 * n).exp() - 1.0) / ((2.0 * n).exp() + 1.0), o);
    let out = text(&cell(r#"let o = n.tanh().with_label("o");"#));
    assert_eq!(number_after(&out, "o = "), o);
    // The lecture's 0.7071067811865476.
    assert_eq!(o, std::f64::consts::FRAC_1_SQRT_2);

    // do/dn = 1 - o² (1/2, less one rounding); then + passes it on and *
    // multiplies it by the other input: x1 = 2, w1 = -3, x2 = 0, w2 = 1.
    let dn = 1.0 - o * o;
    assert!((dn - 0.5).abs() < 2e-16);
    let grads = [
        ("n", dn),
        ("b", dn),
        ("x1", -3.0 * dn),
        ("w1", 2.0 * dn),
        ("x2", dn),
        ("w2", 0.0 * dn),
    ];
    let out = "\n".to_owned() + &text(&cell("n.set_grad(1.0 - o.data() * o.data());"));
    for (name, grad) in grads {
        assert_eq!(
            number_after(&out, &format!("\n{name}.grad = ")),
            grad,
            "{name}"
        );
    }
    let leaves = [-3.0 * dn, 2.0 * dn, dn, 0.0];
    // The same by micrograd's _backward, node by node, and by backward().
    assert_eq!(numbers(&text(&cell("x1w1x2w2.backward_local();"))), leaves);
    let out = text(&cell("o.backward();\nfor v in [x1, w1, x2, w2]"));
    for (name, grad) in ["x1", "w1", "x2", "w2"].iter().zip(leaves) {
        assert_eq!(
            number_after(&out, &format!("{name}.grad = ")),
            grad,
            "{name}"
        );
    }

    // A topological order: every node after the nodes it is made from.
    let out = text(&cell("o.topo().iter()"));
    let order: Vec<&str> = out.trim()[1..out.trim().len() - 1]
        .split(", ")
        .map(|s| s.trim_matches('"'))
        .collect();
    let at = |label: &str| order.iter().position(|&l| l == label).unwrap();
    assert_eq!(order.len(), 10);
    for (node, inputs) in [
        ("x1*w1", ["x1", "w1"]),
        ("x2*w2", ["x2", "w2"]),
        ("x1*w1 + x2*w2", ["x1*w1", "x2*w2"]),
        ("n", ["x1*w1 + x2*w2", "b"]),
    ] {
        for input in inputs {
            assert!(at(input) < at(node), "{input} before {node}: {order:?}");
        }
    }
    assert_eq!(order[9], "o");
}

#[test]
fn a_node_used_twice_gets_both_gradients_and_tanh_from_exp_agrees() {
    // b = a + a: db/da = 2.
    let out = text(&cell("let b = (a + a).with_label(\"b\");"));
    assert_eq!(number_after(&out, "a.grad = "), 2.0);

    // The same neuron with tanh spelled out in exp, - and /: the same
    // numbers, up to the roundings of the longer path.
    let out = text(&cell("let e = (2.0 * n).exp()"));
    let o = number_after(&out, "o = ");
    assert!((o - std::f64::consts::FRAC_1_SQRT_2).abs() < 3e-16, "{o}");
    for (name, grad) in [("x1", -1.5), ("w1", 1.0), ("x2", 0.5), ("w2", 0.0)] {
        let got = number_after(&out, &format!("{name}.grad = "));
        assert!((got - grad).abs() < 1e-15, "{name}: {got}");
    }
}

#[test]
fn the_lectures_mlp_trains_as_the_library_trains_it() {
    let xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ];
    let ys = [1.0, -1.0, -1.0, 1.0];

    // 3 inputs, layers of 4, 4 and 1 neurons: 4·(3+1) + 4·(4+1) + 1·(4+1).
    let out = text(&cell("MLP::lecture(3, &[4, 4, 1], 1337)"));
    assert!(out.contains(&format!("\n{} parameters\n", 4 * 4 + 4 * 5 + 5)));
    let n = MLP::lecture(3, &[4, 4, 1], 1337);
    let first = n.forward(&xs[0])[0].data();
    assert_eq!(out.lines().last().unwrap().parse::<f64>().unwrap(), first);
    let before = numbers(&text(&cell("let ys = [1.0, -1.0, -1.0, 1.0];")));
    let ypred: Vec<f64> = xs.iter().map(|x| n.forward(x)[0].data()).collect();
    assert_eq!(before, ypred);

    // The notebook's loop, run here.
    let mut losses = Vec::new();
    for _ in 0..20 {
        let _step = Scope::new();
        let ypred: Vec<_> = xs.iter().map(|x| n.forward(x)[0]).collect();
        let loss = loss::sum_squares(&ypred, &ys);
        n.zero_grad();
        loss.backward();
        for p in n.parameters() {
            p.set_data(p.data() - 0.1 * p.grad());
        }
        losses.push(loss.data());
    }
    let out = text(&cell("for k in 0..20 {"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 21);
    for (k, loss) in losses.iter().enumerate() {
        assert_eq!(number_after(lines[k], &format!("{k} ")), *loss, "step {k}");
    }
    // Step 0's loss is Σ (ypred - y)² of the predictions printed before.
    let sum_squares: f64 = before.iter().zip(ys).map(|(p, y)| (p - y) * (p - y)).sum();
    assert!((losses[0] - sum_squares).abs() < 1e-12);
    let after = numbers(lines[20]);
    let ypred: Vec<f64> = xs.iter().map(|x| n.forward(x)[0].data()).collect();
    assert_eq!(after, ypred);
    // Trained: each prediction on its target's side, the loss down 100-fold.
    assert!(after.iter().zip(ys).all(|(p, y)| p * y > 0.8), "{after:?}");
    assert!(losses[19] < losses[0] / 100.0);
}

#[test]
fn the_demo_gives_micrograds_losses() {
    let reference: Json = serde_json::from_str(DEMO).unwrap();
    let expected = |what: &str, step: usize| {
        reference["expected"][what][step.to_string()]
            .as_f64()
            .unwrap()
    };

    // 2 inputs, two layers of 16, one output: 16·3 + 16·17 + 17.
    let out = text(&cell(
        "let model = MLP::from_weights(&micrograd_demo_weights());",
    ));
    assert!(out.ends_with(&format!("number of parameters {}\n", 16 * 3 + 16 * 17 + 17)));

    // The loss written out, before training: micrograd's step 0, to 1e-9
    // (micrograd sums a parameter's gradient in Python's set order).
    let out = text(&cell("fn demo_loss("));
    let loss0 = number_after(&out, "loss ");
    assert!((loss0 / expected("loss_by_step", 0) - 1.0).abs() < 1e-9);
    assert_eq!(
        number_after(&out, "accuracy "),
        expected("accuracy_by_step", 0) * 100.0
    );

    // The Trainer's 100 steps: micrograd's numbers where the reference has
    // them, and at every step the bits the library gives today.
    let data = micrograd::data::micrograd_demo();
    let model = MLP::from_weights(&micrograd::data::micrograd_demo_weights());
    let mut trainer = Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100)).unwrap();
    let out = text(&cell(
        "Trainer::new(&model, &data, &TrainConfig::micrograd_demo(100))",
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100);
    for (k, line) in lines.iter().enumerate() {
        let r = trainer.step().unwrap();
        let loss = number_after(line, &format!("step {k} loss "));
        let accuracy = number_after(line, "accuracy ");
        assert_eq!(loss, r.loss, "step {k}");
        assert_eq!(accuracy, r.accuracy.unwrap() * 100.0, "step {k}");
        if reference["expected"]["loss_by_step"]
            .get(k.to_string())
            .is_some()
        {
            assert!(
                (loss / expected("loss_by_step", k) - 1.0).abs() < 1e-9,
                "step {k}"
            );
            assert_eq!(accuracy, expected("accuracy_by_step", k) * 100.0);
        }
    }
    assert_eq!(loss0, number_after(lines[0], "loss "));
}
