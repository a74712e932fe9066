//! `micrograd bench`: the engine's speed on fixed training workloads, side
//! by side with a flat tape doing the same step node for node.
//!
//! Each workload is a full training step of micrograd's demo: forward the
//! batch, SVM loss plus L2, backward, SGD update, free the graph. The engine
//! and the flat tape take turns, step for step, so a noisy machine slows
//! both alike; the reports are medians.

mod flat_tape;

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use micrograd::data::moons;
use micrograd::nn::{MLP, Schedule};
use micrograd::train::{TrainConfig, Trainer};

use flat_tape::FlatTape;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// One workload (default: all)
    #[arg(long, value_enum, ignore_case = true)]
    pub workload: Option<Workload>,
    /// One JSON object per workload on stdout
    #[arg(long)]
    pub json: bool,
    /// Seconds of measurement per workload
    #[arg(long, value_name = "S", default_value_t = 3.0, value_parser = seconds)]
    pub seconds: f64,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err("expected a number of seconds, more than 0 and at most 3600".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// micrograd's demo step: 100 points, MLP 2-16-16-1
    #[value(name = "A")]
    A,
    /// the same with MLP 2-64-64-1
    #[value(name = "B1")]
    B1,
    /// the same with 1000 points
    #[value(name = "B2")]
    B2,
}

impl Workload {
    fn setup(self) -> (&'static str, usize, [usize; 3]) {
        match self {
            Workload::A => ("A", 100, [16, 16, 1]),
            Workload::B1 => ("B1", 100, [64, 64, 1]),
            Workload::B2 => ("B2", 1000, [16, 16, 1]),
        }
    }
}

/// What one workload measured.
struct Report {
    name: &'static str,
    describe: String,
    engine: Vec<Duration>,
    flat: Vec<Duration>,
    micrograd_nodes: usize,
    tape_nodes: usize,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let workloads = match args.workload {
        Some(w) => vec![w],
        None => vec![Workload::A, Workload::B1, Workload::B2],
    };
    let mut out = std::io::stdout().lock();
    for workload in workloads {
        let report = measure(workload, Duration::from_secs_f64(args.seconds))?;
        let engine = median_us(&report.engine);
        let flat = median_us(&report.flat);
        let ns_per_node = engine * 1e3 / report.micrograd_nodes as f64;
        let peak = peak_memory_mb();
        if args.json {
            let line = serde_json::to_string(&JsonReport {
                workload: report.name,
                step_us_median: engine,
                nodes_per_step: report.micrograd_nodes,
                ns_per_node,
                tape_nodes_per_step: report.tape_nodes,
                flat_tape_step_us_median: flat,
                steps_measured: report.engine.len(),
                peak_memory_mb: peak,
            })?;
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "workload {}: {}", report.name, report.describe)?;
            writeln!(
                out,
                "  micrograd-rs  {engine:>9.1} µs per step (median of {}), {:.2} ns per micrograd node",
                report.engine.len(),
                ns_per_node
            )?;
            writeln!(
                out,
                "  flat tape     {flat:>9.1} µs per step, the same graph on a bare Vec<f64> tape ({:.2}x the engine's time)",
                flat / engine
            )?;
            writeln!(
                out,
                "  graph         {} nodes as micrograd builds it, {} on the engine's tape (one node per neuron sum)",
                report.micrograd_nodes, report.tape_nodes
            )?;
            if let Some(mb) = peak {
                writeln!(out, "  peak memory   {mb:.1} MB (the whole process)")?;
            }
        }
    }
    Ok(())
}

/// `--json`'s line, fields in this order.
#[derive(serde::Serialize)]
struct JsonReport {
    workload: &'static str,
    step_us_median: f64,
    /// The step's graph as micrograd builds it (what the flat tape builds).
    nodes_per_step: usize,
    ns_per_node: f64,
    tape_nodes_per_step: usize,
    flat_tape_step_us_median: f64,
    steps_measured: usize,
    peak_memory_mb: Option<f64>,
}

fn measure(workload: Workload, budget: Duration) -> Result<Report> {
    let (name, points, nouts) = workload.setup();
    let data = moons(points, 0.1, 0);
    let model = MLP::new(2, &nouts);
    // A small constant rate keeps thousands of steps stable; the work per
    // step does not depend on it.
    let lr = 0.01;
    let config = TrainConfig {
        schedule: Schedule::Constant(lr),
        ..TrainConfig::micrograd_demo(1)
    };
    let mut trainer = Trainer::new(&model, &data, &config)?;

    let mut tape = FlatTape::default();
    let layers: Vec<Vec<(Vec<f64>, f64)>> = model
        .weights()
        .layers
        .iter()
        .map(|l| l.w.iter().cloned().zip(l.b.iter().copied()).collect())
        .collect();
    let params = flat_tape::flat_params(&mut tape, &layers);

    // Warm up both (first steps allocate), and count the nodes.
    let tape_nodes = trainer.step()?.nodes;
    let (_, micrograd_nodes) = flat_tape::demo_step(&mut tape, &params, &data.x, &data.y, lr);
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        trainer.step()?;
        flat_tape::demo_step(&mut tape, &params, &data.x, &data.y, lr);
    }

    let (mut engine, mut flat) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while started.elapsed() < budget || engine.len() < 5 {
        let t = Instant::now();
        trainer.step()?;
        engine.push(t.elapsed());
        let t = Instant::now();
        flat_tape::demo_step(&mut tape, &params, &data.x, &data.y, lr);
        flat.push(t.elapsed());
    }
    let describe = format!(
        "{points} moons points, MLP 2-{}-{}-{}, SVM + L2 loss, backward, SGD update",
        nouts[0], nouts[1], nouts[2]
    );
    Ok(Report {
        name,
        describe,
        engine,
        flat,
        micrograd_nodes,
        tape_nodes,
    })
}

fn median_us(times: &[Duration]) -> f64 {
    let mut us: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    us[us.len() / 2]
}

/// The process's peak resident memory (Linux's VmHWM), in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
