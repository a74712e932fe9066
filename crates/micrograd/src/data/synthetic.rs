//! Built-in datasets, deterministic from a seed (ChaCha8, whose stream is
//! fixed by its specification, so a seed gives the same points everywhere).

use std::f64::consts::PI;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::Dataset;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` evenly spaced numbers from `start` to `end` inclusive (numpy's
/// `linspace`).
fn linspace(start: f64, end: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = if n > 1 {
        (end - start) / (n - 1) as f64
    } else {
        0.0
    };
    (0..n).map(move |i| start + step * i as f64)
}

/// Puts the samples in a random order, as scikit-learn's generators do.
fn shuffled(mut x: Vec<Vec<f64>>, mut y: Vec<f64>, rng: &mut ChaCha8Rng) -> Dataset {
    // Fisher–Yates over both vectors at once.
    for i in (1..x.len()).rev() {
        let j = rng.random_range(0..=i);
        x.swap(i, j);
        y.swap(i, j);
    }
    Dataset { x, y }
}

fn add_noise(x: &mut [Vec<f64>], noise: f64, rng: &mut ChaCha8Rng) {
    for v in x.iter_mut().flatten() {
        *v += noise * rng.sample::<f64, _>(StandardNormal);
    }
}

/// Two interleaving half circles (scikit-learn's `make_moons`), labels -1 and
/// +1 as in micrograd's demo (`y = y*2 - 1`); `noise` is the standard
/// deviation of Gaussian noise added to every coordinate. The demo uses
/// `moons(100, 0.1, seed)`.
///
/// # Panics
///
/// If `n < 2`.
pub fn moons(n: usize, noise: f64, seed: u64) -> Dataset {
    assert!(n >= 2, "micrograd: moons needs at least 2 samples");
    let mut rng = rng(seed);
    let (n_out, n_in) = (n / 2, n - n / 2);
    let outer = linspace(0.0, PI, n_out).map(|t| (vec![t.cos(), t.sin()], -1.0));
    let inner = linspace(0.0, PI, n_in).map(|t| (vec![1.0 - t.cos(), 1.0 - t.sin() - 0.5], 1.0));
    let (mut x, y): (Vec<_>, Vec<_>) = outer.chain(inner).unzip();
    add_noise(&mut x, noise, &mut rng);
    shuffled(x, y, &mut rng)
}

/// A small circle inside a large one (scikit-learn's `make_circles`), labels
/// -1 (outer) and +1 (inner); `factor` is the ratio of the radii.
///
/// # Panics
///
/// If `n < 2` or `factor` is not in (0, 1).
pub fn circles(n: usize, noise: f64, factor: f64, seed: u64) -> Dataset {
    assert!(n >= 2, "micrograd: circles needs at least 2 samples");
    assert!(
        0.0 < factor && factor < 1.0,
        "micrograd: circles needs 0 < factor < 1"
    );
    let mut rng = rng(seed);
    let (n_out, n_in) = (n / 2, n - n / 2);
    // Angles over [0, 2π) without repeating the end point.
    let ring = |count: usize, radius: f64, label: f64| {
        (0..count).map(move |i| {
            let t = 2.0 * PI * i as f64 / count as f64;
            (vec![radius * t.cos(), radius * t.sin()], label)
        })
    };
    let (mut x, y): (Vec<_>, Vec<_>) = ring(n_out, 1.0, -1.0)
        .chain(ring(n_in, factor, 1.0))
        .unzip();
    add_noise(&mut x, noise, &mut rng);
    shuffled(x, y, &mut rng)
}

/// `classes` Gaussian blobs in the plane (like scikit-learn's
/// `make_blobs`), labels 0, 1, ...: centres spread evenly on a circle of
/// radius 3 (at a random rotation), standard deviation `std`, samples split
/// as evenly as possible.
///
/// # Panics
///
/// If `classes` is 0 or `n < classes`.
pub fn blobs(n: usize, classes: usize, std: f64, seed: u64) -> Dataset {
    assert!(
        classes > 0 && n >= classes,
        "micrograd: blobs needs 0 < classes <= n"
    );
    let mut rng = rng(seed);
    let rotation = rng.random_range(0.0..2.0 * PI);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = i * classes / n;
        let angle = rotation + 2.0 * PI * class as f64 / classes as f64;
        x.push(vec![3.0 * angle.cos(), 3.0 * angle.sin()]);
        y.push(class as f64);
    }
    add_noise(&mut x, std, &mut rng);
    shuffled(x, y, &mut rng)
}

/// `classes` interleaved spiral arms with `per_class` points each, labels 0,
/// 1, ...: the dataset of Stanford's CS231n (radius from 0 to 1, angle
/// spread by Gaussian noise of standard deviation `noise`, 0.2 there).
///
/// # Panics
///
/// If `classes` or `per_class` is 0.
pub fn spiral(per_class: usize, classes: usize, noise: f64, seed: u64) -> Dataset {
    assert!(
        classes > 0 && per_class > 0,
        "micrograd: spiral needs classes and points"
    );
    spiral_sized(per_class * classes, classes, noise, seed)
}

/// The same spiral with `n` points in all: the first `n % classes` arms
/// have one point more than the others. `spiral_sized(3 * k, 3, ..)` is
/// `spiral(k, 3, ..)`.
///
/// # Panics
///
/// If `classes` is 0 or `n < classes`.
pub fn spiral_sized(n: usize, classes: usize, noise: f64, seed: u64) -> Dataset {
    assert!(
        classes > 0 && n >= classes,
        "micrograd: spiral needs 0 < classes <= n"
    );
    let mut rng = rng(seed);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for class in 0..classes {
        let points = n / classes + usize::from(class < n % classes);
        let turn = 4.0 * class as f64;
        for (r, t) in linspace(0.0, 1.0, points).zip(linspace(turn, turn + 4.0, points)) {
            let t = t + noise * rng.sample::<f64, _>(StandardNormal);
            x.push(vec![r * t.sin(), r * t.cos()]);
            y.push(class as f64);
        }
    }
    shuffled(x, y, &mut rng)
}

/// The lecture's four examples: three inputs each, targets 1, -1, -1, 1.
pub fn lecture_examples() -> Dataset {
    Dataset {
        x: vec![
            vec![2.0, 3.0, -1.0],
            vec![3.0, -1.0, 0.5],
            vec![0.5, 1.0, 1.0],
            vec![1.0, 1.0, -1.0],
        ],
        y: vec![1.0, -1.0, -1.0, 1.0],
    }
}
