//! The playground under load, on loopback: `micrograd playground` serving
//! 50 tabs that train at once for 10 s at the fastest speed. The server
//! keeps answering (the page loads in under a second), and once the tabs
//! close their sessions end and the server's memory returns to where it
//! was.

#![cfg(feature = "playground")]

mod http;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use http::{Events, get, post, post_json};
use serde_json::json;

const TABS: usize = 50;
const TRAINING: Duration = Duration::from_secs(10);

/// The program, serving on a free port; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
            .args(["playground", "--port", "0"])
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

    /// Its resident memory, in bytes (Linux).
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    }

    fn sessions(&self) -> u64 {
        get(self.addr, "/api/status").json()["sessions"]
            .as_u64()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// A tab: opens a session, plays, reads its frames until `until`, closes.
/// Returns the frames read and the last step seen.
fn tab(addr: SocketAddr, k: usize, until: Instant) -> (usize, u64) {
    let dataset = ["moons", "circles", "blobs", "spiral"][k % 4];
    let created = post_json(
        addr,
        "/api/sessions",
        &json!({"dataset": dataset, "seed": k, "speed": 1000}),
    );
    assert_eq!(created.status, 201, "tab {k}: {}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let mut events = Events::open(addr, &id);
    assert_eq!(post(addr, &format!("/api/sessions/{id}/play")).status, 200);
    let mut frames = 0;
    let mut last = String::new();
    while Instant::now() < until {
        let (name, data) = events.next_raw().expect("the stream goes on");
        if name == "frame" {
            frames += 1;
            last = data;
        }
    }
    let last: serde_json::Value = serde_json::from_str(&last).unwrap();
    (frames, last["step"].as_u64().unwrap())
}

/// The page as a browser loads it: the HTML, its script and style, the
/// options.
fn load_page(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    for path in ["/", "/app.js", "/style.css", "/api/options"] {
        assert_eq!(get(addr, path).status, 200, "{path}");
    }
    started.elapsed()
}

fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// 50 tabs train for `time`; returns the slowest page load meanwhile, the
/// number of loads, the server's peak memory and the steps taken.
fn round(server: &Server, time: Duration) -> (Duration, usize, u64, u64) {
    let addr = server.addr;
    let until = Instant::now() + time;
    let tabs: Vec<_> = (0..TABS)
        .map(|k| thread::spawn(move || tab(addr, k, until)))
        .collect();
    assert!(
        wait_for(Duration::from_secs(5), || server.sessions() == TABS as u64),
        "{} of {TABS} sessions started",
        server.sessions()
    );
    let (mut slowest, mut loads, mut peak) = (Duration::ZERO, 0, 0);
    while Instant::now() + Duration::from_millis(500) < until {
        slowest = slowest.max(load_page(addr));
        loads += 1;
        peak = peak.max(server.rss());
        thread::sleep(Duration::from_millis(200));
    }
    let mut steps = 0;
    for (k, tab) in tabs.into_iter().enumerate() {
        let (frames, last) = tab.join().unwrap();
        assert!(
            frames > 0 && last > 0,
            "tab {k}: {frames} frames, step {last}"
        );
        steps += last;
    }
    // The tabs are closed: every session ends.
    assert!(
        wait_for(Duration::from_secs(15), || server.sessions() == 0),
        "{} sessions still run",
        server.sessions()
    );
    (slowest, loads, peak, steps)
}

#[test]
fn fifty_tabs_train_at_once_and_leave_nothing_behind() {
    let server = Server::start();
    let cold = server.rss();
    // The memory allocator keeps some of the pages freed after a first
    // crowd (glibc's per-thread arenas): the baseline is taken after a
    // short first round, and the long round must come back to it.
    round(&server, Duration::from_secs(2));
    thread::sleep(Duration::from_millis(500));
    let baseline = server.rss();

    let (slowest, loads, peak, steps) = round(&server, TRAINING);
    thread::sleep(Duration::from_millis(500));
    let after = server.rss();
    println!(
        "{TABS} tabs for {} s: {steps} steps in all; {loads} page loads, the slowest {:.0} ms",
        TRAINING.as_secs(),
        slowest.as_secs_f64() * 1e3
    );
    println!(
        "server memory: {:.1} MB at start, {:.1} MB after a first round, {:.1} MB at the peak, {:.1} MB after",
        mb(cold),
        mb(baseline),
        mb(peak),
        mb(after)
    );
    assert!(loads >= 10, "only {loads} page loads");
    assert!(
        slowest < Duration::from_secs(1),
        "a page load took {slowest:?}"
    );
    // About the baseline: within a tenth of it or 4 MB, far below the peak.
    let tolerance = (baseline / 10).max(4_000_000);
    assert!(
        after <= baseline + tolerance,
        "memory went from {:.1} MB to {:.1} MB (peak {:.1} MB)",
        mb(baseline),
        mb(after),
        mb(peak)
    );
    // And the server still serves.
    assert!(load_page(server.addr) < Duration::from_secs(1));
}
