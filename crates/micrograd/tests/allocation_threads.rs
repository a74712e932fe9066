//! A training step on several threads allocates nothing after the first:
//! counted on every thread of the process (this file holds one test, so no
//! other test runs beside it).

#![cfg(feature = "nn")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steps_on_three_threads_allocate_nothing_after_the_first() {
    use micrograd::data;
    use micrograd::nn::MLP;
    use micrograd::train::{TrainConfig, Trainer};

    // 1,000 points: four chunks, over three threads.
    let data = data::moons(1000, 0.1, 0);
    let model = MLP::new(2, &[16, 16, 1]);
    let config = TrainConfig {
        threads: Some(3),
        ..TrainConfig::micrograd_demo(100)
    };
    let mut trainer = Trainer::new(&model, &data, &config).unwrap();
    trainer.step().unwrap();
    COUNTING.store(true, Ordering::Relaxed);
    trainer.run(10, |_| {}).unwrap();
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations in 10 steps after the first, on any thread"
    );
}
