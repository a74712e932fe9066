//! A network's parameters as plain numbers: to save and load them, to start
//! from weights exported by Python micrograd, and to evaluate a trained
//! network on many points without building graphs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::mlp::{Activation, MLP};
use crate::error::{Error, Result};

/// The parameters of an [`MLP`] as numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// The layers, input side first.
    pub layers: Vec<LayerWeights>,
}

/// One layer's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    /// `w[n][i]`: neuron `n`'s weight for input `i`.
    pub w: Vec<Vec<f64>>,
    /// `b[n]`: neuron `n`'s bias.
    pub b: Vec<f64>,
    /// The layer's activation.
    pub activation: Activation,
}

impl LayerWeights {
    /// The number of inputs each neuron takes.
    pub fn nin(&self) -> usize {
        self.w.first().map_or(0, Vec::len)
    }

    /// The number of neurons.
    pub fn nout(&self) -> usize {
        self.w.len()
    }

    /// `out[n] = activation(b[n] + Σ w[n][i]·x[i])`, summed as the graph's
    /// neuron sums (bias first, then each product in order), so the same
    /// numbers to the bit.
    fn forward_into(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.w.iter().zip(&self.b).map(|(w, &b)| {
            let sum = w.iter().zip(x).fold(b, |acc, (wi, xi)| acc + wi * xi);
            self.activation.apply_f64(sum)
        }));
    }
}

/// micrograd's export: `{"layers": [[[w...], b], ...], ...]}`, each layer a
/// list of neurons, each neuron its weights and bias (its `parameters()`
/// order). Other keys are ignored.
#[derive(Deserialize, Serialize)]
struct MicrogradJson {
    layers: Vec<Vec<(Vec<f64>, f64)>>,
}

impl Weights {
    /// The network's outputs for input `x`, computed as the graph computes
    /// them (the same sums in the same order, so the same numbers to the
    /// bit), without building a graph. The weights are assumed to fit
    /// together, as [`check`](Weights::check) makes sure (weights from an
    /// [`MLP`], a micrograd export or a saved model always do).
    ///
    /// # Panics
    ///
    /// If `x` does not have [`nin`](Weights::nin) entries.
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(
            x.len(),
            self.nin(),
            "micrograd: the network takes {} inputs",
            self.nin()
        );
        let mut current = x.to_vec();
        let mut next = Vec::new();
        for layer in &self.layers {
            layer.forward_into(&current, &mut next);
            std::mem::swap(&mut current, &mut next);
        }
        current
    }

    /// Every layer's outputs for input `x`, as [`predict`](Weights::predict)
    /// computes them: `each(i, outputs)` for layer `i`, input side first.
    /// `buffers` holds them (two vectors, reused from call to call).
    ///
    /// # Panics
    ///
    /// If `x` does not have [`nin`](Weights::nin) entries.
    pub fn each_layer(
        &self,
        x: &[f64],
        buffers: &mut [Vec<f64>; 2],
        mut each: impl FnMut(usize, &[f64]),
    ) {
        assert_eq!(
            x.len(),
            self.nin(),
            "micrograd: the network takes {} inputs",
            self.nin()
        );
        let [current, next] = buffers;
        current.clear();
        current.extend_from_slice(x);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.forward_into(current, next);
            std::mem::swap(current, next);
            each(i, current);
        }
    }

    /// The number of inputs.
    pub fn nin(&self) -> usize {
        self.layers.first().map_or(0, LayerWeights::nin)
    }

    /// The number of neurons in each layer.
    pub fn nouts(&self) -> Vec<usize> {
        self.layers.iter().map(LayerWeights::nout).collect()
    }

    /// How many parameters there are.
    pub fn num_parameters(&self) -> usize {
        self.layers.iter().map(|l| l.nout() * (l.nin() + 1)).sum()
    }

    /// Reads weights exported from Python micrograd (see
    /// [`from_micrograd_json`](Weights::from_micrograd_json)).
    pub fn load_micrograd_json(path: impl AsRef<Path>) -> Result<Weights> {
        let path = path.as_ref();
        Weights::from_micrograd_json(&crate::whole_file::read(path)?, path)
    }

    /// Parses weights exported from Python micrograd as
    /// `{"layers": [[[w...], b], ...], ...]}`: each layer a list of neurons,
    /// each neuron `[weights, bias]`. Python side:
    ///
    /// ```python
    /// json.dump({"layers": [[[[w.data for w in n.w], n.b.data] for n in layer.neurons]
    ///                       for layer in model.layers]}, f)
    /// ```
    ///
    /// micrograd's activations are assumed: ReLU hidden layers, a linear
    /// output. `path` names the source in errors.
    pub fn from_micrograd_json(text: &[u8], path: impl AsRef<Path>) -> Result<Weights> {
        let path = path.as_ref();
        let parsed: MicrogradJson = crate::json::json_object(
            text,
            path,
            "an object like {\"layers\": [[[w, ...], b], ...]}",
        )?;
        let last = parsed.layers.len().saturating_sub(1);
        let weights = Weights {
            layers: parsed
                .layers
                .into_iter()
                .enumerate()
                .map(|(i, neurons)| {
                    let (w, b) = neurons.into_iter().unzip();
                    let activation = if i == last {
                        Activation::Linear
                    } else {
                        Activation::Relu
                    };
                    LayerWeights { w, b, activation }
                })
                .collect(),
        };
        weights
            .check()
            .map_err(|e| Error::Shape(format!("{}: {e}", path.display())))?;
        Ok(weights)
    }

    /// The weights in micrograd's export format.
    pub fn to_micrograd_json(&self) -> String {
        let json = MicrogradJson {
            layers: self
                .layers
                .iter()
                .map(|l| l.w.iter().cloned().zip(l.b.iter().copied()).collect())
                .collect(),
        };
        serde_json::to_string(&json).expect("numbers and lists always serialize")
    }

    /// Checks that the layers fit together: at least one layer, every layer
    /// with neurons, every neuron of a layer with as many weights as the
    /// layer before has neurons, every number finite.
    pub fn check(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::Shape("the network has no layers".into()));
        }
        let mut inputs = self.nin();
        for (i, layer) in self.layers.iter().enumerate() {
            let n = i + 1;
            if layer.w.is_empty() {
                return Err(Error::Shape(format!("layer {n} has no neurons")));
            }
            if layer.b.len() != layer.w.len() {
                return Err(Error::Shape(format!(
                    "layer {n} has {} neurons but {} biases",
                    layer.w.len(),
                    layer.b.len()
                )));
            }
            if let Some(k) = layer.w.iter().position(|w| w.len() != inputs) {
                let expected = if i == 0 {
                    format!("the first neuron has {inputs}")
                } else {
                    format!("layer {i} has {inputs} neurons")
                };
                return Err(Error::Shape(format!(
                    "layer {n}, neuron {}: {} weights, but {expected}",
                    k + 1,
                    layer.w[k].len()
                )));
            }
            if inputs == 0 {
                return Err(Error::Shape(format!("layer {n}'s neurons have no weights")));
            }
            let finite = layer
                .w
                .iter()
                .flatten()
                .chain(&layer.b)
                .all(|v| v.is_finite());
            if !finite {
                return Err(Error::Shape(format!(
                    "layer {n} has a NaN or infinite weight"
                )));
            }
            inputs = layer.nout();
        }
        Ok(())
    }
}

impl MLP {
    /// The current parameters as numbers.
    pub fn weights(&self) -> Weights {
        Weights {
            layers: self
                .layers
                .iter()
                .map(|layer| LayerWeights {
                    w: layer
                        .neurons
                        .iter()
                        .map(|n| n.w.iter().map(|w| w.data()).collect())
                        .collect(),
                    b: layer.neurons.iter().map(|n| n.b.data()).collect(),
                    activation: layer
                        .neurons
                        .first()
                        .map_or(Activation::Linear, |n| n.activation),
                })
                .collect(),
        }
    }

    /// Overwrites the parameters with `weights`, keeping the network's
    /// activations. Nothing changes unless every layer fits.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`], naming the first layer that does not fit.
    pub fn set_weights(&self, weights: &Weights) -> Result<()> {
        if weights.layers.len() != self.layers.len() {
            return Err(Error::Shape(format!(
                "the model has {} layers, the weights have {}",
                self.layers.len(),
                weights.layers.len()
            )));
        }
        for (i, (layer, given)) in self.layers.iter().zip(&weights.layers).enumerate() {
            let n = i + 1;
            if layer.nout() != given.nout() {
                return Err(Error::Shape(format!(
                    "layer {n} has {} neurons, the weights have {}",
                    layer.nout(),
                    given.nout()
                )));
            }
            if given.b.len() != given.nout() {
                return Err(Error::Shape(format!(
                    "layer {n}: the weights have {} neurons but {} biases",
                    given.nout(),
                    given.b.len()
                )));
            }
            if let Some(k) = given.w.iter().position(|w| w.len() != layer.nin()) {
                return Err(Error::Shape(format!(
                    "layer {n}: the model's neurons take {} inputs, the weights' neuron {} takes {}",
                    layer.nin(),
                    k + 1,
                    given.w[k].len()
                )));
            }
        }
        for (layer, given) in self.layers.iter().zip(&weights.layers) {
            for (neuron, (w, &b)) in layer.neurons.iter().zip(given.w.iter().zip(&given.b)) {
                for (p, &x) in neuron.w.iter().zip(w) {
                    p.set_data(x);
                }
                neuron.b.set_data(b);
            }
        }
        Ok(())
    }
}
