//! Gradients that are Values: d(root)/d(x) as new nodes of the same graph,
//! PyTorch's `torch.autograd.grad(root, xs, create_graph=True)`, so that
//! they can be printed, drawn, used in a loss and differentiated again.
//!
//! They are built by the rules `backward` runs on numbers (`rules.rs`), run
//! here on [`Value`]s: `impl Number for Value`. First and higher order use
//! one formula per op, and a new op needs nothing here. The sweep is
//! `backward`'s: from the root down, each node's gradient complete when it
//! is reached. A node's contributions are kept as terms until then and
//! made one node (a product, a `Sum`, or one `Affine`), added in
//! `backward`'s order, so a gradient's number equals the one `backward`
//! gives (to the bit, except where an identity differs: `g / x` is
//! `g * x**-1` here, as micrograd divides; and a layer over a batch, whose
//! inputs' gradients are a `dense` node here, summed over the neurons from
//! the first, where `backward`'s kernel sums from the last (both multiply
//! then add, no fused multiply-add): on the demo's batch, 27 of its 337
//! gradients differ from `backward`'s in the last bits, by at most 1.7e-15
//! relative).
//!
//! A layer over a batch is differentiated as a layer: what its inputs
//! receive is one `dense` product with the transposed weights, and its
//! weights one block of `Σₙ g[j][n]·x[k][n]` (`lane_dot.rs`: each
//! product's `*` rule, summed over the lanes).

use std::cell::RefCell;

use super::dense::DenseOperands;
use super::lane_dot::LaneDots;
use super::lane_slab::SINGLE;
use super::node::{Instr, Node, affine_operands, operands, run};
use super::rules::{self, Binary, Functions, Local, Local2, Number, Unary, times};
use super::tape::{Tape, with_tape};
use super::value::Value;

impl Number for Value {
    fn constant(x: f64) -> Value {
        Value::new(x)
    }

    fn zero_where(
        self,
        other: Value,
        zero: fn(f64, f64) -> bool,
        f: impl FnOnce(Value) -> Value,
    ) -> Value {
        let (xs, others) = (lanes_of(self), lanes_of(other));
        if xs.len() == 1 && others.len() == 1 {
            return if zero(xs[0], others[0]) {
                Value::new(0.0)
            } else {
                f(self)
            };
        }
        let width = xs.len().max(others.len());
        let at = |lanes: &[f64], n: usize| lanes[if lanes.len() == 1 { 0 } else { n }];
        let zeros: Vec<f64> = (0..width)
            .map(|n| f64::from(u8::from(zero(at(&xs, n), at(&others, n)))))
            .collect();
        if zeros.iter().all(|&z| z == 0.0) {
            f(self)
        } else if zeros.iter().all(|&z| z == 1.0) {
            Value::new(0.0)
        } else {
            // `self` is 0 in those lanes, so `self + zeros` is 1 there and
            // itself elsewhere; `keep` is 0 there and 1 elsewhere.
            let keep: Vec<f64> = zeros.iter().map(|z| 1.0 - z).collect();
            f(self + Value::batch(&zeros)) * Value::batch(&keep)
        }
    }

    fn powf(self, k: f64) -> Value {
        Value::powf(self, k)
    }

    fn pow(self, e: Value) -> Value {
        Value::pow(self, e)
    }
}

impl Functions for Value {
    fn apply(self, op: Unary) -> Value {
        self.unary(op)
    }
}

/// A value's numbers: its one number, or its lanes.
fn lanes_of(v: Value) -> Vec<f64> {
    if v.is_batch() {
        v.data_lanes()
    } else {
        vec![v.data()]
    }
}

impl Value {
    /// d(self)/d(x) for each `x` of `wrt`, in that order, as new `Value`s
    /// of the same graph: PyTorch's `torch.autograd.grad(self, wrt,
    /// create_graph=True)`. Their numbers are what
    /// [`backward`](Value::backward) would put in each `x.grad()`, but they
    /// are nodes: print them, draw them with `draw_dot`, use them in a loss
    /// (a gradient penalty), or differentiate them again, to any order.
    ///
    /// The lecture's f(x) = 3x² - 4x + 5: f'(x) = 6x - 4 and f''(x) = 6.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(3.0);
    /// let f = 3.0 * x.powf(2.0) - 4.0 * x + 5.0;
    /// let df = f.gradients(&[x])[0];
    /// assert_eq!(df.data(), 6.0 * 3.0 - 4.0);
    /// let d2f = df.gradients(&[x])[0];
    /// assert_eq!(d2f.data(), 6.0);
    /// ```
    ///
    /// A value `self` does not depend on gets a constant 0 (a batch of
    /// zeros for a batch). A batch `self` is differentiated as `backward`
    /// does, as the sum of its lanes. Nothing is written into any `grad`:
    /// [`zero_grad`](crate::nn::Module::zero_grad) and `backward` do not
    /// touch gradient graphs, and a gradient graph's nodes live in the
    /// [`Scope`](crate::Scope) they were built in, freed with it, as every
    /// node. Only the nodes between `self` and `wrt` are visited, and only
    /// what reaches some `x` of `wrt` gets a gradient.
    pub fn gradients(self, wrt: &[Value]) -> Vec<Value> {
        let mut out = Vec::with_capacity(wrt.len());
        self.gradients_into(wrt, &mut out);
        out
    }

    /// [`gradients`](Value::gradients), appended to `out`: a training loop
    /// that reuses `out` allocates nothing after its first step.
    pub fn gradients_into(self, wrt: &[Value], out: &mut Vec<Value>) {
        sweep(&[self], None, wrt, out);
    }

    /// The Hessian-vector product H·v, where H is the matrix of second
    /// derivatives ∂²self/∂xᵢ∂xⱼ over `wrt`: for each `xᵢ`, `Σⱼ
    /// ∂²self/∂xᵢ∂xⱼ · v[j]`, as `Value`s (JAX's `hvp`). It is the
    /// derivative of the gradient along `v`: how fast the slope changes in
    /// that direction, the curvature that says how large a step can be.
    ///
    /// Reverse over reverse: the gradient graph of `Σⱼ v[j]·∂self/∂xⱼ`. JAX
    /// prefers forward over reverse, which saves memory when forward mode
    /// is a transformation of the same program; here both would build a
    /// graph of the same size, and this one is made of the same nodes as
    /// every gradient, so the result is a graph too: differentiate it
    /// again, draw it, or add it to a loss. One gradient graph and one
    /// more sweep, whatever the number of inputs (a full
    /// [`hessian`](Value::hessian) needs one per input).
    ///
    /// ```
    /// use micrograd::Value;
    /// // f = x²y: H = [[2y, 2x], [2x, 0]]
    /// let (x, y) = (Value::new(3.0), Value::new(2.0));
    /// let f = x * x * y;
    /// let hv = f.hvp(&[x, y], &[1.0, -1.0]);
    /// assert_eq!(hv[0].data(), 2.0 * 2.0 * 1.0 + 2.0 * 3.0 * -1.0);
    /// assert_eq!(hv[1].data(), 2.0 * 3.0 * 1.0);
    /// ```
    ///
    /// # Panics
    ///
    /// If `v` and `wrt` differ in length.
    pub fn hvp(self, wrt: &[Value], v: &[f64]) -> Vec<Value> {
        assert_eq!(
            wrt.len(),
            v.len(),
            "micrograd: Value::hvp needs one number of v per value of wrt"
        );
        let grads = self.gradients(wrt);
        // The gradient of Σⱼ v[j]·gⱼ: the sweep seeded with v[j] at each gⱼ.
        let mut out = Vec::with_capacity(wrt.len());
        sweep(&grads, Some(v), wrt, &mut out);
        out
    }

    /// The matrix of second derivatives ∂²self/∂xᵢ∂xⱼ over `wrt`, row `i`
    /// the gradient of ∂self/∂xᵢ (JAX's `hessian`), as `Value`s: one
    /// gradient graph, then one sweep over it per input, so it is for a
    /// few inputs; for many, [`hvp`](Value::hvp) gives H times a vector
    /// at the cost of one.
    ///
    /// ```
    /// use micrograd::Value;
    /// let (x, y) = (Value::new(0.5), Value::new(-1.0));
    /// let f = x * y + x.powf(2.0);
    /// let h = f.hessian(&[x, y]);
    /// let numbers: Vec<Vec<f64>> = h.iter().map(|row| row.iter().map(|v| v.data()).collect()).collect();
    /// assert_eq!(numbers, [[2.0, 1.0], [1.0, 0.0]]);
    /// ```
    pub fn hessian(self, wrt: &[Value]) -> Vec<Vec<Value>> {
        self.gradients(wrt)
            .into_iter()
            .map(|g| g.gradients(wrt))
            .collect()
    }
}

thread_local! {
    /// The buffers a gradient graph is built with, kept from call to call.
    static BUFFERS: RefCell<Build> = RefCell::default();
}

/// The gradients of `Σᵢ seeds[i]·roots[i]` with respect to `wrt`, onto
/// `out`, with this thread's buffers.
fn sweep(roots: &[Value], seeds: Option<&[f64]>, wrt: &[Value], out: &mut Vec<Value>) {
    let mut build = BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    build.run(roots, seeds, wrt, out);
    BUFFERS.with(|b| *b.borrow_mut() = build);
}

/// A gradient graph being built: for the nodes `lo..=root`, whether each
/// leads to the root from some value of `wrt`, and its gradient so far.
///
/// What a node receives is kept as terms until the sweep reaches it (when
/// all have arrived), then made one node: `a*b` for one product, a `Sum`
/// of several values, or one `Affine`, `c₁ + a₂·b₂ + ...`, where products
/// arrive (a parameter's `∂L/∂w + w·g + w·g`), instead of a chain of `+`
/// and `*`. The additions are `backward`'s, in its order.
#[derive(Default)]
struct Build {
    lo: usize,
    /// Whether node `lo + i` depends on some value of `wrt`.
    needs: Vec<bool>,
    /// Node `lo + i` as it was when the sweep began (its instruction,
    /// generation and lanes), read from the tape once.
    nodes: Vec<Node>,
    /// Node `lo + i`'s gradient, once made.
    grads: Vec<Option<Value>>,
    /// Node `lo + i`'s first and last terms in `terms`, while it is
    /// receiving them.
    pending: Vec<(u32, u32)>,
    /// Each term and the next one of the same node.
    terms: Vec<(Term, u32)>,
    /// The seed 1 of a root, by which a product is the other factor.
    unit: Option<Value>,
    /// The constants 0 and 1 of this graph, made once.
    zero: Option<Value>,
    one: Option<Value>,
    /// An `Affine`'s factors, being gathered.
    factors: (Vec<Value>, Vec<Value>),
    /// A batch of ones, for broadcasting one number to every lane.
    ones: Option<Value>,
    /// A `dense` product's weights, row by row, and the nodes it or a
    /// block of lane products returns.
    transposed: Vec<Value>,
    layer_out: Vec<Value>,
    /// The neurons of a layer that have a gradient, and those gradients.
    taking: Vec<usize>,
    taking_grads: Vec<Value>,
    /// A node's operands, copied out of the tape.
    operands: Vec<u32>,
    /// Nodes' indices, for the tape.
    indices: Vec<u32>,
    /// A block's or layer's inputs, as Values.
    inputs: Vec<Value>,
    /// The lanes of `ones`.
    lanes: Vec<f64>,
}

/// What the sweep needs to know of a node, read from the tape at once.
#[derive(Clone, Copy)]
struct Seen {
    instr: Instr,
    batch: bool,
}

/// One contribution to a node's gradient, shaped as the node is.
#[derive(Clone, Copy)]
enum Term {
    Value(Value),
    /// `a * b`, not made yet.
    Product(Value, Value),
}

/// No term.
const NONE: u32 = u32::MAX;

impl Build {
    /// The gradients of `Σᵢ seeds[i]·roots[i]` (each seed 1 without
    /// `seeds`: one root's gradient) with respect to `wrt`, onto `out`.
    fn run(&mut self, roots: &[Value], seeds: Option<&[f64]>, wrt: &[Value], out: &mut Vec<Value>) {
        (self.ones, self.zero, self.one, self.unit) = (None, None, None, None);
        self.terms.clear();
        let Some((lo, r)) = with_tape(|t| self.mark(t, roots, wrt)) else {
            out.extend(wrt.iter().map(|&x| zero_like(x)));
            return;
        };
        self.lo = lo;
        // d(root)/d(root) = 1, or the root's seed; a batch's in every lane.
        for (i, &root) in roots.iter().enumerate() {
            let at = root.index as usize;
            if at < lo || !self.needs[at - lo] {
                continue;
            }
            let batch = self.nodes[at - lo].lanes != SINGLE;
            let seed = match seeds {
                Some(seeds) => Value::new(seeds[i]),
                None if batch => self.ones(),
                None => *self.unit.get_or_insert_with(|| Value::new(1.0)),
            };
            let seed = if batch && seeds.is_some() {
                self.ones() * seed
            } else {
                seed
            };
            self.push_term(root.index, Term::Value(seed));
        }
        let mut done_layer = None;
        for i in (lo..=r).rev() {
            let Some(g) = self.grad(i) else {
                continue;
            };
            let node = &self.nodes[i - lo];
            let seen = Seen {
                instr: node.instr,
                batch: node.lanes != SINGLE,
            };
            self.node(i, seen, g, &mut done_layer);
        }
        for &x in wrt {
            let i = with_tape(|t| t.index(x)) as usize;
            let g = (lo..=r).contains(&i).then(|| self.grad(i)).flatten();
            out.push(g.unwrap_or_else(|| zero_like(x)));
        }
        self.grads.clear();
        self.needs.clear();
        self.nodes.clear();
        self.pending.clear();
    }

    /// Marks which nodes from the lowest of `wrt` up to the highest root
    /// depend on one of them; `None` if no root does.
    fn mark(&mut self, t: &Tape, roots: &[Value], wrt: &[Value]) -> Option<(usize, usize)> {
        let r = roots.iter().map(|&root| t.index(root) as usize).max()?;
        let indices = wrt.iter().map(|&x| t.index(x) as usize);
        let lo = indices.clone().filter(|&i| i <= r).min()?;
        self.needs.clear();
        self.needs.resize(r - lo + 1, false);
        for i in indices.filter(|&i| i <= r) {
            self.needs[i - lo] = true;
        }
        for i in lo..=r {
            if !self.needs[i - lo] {
                let mut needs = false;
                super::forward::for_each_operand(t.nodes[i].instr, &t.edges, |c| {
                    let c = c as usize;
                    needs |= c >= lo && self.needs[c - lo];
                });
                self.needs[i - lo] = needs;
            }
        }
        let reached = roots.iter().any(|root| {
            let at = root.index as usize;
            at >= lo && self.needs[at - lo]
        });
        if !reached {
            return None;
        }
        self.grads.clear();
        self.grads.resize(r - lo + 1, None);
        self.pending.clear();
        self.pending.resize(r - lo + 1, (NONE, NONE));
        self.nodes.clear();
        self.nodes.extend_from_slice(&t.nodes[lo..=r]);
        Some((lo, r))
    }

    /// Node `i`'s rule, run on Values: what each operand receives from its
    /// gradient `g`.
    fn node(&mut self, i: usize, seen: Seen, g: Value, done_layer: &mut Option<usize>) {
        let Seen { instr, batch } = seen;
        let out = self.handle(i);
        match instr {
            Instr::Leaf => {}
            Instr::Unary(op, a) => {
                if self.wants(a) {
                    let x = self.handle(a as usize);
                    self.give(a, rules::unary(op, Local { x, out, g }), batch);
                }
            }
            Instr::Add(a, b) => self.binary(Binary::Add, a, b, out, g, batch),
            Instr::Mul(a, b) => self.binary(Binary::Mul, a, b, out, g, batch),
            Instr::Pow(a, b) => self.binary(Binary::Pow, a, b, out, g, batch),
            Instr::Powf(a, k) => {
                if self.wants(a) {
                    let k = with_tape(|t| t.nodes[k as usize].data);
                    let x = self.handle(a as usize);
                    self.give(a, rules::powf(k, Local { x, out, g }), batch);
                }
            }
            // d(Σₙ aₙ)/daₙ = 1: every lane receives the sum's gradient.
            Instr::SumLanes(a) => self.give(a, g, true),
            Instr::Sum { start, len } => {
                let listed = self.copy_operands(|edges, into| {
                    into.extend_from_slice(operands(edges, start, len));
                });
                for &c in &listed {
                    self.give(c, g, batch);
                }
                self.operands = listed;
            }
            Instr::SumSquares { start, len } => {
                let listed = self.copy_operands(|edges, into| {
                    into.extend_from_slice(operands(edges, start, len));
                });
                self.sum_squares(listed.iter().copied(), g, batch);
                self.operands = listed;
            }
            Instr::SumSquaresRun { first, len } => self.sum_squares(run(first, len), g, batch),
            Instr::Affine { start, len } => {
                // [b, w..., x...]
                let listed = self.copy_operands(|edges, into| {
                    let (b, w, x) = affine_operands(edges, start, len);
                    into.push(b);
                    into.extend_from_slice(w);
                    into.extend_from_slice(x);
                });
                let (w, x) = listed[1..].split_at(len as usize);
                self.give(listed[0], g, batch);
                for (&w, &x) in w.iter().zip(x) {
                    // The `*` rule of each product, to the sides wanted.
                    if self.wants(w) {
                        self.give_product(w, self.handle(x as usize), g, batch);
                    }
                    if self.wants(x) {
                        self.give_product(x, self.handle(w as usize), g, batch);
                    }
                }
                self.operands = listed;
            }
            Instr::Dense { start, j } => {
                let first = i - j as usize;
                if *done_layer != Some(first) {
                    *done_layer = Some(first);
                    self.layer(first, start);
                }
            }
            Instr::LaneDot { start, at } => {
                let first = i - at as usize;
                if *done_layer != Some(first) {
                    *done_layer = Some(first);
                    self.lane_dots(first, start);
                }
            }
        }
    }

    fn binary(&mut self, op: Binary, a: u32, b: u32, out: Value, g: Value, batch: bool) {
        let (x, y) = (self.handle(a as usize), self.handle(b as usize));
        let (wants_a, wants_b) = (self.wants(a), self.wants(b));
        let (da, db) = match op {
            // The `*` rule (`mul_grad`), its products kept as terms: a
            // side that is not wanted gets no node.
            Binary::Mul => {
                if wants_a {
                    self.give_product(a, y, g, batch);
                }
                if wants_b {
                    self.give_product(b, x, g, batch);
                }
                return;
            }
            _ => {
                let (da, db) = rules::binary(op, Local2 { x, y, out, g });
                (Some(da), Some(db))
            }
        };
        if let Some(da) = da.filter(|_| wants_a) {
            self.give(a, da, batch);
        }
        if let Some(db) = db.filter(|_| wants_b) {
            self.give(b, db, batch);
        }
    }

    /// d(Σ cᵢ²)/dcᵢ given as micrograd's `cᵢ*cᵢ` node gives it: the `*`
    /// rule, once for each factor.
    fn sum_squares(&mut self, listed: impl Iterator<Item = u32>, g: Value, batch: bool) {
        for c in listed {
            if self.wants(c) {
                let x = self.handle(c as usize);
                self.give_product(c, x, g, batch);
                self.give_product(c, x, g, batch);
            }
        }
    }

    /// A layer over a batch, all its neurons at once (their gradients are
    /// complete: a layer's neurons do not depend on each other). The
    /// inputs receive `Σⱼ w[j][k]·g[j]`, one `dense` node per input with
    /// the transposed weights; weight `w[j][k]` receives `Σₙ g[j][n]·x[k][n]`
    /// (the `*` rule, summed over the lanes) and bias `b[j]` `Σₙ g[j][n]`.
    fn layer(&mut self, first: usize, start: u32) {
        let lo = self.lo;
        // [J, K, then each neuron's K weights and bias, then the K inputs]
        let listed = self.copy_operands(|edges, into| {
            let layer = DenseOperands::at(edges, start);
            // Counts of nodes that exist fit in u32.
            into.push(layer.neurons() as u32);
            into.push(layer.inputs().len() as u32);
            for j in 0..layer.neurons() {
                into.extend(layer.weights(j));
                into.push(layer.bias(j));
            }
            into.extend_from_slice(layer.inputs());
        });
        let (j_count, k_count) = (listed[0] as usize, listed[1] as usize);
        let (params, inputs) = listed[2..].split_at(j_count * (k_count + 1));
        let weight = |j: usize, k: usize| params[j * (k_count + 1) + k];
        let (mut taking, mut gs) = (
            std::mem::take(&mut self.taking),
            std::mem::take(&mut self.taking_grads),
        );
        taking.clear();
        gs.clear();
        for j in 0..j_count {
            if let Some(g) = (first + j >= lo).then(|| self.grad(first + j)).flatten() {
                taking.push(j);
                gs.push(g);
            }
        }
        // The inputs: the product with the transposed weights.
        self.dense_to(inputs, &gs, |this, k, at| {
            this.handle(weight(taking[at], k) as usize)
        });
        // The weights: one block of `Σₙ g[j][n]·x[k][n]`, the `*` rule of
        // each product summed over the lanes.
        let wanted = |this: &Build| {
            taking
                .iter()
                .any(|&j| (0..k_count).any(|k| this.wants(weight(j, k))))
        };
        if !gs.is_empty() && wanted(self) {
            let mut dw = std::mem::take(&mut self.layer_out);
            dw.clear();
            let mut a = std::mem::take(&mut self.indices);
            a.clear();
            with_tape(|t| {
                a.extend(gs.iter().map(|&g| t.index(g)));
                t.lane_dots(&a, inputs, &mut dw);
            });
            for (row, &j) in taking.iter().enumerate() {
                for k in 0..k_count {
                    let w = weight(j, k);
                    if self.wants(w) {
                        self.give(w, dw[row * k_count + k], false);
                    }
                }
            }
            self.layer_out = dw;
            self.indices = a;
        }
        // The biases: each neuron's gradient summed over the lanes.
        for (&j, &gj) in taking.iter().zip(&gs) {
            self.give(params[j * (k_count + 1) + k_count], gj, true);
        }
        self.taking = taking;
        self.taking_grads = gs;
        self.operands = listed;
    }

    /// A block of `Σₙ a[j][n]·b[k][n]` (`lane_dot.rs`), all its entries at
    /// once: with `ĝ[j][k]` their gradients (0 for those without one),
    /// `a[j]` receives `Σₖ ĝ[j][k]·b[k]` and `b[k]` receives `Σⱼ
    /// ĝ[j][k]·a[j]`, each a `dense` product with the `ĝ` as weights.
    fn lane_dots(&mut self, first: usize, start: u32) {
        let lo = self.lo;
        // [J, K, a..., b...]
        let listed = self.copy_operands(|edges, into| {
            let block = LaneDots::at(edges, start);
            // Counts of nodes that exist fit in u32.
            into.push(block.a().len() as u32);
            into.push(block.b().len() as u32);
            into.extend_from_slice(block.a());
            into.extend_from_slice(block.b());
        });
        let (j_count, k_count) = (listed[0] as usize, listed[1] as usize);
        let (a, b) = listed[2..].split_at(j_count);
        let g = |this: &mut Build, jk: usize| {
            (first + jk >= lo).then(|| this.grad(first + jk)).flatten()
        };
        if (0..j_count * k_count).all(|jk| g(self, jk).is_none()) {
            self.operands = listed;
            return;
        }
        let zero = self.zero();
        let weight =
            |this: &mut Build, j: usize, k: usize| g(this, j * k_count + k).unwrap_or(zero);
        let mut inputs = std::mem::take(&mut self.inputs);
        // a[j] ← Σₖ ĝ[j][k]·b[k]
        inputs.clear();
        inputs.extend(b.iter().map(|&bk| self.handle(bk as usize)));
        self.dense_to(a, &inputs, weight);
        // b[k] ← Σⱼ ĝ[j][k]·a[j]
        inputs.clear();
        inputs.extend(a.iter().map(|&aj| self.handle(aj as usize)));
        self.dense_to(b, &inputs, |this, k, j| weight(this, j, k));
        self.inputs = inputs;
        self.operands = listed;
    }

    /// Gives each wanted node `targets[t]` the batch `Σᵢ weight(t, i)·inputs[i]`:
    /// all of them as one `dense` product (bias 0), a neuron per target.
    fn dense_to(
        &mut self,
        targets: &[u32],
        inputs: &[Value],
        mut weight: impl FnMut(&mut Build, usize, usize) -> Value,
    ) {
        if inputs.is_empty() || !targets.iter().any(|&c| self.wants(c)) {
            return;
        }
        let mut rows = std::mem::take(&mut self.transposed);
        rows.clear();
        for (t, &c) in targets.iter().enumerate() {
            if self.wants(c) {
                for i in 0..inputs.len() {
                    let w = weight(self, t, i);
                    rows.push(w);
                }
            }
        }
        let zero = self.zero();
        let mut out = std::mem::take(&mut self.layer_out);
        out.clear();
        let neurons = rows.chunks(inputs.len()).map(|row| (row, zero));
        with_tape(|tape| tape.dense(neurons, inputs, &mut out));
        let mut products = out.iter();
        for &c in targets {
            if self.wants(c) {
                let d = *products.next().expect("one per target wanted");
                self.give(c, d, true);
            }
        }
        self.transposed = rows;
        self.layer_out = out;
    }

    /// Node operands copied out of the tape by `copy` into the operand
    /// buffer, which the caller puts back.
    fn copy_operands(&mut self, copy: impl FnOnce(&[u32], &mut Vec<u32>)) -> Vec<u32> {
        let mut into = std::mem::take(&mut self.operands);
        into.clear();
        with_tape(|t| copy(&t.edges, &mut into));
        into
    }

    /// Whether node `c` is one whose gradient is wanted.
    fn wants(&self, c: u32) -> bool {
        let c = c as usize;
        c >= self.lo && self.needs[c - self.lo]
    }

    /// Adds `contribution` to node `c`'s gradient, shaped as `c` is: a
    /// single value receives a batch's contributions summed over the lanes
    /// (in lane order, as `backward`), a batch receives a single number in
    /// every lane. `batch`: whether the node it comes from is a batch.
    fn give(&mut self, c: u32, contribution: Value, batch: bool) {
        if !self.wants(c) {
            return;
        }
        let to_batch = self.nodes[c as usize - self.lo].lanes != SINGLE;
        let from_lanes = self.is_batch(contribution);
        let contribution = match (to_batch, from_lanes) {
            (true, true) => contribution,
            (true, false) => self.ones() * contribution,
            (false, true) => contribution.sum_lanes(),
            // A constant from a rule of a batched node: one per lane.
            (false, false) if batch => (self.ones() * contribution).sum_lanes(),
            (false, false) => contribution,
        };
        self.push_term(c, Term::Value(contribution));
    }

    /// Adds `other * g`, the `*` rule's contribution to node `c` (`times`),
    /// kept as a product where it has `c`'s shape.
    fn give_product(&mut self, c: u32, other: Value, g: Value, batch: bool) {
        if !self.wants(c) {
            return;
        }
        if Some(g) == self.unit {
            // `other * 1` is `other`, bit for bit: no node for it (the
            // lecture's d(a*b)/da is b itself).
            return self.give(c, other, batch);
        }
        let to_batch = self.nodes[c as usize - self.lo].lanes != SINGLE;
        let lanes = self.is_batch(other) || self.is_batch(g);
        // A product of single values from a batched node's rule is a
        // constant per lane: `give` broadcasts it.
        let constant_of_batch = batch && !lanes;
        if to_batch == lanes && !constant_of_batch {
            self.push_term(c, Term::Product(other, g));
        } else {
            self.give(c, times(other, g), batch);
        }
    }

    fn push_term(&mut self, c: u32, term: Term) {
        let at = self.terms.len() as u32;
        self.terms.push((term, NONE));
        let slot = &mut self.pending[c as usize - self.lo];
        if slot.0 == NONE {
            *slot = (at, at);
        } else {
            self.terms[slot.1 as usize].1 = at;
            slot.1 = at;
        }
    }

    /// Node `i`'s gradient: its terms made one node, the first time.
    fn grad(&mut self, i: usize) -> Option<Value> {
        let slot = i - self.lo;
        if let Some(g) = self.grads[slot] {
            return Some(g);
        }
        let (first, _) = self.pending[slot];
        if first == NONE {
            return None;
        }
        let second = self.terms[first as usize].1;
        let g = if second == NONE {
            match self.terms[first as usize].0 {
                Term::Value(v) => v,
                Term::Product(a, b) => a * b,
            }
        } else {
            self.sum_terms(first)
        };
        self.grads[slot] = Some(g);
        self.pending[slot] = (NONE, NONE);
        Some(g)
    }

    /// The terms from `first` on, added in order: a `Sum` of values, or
    /// one `Affine` where there are products (a value not first taken as
    /// `1 * value`).
    fn sum_terms(&mut self, first: u32) -> Value {
        let mut products = false;
        let mut at = first;
        while at != NONE {
            let (term, next) = self.terms[at as usize];
            products |= matches!(term, Term::Product(..));
            at = next;
        }
        if !products {
            let terms = &self.terms;
            return with_tape(|t| {
                let mark = t.sum_begin();
                let mut at = first;
                while at != NONE {
                    let (term, next) = terms[at as usize];
                    if let Term::Value(v) = term {
                        t.sum_operand(v);
                    }
                    at = next;
                }
                t.sum_end(mark)
            });
        }
        let (mut w, mut x) = std::mem::take(&mut self.factors);
        w.clear();
        x.clear();
        let (term, mut at) = self.terms[first as usize];
        let b = match term {
            Term::Value(v) => v,
            Term::Product(a, b) => {
                w.push(a);
                x.push(b);
                self.zero()
            }
        };
        while at != NONE {
            let (term, next) = self.terms[at as usize];
            match term {
                Term::Value(v) => {
                    w.push(self.one());
                    x.push(v);
                }
                Term::Product(a, b) => {
                    w.push(a);
                    x.push(b);
                }
            }
            at = next;
        }
        let sum = with_tape(|t| t.affine(&w, &x, b));
        self.factors = (w, x);
        sum
    }

    /// The handle of node `i`, which exists: from the copy of the swept
    /// nodes where it is one of them.
    fn handle(&self, i: usize) -> Value {
        match self.nodes.get(i.wrapping_sub(self.lo)) {
            // Nodes that exist have u32 indices.
            Some(node) => Value::from_parts(i as u32, node.generation),
            None => handle(i),
        }
    }

    /// Whether `v` is a batch.
    fn is_batch(&self, v: Value) -> bool {
        match self.nodes.get((v.index as usize).wrapping_sub(self.lo)) {
            Some(node) if node.generation == v.generation => node.lanes != SINGLE,
            _ => with_tape(|t| t.node(v).lanes != SINGLE),
        }
    }

    fn zero(&mut self) -> Value {
        *self.zero.get_or_insert_with(|| Value::new(0.0))
    }

    fn one(&mut self) -> Value {
        *self.one.get_or_insert_with(|| Value::new(1.0))
    }

    /// A batch of ones, made once per gradient graph.
    fn ones(&mut self) -> Value {
        if let Some(ones) = self.ones {
            return ones;
        }
        let width = with_tape(|t| t.slab.width());
        self.lanes.clear();
        self.lanes.resize(width, 1.0);
        let ones = Value::batch(&self.lanes);
        self.ones = Some(ones);
        ones
    }
}

/// The handle of node `i`, which exists.
fn handle(i: usize) -> Value {
    // Nodes that exist have u32 indices.
    with_tape(|t| t.handle(i as u32))
}

/// The gradient of something `x` does not reach: 0, shaped as `x`.
fn zero_like(x: Value) -> Value {
    match x.lanes() {
        Some(width) => Value::batch(&vec![0.0; width]),
        None => Value::new(0.0),
    }
}
