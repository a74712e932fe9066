//! `micrograd playground`: TensorFlow Playground on this engine. A page,
//! served by the program, where a learner picks a dataset and a network,
//! presses play and watches the decision boundary, the neurons and the loss
//! move; and draws any expression's graph with its gradients.
//!
//! The async server never touches a tape (a [`Value`](micrograd::Value) is
//! bound to its thread): each browser tab's session owns a thread, on whose
//! tape its network lives, and talks to the server through channels; graphs
//! are drawn on threads of their own. The page is plain HTML, CSS and
//! JavaScript compiled into the binary, and the first client of a JSON API
//! documented in `API.md` beside this file.
//!
//! Everything a request can ask for is bounded ([`Limits`]), no request
//! reaches the file system (uploads are parsed in memory, saving is a
//! download), and a closed tab ends its session and frees its memory.

mod api;
mod assets;
mod budget;
mod drawings;
mod heatmaps;
mod server;
mod session;
mod training;

use std::net::SocketAddr;
use std::time::Duration;

pub use server::Playground;

/// How much any request may ask of the machine. The defaults keep 64 tabs
/// within a 2-core machine with a few GB of memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Sessions (browser tabs) at once; one more is refused with 503.
    pub sessions: usize,
    /// Points in a dataset, built in or uploaded.
    pub points: usize,
    /// Features per point of an uploaded dataset.
    pub features: usize,
    /// Hidden layers.
    pub hidden_layers: usize,
    /// Neurons in a hidden layer.
    pub width: usize,
    /// Parameters (weights and biases) of a network.
    pub parameters: usize,
    /// Memory one session's training may need ([`Footprint`](micrograd::train::Footprint)).
    pub session_bytes: u64,
    /// Bytes of an uploaded dataset.
    pub upload_bytes: usize,
    /// Bytes of any other request's body.
    pub body_bytes: usize,
    /// The fastest a session may train, in steps per second.
    pub steps_per_second: f64,
    /// Nodes of a graph to draw (an expression's, or one point's through
    /// the network): laying out more takes seconds.
    pub graph_nodes: usize,
    /// Graphs and pictures drawn at once, each on a thread of its own,
    /// which holds its place until it has drawn, whether or not its client
    /// still waits.
    pub drawings: usize,
    /// Sessions that compute at once, taking turns: by default every core
    /// but one, which the server keeps.
    pub training_threads: usize,
    /// How long a new session waits for its page to open its events.
    pub connect_timeout: Duration,
    /// How long a session lives without a request from its page.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait to be accepted until one
    /// closes.
    pub connections: usize,
    /// How long a client may take to send a request's head (from the
    /// moment it connects, or from the previous answer on the connection:
    /// then it is closed), and then as long again for its body (408).
    pub read_timeout: Duration,
    /// Names, besides `localhost`, that requests may be addressed to (their
    /// `Host`); any other name is refused, as a page that rebinds its own
    /// name to this server's address would send it. Addresses need no
    /// listing: loopback ones are answered, and any one when the server
    /// listens beyond the loopback.
    pub allowed_hosts: Vec<String>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sessions: 64,
            points: 10_000,
            features: 32,
            hidden_layers: 6,
            width: 64,
            parameters: 20_000,
            session_bytes: 64 << 20,
            upload_bytes: 1 << 20,
            body_bytes: 64 << 10,
            steps_per_second: 1_000.0,
            graph_nodes: 1_500,
            drawings: 2,
            training_threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60 * 60),
            connections: 256,
            read_timeout: Duration::from_secs(30),
            allowed_hosts: Vec::new(),
        }
    }
}

/// `http://127.0.0.1:8000/`, `http://[::1]:8000/`.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}
