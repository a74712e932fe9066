//! `micrograd playground`: the page's files served as they are in
//! `crates/playground/src/page/`, with the headers that let the page run
//! and nothing else; `--host`; and `--export DIR`, which writes the same
//! files for a static host.

#![cfg(feature = "playground")]

mod http;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use http::{get, head};

/// What the page is made of, each file's name and the type it is served
/// with (RFC 9239 for JavaScript; the WebAssembly JS API's
/// `compileStreaming` wants `application/wasm`).
const PAGE: [(&str, &str); 5] = [
    ("index.html", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("worker.js", "text/javascript; charset=utf-8"),
    ("engine.wasm", "application/wasm"),
];

/// The policy the page runs under, as issue 19 states it: scripts and
/// workers from this server, WebAssembly compiled, pictures from blobs.
const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                      worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; \
                      object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                      form-action 'none'";

fn source(name: &str) -> Vec<u8> {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/playground/src/page");
    std::fs::read(page.join(name)).unwrap()
}

/// `micrograd playground ARGS`, serving; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts the program and reads where it listens from its first line.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
            .arg("playground")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the program starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("the first line: {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn micrograd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_file_of_the_page_is_served_as_it_is_with_its_type_and_policy() {
    let server = Server::start(&["--port", "0"]);
    let mut paths: Vec<(String, &str, &str)> = PAGE
        .iter()
        .map(|&(name, kind)| (format!("/{name}"), name, kind))
        .collect();
    paths.push(("/".into(), "index.html", "text/html; charset=utf-8"));
    for (path, name, kind) in paths {
        let response = get(server.addr, &path);
        assert_eq!(response.status, 200, "{path}");
        assert!(response.body == source(name), "{path}: not {name}'s bytes");
        assert_eq!(response.header("content-type"), Some(kind), "{path}");
        assert_eq!(response.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            response.header("content-security-policy"),
            Some(POLICY),
            "{path}"
        );
        // HEAD: the same head, no body.
        let headed = head(server.addr, &path);
        assert_eq!(headed.status, 200, "{path}");
        assert_eq!(
            headed.header("content-length"),
            Some(source(name).len().to_string().as_str()),
            "{path}"
        );
        assert!(headed.body.is_empty(), "{path}");
    }
    assert_eq!(get(server.addr, "/engine.wasm.sources").status, 404);
}

#[test]
fn host_chooses_the_address_it_listens_on() {
    // All of 127.0.0.0/8 is the loopback (RFC 1122, 3.2.1.3).
    let server = Server::start(&["--host", "127.0.0.2", "--port", "0"]);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.2");
    let page = get(server.addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.body == source("index.html"));
    let taken = micrograd(&[
        "playground",
        "--host",
        "127.0.0.2",
        "--port",
        &server.addr.port().to_string(),
    ]);
    assert_eq!(taken.status.code(), Some(1));
    let stderr = String::from_utf8(taken.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("micrograd: cannot listen on {}", server.addr))
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn export_writes_the_files_it_serves() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("site");
    let dir_name = dir.display().to_string();
    let out = micrograd(&["playground", "--export", &dir_name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let wrote: BTreeSet<String> = lines[..lines.len() - 1]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    let expected: BTreeSet<String> = PAGE
        .iter()
        .map(|(name, _)| format!("wrote {}", dir.join(name).display()))
        .collect();
    assert_eq!(wrote, expected);
    let how = lines.last().unwrap();
    for said in [
        format!("python3 -m http.server -d {dir_name}"),
        "file://".into(),
    ] {
        assert!(how.contains(&said), "{said}: {how}");
    }
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, PAGE.iter().map(|(n, _)| (*n).to_owned()).collect());
    let server = Server::start(&["--port", "0"]);
    for (name, _) in PAGE {
        let written = std::fs::read(dir.join(name)).unwrap();
        assert!(
            written == get(server.addr, &format!("/{name}")).body,
            "{name}"
        );
        assert!(written == source(name), "{name}");
    }
}

#[test]
fn export_to_a_file_is_a_one_line_error_and_touches_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("index.html");
    std::fs::write(&file, "mine").unwrap();
    let out = micrograd(&["playground", "--export", &file.display().to_string()]);
    // Exit code 1: a file that cannot be written (micrograd --help).
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "micrograd: cannot write the page: {} is a file, not a directory\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn export_does_not_take_the_servers_flags() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("site").display().to_string();
    for flag in [
        ["--port", "9000"],
        ["--host", "0.0.0.0"],
        ["--allow-host", "example.org"],
    ] {
        let out = micrograd(&["playground", "--export", &dir, flag[0], flag[1]]);
        // Exit code 2: usage.
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("cannot be used with") && stderr.lines().count() == 1,
            "{flag:?}: {stderr}"
        );
    }
    assert!(!temp.path().join("site").exists());
}
