//! micrograd's nn.py in Rust: construction, initialisation, forward passes,
//! printing, and weights as numbers.

#![cfg(feature = "nn")]

use micrograd::Value;
use micrograd::nn::{Activation, Layer, LayerWeights, MLP, Module, Neuron, Weights};

#[test]
fn the_demo_model_has_micrograds_shape_and_repr() {
    let model = MLP::new(2, &[16, 16, 1]);
    // 16·(2+1) + 16·(16+1) + 1·(16+1)
    assert_eq!(model.num_parameters(), 48 + 272 + 17);
    let layer = |neuron: &str, n: usize| format!("Layer of [{}]", vec![neuron; n].join(", "));
    let expected = format!(
        "MLP of [{}, {}, {}]",
        layer("ReLUNeuron(2)", 16),
        layer("ReLUNeuron(16)", 16),
        layer("LinearNeuron(16)", 1)
    );
    assert_eq!(model.to_string(), expected);
    assert_eq!((model.nin(), model.nouts()), (2, vec![16, 16, 1]));
}

#[test]
fn initialisation_is_micrograds_and_deterministic() {
    let model = MLP::new(2, &[16, 16, 1]);
    for layer in &model.layers {
        for n in &layer.neurons {
            assert!(n.w.iter().all(|w| (-1.0..1.0).contains(&w.data())));
            assert_eq!(n.b.data(), 0.0);
        }
    }
    let data = |m: &MLP| {
        m.parameters()
            .iter()
            .map(|p| p.data())
            .collect::<Vec<f64>>()
    };
    assert_eq!(data(&model), data(&MLP::new(2, &[16, 16, 1])));
    let other = MLP::builder(2, &[16, 16, 1]).seed(1).build();
    assert_ne!(data(&model), data(&other));
    // The weights are spread over [-1, 1): mean near 0, both signs present.
    let w = data(&model);
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    assert!(mean.abs() < 0.1 && w.iter().any(|&x| x < -0.9) && w.iter().any(|&x| x > 0.9));
}

#[test]
fn the_lectures_network_uses_tanh_and_random_biases() {
    let model = MLP::lecture(3, &[4, 4, 1], 42);
    assert_eq!(model.num_parameters(), 41); // 4·4 + 4·5 + 1·5
    assert!(
        model
            .layers
            .iter()
            .flat_map(|l| &l.neurons)
            .all(|n| n.activation == Activation::Tanh)
    );
    assert!(model.layers[0].neurons.iter().any(|n| n.b.data() != 0.0));
    let out = model.forward(&[2.0, 3.0, -1.0])[0].data();
    assert!(out.abs() < 1.0); // tanh output
}

#[test]
fn a_neuron_computes_activation_of_b_plus_w_dot_x() {
    let n = Neuron::from_weights(&[0.5, -2.0], 0.25, Activation::Tanh);
    let x = [Value::new(3.0), Value::new(1.0)];
    let y = n.forward(&x);
    // tanh(0.25 + 1.5 - 2) = tanh(-0.25)
    assert!((y.data() - (-0.25f64).tanh()).abs() < 1e-16);
    y.backward();
    // dy/dw = (1 - y²)·x, dy/dx = (1 - y²)·w, dy/db = 1 - y²
    let d = 1.0 - y.data() * y.data();
    assert_eq!(
        (n.w[0].grad(), n.w[1].grad(), n.b.grad()),
        (d * 3.0, d * 1.0, d)
    );
    assert_eq!((x[0].grad(), x[1].grad()), (d * 0.5, d * -2.0));
    assert_eq!(n.to_string(), "TanhNeuron(2)");
    assert_eq!(n.parameters().len(), 3);
}

#[test]
fn a_hidden_layer_of_width_one_works() {
    // micrograd's Layer returns a bare Value for one neuron, which the next
    // layer cannot iterate over; here every layer returns a list.
    let model = MLP::new(2, &[1, 1, 3]);
    let out = model.forward(&[0.5, -0.5]);
    assert_eq!(out.len(), 3);
    let layer = Layer::new(2, 1, Activation::Relu, 3);
    assert_eq!(layer.forward(&[1.0, 2.0]).len(), 1);
}

#[test]
fn inputs_may_be_numbers_or_values() {
    let model = MLP::new(3, &[4, 1]);
    let from_numbers = model.forward(&[1.0, -2.0, 0.5])[0].data();
    let values = vec![Value::new(1.0), Value::new(-2.0), Value::new(0.5)];
    assert_eq!(model.forward(&values)[0].data(), from_numbers);
    assert_eq!(model.forward(&vec![1.0, -2.0, 0.5])[0].data(), from_numbers);
    assert_eq!(model.forward(&values[..])[0].data(), from_numbers);
}

#[test]
fn zero_grad_clears_every_parameter() {
    let model = MLP::new(2, &[3, 1]);
    model.forward(&[1.0, 1.0])[0].backward();
    assert!(model.parameters().iter().any(|p| p.grad() != 0.0));
    model.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad() == 0.0));
}

#[test]
fn predicting_from_numbers_matches_the_graph_to_the_bit() {
    for activation in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Linear,
    ] {
        let model = MLP::builder(3, &[8, 5, 2])
            .activation(activation)
            .random_bias(true)
            .seed(9)
            .build();
        let weights = model.weights();
        for k in 0..20 {
            let x = [f64::from(k) * 0.37 - 3.0, (f64::from(k) * 1.3).sin(), 0.5];
            let graph: Vec<u64> = model
                .forward(&x)
                .iter()
                .map(|v| v.data().to_bits())
                .collect();
            let numbers: Vec<u64> = weights.predict(&x).iter().map(|v| v.to_bits()).collect();
            assert_eq!(graph, numbers, "{activation:?} at {x:?}");
        }
    }
}

#[test]
fn each_layers_outputs_are_the_graphs_layer_by_layer() {
    let model = MLP::builder(2, &[4, 3, 2])
        .activation(Activation::Tanh)
        .random_bias(true)
        .seed(4)
        .build();
    let weights = model.weights();
    let mut buffers = [Vec::new(), Vec::new()];
    for k in 0..10 {
        let x = [f64::from(k) * 0.3 - 1.5, f64::from(k).cos()];
        // The graph, layer by layer.
        let mut expected = Vec::new();
        let mut current: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
        for layer in &model.layers {
            current = layer.forward(&current);
            expected.push(
                current
                    .iter()
                    .map(|v| v.data().to_bits())
                    .collect::<Vec<_>>(),
            );
        }
        let mut seen = Vec::new();
        weights.each_layer(&x, &mut buffers, |i, outputs| {
            assert_eq!(i, seen.len());
            seen.push(outputs.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        });
        assert_eq!(seen, expected, "at {x:?}");
    }
}

#[test]
fn weights_round_trip_through_micrograds_format() {
    let model = MLP::new(2, &[4, 3, 1]);
    let weights = model.weights();
    let json = weights.to_micrograd_json();
    let back = Weights::from_micrograd_json(json.as_bytes(), "roundtrip.json").unwrap();
    assert_eq!(back, weights);
    let copy = MLP::from_weights(&back);
    assert_eq!(copy.weights(), weights);
}

#[test]
fn weights_that_do_not_fit_name_the_layer() {
    let model = MLP::new(2, &[4, 3, 1]);
    let mut weights = model.weights();
    weights.layers[1].w.pop();
    weights.layers[1].b.pop();
    let message = model.set_weights(&weights).unwrap_err().to_string();
    assert_eq!(message, "layer 2 has 3 neurons, the weights have 2");

    let mut weights = model.weights();
    weights.layers[0].b.pop();
    let message = model.set_weights(&weights).unwrap_err().to_string();
    assert_eq!(message, "layer 1: the weights have 4 neurons but 3 biases");

    let mut weights = model.weights();
    weights.layers[2].w[0].push(0.5);
    let message = model.set_weights(&weights).unwrap_err().to_string();
    assert_eq!(
        message,
        "layer 3: the model's neurons take 3 inputs, the weights' neuron 1 takes 4"
    );

    let message = MLP::new(2, &[1])
        .set_weights(&weights)
        .unwrap_err()
        .to_string();
    assert_eq!(message, "the model has 1 layers, the weights have 3");

    // Nothing changed by the failed calls.
    assert_eq!(model.weights(), MLP::new(2, &[4, 3, 1]).weights());
}

#[test]
fn micrograd_exports_are_checked_layer_by_layer() {
    // Layer 2's second neuron has 3 weights, but layer 1 has 2 neurons.
    let text = br#"{"layers": [[[[0.1, 0.2], 0.0], [[0.3, 0.4], 0.0]],
                                [[[0.5, 0.6], 0.0], [[0.7, 0.8, 0.9], 0.0]]]}"#;
    let message = Weights::from_micrograd_json(text, "w.json")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "w.json: layer 2, neuron 2: 3 weights, but layer 1 has 2 neurons"
    );

    let message = Weights::from_micrograd_json(b"{\"layers\": [[[[0.1], 0.0]]", "w.json")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("w.json:1:"), "{message}");

    let message = Weights::from_micrograd_json(b"{\"layers\": []}", "w.json")
        .unwrap_err()
        .to_string();
    assert_eq!(message, "w.json: the network has no layers");

    let text = br#"{"layers": [[[[0.1, 0.2], 0.5]]]}"#;
    let weights = Weights::from_micrograd_json(text, "w.json").unwrap();
    let layer = LayerWeights {
        w: vec![vec![0.1, 0.2]],
        b: vec![0.5],
        activation: Activation::Linear,
    };
    assert_eq!(
        weights,
        Weights {
            layers: vec![layer]
        }
    );
    assert_eq!(
        (weights.nin(), weights.nouts(), weights.num_parameters()),
        (2, vec![1], 3)
    );
}

#[test]
fn activations_parse_from_their_names() {
    for (name, a) in [
        ("relu", Activation::Relu),
        ("TANH", Activation::Tanh),
        ("sigmoid", Activation::Sigmoid),
    ] {
        assert_eq!(name.parse::<Activation>(), Ok(a));
    }
    assert!(
        "swish"
            .parse::<Activation>()
            .unwrap_err()
            .contains("unknown activation `swish`")
    );
}
