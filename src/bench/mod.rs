//! `micrograd bench`: the engine's speed on training workloads, five ways.
//!
//! Each workload is a full training step of micrograd's demo: forward the
//! batch, SVM loss plus L2, backward, SGD update, free the graph. It is
//! timed as the `Trainer` runs it (one batched graph, recorded once and
//! replayed), with that graph built every step, as micrograd's graph
//! point by point, and node for node (a `*` and a `+` per weight) both on
//! the engine and on a flat tape with no checks at all. The ways take turns
//! in bursts of a few milliseconds, so a noisy machine slows them alike;
//! the reports are medians. Beside them, the Hessian-vector product of the
//! batched loss as a graph ([`Value::hvp`](micrograd::Value::hvp)) against
//! one gradient of the same graph.
//!
//! The batched step's arithmetic is counted ([`step_flop`]) and set against
//! the peak of one core, measured in the same run ([`peak`]).

mod peak;

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use micrograd::data::moons;
use micrograd::nn::{MLP, Module, Schedule, parameter_count};
use micrograd::train::{Batching, Hidden, TrainConfig, Trainer};

use crate::size::{check_run, parse_hidden};
use micrograd_bench::flat_tape::{self, FlatTape};
use micrograd_bench::{replayed, second_order, values};
use peak::Peak;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// One fixed workload (default: A, B1 and B2)
    #[arg(long, value_enum, ignore_case = true, conflicts_with_all = ["hidden", "points"])]
    pub workload: Option<Workload>,
    /// A shape of your own: hidden layer widths, e.g. 64,64 [default: 16,16]
    #[arg(long, value_name = "WIDTHS", value_parser = parse_hidden, allow_hyphen_values = true)]
    pub hidden: Option<Hidden>,
    /// A shape of your own: the number of points, 2 or more (one of each moon) [default: 100]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000_000))]
    pub points: Option<u32>,
    /// Threads for the batched step [default: every core]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Time the batched step only (not built, per point, node by node, flat tape)
    #[arg(long)]
    pub batched: bool,
    /// Replay the batched step with fused multiply-adds in the layers' products
    /// and the L2 penalty in eight running sums (`Batching::Fused`: faster, not
    /// micrograd's bits)
    #[arg(long)]
    pub fused: bool,
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

/// A workload: a name, the hidden widths and the number of points.
struct Shape {
    name: &'static str,
    hidden: Vec<usize>,
    points: usize,
}

impl Workload {
    fn shape(self) -> Shape {
        let (name, hidden, points) = match self {
            Workload::A => ("A", vec![16, 16], 100),
            Workload::B1 => ("B1", vec![64, 64], 100),
            Workload::B2 => ("B2", vec![16, 16], 1000),
        };
        Shape {
            name,
            hidden,
            points,
        }
    }
}

/// The node-for-node ways are skipped past this many nodes a step (about
/// 25 ms of work each): they only show what the batched graph saves.
const NODE_FOR_NODE_LIMIT: usize = 5_000_000;

pub fn run(args: &BenchArgs) -> Result<()> {
    let shapes: Vec<Shape> = if args.hidden.is_some() || args.points.is_some() {
        vec![Shape {
            name: "custom",
            hidden: args.hidden.clone().map_or(vec![16, 16], |w| w.0),
            points: args.points.map_or(100, |n| n as usize),
        }]
    } else {
        let all = [Workload::A, Workload::B1, Workload::B2];
        args.workload
            .map_or(all.to_vec(), |w| vec![w])
            .into_iter()
            .map(Workload::shape)
            .collect()
    };
    let mut threads = Vec::with_capacity(shapes.len());
    for shape in &shapes {
        let widths: Vec<usize> = std::iter::once(2)
            .chain(shape.hidden.iter().copied())
            .chain([1])
            .collect();
        threads.push(check_run(
            &widths,
            shape.points,
            args.threads.map(|t| t as usize),
        )?);
    }
    let mut out = crate::output::stdout();
    let peak = Peak::measure();
    if !args.json {
        writeln!(out, "{}", peak.describe())?;
    }
    for (shape, &threads) in shapes.iter().zip(&threads) {
        let budget = Duration::from_secs_f64(args.seconds);
        let report = measure(shape, Some(threads), !args.batched, args.fused, budget)?;
        report.write(&mut out, &peak, args.json)?;
    }
    Ok(())
}

/// Steps per timed `Trainer::run_loop`.
const LOOP: usize = 8;

/// What one workload measured.
struct Report<'s> {
    shape: &'s Shape,
    threads: usize,
    batched: Vec<Duration>,
    /// Loops of [`LOOP`] of the same steps (`Trainer::run_loop`), whole.
    looped: Vec<Duration>,
    /// The same step, its graph built every time (not replayed).
    built: Vec<Duration>,
    per_point: Vec<Duration>,
    node_by_node: Vec<Duration>,
    flat: Vec<Duration>,
    /// The node-by-node graph recorded once and replayed, on the engine
    /// and on the flat tape.
    node_by_node_replayed: Vec<Duration>,
    flat_replayed: Vec<Duration>,
    gradient: Vec<Duration>,
    hvp: Vec<Duration>,
    micrograd_nodes: usize,
    tape_nodes: usize,
    /// The batched step's arithmetic, [`step_flop`].
    flop: usize,
    /// Whether the batched step fused its multiply-adds.
    fused: bool,
}

/// `--json`'s line, fields in this order.
#[derive(serde::Serialize)]
struct JsonReport<'s> {
    workload: &'s str,
    /// The batched step, as the `Trainer` runs it.
    step_us_median: f64,
    /// Whether it fused its multiply-adds (`--fused`).
    fused: bool,
    /// The same steps in the trainer's loop (`Trainer::run_loop`, JAX's
    /// `fori_loop`), per step.
    loop_step_us_median: f64,
    /// The step's graph as micrograd builds it (what the flat tape builds).
    nodes_per_step: usize,
    ns_per_node: f64,
    hidden: &'s [usize],
    points: usize,
    threads: usize,
    /// The same step with its graph built every time.
    built_step_us_median: Option<f64>,
    per_point_step_us_median: Option<f64>,
    node_by_node_step_us_median: Option<f64>,
    node_by_node_ns_per_node: Option<f64>,
    flat_tape_step_us_median: Option<f64>,
    flat_tape_ns_per_node: Option<f64>,
    /// The node-by-node graph recorded once and replayed (a `Recording`).
    node_by_node_replayed_step_us_median: Option<f64>,
    /// The same on the flat tape: its ops run again.
    flat_tape_replayed_step_us_median: Option<f64>,
    /// The batched loss's graph and `backward`, with no update.
    gradient_us_median: Option<f64>,
    /// The same graph and its Hessian-vector product, as a graph.
    hvp_us_median: Option<f64>,
    tape_nodes_per_step: usize,
    steps_measured: usize,
    peak_memory_mb: Option<f64>,
    /// The batched step's floating-point operations, 6·N·Σ nᵢ₋₁·nᵢ.
    flop_per_step: usize,
    /// `flop_per_step` over `step_us_median`, in GFLOP/s.
    gflops: f64,
    /// One core's peak, measured in the same run, in GFLOP/s.
    peak_fma_gflops: f64,
    peak_mul_add_gflops: f64,
    peak_f64_lanes: usize,
    /// `gflops` over `threads` × `peak_fma_gflops`.
    fraction_of_peak: f64,
}

impl Report<'_> {
    fn write(&self, out: &mut impl Write, peak: &Peak, json: bool) -> Result<()> {
        let batched = median_us(&self.batched).unwrap_or(f64::NAN);
        let looped = median_us(&self.looped).map_or(f64::NAN, |us| us / LOOP as f64);
        let gflops = self.flop as f64 / (batched * 1e3);
        let fraction = gflops / (self.threads as f64 * peak.fma_gflops);
        let per_node = |us: f64| us * 1e3 / self.micrograd_nodes as f64;
        let per_point = median_us(&self.per_point);
        let built = median_us(&self.built);
        let node_by_node = median_us(&self.node_by_node);
        let flat = median_us(&self.flat);
        let nodes_replayed = median_us(&self.node_by_node_replayed);
        let flat_replayed = median_us(&self.flat_replayed);
        let (gradient, hvp) = (median_us(&self.gradient), median_us(&self.hvp));
        let memory = peak_memory_mb();
        let shape = self.shape;
        if json {
            let line = serde_json::to_string(&JsonReport {
                workload: shape.name,
                step_us_median: batched,
                fused: self.fused,
                loop_step_us_median: looped,
                nodes_per_step: self.micrograd_nodes,
                ns_per_node: per_node(batched),
                hidden: &shape.hidden,
                points: shape.points,
                threads: self.threads,
                built_step_us_median: built,
                per_point_step_us_median: per_point,
                node_by_node_step_us_median: node_by_node,
                node_by_node_ns_per_node: node_by_node.map(per_node),
                flat_tape_step_us_median: flat,
                flat_tape_ns_per_node: flat.map(per_node),
                node_by_node_replayed_step_us_median: nodes_replayed,
                flat_tape_replayed_step_us_median: flat_replayed,
                gradient_us_median: gradient,
                hvp_us_median: hvp,
                tape_nodes_per_step: self.tape_nodes,
                steps_measured: self.batched.len(),
                peak_memory_mb: memory,
                flop_per_step: self.flop,
                gflops,
                peak_fma_gflops: peak.fma_gflops,
                peak_mul_add_gflops: peak.mul_add_gflops,
                peak_f64_lanes: peak.lanes,
                fraction_of_peak: fraction,
            })?;
            writeln!(out, "{line}")?;
            return Ok(());
        }
        let widths: Vec<String> = std::iter::once(2)
            .chain(shape.hidden.iter().copied())
            .chain([1])
            .map(|w| w.to_string())
            .collect();
        writeln!(
            out,
            "workload {}: {} moons points, MLP {}, SVM + L2 loss, backward, SGD update",
            shape.name,
            shape.points,
            widths.join("-")
        )?;
        writeln!(
            out,
            "  batched       {batched:>10.1} µs per step (median of {}), {} thread{}: a lane per point, recorded once and replayed{}",
            self.batched.len(),
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            if self.fused {
                ", fused multiply-adds"
            } else {
                ""
            }
        )?;
        writeln!(
            out,
            "  in a loop     {looped:>10.1} µs per step: the same steps, {LOOP} at a time in Trainer::run_loop (JAX's fori_loop)"
        )?;
        let cores = match self.threads {
            1 => "one core's".to_string(),
            n => format!("{n} × one core's"),
        };
        writeln!(
            out,
            "  arithmetic    {gflops:>10.2} GFLOP/s, {:.3} MFLOP per step (6·N·Σ nᵢ₋₁·nᵢ): {:.1}% of {cores} FMA peak",
            self.flop as f64 / 1e6,
            100.0 * fraction
        )?;
        if let Some(us) = built {
            writeln!(
                out,
                "  built         {us:>10.1} µs per step: the same graph built every step ({:.2}x the replayed time)",
                us / batched
            )?;
        }
        if let Some(us) = per_point {
            writeln!(
                out,
                "  per point     {us:>10.1} µs per step: micrograd's graph, a node per neuron sum ({:.1}x the batched time)",
                us / batched
            )?;
        }
        if let (Some(nodes), Some(flat)) = (node_by_node, flat) {
            writeln!(
                out,
                "  node by node  {nodes:>10.1} µs per step, {:.2} ns per node: micrograd's graph, a node per + and *",
                per_node(nodes)
            )?;
            writeln!(
                out,
                "  flat tape     {flat:>10.1} µs per step, {:.2} ns per node: the same graph on a bare Vec<f64> tape ({:.2}x node by node's speed)",
                per_node(flat),
                nodes / flat
            )?;
            if let (Some(nodes), Some(flat)) = (nodes_replayed, flat_replayed) {
                writeln!(
                    out,
                    "  replayed      {nodes:>10.1} µs per step node by node, recorded once (a Recording); the flat tape's ops run again: {flat:.1} µs ({:.2}x)",
                    nodes / flat
                )?;
            }
        } else if self.micrograd_nodes > NODE_FOR_NODE_LIMIT {
            writeln!(
                out,
                "  (per point, node by node and the flat tape skipped: more than {NODE_FOR_NODE_LIMIT} nodes a step)"
            )?;
        }
        if let (Some(gradient), Some(hvp)) = (gradient, hvp) {
            writeln!(
                out,
                "  hvp           {hvp:>10.1} µs: H·v of the batched loss, as a graph ({:.2}x one gradient of it, {gradient:.1} µs)",
                hvp / gradient
            )?;
        }
        writeln!(
            out,
            "  graph         {} nodes as micrograd builds it, {} on the engine's tape batched",
            self.micrograd_nodes, self.tape_nodes
        )?;
        if let Some(mb) = memory {
            writeln!(out, "  peak memory   {mb:.1} MB (the whole process)")?;
        }
        Ok(())
    }
}

/// micrograd's node count for the demo step: per point its inputs, per
/// neuron a `*` and a `+` per input (and a ReLU in hidden layers), 5 for
/// its loss term; then the mean (a sum of `n + 1` leaves and adds, a scale,
/// a product), the L2 term (`2p + 1`, a leaf, a product) and the total.
fn micrograd_nodes(widths: &[usize], points: usize) -> usize {
    let last = widths.len() - 2;
    let per_point: usize = widths[0]
        + widths
            .windows(2)
            .enumerate()
            .map(|(l, io)| io[1] * (2 * io[0] + usize::from(l != last)))
            .sum::<usize>()
        + 5;
    let params = parameter_count(widths);
    points * per_point + (points + 3) + (2 * params + 3) + 1
}

/// The batched step's floating-point operations for an MLP of layer
/// widths n₀-n₁-…-n_L on N points: 6·N·Σₗ nₗ₋₁·nₗ. Per weight and point,
/// a multiply and an add in each of the forward sum, the input's gradient
/// and the weight's gradient; biases, activations, the loss and the update
/// are a lower order and not counted (0.18 MFLOP for the demo's 2-16-16-1
/// on 100 points).
fn step_flop(widths: &[usize], points: usize) -> usize {
    6 * points * widths.windows(2).map(|io| io[0] * io[1]).sum::<usize>()
}

fn measure<'s>(
    shape: &'s Shape,
    threads: Option<usize>,
    all_ways: bool,
    fused: bool,
    budget: Duration,
) -> Result<Report<'s>> {
    let data = moons(shape.points, 0.1, 0);
    let nouts: Vec<usize> = shape.hidden.iter().copied().chain([1]).collect();
    let widths: Vec<usize> = std::iter::once(2).chain(nouts.iter().copied()).collect();
    let micrograd_nodes = micrograd_nodes(&widths, shape.points);
    let node_for_node = all_ways && micrograd_nodes <= NODE_FOR_NODE_LIMIT;
    // A small constant rate keeps thousands of steps stable; the work per
    // step does not depend on it.
    let lr = 0.01;
    let config = |batching| TrainConfig {
        schedule: Schedule::Constant(lr),
        batching,
        threads,
        ..TrainConfig::micrograd_demo(1)
    };
    let batched_model = MLP::new(2, &nouts);
    let replayed = if fused {
        Batching::Fused
    } else {
        Batching::Replay
    };
    let mut batched = Trainer::new(&batched_model, &data, &config(replayed))?;
    let built_model = MLP::new(2, &nouts);
    let mut built = Trainer::new(&built_model, &data, &config(Batching::Lanes))?;
    let per_point_model = MLP::new(2, &nouts);
    let mut per_point = Trainer::new(&per_point_model, &data, &config(Batching::PerPoint))?;
    let layers: Vec<Vec<(Vec<f64>, f64)>> = batched_model
        .weights()
        .layers
        .iter()
        .map(|l| l.w.iter().cloned().zip(l.b.iter().copied()).collect())
        .collect();
    let values = values::params(&layers);
    let mut tape = FlatTape::default();
    let flat_params = flat_tape::flat_params(&mut tape, &layers);
    // The same, recorded once and replayed (after the built ones' nodes,
    // which each step frees).
    let replayed_values = values::params(&layers);
    let mut replayed = node_for_node.then(|| replayed::engine(&replayed_values, &data.x, &data.y));
    let mut replayed_tape = FlatTape::default();
    let replayed_flat_params = flat_tape::flat_params(&mut replayed_tape, &layers);
    let replayed_flat = node_for_node.then(|| {
        replayed::Flat::record(&mut replayed_tape, &replayed_flat_params, &data.x, &data.y)
    });
    let second_model = MLP::new(2, &nouts);
    let second_params = second_model.parameters();
    let v: Vec<f64> = (0..second_params.len())
        .map(|i| (i * 7 % 13) as f64 / 13.0 - 0.5)
        .collect();
    let mut hv = Vec::with_capacity(v.len());

    let first = batched.step()?;
    // The graph's nodes as the step builds it; built only when timed, so
    // that `--batched`'s peak memory is the replayed step's alone.
    let tape_nodes = if all_ways {
        built.step()?.nodes
    } else {
        first.nodes
    };
    let threads_used = config(Batching::Replay).thread_count();
    let mut report = Report {
        shape,
        threads: threads_used,
        batched: Vec::new(),
        looped: Vec::new(),
        built: Vec::new(),
        per_point: Vec::new(),
        node_by_node: Vec::new(),
        flat: Vec::new(),
        node_by_node_replayed: Vec::new(),
        flat_replayed: Vec::new(),
        gradient: Vec::new(),
        hvp: Vec::new(),
        micrograd_nodes,
        tape_nodes,
        flop: step_flop(&widths, shape.points),
        fused,
    };
    // Warm up (first steps allocate), then take turns: each way runs a
    // burst of steps (about 5 ms, at least 3), its first step uncounted, so
    // that each finds the caches its own while a noisy machine still slows
    // them alike.
    let burst =
        |f: &mut dyn FnMut() -> Result<()>, times: &mut Vec<Duration>, keep: bool| -> Result<()> {
            let started = Instant::now();
            let mut n = 0;
            while n < 3 || started.elapsed() < Duration::from_millis(5) {
                let t = Instant::now();
                f()?;
                if keep && n > 0 {
                    times.push(t.elapsed());
                }
                n += 1;
            }
            Ok(())
        };
    let mut round = |report: &mut Report, keep: bool| -> Result<()> {
        burst(
            &mut || batched.step().map(drop).map_err(Into::into),
            &mut report.batched,
            keep,
        )?;
        burst(
            &mut || batched.run_loop(LOOP).map(drop).map_err(Into::into),
            &mut report.looped,
            keep,
        )?;
        if all_ways {
            burst(
                &mut || built.step().map(drop).map_err(Into::into),
                &mut report.built,
                keep,
            )?;
        }
        if node_for_node {
            burst(
                &mut || per_point.step().map(drop).map_err(Into::into),
                &mut report.per_point,
                keep,
            )?;
            let mut node_by_node = || {
                values::demo_step(&values, &data.x, &data.y, lr);
                Ok(())
            };
            burst(&mut node_by_node, &mut report.node_by_node, keep)?;
            let mut flat = || {
                flat_tape::demo_step(&mut tape, &flat_params, &data.x, &data.y, lr);
                Ok(())
            };
            burst(&mut flat, &mut report.flat, keep)?;
            if let (Some(engine), Some(recorded)) = (&mut replayed, &replayed_flat) {
                let mut nodes = || {
                    engine.step(lr);
                    Ok(())
                };
                burst(&mut nodes, &mut report.node_by_node_replayed, keep)?;
                let mut flat = || {
                    recorded.step(&mut replayed_tape, lr);
                    Ok(())
                };
                burst(&mut flat, &mut report.flat_replayed, keep)?;
            }
        }
        Ok(())
    };
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        round(&mut report, false)?;
    }
    let started = Instant::now();
    while started.elapsed() < budget || report.batched.len() < 5 {
        round(&mut report, true)?;
    }
    // The recording's trace goes first: a gradient graph's sweeps cost
    // with the tape's length.
    drop(replayed);
    // The second order after the rest, in turns of its own: its graphs'
    // memory would otherwise change the other ways' caches between bursts.
    if node_for_node {
        let (x, y) = (&data.x, &data.y);
        let mut gradient = || {
            second_order::gradient(&second_model, &second_params, x, y);
            Ok(())
        };
        let mut hvp = || {
            second_order::hvp(&second_model, &second_params, x, y, &v, &mut hv);
            Ok(())
        };
        let started = Instant::now();
        let mut turn = 0;
        while started.elapsed() < budget / 2 || report.hvp.len() < 5 {
            // The first turn warms up.
            let keep = turn > 0;
            burst(&mut gradient, &mut report.gradient, keep)?;
            burst(&mut hvp, &mut report.hvp, keep)?;
            turn += 1;
        }
    }
    Ok(report)
}

fn median_us(times: &[Duration]) -> Option<f64> {
    let mut us: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    us.get(us.len() / 2).copied()
}

/// The process's peak resident memory (Linux's VmHWM), in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
