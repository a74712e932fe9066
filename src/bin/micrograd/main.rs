//! The `micrograd` command-line program.

use micrograd::Value;

fn main() {
    // The lecture's first expression, L = (a*b + c) * f, and its gradients.
    let a = Value::new(2.0).with_label("a");
    let b = Value::new(-3.0).with_label("b");
    let c = Value::new(10.0).with_label("c");
    let e = (a * b).with_label("e");
    let d = (e + c).with_label("d");
    let f = Value::new(-2.0).with_label("f");
    let l = (d * f).with_label("L");
    l.backward();
    for v in [a, b, c, d, e, f, l] {
        println!("{:>2} = {v}", v.label());
    }
}
