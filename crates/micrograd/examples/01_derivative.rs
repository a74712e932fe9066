//! 01: what a derivative is, measured by nudging.
//!
//! The lecture starts without any autograd: f(x) = 3x² - 4x + 5, and its
//! slope at a point is (f(x + h) - f(x)) / h for a tiny h.
//!
//! Run: `cargo run --example 01_derivative`

fn f(x: f64) -> f64 {
    3.0 * x * x - 4.0 * x + 5.0
}

fn main() {
    println!("f(3.0) = {}", f(3.0)); // 20

    let h = 0.0001;
    for x in [3.0, -3.0, 2.0 / 3.0] {
        let slope = (f(x + h) - f(x)) / h;
        // By hand: f'(x) = 6x - 4.
        println!(
            "x = {x:>7.4}: slope by nudging {slope:>10.5}, by calculus {:>8.4}",
            6.0 * x - 4.0
        );
    }

    // More inputs: d = a*b + c. Nudge each input in turn and watch d.
    let (a, b, c) = (2.0, -3.0, 10.0);
    let d = |a: f64, b: f64, c: f64| a * b + c;
    let d1 = d(a, b, c);
    println!("\nd = a*b + c = {d1}");
    for (name, d2) in [
        ("a", d(a + h, b, c)),
        ("b", d(a, b + h, c)),
        ("c", d(a, b, c + h)),
    ] {
        // By hand: dd/da = b = -3, dd/db = a = 2, dd/dc = 1.
        println!("dd/d{name} ≈ {:.4}", (d2 - d1) / h);
    }
}
