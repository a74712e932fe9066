//! TensorFlow Playground's datasets, after its
//! [dataset.ts](https://github.com/tensorflow/playground/blob/master/src/dataset.ts):
//! the same geometry, label functions and noise, drawn from a seed with
//! ChaCha8 instead of `Math.random` (so the points are not the page's,
//! but their distribution is). `noise` is the page's "Noise" slider over
//! 100 (0 to 0.5 there; any number 0 or more here).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::Dataset;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `randUniform(a, b)`: `Math.random() * (b - a) + a`, in [a, b).
fn uniform(rng: &mut ChaCha8Rng, a: f64, b: f64) -> f64 {
    rng.random::<f64>() * (b - a) + a
}

/// d3's `scale.linear().domain([d0, d1]).range([r0, r1])` at `x`, as d3
/// computes it: `r0 + (r1 - r0)·t` for `t = (x - d0) / (d1 - d0)`, not
/// clamped unless asked.
fn linear(x: f64, [d0, d1]: [f64; 2], [r0, r1]: [f64; 2], clamp: bool) -> f64 {
    let t = (x - d0) / (d1 - d0);
    let t = if clamp { t.clamp(0.0, 1.0) } else { t };
    r0 + (r1 - r0) * t
}

/// `classifyXORData`: points uniform in [-5, 5]², each coordinate pushed
/// 0.3 away from 0 (to ±[0.3, 5.3]); label +1 where `x1·x2 >= 0`, else -1,
/// read at the point moved by `uniform(-5, 5)·noise` on each coordinate
/// (the point itself is kept where it was, so noise flips labels near the
/// axes).
pub fn xor(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = rng(seed);
    let padded = |v: f64| if v > 0.0 { v + 0.3 } else { v - 0.3 };
    let (x, y) = (0..n)
        .map(|_| {
            let x1 = padded(uniform(&mut rng, -5.0, 5.0));
            let x2 = padded(uniform(&mut rng, -5.0, 5.0));
            let n1 = uniform(&mut rng, -5.0, 5.0) * noise;
            let n2 = uniform(&mut rng, -5.0, 5.0) * noise;
            let label = if (x1 + n1) * (x2 + n2) >= 0.0 {
                1.0
            } else {
                -1.0
            };
            (vec![x1, x2], label)
        })
        .unzip();
    Dataset { x, y }
}

/// `classifyTwoGaussData`: two Gaussians, label +1 around (2, 2) and -1
/// around (-2, -2), each coordinate of variance `0.5 + 7·noise` (d3's
/// scale from the page's noise 0 to 0.5 onto a variance of 0.5 to 4).
/// The first `n - n/2` points are the positive ones (the page draws
/// `numSamples/2` of each, rounded up), then the points are shuffled.
pub fn two_gaussians(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = rng(seed);
    let variance = linear(noise, [0.0, 0.5], [0.5, 4.0], false);
    let std = variance.sqrt();
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for (count, centre, label) in [(n - n / 2, 2.0, 1.0), (n / 2, -2.0, -1.0)] {
        for _ in 0..count {
            let x1 = centre + std * rng.sample::<f64, _>(StandardNormal);
            let x2 = centre + std * rng.sample::<f64, _>(StandardNormal);
            x.push(vec![x1, x2]);
            y.push(label);
        }
    }
    // Fisher–Yates, as the other generators shuffle.
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        x.swap(i, j);
        y.swap(i, j);
    }
    Dataset { x, y }
}

/// `regressPlane`: points uniform in [-6, 6]², target `(x1 + x2) / 10`
/// (d3's scale from [-10, 10] onto [-1, 1]), read at the point moved by
/// `uniform(-6, 6)·noise` on each coordinate.
pub fn plane(n: usize, noise: f64, seed: u64) -> Dataset {
    regression(n, noise, seed, |x1, x2| {
        linear(x1 + x2, [-10.0, 10.0], [-1.0, 1.0], false)
    })
}

/// `regressGaussian`: points uniform in [-6, 6]², read at the point moved
/// by `uniform(-6, 6)·noise` on each coordinate; six bumps centred at
/// x1 = -4, 0, 4 and x2 = ±2.5, signed +1, -1, +1 above and -1, +1, -1
/// below, each `max(0, 1 - d/2)` at distance `d` from its centre; the
/// target is the bump largest in absolute value (the first, on ties; 0
/// beyond every bump's reach of 2).
pub fn multi_gaussian(n: usize, noise: f64, seed: u64) -> Dataset {
    const BUMPS: [(f64, f64, f64); 6] = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    regression(n, noise, seed, |x1, x2| {
        let mut label = 0.0f64;
        for (cx, cy, sign) in BUMPS {
            let (dx, dy) = (x1 - cx, x2 - cy);
            let bump = sign * linear((dx * dx + dy * dy).sqrt(), [0.0, 2.0], [1.0, 0.0], true);
            if bump.abs() > label.abs() {
                label = bump;
            }
        }
        label
    })
}

/// `n` points uniform in [-6, 6]², each with `target` at the point moved
/// by `uniform(-6, 6)·noise` on each coordinate.
fn regression(n: usize, noise: f64, seed: u64, target: impl Fn(f64, f64) -> f64) -> Dataset {
    let mut rng = rng(seed);
    let (x, y) = (0..n)
        .map(|_| {
            let x1 = uniform(&mut rng, -6.0, 6.0);
            let x2 = uniform(&mut rng, -6.0, 6.0);
            let n1 = uniform(&mut rng, -6.0, 6.0) * noise;
            let n2 = uniform(&mut rng, -6.0, 6.0) * noise;
            (vec![x1, x2], target(x1 + n1, x2 + n2))
        })
        .unzip();
    Dataset { x, y }
}
