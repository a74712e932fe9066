//! Every primitive's forward value and local derivative, side by side.
//!
//! `backward` is one exhaustive `match`: a new [`Instr`] does not compile
//! until it has a gradient rule here. Where micrograd (or the lecture's
//! version of it) defines an op, the arithmetic is written exactly as there,
//! operand for operand, so results agree bit for bit; where it does not, the
//! rule follows PyTorch's derivatives.yaml.

use super::math;
use super::op::Instr;
use super::tape::Node;

/// The forward value of `instr`, whose operands already exist. Inlined into
/// each constructor, where the `match` folds away.
#[inline(always)]
pub(crate) fn forward(instr: Instr, nodes: &[Node], edges: &[u32]) -> f64 {
    let x = |i: u32| nodes[i as usize].data;
    match instr {
        Instr::Leaf => unreachable!("leaves are created with their data"),
        Instr::Add(a, b) => x(a) + x(b),
        Instr::Mul(a, b) => x(a) * x(b),
        Instr::Powf(a, k) => x(a).powf(x(k)),
        Instr::Pow(a, b) => x(a).powf(x(b)),
        Instr::Relu(a) => math::relu(x(a)),
        Instr::Tanh(a) => math::tanh(x(a)),
        Instr::Exp(a) => x(a).exp(),
        Instr::Ln(a) => x(a).ln(),
        Instr::Sigmoid(a) => math::sigmoid(x(a)),
        // Left to right, as Python's `sum`.
        Instr::Sum { start, len } => sum(nodes, operands(edges, start, len)),
        // micrograd's Neuron: `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`.
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            affine(nodes, b, w, x)
        }
    }
}

// The loops of the n-ary instructions stay out of line so that their
// accumulator lives in a register rather than on the caller's stack.
#[inline(never)]
fn sum(nodes: &[Node], operands: &[u32]) -> f64 {
    operands
        .iter()
        .fold(0.0, |acc, &c| acc + nodes[c as usize].data)
}

#[inline(never)]
fn affine(nodes: &[Node], b: u32, w: &[u32], x: &[u32]) -> f64 {
    let data = |i: u32| nodes[i as usize].data;
    w.iter()
        .zip(x)
        .fold(data(b), |acc, (&wi, &xi)| acc + data(wi) * data(xi))
}

/// Where `backward` sends each local contribution d(root)/d(child).
pub(crate) trait GradSink {
    fn add(&mut self, nodes: &mut [Node], child: u32, contribution: f64);
}

/// Applies node `i`'s local gradient rule: each operand receives
/// `local derivative × i's gradient`, as micrograd's `_backward`.
#[inline]
pub(crate) fn backward(i: usize, nodes: &mut [Node], edges: &[u32], sink: &mut impl GradSink) {
    let Node {
        data: out,
        grad: g,
        instr,
        ..
    } = nodes[i];
    let x = |nodes: &[Node], i: u32| nodes[i as usize].data;
    match instr {
        Instr::Leaf => {}
        // d(a+b)/da = d(a+b)/db = 1
        Instr::Add(a, b) => {
            sink.add(nodes, a, g);
            sink.add(nodes, b, g);
        }
        // d(ab)/da = b, d(ab)/db = a
        Instr::Mul(a, b) => {
            let (da, db) = (x(nodes, b) * g, x(nodes, a) * g);
            sink.add(nodes, a, da);
            sink.add(nodes, b, db);
        }
        // d(a^k)/da = k·a^(k-1), and 0 for k = 0 (PyTorch's pow_backward;
        // 0·0^-1 would be NaN); the exponent is a constant and gets nothing.
        Instr::Powf(a, k) => {
            let k = x(nodes, k);
            let da = if k == 0.0 {
                0.0
            } else {
                (k * x(nodes, a).powf(k - 1.0)) * g
            };
            sink.add(nodes, a, da);
        }
        // d(a^b)/da = b·a^(b-1), 0 for b = 0 (PyTorch's pow_backward_self);
        // d(a^b)/db = a^b·ln(a), 0 where a = 0 and b >= 0
        // (pow_backward_exponent).
        Instr::Pow(a, b) => {
            let (base, exponent) = (x(nodes, a), x(nodes, b));
            let da = if exponent == 0.0 {
                0.0
            } else {
                (exponent * base.powf(exponent - 1.0)) * g
            };
            let db = if base == 0.0 && exponent >= 0.0 {
                0.0
            } else {
                (out * base.ln()) * g
            };
            sink.add(nodes, a, da);
            sink.add(nodes, b, db);
        }
        // d relu(a)/da = 1 if relu(a) > 0 else 0 (micrograd: `(out.data > 0) * out.grad`).
        Instr::Relu(a) => sink.add(nodes, a, f64::from(u8::from(out > 0.0)) * g),
        // d tanh(a)/da = 1 - tanh²(a) (the lecture: `(1 - t**2) * out.grad`).
        Instr::Tanh(a) => sink.add(nodes, a, (1.0 - out * out) * g),
        // d e^a/da = e^a (the lecture: `out.data * out.grad`).
        Instr::Exp(a) => sink.add(nodes, a, out * g),
        // d ln(a)/da = 1/a (PyTorch: `grad / self`).
        Instr::Ln(a) => {
            let da = g / x(nodes, a);
            sink.add(nodes, a, da);
        }
        // d σ(a)/da = σ(a)(1 - σ(a)) (PyTorch: `grad * (1 - out) * out`).
        Instr::Sigmoid(a) => sink.add(nodes, a, g * (1.0 - out) * out),
        // d(Σ cᵢ)/dcᵢ = 1
        Instr::Sum { start, len } => {
            for &c in operands(edges, start, len) {
                sink.add(nodes, c, g);
            }
        }
        // d(b + Σ wᵢxᵢ)/db = 1, /dwᵢ = xᵢ, /dxᵢ = wᵢ: micrograd's chain of `+`
        // passes g unchanged to each product, whose `*` rule gives these.
        Instr::Affine { start, len } => {
            let (b, w, xs) = affine_operands(edges, start, len);
            sink.add(nodes, b, g);
            for (&wi, &xi) in w.iter().zip(xs) {
                let (dw, dx) = (x(nodes, xi) * g, x(nodes, wi) * g);
                sink.add(nodes, wi, dw);
                sink.add(nodes, xi, dx);
            }
        }
    }
}

/// Calls `f` with each operand of `instr` that is part of the graph (a
/// `Powf`'s hidden exponent is not), in order.
#[inline]
pub(crate) fn for_each_operand(instr: Instr, edges: &[u32], mut f: impl FnMut(u32)) {
    match instr {
        Instr::Leaf => {}
        Instr::Add(a, b) | Instr::Mul(a, b) | Instr::Pow(a, b) => {
            f(a);
            f(b);
        }
        Instr::Powf(a, _)
        | Instr::Relu(a)
        | Instr::Tanh(a)
        | Instr::Exp(a)
        | Instr::Ln(a)
        | Instr::Sigmoid(a) => f(a),
        Instr::Sum { start, len } => {
            operands(edges, start, len).iter().for_each(|&c| f(c));
        }
        Instr::Affine { start, len } => {
            let (b, w, x) = affine_operands(edges, start, len);
            f(b);
            w.iter().chain(x).for_each(|&c| f(c));
        }
    }
}

/// A `Sum` node's operands (ranges in usize: no u32 overflow).
#[inline]
fn operands(edges: &[u32], start: u32, len: u32) -> &[u32] {
    &edges[start as usize..start as usize + len as usize]
}

/// An `Affine` node's operands: its bias, weights and inputs.
#[inline]
fn affine_operands(edges: &[u32], start: u32, len: u32) -> (u32, &[u32], &[u32]) {
    let (start, len) = (start as usize, len as usize);
    let (w, x) = edges[start + 1..start + 1 + 2 * len].split_at(len);
    (edges[start], w, x)
}
