//! After its first step, a training loop allocates nothing: the tape keeps
//! its capacity when a step's scope ends. Counted by a global allocator
//! that tallies this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use micrograd::{Scope, Value};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn a_training_loop_allocates_nothing_after_its_first_step() {
    // A 2-8-1 network on 16 points, every op kind, weights persisting.
    let w1: Vec<Vec<Value>> = (0..8)
        .map(|j| {
            (0..2)
                .map(|i| Value::new(0.1 * f64::from(i + j) - 0.4))
                .collect()
        })
        .collect();
    let b1: Vec<Value> = (0..8).map(|_| Value::new(0.0)).collect();
    let w2: Vec<Value> = (0..8)
        .map(|j| Value::new(0.05 * f64::from(j) - 0.2))
        .collect();
    let b2 = Value::new(0.0);
    let params: Vec<Value> = w1
        .iter()
        .flatten()
        .chain(&b1)
        .chain(&w2)
        .chain([&b2])
        .copied()
        .collect();
    let points: Vec<[f64; 2]> = (0..16)
        .map(|k| [f64::from(k) / 8.0 - 1.0, f64::from(k % 4) - 1.5])
        .collect();

    let mut inputs = Vec::with_capacity(2);
    let mut hidden = Vec::with_capacity(8);
    let mut losses = Vec::with_capacity(points.len());
    let mut step = || {
        let _step = Scope::new();
        losses.clear();
        for (k, p) in points.iter().enumerate() {
            inputs.clear();
            inputs.extend(p.iter().map(|&x| Value::new(x)));
            hidden.clear();
            hidden.extend(
                w1.iter()
                    .zip(&b1)
                    .map(|(w, &b)| Value::affine(w, &inputs, b).tanh()),
            );
            let score = Value::affine(&w2, &hidden, b2);
            let y = if k % 2 == 0 { 1.0 } else { -1.0 };
            let margin =
                (1.0 - y * score).relu() + score.sigmoid().ln() * 1e-3 + score.exp() * 1e-6;
            losses.push(margin / 2.0 + score.powf(2.0) * 1e-4);
        }
        let loss = losses.iter().sum::<Value>() * (1.0 / losses.len() as f64)
            + 1e-4 * params.iter().map(|p| p * p).product::<Value>();
        for p in &params {
            p.set_grad(0.0);
        }
        loss.backward();
        for p in &params {
            p.set_data(p.data() - 0.1 * p.grad());
        }
        loss.data()
    };

    let first = step();
    let before = allocations();
    let mut last = first;
    for _ in 0..20 {
        last = step();
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in 20 steps after the first"
    );
    assert!(last.is_finite() && last != first);
}

#[test]
#[cfg(feature = "nn")]
fn the_trainer_allocates_nothing_after_its_first_step() {
    use micrograd::data;
    use micrograd::nn::{Loss, MLP, OptimizerKind, Schedule};
    use micrograd::train::{Batching, TrainConfig, Trainer};

    let cases = [
        (
            data::moons(100, 0.1, 0),
            MLP::new(2, &[16, 16, 1]),
            TrainConfig::micrograd_demo(100),
        ),
        // Four chunks of 248 and 249 points, one after the other: rows of
        // 248 and 256 lanes, laid out again chunk by chunk.
        (
            data::moons(993, 0.1, 0),
            MLP::new(2, &[16, 16, 1]),
            TrainConfig {
                threads: Some(1),
                ..TrainConfig::micrograd_demo(100)
            },
        ),
        // Four chunks of the batch, one after the other.
        (
            data::moons(1000, 0.1, 0),
            MLP::new(2, &[16, 16, 1]),
            TrainConfig {
                threads: Some(1),
                ..TrainConfig::micrograd_demo(100)
            },
        ),
        (
            data::moons(100, 0.1, 0),
            MLP::new(2, &[16, 16, 1]),
            TrainConfig {
                batching: Batching::PerPoint,
                ..TrainConfig::micrograd_demo(100)
            },
        ),
        (
            data::spiral(40, 3, 0.2, 0),
            MLP::new(2, &[8, 3]),
            TrainConfig {
                loss: Loss::SoftmaxCe,
                optimizer: OptimizerKind::Adam,
                schedule: Schedule::Cosine {
                    start: 0.01,
                    end: 0.001,
                    steps: 10,
                },
                l2: 1e-4,
                l1: 0.0,
                batch: Some(32),
                seed: 1,
                batching: Batching::Lanes,
                threads: None,
            },
        ),
    ];
    for (data, model, config) in &cases {
        let mut trainer = Trainer::new(model, data, config).unwrap();
        trainer.step().unwrap();
        let before = allocations();
        trainer.run(10, |_| {}).unwrap();
        assert_eq!(
            allocations() - before,
            0,
            "{:?}, {:?}, {} points: allocations in 10 steps after the first",
            config.loss,
            config.batching,
            data.len()
        );
        // The same in the trainer's loop, after its first step.
        trainer.run_loop(1).unwrap();
        let before = allocations();
        trainer.run_loop(10).unwrap();
        assert_eq!(
            allocations() - before,
            0,
            "{:?}, {:?}, {} points: allocations in a loop after its first step",
            config.loss,
            config.batching,
            data.len()
        );
    }
}

#[test]
#[cfg(feature = "nn")]
fn a_training_loop_with_a_gradient_penalty_allocates_nothing_after_its_first_step() {
    use micrograd::nn::{MLP, Module, Workspace};

    // A 2-8-8-1 network on a batch of 16 points: its loss, plus the squared
    // norm of the loss's gradient (a gradient graph, through the layers'
    // dense nodes), backpropagated and stepped.
    let model = MLP::new(2, &[8, 8, 1]);
    let params = model.parameters();
    let columns: [Vec<f64>; 2] = [
        (0..16).map(|k| f64::from(k) / 8.0 - 1.0).collect(),
        (0..16).map(|k| f64::from(k % 4) - 1.5).collect(),
    ];
    let minus_y: Vec<f64> = (0..16)
        .map(|k| if k % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    let mut inputs = Vec::with_capacity(2);
    let mut workspace = Workspace::default();
    let mut grads = Vec::with_capacity(params.len());
    let mut step = || {
        let _step = Scope::new();
        inputs.clear();
        inputs.extend(columns.iter().map(|c| Value::batch(c)));
        let score = model.forward_with(&inputs, &mut workspace)[0];
        let loss = (1.0 + Value::batch(&minus_y) * score).relu().mean_lanes();
        grads.clear();
        loss.gradients_into(&params, &mut grads);
        let total = loss + 0.01 * Value::sum_squares(&grads);
        for p in &params {
            p.set_grad(0.0);
        }
        total.backward();
        for p in &params {
            p.set_data(p.data() - 0.05 * p.grad());
        }
        total.data()
    };

    let first = step();
    let before = allocations();
    let mut last = first;
    for _ in 0..20 {
        last = step();
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in 20 steps after the first"
    );
    assert!(last.is_finite() && last != first);
}
