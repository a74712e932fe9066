//! Batches: one graph for many points. Each lane against its point's own
//! graph (to the bit), gradients against the per-point graph, the broadcast
//! and reduction rules against finite differences of plain f64 arithmetic,
//! and every thread count against one thread.

#![cfg(feature = "nn")]

mod common;

use common::finite_difference;
use micrograd::data::{self, Dataset};
use micrograd::nn::{Activation, Loss, MLP, Module, OptimizerKind, Schedule, batch_inputs, loss};
use micrograd::train::{Batching, TrainConfig, Trainer};
use micrograd::{Op, Scope, Value};

/// xorshift64*: numbers for the tests that owe nothing to the crate.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        bits as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.uniform() + 1.0) / 2.0 * n as f64) as usize % n
    }

    /// A point's feature: mostly in [-3, 3], sometimes large or exactly 0,
    /// so that tanh's and sigmoid's far branches and ReLU's kink are met.
    fn feature(&mut self) -> f64 {
        match self.below(10) {
            0 => 0.0,
            1 => 25.0 * self.uniform(),
            _ => 3.0 * self.uniform(),
        }
    }
}

const ACTIVATIONS: [Activation; 4] = [
    Activation::Relu,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Linear,
];

/// Networks of every shape the layer kernels treat apart: widths below,
/// at and above their register blocks (4 and 8 rows), one-neuron layers.
const SHAPES: [(usize, &[usize]); 7] = [
    (1, &[1]),
    (2, &[16, 16, 1]),
    (3, &[5, 4, 2]),
    (5, &[9, 17, 3]),
    (2, &[1, 1, 1]),
    (4, &[33, 7, 1]),
    (7, &[8, 3]),
];

fn model(nin: usize, nouts: &[usize], activation: Activation, seed: u64) -> MLP {
    MLP::builder(nin, nouts)
        .activation(activation)
        .output_activation(ACTIVATIONS[seed as usize % 4])
        .random_bias(true)
        .seed(seed)
        .build()
}

fn points(rng: &mut Rng, n: usize, dim: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..dim).map(|_| rng.feature()).collect())
        .collect()
}

/// The bits of each number, to compare exactly (and say which differ).
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `max |a - b| <= rel * max |a|`: a gradient vector's relative error.
#[track_caller]
fn assert_vectors_close(a: &[f64], b: &[f64], rel: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let worst = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        worst <= rel * scale,
        "{what}: max difference {worst:e} against max magnitude {scale:e} (relative tolerance {rel:e})"
    );
}

#[test]
fn every_lane_holds_the_bits_of_its_points_own_graph() {
    let mut rng = Rng(0x5EED);
    for (s, &(nin, nouts)) in SHAPES.iter().enumerate() {
        for (a, &activation) in ACTIVATIONS.iter().enumerate() {
            let model = model(nin, nouts, activation, (s * 4 + a) as u64);
            for n in [1, 7, 100, 300] {
                let _graph = Scope::new();
                let xs = points(&mut rng, n, nin);
                let lanes: Vec<Vec<f64>> = model
                    .forward(&batch_inputs(&xs))
                    .iter()
                    .map(|v| v.data_lanes())
                    .collect();
                for (point, x) in xs.iter().enumerate() {
                    let own = model.forward(&x[..]);
                    for (j, v) in own.iter().enumerate() {
                        assert_eq!(
                            v.data().to_bits(),
                            lanes[j][point].to_bits(),
                            "{nin}-{nouts:?} {activation:?}, {n} points: point {point}, output {j}: {} against {}",
                            v.data(),
                            lanes[j][point]
                        );
                    }
                }
            }
        }
    }
}

/// A loss over `outputs` (per point, or one batch per output) of `points`.
fn loss_of(kind: Loss, outputs: &[Value], targets: &[f64], k: usize) -> Value {
    match kind {
        Loss::Svm => loss::svm(outputs, targets),
        Loss::Mse => loss::mse(outputs, targets),
        Loss::SumSquares => loss::sum_squares(outputs, targets),
        Loss::Bce => loss::bce_with_logits(outputs, targets),
        Loss::SoftmaxCe => {
            let classes: Vec<usize> = targets.iter().map(|&c| c as usize).collect();
            loss::softmax_cross_entropy(outputs, &classes, k)
        }
    }
}

#[test]
fn a_batchs_gradients_are_the_per_point_graphs_for_every_loss_and_activation() {
    let mut rng = Rng(0xBA7C);
    let losses = [
        Loss::Svm,
        Loss::Mse,
        Loss::SumSquares,
        Loss::Bce,
        Loss::SoftmaxCe,
    ];
    for (l, &kind) in losses.iter().enumerate() {
        for (a, &activation) in ACTIVATIONS.iter().enumerate() {
            let k = if kind == Loss::SoftmaxCe { 3 } else { 1 };
            let model = MLP::builder(3, &[9, 5, k])
                .activation(activation)
                .random_bias(true)
                .seed((l * 4 + a) as u64)
                .build();
            let params = model.parameters();
            let n = 40;
            let xs = points(&mut rng, n, 3);
            let targets: Vec<f64> = (0..n)
                .map(|i| match kind {
                    Loss::Svm => [-1.0, 1.0][i % 2],
                    Loss::Bce => [0.0, 1.0][i % 2],
                    Loss::SoftmaxCe => (i % 3) as f64,
                    Loss::Mse | Loss::SumSquares => 2.0 * rng.uniform(),
                })
                .collect();
            let run = |batched: bool| {
                let _graph = Scope::new();
                let (outputs, inputs) = if batched {
                    let inputs = batch_inputs(&xs);
                    (model.forward(&inputs), inputs)
                } else {
                    let inputs: Vec<Value> = xs.iter().flatten().map(|&x| Value::new(x)).collect();
                    let outputs = inputs.chunks(3).flat_map(|x| model.forward(x)).collect();
                    (outputs, inputs)
                };
                let total = loss_of(kind, &outputs, &targets, k);
                model.zero_grad();
                total.backward();
                let grads: Vec<f64> = params.iter().map(|p| p.grad()).collect();
                // Each input's gradient, point by point.
                let input_grads: Vec<f64> = if batched {
                    let lanes: Vec<Vec<f64>> = inputs.iter().map(|v| v.grad_lanes()).collect();
                    (0..n)
                        .flat_map(|i| lanes.iter().map(move |f| f[i]))
                        .collect()
                } else {
                    inputs.iter().map(|v| v.grad()).collect()
                };
                (total.data(), grads, input_grads)
            };
            let (per_point, batched) = (run(false), run(true));
            let what = format!("{kind} loss, {activation:?}");
            assert_eq!(
                per_point.0.to_bits(),
                batched.0.to_bits(),
                "{what}: loss {} per point, {} batched",
                per_point.0,
                batched.0
            );
            // A parameter's gradient is summed over the points: in lane
            // order in the batch, in the order the backward meets them in
            // the per-point graph, so only close. Each point's inputs get
            // their sums in the same order both ways (the layer kernels
            // multiply and then add, as the graph's `*` and `+` do): the
            // same bits.
            assert_vectors_close(
                &per_point.1,
                &batched.1,
                1e-13,
                &format!("{what}: parameters"),
            );
            assert_eq!(bits(&per_point.2), bits(&batched.2), "{what}: inputs");
        }
    }
}

/// An expression of two single values `s` and a batch `b`, for the engine
/// and, lane by lane, for plain f64.
struct Case {
    name: &'static str,
    engine: fn(Value, Value, Value) -> Value,
    plain: fn(f64, f64, f64) -> f64,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "s0 * b",
            engine: |s0, _, b| s0 * b,
            plain: |s0, _, b| s0 * b,
        },
        Case {
            name: "b * s0 + s1",
            engine: |s0, s1, b| b * s0 + s1,
            plain: |s0, s1, b| b * s0 + s1,
        },
        Case {
            name: "s0 - b",
            engine: |s0, _, b| s0 - b,
            plain: |s0, _, b| s0 - b,
        },
        Case {
            name: "b / s1",
            engine: |_, s1, b| b / s1,
            plain: |_, s1, b| b / s1,
        },
        Case {
            name: "s0 / b",
            engine: |s0, _, b| s0 / b,
            plain: |s0, _, b| s0 / b,
        },
        Case {
            name: "b ** 3",
            engine: |_, _, b| b.powf(3.0),
            plain: |_, _, b| b.powi(3),
        },
        Case {
            name: "s1 ** b",
            engine: |_, s1, b| s1.pow(b),
            plain: |_, s1, b| s1.powf(b),
        },
        Case {
            name: "b² ** s0",
            engine: |s0, _, b| (b * b + 0.5).pow(s0),
            plain: |s0, _, b| (b * b + 0.5).powf(s0),
        },
        Case {
            name: "relu(b s0 - s1)",
            engine: |s0, s1, b| (b * s0 - s1).relu(),
            plain: |s0, s1, b| (b * s0 - s1).max(0.0),
        },
        Case {
            name: "tanh(b s0)",
            engine: |s0, _, b| (b * s0).tanh(),
            plain: |s0, _, b| (b * s0).tanh(),
        },
        Case {
            name: "exp(b) s1",
            engine: |_, s1, b| b.exp() * s1,
            plain: |_, s1, b| b.exp() * s1,
        },
        Case {
            name: "ln(b² + s1)",
            engine: |_, s1, b| (b * b + s1).ln(),
            plain: |_, s1, b| (b * b + s1).ln(),
        },
        Case {
            name: "sigmoid(s0 b)",
            engine: |s0, _, b| (s0 * b).sigmoid(),
            plain: |s0, _, b| 1.0 / (1.0 + (-(s0 * b)).exp()),
        },
        Case {
            name: "softplus(b - s0)",
            engine: |s0, _, b| (b - s0).softplus(),
            plain: |s0, _, b| (b - s0).exp().ln_1p(),
        },
        Case {
            name: "sum(s0, b, s1 b)",
            engine: |s0, s1, b| [s0, b, s1 * b].into_iter().sum(),
            plain: |s0, s1, b| s0 + b + s1 * b,
        },
        Case {
            name: "affine([s0, b], [b, s1], s1)",
            engine: |s0, s1, b| Value::affine(&[s0, b], &[b, s1], s1),
            plain: |s0, s1, b| s1 + s0 * b + b * s1,
        },
        Case {
            name: "sum_squares(s0, b)",
            engine: |s0, _, b| Value::sum_squares(&[s0, b]),
            plain: |s0, _, b| s0 * s0 + b * b,
        },
        Case {
            name: "dense, two neurons, summed",
            engine: |s0, s1, b| {
                let x = [b, b * b];
                let out = Value::dense(&[s0, s1, s1, s0], &[s1, s0], &x);
                out[0] * out[1]
            },
            plain: |s0, s1, b| (s1 + s0 * b + s1 * b * b) * (s0 + s1 * b + s0 * b * b),
        },
    ]
}

/// A derivative against a finite difference, whose error is about 1e-10 of
/// the function's scale (here about 1): relative above 1, absolute below.
#[track_caller]
fn assert_derivative(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-7 * expected.abs().max(1.0),
        "{what}: got {actual:e}, finite differences give {expected:e}"
    );
}

#[test]
fn single_values_broadcast_and_receive_the_sum_over_the_lanes() {
    let singles = [0.7, 1.3];
    let lanes = [0.5, -1.25, 2.0, 0.125, 1.5];
    for case in cases() {
        for mean in [false, true] {
            let _graph = Scope::new();
            let s0 = Value::new(singles[0]);
            let s1 = Value::new(singles[1]);
            let b = Value::batch(&lanes);
            let out = (case.engine)(s0, s1, b);
            assert_eq!(out.lanes(), Some(lanes.len()), "{}: a batch", case.name);
            for (n, &x) in out.data_lanes().iter().zip(&lanes) {
                let expected = (case.plain)(singles[0], singles[1], x);
                common::assert_close(*n, expected, 1e-14, case.name);
            }
            let root = if mean {
                out.mean_lanes()
            } else {
                out.sum_lanes()
            };
            root.backward();
            let scale = if mean { 1.0 / lanes.len() as f64 } else { 1.0 };
            // d(Σₙ f(s, bₙ))/ds: the sum over the lanes.
            let total = |s: &[f64]| -> f64 {
                scale
                    * lanes
                        .iter()
                        .map(|&x| (case.plain)(s[0], s[1], x))
                        .sum::<f64>()
            };
            for (i, v) in [s0, s1].iter().enumerate() {
                let expected = finite_difference(total, &singles, i);
                let what = format!("{} (mean {mean}): d/ds{i}", case.name);
                assert_derivative(v.grad(), expected, &what);
            }
            // d/dbₙ: lane n's own derivative.
            for (n, (&g, &x)) in b.grad_lanes().iter().zip(&lanes).enumerate() {
                let own = |v: &[f64]| scale * (case.plain)(singles[0], singles[1], v[0]);
                let expected = finite_difference(own, &[x], 0);
                let what = format!("{} (mean {mean}): d/db lane {n}", case.name);
                assert_derivative(g, expected, &what);
            }
        }
    }
}

#[test]
fn sin_and_cos_work_lane_by_lane() {
    let xs = [-2.0, -0.5, 0.0, 0.75, 1.5, 3.0];
    let w0 = 0.7;
    let _scope = Scope::new();
    let w = Value::new(w0);
    let x = Value::batch(&xs);
    let y = (x * w).sin() + x.cos();
    let total = y.sum_lanes();
    total.backward();
    let (data, grads) = (y.data_lanes(), x.grad_lanes());
    let mut dw = 0.0;
    for (n, &xn) in xs.iter().enumerate() {
        let plain = |v: &[f64]| (v[0] * v[1]).sin() + v[0].cos();
        // The forward: f64's sin and cos of the lane's numbers, to the bit.
        assert_eq!(data[n], (xn * w0).sin() + xn.cos(), "lane {n}");
        // By hand: d/dx = cos(wx)·w - sin(x), d/dw = cos(wx)·x.
        let by_hand = (xn * w0).cos() * w0 - xn.sin();
        assert!((grads[n] - by_hand).abs() <= 1e-15, "d/dx in lane {n}");
        let numeric = finite_difference(plain, &[xn, w0], 0);
        assert!((grads[n] - numeric).abs() <= 1e-9, "d/dx in lane {n}");
        dw += (xn * w0).cos() * xn;
    }
    // w, a single value, receives the sum over the lanes.
    assert!((w.grad() - dw).abs() <= 1e-14, "{} against {dw}", w.grad());
    let numeric: f64 = xs
        .iter()
        .map(|&xn| finite_difference(|v: &[f64]| (v[0] * v[1]).sin(), &[xn, w0], 1))
        .sum();
    assert!((w.grad() - numeric).abs() <= 1e-8);
}

#[test]
fn a_single_value_receives_its_lanes_in_lane_order() {
    // 1e16 + 1 + 1 + ... in lane order loses every 1; another order would not.
    let _graph = Scope::new();
    let w = Value::new(1.0);
    let x = Value::batch(&[1e16, 1.0, 1.0, 1.0, -1e16]);
    let y = w * x;
    y.sum_lanes().backward();
    let in_order = [1e16, 1.0, 1.0, 1.0, -1e16]
        .iter()
        .fold(0.0, |acc, &c| acc + c);
    assert_eq!(in_order, 0.0);
    assert_eq!(w.grad(), in_order);
    assert_eq!(y.sum_lanes().data(), in_order);
}

#[test]
fn a_sum_of_squares_over_a_run_of_nodes_holding_a_batch_is_a_batch() {
    // Three consecutive leaves (one run of nodes, as a model's parameters
    // are), the middle one a batch: the sum is a batch too.
    let _graph = Scope::new();
    let a = Value::new(3.0);
    let x = Value::batch(&[1.0, -2.0]);
    let c = Value::new(-0.5);
    let s = Value::sum_squares(&[a, x, c]);
    assert_eq!(s.data_lanes(), [9.0 + 1.0 + 0.25, 9.0 + 4.0 + 0.25]);
    s.sum_lanes().backward();
    // d/da Σₙ (a² + xₙ² + c²) = 2·a per lane, over two lanes.
    assert_eq!(a.grad(), 12.0);
    assert_eq!(x.grad_lanes(), [2.0, -4.0]);
    assert_eq!(c.grad(), -2.0);
    // And over single values only, one number, summed left to right.
    let s = Value::sum_squares(&[a, c]);
    assert_eq!(s.data(), 9.0 + 0.25);
}

#[test]
fn a_batched_root_gives_each_lane_its_own_gradient() {
    let _graph = Scope::new();
    let a = Value::new(3.0);
    let x = Value::batch(&[1.0, -2.0, 0.5]);
    let y = x * x * a; // dy/dx = 2·x·a per lane; dy/da = Σ x²
    y.backward();
    assert_eq!(x.grad_lanes(), [6.0, -12.0, 3.0]);
    assert_eq!(a.grad(), 1.0 + 4.0 + 0.25);
    assert_eq!(y.grad_lanes(), [1.0, 1.0, 1.0]);
}

#[test]
fn a_layers_kernels_give_the_numbers_of_one_affine_per_neuron() {
    // Layers whose parameters are one run of nodes (as a model makes them)
    // and layers whose parameters are scattered, against one `affine` node
    // per neuron over the same batch.
    let mut rng = Rng(0xDE45E);
    for &(j, k, n) in &[
        (1, 1, 1),
        (3, 2, 17),
        (8, 5, 16),
        (9, 17, 33),
        (13, 31, 100),
        (20, 3, 257),
    ] {
        for scattered in [false, true] {
            let _graph = Scope::new();
            let w_data: Vec<f64> = (0..j * k).map(|_| rng.uniform()).collect();
            let b_data: Vec<f64> = (0..j).map(|_| rng.uniform()).collect();
            let x_data: Vec<Vec<f64>> = (0..k)
                .map(|_| (0..n).map(|_| rng.feature()).collect())
                .collect();
            let g_data: Vec<Vec<f64>> = (0..j)
                .map(|_| (0..n).map(|_| rng.uniform()).collect())
                .collect();
            let params = |scattered: bool| -> (Vec<Value>, Vec<Value>) {
                if scattered {
                    // All weights, then all biases: not micrograd's order.
                    let w = w_data.iter().map(|&v| Value::new(v)).collect();
                    (w, b_data.iter().map(|&v| Value::new(v)).collect())
                } else {
                    let (mut w, mut b) = (Vec::new(), Vec::new());
                    for jj in 0..j {
                        w.extend(w_data[jj * k..(jj + 1) * k].iter().map(|&v| Value::new(v)));
                        b.push(Value::new(b_data[jj]));
                    }
                    (w, b)
                }
            };
            let run = |layer: bool| {
                let (w, b) = params(scattered);
                let x: Vec<Value> = x_data.iter().map(|c| Value::batch(c)).collect();
                let out: Vec<Value> = if layer {
                    Value::dense(&w, &b, &x)
                } else {
                    (0..j)
                        .map(|jj| Value::affine(&w[jj * k..(jj + 1) * k], &x, b[jj]))
                        .collect()
                };
                let weighted: Value = out
                    .iter()
                    .zip(&g_data)
                    .map(|(o, g)| *o * Value::batch(g))
                    .sum();
                weighted.sum_lanes().backward();
                let data: Vec<f64> = out.iter().flat_map(|o| o.data_lanes()).collect();
                let grads: Vec<f64> = w.iter().chain(&b).map(|p| p.grad()).collect();
                let x_grads: Vec<f64> = x.iter().flat_map(|v| v.grad_lanes()).collect();
                (data, grads, x_grads, out[0].op())
            };
            let (layer, neurons) = (run(true), run(false));
            let what = format!("{j}x{k}x{n}, scattered {scattered}");
            // The kernels sum every gradient in the order the `Affine`
            // nodes' backward does, multiplying and then adding: the same
            // bits, forward and backward.
            assert_eq!(bits(&layer.0), bits(&neurons.0), "{what}: forward");
            assert_eq!(bits(&layer.1), bits(&neurons.1), "{what}: parameters");
            assert_eq!(bits(&layer.2), bits(&neurons.2), "{what}: inputs");
            assert_eq!(
                layer.3,
                Op::Affine,
                "{what}: a layer's neuron is an affine node"
            );
        }
    }
}

#[test]
fn any_thread_count_gives_the_same_bits() {
    let data = data::moons(1100, 0.1, 3); // 5 chunks of the batch
    let run = |threads: usize, batch: Option<usize>| {
        let model = MLP::new(2, &[16, 16, 1]);
        let config = TrainConfig {
            threads: Some(threads),
            batch,
            ..TrainConfig::micrograd_demo(10)
        };
        let mut trainer = Trainer::new(&model, &data, &config).unwrap();
        let losses: Vec<u64> = (0..4)
            .map(|_| trainer.step().unwrap().loss.to_bits())
            .collect();
        let weights: Vec<u64> = model
            .parameters()
            .iter()
            .map(|p| p.data().to_bits())
            .collect();
        let grads: Vec<u64> = model
            .parameters()
            .iter()
            .map(|p| p.grad().to_bits())
            .collect();
        (losses, weights, grads)
    };
    for batch in [None, Some(700)] {
        let one = run(1, batch);
        for threads in [2, 3, 8] {
            assert!(
                run(threads, batch) == one,
                "{threads} threads, batch {batch:?}: other bits than 1 thread"
            );
        }
    }
}

#[test]
fn training_in_lanes_follows_training_point_by_point() {
    let data = data::spiral(70, 3, 0.2, 1);
    let run = |batching: Batching| {
        let model = MLP::builder(2, &[12, 12, 3])
            .activation(Activation::Tanh)
            .seed(2)
            .build();
        let config = TrainConfig {
            loss: Loss::SoftmaxCe,
            optimizer: OptimizerKind::Adam,
            schedule: Schedule::Constant(0.02),
            l2: 1e-4,
            l1: 0.0,
            batch: Some(150),
            seed: 5,
            batching,
            threads: Some(1),
        };
        let mut trainer = Trainer::new(&model, &data, &config).unwrap();
        let records: Vec<_> = (0..25).map(|_| trainer.step().unwrap()).collect();
        (records, model.weights())
    };
    let (per_point, lanes) = (run(Batching::PerPoint), run(Batching::Lanes));
    for (p, l) in per_point.0.iter().zip(&lanes.0) {
        common::assert_close(l.loss, p.loss, 1e-11, &format!("step {} loss", p.step));
        assert_eq!(l.accuracy, p.accuracy, "step {} accuracy", p.step);
    }
    let flat = |w: &micrograd::nn::Weights| -> Vec<f64> {
        w.layers
            .iter()
            .flat_map(|l| l.w.iter().flatten().chain(&l.b).copied())
            .collect()
    };
    assert_vectors_close(
        &flat(&per_point.1),
        &flat(&lanes.1),
        1e-10,
        "weights after 25 steps",
    );
}

#[test]
fn a_batch_is_read_and_printed_lane_by_lane() {
    let _graph = Scope::new();
    let x = Value::batch(&[1.0, 2.5, -3.0]);
    assert!(x.is_batch());
    assert_eq!(x.lanes(), Some(3));
    assert_eq!(Value::new(1.0).lanes(), None);
    assert_eq!(
        x.to_string(),
        "Value(lanes=3, data=[1.0, 2.5, -3.0], grad=[0.0, 0.0, 0.0])"
    );
    drop(_graph);
    let _graph = Scope::new();
    let wide = Value::batch(&[0.5; 7]);
    assert_eq!(
        wide.to_string(),
        "Value(lanes=7, data=[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, ...], grad=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ...])"
    );
}

#[test]
fn a_new_batch_size_is_fine_once_the_last_batch_is_freed() {
    {
        let _first = Scope::new();
        let a = Value::batch(&[1.0, 2.0]);
        assert_eq!((a * 2.0).data_lanes(), [2.0, 4.0]);
    }
    let _second = Scope::new();
    let b = Value::batch(&[1.0, 2.0, 3.0]);
    assert_eq!(b.sum_lanes().data(), 6.0);
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("it should panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn misusing_a_batch_panics_with_what_to_do_instead() {
    let message = panic_message(|| {
        let _graph = Scope::new();
        Value::batch(&[1.0, 2.0]).data();
    });
    assert!(
        message.contains("batch of 2 lanes") && message.contains("data_lanes"),
        "{message}"
    );

    let message = panic_message(|| {
        let _graph = Scope::new();
        let _a = Value::batch(&[1.0, 2.0]);
        let _b = Value::batch(&[1.0, 2.0, 3.0]);
    });
    assert!(
        message.contains("batches have 2 lanes") && message.contains("batch of 3"),
        "{message}"
    );

    let message = panic_message(|| {
        Value::new(1.0).sum_lanes();
    });
    assert!(message.contains("single number"), "{message}");

    let message = panic_message(|| {
        Value::batch(&[]);
    });
    assert!(message.contains("at least one lane"), "{message}");

    let message = panic_message(|| {
        let _graph = Scope::new();
        let x = [Value::batch(&[1.0])];
        Value::dense(&[Value::new(1.0)], &[Value::new(0.0), Value::new(0.0)], &x);
    });
    assert!(
        message.contains("one weight per neuron and input"),
        "{message}"
    );
}

#[test]
fn the_trainer_refuses_zero_threads() {
    let data = Dataset::new(vec![vec![0.0], vec![1.0]], vec![-1.0, 1.0]).unwrap();
    let model = MLP::new(1, &[1]);
    let config = TrainConfig {
        threads: Some(0),
        ..TrainConfig::micrograd_demo(1)
    };
    let err = Trainer::new(&model, &data, &config).err().unwrap();
    assert_eq!(err.to_string(), "the thread count must be at least 1");
}

#[test]
#[should_panic(expected = "Value::set_data sets one number, but this Value")]
fn an_optimizer_over_consecutive_values_refuses_a_batch_among_them() {
    use micrograd::nn::{Optimizer, Sgd};
    // Made one after another: one run of nodes, updated as one slice.
    let params = [Value::new(1.0), Value::batch(&[1.0, 2.0]), Value::new(3.0)];
    Sgd::new().step(&params, 0.1);
}

#[test]
fn an_optimizer_over_consecutive_values_updates_each_of_them() {
    use micrograd::nn::{Optimizer, Sgd};
    let params: Vec<Value> = (0..5).map(|i| Value::new(f64::from(i))).collect();
    for (i, p) in params.iter().enumerate() {
        p.set_grad(i as f64 * 0.5);
    }
    Sgd::new().step(&params, 0.5);
    // p - 0.5·(p/2): each exact in binary.
    let data: Vec<f64> = params.iter().map(|p| p.data()).collect();
    assert_eq!(data, [0.0, 0.75, 1.5, 2.25, 3.0]);
}
