//! Every primitive's forward value and local derivative, side by side: the
//! part of micrograd's `engine.py` that is math. How a rule reaches one
//! number or a batch's lanes is `forward.rs` and `backward.rs`; a layer
//! over a batch is `dense.rs`.
//!
//! A rule is `value` (the forward number, `out = f(x)`) and `grad` (what the
//! operand receives, micrograd's `self.grad += f'(x) * out.grad`, given `x`,
//! `out` and `g = out.grad`). Where micrograd (or the lecture) defines an
//! op, the arithmetic is written as there, operand for operand, so results
//! agree bit for bit; where it does not, it follows PyTorch's
//! derivatives.yaml.
//!
//! Each derivative is written once, over a [`Number`]: `backward` runs it on
//! `f64`, for single values and lane by lane; `gradient_graph.rs` runs the
//! same formulas on [`Value`](super::value::Value)s, as graph nodes
//! (gradients that are Values, so second derivatives); `forward_mode.rs`
//! runs them with a tangent in place of `g`. Every `grad` is linear in `g`,
//! which is what makes that last use right: `grad(x, out, ẋ)` is `f'(x)·ẋ`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::math;
use super::op::Op;

/// What a derivative is computed with: `f64` for `backward`'s sweep.
pub(crate) trait Number:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Functions
{
    /// A constant.
    fn constant(x: f64) -> Self;
    /// `f(self)`, but 0 where `zero(self, other)` holds: the points where
    /// a formula is not finite and PyTorch defines the derivative as 0
    /// (`0·a^-1`, `a^b·ln 0`). `zero(x, _)` holds only where `x` is 0, and
    /// `f` never sees such a point: a batch's lanes there are evaluated at
    /// 1 and then multiplied by 0, so no `0·∞` reaches the other lanes.
    fn zero_where(
        self,
        other: Self,
        zero: fn(f64, f64) -> bool,
        f: impl FnOnce(Self) -> Self,
    ) -> Self;
    /// `self ** k` for a constant `k`.
    fn powf(self, k: f64) -> Self;
    /// `self ** e`.
    fn pow(self, e: Self) -> Self;
}

impl Number for f64 {
    #[inline(always)]
    fn constant(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn zero_where(self, other: f64, zero: fn(f64, f64) -> bool, f: impl FnOnce(f64) -> f64) -> f64 {
        if zero(self, other) { 0.0 } else { f(self) }
    }
    #[inline(always)]
    fn powf(self, k: f64) -> f64 {
        f64::powf(self, k)
    }
    #[inline(always)]
    fn pow(self, e: f64) -> f64 {
        f64::powf(self, e)
    }
}

/// How a rule is used: `value` and `grad` go to a kernel that computes a
/// node's number, its lanes, or what its operand receives.
pub(crate) trait Apply<N> {
    type Out;
    fn rule(self, value: impl Fn(f64) -> f64, grad: impl Fn(N, N, N) -> N) -> Self::Out;
}

/// The same for a two-operand rule: `grad(x, y, out, g) = (to x, to y)`.
pub(crate) trait Apply2<N> {
    type Out;
    fn rule(
        self,
        value: impl Fn(f64, f64) -> f64,
        grad: impl Fn(N, N, N, N) -> (N, N),
    ) -> Self::Out;
}

/// A one-operand rule's numbers: the operand, the node, and its gradient
/// (or, in forward mode, the operand's tangent). Numbers, not references:
/// a struct of references to `backward`'s state would make that state
/// escape, and its loop reload it.
#[derive(Clone, Copy)]
pub(crate) struct Local<N> {
    pub(crate) x: N,
    pub(crate) out: N,
    pub(crate) g: N,
}

impl<N: Number> Apply<N> for Local<N> {
    type Out = N;
    #[inline(always)]
    fn rule(self, _: impl Fn(f64) -> f64, grad: impl Fn(N, N, N) -> N) -> N {
        grad(self.x, self.out, self.g)
    }
}

/// A two-operand rule's numbers: the operands, the node, its gradient.
#[derive(Clone, Copy)]
pub(crate) struct Local2<N> {
    pub(crate) x: N,
    pub(crate) y: N,
    pub(crate) out: N,
    pub(crate) g: N,
}

impl<N: Number> Apply2<N> for Local2<N> {
    type Out = (N, N);
    #[inline(always)]
    fn rule(self, _: impl Fn(f64, f64) -> f64, grad: impl Fn(N, N, N, N) -> (N, N)) -> (N, N) {
        grad(self.x, self.y, self.out, self.g)
    }
}

/// The elementwise primitives, one line each: `Variant method = value,
/// grad`, the variant named as its [`Op`]. From this table come the
/// [`Unary`] enum and its [`Op`] (whose name the expression parser takes),
/// the [`Functions`] a [`Number`] has, and [`unary`], the one `match` over
/// them.
macro_rules! elementwise {
    ($($(#[$doc:meta])* $Variant:ident $method:ident = $value:expr, $grad:expr;)*) => {
        /// An elementwise primitive, `out = f(x)`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Unary {
            $($(#[$doc])* $Variant,)*
        }

        impl Unary {
            /// Every one, in the table's order.
            pub(crate) const ALL: &[Unary] = &[$(Unary::$Variant),*];
        }

        impl From<Unary> for Op {
            fn from(op: Unary) -> Op {
                match op {
                    $(Unary::$Variant => Op::$Variant,)*
                }
            }
        }

        /// The elementwise primitives as methods of a [`Number`], for the
        /// derivatives that use them (each one, for those to come): a
        /// number type gives `apply`, the table gives the rest.
        #[allow(dead_code)]
        pub(crate) trait Functions: Sized {
            /// `op(self)`.
            fn apply(self, op: Unary) -> Self;
            $(#[inline(always)] fn $method(self) -> Self { self.apply(Unary::$Variant) })*
        }

        impl Functions for f64 {
            #[inline(always)]
            fn apply(self, op: Unary) -> f64 {
                match op {
                    $(Unary::$Variant => ($value)(self),)*
                }
            }
        }

        /// `op`'s rule, given to `apply`.
        #[inline(always)]
        pub(crate) fn unary<N: Number, A: Apply<N>>(op: Unary, apply: A) -> A::Out {
            match op {
                $(Unary::$Variant => apply.rule($value, $grad),)*
            }
        }
    };
}

elementwise! {
    /// The lecture's tanh, `(e^2x - 1)/(e^2x + 1)`; `self.grad += (1 - t**2) * out.grad`.
    Tanh tanh = math::tanh, |_, out: N, g| (N::constant(1.0) - out * out) * g;
    /// The lecture's exp; `self.grad += out.data * out.grad`.
    Exp exp = f64::exp, |_, out: N, g| out * g;
    /// The natural logarithm; PyTorch: `grad / self`.
    Ln ln = f64::ln, |x: N, _, g| g / x;
    /// micrograd's ReLU, `0 if x < 0 else x`; `self.grad += (out.data > 0) * out.grad`.
    Relu relu = math::relu, |_, out: N, g| out.step() * g;
    /// The unit step, `1 if x > 0 else 0`: ReLU's derivative, so that it is
    /// a node of a gradient graph; its own derivative is 0 (at 0 too, as
    /// PyTorch's relu has no second derivative there).
    Step step = math::step, |_, _, _| N::constant(0.0);
    /// `1 / (1 + e^-x)`; PyTorch: `grad * (1 - out) * out`.
    Sigmoid sigmoid = math::sigmoid, |_, out: N, g| g * (N::constant(1.0) - out) * out;
    /// `ln(1 + e^x)`; d/dx = σ(x) (PyTorch's softplus_backward: `grad * z / (z + 1)`, z = e^x).
    Softplus softplus = math::softplus, |x: N, _, g| g * x.sigmoid();
    /// d sin(x)/dx = cos(x).
    Sin sin = f64::sin, |x: N, _, g| x.cos() * g;
    /// d cos(x)/dx = -sin(x).
    Cos cos = f64::cos, |x: N, _, g: N| -x.sin() * g;
}

/// `x ** k` for a constant `k`: d/dx = k·x^(k-1), and 0 for k = 0
/// (PyTorch's pow_backward; 0·0^-1 would be NaN). micrograd: `self.grad +=
/// (other * self.data**(other-1)) * out.grad`.
#[inline(always)]
pub(crate) fn powf<N: Number, A: Apply<N>>(k: f64, apply: A) -> A::Out {
    apply.rule(
        move |x| x.powf(k),
        move |x: N, _, g| {
            if k == 0.0 {
                N::constant(0.0)
            } else {
                (N::constant(k) * x.powf(k - 1.0)) * g
            }
        },
    )
}

/// A primitive of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Mul,
    Pow,
}

/// `op`'s rule, given to `apply`.
#[inline(always)]
pub(crate) fn binary<N: Number, A: Apply2<N>>(op: Binary, apply: A) -> A::Out {
    match op {
        // micrograd: `self.grad += out.grad; other.grad += out.grad`
        Binary::Add => apply.rule(|x, y| x + y, |_, _, _, g| (g, g)),
        // micrograd: `self.grad += other.data * out.grad; other.grad += self.data * out.grad`
        Binary::Mul => apply.rule(|x, y| x * y, mul_grad),
        // d(a^b)/da = b·a^(b-1), 0 for b = 0 (PyTorch's pow_backward_self);
        // d(a^b)/db = a^b·ln(a), 0 where a = 0 and b >= 0 (pow_backward_exponent).
        Binary::Pow => apply.rule(f64::powf, |a: N, b: N, out: N, g| {
            let da = b.zero_where(
                a,
                |b, _| b == 0.0,
                |b| (b * a.pow(b - N::constant(1.0))) * g,
            );
            let db = a.zero_where(b, |a, b| a == 0.0 && b >= 0.0, |a| (out * a.ln()) * g);
            (da, db)
        }),
    }
}

/// d(xy)/dx = y, d(xy)/dy = x: the `*` rule, which the fused nodes
/// (a neuron's `b + Σ wᵢ·xᵢ`, `Σ cᵢ·cᵢ`) give each of their products, as
/// micrograd's chain of `+` passes the gradient unchanged to each `*` node.
#[inline(always)]
pub(crate) fn mul_grad<N: Number>(x: N, y: N, _out: N, g: N) -> (N, N) {
    (times(y, g), times(x, g))
}

/// What one factor of a product receives: the other factor times `g`
/// (`mul_grad` for one side, where only that side is wanted).
#[inline(always)]
pub(crate) fn times<N: Number>(other: N, g: N) -> N {
    other * g
}
