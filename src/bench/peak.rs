//! The peak of one core, measured: a loop of fused multiply-adds that never
//! leaves the registers, compiled for the widest vector unit there is at run
//! time, and the same loop with the multiply and the add apart. The CPU's
//! flags do not tell the peak (Zen 4 runs AVX-512 on 256-bit units: twice
//! the lanes, the same FLOP/s), so `micrograd bench` measures it beside the
//! step.
//!
//! The second number matters to the engine: its exact mode multiplies, then
//! adds, as micrograd does, and Zen has separate pipes for each (two FMUL,
//! two FADD), so there that loop can match the fused one; on cores whose
//! FMA units do both it reaches half.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pulp::{Simd, WithSimd};

/// Independent chains, each a vector register: more than the latency of
/// one link times the links issued per cycle, so that the loop waits on
/// throughput rather than on its own results. An FMA is 4-5 cycles and two
/// issue per cycle on Zen 2-4 and recent Intel cores (8-10 chains); a
/// multiply then an add is 6 cycles with two of each per cycle on Zen (12).
/// Twelve and the two constants fit AVX2's 16 registers.
const CHAINS: usize = 12;

/// How long one timed run lasts.
const RUN: Duration = Duration::from_millis(50);

/// Timed runs of each loop; the reports are their medians.
const RUNS: usize = 5;

/// What one core reached, in GFLOP/s (a fused multiply-add counts 2).
pub struct Peak {
    /// The vector unit the loops ran on, in words.
    pub unit: &'static str,
    /// f64 lanes of that unit's registers.
    pub lanes: usize,
    pub fma_gflops: f64,
    pub mul_add_gflops: f64,
}

impl Peak {
    /// Times both loops on the calling thread, taking turns so that a noisy
    /// machine slows them alike; about half a second.
    pub fn measure() -> Peak {
        let lanes = Chains::lanes();
        let (fused, separate) = (calibrate(true), calibrate(false));
        let mut gflops = [Vec::with_capacity(RUNS), Vec::with_capacity(RUNS)];
        for _ in 0..RUNS {
            for (times, &(iterations, fma)) in
                gflops.iter_mut().zip(&[(fused, true), (separate, false)])
            {
                let seconds = time(iterations, fma).as_secs_f64();
                times.push((2 * lanes * CHAINS) as f64 * iterations as f64 / seconds / 1e9);
            }
        }
        let [fma, mul_add] = gflops.map(|mut g| {
            g.sort_by(f64::total_cmp);
            g[g.len() / 2]
        });
        Peak {
            unit: unit(),
            lanes,
            fma_gflops: fma,
            mul_add_gflops: mul_add,
        }
    }

    /// The line `micrograd bench` prints once per run.
    pub fn describe(&self) -> String {
        format!(
            "peak of one core: {:.1} GFLOP/s by fused multiply-add, {:.1} by a multiply then an add \
             ({}, {} f64 lanes; {CHAINS} chains in registers, median of {RUNS} runs of {} ms)",
            self.fma_gflops,
            self.mul_add_gflops,
            self.unit,
            self.lanes,
            RUN.as_millis()
        )
    }
}

/// The iterations that last about [`RUN`].
fn calibrate(fma: bool) -> u64 {
    let mut iterations = 1_000;
    loop {
        let took = time(iterations, fma);
        if took >= RUN / 10 {
            return (iterations as f64 * RUN.as_secs_f64() / took.as_secs_f64()).ceil() as u64;
        }
        iterations *= 4;
    }
}

fn time(iterations: u64, fma: bool) -> Duration {
    let started = Instant::now();
    black_box(pulp::Arch::new().dispatch(Chains {
        iterations: black_box(iterations),
        fma,
    }));
    started.elapsed()
}

/// The loop: every chain steps `x ← x·a + b`, fused or not.
struct Chains {
    iterations: u64,
    fma: bool,
}

impl Chains {
    /// The lanes of the unit `pulp` dispatches to.
    fn lanes() -> usize {
        struct Lanes;
        impl WithSimd for Lanes {
            type Output = usize;
            #[inline(always)]
            fn with_simd<S: Simd>(self, _: S) -> usize {
                S::F64_LANES
            }
        }
        pulp::Arch::new().dispatch(Lanes)
    }
}

impl WithSimd for Chains {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f64 {
        // With a = ½ and b = 1 every chain tends to 2: its numbers stay
        // normal (no subnormal slow path) and finite. `black_box` hides them
        // from the compiler, which could otherwise fold the loop.
        let a = simd.splat_f64s(black_box(0.5));
        let b = simd.splat_f64s(black_box(1.0));
        let mut x: [S::f64s; CHAINS] =
            std::array::from_fn(|i| simd.splat_f64s(black_box(i as f64)));
        if self.fma {
            for _ in 0..self.iterations {
                for x in &mut x {
                    *x = simd.mul_add_f64s(*x, a, b);
                }
            }
        } else {
            for _ in 0..self.iterations {
                for x in &mut x {
                    *x = simd.add_f64s(simd.mul_f64s(*x, a), b);
                }
            }
        }
        x.into_iter().map(|x| simd.reduce_sum_f64s(x)).sum()
    }
}

/// The vector unit `pulp::Arch` chose, in words.
fn unit() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    match pulp::Arch::new() {
        pulp::Arch::V4(_) => "x86-64-v4: AVX-512",
        pulp::Arch::V3(_) => "x86-64-v3: AVX2 and FMA",
        // Below x86-64-v3 the fused loop calls the C library's fma.
        _ => "scalar: no AVX2 and FMA",
    }
    #[cfg(not(target_arch = "x86_64"))]
    "the widest vector unit pulp found"
}
