//! micrograd's own test suite (test/test_engine.py), in Rust. The expected
//! numbers are exact: the sanity check is integer arithmetic, and the "more
//! ops" expression is rational, g = 2421/98, dg/da = 47620/343,
//! dg/db = 221433/343 (worked out by hand below; micrograd checks the same
//! numbers against PyTorch).

// Written line for line as micrograd's test, `c += c + 1` included.
#![allow(clippy::misrefactored_assign_op)]

mod common;

use common::assert_close;
use micrograd::Value;

#[test]
fn sanity_check() {
    let x = Value::new(-4.0);
    let z = 2.0 * x + 2.0 + x; // -10
    let q = z.relu() + z * x; // 0 + 40
    let h = (z * z).relu(); // 100
    let y = h + q + q * x; // 100 + 40 - 160
    y.backward();
    // y = relu(z²) + relu(z) + z·x + (relu(z) + z·x)·x with z = 3x + 2 < 0:
    // y = z² + z·x + z·x² = (3x+2)² + (3x+2)x + (3x+2)x²
    // dy/dx = 6(3x+2) + (6x+2) + (9x²+4x) = -60 - 22 + 128 = 46 at x = -4.
    assert_eq!(y.data(), -20.0);
    assert_eq!(x.grad(), 46.0);
}

#[test]
fn more_ops() {
    let a = Value::new(-4.0);
    let b = Value::new(2.0);
    let mut c = a + b;
    let mut d = a * b + b.powf(3.0);
    c += c + 1.0;
    c += 1.0 + c + (-a);
    d += d * 2.0 + (b + a).relu();
    d += 3.0 * d + (b - a).relu();
    let e = c - d;
    let f = e.powf(2.0);
    let mut g = f / 2.0;
    g += 10.0 / f;
    g.backward();
    // By hand, with a = -4, b = 2 (so a + b < 0 and b - a > 0):
    //   c = 3a + 4b + 3 = -1
    //   d = 12(ab + b³) + 4·relu(a + b) + relu(b - a) = 0 + 0 + 6 = 6
    //   e = c - d = -7, f = e² = 49, g = f/2 + 10/f = 2421/98
    //   dg/de = (1/2 - 10/f²)·2e = -2381/343
    //   de/da = 3 - (12b - 1) = -20   -> dg/da = 47620/343
    //   de/db = 4 - (12(a + 3b²) + 1) = -93   -> dg/db = 221433/343
    assert_close(g.data(), 2421.0 / 98.0, 1e-12, "g");
    assert_close(a.grad(), 47620.0 / 343.0, 1e-12, "dg/da");
    assert_close(b.grad(), 221433.0 / 343.0, 1e-12, "dg/db");
}
