//! The playground's JSON API over real HTTP, against a server on port 0 in
//! this process: every endpoint, and every way a request can be wrong.

#![cfg(feature = "playground")]

mod http;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use http::{Events, get, post, post_json, request, unbase64};
use micrograd::nn::Module;
use micrograd::train::{BuiltIn, SavedModel, Task, TrainConfig, Trainer};
use micrograd_playground::{Limits, Playground};
use serde_json::{Value, json};

fn start(limits: Limits) -> Playground {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    Playground::start(listener, limits).unwrap()
}

fn server() -> Playground {
    start(Limits::default())
}

/// A new session with `settings`; its id and description.
fn session(addr: SocketAddr, settings: Value) -> (String, Value) {
    let response = post_json(addr, "/api/sessions", &settings);
    assert_eq!(response.status, 201, "{}", response.text());
    let info = response.json();
    (info["id"].as_str().unwrap().to_owned(), info)
}

fn path(id: &str, rest: &str) -> String {
    format!("/api/sessions/{id}{rest}")
}

/// Waits up to `limit` for `done`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let server = server();
    let page = get(server.addr(), "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    let html = page.text();
    for hook in [
        "dataset",
        "hidden-layers",
        "play",
        "pause",
        "step",
        "reset",
        "step-count",
        "loss",
        "accuracy",
        "boundary",
        "upload",
        "error",
    ] {
        assert_eq!(
            html.matches(&format!("data-testid=\"{hook}\"")).count(),
            1,
            "the hook {hook}"
        );
    }
    // Nothing from elsewhere: every script and style is the server's own.
    assert!(!html.contains("http://") && !html.contains("https://"));
    let script = get(server.addr(), "/app.js");
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.text().contains("EventSource"));
    let style = get(server.addr(), "/style.css");
    assert_eq!(style.status, 200);
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );
}

#[test]
fn options_list_every_choice_and_the_limits() {
    let server = start(Limits {
        sessions: 7,
        ..Limits::default()
    });
    let options = get(server.addr(), "/api/options").json();
    let names = |key: &str| -> Vec<String> {
        options[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_str()
                    .map_or_else(|| v["name"].as_str().unwrap().to_owned(), str::to_owned)
            })
            .collect()
    };
    assert_eq!(
        names("datasets"),
        ["moons", "circles", "blobs", "spiral", "lecture", "upload"]
    );
    assert_eq!(names("activations"), ["relu", "tanh", "sigmoid", "linear"]);
    assert_eq!(
        names("losses"),
        ["svm", "mse", "sum-squares", "bce", "softmax"]
    );
    assert_eq!(names("optimizers"), ["sgd", "momentum", "adam"]);
    assert_eq!(names("schedules"), ["constant", "linear", "cosine"]);
    assert_eq!(options["datasets"][3]["points"], 300);
    assert_eq!(options["datasets"][3]["noise"], 0.2);
    assert_eq!(options["limits"]["sessions"], 7);
    assert_eq!(options["limits"]["upload_bytes"], 1 << 20);
}

#[test]
fn each_dataset_opens_with_its_preset() {
    let server = server();
    // micrograd's demo network, MLP(2, [16, 16, 1]), 337 parameters, and
    // its SVM loss with L2 1e-4, trained as the moons preset does: Adam
    // from 0.1, falling linearly to a tenth.
    let (_, moons) = session(server.addr(), json!({}));
    let settings = &moons["settings"];
    assert_eq!(settings["dataset"], "moons");
    assert_eq!(settings["points"], 100);
    assert_eq!(settings["hidden"], json!([16, 16]));
    assert_eq!(
        (
            &settings["loss"],
            &settings["optimizer"],
            &settings["schedule"]
        ),
        (&json!("svm"), &json!("adam"), &json!("linear"))
    );
    assert_eq!(
        (&settings["lr"], &settings["l2"]),
        (&json!(0.1), &json!(0.0001))
    );
    assert_eq!(moons["network"]["widths"], json!([2, 16, 16, 1]));
    assert_eq!(moons["network"]["parameters"], 337);
    assert_eq!(moons["data"]["task"], "binary");
    assert_eq!(moons["data"]["classes"], json!([-1.0, 1.0]));
    assert_eq!(moons["data"]["x"].as_array().unwrap().len(), 100);
    assert_eq!(moons["status"]["step"], 0);
    assert_eq!(moons["status"]["playing"], false);

    // The spiral: 2-32-32-3 is 3·32 + 33·32 + 33·3 = 1,251 parameters;
    // softmax, Adam, cosine from 0.1.
    let (_, spiral) = session(server.addr(), json!({"dataset": "spiral"}));
    let settings = &spiral["settings"];
    assert_eq!(settings["hidden"], json!([32, 32]));
    assert_eq!(
        (&settings["loss"], &settings["optimizer"]),
        (&json!("softmax"), &json!("adam"))
    );
    assert_eq!(
        (&settings["lr"], &settings["schedule"]),
        (&json!(0.1), &json!("cosine"))
    );
    assert_eq!(spiral["network"]["parameters"], 1251);
    assert_eq!(spiral["data"]["classes"], json!([0.0, 1.0, 2.0]));

    // The lecture: three features, no pictures over the plane.
    let (_, lecture) = session(server.addr(), json!({"dataset": "lecture"}));
    assert_eq!(lecture["network"]["widths"], json!([3, 4, 4, 1]));
    assert_eq!(lecture["settings"]["loss"], "sum-squares");
    assert_eq!(lecture["data"]["x"], Value::Null);
    assert_eq!(lecture["data"]["extent"], Value::Null);

    // Overrides, and the data's own fields.
    let (_, custom) = session(
        server.addr(),
        json!({"dataset": "circles", "points": 50, "noise": 0, "hidden": [4], "activation": "tanh",
               "optimizer": "adam", "lr": 0.05, "schedule": "constant", "batch": 10, "l2": 0, "speed": 30}),
    );
    let settings = &custom["settings"];
    assert_eq!(custom["data"]["points"], 50);
    assert_eq!(settings["noise"], 0.0);
    assert_eq!(custom["network"]["widths"], json!([2, 4, 1]));
    assert_eq!(custom["network"]["activations"], json!(["tanh", "linear"]));
    assert_eq!(
        (&settings["batch"], &settings["speed"]),
        (&json!(10), &json!(30.0))
    );
    // Without noise the circles have radii 1 and 0.5 exactly.
    for (x, y) in custom["data"]["x"]
        .as_array()
        .unwrap()
        .iter()
        .zip(custom["data"]["y"].as_array().unwrap())
    {
        let r = x[0].as_f64().unwrap().hypot(x[1].as_f64().unwrap());
        let expected = if y.as_f64() == Some(1.0) { 0.5 } else { 1.0 };
        assert!((r - expected).abs() < 1e-12, "radius {r}");
    }
}

#[test]
fn steps_are_the_ones_micrograd_train_takes() {
    let server = server();
    let (id, _) = session(server.addr(), json!({"dataset": "moons", "seed": 3}));
    let mut steps = Vec::new();
    for k in 0..5 {
        let status = post(server.addr(), &path(&id, "/step"));
        assert_eq!(status.status, 200, "{}", status.text());
        let status = status.json();
        assert_eq!(status["step"], k + 1);
        steps.push((
            status["loss"].as_f64().unwrap(),
            status["accuracy"].as_f64().unwrap(),
        ));
    }
    // The library's trainer on the same preset, on this thread.
    let preset = BuiltIn::Moons.preset(3);
    let model = preset.model(3);
    let config = TrainConfig {
        threads: Some(1),
        ..preset.config.clone()
    };
    let mut trainer = Trainer::new(&model, &preset.data, &config).unwrap();
    for (k, (loss, accuracy)) in steps.into_iter().enumerate() {
        let record = trainer.step().unwrap();
        assert_eq!(loss.to_bits(), record.loss.to_bits(), "step {k}");
        assert_eq!(Some(accuracy), record.accuracy);
    }
    assert_eq!(model.num_parameters(), 337);
}

#[test]
fn frames_stream_while_playing_and_stop_with_pause() {
    let server = server();
    let (id, info) = session(server.addr(), json!({"dataset": "spiral", "speed": 200}));
    let mut events = Events::open(server.addr(), &id);
    // The first frame: step 0, the boundary of the fresh network.
    let first = events.frame();
    assert_eq!(
        (&first["step"], &first["playing"]),
        (&json!(0), &json!(false))
    );
    let boundary = unbase64(first["boundary"]["cells"].as_str().unwrap());
    assert_eq!(first["boundary"]["side"], 50);
    assert_eq!(boundary.len(), 50 * 50 * 2);
    assert!(
        boundary.chunks(2).all(|cell| cell[0] < 3),
        "classes 0, 1, 2"
    );
    let neurons = first["neurons"].as_array().unwrap();
    let widths: Vec<usize> = neurons
        .iter()
        .map(|l| l.as_array().unwrap().len())
        .collect();
    assert_eq!(widths, [32, 32, 3]);
    let side = neurons[0][0]["side"].as_u64().unwrap() as usize;
    assert_eq!(
        unbase64(neurons[0][0]["cells"].as_str().unwrap()).len(),
        side * side
    );
    assert_eq!(first["generation"], info["generation"]);

    let play = post(server.addr(), &path(&id, "/play"));
    assert_eq!(play.json()["playing"], true);
    let started = Instant::now();
    let mut frames = 0;
    let mut history = Vec::new();
    let mut last = first;
    while started.elapsed() < Duration::from_secs(2) {
        last = events.frame();
        frames += 1;
        for entry in last["history"].as_array().unwrap() {
            history.push(entry[0].as_u64().unwrap());
        }
    }
    // 12 frames a second, each with the steps since the one before.
    assert!(frames >= 20, "{frames} frames in 2 s");
    assert!(
        history.windows(2).all(|w| w[1] == w[0] + 1),
        "every step once, in order"
    );
    assert_eq!(history[0], 0);
    assert!(last["steps_per_second"].as_f64().unwrap() > 50.0, "{last}");
    assert!(last["last"]["accuracy"].as_f64().unwrap() > 0.6, "{last}");

    let paused = post(server.addr(), &path(&id, "/pause")).json();
    assert_eq!(paused["playing"], false);
    let at = paused["step"].as_u64().unwrap();
    // The frames after the pause all show the step it stopped at.
    loop {
        let frame = events.frame();
        if frame["playing"] == false {
            assert_eq!(frame["step"], at);
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let info = get(server.addr(), &path(&id, "")).json();
    assert_eq!(info["status"]["step"], at);

    // A second reader is refused: the stream is the page's.
    let again = get(server.addr(), &path(&id, "/events"));
    assert_eq!(again.status, 409);
    assert!(again.error().contains("already"));
}

#[test]
fn reset_starts_again_from_the_same_weights() {
    let server = server();
    let (id, _) = session(server.addr(), json!({"dataset": "blobs"}));
    let first = post(server.addr(), &path(&id, "/step")).json();
    post(server.addr(), &path(&id, "/step"));
    let reset = post(server.addr(), &path(&id, "/reset"));
    assert_eq!(reset.status, 200);
    let reset = reset.json();
    assert_eq!(reset["generation"], 1);
    assert_eq!(reset["status"]["step"], 0);
    assert_eq!(reset["status"]["loss"], Value::Null);
    let again = post(server.addr(), &path(&id, "/step")).json();
    assert_eq!(again["loss"], first["loss"]);
    assert_eq!(again["generation"], 1);
}

#[test]
fn the_settings_keys_are_the_librarys_and_a_sessions_settings_read_back() {
    let server = server();
    let addr = server.addr();
    // `hidden` as `micrograd train --hidden` writes it; `steps` spans the
    // schedule: a constant rate of 0.5 over 10 steps.
    let (id, info) = session(
        addr,
        json!({"dataset": "moons", "hidden": "8,3", "steps": 10, "lr": 0.5, "schedule": "constant"}),
    );
    // Moons: two features, two classes scored by one output.
    assert_eq!(info["network"]["widths"], json!([2, 8, 3, 1]));
    // (2+1)·8 + (8+1)·3 + (3+1)·1 = 24 + 27 + 4.
    assert_eq!(info["network"]["parameters"], 55);
    let settings = info["settings"].clone();
    assert_eq!(settings["hidden"], json!([8, 3]));
    assert_eq!(settings["steps"], 10);
    let keys: Vec<&str> = settings
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "dataset",
        "points",
        "noise",
        "seed",
        "hidden",
        "activation",
        "loss",
        "optimizer",
        "lr",
        "schedule",
        "batch",
        "l2",
        "steps",
        "speed",
    ];
    expected.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    // A session's settings, sent back, are the same settings.
    let again = post_json(addr, &path(&id, "/settings"), &settings);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["settings"], settings);
    // A text that is not widths is a 422 that says why.
    let bad = post_json(addr, &path(&id, "/settings"), &json!({"hidden": "8,,3"}));
    assert_eq!(bad.status, 422);
    assert!(bad.error().contains("an empty width between commas"));
}

#[test]
fn new_settings_restart_and_bad_ones_change_nothing() {
    let server = server();
    let addr = server.addr();
    let (id, _) = session(addr, json!({}));
    let changed = post_json(
        addr,
        &path(&id, "/settings"),
        &json!({"dataset": "spiral", "hidden": [8]}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    let changed = changed.json();
    assert_eq!(changed["generation"], 1);
    assert_eq!(changed["network"]["widths"], json!([2, 8, 3]));

    let unprocessable = [
        (json!({"dataset": "mnist"}), "unknown dataset `mnist`"),
        (json!({"dataset": "upload"}), "no file has been uploaded"),
        (json!({"points": 3}), "points must be between 4 and 10000"),
        (
            json!({"points": 10_001}),
            "points must be between 4 and 10000",
        ),
        (json!({"noise": 3}), "noise must be between 0 and 2"),
        (
            json!({"hidden": [8, 8, 8, 8, 8, 8, 8]}),
            "at most 6 hidden layers",
        ),
        (json!({"hidden": [0]}), "a hidden layer has 1 to 64 neurons"),
        (
            json!({"hidden": [65]}),
            "a hidden layer has 1 to 64 neurons",
        ),
        // 3·64 + 5·65·64 + 65 = 21,057 parameters.
        (
            json!({"hidden": [64, 64, 64, 64, 64, 64]}),
            "21057 parameters; at most 20000",
        ),
        (json!({"activation": "gelu"}), "unknown activation `gelu`"),
        (json!({"loss": "hinge2"}), "unknown loss `hinge2`"),
        (json!({"optimizer": "lbfgs"}), "unknown optimizer `lbfgs`"),
        (json!({"schedule": "exp"}), "unknown schedule `exp`"),
        (json!({"lr": 0}), "learning rate"),
        (json!({"lr": 11}), "learning rate"),
        (json!({"l2": 2}), "L2 must be between 0 and 1"),
        (json!({"batch": 0}), "batch size must be at least 1"),
        (json!({"speed": 0}), "speed must be between 1 and 1000"),
        (json!({"speed": 5000}), "speed must be between 1 and 1000"),
        (
            json!({"dataset": "spiral", "loss": "svm"}),
            "the svm loss cannot train on spiral",
        ),
        (json!({"colour": "red"}), "unknown field `colour`"),
        (json!({"points": "many"}), "invalid type"),
    ];
    for (settings, message) in unprocessable {
        let response = post_json(addr, &path(&id, "/settings"), &settings);
        assert_eq!(response.status, 422, "{settings}: {}", response.text());
        let error = response.error();
        assert!(error.contains(message), "{settings}: {error}");
    }
    // The same checks when a session starts.
    let response = post_json(addr, "/api/sessions", &json!({"dataset": "mnist"}));
    assert_eq!(response.status, 422);
    // Bodies that are not JSON settings.
    let broken = request(
        addr,
        "POST",
        &path(&id, "/settings"),
        &[("Content-Type", "application/json")],
        b"{\"dataset\": ",
    );
    assert_eq!(broken.status, 400);
    assert!(broken.error().contains("the JSON body"));
    let plain = request(
        addr,
        "POST",
        &path(&id, "/settings"),
        &[("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(plain.status, 415);
    plain.error();
    let empty = post(addr, &path(&id, "/settings"));
    assert_eq!(empty.status, 415);
    let huge = vec![b' '; 65 * 1024];
    let too_large = request(
        addr,
        "POST",
        &path(&id, "/settings"),
        &[("Content-Type", "application/json")],
        &huge,
    );
    assert_eq!(too_large.status, 413);
    assert!(too_large.error().contains("larger than 65536 bytes"));

    // Nothing changed.
    let info = get(addr, &path(&id, "")).json();
    assert_eq!(info["generation"], 1);
    assert_eq!(info["network"]["widths"], json!([2, 8, 3]));
}

#[test]
fn uploads_parse_in_memory_with_train_datas_messages() {
    let server = start(Limits {
        upload_bytes: 4_000,
        points: 100,
        ..Limits::default()
    });
    let addr = server.addr();
    let (id, _) = session(addr, json!({}));
    let upload = |name: &str, bytes: &[u8]| {
        request(
            addr,
            "POST",
            &path(&id, &format!("/data?name={name}")),
            &[("Content-Type", "text/csv")],
            bytes,
        )
    };
    let bad = upload("bad.csv", b"x1,x2,label\n0.5,1.0,0\n0.25,oops,1\n");
    assert_eq!(bad.status, 422);
    let error = bad.json();
    assert_eq!(error["error"], "bad.csv:3:2: `oops` is not a number");
    assert_eq!((&error["line"], &error["column"]), (&json!(3), &json!(2)));
    let ragged = upload("ragged.csv", b"1,2,0\n3,1\n");
    assert_eq!(
        ragged.json()["error"],
        "ragged.csv:2:3: expected 3 fields, found 2"
    );
    let binary = upload("x.csv", &[0x89, b'P', b'N', b'G', 0]);
    assert_eq!(binary.json()["error"], "x.csv: not a text file");
    let json_error = upload("d.json", br#"{"X": [[1, 2]], "y": }"#);
    assert_eq!(json_error.status, 422);
    assert_eq!(json_error.json()["line"], 1);
    let too_many: String = (0..101).map(|i| format!("{i},0,{}\n", i % 2)).collect();
    let response = upload("many.csv", too_many.as_bytes());
    assert_eq!(response.status, 422);
    assert!(response.error().contains("101 points; at most 100"));
    let too_large = upload("big.csv", &vec![b'1'; 4_001]);
    assert_eq!(too_large.status, 413);
    too_large.error();
    let unknown = request(
        addr,
        "POST",
        &path(&id, "/data?file=a.csv"),
        &[],
        b"1,2,0\n",
    );
    assert_eq!(unknown.status, 400);
    assert!(unknown.error().contains("unknown parameter `file`"));

    // Two classes: micrograd's demo settings; three: the spiral's.
    let good = upload("halves.csv", b"a,b,label\n-1,0,0\n-1,1,0\n1,0,1\n1,1,1\n");
    assert_eq!(good.status, 200, "{}", good.text());
    let info = good.json();
    assert_eq!(info["settings"]["dataset"], "upload");
    assert_eq!(info["data"]["name"], "halves.csv");
    assert_eq!(info["data"]["points"], 4);
    assert_eq!(info["data"]["classes"], json!([0.0, 1.0]));
    assert_eq!(info["settings"]["loss"], "svm");
    let three = upload(
        "three.json",
        br#"{"X": [[0, 0], [1, 1], [2, 2]], "y": [0, 1, 2]}"#,
    )
    .json();
    assert_eq!(three["settings"]["loss"], "softmax");
    assert_eq!(three["network"]["widths"], json!([2, 32, 32, 3]));
    // The upload stays the session's data through new settings.
    let settings = post_json(
        addr,
        &path(&id, "/settings"),
        &json!({"dataset": "upload", "hidden": [4]}),
    );
    assert_eq!(settings.json()["data"]["name"], "three.json");
}

#[test]
fn the_model_and_the_pictures_download() {
    let server = server();
    let addr = server.addr();
    let (id, _) = session(addr, json!({"dataset": "moons"}));
    let curves = get(addr, &path(&id, "/curves.svg"));
    assert_eq!(curves.status, 422, "no steps yet");
    assert!(curves.error().contains("no training steps"));
    for _ in 0..3 {
        post(addr, &path(&id, "/step"));
    }
    let model = get(addr, &path(&id, "/model"));
    assert_eq!(model.status, 200);
    assert_eq!(
        model.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        model.header("content-disposition"),
        Some("attachment; filename=\"micrograd-moons.safetensors\"")
    );
    let saved = SavedModel::from_safetensors(&model.body, "download").unwrap();
    assert_eq!(saved.weights.nouts(), vec![16, 16, 1]);
    assert_eq!(saved.task, Task::binary(-1.0, 1.0).unwrap());
    // The weights after three steps: the library's trainer agrees.
    let preset = BuiltIn::Moons.preset(0);
    let trained = preset.model(0);
    let config = TrainConfig {
        threads: Some(1),
        ..preset.config.clone()
    };
    Trainer::new(&trained, &preset.data, &config)
        .unwrap()
        .run(3, |_| {})
        .unwrap();
    assert_eq!(saved.weights, trained.weights());

    let boundary = get(addr, &path(&id, "/boundary.svg"));
    assert_eq!(boundary.status, 200);
    assert_eq!(boundary.header("content-type"), Some("image/svg+xml"));
    assert!(boundary.text().contains("moons after 3 steps"));
    let curves = get(addr, &path(&id, "/curves.svg"));
    assert_eq!(curves.status, 200);
    assert!(curves.text().starts_with("<svg"));

    let (lecture, _) = session(addr, json!({"dataset": "lecture"}));
    let not_2d = get(addr, &path(&lecture, "/boundary.svg"));
    assert_eq!(not_2d.status, 422);
    assert!(not_2d.error().contains("points in the plane"));
}

#[test]
fn expressions_draw_with_their_gradients() {
    let server = server();
    let addr = server.addr();
    // The lecture's neuron: o = tanh(n), n = x1·w1 + x2·w2 + b = 0.88137...
    // = atanh(1/√2), so o = 1/√2 and do/dn = 1 - o² = 1/2; do/dx1 = w1/2.
    let neuron = json!({"expr": "tanh(x1*w1 + x2*w2 + b)",
                        "values": {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.881_373_587_019_543}});
    let answer = post_json(addr, "/api/graph", &neuron);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    assert!((answer["value"].as_f64().unwrap() - 0.5f64.sqrt()).abs() < 1e-15);
    let grad = |name: &str| answer["grads"][name].as_f64().unwrap();
    assert!((grad("x1") + 1.5).abs() < 1e-15);
    assert!((grad("w1") - 1.0).abs() < 1e-15);
    assert_eq!(grad("w2"), 0.0);
    assert!((grad("b") - 0.5).abs() < 1e-15);
    // 10 values, drawn as micrograd draws them: 5 leaves, 2 products, 2
    // sums and the tanh.
    assert_eq!(answer["nodes"], 10);
    // Graphviz writes a minus sign as `&#45;`.
    assert!(
        answer["svg"]
            .as_str()
            .unwrap()
            .contains(">grad &#45;1.5000<")
    );

    let png = post_json(addr, "/api/graph?format=png", &neuron);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");

    let syntax = post_json(
        addr,
        "/api/graph",
        &json!({"expr": "tanh(x + ", "values": {"x": 1}}),
    );
    assert_eq!(syntax.status, 422);
    let error = syntax.json();
    assert_eq!(error["position"], 9);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .ends_with("tanh(x + \n           ^")
    );
    let missing = post_json(
        addr,
        "/api/graph",
        &json!({"expr": "x*y", "values": {"x": 1}}),
    );
    assert_eq!(missing.status, 422);
    assert!(missing.error().contains("no value for `y`"));
    let long = post_json(
        addr,
        "/api/graph",
        &json!({"expr": "x+".repeat(1001) + "x", "values": {"x": 1}}),
    );
    assert_eq!(long.status, 422);
    assert!(long.error().contains("longer than 2000"));
    // x + x + ... + x, 200 additions: 201 nodes, more than a server that
    // draws 100 takes.
    let small = start(Limits {
        graph_nodes: 100,
        ..Limits::default()
    });
    let wide = post_json(
        small.addr(),
        "/api/graph",
        &json!({"expr": "x+".repeat(200) + "x", "values": {"x": 1}}),
    );
    assert_eq!(wide.status, 422);
    assert!(
        wide.error().contains("201 nodes; graphs of up to 100"),
        "{}",
        wide.text()
    );
    let format = post_json(addr, "/api/graph?format=gif", &neuron);
    assert_eq!(format.status, 400);
    assert!(format.error().contains("unknown format `gif`"));
    let no_expr = post_json(addr, "/api/graph", &json!({"values": {}}));
    assert_eq!(no_expr.status, 422);
    assert!(no_expr.error().contains("missing field `expr`"));
}

#[test]
fn a_points_graph_through_the_network() {
    let server = server();
    let addr = server.addr();
    let (id, info) = session(addr, json!({"dataset": "moons", "hidden": [2]}));
    let graph = get(addr, &path(&id, "/graph?point=5"));
    assert_eq!(graph.status, 200, "{}", graph.text());
    assert_eq!(graph.header("content-type"), Some("image/svg+xml"));
    let svg = graph.text();
    // Its inputs are point 5's coordinates, as draw_dot's %.4f.
    let x = &info["data"]["x"][5];
    for (i, v) in [x[0].as_f64().unwrap(), x[1].as_f64().unwrap()]
        .iter()
        .enumerate()
    {
        assert!(svg.contains(&format!("x{}", i + 1)));
        // Graphviz writes a minus sign as `&#45;`.
        let shown = format!(">data {v:.4}<").replace('-', "&#45;");
        assert!(svg.contains(&shown), "x{} = {v:.4}", i + 1);
    }
    assert!(svg.contains(">loss<"));
    let png = get(addr, &path(&id, "/graph?point=0&format=png"));
    assert_eq!(&png.body[..4], b"\x89PNG");
    for (query, status, message) in [
        ("", 400, "which point?"),
        ("?point=abc", 400, "a number from 0"),
        ("?point=100", 422, "100 points, numbered from 0"),
        ("?point=1&format=bmp", 400, "unknown format"),
        ("?point=1&zoom=2", 400, "unknown parameter `zoom`"),
    ] {
        let response = get(addr, &path(&id, &format!("/graph{query}")));
        assert_eq!(response.status, status, "{query}");
        assert!(
            response.error().contains(message),
            "{query}: {}",
            response.text()
        );
    }
    // The spiral's network is drawn as thousands of nodes: refused.
    let (spiral, _) = session(addr, json!({"dataset": "spiral"}));
    let big = get(addr, &path(&spiral, "/graph?point=0"));
    assert_eq!(big.status, 422);
    assert!(big.error().contains("graphs of up to 1500 are drawn"));
}

#[test]
fn a_neuron_enlarged_comes_in_every_frame() {
    let server = server();
    let addr = server.addr();
    let (id, _) = session(addr, json!({"dataset": "moons", "hidden": [3, 2]}));
    let mut events = Events::open(addr, &id);
    assert_eq!(events.frame()["focus"], Value::Null);
    let focus = post_json(
        addr,
        &path(&id, "/focus"),
        &json!({"layer": 1, "neuron": 1}),
    );
    assert_eq!(focus.status, 204);
    let frame = events.frame();
    assert_eq!(
        (&frame["focus"]["layer"], &frame["focus"]["neuron"]),
        (&json!(1), &json!(1))
    );
    let cells = unbase64(frame["focus"]["grid"]["cells"].as_str().unwrap());
    assert_eq!(cells.len(), 50 * 50);
    // ReLU outputs are never negative: no byte below 128.
    assert!(cells.iter().all(|&b| b >= 128));
    for (request, message) in [
        (json!({"layer": 3, "neuron": 0}), "no neuron 0 in layer 3"),
        (json!({"layer": 0, "neuron": 3}), "no neuron 3 in layer 0"),
    ] {
        let response = post_json(addr, &path(&id, "/focus"), &request);
        assert_eq!(response.status, 422);
        assert!(response.error().contains(message));
    }
    let bad = post_json(
        addr,
        &path(&id, "/focus"),
        &json!({"layer": -1, "neuron": 0}),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(
        post_json(addr, &path(&id, "/focus"), &Value::Null).status,
        204
    );
    while events.frame()["focus"] != Value::Null {}
}

#[test]
fn a_diverging_loss_stops_training_with_a_message() {
    let server = server();
    let addr = server.addr();
    // A linear network on squared errors with a rate of 10: each step
    // multiplies the error, until it overflows.
    let (id, _) = session(
        addr,
        json!({"dataset": "moons", "loss": "mse", "activation": "linear", "optimizer": "sgd",
               "lr": 10, "schedule": "constant", "speed": 1000}),
    );
    let mut events = Events::open(addr, &id);
    post(addr, &path(&id, "/play"));
    let stopped = loop {
        let event = events.next().expect("the stream goes on");
        if event.name == "stopped" {
            break event.data;
        }
    };
    let message = stopped["message"].as_str().unwrap();
    assert!(
        message.starts_with("training stopped at step ")
            && message.contains("the loss is inf")
            && message.contains("the learning rate is too large; try a smaller one"),
        "{message}"
    );
    let info = get(addr, &path(&id, "")).json();
    assert_eq!(info["status"]["playing"], false);
    assert_eq!(info["status"]["stopped"], message);
    for command in ["/play", "/step"] {
        let response = post(addr, &path(&id, command));
        assert_eq!(response.status, 409);
        assert!(response.error().contains("training has stopped"));
    }
    let reset = post(addr, &path(&id, "/reset")).json();
    assert_eq!(reset["status"]["stopped"], Value::Null);
    assert_eq!(post(addr, &path(&id, "/step")).status, 200);
}

#[test]
fn unknown_paths_methods_and_sessions_are_json_errors() {
    let server = server();
    let addr = server.addr();
    for (method, path, status) in [
        ("GET", "/nowhere", 404),
        ("GET", "/api/sessions/0123456789abcdef", 404),
        ("POST", "/api/sessions/0123456789abcdef/play", 404),
        ("GET", "/api/sessions/0123456789abcdef/events", 404),
        ("DELETE", "/api/sessions/0123456789abcdef", 404),
        ("GET", "/api/sessions", 405),
        ("DELETE", "/api/options", 405),
        ("GET", "/api/sessions/x/play", 405),
    ] {
        let response = request(addr, method, path, &[], b"");
        assert_eq!(response.status, status, "{method} {path}");
        response.error();
    }
    let (id, _) = session(addr, json!({}));
    assert_eq!(
        request(addr, "DELETE", &path(&id, ""), &[], b"").status,
        204
    );
    let gone = get(addr, &path(&id, ""));
    assert_eq!(gone.status, 404);
    assert!(gone.error().contains("no session"));
    assert!(eventually(Duration::from_secs(5), || server.sessions() == 0));
}

#[test]
fn only_local_pages_may_use_a_local_server() {
    let server = server();
    let addr = server.addr();
    // A page elsewhere whose name was rebound to 127.0.0.1.
    let rebound = request(
        addr,
        "GET",
        "/api/options",
        &[("Host", "attacker.example:8000")],
        b"",
    );
    assert_eq!(rebound.status, 403);
    assert!(rebound.error().contains("localhost only"));
    let host = format!("localhost:{}", addr.port());
    assert_eq!(
        request(addr, "GET", "/", &[("Host", &host)], b"").status,
        200
    );
    // Another site's page posting to this one.
    let origin = request(
        addr,
        "POST",
        "/api/sessions",
        &[
            ("Origin", "http://attacker.example"),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(origin.status, 403);
    assert!(origin.error().contains("another site"));
    let own = format!("http://{addr}");
    let same = request(
        addr,
        "POST",
        "/api/sessions",
        &[("Origin", &own), ("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(same.status, 201);
}

#[test]
fn sessions_are_capped_and_end_with_their_page() {
    let server = start(Limits {
        sessions: 2,
        connect_timeout: Duration::from_millis(500),
        ..Limits::default()
    });
    let addr = server.addr();
    let (a, _) = session(addr, json!({}));
    let (b, _) = session(addr, json!({}));
    let refused = post_json(addr, "/api/sessions", &json!({}));
    assert_eq!(refused.status, 503);
    assert!(refused.error().contains("limit of 2 sessions"));
    assert_eq!(server.sessions(), 2);

    // a's page opens its stream, plays, and closes (the tab is closed);
    // b's page never opens its stream.
    let mut events = Events::open(addr, &a);
    events.frame();
    post(addr, &path(&a, "/play"));
    events.frame();
    drop(events);
    assert!(
        eventually(Duration::from_secs(10), || server.sessions() == 0),
        "{} sessions still run",
        server.sessions()
    );
    assert_eq!(get(addr, &path(&b, "")).status, 404);
    // Their places are free again.
    session(addr, json!({}));
}
