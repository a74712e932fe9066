//! Freeing a step's graph: everything built inside a [`Scope`] goes when it ends.

use std::marker::PhantomData;

use super::tape::{try_with_tape, with_tape};

/// A guard that frees every node created while it lives, when it is dropped.
///
/// Create parameters first, outside; build each training step's graph inside
/// a scope. The tape keeps its capacity, so after the first step a training
/// loop allocates nothing and its memory stays flat:
///
/// ```
/// use micrograd::{Scope, Value};
/// let w = Value::new(0.5); // persists
/// for _ in 0..3 {
///     let _step = Scope::new();
///     let loss = (w * 3.0 - 1.0).powf(2.0);
///     w.set_grad(0.0);
///     loss.backward();
///     w.set_data(w.data() - 0.05 * w.grad());
/// } // the step's nodes are freed here; `w` and its data stay
/// assert!((w.data() - 1.0 / 3.0).abs() < 0.2);
/// ```
///
/// A [`Value`](crate::Value) made inside a scope must not be used after it
/// ends: that panics with a message saying so, and never reads the node that
/// took its place. Scopes nest: ending one ends every scope opened inside
/// it, and a scope so ended does nothing when it is dropped.
#[must_use = "a Scope frees its nodes when dropped: bind it with `let _step = Scope::new();`"]
pub struct Scope {
    id: u64,
    _not_send: PhantomData<*const ()>,
}

impl Scope {
    /// Opens a scope at the current end of this thread's tape.
    pub fn new() -> Scope {
        Scope {
            id: with_tape(|t| t.open_scope()),
            _not_send: PhantomData,
        }
    }
}

impl Default for Scope {
    fn default() -> Scope {
        Scope::new()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        try_with_tape(|t| t.close_scope(self.id));
    }
}

/// Runs `f` inside a [`Scope`]: every node it creates is freed when it
/// returns, so it should return plain numbers, not `Value`s.
///
/// ```
/// use micrograd::{scope, Value};
/// let x = Value::new(3.0);
/// let slope = scope(|| {
///     let y = x * x;
///     y.backward();
///     x.grad()
/// });
/// assert_eq!(slope, 6.0);
/// ```
pub fn scope<R>(f: impl FnOnce() -> R) -> R {
    let _scope = Scope::new();
    f()
}
