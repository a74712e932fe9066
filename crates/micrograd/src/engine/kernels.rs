//! The kernels of a layer over a batch: forward, and the gradients of its
//! inputs, weights and biases, each a matrix product cut into tiles whose
//! sums stay in vector registers. With the `simd` feature they are compiled
//! for the widest vector unit the CPU has (AVX-512, AVX2), chosen at run
//! time by `pulp`; without it, for one number at a time.
//!
//! The vector width never changes a result: every lane (and every weight)
//! is summed in its own fixed order, and the tiling only decides which sums
//! advance side by side. In [`Arith::Exact`] no kernel uses a fused
//! multiply-add, forward or backward: each term is multiplied, rounded,
//! then added, as the per-point graph's `*` and `+` do it. So the bits are
//! the same on every CPU and in WebAssembly (which has no fused
//! multiply-add, so `f64::mul_add` there is libm's exact, and slow,
//! software `fma`), with or without the `simd` feature. [`Arith::Fused`]
//! keeps the same orders with one rounding per term.
//!
//! The forward gives each point the bits of its own per-point graph. The
//! gradients are summed in the orders the graph's backward uses: an
//! input's over the neurons from the last, from 0, so each point's inputs
//! receive the bits of its own per-point graph; a weight's or bias's over
//! the lanes in lane order, from 0, as a single value meeting a batch
//! receives it, so they are the bits one `Affine` node per neuron over the
//! same batch gives. (A graph of all the points one by one gives a weight
//! its points' terms in another order, so only to the last bits: about
//! 1e-15 of the largest.)
//!
//! Each product first copies its two sides into packed panels, as the
//! small-GEMM crates do (`matrixmultiply`, `gemm`): the side that is
//! broadcast in tiles of `R` rows, term by term, the side that is loaded
//! as vectors in blocks of `C` vectors, term by term. Rows of the slab lie
//! a power of two apart, which maps them to a few sets of the L1 cache;
//! the panels are read in order instead, with no bounds checks in the
//! loop. Rows and lanes past the end are zero-padded and never stored.
//!
//! Packing and padding cost the same whatever the length of the sums, so
//! for small shapes (short sums, narrow layers: see [`forward_path`],
//! [`input_grads_path`], [`weight_grads_path`]) the kernels take other
//! loops over the same sums in the same orders: register blocks that read
//! the rows as they are (the kernels before the panels), one or two rows
//! wide blocks of lanes for an output layer or a layer of one or two
//! inputs, and for the weights of such layers plain sums one number at a
//! time, with no transpose (on AVX-512, eight weights a vector, eight lanes
//! at a time transposed in registers: [`transposed`]). Which loops run
//! never changes a bit: the tests run every shape through each of them.

use std::cell::RefCell;

use super::math;

#[cfg(all(feature = "simd", target_arch = "x86_64"))]
mod transposed;

/// How each term `w·x` of a kernel's sums is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    /// Multiplied, rounded, then added: `acc + w*x`, the per-point graph's
    /// bits.
    Exact,
    /// One fused multiply-add, `w.mul_add(x, acc)`, rounded once: the same
    /// bits on every CPU, every vector width and without the `simd`
    /// feature (a correctly rounded `fma` does not depend on them), but not
    /// the per-point graph's.
    #[cfg_attr(not(test), allow(dead_code, reason = "no caller chooses it yet"))]
    Fused,
}

/// What [`dense_forward`] applies to each sum before storing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Epilogue {
    /// The sum as it is.
    None,
    /// [`math::relu`] of the sum, so a ReLU layer's output is written once.
    #[cfg_attr(not(test), allow(dead_code, reason = "no caller chooses it yet"))]
    Relu,
}

/// A layer's input rows, each `width` lanes long, somewhere in the slab.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) slab: &'a [f64],
    /// Where each row starts in `slab`.
    pub(crate) starts: &'a [usize],
    pub(crate) width: usize,
}

impl<'a> Rows<'a> {
    #[inline(always)]
    fn row(&self, k: usize) -> &'a [f64] {
        &self.slab[self.starts[k]..self.starts[k] + self.width]
    }
}

/// The few vector operations the kernels need: lanes of f64, multiplied
/// and added element by element.
trait Vector: Copy {
    type V: Copy;
    const LANES: usize;
    fn splat(self, x: f64) -> Self::V;
    /// The first `LANES` numbers of `x`.
    fn load(self, x: &[f64]) -> Self::V;
    /// Into the first `LANES` numbers of `out`.
    fn store(self, out: &mut [f64], v: Self::V);
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c`, rounded once.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// [`math::relu`] lane by lane.
    fn relu(self, a: Self::V) -> Self::V;
    /// [`math::step`] lane by lane.
    fn step(self, a: Self::V) -> Self::V;
    /// This unit as AVX-512, where it is: the parts that transpose eight
    /// by eight in registers ([`transposed`]).
    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    #[inline(always)]
    fn avx512(self) -> Option<pulp::x86::V4> {
        None
    }
}

/// One number at a time: the engine without the `simd` feature.
#[cfg(not(feature = "simd"))]
#[derive(Clone, Copy)]
struct Scalar;

#[cfg(not(feature = "simd"))]
impl Vector for Scalar {
    type V = f64;
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(self, x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn load(self, x: &[f64]) -> f64 {
        x[0]
    }
    #[inline(always)]
    fn store(self, out: &mut [f64], v: f64) {
        out[0] = v;
    }
    #[inline(always)]
    fn add(self, a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline(always)]
    fn mul(self, a: f64, b: f64) -> f64 {
        a * b
    }
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn relu(self, a: f64) -> f64 {
        math::relu(a)
    }
    #[inline(always)]
    fn step(self, a: f64) -> f64 {
        math::step(a)
    }
}

/// The vector unit `pulp` found.
#[cfg(feature = "simd")]
#[derive(Clone, Copy)]
struct Pulp<S>(S);

#[cfg(feature = "simd")]
impl<S: pulp::Simd> Vector for Pulp<S> {
    type V = S::f64s;
    const LANES: usize = S::F64_LANES;
    #[inline(always)]
    fn splat(self, x: f64) -> S::f64s {
        self.0.splat_f64s(x)
    }
    #[inline(always)]
    fn load(self, x: &[f64]) -> S::f64s {
        pulp::bytemuck::pod_read_unaligned(pulp::bytemuck::cast_slice(&x[..Self::LANES]))
    }
    #[inline(always)]
    fn store(self, out: &mut [f64], v: S::f64s) {
        out[..Self::LANES].copy_from_slice(pulp::bytemuck::cast_slice(std::slice::from_ref(&v)));
    }
    #[inline(always)]
    fn add(self, a: S::f64s, b: S::f64s) -> S::f64s {
        self.0.add_f64s(a, b)
    }
    #[inline(always)]
    fn mul(self, a: S::f64s, b: S::f64s) -> S::f64s {
        self.0.mul_f64s(a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: S::f64s, b: S::f64s, c: S::f64s) -> S::f64s {
        self.0.mul_add_f64s(a, b, c)
    }
    #[inline(always)]
    fn relu(self, a: S::f64s) -> S::f64s {
        // `a < 0` is false for -0.0 and NaN, which pass through.
        let zero = self.0.splat_f64s(0.0);
        self.0.select_f64s(self.0.less_than_f64s(a, zero), zero, a)
    }
    #[inline(always)]
    fn step(self, a: S::f64s) -> S::f64s {
        // `a > 0` is false for NaN.
        let (zero, one) = (self.0.splat_f64s(0.0), self.0.splat_f64s(1.0));
        self.0
            .select_f64s(self.0.greater_than_f64s(a, zero), one, zero)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn avx512(self) -> Option<pulp::x86::V4> {
        (&self.0 as &dyn std::any::Any).downcast_ref().copied()
    }
}

/// How one term joins its sum: [`Arith`] as a type, so that each mode is
/// compiled on its own.
trait Term {
    fn term<V: Vector>(v: V, acc: V::V, a: V::V, b: V::V) -> V::V;
    /// The same term on one number.
    fn scalar(acc: f64, a: f64, b: f64) -> f64;
}

struct Exact;
struct Fused;

impl Term for Exact {
    #[inline(always)]
    fn term<V: Vector>(v: V, acc: V::V, a: V::V, b: V::V) -> V::V {
        v.add(acc, v.mul(a, b))
    }
    #[inline(always)]
    fn scalar(acc: f64, a: f64, b: f64) -> f64 {
        acc + a * b
    }
}

impl Term for Fused {
    #[inline(always)]
    fn term<V: Vector>(v: V, acc: V::V, a: V::V, b: V::V) -> V::V {
        v.mul_add(a, b, acc)
    }
    #[inline(always)]
    fn scalar(acc: f64, a: f64, b: f64) -> f64 {
        a.mul_add(b, acc)
    }
}

/// Runs `$kernel.run::<V, T>(vector)` with the widest vector unit there is
/// and the term of `$kernel.arith`.
macro_rules! dispatch {
    ($kernel:ident) => {
        #[cfg(feature = "simd")]
        impl pulp::WithSimd for $kernel<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, simd: S) {
                match self.arith {
                    Arith::Exact => self.run::<_, Exact>(Pulp(simd)),
                    Arith::Fused => self.run::<_, Fused>(Pulp(simd)),
                }
            }
        }

        impl $kernel<'_> {
            fn dispatch(self) {
                #[cfg(feature = "simd")]
                pulp::Arch::new().dispatch(self);
                #[cfg(not(feature = "simd"))]
                match self.arith {
                    Arith::Exact => self.run::<_, Exact>(Scalar),
                    Arith::Fused => self.run::<_, Fused>(Scalar),
                }
            }
        }
    };
}

/// Runs `$body` with `const R` and `const C`, the tile of the vector unit
/// `$v` (rows broadcast × vectors loaded): as many sums as the registers
/// hold beside one term's operands. AVX2's 16 registers: 6 × 2 sums, two
/// loaded vectors and a broadcast (and, in `Exact`, the product before its
/// add). AVX-512's 32: 8 × 3. One number at a time: 4 × 2.
macro_rules! with_tile {
    ($v:ty, |$r:ident, $c:ident| $body:expr) => {
        match <$v as Vector>::LANES {
            8 => {
                const $r: usize = 8;
                const $c: usize = 3;
                $body
            }
            4 => {
                const $r: usize = 6;
                const $c: usize = 2;
                $body
            }
            _ => {
                const $r: usize = 4;
                const $c: usize = 2;
                $body
            }
        }
    };
}

/// The rows of the next tile when `left` rows are left: `R`, or, for the
/// last one or two, a tile of their own instead of a padded one.
#[inline(always)]
fn tile_rows<const R: usize>(left: usize) -> usize {
    if left >= R || left > 2 { R } else { left }
}

/// `acc[r][c] += a[t][r]·b[t][c]` for each term `t` in order, with `a`
/// packed `R` numbers a term and `b` giving `C` vectors a term: the loop
/// every kernel spends its time in.
#[inline(always)]
fn tile<'b, V: Vector, T: Term, const R: usize, const C: usize>(
    v: V,
    mut acc: [[V::V; C]; R],
    a: &[f64],
    b: impl Iterator<Item = &'b [f64]>,
) -> [[V::V; C]; R] {
    for (a, b) in a.chunks_exact(R).zip(b) {
        let b = &b[..C * V::LANES];
        // A loop, not `array::from_fn`: a closure left out of line would
        // lose the vector unit's target features.
        let mut loaded = [v.splat(0.0); C];
        for (c, at) in loaded.iter_mut().enumerate() {
            *at = v.load(&b[c * V::LANES..]);
        }
        let b = loaded;
        for (acc, &a) in acc.iter_mut().zip(a) {
            let a = v.splat(a);
            for (acc, &b) in acc.iter_mut().zip(&b) {
                *acc = T::term(v, *acc, a, b);
            }
        }
    }
    acc
}

/// Where a product's tiles start and end: their sums' first values, and
/// what is done with their last.
trait Tiles<V: Vector> {
    /// The sums of rows `r0..r0 + R`, lanes `c0..c0 + C·LANES` before the
    /// first term.
    fn init<const R: usize, const C: usize>(&self, v: V, r0: usize, c0: usize) -> [[V::V; C]; R];
    /// Stores the tile's sums, of the rows and lanes that exist.
    fn store<const R: usize, const C: usize>(
        &mut self,
        v: V,
        r0: usize,
        c0: usize,
        acc: [[V::V; C]; R],
    );
}

/// Sums `a · b` over `depth` terms into `out`'s tiles, with `a` packed by
/// [`pack_rows`] (`rows` rows) and `b(c0)` the terms of the block of `C`
/// vectors from column `c0`, for the blocks of `columns`: for each block,
/// every row tile.
#[inline(always)]
fn product<'b, V: Vector, T: Term, const R: usize, const C: usize, I>(
    v: V,
    a: &[f64],
    rows: usize,
    columns: std::ops::Range<usize>,
    depth: usize,
    b: impl Fn(usize) -> I,
    out: &mut impl Tiles<V>,
) where
    I: Iterator<Item = &'b [f64]>,
{
    for c0 in columns.step_by(C * V::LANES) {
        let (mut a, mut r0) = (a, 0);
        while r0 < rows {
            let rows_here = tile_rows::<R>(rows - r0);
            let (a_tile, rest) = a.split_at(rows_here * depth);
            match rows_here {
                1 => {
                    let acc = tile::<V, T, 1, C>(v, out.init(v, r0, c0), a_tile, b(c0));
                    out.store(v, r0, c0, acc);
                }
                2 => {
                    let acc = tile::<V, T, 2, C>(v, out.init(v, r0, c0), a_tile, b(c0));
                    out.store(v, r0, c0, acc);
                }
                _ => {
                    let acc = tile::<V, T, R, C>(v, out.init(v, r0, c0), a_tile, b(c0));
                    out.store(v, r0, c0, acc);
                }
            }
            a = rest;
            r0 += rows_here;
        }
    }
}

/// The terms of a block packed by [`pack_lanes`] or [`pack_columns`]
/// (`depth` terms of `width` numbers each), from its first column `c0`
/// (the packing's first column is `first`).
#[inline(always)]
fn packed<'b>(
    b: &'b [f64],
    first: usize,
    depth: usize,
    width: usize,
) -> impl Fn(usize) -> std::slice::ChunksExact<'b, f64> + 'b {
    move |c0| b[(c0 - first) * depth..][..depth * width].chunks_exact(width)
}

/// Whether the side loaded as vectors is read from its rows as it is
/// rather than packed: when few row tiles (`rows`) read it, packing costs
/// more than it saves.
#[inline(always)]
fn direct<const R: usize>(rows: usize) -> bool {
    rows <= 3 * R
}

/// Packs `get(r, t)` for `r < rows`, `t < depth` in row tiles
/// ([`tile_rows`]), each term by term: the side [`tile`] broadcasts.
#[inline(always)]
fn pack_rows<const R: usize>(
    rows: usize,
    depth: usize,
    get: impl Fn(usize, usize) -> f64,
    out: &mut Vec<f64>,
) {
    out.clear();
    let mut r0 = 0;
    while r0 < rows {
        let rows_here = tile_rows::<R>(rows - r0);
        let start = out.len();
        out.resize(start + rows_here * depth, 0.0);
        for (t, term) in out[start..].chunks_exact_mut(rows_here).enumerate() {
            for (r, at) in (r0..rows).zip(term) {
                *at = get(r, t);
            }
        }
        r0 += rows_here;
    }
}

/// Packs the first `lanes` lanes of `row(t)` for `t < depth` in blocks of
/// `width` lanes, each term by term, zero-padded: the side [`tile`] loads,
/// when each term's numbers are consecutive.
#[inline(always)]
fn pack_lanes<'r>(
    lanes: usize,
    width: usize,
    depth: usize,
    row: impl Fn(usize) -> &'r [f64],
    out: &mut Vec<f64>,
) {
    out.clear();
    out.resize(lanes.div_ceil(width) * depth * width, 0.0);
    for t in 0..depth {
        for (block, lanes) in row(t)[..lanes].chunks(width).enumerate() {
            let at = &mut out[(block * depth + t) * width..][..width];
            if lanes.len() == width {
                at.copy_from_slice(lanes);
            } else {
                at[..lanes.len()].copy_from_slice(lanes);
            }
        }
    }
}

/// Packs `column(c)[t]` for `c < columns`, `t < depth` in blocks of
/// `width` columns, each term by term, zero-padded: the side [`tile`]
/// loads, when each column's terms are consecutive (a transpose).
#[inline(always)]
fn pack_columns<'r>(
    columns: usize,
    width: usize,
    depth: usize,
    column: impl Fn(usize) -> &'r [f64],
    out: &mut Vec<f64>,
) {
    out.clear();
    for c0 in (0..columns).step_by(width) {
        let start = out.len();
        out.resize(start + depth * width, 0.0);
        let block = &mut out[start..];
        for c in c0..columns.min(c0 + width) {
            for (at, &x) in block[c - c0..]
                .iter_mut()
                .step_by(width)
                .zip(&column(c)[..depth])
            {
                *at = x;
            }
        }
    }
}

/// Stores sums `acc` into `out[..LANES]`, or only the first `n` of them
/// (`n < LANES`), through ReLU if `relu`. (No closure: one not inlined
/// would lose the vector unit's target features.)
#[inline(always)]
fn store_some<V: Vector>(v: V, out: &mut [f64], n: usize, acc: V::V, relu: bool) {
    let acc = if relu { v.relu(acc) } else { acc };
    if n >= V::LANES {
        v.store(out, acc);
    } else {
        let mut spill = [0.0; 16];
        v.store(&mut spill, acc);
        out[..n].copy_from_slice(&spill[..n]);
    }
}

// The paths' thresholds, measured with `speed` at lanes 100 and 256. On
// AVX2 (`lanes` 4) the tiles pack `w` and pad to whole tiles on every
// call, which short sums (K or J small) and narrow layers do not repay;
// from 64×64 at 256 lanes, and from 128×128 at any width, the tiles are
// faster. On AVX-512 (`lanes` 8; an Intel Xeon with two FMA units) the
// blocks' 8 rows × 2 vectors beat the 8 × 3 tiles at every shape up to
// 256×256, forward and input gradients, exact and fused (exact 54-57
// GFLOP/s against 37-48, the multiply-then-add loop's peak there being
// 54); weight gradients too up to 128×128.

/// The forward's path for `J` neurons, `K` inputs and `n` lanes, with
/// vectors of `lanes` numbers: on AVX2 the blocks up to 32×32, for K ≤ 4
/// (the tiles run 2 to 3 times slower there), for J ≤ 2, and up to 64×64
/// at 128 lanes; on AVX-512 the blocks.
#[inline(always)]
fn forward_path(j: usize, k: usize, n: usize, lanes: usize) -> Path {
    if lanes >= 8 || j * k <= 32 * 32 || k <= 4 || j <= 2 || (j * k <= 64 * 64 && n <= 128) {
        Path::Blocked
    } else {
        Path::Tiled
    }
}

/// The input gradients' path for `J` neurons, `K` inputs and `n` lanes: on
/// AVX2 the blocks for J ≤ 32 (J = 1: 3 times faster), for K ≤ 2 (their
/// one or two rows 8 or 4 vectors wide: 1.5 times faster) and up to 64×64
/// at 128 lanes (but not for 2 < K < 16, a tile's few rows of many terms);
/// on AVX-512 the blocks.
#[inline(always)]
fn input_grads_path(j: usize, k: usize, n: usize, lanes: usize) -> Path {
    if lanes >= 8 || j <= 32 || k <= 2 || (j * k <= 64 * 64 && k >= 16 && n <= 128) {
        Path::Blocked
    } else {
        Path::Tiled
    }
}

/// The weight gradients' path for `J` neurons, `K` inputs and `n` lanes:
/// the plain sums for K ≤ 2, J ≤ 2 and up to 4×4 (2 to 2.5 times faster
/// there: they read the rows as they are, where the others transpose a side
/// first; on AVX-512 they transpose eight lanes at a time in registers
/// instead, 1.6 to 1.9 times faster again at 64×2 and 1×64), the blocks up
/// to 32×32 (1.2 to 1.4 times faster; not 16×64 or 64×16) on AVX2 and up to
/// 128×128 on AVX-512 (1.1 to 1.2 times), then the tiles.
#[inline(always)]
fn weight_grads_path(j: usize, k: usize, _n: usize, lanes: usize) -> Path {
    if k <= 2 || j <= 2 || j * k <= 4 * 4 {
        Path::Dots
    } else if (j <= 32 && k <= 32) || (lanes >= 8 && j <= 128 && k <= 128) {
        Path::Blocked
    } else {
        Path::Tiled
    }
}

thread_local! {
    /// The packed sides of the last product, kept for the next.
    static PACKS: RefCell<(Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// A layer's weights and biases where they lie: neuron `j`'s `K` weights
/// from `w[j·stride]`, its bias at `b[j·b_stride]`. The engine's layers
/// keep them apart ([`apart`](Weights::apart)); a model's parameters,
/// neuron by neuron, interleave them ([`interleaved`](Weights::interleaved)),
/// and the trainer's replay reads them there, with no copy.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    w: &'a [f64],
    stride: usize,
    b: &'a [f64],
    b_stride: usize,
    j: usize,
    k: usize,
}

impl<'a> Weights<'a> {
    /// `J×K` weights, row-major, and `b`'s `J` biases (none where only
    /// the input gradients read them).
    ///
    /// # Panics
    ///
    /// If `w` is shorter than `J×K`, or `b` is neither empty nor `J` long.
    pub(crate) fn apart(w: &'a [f64], b: &'a [f64], j: usize, k: usize) -> Self {
        assert!(w.len() >= j * k && (b.is_empty() || b.len() == j));
        Weights {
            w,
            stride: k,
            b,
            b_stride: 1,
            j,
            k,
        }
    }

    /// `J` neurons, each `K` weights then its bias, as a model's
    /// `parameters()` lists them.
    ///
    /// # Panics
    ///
    /// If `params` is shorter than `J×(K + 1)`.
    #[cfg_attr(
        not(feature = "nn"),
        allow(dead_code, reason = "the trainer's replay is its user")
    )]
    pub(crate) fn interleaved(params: &'a [f64], j: usize, k: usize) -> Self {
        let params = &params[..j * (k + 1)];
        Weights {
            w: params,
            stride: k + 1,
            b: params.get(k..).unwrap_or(&[]),
            b_stride: k + 1,
            j,
            k,
        }
    }

    /// Neuron `j`'s weights.
    #[inline(always)]
    fn row(&self, j: usize) -> &'a [f64] {
        &self.w[j * self.stride..][..self.k]
    }

    /// Neuron `j`'s weight of input `k`.
    #[inline(always)]
    fn at(&self, j: usize, k: usize) -> f64 {
        self.row(j)[k]
    }

    /// Neuron `j`'s bias.
    #[inline(always)]
    fn bias(&self, j: usize) -> f64 {
        self.b[j * self.b_stride]
    }
}

/// `out[j] = epilogue(b[j] + Σₖ w[j][k]·x[k])` lane by lane, the sum in `k`
/// order starting from the bias: micrograd's
/// `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`, for every point at
/// once. `out` is `J` rows of `x.width` lanes.
pub(crate) fn dense_forward(
    weights: Weights<'_>,
    x: Rows<'_>,
    out: &mut [f64],
    epilogue: Epilogue,
    arith: Arith,
) {
    assert_eq!(weights.k, x.starts.len(), "dense_forward: K");
    Forward {
        weights,
        x,
        out,
        epilogue,
        arith,
    }
    .dispatch();
}

struct Forward<'a> {
    weights: Weights<'a>,
    x: Rows<'a>,
    out: &'a mut [f64],
    epilogue: Epilogue,
    arith: Arith,
}

dispatch!(Forward);

/// Where [`dense_forward`]'s tiles go: rows are neurons, from their bias.
struct ForwardTiles<'a> {
    weights: Weights<'a>,
    out: &'a mut [f64],
    n: usize,
    relu: bool,
}

impl<V: Vector> Tiles<V> for ForwardTiles<'_> {
    #[inline(always)]
    fn init<const R: usize, const C: usize>(&self, v: V, r0: usize, _: usize) -> [[V::V; C]; R] {
        // The biases first, then a loop with no closure: see [`tile`].
        let j_count = self.weights.j;
        let bias: [f64; R] = std::array::from_fn(|r| {
            if r0 + r < j_count {
                self.weights.bias(r0 + r)
            } else {
                0.0
            }
        });
        let mut acc = [[v.splat(0.0); C]; R];
        for r in 0..R {
            acc[r] = [v.splat(bias[r]); C];
        }
        acc
    }
    #[inline(always)]
    fn store<const R: usize, const C: usize>(
        &mut self,
        v: V,
        r0: usize,
        c0: usize,
        acc: [[V::V; C]; R],
    ) {
        let (n, relu) = (self.n, self.relu);
        for (j, acc) in (r0..self.weights.j).zip(&acc) {
            let row = &mut self.out[j * n..(j + 1) * n];
            for (c, &acc) in acc.iter().enumerate() {
                let lane = c0 + c * V::LANES;
                if lane < n {
                    store_some(v, &mut row[lane..], n - lane, acc, relu);
                }
            }
        }
    }
}

impl Forward<'_> {
    #[inline(always)]
    fn run<V: Vector, T: Term>(self, v: V) {
        let Forward {
            weights,
            x,
            out,
            epilogue,
            ..
        } = self;
        let (j_count, k_count, n) = (weights.j, x.starts.len(), x.width);
        if path(forward_path(j_count, k_count, n, V::LANES)) != Path::Tiled {
            forward_blocked::<V, T>(v, weights, x, out, epilogue == Epilogue::Relu);
            return;
        }
        // Taken out, not borrowed in a closure: code in a closure that is not
        // inlined would lose the vector unit's target features.
        let (mut a_vec, mut b_vec) = PACKS.take();
        let (a, bp) = (&mut a_vec, &mut b_vec);
        {
            with_tile!(V, |R, C| {
                let width = C * V::LANES;
                pack_rows::<R>(j_count, k_count, |j, k| weights.at(j, k), a);
                let mut tiles = ForwardTiles {
                    weights,
                    out,
                    n,
                    relu: epilogue == Epilogue::Relu,
                };
                // Whole blocks read from the rows, or none; the rest packed.
                let full = if direct::<R>(j_count) {
                    n - n % width
                } else {
                    0
                };
                let (slab, starts) = (x.slab, x.starts);
                let rows = |c0: usize| starts.iter().map(move |&s| &slab[s + c0..][..width]);
                product::<V, T, R, C, _>(v, a, j_count, 0..full, k_count, rows, &mut tiles);
                pack_lanes(n - full, width, k_count, |k| &x.row(k)[full..], bp);
                let rest = packed(bp, full, k_count, width);
                product::<V, T, R, C, _>(v, a, j_count, full..n, k_count, rest, &mut tiles);
            })
        }
        PACKS.set((a_vec, b_vec));
    }
}

/// What the inputs receive: `dx[k] = Σⱼ w[j][k]·g[j]` lane by lane, over the
/// neurons from the last to the first (the order in which a per-point
/// graph's backward sweep meets them), starting from 0. `g` is `J` rows of
/// `width` lanes, `dx` is `K` rows. With a `mask` (the layer's input rows,
/// `width` lanes each) each is stored as `step(mask[k]) * dx[k]`
/// ([`math::step`]), what a ReLU before the layer passes back.
pub(crate) fn dense_input_grads(
    w: Weights<'_>,
    g: &[f64],
    width: usize,
    dx: &mut [f64],
    mask: Option<Rows<'_>>,
    arith: Arith,
) {
    InputGrads {
        w,
        g,
        width,
        dx,
        mask,
        arith,
    }
    .dispatch();
}

struct InputGrads<'a> {
    w: Weights<'a>,
    g: &'a [f64],
    width: usize,
    dx: &'a mut [f64],
    mask: Option<Rows<'a>>,
    arith: Arith,
}

dispatch!(InputGrads);

/// Where [`dense_input_grads`]' tiles go: rows are inputs, from 0.
struct InputTiles<'a> {
    dx: &'a mut [f64],
    n: usize,
    mask: Option<Rows<'a>>,
}

impl<V: Vector> Tiles<V> for InputTiles<'_> {
    #[inline(always)]
    fn init<const R: usize, const C: usize>(&self, v: V, _: usize, _: usize) -> [[V::V; C]; R] {
        [[v.splat(0.0); C]; R]
    }
    #[inline(always)]
    fn store<const R: usize, const C: usize>(
        &mut self,
        v: V,
        r0: usize,
        c0: usize,
        acc: [[V::V; C]; R],
    ) {
        let n = self.n;
        let k_count = self.dx.len() / n;
        for (k, acc) in (r0..k_count).zip(&acc) {
            let row = &mut self.dx[k * n..(k + 1) * n];
            for (c, &acc) in acc.iter().enumerate() {
                let lane = c0 + c * V::LANES;
                if lane >= n {
                    continue;
                }
                match self.mask {
                    None => store_some(v, &mut row[lane..], n - lane, acc, false),
                    Some(mask) => {
                        let mask = &mask.row(k)[lane..];
                        if n - lane >= V::LANES {
                            v.store(&mut row[lane..], v.mul(v.step(v.load(mask)), acc));
                        } else {
                            let mut spill = [0.0; 16];
                            v.store(&mut spill, acc);
                            for ((out, &m), &a) in row[lane..].iter_mut().zip(mask).zip(&spill) {
                                *out = math::step(m) * a;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl InputGrads<'_> {
    #[inline(always)]
    fn run<V: Vector, T: Term>(self, v: V) {
        let InputGrads {
            w,
            g,
            width: n,
            dx,
            mask,
            ..
        } = self;
        if n == 0 {
            return;
        }
        let (j_count, k_count) = (g.len() / n, dx.len() / n);
        if let Some(mask) = mask {
            assert!(
                mask.width == n && mask.starts.len() == k_count,
                "dense_input_grads: the mask has {} rows of {} lanes, not {k_count} of {n}",
                mask.starts.len(),
                mask.width
            );
        }
        assert!(
            w.j == j_count && w.k == k_count,
            "dense_input_grads: the weights are {}x{}, not {j_count}x{k_count}",
            w.j,
            w.k
        );
        if path(input_grads_path(j_count, k_count, n, V::LANES)) != Path::Tiled {
            input_grads_blocked::<V, T>(v, w, g, n, dx, mask);
            return;
        }
        // Taken out, not borrowed in a closure: code in a closure that is not
        // inlined would lose the vector unit's target features.
        let (mut a_vec, mut b_vec) = PACKS.take();
        let (a, b) = (&mut a_vec, &mut b_vec);
        {
            with_tile!(V, |R, C| {
                // Term `t` is neuron `J - 1 - t`: the last first.
                let neuron = |t: usize| j_count - 1 - t;
                pack_rows::<R>(k_count, j_count, |k, t| w.at(neuron(t), k), a);
                let width = C * V::LANES;
                let mut tiles = InputTiles { dx, n, mask };
                // Whole blocks read from the rows, or none; the rest packed.
                let full = if direct::<R>(k_count) {
                    n - n % width
                } else {
                    0
                };
                let rows = |c0: usize| (0..j_count).rev().map(move |j| &g[j * n + c0..][..width]);
                product::<V, T, R, C, _>(v, a, k_count, 0..full, j_count, rows, &mut tiles);
                pack_lanes(
                    n - full,
                    width,
                    j_count,
                    |t| &g[neuron(t) * n + full..][..n - full],
                    b,
                );
                let rest = packed(b, full, j_count, width);
                product::<V, T, R, C, _>(v, a, k_count, full..n, j_count, rest, &mut tiles);
            })
        }
        PACKS.set((a_vec, b_vec));
    }
}

/// Where a layer's weight gradients go: neuron `j`'s `K` from `dw[j·K]`,
/// its bias's at `db[j]` ([`apart`](GradsOut::apart), as the engine's
/// layers keep them); or each neuron's `K` then its bias's, as a model's
/// parameters list them ([`interleaved`](GradsOut::interleaved)): the
/// trainer's replay writes its gradient row so, with no copy.
pub(crate) struct GradsOut<'a> {
    /// `dw`, or the whole row when interleaved.
    w: &'a mut [f64],
    /// `db`, or `None` when interleaved.
    b: Option<&'a mut [f64]>,
    j: usize,
    k: usize,
}

impl<'a> GradsOut<'a> {
    /// `J×K` weights' gradients, row-major, and `db`'s `J` biases'.
    ///
    /// # Panics
    ///
    /// If `dw` is shorter than `J×K`.
    pub(crate) fn apart(dw: &'a mut [f64], db: &'a mut [f64], k: usize) -> Self {
        let j = db.len();
        GradsOut {
            w: &mut dw[..j * k],
            b: Some(db),
            j,
            k,
        }
    }

    /// `J` neurons' gradients, each `K` weights' then the bias's.
    ///
    /// # Panics
    ///
    /// If `row` is shorter than `J×(K + 1)`.
    #[cfg_attr(
        not(feature = "nn"),
        allow(dead_code, reason = "the trainer's replay is its user")
    )]
    pub(crate) fn interleaved(row: &'a mut [f64], j: usize, k: usize) -> Self {
        GradsOut {
            w: &mut row[..j * (k + 1)],
            b: None,
            j,
            k,
        }
    }

    /// Neuron `j`'s weights' gradients.
    #[inline(always)]
    fn row(&mut self, j: usize) -> &mut [f64] {
        let stride = if self.b.is_some() { self.k } else { self.k + 1 };
        &mut self.w[j * stride..][..self.k]
    }

    #[inline(always)]
    fn set(&mut self, j: usize, k: usize, sum: f64) {
        self.row(j)[k] = sum;
    }

    #[inline(always)]
    fn set_bias(&mut self, j: usize, sum: f64) {
        match &mut self.b {
            Some(b) => b[j] = sum,
            None => self.w[j * (self.k + 1) + self.k] = sum,
        }
    }
}

/// What the weights and biases receive: `dw[j][k] = Σₙ g[j][n]·x[k][n]` and
/// `db[j] = Σₙ g[j][n]` over the first `lanes` lanes, each summed in lane
/// order from 0, into `out`. Every sum runs on its own, so the work is
/// vectorized across weights: the longer side is packed transposed
/// (lane-major) into `scratch` and loaded as vectors, the other broadcast.
/// `g` is `J` rows of `x.width` lanes.
pub(crate) fn dense_weight_grads(
    g: &[f64],
    x: Rows<'_>,
    lanes: usize,
    out: GradsOut<'_>,
    scratch: &mut Vec<f64>,
    arith: Arith,
) {
    assert_eq!(out.k, x.starts.len(), "dense_weight_grads: K");
    WeightGrads {
        g,
        x,
        lanes,
        out,
        scratch,
        arith,
    }
    .dispatch();
}

struct WeightGrads<'a> {
    g: &'a [f64],
    x: Rows<'a>,
    lanes: usize,
    out: GradsOut<'a>,
    scratch: &'a mut Vec<f64>,
    arith: Arith,
}

dispatch!(WeightGrads);

/// Where [`dense_weight_grads`]' tiles go: into `out`, for the rows and
/// columns that exist.
struct WeightTiles<S> {
    rows: usize,
    columns: usize,
    out: S,
}

/// Where a tile's vectors of sums go.
trait TileOut {
    /// Row `r`'s sums of columns `first..first + LANES`, those below
    /// `columns`.
    fn put_vector<V: Vector>(&mut self, v: V, r: usize, first: usize, columns: usize, sums: V::V);
}

/// Rows are neurons, columns their weights: a vector's sums are stored
/// whole.
impl TileOut for GradsOut<'_> {
    #[inline(always)]
    fn put_vector<V: Vector>(&mut self, v: V, r: usize, first: usize, columns: usize, sums: V::V) {
        let row = self.row(r);
        if first + V::LANES <= columns {
            v.store(&mut row[first..], sums);
        } else {
            let mut spill = [0.0; 16];
            v.store(&mut spill, sums);
            row[first..columns].copy_from_slice(&spill[..columns - first]);
        }
    }
}

impl<T: TileOut> TileOut for &mut T {
    #[inline(always)]
    fn put_vector<V: Vector>(&mut self, v: V, r: usize, first: usize, columns: usize, sums: V::V) {
        (**self).put_vector(v, r, first, columns, sums);
    }
}

/// Each sum through `set(r, c, sum)`.
struct Each<F>(F);

impl<F: FnMut(usize, usize, f64)> TileOut for Each<F> {
    #[inline(always)]
    fn put_vector<V: Vector>(&mut self, v: V, r: usize, first: usize, columns: usize, sums: V::V) {
        let mut spill = [0.0; 16];
        v.store(&mut spill, sums);
        for (column, &sum) in (first..columns).zip(&spill[..V::LANES]) {
            (self.0)(r, column, sum);
        }
    }
}

impl<V: Vector, S: TileOut> Tiles<V> for WeightTiles<S> {
    #[inline(always)]
    fn init<const R: usize, const C: usize>(&self, v: V, _: usize, _: usize) -> [[V::V; C]; R] {
        [[v.splat(0.0); C]; R]
    }
    #[inline(always)]
    fn store<const R: usize, const C: usize>(
        &mut self,
        v: V,
        r0: usize,
        c0: usize,
        acc: [[V::V; C]; R],
    ) {
        for (r, acc) in (r0..self.rows).zip(&acc) {
            for (c, &acc) in acc.iter().enumerate() {
                let first = c0 + c * V::LANES;
                if first < self.columns {
                    self.out.put_vector(v, r, first, self.columns, acc);
                }
            }
        }
    }
}

impl WeightGrads<'_> {
    #[inline(always)]
    fn run<V: Vector, T: Term>(self, v: V) {
        let WeightGrads {
            g,
            x,
            lanes: n,
            mut out,
            scratch,
            ..
        } = self;
        let stride = x.width;
        let (j_count, k_count) = (out.j, out.k);
        let out = &mut out;
        match path(weight_grads_path(j_count, k_count, n, V::LANES)) {
            Path::Blocked => return weight_grads_blocked::<V, T>(v, g, x, n, out, scratch),
            Path::Dots => {
                #[cfg(all(feature = "simd", target_arch = "x86_64"))]
                if let Some(simd) = v.avx512()
                    && transposed::weight_grads::<T>(simd, g, x, n, out)
                {
                    return;
                }
                return weight_grads_dots::<T>(g, x, n, out);
            }
            Path::Tiled => {}
        }
        let g_row = |j: usize| &g[j * stride..][..n];
        // Taken out, not borrowed in a closure: code in a closure that is not
        // inlined would lose the vector unit's target features.
        let (mut a_vec, b_vec) = PACKS.take();
        let a = &mut a_vec;
        {
            with_tile!(V, |R, C| {
                let width = C * V::LANES;
                // Vectorize across the longer side: the inputs (x
                // transposed) or the neurons (g transposed).
                if k_count >= j_count {
                    pack_rows::<R>(j_count, n, |j, l| g[j * stride + l], a);
                    pack_columns(k_count, width, n, |k| x.row(k), scratch);
                    let mut tiles = WeightTiles {
                        rows: j_count,
                        columns: k_count,
                        out: &mut *out,
                    };
                    let columns = packed(scratch, 0, n, width);
                    product::<V, T, R, C, _>(v, a, j_count, 0..k_count, n, columns, &mut tiles);
                    // The biases: each neuron's lanes summed in lane order,
                    // the neurons side by side.
                    lane_sums(v, g, stride, n, out);
                } else {
                    // The bias is the weight of an input that is 1 in every
                    // lane (`1·g` is `g`, fused or not): one more row, of
                    // ones, after the inputs'.
                    let x_at = |k: usize, l: usize| {
                        if k < k_count {
                            x.slab[x.starts[k] + l]
                        } else {
                            1.0
                        }
                    };
                    pack_rows::<R>(k_count + 1, n, x_at, a);
                    pack_columns(j_count, width, n, g_row, scratch);
                    let set = |k: usize, j: usize, sum: f64| {
                        if k < k_count {
                            out.set(j, k, sum);
                        } else {
                            out.set_bias(j, sum);
                        }
                    };
                    let mut tiles = WeightTiles {
                        rows: k_count + 1,
                        columns: j_count,
                        out: Each(set),
                    };
                    let columns = packed(scratch, 0, n, width);
                    product::<V, T, R, C, _>(v, a, k_count + 1, 0..j_count, n, columns, &mut tiles);
                }
            })
        }
        PACKS.set((a_vec, b_vec));
    }
}

/// `sums[j] = Σₙ rows[j][n]` over the first `n` lanes of each row (`stride`
/// apart), each in lane order from 0: eight rows side by side, so that
/// eight sums advance at once (on AVX-512, as one vector).
#[inline(always)]
fn lane_sums<V: Vector>(v: V, rows: &[f64], stride: usize, n: usize, out: &mut GradsOut<'_>) {
    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    if let Some(simd) = v.avx512() {
        return transposed::lane_sums(simd, rows, stride, n, out);
    }
    let _ = v;
    const SIDE: usize = 8;
    let count = out.j;
    let mut j0 = 0;
    while j0 < count {
        let side = SIDE.min(count - j0);
        let block: [&[f64]; SIDE] =
            std::array::from_fn(|r| &rows[(j0 + r.min(side - 1)) * stride..][..n]);
        let mut acc = [0.0; SIDE];
        for l in 0..n {
            for (a, row) in acc.iter_mut().zip(&block) {
                *a += row[l];
            }
        }
        for (r, &sum) in acc[..side].iter().enumerate() {
            out.set_bias(j0 + r, sum);
        }
        j0 += side;
    }
}

/// Which loops a kernel runs: the register blocks that read the rows as
/// they are ([`Path::Blocked`]), or the packed panels and tiles
/// ([`Path::Tiled`]). Both give the same bits; the blocks cost nothing
/// before their first term, so they win where the sums are short or few.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Blocked,
    Tiled,
    /// [`weight_grads_dots`] (the other kernels take the blocks).
    Dots,
}

#[cfg(test)]
thread_local! {
    /// The path the tests make every kernel take, or `None` for the shape's.
    static FORCE: std::cell::Cell<Option<Path>> = const { std::cell::Cell::new(None) };
}

/// `auto`, unless a test forces a path.
#[inline(always)]
fn path(auto: Path) -> Path {
    #[cfg(test)]
    if let Some(forced) = FORCE.get() {
        return forced;
    }
    auto
}

/// Runs `$block::<V, T, R>(args)` for the `R = $rows` rows left after the
/// whole blocks (fewer than eight), so that they too share one pass.
macro_rules! last_rows {
    ($rows:expr, $block:ident($($arg:expr),* $(,)?)) => {
        match $rows {
            1 => $block::<V, T, 1>($($arg),*),
            2 => $block::<V, T, 2>($($arg),*),
            3 => $block::<V, T, 3>($($arg),*),
            4 => $block::<V, T, 4>($($arg),*),
            5 => $block::<V, T, 5>($($arg),*),
            6 => $block::<V, T, 6>($($arg),*),
            7 => $block::<V, T, 7>($($arg),*),
            _ => {}
        }
    };
}

/// Rows (neurons or inputs) per register block of the blocked path, each
/// two vectors wide: 8 in AVX-512's 32 registers, 4 in AVX2's 16.
#[inline(always)]
fn block_rows<V: Vector>() -> usize {
    if V::LANES >= 8 { 8 } else { 4 }
}

/// [`dense_forward`] in register blocks, reading `w` and the rows as they
/// are.
#[inline(always)]
fn forward_blocked<V: Vector, T: Term>(
    v: V,
    weights: Weights<'_>,
    x: Rows<'_>,
    out: &mut [f64],
    relu: bool,
) {
    let j_count = weights.j;
    let rows = block_rows::<V>();
    let full = j_count - j_count % rows;
    for j0 in (0..full).step_by(rows) {
        match rows {
            8 => forward_block::<V, T, 8>(v, weights, x, out, j0, relu),
            _ => forward_block::<V, T, 4>(v, weights, x, out, j0, relu),
        }
    }
    last_rows!(
        j_count - full,
        forward_block(v, weights, x, out, full, relu)
    );
}

/// Neurons `j0..j0 + R` of [`forward_blocked`]: a block of lanes `C`
/// vectors wide, with `C` wider for fewer rows, so that at least six sums
/// advance side by side; then two vectors; then one (AVX-512's rows of
/// 104 lanes end in one: a lane at a time there made the 64×64 layers of
/// a 100-point step 2 to 3 times slower); then a lane at a time.
#[inline(always)]
fn forward_block<V: Vector, T: Term, const R: usize>(
    v: V,
    weights: Weights<'_>,
    x: Rows<'_>,
    out: &mut [f64],
    j0: usize,
    relu: bool,
) {
    let n = x.width;
    let w_rows: [&[f64]; R] = std::array::from_fn(|r| weights.row(j0 + r));
    let b: [f64; R] = std::array::from_fn(|r| weights.bias(j0 + r));
    let mut lane = 0;
    match R {
        1 => lane = forward_lanes::<V, T, R, 8>(v, &w_rows, &b, x, out, j0, relu, lane),
        2 => lane = forward_lanes::<V, T, R, 4>(v, &w_rows, &b, x, out, j0, relu, lane),
        _ => {}
    }
    lane = forward_lanes::<V, T, R, 2>(v, &w_rows, &b, x, out, j0, relu, lane);
    lane = forward_lanes::<V, T, R, 1>(v, &w_rows, &b, x, out, j0, relu, lane);
    for (r, w_row) in w_rows.iter().enumerate() {
        for l in lane..n {
            let mut acc = b[r];
            for (k, &wjk) in w_row.iter().enumerate() {
                acc = T::scalar(acc, wjk, x.row(k)[l]);
            }
            out[(j0 + r) * n + l] = if relu { math::relu(acc) } else { acc };
        }
    }
}

/// The lanes of [`forward_block`] from `lane` in blocks `C` vectors wide;
/// returns the first lane left.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the block's parts")]
fn forward_lanes<V: Vector, T: Term, const R: usize, const C: usize>(
    v: V,
    w_rows: &[&[f64]; R],
    b: &[f64; R],
    x: Rows<'_>,
    out: &mut [f64],
    j0: usize,
    relu: bool,
    mut lane: usize,
) -> usize {
    let (k_count, n) = (x.starts.len(), x.width);
    let step = C * V::LANES;
    while lane + step <= n {
        let mut acc: [[V::V; C]; R] = [[v.splat(0.0); C]; R];
        for r in 0..R {
            acc[r] = [v.splat(b[r]); C];
        }
        for k in 0..k_count {
            let xk = &x.row(k)[lane..lane + step];
            let mut loaded = [v.splat(0.0); C];
            for (c, at) in loaded.iter_mut().enumerate() {
                *at = v.load(&xk[c * V::LANES..]);
            }
            for (acc, w_row) in acc.iter_mut().zip(w_rows) {
                let wjk = v.splat(w_row[k]);
                for (acc, &xv) in acc.iter_mut().zip(&loaded) {
                    *acc = T::term(v, *acc, wjk, xv);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let o = &mut out[(j0 + r) * n + lane..(j0 + r) * n + lane + step];
            for (c, &acc) in acc.iter().enumerate() {
                store_some(v, &mut o[c * V::LANES..], V::LANES, acc, relu);
            }
        }
        lane += step;
    }
    lane
}

/// [`dense_input_grads`] in register blocks, reading `w` and `g` as they
/// are.
#[inline(always)]
fn input_grads_blocked<V: Vector, T: Term>(
    v: V,
    w: Weights<'_>,
    g: &[f64],
    n: usize,
    dx: &mut [f64],
    mask: Option<Rows<'_>>,
) {
    let k_count = dx.len() / n;
    if g.len() / n == 1 {
        return input_grads_one::<V, T>(v, w, g, n, dx, mask);
    }
    let rows = block_rows::<V>();
    let full = k_count - k_count % rows;
    for k0 in (0..full).step_by(rows) {
        match rows {
            8 => input_grads_block::<V, T, 8>(v, w, g, n, dx, k0, mask),
            _ => input_grads_block::<V, T, 4>(v, w, g, n, dx, k0, mask),
        }
    }
    last_rows!(
        k_count - full,
        input_grads_block(v, w, g, n, dx, full, mask)
    );
}

/// [`input_grads_blocked`] for one neuron (an output layer): each input's
/// lanes are `0 + w[k]·g`, masked, a stream with no sums to keep in
/// registers.
#[inline(always)]
fn input_grads_one<V: Vector, T: Term>(
    v: V,
    w: Weights<'_>,
    g: &[f64],
    n: usize,
    dx: &mut [f64],
    mask: Option<Rows<'_>>,
) {
    let g = &g[..n];
    let full = n - n % V::LANES;
    let zero = v.splat(0.0);
    for (k, (&wk, out)) in w.row(0).iter().zip(dx.chunks_exact_mut(n)).enumerate() {
        let wv = v.splat(wk);
        match mask {
            None => {
                for l in (0..full).step_by(V::LANES) {
                    v.store(&mut out[l..], T::term(v, zero, wv, v.load(&g[l..])));
                }
                for l in full..n {
                    out[l] = T::scalar(0.0, wk, g[l]);
                }
            }
            Some(mask) => {
                let m = &mask.row(k)[..n];
                for l in (0..full).step_by(V::LANES) {
                    let on = v.step(v.load(&m[l..]));
                    v.store(
                        &mut out[l..],
                        v.mul(on, T::term(v, zero, wv, v.load(&g[l..]))),
                    );
                }
                for l in full..n {
                    out[l] = math::step(m[l]) * T::scalar(0.0, wk, g[l]);
                }
            }
        }
    }
}

/// Inputs `k0..k0 + R` of [`input_grads_blocked`]: lanes in blocks as
/// [`forward_block`]'s.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the block's parts")]
fn input_grads_block<V: Vector, T: Term, const R: usize>(
    v: V,
    w: Weights<'_>,
    g: &[f64],
    n: usize,
    dx: &mut [f64],
    k0: usize,
    mask: Option<Rows<'_>>,
) {
    let j_count = g.len() / n;
    let mut lane = 0;
    match R {
        1 => lane = input_grads_lanes::<V, T, R, 8>(v, w, g, n, dx, k0, mask, lane),
        2 => lane = input_grads_lanes::<V, T, R, 4>(v, w, g, n, dx, k0, mask, lane),
        _ => {}
    }
    lane = input_grads_lanes::<V, T, R, 2>(v, w, g, n, dx, k0, mask, lane);
    lane = input_grads_lanes::<V, T, R, 1>(v, w, g, n, dx, k0, mask, lane);
    for r in 0..R {
        for l in lane..n {
            let mut acc = 0.0;
            for j in (0..j_count).rev() {
                acc = T::scalar(acc, w.at(j, k0 + r), g[j * n + l]);
            }
            if let Some(mask) = mask {
                acc *= math::step(mask.row(k0 + r)[l]);
            }
            dx[(k0 + r) * n + l] = acc;
        }
    }
}

/// The lanes of [`input_grads_block`] from `lane` in blocks `C` vectors
/// wide; returns the first lane left.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the block's parts")]
fn input_grads_lanes<V: Vector, T: Term, const R: usize, const C: usize>(
    v: V,
    w: Weights<'_>,
    g: &[f64],
    n: usize,
    dx: &mut [f64],
    k0: usize,
    mask: Option<Rows<'_>>,
    mut lane: usize,
) -> usize {
    let j_count = g.len() / n;
    let step = C * V::LANES;
    while lane + step <= n {
        let mut acc: [[V::V; C]; R] = [[v.splat(0.0); C]; R];
        for j in (0..j_count).rev() {
            let gj = &g[j * n + lane..j * n + lane + step];
            let mut loaded = [v.splat(0.0); C];
            for (c, at) in loaded.iter_mut().enumerate() {
                *at = v.load(&gj[c * V::LANES..]);
            }
            let w_row = &w.row(j)[k0..k0 + R];
            for (acc, &wjk) in acc.iter_mut().zip(w_row) {
                let wjk = v.splat(wjk);
                for (acc, &gv) in acc.iter_mut().zip(&loaded) {
                    *acc = T::term(v, *acc, wjk, gv);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let o = &mut dx[(k0 + r) * n + lane..(k0 + r) * n + lane + step];
            match mask {
                None => {
                    for (c, &acc) in acc.iter().enumerate() {
                        v.store(&mut o[c * V::LANES..], acc);
                    }
                }
                Some(mask) => {
                    let m = &mask.row(k0 + r)[lane..lane + step];
                    for (c, &acc) in acc.iter().enumerate() {
                        let on = v.step(v.load(&m[c * V::LANES..]));
                        v.store(&mut o[c * V::LANES..], v.mul(on, acc));
                    }
                }
            }
        }
        lane += step;
    }
    lane
}

/// [`dense_weight_grads`] in register blocks: the longer side transposed
/// (lane-major) into `scratch`, each lane adding its outer product to a
/// block of sums.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the kernel's parts")]
fn weight_grads_blocked<V: Vector, T: Term>(
    v: V,
    g: &[f64],
    x: Rows<'_>,
    n: usize,
    out: &mut GradsOut<'_>,
    scratch: &mut Vec<f64>,
) {
    let stride = x.width;
    let (j_count, k_count) = (out.j, out.k);
    let block = 2 * V::LANES;
    if k_count >= j_count {
        let cols = k_count.next_multiple_of(block);
        // Every real entry is written; the padding's sums are dropped.
        scratch.resize(n * cols, 0.0);
        transpose(v, |k| x.row(k), k_count, n, scratch, cols);
        let g_row = |j: usize| &g[j * stride..j * stride + n];
        outer_sums::<V, T>(v, g_row, j_count, scratch, cols, k_count, n, out);
        lane_sums(v, g, stride, n, out);
    } else {
        // The bias is the weight of an input that is 1 in every lane: one
        // more row, of ones, after the inputs'.
        let cols = j_count.next_multiple_of(block);
        scratch.resize(n * cols + n, 0.0);
        let (gt, ones) = scratch.split_at_mut(n * cols);
        transpose(
            v,
            |j| &g[j * stride..(j + 1) * stride],
            j_count,
            n,
            gt,
            cols,
        );
        ones.fill(1.0);
        let ones = &*ones;
        let x_row = |k: usize| if k < k_count { &x.row(k)[..n] } else { ones };
        let mut out = Each(|k: usize, j: usize, value| {
            if k < k_count {
                out.set(j, k, value);
            } else {
                out.set_bias(j, value);
            }
        });
        outer_sums::<V, T>(v, x_row, k_count + 1, gt, cols, j_count, n, &mut out);
    }
}

/// `t[l][r] = row(r)[l]` for `r < rows`, `l < n`: rows of lanes into lanes
/// of rows (`cols` wide), in tiles of eight lanes so that reads and writes
/// stay in the cache; on AVX-512, blocks of eight by eight through
/// registers.
#[inline(always)]
fn transpose<'r, V: Vector>(
    v: V,
    row: impl Fn(usize) -> &'r [f64],
    rows: usize,
    n: usize,
    t: &mut [f64],
    cols: usize,
) {
    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    if let Some(simd) = v.avx512() {
        return transposed::transpose(simd, row, rows, n, t, cols);
    }
    let _ = v;
    const TILE: usize = 8;
    for (l0, t_tile) in (0..n).step_by(TILE).zip(t.chunks_mut(TILE * cols)) {
        let tile = TILE.min(n - l0);
        for r in 0..rows {
            let lanes = &row(r)[l0..l0 + tile];
            for (&value, t_row) in lanes.iter().zip(t_tile.chunks_exact_mut(cols)) {
                t_row[r] = value;
            }
        }
    }
}

/// `Σₙ a(r)[n]·bt[n][c]` into `out` for every row `r < rows` and column
/// `c < columns` of `bt` (lane-major, `cols` wide: `columns` padded to a
/// multiple of two vectors), each sum in lane order from 0.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the product's parts")]
fn outer_sums<'r, V: Vector, T: Term>(
    v: V,
    a: impl Fn(usize) -> &'r [f64],
    rows: usize,
    bt: &[f64],
    cols: usize,
    columns: usize,
    n: usize,
    out: &mut impl TileOut,
) {
    let block = block_rows::<V>();
    let full = rows - rows % block;
    for r0 in (0..full).step_by(block) {
        match block {
            8 => outer_sums_block::<V, T, 8>(v, &a, r0, bt, cols, columns, n, out),
            _ => outer_sums_block::<V, T, 4>(v, &a, r0, bt, cols, columns, n, out),
        }
    }
    // The last rows together, so that their sums interleave.
    last_rows!(
        rows - full,
        outer_sums_block(v, &a, full, bt, cols, columns, n, out)
    );
}

/// Rows `r0..r0 + R` of [`outer_sums`].
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the product's parts")]
fn outer_sums_block<'r, V: Vector, T: Term, const R: usize>(
    v: V,
    a: &impl Fn(usize) -> &'r [f64],
    r0: usize,
    bt: &[f64],
    cols: usize,
    columns: usize,
    n: usize,
    out: &mut impl TileOut,
) {
    let a_rows: [&[f64]; R] = std::array::from_fn(|r| &a(r0 + r)[..n]);
    for c0 in (0..columns).step_by(2 * V::LANES) {
        let acc = outer_sums_lanes::<V, T, R>(v, &a_rows, bt, cols, c0, n);
        for (r, acc) in acc.iter().enumerate() {
            for (first, &sums) in (c0..columns).step_by(V::LANES).zip(acc) {
                out.put_vector(v, r0 + r, first, columns, sums);
            }
        }
    }
}

/// The sums of one block of [`outer_sums`], kept in registers: returned by
/// value, so that no store in the loop can keep them in memory.
#[inline(always)]
fn outer_sums_lanes<V: Vector, T: Term, const R: usize>(
    v: V,
    a_rows: &[&[f64]; R],
    bt: &[f64],
    cols: usize,
    c0: usize,
    n: usize,
) -> [[V::V; 2]; R] {
    let block = 2 * V::LANES;
    let mut acc: [[V::V; 2]; R] = [[v.splat(0.0); 2]; R];
    for l in 0..n {
        let bl = &bt[l * cols + c0..l * cols + c0 + block];
        let (b0, b1) = (v.load(bl), v.load(&bl[V::LANES..]));
        for (acc, a_row) in acc.iter_mut().zip(a_rows) {
            let av = v.splat(a_row[l]);
            acc[0] = T::term(v, acc[0], av, b0);
            acc[1] = T::term(v, acc[1], av, b1);
        }
    }
    acc
}

/// [`dense_weight_grads`] one number at a time, with no transpose: each
/// sum runs down its two rows in lane order, `RA` neurons × `RB` inputs
/// (and the neurons' biases) side by side. For one neuron (an output
/// layer) or one or two inputs (a first layer on points in the plane),
/// where the transpose would cost more than the sums.
#[inline(always)]
fn weight_grads_dots<T: Term>(g: &[f64], x: Rows<'_>, n: usize, out: &mut GradsOut<'_>) {
    let (j_count, k_count) = (out.j, out.k);
    let mut out = DotsOut { g, x, n, out };
    if k_count <= 2 {
        // Every input at once, four neurons at a time.
        let mut j0 = 0;
        while j0 < j_count {
            let ra = (j_count - j0).min(4);
            match (ra, k_count) {
                (4, 2) => out.block::<T, 4, 2>(j0, 0),
                (3, 2) => out.block::<T, 3, 2>(j0, 0),
                (2, 2) => out.block::<T, 2, 2>(j0, 0),
                (1, 2) => out.block::<T, 1, 2>(j0, 0),
                (4, 1) => out.block::<T, 4, 1>(j0, 0),
                (3, 1) => out.block::<T, 3, 1>(j0, 0),
                (2, 1) => out.block::<T, 2, 1>(j0, 0),
                (1, 1) => out.block::<T, 1, 1>(j0, 0),
                (4, _) => out.block::<T, 4, 0>(j0, 0),
                (3, _) => out.block::<T, 3, 0>(j0, 0),
                (2, _) => out.block::<T, 2, 0>(j0, 0),
                _ => out.block::<T, 1, 0>(j0, 0),
            }
            j0 += ra;
        }
    } else {
        // One neuron at a time, eight inputs at a time.
        for j in 0..j_count {
            let mut k0 = 0;
            while k0 < k_count {
                let rb = (k_count - k0).min(8);
                match rb {
                    8 => out.block::<T, 1, 8>(j, k0),
                    7 => out.block::<T, 1, 7>(j, k0),
                    6 => out.block::<T, 1, 6>(j, k0),
                    5 => out.block::<T, 1, 5>(j, k0),
                    4 => out.block::<T, 1, 4>(j, k0),
                    3 => out.block::<T, 1, 3>(j, k0),
                    2 => out.block::<T, 1, 2>(j, k0),
                    _ => out.block::<T, 1, 1>(j, k0),
                }
                k0 += rb;
            }
        }
    }
}

/// What [`weight_grads_dots`] reads and writes.
struct DotsOut<'a, 'b> {
    g: &'a [f64],
    x: Rows<'a>,
    n: usize,
    out: &'a mut GradsOut<'b>,
}

impl DotsOut<'_, '_> {
    /// The weights of neurons `j0..j0 + RA` and inputs `k0..k0 + RB`, and,
    /// from the block at input 0, the neurons' biases.
    #[inline(always)]
    fn block<T: Term, const RA: usize, const RB: usize>(&mut self, j0: usize, k0: usize) {
        let (n, stride) = (self.n, self.x.width);
        let g = self.g;
        let a: [&[f64]; RA] = std::array::from_fn(|r| &g[(j0 + r) * stride..][..n]);
        let b: [&[f64]; RB] = std::array::from_fn(|r| &self.x.row(k0 + r)[..n]);
        let mut acc = [[0.0; RB]; RA];
        let mut bias = [0.0; RA];
        for l in 0..n {
            for r in 0..RA {
                let gl = a[r][l];
                for c in 0..RB {
                    acc[r][c] = T::scalar(acc[r][c], gl, b[c][l]);
                }
                bias[r] += gl;
            }
        }
        for r in 0..RA {
            self.out.row(j0 + r)[k0..][..RB].copy_from_slice(&acc[r]);
            if k0 == 0 {
                self.out.set_bias(j0 + r, bias[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every kernel in both modes against the sums written out plainly in
    //! the documented orders, one number at a time, bit for bit.

    use super::*;

    /// xorshift64*: numbers for the tests, the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        /// Mostly in (-2, 2), with a few NaN, ±inf, ±0 and tiny values when
        /// `special`.
        fn value(&mut self, special: bool) -> f64 {
            if special && self.below(40) == 0 {
                [
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    -0.0,
                    0.0,
                    1e-310,
                ][self.below(6)]
            } else {
                (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
            }
        }
        fn values(&mut self, n: usize, special: bool) -> Vec<f64> {
            (0..n).map(|_| self.value(special)).collect()
        }
    }

    /// A layer's weights (`J×K`) and biases as a model's parameters list
    /// them: each neuron's `K` weights, then its bias.
    fn interleave(w: &[f64], b: &[f64], k: usize) -> Vec<f64> {
        b.iter()
            .enumerate()
            .flat_map(|(j, &bias)| w[j * k..(j + 1) * k].iter().copied().chain([bias]))
            .collect()
    }

    /// One term of a reference sum, in the mode's arithmetic.
    fn term(arith: Arith, acc: f64, w: f64, x: f64) -> f64 {
        match arith {
            Arith::Exact => acc + w * x,
            Arith::Fused => w.mul_add(x, acc),
        }
    }

    /// Equal bits, or both NaN (Rust does not fix a NaN's payload).
    fn assert_same(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{what}: [{i}] is {g:e} ({:#x}), the reference gives {w:e} ({:#x})",
                g.to_bits(),
                w.to_bits()
            );
        }
    }

    /// `count` rows of `width` lanes at random places in a slab.
    fn rows(rng: &mut Rng, count: usize, width: usize, special: bool) -> (Vec<f64>, Vec<usize>) {
        let len = (count + 2) * width + 40;
        let slab = rng.values(len, special);
        let starts = (0..count).map(|_| rng.below(len - width + 1)).collect();
        (slab, starts)
    }

    /// A shape: J and K small or one of the layer widths, lanes 1..=300.
    fn shape(rng: &mut Rng) -> (usize, usize, usize) {
        let side = |rng: &mut Rng| {
            if rng.below(4) == 0 {
                [64, 128, 256][rng.below(3)]
            } else {
                1 + rng.below(20)
            }
        };
        // A third of the shapes on the paths' thresholds (and one past).
        const EDGES: [(usize, usize, usize); 13] = [
            (32, 32, 0),
            (33, 32, 0),
            (64, 64, 128),
            (64, 64, 129),
            (2, 5, 0),
            (3, 5, 0),
            (4, 4, 0),
            (4, 5, 0),
            (16, 16, 0),
            (16, 17, 0),
            (33, 16, 128),
            (40, 2, 0),
            (40, 3, 0),
        ];
        if rng.below(3) == 0 {
            let (j, k, lanes) = EDGES[rng.below(EDGES.len())];
            let lanes = if lanes == 0 {
                1 + rng.below(130)
            } else {
                lanes
            };
            return (j, k, lanes);
        }
        let (j, k) = (side(rng), side(rng));
        // Keep the large products few lanes wide, so the test stays quick.
        let lanes = if j * k > 4096 {
            1 + rng.below(40)
        } else {
            1 + rng.below(300)
        };
        (j, k, lanes)
    }

    const MODES: [Arith; 2] = [Arith::Exact, Arith::Fused];

    /// The shape's own path, then each path forced.
    const PATHS: [Option<Path>; 4] = [
        None,
        Some(Path::Blocked),
        Some(Path::Tiled),
        Some(Path::Dots),
    ];

    #[test]
    fn forward_is_the_sum_from_the_bias_in_input_order() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..300 {
            let special = case % 2 == 1;
            let (j_count, k_count, n) = shape(&mut rng);
            let w = rng.values(j_count * k_count, special);
            let b = rng.values(j_count, special);
            let (slab, starts) = rows(&mut rng, k_count, n, special);
            let x = Rows {
                slab: &slab,
                starts: &starts,
                width: n,
            };
            for arith in MODES {
                for epilogue in [Epilogue::None, Epilogue::Relu] {
                    let mut want = vec![0.0; j_count * n];
                    for j in 0..j_count {
                        for l in 0..n {
                            let mut acc = b[j];
                            for k in 0..k_count {
                                acc = term(arith, acc, w[j * k_count + k], slab[starts[k] + l]);
                            }
                            // micrograd's ReLU, written out.
                            if epilogue == Epilogue::Relu && acc < 0.0 {
                                acc = 0.0;
                            }
                            want[j * n + l] = acc;
                        }
                    }
                    let params = interleave(&w, &b, k_count);
                    let layouts = [
                        Weights::apart(&w, &b, j_count, k_count),
                        Weights::interleaved(&params, j_count, k_count),
                    ];
                    for (force, weights) in PATHS.into_iter().flat_map(|f| layouts.map(|l| (f, l)))
                    {
                        FORCE.set(force);
                        // A longer output than the rows need keeps its tail.
                        let mut got = vec![7.0; j_count * n + 3];
                        dense_forward(weights, x, &mut got, epilogue, arith);
                        FORCE.set(None);
                        assert_same(&got[j_count * n..], &[7.0; 3], "forward's tail");
                        let what = format!(
                            "forward {j_count}x{k_count}x{n} {arith:?} {epilogue:?} {force:?} stride {}",
                            weights.stride
                        );
                        assert_same(&got[..j_count * n], &want, &what);
                    }
                }
            }
        }
    }

    #[test]
    fn input_grads_are_the_sums_from_the_last_neuron_masked() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..300 {
            let special = case % 2 == 1;
            let (j_count, k_count, n) = shape(&mut rng);
            let w = rng.values(j_count * k_count, special);
            let g = rng.values(j_count * n, special);
            // The mask: previous ReLU outputs, so mostly ≥ 0, with some
            // negative values, -0.0 and NaN all the same.
            let (slab, starts) = rows(&mut rng, k_count, n, true);
            let mask = Rows {
                slab: &slab,
                starts: &starts,
                width: n,
            };
            for arith in MODES {
                for masked in [false, true] {
                    let mut want = vec![0.0; k_count * n];
                    for k in 0..k_count {
                        for l in 0..n {
                            let mut acc = 0.0;
                            for j in (0..j_count).rev() {
                                acc = term(arith, acc, w[j * k_count + k], g[j * n + l]);
                            }
                            if masked {
                                let on = slab[starts[k] + l] > 0.0;
                                acc *= if on { 1.0 } else { 0.0 };
                            }
                            want[k * n + l] = acc;
                        }
                    }
                    let mask = masked.then_some(mask);
                    // The biases are not read: NaN in the interleaved ones.
                    let params = interleave(&w, &vec![f64::NAN; j_count], k_count);
                    let layouts = [
                        Weights::apart(&w, &[], j_count, k_count),
                        Weights::interleaved(&params, j_count, k_count),
                    ];
                    for (force, weights) in PATHS.into_iter().flat_map(|f| layouts.map(|l| (f, l)))
                    {
                        FORCE.set(force);
                        let mut got = vec![7.0; k_count * n];
                        dense_input_grads(weights, &g, n, &mut got, mask, arith);
                        FORCE.set(None);
                        let what = format!(
                            "input grads {j_count}x{k_count}x{n} {arith:?} mask {masked} {force:?} stride {}",
                            weights.stride
                        );
                        assert_same(&got, &want, &what);
                    }
                }
            }
        }
    }

    #[test]
    fn weight_grads_are_the_sums_in_lane_order() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut scratch = Vec::new();
        for case in 0..300 {
            let special = case % 2 == 1;
            let (j_count, k_count, width) = shape(&mut rng);
            let lanes = 1 + rng.below(width);
            let g = rng.values(j_count * width, special);
            let (slab, starts) = rows(&mut rng, k_count, width, special);
            let x = Rows {
                slab: &slab,
                starts: &starts,
                width,
            };
            for arith in MODES {
                let mut want_dw = vec![0.0; j_count * k_count];
                let mut want_db = vec![0.0; j_count];
                for j in 0..j_count {
                    for k in 0..k_count {
                        let mut acc = 0.0;
                        for l in 0..lanes {
                            acc = term(arith, acc, g[j * width + l], slab[starts[k] + l]);
                        }
                        want_dw[j * k_count + k] = acc;
                    }
                    want_db[j] = g[j * width..j * width + lanes]
                        .iter()
                        .fold(0.0, |acc, &g| acc + g);
                }
                for force in PATHS {
                    FORCE.set(force);
                    let mut dw = vec![7.0; j_count * k_count];
                    let mut db = vec![7.0; j_count];
                    let out = GradsOut::apart(&mut dw, &mut db, k_count);
                    dense_weight_grads(&g, x, lanes, out, &mut scratch, arith);
                    // As a model's gradient row, with a number past it.
                    let mut row = vec![7.0; j_count * (k_count + 1) + 1];
                    let out = GradsOut::interleaved(&mut row, j_count, k_count);
                    dense_weight_grads(&g, x, lanes, out, &mut scratch, arith);
                    FORCE.set(None);
                    let what =
                        format!("weight grads {j_count}x{k_count}x{lanes} {arith:?} {force:?}");
                    assert_same(&dw, &want_dw, &what);
                    assert_same(&db, &want_db, &format!("bias grads of {what}"));
                    let want_row = interleave(&want_dw, &want_db, k_count);
                    assert_same(
                        &row[..want_row.len()],
                        &want_row,
                        &format!("{what}, interleaved"),
                    );
                    assert_same(
                        &row[want_row.len()..],
                        &[7.0],
                        &format!("{what}: past the row"),
                    );
                }
            }
        }
    }

    #[test]
    fn no_inputs_give_the_bias_and_no_neurons_give_zero() {
        let x = Rows {
            slab: &[],
            starts: &[],
            width: 5,
        };
        for weights in [
            Weights::apart(&[], &[-1.5, 2.0], 2, 0),
            Weights::interleaved(&[-1.5, 2.0], 2, 0),
        ] {
            let mut out = vec![7.0; 10];
            dense_forward(weights, x, &mut out, Epilogue::Relu, Arith::Fused);
            assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        }
        for weights in [
            Weights::apart(&[], &[], 0, 2),
            Weights::interleaved(&[], 0, 2),
        ] {
            let mut dx = vec![7.0; 10];
            dense_input_grads(weights, &[], 5, &mut dx, None, Arith::Exact);
            assert_eq!(dx, [0.0; 10]);
        }
    }

    /// The GFLOP/s of each kernel at the layer shapes, beside the peak of
    /// one core's fused multiply-adds:
    /// `taskset -c 0 cargo test -p micrograd --release --lib kernels::tests::speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn speed() {
        use std::hint::black_box;
        use std::time::Instant;

        /// The median seconds of one call to `f`.
        fn median(mut f: impl FnMut()) -> f64 {
            let start = Instant::now();
            f();
            let once = start.elapsed().as_secs_f64().max(1e-7);
            let reps = ((2e-3 / once) as usize).max(1);
            let mut samples: Vec<f64> = (0..21)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..reps {
                        f();
                    }
                    start.elapsed().as_secs_f64() / reps as f64
                })
                .collect();
            samples.sort_by(f64::total_cmp);
            samples[samples.len() / 2]
        }

        println!(
            "peak (12 independent fused multiply-adds): {:.1} GFLOP/s",
            fma_peak()
        );
        let mut rng = Rng(1);
        let mut scratch = Vec::new();
        // MICROGRAD_SPEED_SHAPES="16x2,1x16" picks shapes.
        let all = [
            (16, 2),
            (16, 16),
            (1, 16),
            (32, 2),
            (32, 32),
            (1, 32),
            (64, 2),
            (64, 64),
            (1, 64),
            (128, 128),
            (1, 128),
            (256, 256),
        ];
        let shapes: Vec<(usize, usize)> = match std::env::var("MICROGRAD_SPEED_SHAPES") {
            Ok(list) => list
                .split(',')
                .map(|s| {
                    let (j, k) = s.split_once('x').expect("JxK");
                    (j.parse().expect("J"), k.parse().expect("K"))
                })
                .collect(),
            Err(_) => all.to_vec(),
        };
        for (j_count, k_count) in shapes {
            for lanes in [100_usize, 256] {
                let stride = lanes.next_multiple_of(8);
                let w = rng.values(j_count * k_count, false);
                let b = rng.values(j_count, false);
                let slab = rng.values(k_count * stride, false);
                let starts: Vec<usize> = (0..k_count).map(|k| k * stride).collect();
                let x = Rows {
                    slab: &slab,
                    starts: &starts,
                    width: stride,
                };
                let g = rng.values(j_count * stride, false);
                let (mut out, mut dx) = (vec![0.0; j_count * stride], vec![0.0; k_count * stride]);
                let (mut dw, mut db) = (vec![0.0; j_count * k_count], vec![0.0; j_count]);
                let flop =
                    |lanes: usize, secs: f64| 2.0 * (j_count * k_count * lanes) as f64 / secs / 1e9;
                for (arith, force) in MODES
                    .into_iter()
                    .flat_map(|arith| PATHS.map(|force| (arith, force)))
                {
                    FORCE.set(force);
                    let forward = median(|| {
                        let weights = Weights::apart(&w, &b, j_count, k_count);
                        dense_forward(weights, x, black_box(&mut out), Epilogue::None, arith)
                    });
                    let input = median(|| {
                        let weights = Weights::apart(&w, &[], j_count, k_count);
                        dense_input_grads(weights, &g, stride, black_box(&mut dx), None, arith)
                    });
                    let weight = median(|| {
                        let out = GradsOut::apart(black_box(&mut dw), &mut db, k_count);
                        dense_weight_grads(&g, x, lanes, out, &mut scratch, arith)
                    });
                    FORCE.set(None);
                    let force = match force {
                        None => "auto",
                        Some(Path::Blocked) => "blocked",
                        Some(Path::Tiled) => "tiled",
                        Some(Path::Dots) => "dots",
                    };
                    println!(
                        "{j_count:>3}x{k_count:<3} lanes {lanes:>3} (rows {stride:>3}) {arith:?} {force:>7}: forward {:5.1}  input grads {:5.1}  weight grads {:5.1} GFLOP/s",
                        flop(stride, forward),
                        flop(stride, input),
                        flop(lanes, weight)
                    );
                }
            }
        }
    }

    /// One core's fused multiply-adds per second, from registers: twelve
    /// independent sums, many times over.
    fn fma_peak() -> f64 {
        #[cfg(feature = "simd")]
        {
            struct Peak;
            impl pulp::WithSimd for Peak {
                type Output = f64;
                #[inline(always)]
                fn with_simd<S: pulp::Simd>(self, s: S) -> f64 {
                    let v = Pulp(s);
                    let (m, c) = (v.splat(std::hint::black_box(0.999_999)), v.splat(1e-9));
                    let mut acc = [v.splat(1.0); 12];
                    let iterations = 20_000_000;
                    let start = std::time::Instant::now();
                    for _ in 0..iterations {
                        for a in &mut acc {
                            *a = v.mul_add(*a, m, c);
                        }
                    }
                    let secs = start.elapsed().as_secs_f64();
                    std::hint::black_box(acc);
                    (2 * 12 * Pulp::<S>::LANES * iterations) as f64 / secs / 1e9
                }
            }
            pulp::Arch::new().dispatch(Peak)
        }
        #[cfg(not(feature = "simd"))]
        0.0
    }
}
