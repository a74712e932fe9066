//! Forward mode: the directional derivative of a value, carried up the
//! tape from its inputs with each node (JAX's `jvp`), without building a
//! reverse graph.
//!
//! A node's tangent `ẏ = Σ ∂y/∂x · ẋ` over its operands is its `backward`
//! rule with the operand's tangent in place of the gradient: every rule's
//! `grad` is linear in `g` (`rules.rs`), so `grad(x, y, ẋ) = f'(x)·ẋ`. No
//! formula is written twice.

use super::dense::DenseOperands;
use super::forward::for_each_operand;
use super::lane_dot::LaneDots;
use super::lane_slab::SINGLE;
use super::node::{Instr, Node, affine_operands, operands, run};
use super::rules::{self, Binary, Local, Local2, times};
use super::tape::{Tape, with_tape};
use super::value::{Value, batch_misuse};

impl Value {
    /// The directional derivative of `self` at the current values, along
    /// `tangents` of the values `wrt`: `Σᵢ ∂self/∂xᵢ · tangents[i]`, the
    /// lecture's nudge made exact (how much `self` moves when each `xᵢ` is
    /// nudged by `h·tangents[i]`, divided by `h`, as `h` goes to 0). JAX's
    /// `jvp`, by forward mode: one pass up the tape from the lowest of
    /// `wrt` to `self`, each node's tangent from its operands', and no
    /// gradient graph or `grad` touched.
    ///
    /// ```
    /// use micrograd::Value;
    /// // f = x·y + x²: ∂f/∂x = y + 2x = 4, ∂f/∂y = x = 1
    /// let (x, y) = (Value::new(1.0), Value::new(2.0));
    /// let f = x * y + x.powf(2.0);
    /// assert_eq!(f.jvp(&[x, y], &[1.0, 0.0]), 4.0);
    /// assert_eq!(f.jvp(&[x, y], &[0.5, 2.0]), 4.0 * 0.5 + 1.0 * 2.0);
    /// ```
    ///
    /// A batch in `wrt` is nudged by its tangent in every lane. A value of
    /// `wrt` that is not a leaf is nudged itself, as if it were an input
    /// (its own operands' tangents are not added to it).
    ///
    /// # Panics
    ///
    /// If `tangents` and `wrt` differ in length, or `self` is a batch
    /// (take [`sum_lanes`](Value::sum_lanes) first).
    pub fn jvp(self, wrt: &[Value], tangents: &[f64]) -> f64 {
        assert_eq!(
            wrt.len(),
            tangents.len(),
            "micrograd: Value::jvp needs one tangent per value of wrt"
        );
        with_tape(|t| {
            let r = t.index(self) as usize;
            if t.nodes[r].lanes != SINGLE {
                batch_misuse(self, "jvp", t.slab.width());
            }
            let seeds: Vec<(usize, f64)> = wrt
                .iter()
                .zip(tangents)
                .map(|(&x, &dx)| (t.index(x) as usize, dx))
                .filter(|&(i, _)| i <= r)
                .collect();
            match seeds.iter().map(|&(i, _)| i).min() {
                Some(lo) => Tangents::new(t, lo, r).run(&seeds),
                None => 0.0,
            }
        })
    }
}

/// The tangents of the nodes `lo..=r`: a single value's, and a batch's
/// lanes, row by row.
struct Tangents<'t> {
    t: &'t Tape,
    lo: usize,
    r: usize,
    /// Whether node `lo + i` moves with `wrt`.
    active: Vec<bool>,
    /// Node `lo + i`'s tangent (a single value's).
    single: Vec<f64>,
    /// A batch's tangent lanes, at its row's place in the slab less
    /// `offset`.
    lanes: Vec<f64>,
    offset: usize,
}

impl<'t> Tangents<'t> {
    fn new(t: &'t Tape, lo: usize, r: usize) -> Tangents<'t> {
        let mut rows = t.nodes[lo..=r].iter().filter(|n| n.lanes != SINGLE);
        let (first, last) = (rows.clone().next(), rows.next_back());
        let (offset, len) = match (first, last) {
            (Some(first), Some(last)) => {
                let offset = t.slab.shape.start(first.lanes);
                (offset, t.slab.span(last.lanes).end - offset)
            }
            _ => (0, 0),
        };
        Tangents {
            t,
            lo,
            r,
            active: vec![false; r - lo + 1],
            single: vec![0.0; r - lo + 1],
            lanes: vec![0.0; len],
            offset,
        }
    }

    fn run(mut self, seeds: &[(usize, f64)]) -> f64 {
        let width = self.t.slab.width();
        for &(i, dx) in seeds {
            self.active[i - self.lo] = true;
            if self.t.nodes[i].lanes == SINGLE {
                self.single[i - self.lo] += dx;
            } else {
                for n in 0..width {
                    let at = self.at(i, n);
                    self.lanes[at] += dx;
                }
            }
        }
        for i in self.lo..=self.r {
            if self.active[i - self.lo] {
                // A seed: nudged itself.
                continue;
            }
            let instr = self.t.nodes[i].instr;
            let mut moves = false;
            for_each_operand(instr, &self.t.edges, |c| moves |= self.moves(c));
            if !moves {
                continue;
            }
            self.active[i - self.lo] = true;
            if self.t.nodes[i].lanes == SINGLE {
                self.single[i - self.lo] = self.tangent(i, instr, 0);
            } else {
                for n in 0..width {
                    let at = self.at(i, n);
                    self.lanes[at] = self.tangent(i, instr, n);
                }
            }
        }
        self.single[self.r - self.lo]
    }

    /// Node `i`'s tangent in lane `n` (0 for a single value), from its
    /// operands'.
    fn tangent(&self, i: usize, instr: Instr, n: usize) -> f64 {
        let out = self.value(i as u32, n);
        match instr {
            Instr::Leaf => 0.0,
            Instr::Unary(op, a) => rules::unary(op, self.local(a, out, n)),
            Instr::Powf(a, k) => {
                let k = self.t.nodes[k as usize].data;
                rules::powf(k, self.local(a, out, n))
            }
            Instr::Add(a, b) => self.binary(Binary::Add, a, b, out, n),
            Instr::Mul(a, b) => self.binary(Binary::Mul, a, b, out, n),
            Instr::Pow(a, b) => self.binary(Binary::Pow, a, b, out, n),
            // Σₙ ȧₙ, in lane order.
            Instr::SumLanes(a) => (0..self.t.slab.width()).map(|n| self.dot(a, n)).sum(),
            Instr::Sum { start, len } => self.sum(operands(&self.t.edges, start, len), n),
            Instr::SumSquares { start, len } => {
                self.sum_squares(operands(&self.t.edges, start, len).iter().copied(), n)
            }
            Instr::SumSquaresRun { first, len } => self.sum_squares(run(first, len), n),
            Instr::Affine { start, len } => {
                let (b, w, x) = affine_operands(&self.t.edges, start, len);
                self.affine(b, w.iter().copied(), x, n)
            }
            // Σₙ (bₙ·ȧₙ + aₙ·ḃₙ): the `*` rule in every lane, in lane order.
            Instr::LaneDot { start, at } => {
                let (a, b) = LaneDots::at(&self.t.edges, start).operands(at);
                (0..self.t.slab.width()).fold(0.0, |mut acc, n| {
                    if self.moves(a) {
                        acc += times(self.value(b, n), self.dot(a, n));
                    }
                    if self.moves(b) {
                        acc += times(self.value(a, n), self.dot(b, n));
                    }
                    acc
                })
            }
            Instr::Dense { start, j } => {
                let layer = DenseOperands::at(&self.t.edges, start);
                let j = j as usize;
                self.affine(layer.bias(j), layer.weights(j), layer.inputs(), n)
            }
        }
    }

    /// A one-operand rule with operand `a`'s tangent as its gradient.
    fn local(&self, a: u32, out: f64, n: usize) -> Local<f64> {
        Local {
            x: self.value(a, n),
            out,
            g: self.dot(a, n),
        }
    }

    /// `∂out/∂a·ȧ + ∂out/∂b·ḃ`, each term only for an operand that moves
    /// (a still one's term would be 0, or NaN where its derivative is
    /// not finite).
    fn binary(&self, op: Binary, a: u32, b: u32, out: f64, n: usize) -> f64 {
        let (x, y) = (self.value(a, n), self.value(b, n));
        let term = |g| rules::binary(op, Local2 { x, y, out, g });
        match (self.moves(a), self.moves(b)) {
            (true, true) => term(self.dot(a, n)).0 + term(self.dot(b, n)).1,
            (true, false) => term(self.dot(a, n)).0,
            (false, _) => term(self.dot(b, n)).1,
        }
    }

    /// Σ ċ over the operands that move, left to right.
    fn sum(&self, listed: &[u32], n: usize) -> f64 {
        listed
            .iter()
            .filter(|&&c| self.moves(c))
            .fold(0.0, |acc, &c| acc + self.dot(c, n))
    }

    /// Σ (c·ċ + c·ċ): each `cᵢ*cᵢ` product's `*` rule, for each factor.
    fn sum_squares(&self, listed: impl Iterator<Item = u32>, n: usize) -> f64 {
        listed.filter(|&c| self.moves(c)).fold(0.0, |acc, c| {
            let d = times(self.value(c, n), self.dot(c, n));
            acc + d + d
        })
    }

    /// ḃ + Σ (x·ẇ + w·ẋ): each product's `*` rule, for each factor.
    fn affine(&self, b: u32, w: impl Iterator<Item = u32>, x: &[u32], n: usize) -> f64 {
        let mut acc = if self.moves(b) { self.dot(b, n) } else { 0.0 };
        for (w, &x) in w.zip(x) {
            if self.moves(w) {
                acc += times(self.value(x, n), self.dot(w, n));
            }
            if self.moves(x) {
                acc += times(self.value(w, n), self.dot(x, n));
            }
        }
        acc
    }

    /// Whether node `c` moves with `wrt`.
    fn moves(&self, c: u32) -> bool {
        let c = c as usize;
        c >= self.lo && self.active[c - self.lo]
    }

    /// Node `c`'s number in lane `n` (its one number, for a single value).
    fn value(&self, c: u32, n: usize) -> f64 {
        let node: &Node = &self.t.nodes[c as usize];
        if node.lanes == SINGLE {
            node.data
        } else {
            self.t.slab.data[self.t.slab.span(node.lanes)][n]
        }
    }

    /// Node `c`'s tangent in lane `n`; 0 if it does not move.
    fn dot(&self, c: u32, n: usize) -> f64 {
        if !self.moves(c) {
            return 0.0;
        }
        let c = c as usize;
        if self.t.nodes[c].lanes == SINGLE {
            self.single[c - self.lo]
        } else {
            self.lanes[self.at(c, n)]
        }
    }

    /// Where lane `n` of batched node `i`'s tangent is.
    fn at(&self, i: usize, n: usize) -> usize {
        self.t.slab.span(self.t.nodes[i].lanes).start - self.offset + n
    }
}
