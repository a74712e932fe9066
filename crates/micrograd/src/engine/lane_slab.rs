//! The lane slab: the numbers of every batched node, one row of `width`
//! lanes per node, rows in creation order.
//!
//! A batched node holds one number per point of a batch (a lane), so the
//! same graph computes a whole batch: JAX's `vmap`, for micrograd. Every
//! batched node of a graph has the same number of lanes, so a node's lanes
//! are found from its row alone, and each op is a plain loop over slices.

/// A node's `lanes` field when it holds a single number.
pub(crate) const SINGLE: u32 = u32::MAX;

/// How lanes are laid out: `width` of them per row, each row padded to
/// `stride` (a multiple of [`PAD`]), so that the layer kernels work in
/// whole vector blocks. Padding lanes never take part in a sum over the
/// lanes, and never reach a real lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) width: usize,
    pub(crate) stride: usize,
}

/// Rows are padded to a multiple of this many lanes.
pub(crate) const PAD: usize = 16;

impl Shape {
    const NONE: Shape = Shape {
        width: 0,
        stride: 0,
    };

    fn of(width: usize) -> Shape {
        Shape {
            width,
            stride: width.next_multiple_of(PAD),
        }
    }

    /// Where row `row` starts.
    #[inline(always)]
    pub(crate) fn start(self, row: u32) -> usize {
        row as usize * self.stride
    }

    /// Row `row`'s real lanes.
    #[inline(always)]
    pub(crate) fn span(self, row: u32) -> std::ops::Range<usize> {
        let start = self.start(row);
        start..start + self.width
    }
}

pub(crate) struct LaneSlab {
    /// Lanes per row (the batch size of every batched node now alive) and
    /// their padding; no lanes while there is no batch (the next batch may
    /// then have any size).
    pub(crate) shape: Shape,
    /// The forward values, row after row. Past the live rows it keeps
    /// the numbers of rows freed earlier, so that a new row costs nothing
    /// before its op writes it.
    pub(crate) data: Vec<f64>,
    /// The gradients, in the same places; exactly the live rows.
    pub(crate) grad: Vec<f64>,
}

impl LaneSlab {
    pub(crate) const fn new() -> LaneSlab {
        LaneSlab {
            shape: Shape::NONE,
            data: Vec::new(),
            grad: Vec::new(),
        }
    }

    /// The batch size, 0 while there is no batch.
    pub(crate) fn width(&self) -> usize {
        self.shape.width
    }

    /// Makes the lanes `width` wide, if there is no batch.
    pub(crate) fn set_width(&mut self, width: usize) {
        debug_assert!(self.grad.is_empty());
        self.shape = Shape::of(width);
    }

    /// How many rows there are.
    pub(crate) fn rows(&self) -> u32 {
        // Rows are numbered in u32 (`grow` refuses more), so this fits.
        self.grad.len().checked_div(self.shape.stride).unwrap_or(0) as u32
    }

    /// The real lanes of row `row` in `data` and `grad`.
    #[inline]
    pub(crate) fn span(&self, row: u32) -> std::ops::Range<usize> {
        self.shape.span(row)
    }

    /// Appends `count` rows, their gradients 0 and their forward values
    /// for the caller to write (every real lane), and returns the first
    /// one's number; `None` (having appended nothing) if the rows could not
    /// be numbered in u32.
    pub(crate) fn grow(&mut self, count: usize) -> Option<u32> {
        let first = self.rows();
        let end = (first as usize)
            .checked_add(count)
            .filter(|&end| end < u32::MAX as usize)?;
        let len = end * self.shape.stride;
        if self.data.len() < len {
            self.data.resize(len, 0.0);
        }
        self.grad.resize(len, 0.0);
        Some(first)
    }

    /// Frees every row from `rows` on; with no row left, the next batch may
    /// have another size.
    pub(crate) fn truncate(&mut self, rows: u32) {
        self.grad.truncate(self.shape.start(rows));
        if rows == 0 {
            self.shape = Shape::NONE;
        }
    }
}

/// An operand as a lane kernel reads it: one number (a single value, which
/// broadcasts to every lane) or a row of lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    One(f64),
    Lanes(&'a [f64]),
}

/// `out[n] = f(a[n])`.
#[inline(always)]
pub(crate) fn map1(out: &mut [f64], a: Arg<'_>, f: impl Fn(f64) -> f64) {
    match a {
        Arg::Lanes(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x);
            }
        }
        Arg::One(x) => out.fill(f(x)),
    }
}

/// `out[n] = f(a[n], b[n])`, a single value broadcast to every lane.
#[inline(always)]
pub(crate) fn map2(out: &mut [f64], a: Arg<'_>, b: Arg<'_>, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Arg::Lanes(a), Arg::Lanes(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Arg::Lanes(a), Arg::One(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Arg::One(x), Arg::Lanes(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Arg::One(x), Arg::One(y)) => out.fill(f(x, y)),
    }
}

/// `out[n] += a[n]`: one more term of a sum.
#[inline(always)]
pub(crate) fn add_into(out: &mut [f64], a: Arg<'_>) {
    match a {
        Arg::Lanes(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o += x;
            }
        }
        Arg::One(x) => {
            for o in out.iter_mut() {
                *o += x;
            }
        }
    }
}

/// `out[n] += a[n]·b[n]`: one term of a neuron's sum, multiply then
/// add (no fused multiply-add), as the per-point sum does it.
#[inline(always)]
pub(crate) fn add_product(out: &mut [f64], a: Arg<'_>, b: Arg<'_>) {
    match (a, b) {
        (Arg::Lanes(a), Arg::Lanes(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o += x * y;
            }
        }
        (Arg::Lanes(a), Arg::One(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o += x * y;
            }
        }
        (Arg::One(x), Arg::Lanes(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o += x * y;
            }
        }
        (Arg::One(x), Arg::One(y)) => {
            let product = x * y;
            for o in out.iter_mut() {
                *o += product;
            }
        }
    }
}

/// How a contribution reaches a gradient row: it replaces the row (the
/// first contribution to an intermediate node in a sweep, as `0.0 + c`) or
/// is added to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Into {
    Replace,
    Add,
}

/// `out[n] ⊕= f(x[n], y[n], o[n], g[n])` (`⊕=` as `into` says): a local
/// derivative times the gradient, lane by lane, each operand a batch or a
/// single value.
#[inline(always)]
pub(crate) fn local_lanes(
    out: &mut [f64],
    into: Into,
    x: Arg<'_>,
    y: Arg<'_>,
    o: &[f64],
    g: &[f64],
    f: impl Fn(f64, f64, f64, f64) -> f64,
) {
    match into {
        Into::Replace => local_lanes_with(out, x, y, o, g, |c, v| *c = 0.0 + v, f),
        Into::Add => local_lanes_with(out, x, y, o, g, |c, v| *c += v, f),
    }
}

#[inline(always)]
fn local_lanes_with(
    out: &mut [f64],
    x: Arg<'_>,
    y: Arg<'_>,
    o: &[f64],
    g: &[f64],
    store: impl Fn(&mut f64, f64),
    f: impl Fn(f64, f64, f64, f64) -> f64,
) {
    let (o, g) = (&o[..out.len()], &g[..out.len()]);
    let og = o.iter().zip(g);
    match (x, y) {
        (Arg::Lanes(x), Arg::Lanes(y)) => {
            let (x, y) = (&x[..out.len()], &y[..out.len()]);
            for (((c, &x), &y), (&o, &g)) in out.iter_mut().zip(x).zip(y).zip(og) {
                store(c, f(x, y, o, g));
            }
        }
        (Arg::Lanes(x), Arg::One(y)) => {
            let x = &x[..out.len()];
            for ((c, &x), (&o, &g)) in out.iter_mut().zip(x).zip(og) {
                store(c, f(x, y, o, g));
            }
        }
        (Arg::One(x), Arg::Lanes(y)) => {
            let y = &y[..out.len()];
            for ((c, &y), (&o, &g)) in out.iter_mut().zip(y).zip(og) {
                store(c, f(x, y, o, g));
            }
        }
        (Arg::One(x), Arg::One(y)) => {
            for (c, (&o, &g)) in out.iter_mut().zip(og) {
                store(c, f(x, y, o, g));
            }
        }
    }
}

/// The lanes summed in lane order, from 0 as Python's `sum`: what a single
/// value receives from a batch.
#[inline]
pub(crate) fn sum(lanes: &[f64]) -> f64 {
    lanes.iter().fold(0.0, |acc, &x| acc + x)
}
