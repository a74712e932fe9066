//! `+ - * /`, unary `-`, the compound assignments, `Sum` and `Product`.
//!
//! `+` and `*` are primitives; the rest are micrograd's identities, so the
//! graph of `a - b` or `2.0 / a` is the one micrograd draws:
//!
//! | Rust       | micrograd            | graph                |
//! |------------|----------------------|----------------------|
//! | `-a`       | `a * -1`             | `a * (-1)`           |
//! | `a - b`    | `a + (-b)`           | `a + (b * (-1))`     |
//! | `a / b`    | `a * b**-1`          | `a * (b ** -1)`      |
//! | `a - 2.0`  | `a + (-2)`           | `a + (-2)`           |
//! | `a / 2.0`  | `a * 2**-1`          | `a * 0.5`            |
//! | `2.0 + a`  | `__radd__`: `a + 2`  | `a + 2`              |
//! | `2.0 * a`  | `__rmul__`: `a * 2`  | `a * 2`              |
//! | `2.0 - a`  | `__rsub__`: `-a + 2` | `(a * (-1)) + 2`     |
//! | `2.0 / a`  | `__rtruediv__`       | `(a ** -1) * 2`      |
//!
//! A bare `f64` operand becomes a new leaf, as micrograd wraps it in `Value`;
//! negating or inverting a number happens in Python before it is wrapped.

use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::node::Instr;
use super::tape::{binary, try_with_tape, with_tape};
use super::value::Value;

#[inline]
fn add(a: Value, b: Value) -> Value {
    binary(a, b, Instr::Add)
}

#[inline]
fn mul(a: Value, b: Value) -> Value {
    binary(a, b, Instr::Mul)
}

#[inline]
fn neg(a: Value) -> Value {
    mul(a, Value::new(-1.0)) // a * -1
}

#[inline]
fn sub(a: Value, b: Value) -> Value {
    add(a, neg(b)) // a + (-b)
}

#[inline]
fn div(a: Value, b: Value) -> Value {
    mul(a, b.powf(-1.0)) // a * b**-1
}

/// `k - a`, micrograd's `__rsub__`: `k + (-a)`, evaluated as `(-a) + k`.
#[inline]
fn rsub(k: Value, a: Value) -> Value {
    add(neg(a), k)
}

/// `k / a`, micrograd's `__rtruediv__`: `k * a**-1`, evaluated as `a**-1 * k`.
#[inline]
fn rdiv(k: Value, a: Value) -> Value {
    mul(a.powf(-1.0), k)
}

/// `a - k` with `k` a number: Python negates `k` before wrapping it.
#[inline]
fn sub_number(a: Value, k: f64) -> Value {
    add(a, Value::new(-k))
}

/// `a / k` with `k` a number: Python computes `k**-1` before wrapping it.
#[inline]
fn div_number(a: Value, k: f64) -> Value {
    mul(a, Value::new(k.powf(-1.0)))
}

#[inline]
fn add_number(a: Value, k: f64) -> Value {
    add(a, Value::new(k))
}

#[inline]
fn mul_number(a: Value, k: f64) -> Value {
    mul(a, Value::new(k))
}

/// `k + a` and `k * a` with `k` a number: micrograd's `__radd__`/`__rmul__`
/// put the `Value` first.
#[inline]
fn radd(k: Value, a: Value) -> Value {
    add(a, k)
}

#[inline]
fn rmul(k: Value, a: Value) -> Value {
    mul(a, k)
}

/// Implements `Trait` for every pairing of `Value`, `&Value` and `f64` that
/// involves a `Value`: `$with_value` for two values, `$with_number` for a
/// number on the right, `$number_first` for a number on the left.
macro_rules! binary_op {
    ($Trait:ident, $method:ident, $with_value:ident, $with_number:ident, $number_first:ident) => {
        impl $Trait<Value> for Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: Value) -> Value {
                $with_value(self, rhs)
            }
        }
        impl $Trait<&Value> for Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: &Value) -> Value {
                $with_value(self, *rhs)
            }
        }
        impl $Trait<Value> for &Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: Value) -> Value {
                $with_value(*self, rhs)
            }
        }
        impl $Trait<&Value> for &Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: &Value) -> Value {
                $with_value(*self, *rhs)
            }
        }
        impl $Trait<f64> for Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: f64) -> Value {
                $with_number(self, rhs)
            }
        }
        impl $Trait<f64> for &Value {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: f64) -> Value {
                $with_number(*self, rhs)
            }
        }
        impl $Trait<Value> for f64 {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: Value) -> Value {
                $number_first(Value::new(self), rhs)
            }
        }
        impl $Trait<&Value> for f64 {
            type Output = Value;
            #[inline]
            fn $method(self, rhs: &Value) -> Value {
                $number_first(Value::new(self), *rhs)
            }
        }
    };
}

binary_op!(Add, add, add, add_number, radd);
binary_op!(Sub, sub, sub, sub_number, rsub);
binary_op!(Mul, mul, mul, mul_number, rmul);
binary_op!(Div, div, div, div_number, rdiv);

/// `a += b` is `a = a + b`: a new node, as in Python.
macro_rules! assign_op {
    ($Trait:ident, $method:ident, $op:tt) => {
        impl $Trait<Value> for Value {
            #[inline]
            fn $method(&mut self, rhs: Value) {
                *self = *self $op rhs;
            }
        }
        impl $Trait<&Value> for Value {
            #[inline]
            fn $method(&mut self, rhs: &Value) {
                *self = *self $op *rhs;
            }
        }
        impl $Trait<f64> for Value {
            #[inline]
            fn $method(&mut self, rhs: f64) {
                *self = *self $op rhs;
            }
        }
    };
}

assign_op!(AddAssign, add_assign, +);
assign_op!(SubAssign, sub_assign, -);
assign_op!(MulAssign, mul_assign, *);
assign_op!(DivAssign, div_assign, /);

impl Neg for Value {
    type Output = Value;
    #[inline]
    fn neg(self) -> Value {
        neg(self)
    }
}

impl Neg for &Value {
    type Output = Value;
    #[inline]
    fn neg(self) -> Value {
        neg(*self)
    }
}

/// One `+` node over all the items, summed left to right as Python's
/// `sum`; the constant 0 for an empty iterator.
///
/// # Panics
///
/// If producing an item ends a [`Scope`](crate::Scope) that freed an
/// earlier item.
impl Sum for Value {
    fn sum<I: Iterator<Item = Value>>(iter: I) -> Value {
        /// Forgets this sum's operands if the iterator panics, so that an
        /// enclosing sum never sees them.
        struct Pending(usize);
        impl Drop for Pending {
            fn drop(&mut self) {
                try_with_tape(|t| t.sum_abandon(self.0));
            }
        }
        let pending = Pending(with_tape(|t| t.sum_begin()));
        // The tape is released between items: producing one may build nodes.
        for v in iter {
            with_tape(|t| t.sum_operand(v));
        }
        let sum = with_tape(|t| t.sum_end(pending.0));
        drop(pending);
        sum
    }
}

impl<'a> Sum<&'a Value> for Value {
    #[inline]
    fn sum<I: Iterator<Item = &'a Value>>(iter: I) -> Value {
        iter.copied().sum()
    }
}

/// A chain of `*` nodes, left to right, as Python's `math.prod` would
/// build; the constant 1 for an empty iterator.
impl Product for Value {
    #[inline]
    fn product<I: Iterator<Item = Value>>(mut iter: I) -> Value {
        match iter.next() {
            None => Value::new(1.0),
            Some(first) => iter.fold(first, mul),
        }
    }
}

impl<'a> Product<&'a Value> for Value {
    #[inline]
    fn product<I: Iterator<Item = &'a Value>>(iter: I) -> Value {
        iter.copied().product()
    }
}
