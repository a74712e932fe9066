//! The benchmark workloads: micrograd's demo training step (100 points
//! through an MLP 2-16-16-1 with the SVM loss and L2 regularisation) with
//! each neuron one node (node for node, it is `micrograd bench`'s
//! `values.rs`, and on a flat tape its `flat_tape.rs`), and a long chain of
//! additions.

use micrograd::Value;

use micrograd_bench::values::Params;

/// Deterministic stand-ins for the demo's points, labels and weights; the
/// timing does not depend on the values.
pub struct Demo {
    pub points: Vec<[f64; 2]>,
    pub labels: Vec<f64>,
    /// `layers[l][n]` = (weights, bias) of neuron `n` of layer `l`.
    pub layers: Vec<Vec<(Vec<f64>, f64)>>,
}

impl Demo {
    pub fn new(n_points: usize, sizes: &[usize]) -> Demo {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut uniform = move || {
            // xorshift64*, mapped to [-1, 1)
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            bits as f64 / (1u64 << 52) as f64 - 1.0
        };
        let points = (0..n_points)
            .map(|_| [2.0 * uniform(), uniform()])
            .collect();
        let labels = (0..n_points)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let layers = sizes
            .windows(2)
            .map(|io| {
                (0..io[1])
                    .map(|_| ((0..io[0]).map(|_| uniform()).collect(), 0.0))
                    .collect()
            })
            .collect();
        Demo {
            points,
            labels,
            layers,
        }
    }
}

/// micrograd's demo loss with each neuron one `affine` node and each sum
/// one node, as the `nn` library builds it point by point.
pub fn demo_loss_fused(demo: &Demo, params: &Params) -> Value {
    let last = params.len() - 1;
    let mut losses = Vec::with_capacity(demo.points.len());
    let mut acts = Vec::new();
    let mut next = Vec::new();
    for (p, &y) in demo.points.iter().zip(&demo.labels) {
        acts.clear();
        acts.extend(p.iter().map(|&x| Value::new(x)));
        for (l, layer) in params.iter().enumerate() {
            next.clear();
            for (w, b) in layer {
                let act = Value::affine(w, &acts, *b);
                next.push(if l == last { act } else { act.relu() });
            }
            std::mem::swap(&mut acts, &mut next);
        }
        losses.push((1.0 + -y * acts[0]).relu());
    }
    let data_loss = losses.iter().sum::<Value>() * (1.0 / losses.len() as f64);
    let reg_loss = 1e-4
        * params
            .iter()
            .flatten()
            .flat_map(|(w, b)| w.iter().chain([b]))
            .map(|&p| p * p)
            .sum::<Value>();
    data_loss + reg_loss
}

/// `x + 1 + 1 + ...`: `n` additions, each with a constant leaf.
pub fn chain(x: Value, n: usize) -> Value {
    let one = Value::new(1.0);
    (0..n).fold(x, |acc, _| acc + one)
}
