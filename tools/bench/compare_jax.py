#!/usr/bin/env python3
"""The README's performance table: micrograd's demo step against JAX, side by side.

For every shape (hidden widths x points) it runs, in turn and in the same
session, the JAX peer (tools/peers/jax_step.py: one jitted step per call with
the loss read back, and all steps in one jitted fori_loop) and
`micrograd bench --batched` on one thread, exact (the trainer's replayed
step, micrograd's bits, a step at a time and in the trainer's loop) and fused
(`--fused`: a fused multiply-add per term, in the loop),
all pinned to core 0 with taskset; then `micrograd bench --batched` on 2
threads without pinning. It repeats the
whole round `--rounds` times and prints the median of each figure, with the
ratios the README gives.

Set up once:  python3 -m venv /tmp/jax-venv && /tmp/jax-venv/bin/pip install jax
Run:          cargo build --release
              tools/bench/compare_jax.py --python /tmp/jax-venv/bin/python
"""
import argparse, json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--python", default="/tmp/jax-venv/bin/python", help="a Python with jax installed")
ap.add_argument("--micrograd", default=os.path.join(ROOT, "target/release/micrograd"))
ap.add_argument("--widths", default="16,32,64,128")
ap.add_argument("--points", default="100,1000,10000")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--seconds", type=float, default=2.0, help="micrograd bench's budget per shape")
args = ap.parse_args()

pin = ["taskset", "-c", "0"]


def jax(width, points):
    steps = 100 if width * width * points <= 16 * 16 * 10000 else 30
    out = subprocess.run(
        pin + [args.python, os.path.join(ROOT, "tools/peers/jax_step.py"),
               "--hidden", f"{width},{width}", "--points", str(points), "--steps", str(steps), "--reps", "3"],
        capture_output=True, text=True, check=True).stdout
    d = json.loads(out.strip().splitlines()[-1])
    return d["per_call_us"], d["fori_us"]


def ours(width, points, threads, fused=False):
    """micrograd's step (`Trainer::step`, its loss read back) and the same
    steps in the trainer's loop (`Trainer::run_loop`), in µs per step."""
    cmd = ([] if threads > 1 else pin) + [
        args.micrograd, "bench", "--batched", "--json", "--hidden", f"{width},{width}",
        "--points", str(points), "--threads", str(threads), "--seconds", str(args.seconds)]
    out = subprocess.run(cmd + (["--fused"] if fused else []), capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return d["step_us_median"], d["loop_step_us_median"]


shapes = [(w, n) for w in map(int, args.widths.split(",")) for n in map(int, args.points.split(","))]
keys = ("jax", "fori", "one", "one_loop", "fused_loop", "two")
figures = {shape: {k: [] for k in keys} for shape in shapes}
for r in range(args.rounds):
    for shape in shapes:
        per_call, fori = jax(*shape)
        f = figures[shape]
        f["jax"].append(per_call)
        f["fori"].append(fori)
        one, one_loop = ours(*shape, 1)
        f["one"].append(one)
        f["one_loop"].append(one_loop)
        f["fused_loop"].append(ours(*shape, 1, fused=True)[1])
        f["two"].append(ours(*shape, 2)[0])
        print(f"round {r + 1}: {shape}: jax {per_call} / {fori} µs, micrograd {one:.1f} / {one_loop:.1f} µs, "
              f"fused {f['fused_loop'][-1]:.1f} µs, 2 threads {f['two'][-1]:.1f} µs", file=sys.stderr)

# Per call: a step with its loss read back, on both sides. In a loop: JAX's
# fori_loop against micrograd's Trainer::run_loop, both with nothing between
# the steps.
print("| hidden × points | micrograd exact, a step | JAX per call | ratio "
      "| micrograd exact, in a loop | JAX fori_loop | ratio "
      "| micrograd fused, in a loop | ratio | micrograd exact, 2 threads | speed-up |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (w, n), f in figures.items():
    one, jx, loop, fo, fu, two = (statistics.median(f[k]) for k in ("one", "jax", "one_loop", "fori", "fused_loop", "two"))
    print(f"| {w},{w} × {n:,} | {one:,.1f} µs | {jx:,.1f} µs | {one / jx:.2f} "
          f"| {loop:,.1f} µs | {fo:,.1f} µs | {loop / fo:.2f} "
          f"| {fu:,.1f} µs | {fu / fo:.2f} | {two:,.1f} µs | {one / two:.2f}x |")
