//! The autograd engine: an arena of nodes (the tape), an op enum, one match.
//!
//! - `tape`: the thread-local arena and the reverse sweep.
//! - `lanes`: the batched nodes' numbers, and the loops over them.
//! - `rules`: each primitive's forward value and local derivative.
//! - `kernels`: a layer over a batch, as one matrix product.
//! - `value`: the `Value` handle and its methods.
//! - `arith`: the operators, as micrograd's identities.
//! - `scope`: freeing a training step's graph.
//! - `anomaly`: the first value or gradient of a graph that is not finite.
//! - `bulk`: many values at once, for the `nn` library.
//! - `math`, `pyrepr`: careful scalar functions; Python's number printing.

mod anomaly;
mod arith;
#[cfg(feature = "nn")]
mod bulk;
mod kernels;
mod lane_slab;
pub(crate) mod math;
mod op;
mod pyrepr;
mod rules;
mod scope;
mod tape;
mod value;

pub use anomaly::{Anomaly, AnomalyKind};
#[cfg(feature = "nn")]
pub(crate) use bulk::{
    backward_into, dense_into, first_non_finite, first_non_finite_in_run, read_data, read_grads,
    read_lanes, read_lanes_onto, read_run_data, run_start, set_grads, take_grads, update,
    update_with, write_data, zero_grads,
};
pub use op::Op;
pub use scope::{Scope, scope};
pub use value::{Value, tape_len};
