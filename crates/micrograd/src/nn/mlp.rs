//! micrograd's nn.py: `Neuron`, `Layer`, `MLP`, and the `Module` trait.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Value, math};

/// micrograd's `Module`: anything with parameters.
pub trait Module {
    /// Every parameter, in micrograd's order (per neuron: its weights, then
    /// its bias).
    fn parameters(&self) -> Vec<Value>;

    /// Sets every parameter's gradient to 0 (before each `backward`, since
    /// leaves accumulate).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.set_grad(0.0);
        }
    }

    /// How many parameters there are.
    fn num_parameters(&self) -> usize {
        self.parameters().len()
    }
}

/// The nonlinearity a neuron applies to `b + Σ wᵢxᵢ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None: micrograd's output layer (`nonlin=False`).
    Linear,
    /// `max(0, x)`: micrograd's hidden layers.
    Relu,
    /// `tanh(x)`: the lecture's neurons.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 4] = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Linear,
    ];

    /// Applies the activation to a node.
    pub fn apply(self, x: Value) -> Value {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
        }
    }

    /// Applies the activation to a number, with the same arithmetic as
    /// [`apply`](Activation::apply) (so the results agree to the bit).
    pub fn apply_f64(self, x: f64) -> f64 {
        match self {
            Activation::Linear => x,
            Activation::Relu => math::relu(x),
            Activation::Tanh => math::tanh(x),
            Activation::Sigmoid => math::sigmoid(x),
        }
    }

    /// The name micrograd's repr uses: `ReLU`, `Linear`, `Tanh`, `Sigmoid`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "Linear",
            Activation::Relu => "ReLU",
            Activation::Tanh => "Tanh",
            Activation::Sigmoid => "Sigmoid",
        }
    }
}

impl FromStr for Activation {
    type Err = String;

    /// `relu`, `tanh`, `sigmoid` or `linear` (also `none`), in any case.
    fn from_str(s: &str) -> Result<Activation, String> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            "sigmoid" => Ok(Activation::Sigmoid),
            "linear" | "none" => Ok(Activation::Linear),
            _ => Err(format!(
                "unknown activation `{s}` (expected relu, tanh, sigmoid, or linear or none)"
            )),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_lowercase())
    }
}

/// A neuron's or a network's input: `&[2.0, 3.0, -1.0]` (each number becomes
/// a leaf, as micrograd's `Value(x)`) or a slice of `Value`s.
pub trait Input {
    /// The input as nodes.
    fn values(&self) -> Cow<'_, [Value]>;
}

impl Input for [Value] {
    fn values(&self) -> Cow<'_, [Value]> {
        Cow::Borrowed(self)
    }
}

impl Input for [f64] {
    fn values(&self) -> Cow<'_, [Value]> {
        Cow::Owned(self.iter().map(|&x| Value::new(x)).collect())
    }
}

impl<const N: usize> Input for [Value; N] {
    fn values(&self) -> Cow<'_, [Value]> {
        Cow::Borrowed(self)
    }
}

impl<const N: usize> Input for [f64; N] {
    fn values(&self) -> Cow<'_, [Value]> {
        self[..].values()
    }
}

impl Input for Vec<Value> {
    fn values(&self) -> Cow<'_, [Value]> {
        Cow::Borrowed(self)
    }
}

impl Input for Vec<f64> {
    fn values(&self) -> Cow<'_, [Value]> {
        self[..].values()
    }
}

/// A batch of points as a network's input: one [`Value::batch`] per
/// feature, lane `n` holding point `n`'s value.
///
/// # Panics
///
/// If there are no points, or they differ in length.
pub fn batch_inputs<P: AsRef<[f64]>>(points: &[P]) -> Vec<Value> {
    let dim = points.first().map(|p| p.as_ref().len());
    let dim = dim.expect("micrograd: a batch needs at least one point");
    let mut column = Vec::with_capacity(points.len());
    (0..dim)
        .map(|k| {
            column.clear();
            column.extend(points.iter().enumerate().map(|(n, p)| {
                let p = p.as_ref();
                assert_eq!(
                    p.len(),
                    dim,
                    "micrograd: point {n} has {} features, point 0 has {dim}",
                    p.len()
                );
                p[k]
            }));
            Value::batch(&column)
        })
        .collect()
}

/// One neuron: `activation(b + Σ wᵢxᵢ)`.
#[derive(Clone, Debug)]
pub struct Neuron {
    /// One weight per input.
    pub w: Vec<Value>,
    /// The bias.
    pub b: Value,
    /// What is applied to `b + Σ wᵢxᵢ`.
    pub activation: Activation,
}

impl Neuron {
    /// A neuron with the given weights and bias.
    pub fn from_weights(w: &[f64], b: f64, activation: Activation) -> Neuron {
        Neuron {
            w: w.iter().map(|&x| Value::new(x)).collect(),
            b: Value::new(b),
            activation,
        }
    }

    /// A neuron with `nin` weights uniform in [-1, 1) and bias 0, as
    /// micrograd's `Neuron(nin)`, drawn from `seed`.
    pub fn new(nin: usize, activation: Activation, seed: u64) -> Neuron {
        Init::new(seed, false).neuron(nin, activation)
    }

    /// `activation(b + Σ wᵢxᵢ)`: micrograd's `__call__`, the sum as one node.
    ///
    /// # Panics
    ///
    /// If `x` does not have one entry per weight.
    pub fn forward(&self, x: &(impl Input + ?Sized)) -> Value {
        let x = x.values();
        assert_eq!(
            x.len(),
            self.w.len(),
            "micrograd: this neuron takes {} inputs, got {}",
            self.w.len(),
            x.len()
        );
        self.activation.apply(Value::affine(&self.w, &x, self.b))
    }
}

impl Module for Neuron {
    fn parameters(&self) -> Vec<Value> {
        self.w.iter().copied().chain([self.b]).collect()
    }
}

/// micrograd's repr: `ReLUNeuron(2)`.
impl fmt::Display for Neuron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Neuron({})", self.activation.name(), self.w.len())
    }
}

/// A layer of neurons that all see the same inputs.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The neurons, one per output.
    pub neurons: Vec<Neuron>,
}

impl Layer {
    /// `nout` neurons of `nin` inputs each, micrograd's `Layer(nin, nout)`,
    /// drawn from `seed`.
    pub fn new(nin: usize, nout: usize, activation: Activation, seed: u64) -> Layer {
        Init::new(seed, false).layer(nin, nout, activation)
    }

    /// Every neuron's output. Unlike micrograd's, a layer of one neuron
    /// also returns a list, so a hidden layer of width 1 works.
    ///
    /// Given a batch (inputs that are [`Value::batch`]es), the layer is one
    /// matrix product over all its points ([`Value::dense`]), each point's
    /// numbers the bits its own graph would hold.
    pub fn forward(&self, x: &(impl Input + ?Sized)) -> Vec<Value> {
        let mut out = Vec::with_capacity(self.neurons.len());
        self.forward_into(&x.values(), &mut out);
        out
    }

    /// Like [`forward`](Layer::forward), into `out` (cleared first).
    ///
    /// # Panics
    ///
    /// If `x` does not have one entry per weight of each neuron.
    pub fn forward_into(&self, x: &[Value], out: &mut Vec<Value>) {
        out.clear();
        if x.first().is_some_and(|v| v.is_batch()) {
            let neurons = self.neurons.iter().map(|n| (&n.w[..], n.b));
            crate::engine::dense_into(neurons, x, out);
            for (v, n) in out.iter_mut().zip(&self.neurons) {
                *v = n.activation.apply(*v);
            }
        } else {
            out.extend(self.neurons.iter().map(|n| n.forward(x)));
        }
    }

    /// The number of inputs each neuron takes.
    pub fn nin(&self) -> usize {
        self.neurons.first().map_or(0, |n| n.w.len())
    }

    /// The number of outputs.
    pub fn nout(&self) -> usize {
        self.neurons.len()
    }
}

impl Module for Layer {
    fn parameters(&self) -> Vec<Value> {
        self.neurons.iter().flat_map(Module::parameters).collect()
    }
}

/// micrograd's repr: `Layer of [ReLUNeuron(2), ReLUNeuron(2)]`.
impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "Layer", &self.neurons)
    }
}

/// The parameters of an MLP of `widths` (inputs first, outputs last): a
/// weight per input and a bias for each neuron of each layer, saturating
/// at `usize::MAX` for shapes no machine holds. The one count every check
/// of a network's size uses; an [`MLP`]'s own is
/// [`num_parameters`](Module::num_parameters).
///
/// ```
/// use micrograd::nn::{MLP, Module, parameter_count};
/// // micrograd's demo: 2-16-16-1 is 3·16 + 17·16 + 17·1 = 337.
/// assert_eq!(parameter_count(&[2, 16, 16, 1]), 337);
/// assert_eq!(parameter_count(&[3, 4, 4, 1]), MLP::new(3, &[4, 4, 1]).num_parameters());
/// assert_eq!(parameter_count(&[2]), 0);
/// ```
pub fn parameter_count(widths: &[usize]) -> usize {
    widths
        .windows(2)
        .map(|io| io[0].saturating_add(1).saturating_mul(io[1]))
        .fold(0, usize::saturating_add)
}

/// A multi-layer perceptron: layers applied in turn.
///
/// ```
/// use micrograd::nn::{MLP, Module};
/// let model = MLP::new(2, &[16, 16, 1]); // micrograd's demo model
/// assert_eq!(model.num_parameters(), 337);
/// let score = model.forward(&[0.5, -1.0])[0];
/// assert!(score.data().is_finite());
/// ```
#[derive(Clone, Debug)]
pub struct MLP {
    /// The layers, input side first.
    pub layers: Vec<Layer>,
}

impl MLP {
    /// micrograd's `MLP(nin, nouts)`: ReLU hidden layers, a linear output
    /// layer, weights uniform in [-1, 1), biases 0, drawn from seed 0. See
    /// [`MLP::builder`] for other choices.
    ///
    /// # Panics
    ///
    /// If `nin` is 0, or `nouts` is empty or has a 0.
    pub fn new(nin: usize, nouts: &[usize]) -> MLP {
        MLP::builder(nin, nouts).build()
    }

    /// The lecture's network: tanh on every neuron, output included, and
    /// biases uniform in [-1, 1) like the weights.
    pub fn lecture(nin: usize, nouts: &[usize], seed: u64) -> MLP {
        MLP::builder(nin, nouts)
            .activation(Activation::Tanh)
            .output_activation(Activation::Tanh)
            .random_bias(true)
            .seed(seed)
            .build()
    }

    /// Choices beyond micrograd's defaults: activations, bias
    /// initialisation, seed.
    ///
    /// ```
    /// use micrograd::nn::{Activation, MLP};
    /// let model = MLP::builder(3, &[4, 4, 1]).activation(Activation::Tanh).seed(7).build();
    /// assert_eq!(model.to_string(), "MLP of [Layer of [TanhNeuron(3), TanhNeuron(3), \
    ///     TanhNeuron(3), TanhNeuron(3)], Layer of [TanhNeuron(4), TanhNeuron(4), \
    ///     TanhNeuron(4), TanhNeuron(4)], Layer of [LinearNeuron(4)]]");
    /// ```
    pub fn builder(nin: usize, nouts: &[usize]) -> MlpBuilder {
        MlpBuilder {
            nin,
            nouts: nouts.to_vec(),
            activation: Activation::Relu,
            output: Activation::Linear,
            random_bias: false,
            seed: 0,
        }
    }

    /// A network with exactly these weights.
    pub fn from_weights(weights: &super::Weights) -> MLP {
        let layers = weights
            .layers
            .iter()
            .map(|l| Layer {
                neurons: l
                    .w
                    .iter()
                    .zip(&l.b)
                    .map(|(w, &b)| Neuron::from_weights(w, b, l.activation))
                    .collect(),
            })
            .collect();
        MLP { layers }
    }

    /// The network's output for one input: micrograd's `model(x)` (which
    /// returns the `Value` itself when there is one output; here it is
    /// `model.forward(x)[0]`).
    ///
    /// Given a batch, one input per feature each holding that feature of
    /// every point ([`batch_inputs`](super::batch_inputs)), it is the
    /// outputs of the whole batch: one graph, each point's lanes the bits
    /// its own graph would hold.
    ///
    /// ```
    /// use micrograd::nn::{MLP, batch_inputs};
    /// let model = MLP::new(2, &[4, 1]);
    /// let points = [[0.5, -1.0], [2.0, 0.25], [-1.0, 1.0]];
    /// let scores = model.forward(&batch_inputs(&points))[0];
    /// let lanes = scores.data_lanes();
    /// for (point, lane) in points.iter().zip(lanes) {
    ///     assert_eq!(model.forward(point)[0].data(), lane); // to the bit
    /// }
    /// ```
    pub fn forward(&self, x: &(impl Input + ?Sized)) -> Vec<Value> {
        let mut workspace = Workspace::default();
        self.forward_with(&x.values(), &mut workspace).to_vec()
    }

    /// Like [`forward`](MLP::forward), reusing `workspace`'s buffers, so a
    /// training loop allocates nothing. The result lives in the workspace.
    pub fn forward_with<'w>(&self, x: &[Value], workspace: &'w mut Workspace) -> &'w [Value] {
        let Workspace { current, next } = workspace;
        current.clear();
        current.extend_from_slice(x);
        for layer in &self.layers {
            layer.forward_into(current, next);
            std::mem::swap(current, next);
        }
        current
    }

    /// The number of inputs.
    pub fn nin(&self) -> usize {
        self.layers.first().map_or(0, Layer::nin)
    }

    /// The number of neurons in each layer, input side first.
    pub fn nouts(&self) -> Vec<usize> {
        self.layers.iter().map(Layer::nout).collect()
    }

    /// Where parameter `index` (in [`parameters`](Module::parameters)'
    /// order) sits, counted from 1: `layer 2, neuron 5, weight 3` or
    /// `layer 1, neuron 1, bias`; `None` past the last.
    ///
    /// ```
    /// use micrograd::nn::MLP;
    /// let model = MLP::new(2, &[16, 16, 1]);
    /// assert_eq!(model.parameter_name(0).unwrap(), "layer 1, neuron 1, weight 1");
    /// assert_eq!(model.parameter_name(2).unwrap(), "layer 1, neuron 1, bias");
    /// assert_eq!(model.parameter_name(336).unwrap(), "layer 3, neuron 1, bias");
    /// assert_eq!(model.parameter_name(337), None);
    /// ```
    pub fn parameter_name(&self, index: usize) -> Option<String> {
        let mut rest = index;
        for (l, layer) in self.layers.iter().enumerate() {
            // micrograd's order: each neuron's weights, then its bias.
            let per_neuron = layer.nin() + 1;
            let size = per_neuron * layer.nout();
            if rest < size {
                let (neuron, k) = (rest / per_neuron, rest % per_neuron);
                let which = if k < layer.nin() {
                    format!("weight {}", k + 1)
                } else {
                    "bias".to_owned()
                };
                return Some(format!("layer {}, neuron {}, {which}", l + 1, neuron + 1));
            }
            rest -= size;
        }
        None
    }
}

impl Module for MLP {
    fn parameters(&self) -> Vec<Value> {
        self.layers.iter().flat_map(Module::parameters).collect()
    }
}

/// micrograd's repr: `MLP of [Layer of [...], ...]`.
impl fmt::Display for MLP {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "MLP", &self.layers)
    }
}

/// micrograd's `f"{name} of [{', '.join(str(x) for x in items)}]"`.
fn write_list(f: &mut fmt::Formatter<'_>, name: &str, items: &[impl fmt::Display]) -> fmt::Result {
    write!(f, "{name} of [")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_str("]")
}

/// Buffers for [`MLP::forward_with`].
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    current: Vec<Value>,
    next: Vec<Value>,
}

impl Workspace {
    /// The outputs of the latest [`MLP::forward_with`] into this workspace.
    pub(crate) fn outputs(&self) -> &[Value] {
        &self.current
    }
}

/// Builds an [`MLP`]; from [`MLP::builder`].
#[derive(Clone, Debug)]
#[must_use = "call .build() to make the network"]
pub struct MlpBuilder {
    nin: usize,
    nouts: Vec<usize>,
    activation: Activation,
    output: Activation,
    random_bias: bool,
    seed: u64,
}

impl MlpBuilder {
    /// The hidden layers' activation (default ReLU, as micrograd).
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The output layer's activation (default linear, as micrograd).
    pub fn output_activation(mut self, activation: Activation) -> Self {
        self.output = activation;
        self
    }

    /// Biases uniform in [-1, 1) like the weights (the lecture's), instead
    /// of 0 (micrograd's).
    pub fn random_bias(mut self, random: bool) -> Self {
        self.random_bias = random;
        self
    }

    /// The seed the weights are drawn from (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The network.
    ///
    /// # Panics
    ///
    /// If there are no layers, or a layer (or the input) has width 0.
    pub fn build(self) -> MLP {
        assert!(
            !self.nouts.is_empty(),
            "micrograd: an MLP needs at least one layer"
        );
        assert!(
            self.nin > 0 && self.nouts.iter().all(|&n| n > 0),
            "micrograd: every layer of an MLP needs at least one neuron, and at least one input"
        );
        let mut init = Init::new(self.seed, self.random_bias);
        let sizes: Vec<usize> = std::iter::once(self.nin)
            .chain(self.nouts.iter().copied())
            .collect();
        let last = self.nouts.len() - 1;
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, io)| {
                let activation = if i == last {
                    self.output
                } else {
                    self.activation
                };
                init.layer(io[0], io[1], activation)
            })
            .collect();
        MLP { layers }
    }
}

/// Draws initial parameters in micrograd's order: per neuron its weights,
/// then its bias.
struct Init {
    rng: ChaCha8Rng,
    random_bias: bool,
}

impl Init {
    fn new(seed: u64, random_bias: bool) -> Init {
        Init {
            rng: ChaCha8Rng::seed_from_u64(seed),
            random_bias,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.rng.random_range(-1.0..1.0)
    }

    fn neuron(&mut self, nin: usize, activation: Activation) -> Neuron {
        let w: Vec<f64> = (0..nin).map(|_| self.uniform()).collect();
        let b = if self.random_bias {
            self.uniform()
        } else {
            0.0
        };
        Neuron::from_weights(&w, b, activation)
    }

    fn layer(&mut self, nin: usize, nout: usize, activation: Activation) -> Layer {
        Layer {
            neurons: (0..nout).map(|_| self.neuron(nin, activation)).collect(),
        }
    }
}
