//! micrograd for Jupyter notebooks run by [evcxr](https://github.com/evcxr/evcxr):
//! the whole library, re-exported from one shared library so that every cell
//! reaches one tape, and a `Value` made in one cell works in every later one.
//! In the first cell, with the path of this folder (relative to the
//! notebook's, or absolute):
//!
//! ```text
//! :dep micrograd = { package = "micrograd-notebook", path = "../notebook" }
//! ```
//!
//! Then `micrograd::Value`, `micrograd::draw_dot`, `micrograd::nn` and the
//! rest are the library's own.
#![forbid(unsafe_code)]
pub use micrograd::*;
