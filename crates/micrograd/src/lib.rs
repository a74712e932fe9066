//! micrograd in Rust: a scalar-valued reverse-mode autograd engine, after
//! Andrej Karpathy's [micrograd](https://github.com/karpathy/micrograd).
//!
//! A [`Value`] is a scalar that remembers how it was computed. Build an
//! expression with ordinary operators, call [`Value::backward`], and read
//! every input's gradient:
//!
//! ```
//! use micrograd::Value;
//!
//! // micrograd's README example
//! let a = Value::new(-4.0);
//! let b = Value::new(2.0);
//! let mut c = a + b;
//! let mut d = a * b + b.powf(3.0);
//! c += c + 1.0;
//! c += 1.0 + c + (-a);
//! d += d * 2.0 + (b + a).relu();
//! d += 3.0 * d + (b - a).relu();
//! let e = c - d;
//! let f = e.powf(2.0);
//! let mut g = f / 2.0;
//! g += 10.0 / f;
//! assert!((g.data() - 24.7041).abs() < 1e-4);
//! g.backward();
//! assert!((a.grad() - 138.8338).abs() < 1e-4);
//! assert!((b.grad() - 645.5773).abs() < 1e-4);
//! ```
//!
//! The graph lives on a thread-local tape; a [`Scope`] frees a training
//! step's part of it. [`gradcheck`] compares `backward` with finite
//! differences, and [`draw_dot`] draws the graph as micrograd does.
//!
//! Around the engine (default features): `nn` (micrograd's `Neuron`,
//! `Layer`, `MLP`, losses, optimizers), `data` (datasets and files), `train`
//! (the training loop and saved models), [`viz`] (SVG and PNG pictures of
//! graphs and training), and [`expr`] (expressions as text). The
//! `micrograd` program (package `micrograd-cli`) and its playground
//! (`micrograd-playground`) are thin shells over them, in packages of their
//! own: this one serves no HTTP and parses no arguments.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod engine;
pub mod expr;
mod gradcheck;

#[cfg(feature = "nn")]
pub mod data;
#[cfg(feature = "nn")]
mod error;
#[cfg(feature = "nn")]
pub mod json;
#[cfg(feature = "nn")]
pub mod nn;
#[cfg(feature = "nn")]
pub mod train;
pub mod viz;
#[cfg(feature = "nn")]
pub mod whole_file;

pub use engine::{Anomaly, AnomalyKind, Input, Op, Recording, Scope, Value, scope, tape_len};
#[cfg(feature = "nn")]
pub use error::{Error, Result};
pub use gradcheck::{GradCheck, gradcheck};
pub use viz::draw_dot;

/// The README's examples, run as doctests so that it stays true.
#[cfg(all(doctest, feature = "viz"))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
