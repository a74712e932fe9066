//! The playground's server against clients that are hostile or unlucky:
//! bodies it does not want, heads too long or malformed, paths that try
//! to climb out of the page, requests addressed to another site's name,
//! connections that never speak and clients that never read. Each case
//! says what is sent, and the status and the one-line error that come
//! back.

#![cfg(feature = "playground")]

mod http;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use http::{Response, get, raw, request};
use micrograd_playground::{Limits, Playground};

fn start_on(address: &str, limits: Limits) -> Playground {
    let listener = TcpListener::bind(address).unwrap();
    Playground::start(listener, limits).unwrap()
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
    /// A part of the server's one-line error; `None` where hyper answers
    /// before the server sees the request (its errors have no body).
    error: Option<&'static str>,
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
            String::from_utf8_lossy(&response.body)
        ));
    }
    if let Some(error) = error {
        let message = response.error();
        if message.contains('\n') || !message.contains(error) {
            return Err(format!(
                "{what}: {message:?} does not say {error:?} in one line"
            ));
        }
    }
    Ok(())
}

/// `method path` with `Host` and `more` header lines, then `body`.
fn wire(addr: SocketAddr, method: &str, path: &str, more: &str, body: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{more}\r\n{body}")
}

fn get_with_host(host: &str) -> Send {
    Send::Request(
        "GET",
        "/".into(),
        vec![("Host", host.to_owned())],
        Vec::new(),
    )
}

#[test]
fn hostile_requests_get_one_line_errors_with_their_status() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            read_timeout: Duration::from_secs(2),
            allowed_hosts: vec!["playground.test".into()],
            ..Limits::default()
        },
    );
    let addr = server.addr();
    let no_body = Some("has no body");
    let cases = [
        Case {
            what: "a GET with a body cut short: 100 bytes declared, 10 sent, then a hang-up",
            send: Send::Raw(
                wire(addr, "GET", "/", "Content-Length: 100\r\n", "0123456789"),
                true,
            ),
            status: 413,
            error: no_body,
        },
        Case {
            what: "a GET with a body that stops coming: 100 bytes declared, 10 sent",
            send: Send::Raw(
                wire(addr, "GET", "/", "Content-Length: 100\r\n", "0123456789"),
                false,
            ),
            status: 413,
            error: no_body,
        },
        Case {
            what: "a GET declaring a body of 1 TB",
            send: Send::Raw(
                wire(
                    addr,
                    "GET",
                    "/app.js",
                    "Content-Length: 1000000000000\r\n",
                    "",
                ),
                false,
            ),
            status: 413,
            error: no_body,
        },
        Case {
            what: "a GET with a chunked body whose chunk size is not hexadecimal",
            send: Send::Raw(
                wire(
                    addr,
                    "GET",
                    "/",
                    "Transfer-Encoding: chunked\r\n",
                    "zz\r\n{}\r\n0\r\n\r\n",
                ),
                false,
            ),
            status: 413,
            error: no_body,
        },
        Case {
            what: "a POST of a form to the page",
            send: Send::Request(
                "POST",
                "/".into(),
                vec![(
                    "Content-Type",
                    "application/x-www-form-urlencoded".to_owned(),
                )],
                b"a=1".to_vec(),
            ),
            status: 405,
            error: Some("only read: GET or HEAD"),
        },
        Case {
            what: "a PUT over the page's script",
            send: Send::Request("PUT", "/app.js".into(), Vec::new(), b"alert(1)".to_vec()),
            status: 405,
            error: Some("only read: GET or HEAD"),
        },
        Case {
            what: "a DELETE of the engine",
            send: Send::Request("DELETE", "/engine.wasm".into(), Vec::new(), Vec::new()),
            status: 405,
            error: Some("only read: GET or HEAD"),
        },
        Case {
            what: "the old API, gone with the sessions",
            send: Send::Request("POST", "/api/sessions".into(), Vec::new(), Vec::new()),
            status: 404,
            error: Some("no such file"),
        },
        Case {
            what: "a head of 100 kB, past hyper's buffer of 64 KiB",
            send: Send::Raw(
                wire(
                    addr,
                    "GET",
                    "/",
                    &format!("X-Long: {}\r\n", "a".repeat(100_000)),
                    "",
                ),
                false,
            ),
            status: 431,
            error: None,
        },
        Case {
            what: "a request line that is not HTTP",
            send: Send::Raw("HELLO THERE\r\n\r\n".into(), false),
            status: 400,
            error: None,
        },
        Case {
            what: "a header line without a colon",
            send: Send::Raw(wire(addr, "GET", "/", "no colon here\r\n", ""), false),
            status: 400,
            error: None,
        },
        Case {
            what: "HTTP/1.0 without a Host: addressed to no name",
            send: Send::Raw("GET / HTTP/1.0\r\n\r\n".into(), false),
            status: 403,
            error: Some("localhost only"),
        },
        Case {
            what: "a page of another site rebinding its name to the loopback",
            send: get_with_host("attacker.example:8000"),
            status: 403,
            error: Some("localhost only"),
        },
        Case {
            what: "a name given to the server as its own (any case, any port)",
            send: get_with_host("Playground.Test:8000"),
            status: 200,
            error: None,
        },
        Case {
            what: "a name that only begins with an allowed one",
            send: get_with_host("playground.test.attacker.example"),
            status: 403,
            error: Some("localhost only"),
        },
    ];
    let started = Instant::now();
    check(addr, cases);
    // No answer waited for a body (or for the read timeout of 2 s).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(get(addr, "/").status, 200);
}

#[test]
fn no_path_reaches_beyond_the_pages_files() {
    let server = start_on("127.0.0.1:0", Limits::default());
    let addr = server.addr();
    // Each names a file of the source tree, or the page's by another
    // spelling; only the page's own names are served.
    let paths = [
        "/../Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e/%2e%2e/Cargo.toml",
        "/page/app.js",
        "/src/page/app.js",
        "/lib.rs",
        "/server.rs",
        "/API.md",
        "/engine.wasm.sources",
        "//app.js",
        "/./app.js",
        "/app.js/",
        "/%61pp.js",
        "/app.js%00",
        "/APP.JS",
        "/index.htm",
        "/favicon.ico",
        "/etc/passwd",
    ];
    check(
        addr,
        paths.map(|path| Case {
            what: path,
            send: Send::Raw(wire(addr, "GET", path, "", ""), false),
            status: 404,
            error: Some("no such file: the playground is at /"),
        }),
    );
    // A query is not part of the path.
    assert_eq!(get(addr, "/app.js?v=2").status, 200);
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
        let _ = served.send(get(addr, "/style.css").status);
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
fn a_client_that_never_reads_is_closed_and_frees_its_place() {
    let server = start_on(
        "127.0.0.1:0",
        Limits {
            connections: 1,
            write_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    );
    let addr = server.addr();
    let wasm = get(addr, "/engine.wasm").body.len();
    // Twenty requests for the engine, sent at once on one connection and
    // never read: twenty answers of a few MB each, more than the sockets'
    // buffers hold, so the server's writes stall.
    let one = format!("GET /engine.wasm HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut hog = TcpStream::connect(addr).unwrap();
    hog.write_all(one.repeat(20).as_bytes()).unwrap();
    thread::sleep(Duration::from_secs(4));
    // Its place is free: another client is served.
    let (served, answer) = mpsc::channel();
    thread::spawn(move || {
        let _ = served.send(get(addr, "/").status);
    });
    assert_eq!(answer.recv_timeout(Duration::from_secs(10)), Ok(200));
    // And what the hog reads now is what the buffers held, then the end:
    // not the twenty answers.
    hog.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut read = Vec::new();
    let end = hog.read_to_end(&mut read);
    assert!(
        end.is_err() || read.len() < 20 * wasm,
        "the hog read all {} bytes: {end:?}",
        read.len()
    );
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
    let refused = Some("not a name this server answers to");
    let cases = [
        ("attacker.example:8000", 403, refused),
        ("attacker.example", 403, refused),
        ("playground.test.attacker.example:80", 403, refused),
        // A page's Host is what its address bar says: an address cannot
        // be rebound, a name can.
        ("192.0.2.7:8000", 200, None),
        ("[2001:db8::1]:8000", 200, None),
        ("127.0.0.1:8000", 200, None),
        ("localhost", 200, None),
        ("PLAYGROUND.test:8000", 200, None),
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
    for said in [
        "warning",
        "anyone who can reach this port",
        "`playground.test`",
        "--allow-host",
    ] {
        assert!(warning.contains(said), "{said}: {warning}");
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
