//! Finding the op that made a run's loss infinite costs no more memory
//! than a step: the bytes held at once, counted by a global allocator on
//! every thread (this file holds one test, so no other test runs beside
//! it).

#![cfg(feature = "nn")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Peak;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(bytes: usize) {
    let now = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size);
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

/// The most bytes held at once while `f` runs, above what was held when
/// it started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = HELD.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let result = f();
    (result, PEAK.load(Ordering::Relaxed) - start)
}

#[test]
fn the_diagnosis_of_a_diverged_step_holds_no_more_than_a_step() {
    use micrograd::Error;
    use micrograd::data;
    use micrograd::nn::{MLP, Schedule};
    use micrograd::train::{Batching, TrainConfig, Trainer};

    // 2,000 points through 2-64-64-1 at a learning rate of 1e4: the loss
    // overflows within a few steps. micrograd's graph of the whole batch,
    // point by point, would hold about 2,000 x 8,400 operands (70 MB); a
    // step in lanes holds a chunk of 256 points at a time.
    let points = data::moons(2_000, 0.1, 0);
    for threads in [1, 2] {
        let model = MLP::new(2, &[64, 64, 1]);
        let config = TrainConfig {
            schedule: Schedule::Constant(1e4),
            batching: Batching::Lanes,
            threads: Some(threads),
            ..TrainConfig::micrograd_demo(100)
        };
        let mut trainer = Trainer::new(&model, &points, &config).unwrap();
        let mut step_peak = 0;
        let failed = loop {
            let (result, peak) = peak_during(|| trainer.step());
            match result {
                Ok(_) => step_peak = step_peak.max(peak),
                Err(e) => break (e, peak),
            }
            assert!(trainer.steps_taken() < 100, "the run never diverged");
        };
        let (error, diagnosis_peak) = failed;
        assert!(step_peak > 0, "the run diverged at its first step");
        let Error::Diverged { message, .. } = &error else {
            panic!("{error}")
        };
        // The op is a layer's weighted sums or what the loss makes of them.
        assert!(message.contains("(first made by "), "{message}");
        assert!(
            diagnosis_peak <= step_peak + step_peak / 2,
            "{threads} threads: the diverged step held {diagnosis_peak} bytes at its peak, \
             a step {step_peak}: {message}"
        );
    }
}
