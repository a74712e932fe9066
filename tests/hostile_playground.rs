//! The playground against clients that are hostile or unlucky: bodies cut
//! short or badly chunked, expressions too long in bytes, numbers that are
//! not finite, requests addressed to another site's name, data with one
//! label, drawings whose clients hang up, connections that never speak,
//! and crowds of big networks on one core. Each case says what is sent,
//! the status and the one-line error that come back, and that nothing is
//! left running that should not be.

#![cfg(feature = "playground")]

mod http;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use http::{Events, Response, get, post, post_json, raw, request};
use micrograd_playground::{Limits, Playground};
use serde_json::{Value, json};

fn start_on(address: &str, limits: Limits) -> Playground {
    let listener = TcpListener::bind(address).unwrap();
    Playground::start(listener, limits).unwrap()
}

/// A session with `settings`; its id.
fn session(addr: SocketAddr, settings: Value) -> String {
    let response = post_json(addr, "/api/sessions", &settings);
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["id"].as_str().unwrap().to_owned()
}

/// Waits up to `limit` for `done`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// The graphs being drawn now, as `GET /api/status` counts them.
fn drawings(addr: SocketAddr) -> u64 {
    get(addr, "/api/status").json()["drawings"]
        .as_u64()
        .expect("the status counts drawings")
}

/// How a case's request goes on the wire.
enum Send {
    /// A well-formed request: method, path, extra headers, body.
    Request(&'static str, String, Vec<(&'static str, String)>, Vec<u8>),
    /// Bytes as they are; then the sending side is shut if `true`.
    Raw(String, bool),
}

/// One request and what must come back.
struct Case {
    what: &'static str,
    send: Send,
    status: u16,
    /// A part of the one-line error (`{"error": ...}`); empty for a 2xx.
    error: &'static str,
}

/// Sends each case; panics with every case that did not get its answer.
fn check(addr: SocketAddr, cases: impl IntoIterator<Item = Case>) {
    let wrong: Vec<String> = cases
        .into_iter()
        .filter_map(|case| answered(addr, case).err())
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether `case` got its status and error.
fn answered(addr: SocketAddr, case: Case) -> Result<(), String> {
    let Case {
        what,
        send,
        status,
        error,
    } = case;
    let response: Response = match send {
        Send::Request(method, path, headers, body) => {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            request(addr, method, &path, &headers, &body)
        }
        Send::Raw(bytes, hang_up) => raw(addr, bytes.as_bytes(), hang_up),
    };
    if response.status != status {
        return Err(format!(
            "{what}: {} instead of {status}: {}",
            response.status,
            response.text()
        ));
    }
    if status >= 400 {
        let message = response.error();
        if message.contains('\n') || !message.contains(error) {
            return Err(format!(
                "{what}: {message:?} does not say {error:?} in one line"
            ));
        }
    }
    Ok(())
}

/// A POST of `body` to `path` with its head, as `Send::Raw` sends it;
/// `framing` is the header that says where the body ends.
fn graph_post(addr: SocketAddr, path: &str, framing: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\n{framing}\r\n\r\n{body}"
    )
}

fn get_with_host(host: &str) -> Send {
    Send::Request(
        "GET",
        "/api/status".into(),
        vec![("Host", host.to_owned())],
        Vec::new(),
    )
}

#[test]
fn hostile_requests_get_one_line_errors_with_their_status() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            body_bytes: 4_000,
            read_timeout: Duration::from_secs(2),
            allowed_hosts: vec!["playground.test".into()],
            ..Limits::default()
        },
    );
    let addr = server.addr();
    let id = session(addr, json!({}));
    // 700 × '∑' (U+2211, three bytes in UTF-8): 2,100 bytes, 700 characters.
    let sums = json!({"expr": "∑".repeat(700), "values": {}}).to_string();
    // Two chunks of 2,500 bytes: 5,000 bytes with no Content-Length.
    let chunk = format!("{:x}\r\n{}\r\n", 2_500, " ".repeat(2_500));
    let cases = [
        Case {
            what: "a body cut short: 100 bytes declared, 10 sent, then the client hangs up",
            send: Send::Raw(
                graph_post(addr, "/api/graph", "Content-Length: 100", "{\"expr\": \""),
                true,
            ),
            status: 400,
            error: "cut short or malformed",
        },
        Case {
            what: "a body that stops coming: 100 bytes declared, 10 sent, the client waits",
            send: Send::Raw(
                graph_post(addr, "/api/graph", "Content-Length: 100", "{\"expr\": \""),
                false,
            ),
            status: 408,
            error: "did not arrive within 2 s",
        },
        Case {
            what: "a chunk size that is not hexadecimal",
            send: Send::Raw(
                graph_post(
                    addr,
                    "/api/graph",
                    "Transfer-Encoding: chunked",
                    "zz\r\n{}\r\n0\r\n\r\n",
                ),
                false,
            ),
            status: 400,
            error: "cut short or malformed",
        },
        Case {
            what: "a chunk longer than its size says",
            send: Send::Raw(
                graph_post(
                    addr,
                    "/api/graph",
                    "Transfer-Encoding: chunked",
                    "2\r\n{}xx\r\n0\r\n\r\n",
                ),
                false,
            ),
            status: 400,
            error: "cut short or malformed",
        },
        Case {
            what: "a chunked body of 5,000 bytes, past the limit of 4,000",
            send: Send::Raw(
                graph_post(
                    addr,
                    "/api/graph",
                    "Transfer-Encoding: chunked",
                    &format!("{chunk}{chunk}0\r\n\r\n"),
                ),
                false,
            ),
            status: 413,
            error: "larger than 4000 bytes",
        },
        Case {
            what: "an expression of 2,100 bytes in 700 characters",
            send: Send::Request(
                "POST",
                "/api/graph".into(),
                vec![("Content-Type", "application/json".into())],
                sums.into_bytes(),
            ),
            status: 422,
            error: "longer than 2000 bytes (it has 2100;",
        },
        Case {
            what: "a CSV whose labels are all 5",
            send: Send::Request(
                "POST",
                format!("/api/sessions/{id}/data?name=fives.csv"),
                vec![("Content-Type", "text/csv".into())],
                b"x1,x2,label\n0,1,5\n1,0,5\n2,2,5\n".to_vec(),
            ),
            status: 422,
            error: "fives.csv: every label is 5: there is nothing to learn",
        },
        Case {
            what: "a page of another site rebinding its name to the loopback",
            send: get_with_host("attacker.example:8000"),
            status: 403,
            error: "localhost only",
        },
        Case {
            what: "a name given to the server as its own (any case, any port)",
            send: get_with_host("Playground.Test:8000"),
            status: 200,
            error: "",
        },
        Case {
            what: "a name that only begins with an allowed one",
            send: get_with_host("playground.test.attacker.example"),
            status: 403,
            error: "localhost only",
        },
    ];
    check(addr, cases);
    // Nothing changed and nothing is left: the session still trains on
    // its moons, no graph is being drawn, and the session ends on DELETE.
    let info = get(addr, &format!("/api/sessions/{id}")).json();
    assert_eq!(info["data"]["name"], "moons");
    assert_eq!(drawings(addr), 0);
    let closed = request(addr, "DELETE", &format!("/api/sessions/{id}"), &[], b"");
    assert_eq!(closed.status, 204);
    assert!(eventually(Duration::from_secs(10), || server.sessions() == 0));
    assert_eq!(get(addr, "/").status, 200);
}

#[test]
fn numbers_that_are_not_finite_are_named_strings_with_the_op_that_made_them() {
    let server = start_on("127.0.0.1:0", Limits::default());
    let addr = server.addr();
    let graph = |expr: &str, x: f64| {
        let response = post_json(
            addr,
            "/api/graph",
            &json!({"expr": expr, "values": {"x": x}}),
        );
        assert_eq!(response.status, 200, "{expr}: {}", response.text());
        response
    };
    // 1/x at 0: x**-1 = +inf, and d/dx (1/x) = -1/x² = -inf.
    let reciprocal = graph("1/x", 0.0);
    let answer = reciprocal.json();
    assert_eq!(answer["value"], "Infinity");
    assert_eq!(answer["grads"]["x"], "-Infinity");
    let why = answer["not_finite"].as_str().unwrap();
    assert!(why.contains("(**-1) is inf, from operand 0.0"), "{why}");
    assert!(!reciprocal.text().contains("null"), "{}", reciprocal.text());
    // log(-1) is NaN; d/dx log(x) = 1/x = -1 is finite.
    let answer = graph("log(x)", -1.0).json();
    assert_eq!(answer["value"], "NaN");
    assert_eq!(answer["grads"]["x"], -1.0);
    let why = answer["not_finite"].as_str().unwrap();
    assert!(why.contains("(log) is NaN, from operand -1.0"), "{why}");
    // x**0.5 at 0 is 0, but its derivative 0.5/√x is +inf.
    let answer = graph("x**0.5", 0.0).json();
    assert_eq!(answer["value"], 0.0);
    assert_eq!(answer["grads"]["x"], "Infinity");
    assert!(
        answer["not_finite"]
            .as_str()
            .unwrap()
            .starts_with("the gradient of node 0"),
        "{answer}"
    );
    // Every number finite: `not_finite` is null.
    let answer = graph("x*x", 3.0).json();
    assert_eq!(
        (&answer["value"], &answer["grads"]["x"]),
        (&json!(9.0), &json!(6.0))
    );
    assert_eq!(answer["not_finite"], Value::Null);
}

/// A request sent whole, then dropped by its client after `wait`.
fn hang_up_after(addr: SocketAddr, bytes: &[u8], wait: Duration) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(bytes).unwrap();
    thread::sleep(wait);
}

#[test]
fn drawings_whose_clients_hang_up_still_count_against_the_limit() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            drawings: 2,
            ..Limits::default()
        },
    );
    let addr = server.addr();
    // 50 neurons on one input, as a PNG: seconds to lay out and draw,
    // within the graph limit.
    let terms: Vec<String> = (0..50)
        .map(|i| format!("tanh(x*{:.3}+{i})", f64::from(i) / 7.0))
        .collect();
    let body = json!({"expr": terms.join("+"), "values": {"x": 1}}).to_string();
    let bytes = graph_post(
        addr,
        "/api/graph?format=png",
        &format!("Content-Length: {}", body.len()),
        &body,
    );
    // Six clients, one after another, each gone before its drawing could
    // be done.
    let mut most = 0;
    for _ in 0..6 {
        hang_up_after(addr, bytes.as_bytes(), Duration::from_millis(300));
        most = most.max(drawings(addr));
    }
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(1) {
        most = most.max(drawings(addr));
        thread::sleep(Duration::from_millis(50));
    }
    assert!(most >= 1, "no drawing was seen running");
    assert!(most <= 2, "{most} drawings at once; the limit is 2");
    // The abandoned drawings end, and the next one is served.
    assert!(
        eventually(Duration::from_secs(120), || drawings(addr) == 0),
        "{} drawings still running",
        drawings(addr)
    );
    let small = post_json(
        addr,
        "/api/graph",
        &json!({"expr": "x*y", "values": {"x": 2, "y": 3}}),
    );
    assert_eq!(small.status, 200, "{}", small.text());
}

#[test]
fn big_networks_sharing_one_core_all_take_steps() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            training_threads: 1,
            ..Limits::default()
        },
    );
    let addr = server.addr();
    // Five hidden layers of 64: 3·64 + 4·65·64 + 65·3 = 17,027 parameters,
    // within the 20,000 allowed.
    let ids: Vec<String> = (0..4)
        .map(|k| {
            session(
                addr,
                json!({"dataset": "spiral", "hidden": [64, 64, 64, 64, 64], "speed": 1000, "seed": k}),
            )
        })
        .collect();
    // The tabs' event streams, open (frames are drawn for them) and not
    // read: a frame that finds its page's queue full is dropped.
    let _streams: Vec<Events> = ids.iter().map(|id| Events::open(addr, id)).collect();
    for id in &ids {
        let play = post(addr, &format!("/api/sessions/{id}/play"));
        assert_eq!(play.status, 200, "{}", play.text());
    }
    let steps = |id: &String| {
        get(addr, &format!("/api/sessions/{id}")).json()["status"]["step"]
            .as_u64()
            .unwrap()
    };
    let mut taken = Vec::new();
    let all_stepped = eventually(Duration::from_secs(60), || {
        taken = ids.iter().map(steps).collect();
        taken.iter().all(|&s| s >= 3)
    });
    assert!(all_stepped, "steps taken by each session: {taken:?}");
    for id in &ids {
        let info = get(addr, &format!("/api/sessions/{id}")).json();
        assert_eq!(info["status"]["playing"], true);
        let closed = request(addr, "DELETE", &format!("/api/sessions/{id}"), &[], b"");
        assert_eq!(closed.status, 204);
    }
    assert!(eventually(Duration::from_secs(30), || server.sessions() == 0));
}

#[test]
fn silent_connections_are_closed_and_no_more_than_the_cap_are_served() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            connections: 2,
            read_timeout: Duration::from_secs(2),
            ..Limits::default()
        },
    );
    let addr = server.addr();
    // Two connections that never send a byte hold both places.
    let silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    thread::sleep(Duration::from_millis(200));
    let (served, answer) = mpsc::channel();
    let third = thread::spawn(move || {
        let _ = served.send(get(addr, "/api/status").status);
    });
    assert!(
        answer.recv_timeout(Duration::from_millis(800)).is_err(),
        "a third connection was served while two held the cap of 2"
    );
    // The server hangs up on each once its timeout passes.
    for mut connection in silent {
        connection
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut rest = Vec::new();
        let end = connection.read_to_end(&mut rest);
        assert!(end.is_ok(), "a silent connection is still open: {end:?}");
    }
    // Then the third is served, and the page loads.
    assert_eq!(answer.recv_timeout(Duration::from_secs(20)), Ok(200));
    third.join().unwrap();
    assert_eq!(get(addr, "/").status, 200);
}

#[test]
fn on_every_interface_only_addresses_and_given_names_are_answered() {
    let server = start_on(
        "0.0.0.0:0",
        Limits {
            allowed_hosts: vec!["playground.test".into()],
            ..Limits::default()
        },
    );
    // The server listens on every interface; the tests reach it on the
    // loopback.
    let addr = SocketAddr::from(([127, 0, 0, 1], server.addr().port()));
    let refused = "not a name this server answers to";
    let cases = [
        ("attacker.example:8000", 403, refused),
        ("attacker.example", 403, refused),
        ("playground.test.attacker.example:80", 403, refused),
        // A page's Host is what its address bar says: an address cannot
        // be rebound, a name can.
        ("192.0.2.7:8000", 200, ""),
        ("[2001:db8::1]:8000", 200, ""),
        ("127.0.0.1:8000", 200, ""),
        ("localhost", 200, ""),
        ("PLAYGROUND.test:8000", 200, ""),
    ];
    check(
        addr,
        cases.map(|(host, status, error)| Case {
            what: host,
            send: get_with_host(host),
            status,
            error,
        }),
    );
}

/// `micrograd playground` on every interface; killed when dropped.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_program_on_every_interface_says_what_it_exposes_and_takes_allowed_names() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args([
            "playground",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--allow-host",
            "playground.test",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let _program = Program(child);
    let mut warning = String::new();
    BufReader::new(stderr).read_line(&mut warning).unwrap();
    for exposed in ["CPU", "memory", "train", "upload", "draw"] {
        assert!(warning.contains(exposed), "{exposed}: {warning}");
    }
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on http://0.0.0.0:")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("the first line: {line:?}"))
        .parse()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let allowed = request(addr, "GET", "/", &[("Host", "playground.test:8000")], b"");
    assert_eq!(allowed.status, 200);
    let rebound = request(addr, "GET", "/", &[("Host", "attacker.example")], b"");
    assert_eq!(rebound.status, 403);
    assert!(
        rebound.error().contains("--allow-host"),
        "{}",
        rebound.text()
    );
}
