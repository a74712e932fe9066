//! Random expression DAGs, with shared subexpressions, differentiated by the
//! engine (reverse mode) and by dual numbers (forward mode, in
//! tests/common): the two share no code, and must agree on every gradient.

mod common;

use common::Dual;
use micrograd::{Scope, Value};
use proptest::prelude::*;

/// One node of a random graph. Operand numbers pick among the nodes built
/// so far (modulo their count), so any node may be used many times.
#[derive(Clone, Debug)]
enum Step {
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    /// a / (b² + 0.5): division away from zero.
    Div(usize, usize),
    Neg(usize),
    Tanh(usize),
    Sigmoid(usize),
    Relu(usize),
    Exp(usize),
    /// ln(a² + 0.5)
    Ln(usize),
    /// a^k for an integer k, or (a² + 0.5)^k for any k.
    Powf(usize, f64),
    /// (a² + 0.5)^tanh(b)
    Pow(usize, usize),
    /// Number on the left: k - a, k / (a² + 0.5), k * a.
    NumberFirst(usize, f64),
    Sum(Vec<usize>),
    Affine(Vec<(usize, usize)>, usize),
}

fn step() -> impl Strategy<Value = Step> {
    let i = any::<usize>();
    prop_oneof![
        (i, i).prop_map(|(a, b)| Step::Add(a, b)),
        (i, i).prop_map(|(a, b)| Step::Sub(a, b)),
        (i, i).prop_map(|(a, b)| Step::Mul(a, b)),
        (i, i).prop_map(|(a, b)| Step::Div(a, b)),
        i.prop_map(Step::Neg),
        i.prop_map(Step::Tanh),
        i.prop_map(Step::Sigmoid),
        i.prop_map(Step::Relu),
        i.prop_map(Step::Exp),
        i.prop_map(Step::Ln),
        (
            i,
            prop::sample::select(vec![2.0, 3.0, -1.0, 0.5, -1.5, 1.25])
        )
            .prop_map(|(a, k)| Step::Powf(a, k)),
        (i, i).prop_map(|(a, b)| Step::Pow(a, b)),
        (i, -3.0..3.0f64).prop_map(|(a, k)| Step::NumberFirst(a, k)),
        prop::collection::vec(i, 1..6).prop_map(Step::Sum),
        (prop::collection::vec((i, i), 1..5), i).prop_map(|(pairs, b)| Step::Affine(pairs, b)),
    ]
}

/// Builds the graph over any number type: the engine's `Value` and `Dual`.
trait Num: Copy {
    fn num(x: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn tanh(self) -> Self;
    fn sigmoid(self) -> Self;
    fn relu(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn powf(self, k: f64) -> Self;
    fn pow(self, e: Self) -> Self;
}

impl Num for Value {
    fn num(x: f64) -> Self {
        Value::new(x)
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn sub(self, o: Self) -> Self {
        self - o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn div(self, o: Self) -> Self {
        self / o
    }
    fn neg(self) -> Self {
        -self
    }
    fn tanh(self) -> Self {
        Value::tanh(self)
    }
    fn sigmoid(self) -> Self {
        Value::sigmoid(self)
    }
    fn relu(self) -> Self {
        Value::relu(self)
    }
    fn exp(self) -> Self {
        Value::exp(self)
    }
    fn ln(self) -> Self {
        Value::ln(self)
    }
    fn powf(self, k: f64) -> Self {
        Value::powf(self, k)
    }
    fn pow(self, e: Self) -> Self {
        Value::pow(self, e)
    }
}

impl Num for Dual {
    fn num(x: f64) -> Self {
        Dual::constant(x)
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn sub(self, o: Self) -> Self {
        self - o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn div(self, o: Self) -> Self {
        self / o
    }
    fn neg(self) -> Self {
        -self
    }
    fn tanh(self) -> Self {
        Dual::tanh(self)
    }
    fn sigmoid(self) -> Self {
        Dual::sigmoid(self)
    }
    fn relu(self) -> Self {
        Dual::relu(self)
    }
    fn exp(self) -> Self {
        Dual::exp(self)
    }
    fn ln(self) -> Self {
        Dual::ln(self)
    }
    fn powf(self, k: f64) -> Self {
        Dual::powf(self, k)
    }
    fn pow(self, e: Self) -> Self {
        Dual::pow(self, e)
    }
}

/// Evaluates the steps over `inputs`; returns every node (the root last).
fn build<N: Num>(
    inputs: &[N],
    steps: &[Step],
    affine: impl Fn(&[N], &[N], N) -> N,
    sum: impl Fn(&[N]) -> N,
) -> Vec<N> {
    let mut nodes: Vec<N> = inputs.to_vec();
    for step in steps {
        let n = nodes.len();
        let at = |i: usize| nodes[i % n];
        let positive = |x: N| x.mul(x).add(N::num(0.5));
        let next = match step {
            Step::Add(a, b) => at(*a).add(at(*b)),
            Step::Sub(a, b) => at(*a).sub(at(*b)),
            Step::Mul(a, b) => at(*a).mul(at(*b)),
            Step::Div(a, b) => at(*a).div(positive(at(*b))),
            Step::Neg(a) => at(*a).neg(),
            Step::Tanh(a) => at(*a).tanh(),
            Step::Sigmoid(a) => at(*a).sigmoid(),
            Step::Relu(a) => at(*a).relu(),
            Step::Exp(a) => at(*a).exp(),
            Step::Ln(a) => positive(at(*a)).ln(),
            Step::Powf(a, k) if k.fract() == 0.0 && *k > 0.0 => at(*a).powf(*k),
            Step::Powf(a, k) => positive(at(*a)).powf(*k),
            Step::Pow(a, b) => positive(at(*a)).pow(at(*b).tanh()),
            Step::NumberFirst(a, k) => match (*a / 7) % 3 {
                0 => N::num(*k).sub(at(*a)),
                1 => N::num(*k).div(positive(at(*a))),
                _ => N::num(*k).mul(at(*a)),
            },
            Step::Sum(items) => sum(&items.iter().map(|&i| at(i)).collect::<Vec<N>>()),
            Step::Affine(pairs, b) => {
                let w: Vec<N> = pairs.iter().map(|&(w, _)| at(w)).collect();
                let x: Vec<N> = pairs.iter().map(|&(_, x)| at(x)).collect();
                affine(&w, &x, at(*b))
            }
        };
        nodes.push(next);
    }
    nodes
}

fn dual_sum(items: &[Dual]) -> Dual {
    items.iter().fold(Dual::constant(0.0), |s, &x| s + x)
}

fn dual_affine(w: &[Dual], x: &[Dual], b: Dual) -> Dual {
    w.iter().zip(x).fold(b, |s, (&wi, &xi)| s + wi * xi)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reverse_mode_agrees_with_forward_mode(
        inputs in prop::collection::vec(-2.0..2.0f64, 1..5),
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let _scope = Scope::new();
        let leaves: Vec<Value> = inputs.iter().map(|&x| Value::new(x)).collect();
        let nodes = build(&leaves, &steps, Value::affine, |xs: &[Value]| xs.iter().sum());
        let root = *nodes.last().unwrap();
        // Keep to graphs whose values stay in a range where both modes are
        // well conditioned; exp of exp can overflow.
        prop_assume!(nodes.iter().all(|v| v.data().is_finite() && v.data().abs() < 1e8));
        root.backward();

        for (k, leaf) in leaves.iter().enumerate() {
            let seeded: Vec<Dual> = inputs
                .iter()
                .enumerate()
                .map(|(i, &x)| if i == k { Dual::variable(x) } else { Dual::constant(x) })
                .collect();
            let duals = build(&seeded, &steps, dual_affine, dual_sum);
            let forward = duals.last().unwrap();
            prop_assert!((forward.v - root.data()).abs() <= 1e-12 * forward.v.abs().max(1.0),
                "value: dual {} engine {}", forward.v, root.data());
            prop_assume!(forward.d.is_finite() && forward.d.abs() < 1e8);
            let reverse = leaf.grad();
            prop_assert!(
                (reverse - forward.d).abs() <= 1e-9 * forward.d.abs().max(1.0),
                "d root/d x{k}: reverse mode {reverse}, forward mode {}", forward.d
            );
        }
    }
}
