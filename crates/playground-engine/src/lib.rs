//! The playground's training, in the browser: the page's network, its
//! steps, and the numbers of its pictures (the decision boundary, each
//! neuron's output over the plane, one point's graph), compiled to
//! WebAssembly and run in a Web Worker, with no server at all.
//!
//! [`Page`] holds what one page trains and answers its [`Request`]s, each
//! a JSON object, with JSON: the same code runs natively in the tests and
//! in the browser. Built for `wasm32`, the crate exports a small C ABI
//! (`exports`) that the page's worker (`worker.js`) calls: JSON in, JSON
//! out, through the module's memory.
//!
//! Everything a page can ask for is bounded ([`Limits`]), so that no
//! setting, upload or link freezes the tab.

mod graphs;
mod heatmaps;
mod limits;
mod page;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod exports;

pub use limits::Limits;
pub use page::Page;
pub use protocol::{Answer, Request};
