//! The workloads that `micrograd bench` and `cargo bench --bench engine`
//! time: micrograd's demo training step written node for node, with
//! [`Value`](micrograd::Value)s as a user following the lecture writes it
//! ([`values`]) and on a flat tape with no checks at all ([`flat_tape`]),
//! the baseline the engine's cost per node is measured against; and the
//! demo loss's Hessian-vector product against one gradient
//! ([`second_order`]).

pub mod flat_tape;
pub mod replayed;
pub mod second_order;
pub mod values;
