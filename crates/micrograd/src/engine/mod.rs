//! The autograd engine: an arena of nodes (the tape), an op enum, one match.
//!
//! Read it as micrograd's `engine.py`, from the math out:
//!
//! - `rules`: each primitive's forward value and local derivative, side by
//!   side; the elementwise ones as one table.
//! - `value`: the `Value` handle and its methods; `arith`: the operators, as
//!   micrograd's identities; `op`: micrograd's `_op`, and its names.
//! - `tape`: the thread-local arena of `node`s, the only import loop (with
//!   `value`, its handles).
//! - `forward`, `backward`: a rule applied to one number or to a batch's
//!   lanes (`lane_slab`); `backward` holds the one exhaustive `match` over
//!   the instructions.
//! - `sweep`: the reverse sweep, and its sinks, where gradients accumulate
//!   (through `grads`, what a backward rule reads and writes).
//! - `dense`: a layer over a batch as one node per neuron, its operand
//!   format written and read there only; `kernels`: its matrix products.
//! - `gradient_graph`: gradients that are Values (the rules run on
//!   `Value`s), and with them `hvp` and `hessian`; `lane_dot`: a layer's
//!   weight gradients in such a graph, one block; `forward_mode`: `jvp`,
//!   the rules with a tangent in place of the gradient.
//! - `trace`: a function recorded once and replayed (`Recording`), its
//!   guards the numbers the tape noted as read while tracing (`reads`);
//!   `scope`: freeing a training step's graph; `anomaly`: the first value
//!   or gradient of a graph that is not finite; `bulk`: many values at once,
//!   for the `nn` library.
//! - `math`, `pyrepr`: careful scalar functions; Python's number printing.

mod anomaly;
mod arith;
mod backward;
#[cfg(feature = "nn")]
mod bulk;
mod dense;
mod forward;
mod forward_mode;
mod gradient_graph;
mod grads;
pub(crate) mod kernels;
mod lane_dot;
mod lane_slab;
pub(crate) mod math;
mod node;
mod op;
mod pyrepr;
mod reads;
pub(crate) mod rules;
mod scope;
mod sweep;
mod tape;
mod trace;
mod value;

pub use anomaly::{Anomaly, AnomalyKind};
#[cfg(feature = "nn")]
pub(crate) use bulk::{
    backward_into, dense_into, first_non_finite, first_non_finite_in_run, read_data, read_grads,
    read_lanes, read_lanes_onto, read_run_data, run_start, set_grads, set_run, take_grads, update,
    update_with, write_data, zero_grads,
};
pub use op::Op;
pub(crate) use rules::Unary;
pub use scope::{Scope, scope};
pub use trace::{Input, Recording};
pub use value::{Value, tape_len};
