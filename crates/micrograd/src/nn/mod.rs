//! micrograd's nn.py and what trains it: networks, losses, optimizers,
//! learning-rate schedules, and weights as plain numbers.

pub mod loss;
mod mlp;
pub(crate) mod optim;
mod weights;

pub use loss::Loss;
pub use mlp::{
    Activation, Input, Layer, MLP, MlpBuilder, Module, Neuron, Workspace, batch_inputs,
    parameter_count,
};
pub use optim::{Adam, Optimizer, OptimizerKind, Schedule, ScheduleShape, Sgd};
pub use weights::{LayerWeights, Weights};
