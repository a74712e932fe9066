//! Engine benchmarks: build + forward + backward + free, per node.
//!
//! `cargo bench --bench engine`. Each benchmark's criterion throughput is
//! its node count, so criterion reports nodes per second; the time per node
//! is the median time divided by the node count, printed on start.

mod workload;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micrograd::{Scope, Value, tape_len};

use micrograd_bench::flat_tape::{self, FlatTape};
use micrograd_bench::values;
use workload::Demo;

fn nodes_of(build: impl FnOnce() -> Value) -> u64 {
    let _scope = Scope::new();
    let before = tape_len();
    build().backward();
    (tape_len() - before) as u64
}

fn demo_step(c: &mut Criterion) {
    let demo = Demo::new(100, &[2, 16, 16, 1]);
    let params = values::params(&demo.layers);
    let points: Vec<Vec<f64>> = demo.points.iter().map(|p| p.to_vec()).collect();
    let mut group = c.benchmark_group("demo step (100 points, MLP 2-16-16-1, SVM + L2)");

    let unfused = nodes_of(|| values::demo_loss(&params, &points, &demo.labels));
    group.throughput(Throughput::Elements(unfused));
    group.bench_function(format!("engine, unfused ({unfused} nodes)"), |bench| {
        bench.iter(|| {
            let _step = Scope::new();
            values::demo_loss(&params, &points, &demo.labels).backward();
        })
    });

    let mut tape = FlatTape::default();
    let flat_params = flat_tape::flat_params(&mut tape, &demo.layers);
    let base = tape.data.len();
    group.bench_function(format!("flat tape baseline ({unfused} nodes)"), |bench| {
        bench.iter(|| {
            let root = flat_tape::demo_loss(&mut tape, &flat_params, &points, &demo.labels);
            tape.backward(base, root);
            tape.truncate(base);
        })
    });

    // Same work, counted in the unfused graph's nodes for comparison.
    let fused = nodes_of(|| workload::demo_loss_fused(&demo, &params));
    group.bench_function(format!("engine, fused affine ({fused} nodes)"), |bench| {
        bench.iter(|| {
            let _step = Scope::new();
            workload::demo_loss_fused(&demo, &params).backward();
        })
    });
    group.finish();
}

fn chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain of 1,000,000 additions");
    group.sample_size(20);
    let x = Value::new(0.5);
    let nodes = nodes_of(|| workload::chain(x, 1_000_000));
    group.throughput(Throughput::Elements(nodes));
    group.bench_function(
        format!("build + backward + free ({nodes} nodes)"),
        |bench| {
            bench.iter(|| {
                let _scope = Scope::new();
                workload::chain(x, 1_000_000).backward();
            })
        },
    );
    group.finish();
}

criterion_group!(benches, demo_step, chain);
criterion_main!(benches);
