//! Inline pictures in Jupyter with the evcxr Rust kernel: evcxr calls a
//! value's `evcxr_display` method, which prints its content between
//! `EVCXR_BEGIN_CONTENT <mime type>` and `EVCXR_END_CONTENT`. That printing
//! is the protocol, and the only printing this library does.

#[cfg(not(target_arch = "wasm32"))]
use super::{DecisionBoundary, TrainingCurves};
use super::{Graph, draw_dot};
use crate::engine::Value;

/// A picture for evcxr: the SVG, or, should drawing have failed, the
/// reason as text.
fn content(svg: crate::error::Result<String>) -> String {
    match svg {
        Ok(svg) => format!("EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT"),
        Err(e) => format!("EVCXR_BEGIN_CONTENT text/plain\n{e}\nEVCXR_END_CONTENT"),
    }
}

impl Graph {
    /// What [`evcxr_display`](Graph::evcxr_display) prints: the graph as
    /// SVG, or, should drawing fail, the reason as text.
    pub fn evcxr_content(&self) -> String {
        content(self.to_svg())
    }

    /// Shows the graph inline in a Jupyter notebook run by evcxr.
    pub fn evcxr_display(&self) {
        println!("{}", self.evcxr_content());
    }
}

impl Value {
    /// Shows this value's computation graph inline in a Jupyter notebook
    /// run by evcxr (a cell that ends with a `Value` draws it).
    pub fn evcxr_display(&self) {
        draw_dot(*self).evcxr_display();
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl DecisionBoundary<'_> {
    /// What [`evcxr_display`](DecisionBoundary::evcxr_display) prints: the
    /// plot as SVG, or, should drawing fail, the reason as text.
    pub fn evcxr_content(&self) -> String {
        content(self.to_svg())
    }

    /// Shows the plot inline in a Jupyter notebook run by evcxr (a cell
    /// that ends with a `DecisionBoundary` draws it).
    pub fn evcxr_display(&self) {
        println!("{}", self.evcxr_content());
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl TrainingCurves<'_> {
    /// What [`evcxr_display`](TrainingCurves::evcxr_display) prints: the
    /// plot as SVG, or, should drawing fail, the reason as text.
    pub fn evcxr_content(&self) -> String {
        content(self.to_svg())
    }

    /// Shows the plot inline in a Jupyter notebook run by evcxr (a cell
    /// that ends with `TrainingCurves` draws them).
    pub fn evcxr_display(&self) {
        println!("{}", self.evcxr_content());
    }
}
