//! Numbers printed the way Python's `repr(float)` prints them, so that a
//! `Value` prints as micrograd's does: `3.0`, `1e-05`, `1e+16`, `nan`.

use std::fmt;

/// Formats an `f64` as Python's `repr`: the shortest digits that read back
/// to the same number (Rust and Python agree on these), with Python's
/// spelling of exponents and non-finite values.
pub(crate) struct PyFloat(pub(crate) f64);

impl fmt::Display for PyFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            return f.write_str("nan");
        }
        if x.is_infinite() {
            return f.write_str(if x > 0.0 { "inf" } else { "-inf" });
        }
        // Rust's Debug switches to scientific notation at the same
        // thresholds as Python (exponent < -4 or >= 16) but writes `1e-5`
        // and `1e16` where Python writes `1e-05` and `1e+16`.
        let digits = format!("{x:?}");
        match digits.split_once('e') {
            None => f.write_str(&digits),
            Some((mantissa, exponent)) => {
                let (sign, magnitude) = match exponent.strip_prefix('-') {
                    Some(m) => ('-', m),
                    None => ('+', exponent),
                };
                write!(f, "{mantissa}e{sign}{magnitude:0>2}")
            }
        }
    }
}
