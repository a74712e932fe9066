//! The page's engine, natively: what the browser's worker asks, answered
//! as the WebAssembly module answers it (the same code).

use micrograd::train::SavedModel;
use micrograd_playground_engine::Page;
use serde_json::{Value, json};

fn ask(page: &mut Page, request: Value) -> Value {
    serde_json::from_str(&page.handle_json(&request.to_string())).unwrap()
}

fn configure(page: &mut Page, settings: Value) -> Value {
    ask(page, json!({"op": "configure", "settings": settings}))
}

fn error(answer: &Value) -> &str {
    answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {answer}"))
}

#[test]
fn micrograds_demo_after_100_steps_has_the_notebooks_loss_to_the_bit() {
    let mut page = Page::default();
    let info = configure(&mut page, json!({"dataset": "demo"}));
    assert_eq!(info["network"]["widths"], json!([2, 16, 16, 1]));
    let mut last = Value::Null;
    for _ in 0..100 {
        last = ask(&mut page, json!({"op": "step", "steps": 1}));
    }
    // micrograd's demo notebook prints, at step 99 (Python floats):
    // "step 99 loss 0.010978370135492717, accuracy 100.0%".
    let record = &last["records"][0];
    assert_eq!(record["step"], 99);
    assert_eq!(
        record["loss"].as_f64().unwrap().to_bits(),
        0.010978370135492717f64.to_bits()
    );
    assert_eq!(record["accuracy"], 1.0);
    assert_eq!(record["test_loss"], Value::Null);
    assert_eq!(last["step"], 100);
}

#[test]
fn requests_before_anything_trains_and_unreadable_ones_are_errors() {
    let mut page = Page::default();
    assert!(error(&ask(&mut page, json!({"op": "step", "steps": 1}))).contains("configure first"));
    let garbage: Value = serde_json::from_str(&page.handle_json("{not json")).unwrap();
    assert!(error(&garbage).contains("cannot read"));
    assert!(error(&ask(&mut page, json!({"op": "launch"}))).contains("unknown variant"));
    configure(&mut page, json!({"dataset": "moons"}));
    let many = ask(&mut page, json!({"op": "step", "steps": 1_000_000_000u64}));
    assert!(error(&many).contains("at most 1000 steps a request"));
}

#[test]
fn settings_outside_the_limits_are_refused_and_what_trained_goes_on() {
    let mut page = Page::default();
    configure(&mut page, json!({"dataset": "moons"}));
    let wide = configure(&mut page, json!({"dataset": "moons", "hidden": [1000]}));
    assert!(error(&wide).contains("1 to 64 neurons"));
    let many = configure(&mut page, json!({"dataset": "moons", "points": 1_000_000}));
    assert!(error(&many).contains("points must be between 4 and 10000"));
    let lr = configure(&mut page, json!({"lr": -1}));
    assert!(error(&lr).contains("learning rate"));
    let l1 = configure(&mut page, json!({"l1": 5}));
    assert!(error(&l1).contains("L1 must be between 0 and 1"));
    let unknown = configure(&mut page, json!({"colour": "red"}));
    assert!(error(&unknown).contains("unknown field `colour`"));
    // A link to an upload carries no data.
    let upload = configure(&mut page, json!({"dataset": "upload"}));
    assert!(error(&upload).contains("upload the file again"));
    // The moons still train.
    let steps = ask(&mut page, json!({"op": "step", "steps": 2}));
    assert_eq!(steps["step"], 2);
}

#[test]
fn a_held_out_split_is_shown_and_scored_every_step() {
    let mut page = Page::default();
    let info = configure(
        &mut page,
        json!({"dataset": "moons", "points": 100, "test": 0.25}),
    );
    let test = info["data"]["test"].as_array().unwrap();
    assert_eq!(test.len(), 100);
    // round(0.25 · 100) held out.
    assert_eq!(test.iter().filter(|t| t.as_bool().unwrap()).count(), 25);
    let steps = ask(&mut page, json!({"op": "step", "steps": 3}));
    for record in steps["records"].as_array().unwrap() {
        let loss = record["test_loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss >= 0.0);
        let accuracy = record["test_accuracy"].as_f64().unwrap();
        // A multiple of 1/25.
        assert!(((accuracy * 25.0) - (accuracy * 25.0).round()).abs() < 1e-9);
    }
}

#[test]
fn features_are_the_networks_inputs_and_pictures_of_their_own() {
    let mut page = Page::default();
    let info = configure(
        &mut page,
        json!({"dataset": "circles", "features": ["x1^2", "x2^2"]}),
    );
    assert_eq!(info["network"]["widths"][0], 2);
    assert_eq!(info["network"]["inputs"], json!(["x1^2", "x2^2"]));
    let grids = info["network"]["input_grids"].as_array().unwrap();
    assert_eq!(grids.len(), 2);
    // x1² over the plane: the same in every row, and largest at the left
    // or right edge, where |x1| is largest; 255 is the largest magnitude.
    let side = grids[0]["side"].as_u64().unwrap() as usize;
    let cells: Vec<u64> = grids[0]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(cells.len(), side * side);
    assert_eq!(cells[..side], cells[side..2 * side]);
    assert_eq!(cells[0].max(cells[side - 1]), 255);
    assert!(
        cells.iter().all(|&c| c >= 128),
        "a square is never negative"
    );
    let all = ask(&mut page, json!({"op": "options"}));
    assert_eq!(
        all["features"],
        json!(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])
    );
}

#[test]
fn a_frame_has_the_boundary_every_neuron_and_the_weights_in_the_networks_shape() {
    let mut page = Page::default();
    let info = configure(&mut page, json!({"dataset": "blobs", "hidden": [5, 3]}));
    let widths: Vec<usize> = info["network"]["widths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(widths, [2, 5, 3, 3]);
    let frame = ask(&mut page, json!({"op": "frame", "focus": [1, 2]}));
    let boundary = &frame["boundary"];
    let side = boundary["side"].as_u64().unwrap() as usize;
    assert_eq!(boundary["cells"].as_array().unwrap().len(), 2 * side * side);
    // Each cell's class is one of the three.
    assert!(
        boundary["cells"]
            .as_array()
            .unwrap()
            .iter()
            .step_by(2)
            .all(|c| c.as_u64().unwrap() < 3)
    );
    assert_eq!(frame["focus"]["side"], side);
    let neurons = frame["neurons"].as_array().unwrap();
    assert_eq!(
        neurons
            .iter()
            .map(|l| l.as_array().unwrap().len())
            .collect::<Vec<_>>(),
        [5, 3, 3]
    );
    let weights = frame["weights"].as_array().unwrap();
    for (l, layer) in weights.iter().enumerate() {
        let layer = layer.as_array().unwrap();
        assert_eq!(layer.len(), widths[l + 1]);
        assert!(
            layer
                .iter()
                .all(|n| n.as_array().unwrap().len() == widths[l])
        );
    }
    let without = ask(&mut page, json!({"op": "frame", "neurons": false}));
    assert_eq!(without["neurons"], Value::Null);
    assert_eq!(without["focus"], Value::Null);
}

#[test]
fn a_points_graph_is_its_loss_through_the_network() {
    let mut page = Page::default();
    let info = configure(&mut page, json!({"dataset": "demo"}));
    let frame = ask(&mut page, json!({"op": "frame", "neurons": false}));
    let answer = ask(&mut page, json!({"op": "point", "point": 0}));
    // By hand: the demo's network (relu, relu, linear) on point 0, and its
    // hinge loss max(0, 1 - y·score), the SVM loss of one point.
    let x: Vec<f64> = info["data"]["x"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let y = info["data"]["y"][0].as_f64().unwrap();
    let mut current = x;
    let layers = frame["weights"].as_array().unwrap();
    for (l, layer) in layers.iter().enumerate() {
        current = layer
            .as_array()
            .unwrap()
            .iter()
            .zip(frame["biases"][l].as_array().unwrap())
            .map(|(w, b)| {
                let sum = w
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(&current)
                    .fold(b.as_f64().unwrap(), |s, (w, x)| s + w.as_f64().unwrap() * x);
                if l + 1 < layers.len() {
                    sum.max(0.0)
                } else {
                    sum
                }
            })
            .collect();
    }
    let hinge = (1.0 - y * current[0]).max(0.0);
    assert!((answer["loss"].as_f64().unwrap() - hinge).abs() <= 1e-12 * hinge.max(1.0));
    assert!(
        answer["svg"].as_str().unwrap().starts_with("<?xml")
            || answer["svg"].as_str().unwrap().contains("<svg")
    );
    assert!(error(&ask(&mut page, json!({"op": "point", "point": 100}))).contains("no point 100"));
}

#[test]
fn an_expression_is_drawn_with_its_gradients() {
    let mut page = Page::default();
    let answer = ask(
        &mut page,
        json!({"op": "expression", "expr": "a*b + c", "values": {"a": 2, "b": -3, "c": 10}}),
    );
    // a·b + c = -6 + 10; d/da = b, d/db = a, d/dc = 1.
    assert_eq!(answer["value"], 4.0);
    assert_eq!(answer["grads"], json!({"a": -3.0, "b": 2.0, "c": 1.0}));
    assert!(answer["svg"].as_str().unwrap().contains("<svg"));
    let missing = ask(
        &mut page,
        json!({"op": "expression", "expr": "a*b", "values": {"a": 1}}),
    );
    assert!(error(&missing).contains("no value for `b`"));
    let long = "x+".repeat(1_500) + "x";
    let refused = ask(
        &mut page,
        json!({"op": "expression", "expr": long, "values": {"x": 1}}),
    );
    assert!(error(&refused).contains("longer than 2000 bytes"));
}

#[test]
fn an_uploaded_file_trains_and_a_bad_one_says_where() {
    let mut page = Page::default();
    let csv = "x,y,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n";
    let info: Value = serde_json::to_value(page.upload("four.csv", csv.as_bytes())).unwrap();
    assert_eq!(info["data"]["name"], "four.csv");
    assert_eq!(info["data"]["points"], 4);
    let bad: Value =
        serde_json::to_value(page.upload("bad.csv", b"x,label\n1,0\nfoo,1\n")).unwrap();
    assert_eq!(bad["line"], 3);
    let big = vec![b'1'; 2 << 20];
    let refused: Value = serde_json::to_value(page.upload("big.csv", &big)).unwrap();
    assert!(error(&refused).contains("files of up to 1048576 bytes"));
    // Configure with the upload: the file kept.
    let again = configure(&mut page, json!({"dataset": "upload", "hidden": [3]}));
    assert_eq!(again["data"]["points"], 4);
}

#[test]
fn the_model_downloaded_is_the_one_training() {
    let mut page = Page::default();
    assert!(page.model().is_err());
    configure(&mut page, json!({"dataset": "moons", "hidden": [4]}));
    ask(&mut page, json!({"op": "step", "steps": 5}));
    let frame = ask(&mut page, json!({"op": "frame", "neurons": false}));
    let saved = SavedModel::from_safetensors(&page.model().unwrap(), "model.safetensors").unwrap();
    for (l, layer) in saved.weights.layers.iter().enumerate() {
        for (n, w) in layer.w.iter().enumerate() {
            let shown: Vec<f64> = frame["weights"][l][n]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(&shown, w);
        }
    }
}

#[test]
fn the_default_networks_points_are_drawn_without_the_relus_at_zero() {
    for dataset in [
        "moons",
        "circles",
        "blobs",
        "spiral",
        "xor",
        "gaussian",
        "plane",
        "multi-gaussian",
    ] {
        let mut page = Page::default();
        let info = configure(&mut page, json!({"dataset": dataset}));
        assert!(info.get("error").is_none(), "{dataset}: {info}");
        let answer = ask(&mut page, json!({"op": "point", "point": 0}));
        assert!(answer.get("error").is_none(), "{dataset}: {answer}");
        if info["network"]["activations"][0] == "relu" {
            assert!(answer["left_out"].as_u64().unwrap() > 0, "{dataset}");
        }
    }
}
