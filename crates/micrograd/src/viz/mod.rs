//! Pictures: computation graphs as micrograd's `draw_dot` draws them, and
//! training (decision boundary, loss and accuracy), as SVG or PNG in pure
//! Rust with nothing needed from the system.

mod graph;
pub use graph::{Graph, RankDir, draw_dot, draw_dots};

#[cfg(feature = "viz")]
mod format;
#[cfg(feature = "viz")]
mod jupyter;
// plotters registers its font on native targets only: the training plots
// are not built for WebAssembly (`draw_dot`'s layout and pictures are).
#[cfg(all(feature = "viz", not(target_arch = "wasm32")))]
mod plot;
#[cfg(feature = "viz")]
mod render;

#[cfg(all(feature = "viz", not(target_arch = "wasm32")))]
pub use plot::{DecisionBoundary, TrainingCurves};
#[cfg(feature = "viz")]
pub use render::{MAX_LAYOUT, MAX_PNG_SIDE};
