//! `micrograd playground`: TensorFlow Playground on this engine. A page
//! where a learner picks a dataset and a network, presses play and watches
//! the decision boundary, the neurons and the loss move; and draws any
//! expression's graph with its gradients.
//!
//! The page trains in the browser: its Web Worker runs the engine compiled
//! to WebAssembly (`engine.wasm`, built from `crates/playground-engine`),
//! so nothing trains, and nothing is kept, on the server. This crate is the
//! page's files, compiled into the binary ([`FILES`]), a small static
//! server for them ([`Playground`]), and [`export`], which writes them out
//! for any static host.
//!
//! ```no_run
//! use micrograd_playground::{Limits, Playground};
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let server = Playground::start(listener, Limits::default())?;
//! println!("listening on {}", micrograd_playground::url(server.addr()));
//! server.wait()?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod page;
mod server;

use std::net::SocketAddr;
use std::time::Duration;

pub use page::{FILES, File, export};
pub use server::Playground;

/// What the server lets a client hold, and whom it answers. A request asks
/// for one of a few files in memory, so only connections and time need
/// bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Connections open at once; more wait to be accepted until one
    /// closes.
    pub connections: usize,
    /// How long a client may take to send a request's head, from the
    /// moment it connects or from the previous answer on the connection;
    /// then it is closed.
    pub read_timeout: Duration,
    /// How long a client may leave an answer unread (not one byte taken);
    /// then it is closed.
    pub write_timeout: Duration,
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
            connections: 256,
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            allowed_hosts: Vec::new(),
        }
    }
}

/// `http://127.0.0.1:8000/`, `http://[::1]:8000/`.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}
