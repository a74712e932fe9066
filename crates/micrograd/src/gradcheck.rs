//! Checking `backward` against finite differences.

use crate::engine::{Value, scope};

/// What [`gradcheck`] found: both gradients and how far apart they are.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// d f/d inputᵢ from [`Value::backward`].
    pub analytic: Vec<f64>,
    /// d f/d inputᵢ from finite differences.
    pub numeric: Vec<f64>,
    /// The largest relative error over the inputs, each
    /// `|analytic - numeric| / max(|analytic|, |numeric|, 1)`: relative
    /// for gradients above 1, absolute below, so that round-off in a tiny
    /// gradient does not count as a failure. Infinite where either is NaN,
    /// or one is infinite and the other not the same infinity: nothing was
    /// checked there.
    pub max_rel_error: f64,
    /// The input with the largest error (0 when there are no inputs).
    pub worst: usize,
}

impl GradCheck {
    /// Whether every input's error is at most `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.max_rel_error <= tolerance
    }
}

/// Compares the gradient `backward` gives for `f` at the point `at` with
/// five-point central finite differences,
/// `f'(x) ≈ (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h` with
/// `h = 10⁻⁴·max(1, |x|)`: truncation error of order h⁴ = 10⁻¹⁶ times the
/// fifth derivative, round-off of order 10⁻¹² times |f|.
///
/// `f` receives one leaf per entry of `at` and returns the scalar to
/// differentiate. It runs inside a [`Scope`](crate::Scope), so the graphs it
/// builds are freed. A kink (ReLU at 0) within `2h` of the point makes the
/// finite differences meaningless there.
///
/// ```
/// use micrograd::gradcheck;
/// let check = gradcheck(|v| (v[0] * v[1]).tanh() + v[0].exp(), &[0.3, -1.2]);
/// assert!(check.passes(1e-8), "{check:?}");
/// ```
pub fn gradcheck(f: impl Fn(&[Value]) -> Value, at: &[f64]) -> GradCheck {
    let analytic = scope(|| {
        let inputs: Vec<Value> = at.iter().map(|&x| Value::new(x)).collect();
        f(&inputs).backward();
        inputs.iter().map(|v| v.grad()).collect::<Vec<f64>>()
    });
    let eval = |point: &[f64]| {
        scope(|| {
            let inputs: Vec<Value> = point.iter().map(|&x| Value::new(x)).collect();
            f(&inputs).data()
        })
    };
    let mut point = at.to_vec();
    let numeric: Vec<f64> = (0..at.len())
        .map(|i| {
            let h = 1e-4 * at[i].abs().max(1.0);
            let mut f_at = |offset: f64| {
                point[i] = at[i] + offset * h;
                let y = eval(&point);
                point[i] = at[i];
                y
            };
            let (m2, m1, p1, p2) = (f_at(-2.0), f_at(-1.0), f_at(1.0), f_at(2.0));
            (m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * h)
        })
        .collect();
    let (worst, max_rel_error) = analytic
        .iter()
        .zip(&numeric)
        .map(|(&a, &n)| relative_error(a, n))
        .enumerate()
        .fold(
            (0, 0.0),
            |best, (i, e)| if e > best.1 { (i, e) } else { best },
        );
    GradCheck {
        analytic,
        numeric,
        max_rel_error,
        worst,
    }
}

fn relative_error(a: f64, n: f64) -> f64 {
    if a == n {
        0.0
    } else if !(a.is_finite() && n.is_finite()) {
        f64::INFINITY
    } else {
        (a - n).abs() / a.abs().max(n.abs()).max(1.0)
    }
}
