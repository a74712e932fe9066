//! Oracles shared by the tests: finite differences, forward-mode dual
//! numbers, and closeness checks. None of them uses the engine.

#![allow(dead_code)]

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `|actual - expected| <= rel * max(|expected|, tiny)`, with a message
/// naming what was compared.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64, what: &str) {
    let scale = expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        (actual - expected).abs() <= rel * scale,
        "{what}: got {actual:e}, expected {expected:e} (relative tolerance {rel:e})"
    );
}

/// The distance between two doubles in units in the last place.
pub fn ulps_apart(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    key(a).abs_diff(key(b))
}

/// d f/d x_i by the five-point central stencil
/// `(f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h`, error O(h^4).
pub fn finite_difference(f: impl Fn(&[f64]) -> f64, at: &[f64], i: usize) -> f64 {
    let h = 1e-4 * at[i].abs().max(1.0);
    let shifted = |k: f64| {
        let mut x = at.to_vec();
        x[i] += k * h;
        f(&x)
    };
    (shifted(-2.0) - 8.0 * shifted(-1.0) + 8.0 * shifted(1.0) - shifted(2.0)) / (12.0 * h)
}

/// A dual number `v + d·ε` with `ε² = 0`: forward-mode differentiation, an
/// oracle for reverse mode that shares none of its code.
#[derive(Clone, Copy, Debug)]
pub struct Dual {
    pub v: f64,
    pub d: f64,
}

impl Dual {
    pub fn constant(v: f64) -> Dual {
        Dual { v, d: 0.0 }
    }
    pub fn variable(v: f64) -> Dual {
        Dual { v, d: 1.0 }
    }
    pub fn powf(self, k: f64) -> Dual {
        Dual {
            v: self.v.powf(k),
            d: k * self.v.powf(k - 1.0) * self.d,
        }
    }
    pub fn pow(self, e: Dual) -> Dual {
        // d(a^b) = b a^(b-1) da + a^b ln(a) db
        let v = self.v.powf(e.v);
        let from_exponent = if e.d == 0.0 {
            0.0
        } else {
            v * self.v.ln() * e.d
        };
        Dual {
            v,
            d: e.v * self.v.powf(e.v - 1.0) * self.d + from_exponent,
        }
    }
    pub fn relu(self) -> Dual {
        if self.v > 0.0 {
            self
        } else {
            Dual {
                v: if self.v < 0.0 { 0.0 } else { self.v },
                d: 0.0,
            }
        }
    }
    pub fn tanh(self) -> Dual {
        let t = self.v.tanh();
        Dual {
            v: t,
            d: (1.0 - t * t) * self.d,
        }
    }
    pub fn exp(self) -> Dual {
        let e = self.v.exp();
        Dual {
            v: e,
            d: e * self.d,
        }
    }
    pub fn ln(self) -> Dual {
        Dual {
            v: self.v.ln(),
            d: self.d / self.v,
        }
    }
    pub fn sigmoid(self) -> Dual {
        let s = 1.0 / (1.0 + (-self.v).exp());
        Dual {
            v: s,
            d: s * (1.0 - s) * self.d,
        }
    }
}

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}
impl Sub for Dual {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        Dual {
            v: self.v - o.v,
            d: self.d - o.d,
        }
    }
}
impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}
impl Div for Dual {
    type Output = Dual;
    fn div(self, o: Dual) -> Dual {
        Dual {
            v: self.v / o.v,
            d: (self.d * o.v - self.v * o.d) / (o.v * o.v),
        }
    }
}
impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: -self.d,
        }
    }
}

/// JAX's float64 numbers (`tools/reference/second_order.py`).
pub fn second_order_reference() -> serde_json::Value {
    let text = include_str!("../data/second_order.json");
    serde_json::from_str(text).expect("the reference data is JSON")
}

/// `got` within `rel` of `expected`, or within `rel · floor` of it where
/// `expected` is near zero.
#[track_caller]
pub fn near(got: f64, expected: f64, rel: f64, floor: f64, what: &str) {
    assert!(
        (got - expected).abs() <= rel * expected.abs().max(floor),
        "{what}: got {got:e}, JAX {expected:e}"
    );
}
