//! What each fuzz target does with its input. The libFuzzer targets
//! (`fuzz/fuzz_targets/*.rs`) and `tests/fuzz_corpus.rs`, which replays the
//! committed corpus under `cargo test`, both include this file, so the two
//! run the same code.
//!
//! An error is a fine answer to malformed input. A panic, a hang, or an
//! answer that breaks a promise its type documents is a bug.

// Each fuzz target uses one body.
#![allow(dead_code)]

use std::collections::HashMap;

use micrograd::data::{Dataset, Points};
use micrograd::expr;
use micrograd::nn::{MLP, Weights};
use micrograd::train::{SavedModel, Settings};
use micrograd::viz::MAX_LAYOUT;
use micrograd::{Value, draw_dot, scope};

/// The values variables and inputs take, in turn: ordinary numbers, 0 (the
/// pole of `log` and of negative powers), negatives (outside the domain of
/// `log` and of fractional powers), and sizes where `exp` and `**`
/// overflow or underflow.
const VALUES: [f64; 8] = [0.5, -1.5, 2.0, 0.0, 3.0, -0.25, 800.0, 1e-300];

/// The longest expression drawn, in bytes: the parser's limit is 2,000
/// tokens, and every token takes at least a byte.
pub const MAX_DRAWN_BYTES: usize = 2_000;

/// `micrograd grad EXPR x=...`: parses the text and, if it parses, builds
/// its graph with every variable bound and backpropagates.
pub fn expr_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    scope(|| {
        parse_and_build(text);
    });
}

/// `micrograd grad EXPR x=... --dot/--svg/--png`: the expression's graph
/// drawn in each format. Drawing may refuse a graph past
/// [`MAX_LAYOUT`], and nothing else.
pub fn draw_expr(data: &[u8]) {
    if data.len() > MAX_DRAWN_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    scope(|| {
        let Some(root) = parse_and_build(text) else {
            return;
        };
        let graph = draw_dot(root);
        let drawable = graph.layout_size() <= MAX_LAYOUT;
        assert!(graph.to_dot().starts_with("digraph {"));
        match graph.to_svg() {
            Ok(svg) => assert!(drawable && svg.contains("<svg")),
            Err(e) => assert!(!drawable, "a drawable graph failed: {e}"),
        }
        match graph.to_png() {
            Ok(png) => assert!(drawable && png.starts_with(b"\x89PNG\r\n\x1a\n")),
            Err(e) => assert!(!drawable, "a drawable graph failed: {e}"),
        }
    });
}

/// The root of `text`'s graph, backpropagated, or `None` if it does not
/// parse. Call inside a scope.
fn parse_and_build(text: &str) -> Option<Value> {
    let parsed = match expr::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            // The message's caret needs a position inside the text.
            assert!(text.is_char_boundary(e.position), "{e:?}");
            assert!(e.to_string().starts_with(&e.message));
            return None;
        }
    };
    let names = parsed.variables();
    // With no values given, the first variable is the one reported missing.
    let unbound = parsed.build(&HashMap::new());
    match names.first() {
        Some(&first) => assert_eq!(unbound.err().as_deref(), Some(first)),
        None => assert!(unbound.is_ok()),
    }
    let inputs: HashMap<String, Value> = names
        .iter()
        .zip(VALUES.iter().cycle())
        .map(|(&name, &x)| (name.to_owned(), Value::new(x).with_label(name)))
        .collect();
    let root = parsed.build(&inputs).expect("every variable has a value");
    root.backward();
    // d root / d root
    assert_eq!(root.grad(), 1.0);
    Some(root)
}

/// `micrograd train --data FILE.csv` and `micrograd predict --data
/// FILE.csv`, for networks of 1 to 3 inputs.
pub fn dataset_csv(data: &[u8]) {
    match Dataset::from_csv(data, "fuzz.csv") {
        Ok(dataset) => check_dataset(&dataset),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    for dim in 1..=3 {
        match Points::from_csv(data, dim, "fuzz.csv") {
            Ok(points) => check_points(&points, dim),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// `micrograd train --data FILE.json` and `micrograd predict --data
/// FILE.json`, for networks of 1 to 3 inputs.
pub fn dataset_json(data: &[u8]) {
    match Dataset::from_json(data, "fuzz.json") {
        Ok(dataset) => check_dataset(&dataset),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    for dim in 1..=3 {
        match Points::from_json(data, dim, "fuzz.json") {
            Ok(points) => check_points(&points, dim),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// What `Dataset::new` promises: samples, one target each, rows of one
/// width of at least 1, finite numbers.
fn check_dataset(dataset: &Dataset) {
    assert!(!dataset.x.is_empty());
    assert_eq!(dataset.x.len(), dataset.y.len());
    let dim = dataset.x[0].len();
    assert!(dim >= 1);
    assert!(dataset.x.iter().all(|row| row.len() == dim));
    let numbers = dataset.x.iter().flatten().chain(&dataset.y);
    assert!(numbers.copied().all(f64::is_finite));
}

/// What `Dataset::load_points` promises: points of `dim` features, a label
/// for each if any, finite numbers.
fn check_points(points: &Points, dim: usize) {
    assert!(!points.x.is_empty());
    assert!(points.x.iter().all(|row| row.len() == dim));
    if let Some(y) = &points.y {
        assert_eq!(y.len(), points.x.len());
    }
    let numbers = points.x.iter().flatten().chain(points.y.iter().flatten());
    assert!(numbers.copied().all(f64::is_finite));
}

/// `micrograd train --init FILE.json`: weights exported by Python
/// micrograd, put into a network of their shape.
pub fn init_json(data: &[u8]) {
    let weights = match Weights::from_micrograd_json(data, "fuzz.json") {
        Ok(weights) => weights,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    weights.check().expect("loaded weights fit together");
    let written = weights.to_micrograd_json();
    let again = Weights::from_micrograd_json(written.as_bytes(), "again.json");
    assert_eq!(again.expect("written weights load"), weights);
    check_predict(&weights);
    scope(|| {
        let model = MLP::new(weights.nin(), &weights.nouts());
        model
            .set_weights(&weights)
            .expect("the weights fit their shape");
        assert_eq!(model.weights(), weights);
    });
}

/// `micrograd train --params JSON`: settings as one JSON object. Settings
/// that read write back and read the same; those that pass `check` and
/// draw few points resolve, and their resolved settings resolve again to
/// themselves and to the same run (what a run's summary promises of its
/// `"params"`).
pub fn params_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = match Settings::from_json(text) {
        Ok(settings) => settings,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty() && !message.contains('\n'), "{message}");
            return;
        }
    };
    let written = serde_json::to_string(&settings).expect("settings serialize");
    let again = Settings::from_json(&written).expect("written settings read back");
    assert_eq!(again, settings);
    if settings.check().is_err() || settings.points.unwrap_or(0) > 2_000 {
        return;
    }
    let Ok(setup) = settings.resolve(None) else {
        return;
    };
    let again = setup
        .settings
        .resolve(None)
        .expect("resolved settings resolve again");
    assert_eq!(again.settings, setup.settings);
    // The same run: the schedule's numbers to the bit, not only its shape
    // and start.
    let (preset, first) = (&again.preset, &setup.preset);
    assert_eq!(preset.config, first.config);
    assert_eq!(
        (&preset.hidden, preset.activation, preset.steps),
        (&first.hidden, first.activation, first.steps)
    );
    assert_eq!(preset.data, first.data);
    assert_eq!(again.test, setup.test);
}

/// `micrograd predict --model FILE.safetensors`: a saved model.
pub fn safetensors_model(data: &[u8]) {
    let model = match SavedModel::from_safetensors(data, "fuzz.safetensors") {
        Ok(model) => model,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    model.weights.check().expect("loaded weights fit together");
    // What `Classes` promises: at least two finite labels, increasing.
    let labels = model.task.classes().map_or(&[][..], |c| c.labels());
    assert!(labels.is_empty() || labels.len() >= 2, "{:?}", model.task);
    assert!(labels.iter().all(|c| c.is_finite()), "{:?}", model.task);
    assert!(labels.windows(2).all(|p| p[0] < p[1]), "{:?}", model.task);
    let outputs = check_predict(&model.weights);
    assert_eq!(outputs.len(), model.task.outputs());
    let prediction = model.task.predict(outputs.iter().copied());
    // With one output per class, every output predicts a class.
    assert!(labels.is_empty() || labels.contains(&prediction));
    let again = SavedModel::from_safetensors(&model.to_safetensors(), "again.safetensors");
    assert_eq!(again.expect("a written model loads"), model);
}

/// The weights' outputs for one input: as many as the last layer has
/// neurons.
fn check_predict(weights: &Weights) -> Vec<f64> {
    let x: Vec<f64> = VALUES.iter().copied().cycle().take(weights.nin()).collect();
    let outputs = weights.predict(&x);
    assert_eq!(Some(outputs.len()), weights.nouts().last().copied());
    outputs
}

/// The playground page's engine, as its worker asks it: each line a
/// request (what a link, a control or a hostile page script sends), to one
/// page in turn. Every answer is a JSON object: an error, or what was
/// asked. Steps are capped at a few per request here, so that a case
/// finishes in seconds (the engine itself refuses more than 1,000).
pub fn page_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut page = micrograd_playground_engine::Page::default();
    for line in text.lines().take(16) {
        if let Ok(request) = serde_json::from_str::<serde_json::Value>(line)
            && request["op"] == "step"
            && request["steps"].as_u64().is_some_and(|n| n > 3)
        {
            continue;
        }
        let answer: serde_json::Value =
            serde_json::from_str(&page.handle_json(line)).expect("every answer is JSON");
        assert!(answer.is_object(), "every answer is an object: {answer}");
    }
}
