//! The L2 penalty of a replayed step, without its graph: micrograd's
//! `total_loss = data_loss + alpha * sum((p*p for p in
//! model.parameters()))` and what each parameter receives from it, in one
//! pass over the parameters' numbers.
//!
//! Exact ([`Arith::Exact`]), the sum is micrograd's: a chain of dependent
//! additions from 0, parameter by parameter, whose latency bounds the
//! pass; what each parameter receives rides along in the chain's shadow,
//! where building the graph took a pass of its own for the sum, one for
//! its backward sweep and one to add what that sweep gave. Every number is
//! the bits the graph gives (a `SumSquares` node times the weight, plus
//! the data loss), through the same rules; the replay's tests compare
//! them, step after step.
//!
//! Fused ([`Arith::Fused`]), the sum runs in eight running sums, parameter
//! `i` into sum `i % 8`, added pairwise at the end: a vector's work, the
//! same bits on every CPU and for any thread count, but not micrograd's
//! (about 1e-16 relative apart). What each parameter receives is the same
//! in both.

use crate::engine::kernels::Arith;
use crate::engine::rules;

/// How many running sums the fused penalty keeps.
const SUMS: usize = 8;

/// `data_loss + l2 · Σ pᵢ²` over `params`, the sum as `arith` says; a
/// weight of 0 adds nothing, as it adds no node to the graph.
pub(super) fn l2_loss(data_loss: f64, l2: f64, params: &[f64], arith: Arith) -> f64 {
    if l2 == 0.0 {
        return data_loss;
    }
    let sum = match arith {
        Arith::Exact => params.iter().fold(0.0, |sum, &p| sum + p * p),
        Arith::Fused => running_sums(params),
    };
    data_loss + l2 * sum
}

/// [`l2_loss`], and, added to `grads` (one per parameter, holding what the
/// data loss gave each), what each `pᵢ` receives from the penalty (nothing
/// for a weight of 0).
///
/// The graph is `data_loss + l2 * S`, `S` one node `Σ pᵢ·pᵢ`. Backward
/// from the root (1): the `+` passes 1 to `l2 * S`, whose `*` rule gives
/// `S` the weight times 1; `S` gives each `pᵢ` what micrograd's `pᵢ*pᵢ`
/// node gives it, the `*` rule once for each factor: two additions of
/// `pᵢ · g`, after the data loss's share.
pub(super) fn l2_into(
    data_loss: f64,
    l2: f64,
    params: &[f64],
    grads: &mut [f64],
    arith: Arith,
) -> f64 {
    debug_assert_eq!(params.len(), grads.len());
    if l2 == 0.0 {
        return data_loss;
    }
    let g_sum = rules::times(l2, 1.0);
    let from_sum = |p: f64, g: &mut f64| {
        let (from_factor, _) = rules::mul_grad(p, p, 0.0, g_sum);
        *g += from_factor;
        *g += from_factor;
    };
    match arith {
        Arith::Exact => {
            // One pass: the gradients in the chain's shadow.
            let mut sum = 0.0;
            for (&p, g) in params.iter().zip(grads) {
                sum += p * p;
                from_sum(p, g);
            }
            data_loss + l2 * sum
        }
        Arith::Fused => {
            for (&p, g) in params.iter().zip(grads) {
                from_sum(p, g);
            }
            l2_loss(data_loss, l2, params, arith)
        }
    }
}

/// `Σ pᵢ²` in [`SUMS`] running sums, `pᵢ` into sum `i % SUMS`, then added
/// pairwise: ((s₀ + s₁) + (s₂ + s₃)) + ((s₄ + s₅) + (s₆ + s₇)).
fn running_sums(params: &[f64]) -> f64 {
    let mut sums = [0.0; SUMS];
    let mut chunks = params.chunks_exact(SUMS);
    for chunk in &mut chunks {
        for (sum, &p) in sums.iter_mut().zip(chunk) {
            *sum += p * p;
        }
    }
    for (sum, &p) in sums.iter_mut().zip(chunks.remainder()) {
        *sum += p * p;
    }
    let mut width = SUMS;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            sums[i] = sums[2 * i] + sums[2 * i + 1];
        }
    }
    sums[0]
}

#[cfg(test)]
mod tests {
    use super::{l2_into, l2_loss, running_sums};
    use crate::engine::kernels::Arith;
    use crate::engine::{self, Scope, Value};

    /// The graph's numbers, as the trainer built them: the root `data +
    /// l2 * Σ pᵢ²` and, after what the data gave, each parameter's
    /// gradient from a backward sweep.
    fn built(data_loss: f64, l2: f64, params: &[f64], from_data: &[f64]) -> (f64, Vec<f64>) {
        let _graph = Scope::new();
        let values: Vec<Value> = params.iter().map(|&p| Value::new(p)).collect();
        let mut total = Value::new(data_loss);
        total += l2 * Value::sum_squares(&values);
        let mut grads = from_data.to_vec();
        let first = engine::run_start(&values).expect("new values are one run");
        engine::backward_into(total, first, &mut grads);
        (total.data(), grads)
    }

    #[test]
    fn the_penalty_and_its_gradients_are_the_graphs_bits() {
        // Numbers whose squares round, of every size, and sums where the
        // order of the additions shows in the last bits.
        let mut params: Vec<f64> = (0..1000)
            .map(|i| {
                let i = f64::from(i);
                (i * 0.618_033_988_749_895).sin() * 10f64.powf((i % 13.0) - 6.0)
            })
            .collect();
        params.extend([0.0, -0.0, 1e-300, -3.0e150, f64::MIN_POSITIVE]);
        let from_data: Vec<f64> = params.iter().map(|p| 0.1 - p / 3.0).collect();
        for l2 in [1e-4, 0.3, -2.5, 1e-300] {
            for data_loss in [0.7, -1e-17, 1e300] {
                let (loss, grads) = built(data_loss, l2, &params, &from_data);
                let mut ours = from_data.clone();
                let our_loss = l2_into(data_loss, l2, &params, &mut ours, Arith::Exact);
                assert_eq!(
                    l2_loss(data_loss, l2, &params, Arith::Exact).to_bits(),
                    loss.to_bits()
                );
                assert_eq!(
                    our_loss.to_bits(),
                    loss.to_bits(),
                    "l2 {l2}, data {data_loss}"
                );
                for (i, (a, b)) in ours.iter().zip(&grads).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "parameter {i}, l2 {l2}");
                }
            }
        }
    }

    #[test]
    fn a_square_past_the_largest_number_makes_the_loss_infinite() {
        for arith in [Arith::Exact, Arith::Fused] {
            let mut grads = [0.0; 2];
            let loss = l2_into(0.5, 1e-4, &[1.0, 1e200], &mut grads, arith);
            assert_eq!(loss, f64::INFINITY);
            assert_eq!(grads[0], 2e-4);
        }
    }

    #[test]
    fn a_weight_of_zero_adds_nothing_as_no_node() {
        // 0 · inf would be NaN: the graph has no penalty node at all.
        for arith in [Arith::Exact, Arith::Fused] {
            let mut grads = [0.5, -1.0];
            assert_eq!(l2_into(0.25, 0.0, &[1.0, 1e200], &mut grads, arith), 0.25);
            assert_eq!(grads, [0.5, -1.0]);
            assert_eq!(l2_loss(0.25, 0.0, &[1e200], arith), 0.25);
        }
    }

    #[test]
    fn the_fused_sum_adds_eight_running_sums_pairwise() {
        // 2^27 squares to 2^54, where the numbers are 4 apart: a 1 added
        // to it is lost, a 3 makes 2^54 + 4. Sum 0 holds parameters 0, 8
        // and 16: 2^54, 1 (lost) and 0; sum 1 holds 1, 9 and 17: three 1s.
        let mut params = vec![0.0; 18];
        params[0] = 2f64.powi(27);
        for i in [1, 8, 9, 17] {
            params[i] = 1.0;
        }
        let two_54 = 2f64.powi(54);
        assert_eq!(running_sums(&params), two_54 + 4.0);
        // In micrograd's chain each 1 is lost as it comes.
        assert_eq!(l2_loss(0.0, 1.0, &params, Arith::Exact), two_54);
        assert_eq!(l2_loss(0.0, 1.0, &params, Arith::Fused), two_54 + 4.0);
        // What each parameter receives is the same in both modes.
        let (mut exact, mut fused) = (vec![0.25; 18], vec![0.25; 18]);
        l2_into(0.0, 0.5, &params, &mut exact, Arith::Exact);
        l2_into(0.0, 0.5, &params, &mut fused, Arith::Fused);
        assert_eq!(exact, fused);
        assert_eq!(exact[8], 0.25 + 0.5 + 0.5);
        assert_eq!(exact[0], 0.25 + 2f64.powi(27));
    }
}
