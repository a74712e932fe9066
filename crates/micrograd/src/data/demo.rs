//! micrograd's demo notebook, as it ran: its 100 points of two moons (drawn
//! by scikit-learn's `make_moons(n_samples=100, noise=0.1)` with
//! `np.random.seed(1337)`) and its network's initial weights, from
//! `data/micrograd_demo_moons.json`, built into the library.

use crate::nn::Weights;

use super::Dataset;

/// The demo's file, as shipped in `data/`.
const DEMO: &[u8] = include_bytes!("../../data/micrograd_demo_moons.json");

/// The demo's 100 points, labelled -1 and 1.
///
/// ```
/// let data = micrograd::data::micrograd_demo();
/// assert_eq!((data.len(), data.dim()), (100, 2));
/// ```
pub fn micrograd_demo() -> Dataset {
    Dataset::from_json(DEMO, "micrograd_demo_moons.json").expect("the built-in file is valid")
}

/// The initial weights of the demo's MLP 2-16-16-1, drawn by micrograd's
/// `random.uniform(-1, 1)` with `random.seed(1337)`: trained on
/// [`micrograd_demo`] as the notebook does, it gives the notebook's losses.
///
/// ```
/// use micrograd::nn::{MLP, Module};
/// let model = MLP::from_weights(&micrograd::data::micrograd_demo_weights());
/// assert_eq!(model.num_parameters(), 337);
/// ```
pub fn micrograd_demo_weights() -> Weights {
    Weights::from_micrograd_json(DEMO, "micrograd_demo_moons.json")
        .expect("the built-in file is valid")
}
