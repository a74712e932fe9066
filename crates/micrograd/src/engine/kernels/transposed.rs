//! The kernels' parts that turn rows of lanes into lanes of rows, on
//! AVX-512: eight rows of eight lanes transposed in registers (24 shuffles)
//! rather than one number at a time through memory.
//!
//! A weight's or bias's gradient is a sum over the lanes in lane order, so
//! the work is vectorized across weights, and one side has to be read
//! lane-major. For the narrow layers (a first layer of one or two inputs,
//! an output layer of one or two neurons) [`weight_grads`] transposes as it
//! goes, eight lanes at a time, where [`weight_grads_dots`] ran one number
//! at a time; for the others [`transpose`] and [`lane_sums`] are the
//! blocked path's transpose and bias sums. Each sum keeps its order and its
//! terms (`T::term` on the same two numbers), so the bits are the other
//! paths' bits.
//!
//! [`weight_grads_dots`]: super::weight_grads_dots
//! [`lane_sums`]: super::lane_sums

use std::arch::x86_64::__m512d;

use pulp::f64x8;
use pulp::x86::V4;

use super::{GradsOut, Pulp, Rows, Term, Vector};

/// Lanes, and rows, in a block.
const SIDE: usize = 8;

/// `out[i]` is lane `i` of each row, in row order.
#[inline(always)]
fn transpose8(simd: V4, rows: [f64x8; SIDE]) -> [f64x8; SIDE] {
    let a = simd.avx512f;
    let r: [__m512d; SIDE] = [
        pulp::cast(rows[0]),
        pulp::cast(rows[1]),
        pulp::cast(rows[2]),
        pulp::cast(rows[3]),
        pulp::cast(rows[4]),
        pulp::cast(rows[5]),
        pulp::cast(rows[6]),
        pulp::cast(rows[7]),
    ];
    // Pairs of rows: (r0[0] r1[0]) (r0[2] r1[2]) (r0[4] r1[4]) (r0[6] r1[6])
    // and the odd lanes.
    let t0 = a._mm512_unpacklo_pd(r[0], r[1]);
    let t1 = a._mm512_unpackhi_pd(r[0], r[1]);
    let t2 = a._mm512_unpacklo_pd(r[2], r[3]);
    let t3 = a._mm512_unpackhi_pd(r[2], r[3]);
    let t4 = a._mm512_unpacklo_pd(r[4], r[5]);
    let t5 = a._mm512_unpackhi_pd(r[4], r[5]);
    let t6 = a._mm512_unpacklo_pd(r[6], r[7]);
    let t7 = a._mm512_unpackhi_pd(r[6], r[7]);
    // Quads: lanes (0, 4), (2, 6), (1, 5), (3, 7) of rows 0-3 and 4-7, each
    // 128-bit lane a pair of rows.
    const EVEN: i32 = 0b10_00_10_00;
    const ODD: i32 = 0b11_01_11_01;
    let u0 = a._mm512_shuffle_f64x2::<EVEN>(t0, t2);
    let u1 = a._mm512_shuffle_f64x2::<ODD>(t0, t2);
    let u2 = a._mm512_shuffle_f64x2::<EVEN>(t1, t3);
    let u3 = a._mm512_shuffle_f64x2::<ODD>(t1, t3);
    let u4 = a._mm512_shuffle_f64x2::<EVEN>(t4, t6);
    let u5 = a._mm512_shuffle_f64x2::<ODD>(t4, t6);
    let u6 = a._mm512_shuffle_f64x2::<EVEN>(t5, t7);
    let u7 = a._mm512_shuffle_f64x2::<ODD>(t5, t7);
    [
        pulp::cast(a._mm512_shuffle_f64x2::<EVEN>(u0, u4)),
        pulp::cast(a._mm512_shuffle_f64x2::<EVEN>(u2, u6)),
        pulp::cast(a._mm512_shuffle_f64x2::<EVEN>(u1, u5)),
        pulp::cast(a._mm512_shuffle_f64x2::<EVEN>(u3, u7)),
        pulp::cast(a._mm512_shuffle_f64x2::<ODD>(u0, u4)),
        pulp::cast(a._mm512_shuffle_f64x2::<ODD>(u2, u6)),
        pulp::cast(a._mm512_shuffle_f64x2::<ODD>(u1, u5)),
        pulp::cast(a._mm512_shuffle_f64x2::<ODD>(u3, u7)),
    ]
}

/// Lanes `l0..l0 + 8` of `rows`, lane by lane: `out[i]` holds lane
/// `l0 + i` of each row. Lanes past `n` are zeros.
#[inline(always)]
fn lanes_of(simd: V4, rows: &[&[f64]; SIDE], l0: usize, n: usize) -> [f64x8; SIDE] {
    let v = Pulp(simd);
    let zero = v.splat(0.0);
    if l0 + SIDE <= n {
        let mut loaded = [zero; SIDE];
        for (at, row) in loaded.iter_mut().zip(rows) {
            *at = v.load(&row[l0..l0 + SIDE]);
        }
        transpose8(simd, loaded)
    } else {
        // The last few lanes, gathered one number at a time.
        let mut out = [zero; SIDE];
        for (i, at) in out.iter_mut().enumerate().take(n - l0) {
            let mut column = [0.0; SIDE];
            for (c, row) in column.iter_mut().zip(rows) {
                *c = row[l0 + i];
            }
            *at = v.load(&column);
        }
        out
    }
}

/// Rows `first..first + 8` of `row(..)`, those from `count` on standing in
/// for the last (`first < count`): their sums are computed and dropped.
#[inline(always)]
fn block_rows<'r>(
    row: impl Fn(usize) -> &'r [f64],
    first: usize,
    count: usize,
) -> [&'r [f64]; SIDE] {
    let last = row(count - 1);
    let mut rows = [last; SIDE];
    for (r, at) in rows.iter_mut().enumerate().take(count - first) {
        *at = row(first + r);
    }
    rows
}

/// [`dense_weight_grads`](super::dense_weight_grads) for the shapes worth
/// transposing as it goes: one or two inputs (neurons eight at a time) or
/// at least eight inputs (inputs eight at a time, neurons one or two at a
/// time). `false` for any other shape, untouched.
#[inline(always)]
pub(super) fn weight_grads<T: Term>(
    simd: V4,
    g: &[f64],
    x: Rows<'_>,
    n: usize,
    out: &mut GradsOut<'_>,
) -> bool {
    let (j_count, k_count) = (out.j, out.k);
    match k_count {
        1 if j_count >= SIDE => across_neurons::<T, 1>(simd, g, x, n, out),
        2 if j_count >= SIDE => across_neurons::<T, 2>(simd, g, x, n, out),
        k if k >= SIDE => {
            let mut j0 = 0;
            while j0 < j_count {
                if j_count - j0 >= 2 {
                    across_inputs::<T, 2>(simd, g, x, n, out, j0);
                    j0 += 2;
                } else {
                    across_inputs::<T, 1>(simd, g, x, n, out, j0);
                    j0 += 1;
                }
            }
        }
        _ => return false,
    }
    true
}

/// The weights of a layer of `K` inputs (one or two) and their biases,
/// sixteen neurons at a time (two vectors, so that their sums advance side
/// by side), each lane of `g` the transposed block's.
#[inline(always)]
fn across_neurons<T: Term, const K: usize>(
    simd: V4,
    g: &[f64],
    x: Rows<'_>,
    n: usize,
    out: &mut GradsOut<'_>,
) {
    const BLOCKS: usize = 2;
    let v = Pulp(simd);
    let stride = x.width;
    let j_count = out.j;
    let xs: [&[f64]; K] = std::array::from_fn(|k| &x.row(k)[..n]);
    let g_row = |j: usize| &g[j * stride..j * stride + n];
    let full = n - n % SIDE;
    for j0 in (0..j_count).step_by(BLOCKS * SIDE) {
        // A block wholly past the last neuron repeats the first.
        let second = if j0 + SIDE < j_count { j0 + SIDE } else { j0 };
        let rows = [
            block_rows(g_row, j0, j_count),
            block_rows(g_row, second, j_count),
        ];
        let mut acc = [[v.splat(0.0); K]; BLOCKS];
        let mut bias = [v.splat(0.0); BLOCKS];
        for l0 in (0..full).step_by(SIDE) {
            let gt = [
                lanes_of(simd, &rows[0], l0, n),
                lanes_of(simd, &rows[1], l0, n),
            ];
            for i in 0..SIDE {
                neuron_terms::<T, K>(v, &mut acc, &mut bias, &gt, &xs, l0, i);
            }
        }
        if full < n {
            let gt = [
                lanes_of(simd, &rows[0], full, n),
                lanes_of(simd, &rows[1], full, n),
            ];
            for i in 0..n - full {
                neuron_terms::<T, K>(v, &mut acc, &mut bias, &gt, &xs, full, i);
            }
        }
        let mut spill = [0.0; SIDE];
        for b in 0..BLOCKS {
            let first = j0 + b * SIDE;
            let here = SIDE.min(j_count.saturating_sub(first));
            for (k, &acc) in acc[b].iter().enumerate() {
                v.store(&mut spill, acc);
                for (r, &sum) in spill[..here].iter().enumerate() {
                    out.set(first + r, k, sum);
                }
            }
            v.store(&mut spill, bias[b]);
            for (r, &sum) in spill[..here].iter().enumerate() {
                out.set_bias(first + r, sum);
            }
        }
    }
}

/// Lane `i` of the blocks from `l0` in [`across_neurons`]: its terms. (Not
/// a closure: one left out of line would lose the vector unit's target
/// features.)
#[inline(always)]
fn neuron_terms<T: Term, const K: usize>(
    v: Pulp<V4>,
    acc: &mut [[f64x8; K]; 2],
    bias: &mut [f64x8; 2],
    gt: &[[f64x8; SIDE]; 2],
    xs: &[&[f64]; K],
    l0: usize,
    i: usize,
) {
    for b in 0..2 {
        for (acc, x) in acc[b].iter_mut().zip(xs) {
            *acc = T::term(v, *acc, gt[b][i], v.splat(x[l0 + i]));
        }
        bias[b] = v.add(bias[b], gt[b][i]);
    }
}

/// The weights of neurons `j0..j0 + R` over at least eight inputs, and
/// their biases: inputs eight at a time, four blocks side by side, each
/// lane of `x` the transposed block's.
#[inline(always)]
fn across_inputs<T: Term, const R: usize>(
    simd: V4,
    g: &[f64],
    x: Rows<'_>,
    n: usize,
    out: &mut GradsOut<'_>,
    j0: usize,
) {
    const BLOCKS: usize = 4;
    let v = Pulp(simd);
    let stride = x.width;
    let k_count = x.starts.len();
    let gs: [&[f64]; R] = std::array::from_fn(|r| &g[(j0 + r) * stride..][..n]);
    // The biases: each neuron's lanes in lane order, as the sums below.
    for (r, g) in gs.iter().enumerate() {
        out.set_bias(j0 + r, g.iter().fold(0.0, |sum, &g| sum + g));
    }
    let x_row = |k: usize| &x.row(k)[..n];
    let full = n - n % SIDE;
    for k0 in (0..k_count).step_by(BLOCKS * SIDE) {
        let blocks = (k_count - k0).div_ceil(SIDE).min(BLOCKS);
        // Blocks past the last input (not summed) repeat the first.
        let first = |b: usize| if b < blocks { k0 + b * SIDE } else { k0 };
        let rows: [[&[f64]; SIDE]; BLOCKS] =
            std::array::from_fn(|b| block_rows(x_row, first(b), k_count));
        let mut acc = [[v.splat(0.0); BLOCKS]; R];
        for l0 in (0..full).step_by(SIDE) {
            for (b, rows) in rows.iter().enumerate().take(blocks) {
                let xt = lanes_of(simd, rows, l0, n);
                for i in 0..SIDE {
                    input_terms::<T, R>(v, &mut acc, b, &xt, &gs, l0, i);
                }
            }
        }
        if full < n {
            for (b, rows) in rows.iter().enumerate().take(blocks) {
                let xt = lanes_of(simd, rows, full, n);
                for i in 0..n - full {
                    input_terms::<T, R>(v, &mut acc, b, &xt, &gs, full, i);
                }
            }
        }
        let mut spill = [0.0; SIDE];
        for (r, acc) in acc.iter().enumerate() {
            for (b, &acc) in acc.iter().enumerate().take(blocks) {
                let first = k0 + b * SIDE;
                v.store(&mut spill, acc);
                let columns = SIDE.min(k_count - first);
                out.row(j0 + r)[first..][..columns].copy_from_slice(&spill[..columns]);
            }
        }
    }
}

/// Lane `i` of block `b` from `l0` in [`across_inputs`]: its terms.
#[inline(always)]
fn input_terms<T: Term, const R: usize>(
    v: Pulp<V4>,
    acc: &mut [[f64x8; 4]; R],
    b: usize,
    xt: &[f64x8; SIDE],
    gs: &[&[f64]; R],
    l0: usize,
    i: usize,
) {
    for (acc, g) in acc.iter_mut().zip(gs) {
        acc[b] = T::term(v, acc[b], v.splat(g[l0 + i]), xt[i]);
    }
}

/// `t[l][r] = row(r)[l]` for `r < rows`, `l < n`, with `cols` numbers a
/// lane: blocks of eight rows and eight lanes through registers, the rest
/// one number at a time.
#[inline(always)]
pub(super) fn transpose<'r>(
    simd: V4,
    row: impl Fn(usize) -> &'r [f64],
    rows: usize,
    n: usize,
    t: &mut [f64],
    cols: usize,
) {
    let v = Pulp(simd);
    let full_rows = rows - rows % SIDE;
    let full_lanes = n - n % SIDE;
    for r0 in (0..full_rows).step_by(SIDE) {
        let block = block_rows(&row, r0, rows);
        for l0 in (0..full_lanes).step_by(SIDE) {
            let lanes = lanes_of(simd, &block, l0, n);
            for (i, lane) in lanes.iter().enumerate() {
                v.store(&mut t[(l0 + i) * cols + r0..][..SIDE], *lane);
            }
        }
    }
    for r in 0..rows {
        let lanes = &row(r)[..n];
        let from = if r < full_rows { full_lanes } else { 0 };
        for (l, &value) in lanes.iter().enumerate().skip(from) {
            t[l * cols + r] = value;
        }
    }
}

/// `sums[j] = Σₙ rows[j][n]` over the first `n` lanes of each row (`stride`
/// apart), each in lane order from 0: eight rows a vector, their lanes
/// transposed in registers.
#[inline(always)]
pub(super) fn lane_sums(simd: V4, rows: &[f64], stride: usize, n: usize, out: &mut GradsOut<'_>) {
    let v = Pulp(simd);
    let count = out.j;
    let full = n - n % SIDE;
    for j0 in (0..count).step_by(SIDE) {
        let block = block_rows(|j| &rows[j * stride..j * stride + n], j0, count);
        let mut acc = v.splat(0.0);
        for l0 in (0..full).step_by(SIDE) {
            for lane in lanes_of(simd, &block, l0, n) {
                acc = v.add(acc, lane);
            }
        }
        if full < n {
            for &lane in lanes_of(simd, &block, full, n).iter().take(n - full) {
                acc = v.add(acc, lane);
            }
        }
        let mut spill = [0.0; SIDE];
        v.store(&mut spill, acc);
        for (r, &sum) in spill[..SIDE.min(count - j0)].iter().enumerate() {
            out.set_bias(j0 + r, sum);
        }
    }
}
