//! The autograd engine: an arena of nodes (the tape), an op enum, one match.
//!
//! - `tape`: the thread-local arena and the reverse sweep.
//! - `rules`: each primitive's forward value and local derivative.
//! - `value`: the `Value` handle and its methods.
//! - `arith`: the operators, as micrograd's identities.
//! - `scope`: freeing a training step's graph.
//! - `math`, `pyrepr`: careful scalar functions; Python's number printing.

mod arith;
pub(crate) mod math;
mod op;
mod pyrepr;
mod rules;
mod scope;
mod tape;
mod value;

pub use op::Op;
pub use scope::{Scope, scope};
pub use value::{Value, tape_len};
