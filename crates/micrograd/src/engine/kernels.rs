//! The kernels of a layer over a batch: forward, and the gradients of its
//! inputs, weights and biases, blocked so that the accumulators stay in
//! vector registers. With the `simd` feature they are compiled for the
//! widest vector unit the CPU has (AVX-512, AVX2), chosen at run time by
//! `pulp`; without it, for one number at a time.
//!
//! The vector width never changes a result: every lane (and every weight)
//! is summed in its own fixed order. No kernel uses a fused multiply-add,
//! forward or backward: each term is multiplied, rounded, then added, as
//! the per-point graph's `*` and `+` do it. So the bits are the same on
//! every CPU and in WebAssembly (which has no fused multiply-add, so
//! `f64::mul_add` there is libm's exact, and slow, software `fma`), with or
//! without the `simd` feature.
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

/// Runs `$block::<V, R>(args)` for the `R = $rows` rows left after the
/// whole blocks (fewer than eight), so that they too share one pass.
macro_rules! last_rows {
    ($rows:expr, $block:ident($($arg:expr),* $(,)?)) => {
        match $rows {
            1 => $block::<V, 1>($($arg),*),
            2 => $block::<V, 2>($($arg),*),
            3 => $block::<V, 3>($($arg),*),
            4 => $block::<V, 4>($($arg),*),
            5 => $block::<V, 5>($($arg),*),
            6 => $block::<V, 6>($($arg),*),
            7 => $block::<V, 7>($($arg),*),
            _ => {}
        }
    };
}

/// Neurons (or inputs) per register block, each row two vectors wide: as
/// many as the vector registers hold (8 in AVX-512's 32 registers, 4 in
/// AVX2's 16).
#[inline(always)]
fn block_rows<V: Vector>() -> usize {
    if V::LANES >= 8 { 8 } else { 4 }
}

/// The few vector operations the kernels need: lanes of f64, multiplied
/// and added element by element (no fused multiply-add: see the module
/// doc).
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
}

/// Runs `$kernel.run(vector)` with the widest vector unit there is.
macro_rules! dispatch {
    ($kernel:ident) => {
        #[cfg(feature = "simd")]
        impl pulp::WithSimd for $kernel<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, simd: S) {
                self.run(Pulp(simd));
            }
        }

        impl $kernel<'_> {
            fn dispatch(self) {
                #[cfg(feature = "simd")]
                pulp::Arch::new().dispatch(self);
                #[cfg(not(feature = "simd"))]
                self.run(Scalar);
            }
        }
    };
}

/// `out[j] = b[j] + Σₖ w[j][k]·x[k]` lane by lane, the sum in `k` order
/// starting from the bias: micrograd's
/// `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`, for every point at
/// once. `w` is `J×K` row-major, `out` is `J` rows of `x.width` lanes.
pub(crate) fn dense_forward(w: &[f64], b: &[f64], x: Rows<'_>, out: &mut [f64]) {
    Forward { w, b, x, out }.dispatch();
}

struct Forward<'a> {
    w: &'a [f64],
    b: &'a [f64],
    x: Rows<'a>,
    out: &'a mut [f64],
}

dispatch!(Forward);

impl Forward<'_> {
    #[inline(always)]
    fn run<V: Vector>(self, v: V) {
        let Forward { w, b, x, out } = self;
        let j_count = b.len();
        let rows = block_rows::<V>();
        let full = j_count - j_count % rows;
        for j0 in (0..full).step_by(rows) {
            match rows {
                8 => forward_block::<V, 8>(v, w, b, x, out, j0),
                _ => forward_block::<V, 4>(v, w, b, x, out, j0),
            }
        }
        last_rows!(j_count - full, forward_block(v, w, b, x, out, full));
    }
}

/// Neurons `j0..j0 + R` of [`dense_forward`].
#[inline(always)]
fn forward_block<V: Vector, const R: usize>(
    v: V,
    w: &[f64],
    b: &[f64],
    x: Rows<'_>,
    out: &mut [f64],
    j0: usize,
) {
    let (k_count, n) = (x.starts.len(), x.width);
    let step = 2 * V::LANES;
    let w_rows: [&[f64]; R] = std::array::from_fn(|r| &w[(j0 + r) * k_count..][..k_count]);
    let mut lane = 0;
    while lane + step <= n {
        let mut acc: [[V::V; 2]; R] = std::array::from_fn(|r| [v.splat(b[j0 + r]); 2]);
        for k in 0..k_count {
            let xk = &x.row(k)[lane..lane + step];
            let (x0, x1) = (v.load(xk), v.load(&xk[V::LANES..]));
            for (acc, w_row) in acc.iter_mut().zip(&w_rows) {
                let wjk = v.splat(w_row[k]);
                acc[0] = v.add(acc[0], v.mul(wjk, x0));
                acc[1] = v.add(acc[1], v.mul(wjk, x1));
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let o = &mut out[(j0 + r) * n + lane..(j0 + r) * n + lane + step];
            v.store(o, acc[0]);
            v.store(&mut o[V::LANES..], acc[1]);
        }
        lane += step;
    }
    for (r, w_row) in w_rows.iter().enumerate() {
        for l in lane..n {
            let mut acc = b[j0 + r];
            for (k, &wjk) in w_row.iter().enumerate() {
                acc += wjk * x.row(k)[l];
            }
            out[(j0 + r) * n + l] = acc;
        }
    }
}

/// What the inputs receive: `dx[k] = Σⱼ w[j][k]·g[j]` lane by lane, over the
/// neurons from the last to the first (the order in which a per-point
/// graph's backward sweep meets them), starting from 0, each term
/// multiplied and then added. `g` is `J` rows of `width` lanes, `dx` is `K`
/// rows.
pub(crate) fn dense_input_grads(w: &[f64], g: &[f64], width: usize, dx: &mut [f64]) {
    InputGrads { w, g, width, dx }.dispatch();
}

struct InputGrads<'a> {
    w: &'a [f64],
    g: &'a [f64],
    width: usize,
    dx: &'a mut [f64],
}

dispatch!(InputGrads);

impl InputGrads<'_> {
    #[inline(always)]
    fn run<V: Vector>(self, v: V) {
        let InputGrads { w, g, width: n, dx } = self;
        if n == 0 {
            return;
        }
        let k_count = dx.len() / n;
        let rows = block_rows::<V>();
        let full = k_count - k_count % rows;
        for k0 in (0..full).step_by(rows) {
            match rows {
                8 => input_grads_block::<V, 8>(v, w, g, n, dx, k0),
                _ => input_grads_block::<V, 4>(v, w, g, n, dx, k0),
            }
        }
        last_rows!(k_count - full, input_grads_block(v, w, g, n, dx, full));
    }
}

/// Inputs `k0..k0 + R` of [`dense_input_grads`].
#[inline(always)]
fn input_grads_block<V: Vector, const R: usize>(
    v: V,
    w: &[f64],
    g: &[f64],
    n: usize,
    dx: &mut [f64],
    k0: usize,
) {
    let (j_count, k_count) = (g.len() / n, dx.len() / n);
    let step = 2 * V::LANES;
    let mut lane = 0;
    while lane + step <= n {
        let mut acc: [[V::V; 2]; R] = [[v.splat(0.0); 2]; R];
        for j in (0..j_count).rev() {
            let gj = &g[j * n + lane..j * n + lane + step];
            let (g0, g1) = (v.load(gj), v.load(&gj[V::LANES..]));
            let w_row = &w[j * k_count + k0..j * k_count + k0 + R];
            for (acc, &wjk) in acc.iter_mut().zip(w_row) {
                let wjk = v.splat(wjk);
                acc[0] = v.add(acc[0], v.mul(wjk, g0));
                acc[1] = v.add(acc[1], v.mul(wjk, g1));
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let o = &mut dx[(k0 + r) * n + lane..(k0 + r) * n + lane + step];
            v.store(o, acc[0]);
            v.store(&mut o[V::LANES..], acc[1]);
        }
        lane += step;
    }
    for r in 0..R {
        for l in lane..n {
            let mut acc = 0.0;
            for j in (0..j_count).rev() {
                acc += w[j * k_count + k0 + r] * g[j * n + l];
            }
            dx[(k0 + r) * n + l] = acc;
        }
    }
}

/// What the weights and biases receive: `dw[j][k] = Σₙ g[j][n]·x[k][n]` and
/// `db[j] = Σₙ g[j][n]` over the first `lanes` lanes, each summed in lane
/// order from 0, each term multiplied and then added. Every sum runs on its
/// own, so the work is vectorized across weights: one side is first transposed into `scratch`
/// (lane-major), and each lane adds its outer product `g[·][n] ⊗ x[·][n]`
/// to a block of accumulators. `g` is `J` rows of `x.width` lanes.
pub(crate) fn dense_weight_grads(
    g: &[f64],
    x: Rows<'_>,
    lanes: usize,
    dw: &mut [f64],
    db: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    WeightGrads {
        g,
        x,
        lanes,
        dw,
        db,
        scratch,
    }
    .dispatch();
}

struct WeightGrads<'a> {
    g: &'a [f64],
    x: Rows<'a>,
    lanes: usize,
    dw: &'a mut [f64],
    db: &'a mut [f64],
    scratch: &'a mut Vec<f64>,
}

dispatch!(WeightGrads);

impl WeightGrads<'_> {
    #[inline(always)]
    fn run<V: Vector>(self, v: V) {
        let WeightGrads {
            g,
            x,
            lanes: n,
            dw,
            db,
            scratch,
        } = self;
        let stride = x.width;
        let (j_count, k_count) = (db.len(), x.starts.len());
        let block = 2 * V::LANES;
        // Vectorize across the longer side: the inputs (x transposed) or
        // the neurons (g transposed); the transposed side is padded to
        // whole blocks, whose extra sums are dropped.
        if k_count >= j_count {
            let cols = k_count.next_multiple_of(block);
            // Every real entry is written; the padding's sums are dropped.
            scratch.resize(n * cols, 0.0);
            transpose(|k| x.row(k), k_count, n, scratch, cols);
            let g_row = |j: usize| &g[j * stride..j * stride + n];
            outer_sums(v, g_row, j_count, scratch, cols, n, &mut |j, k, value| {
                if k < k_count {
                    dw[j * k_count + k] = value;
                }
            });
            // The biases: each neuron's lanes summed in lane order, the
            // neurons side by side.
            lane_sums(g, stride, n, db);
        } else {
            // The bias is the weight of an input that is 1 in every lane:
            // one more row, of ones, after the inputs'.
            let cols = j_count.next_multiple_of(block);
            scratch.resize(n * cols + n, 0.0);
            let (gt, ones) = scratch.split_at_mut(n * cols);
            transpose(|j| &g[j * stride..(j + 1) * stride], j_count, n, gt, cols);
            ones.fill(1.0);
            let ones = &*ones;
            let x_row = |k: usize| if k < k_count { &x.row(k)[..n] } else { ones };
            outer_sums(v, x_row, k_count + 1, gt, cols, n, &mut |k, j, value| {
                if j < j_count {
                    if k < k_count {
                        dw[j * k_count + k] = value;
                    } else {
                        db[j] = value;
                    }
                }
            });
        }
    }
}

/// `sums[j] = Σₙ rows[j][n]` over the first `n` lanes of each row (`stride`
/// apart), each in lane order from 0: eight rows side by side, so that
/// eight sums advance at once.
#[inline(always)]
fn lane_sums(rows: &[f64], stride: usize, n: usize, sums: &mut [f64]) {
    const SIDE: usize = 8;
    let mut j0 = 0;
    while j0 < sums.len() {
        let side = SIDE.min(sums.len() - j0);
        let block: [&[f64]; SIDE] =
            std::array::from_fn(|r| &rows[(j0 + r.min(side - 1)) * stride..][..n]);
        let mut acc = [0.0; SIDE];
        for l in 0..n {
            for (a, row) in acc.iter_mut().zip(&block) {
                *a += row[l];
            }
        }
        sums[j0..j0 + side].copy_from_slice(&acc[..side]);
        j0 += side;
    }
}

/// `t[l][r] = row(r)[l]` for `r < rows`, `l < n`: rows of lanes into lanes
/// of rows (`cols` wide), in tiles of eight lanes so that reads and writes
/// stay in the cache.
#[inline(always)]
fn transpose<'r>(
    row: impl Fn(usize) -> &'r [f64],
    rows: usize,
    n: usize,
    t: &mut [f64],
    cols: usize,
) {
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

/// `out(r, c, Σₙ a(r)[n]·bt[n][c])` for every row `r < rows` and column
/// `c < cols` of `bt` (lane-major, `cols` a multiple of two vectors), each
/// sum in lane order from 0.
#[inline(always)]
fn outer_sums<'r, V: Vector>(
    v: V,
    a: impl Fn(usize) -> &'r [f64],
    rows: usize,
    bt: &[f64],
    cols: usize,
    n: usize,
    out: &mut impl FnMut(usize, usize, f64),
) {
    let block = block_rows::<V>();
    let full = rows - rows % block;
    for r0 in (0..full).step_by(block) {
        match block {
            8 => outer_sums_block::<V, 8>(v, &a, r0, bt, cols, n, out),
            _ => outer_sums_block::<V, 4>(v, &a, r0, bt, cols, n, out),
        }
    }
    // The last rows together, so that their sums interleave.
    last_rows!(rows - full, outer_sums_block(v, &a, full, bt, cols, n, out));
}

/// Rows `r0..r0 + R` of [`outer_sums`].
#[inline(always)]
fn outer_sums_block<'r, V: Vector, const R: usize>(
    v: V,
    a: &impl Fn(usize) -> &'r [f64],
    r0: usize,
    bt: &[f64],
    cols: usize,
    n: usize,
    out: &mut impl FnMut(usize, usize, f64),
) {
    let a_rows: [&[f64]; R] = std::array::from_fn(|r| &a(r0 + r)[..n]);
    let block = 2 * V::LANES;
    // Two vectors of sums, spilled for `out`; at most 2 × 8 lanes.
    let mut spill = [0.0; 16];
    for c0 in (0..cols).step_by(block) {
        let acc = outer_sums_lanes::<V, R>(v, &a_rows, bt, cols, c0, n);
        for (r, acc) in acc.iter().enumerate() {
            v.store(&mut spill, acc[0]);
            v.store(&mut spill[V::LANES..], acc[1]);
            for (c, &value) in spill[..block].iter().enumerate() {
                out(r0 + r, c0 + c, value);
            }
        }
    }
}

/// The sums of one block of [`outer_sums`], kept in registers: returned by
/// value, so that no store in the loop can keep them in memory.
#[inline(always)]
fn outer_sums_lanes<V: Vector, const R: usize>(
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
            acc[0] = v.add(acc[0], v.mul(av, b0));
            acc[1] = v.add(acc[1], v.mul(av, b1));
        }
    }
    acc
}
