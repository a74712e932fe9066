#!/usr/bin/env python3
"""Do the built-in datasets' default settings train every network a learner
may ask for? Runs `micrograd train --dataset D --hidden H --points N --seed S`
over a grid (one and two hidden layers of width 16 to 512, 100 to 10,000
points, seeds 0 to 4) and reports, per dataset and network, the lowest
training accuracy over the seeds, and every run that diverged (exit code 3,
or the warning that the loss grew a thousandfold).

The bar is what the same data reached with the settings of before issue 12
at 16,16: give it with --baseline FILE, a JSON file this script wrote with
--record-baseline from the old binary (the old presets, --hidden 16,16).

    tools/presets/stability.py --binary target/release/micrograd --jobs 16 > table.md

Standard library only: each run is a process (`--threads 1`; any thread
count gives the same numbers), `--jobs` of them at once.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

DATASETS = ["moons", "circles", "blobs", "spiral"]


def train(binary, dataset, hidden, points, seed, extra, threads=1):
    """One run: its last step's accuracy, and whether it diverged."""
    with tempfile.TemporaryDirectory() as out:
        args = [
            binary, "train", "--dataset", dataset, "--hidden", hidden,
            "--points", str(points), "--seed", str(seed), "--threads", str(threads),
            "--json", "--log-every", "1000000000", "--out", out,
            "--save", os.path.join(out, "m.st"),
        ] + extra
        started = time.monotonic()
        run = subprocess.run(args, capture_output=True, text=True)
        seconds = time.monotonic() - started
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    last = json.loads(lines[-1]) if lines else {}
    diverged = run.returncode == 3 or "the loss grew" in run.stderr
    return {
        "dataset": dataset, "hidden": hidden, "points": points, "seed": seed,
        "code": run.returncode, "diverged": diverged,
        "accuracy": last.get("accuracy"), "loss": last.get("loss"),
        "seconds": round(seconds, 2),
        "error": run.stderr.strip().splitlines()[-1] if run.returncode else "",
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default="target/release/micrograd")
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--widths", default="16,32,64,128,256,512")
    p.add_argument("--layers", default="1,2")
    p.add_argument("--points", default="100,1000,10000")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--record-baseline", metavar="FILE",
                   help="run the grid at --hidden 16,16 only and write each run's accuracy to FILE")
    p.add_argument("--baseline", metavar="FILE", help="a file --record-baseline wrote")
    p.add_argument("--results", metavar="FILE",
                   help="append every run as a JSON line to FILE as it ends")
    p.add_argument("--skip", default="", metavar="HIDDENxPOINTS,...",
                   help="cells not to run, e.g. 512,512x10000 (split on ';')")
    p.add_argument("--threads", type=int, default=1, help="threads per run")
    p.add_argument("--report", nargs="+", metavar="FILE",
                   help="run nothing: the table of the runs in these --results files")
    p.add_argument("extra", nargs="*", help="more flags for every run (after --)")
    a = p.parse_args()

    datasets = a.datasets.split(",")
    points = [int(n) for n in a.points.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.record_baseline:
        hiddens = ["16,16"]
    else:
        widths = a.widths.split(",")
        hiddens = [",".join([w] * int(k)) for k in a.layers.split(",") for w in widths]
    skipped = {tuple(c.split("x")) for c in a.skip.split(";") if c}
    grid = [(d, h, n, s) for d in datasets for h in hiddens for n in points for s in seeds
            if (h, str(n)) not in skipped]
    # The largest first, so that the pool does not end on one long run.
    cost = lambda c: c[2] * sum(int(w) for w in c[1].split(",")) ** 2
    grid.sort(key=cost, reverse=True)

    started = time.monotonic()
    if a.report:
        runs = [json.loads(l) for path in a.report for l in open(path) if l.strip()]
        datasets = [d for d in datasets if any(r["dataset"] == d for r in runs)]
        hiddens = [h for h in hiddens if any(r["hidden"] == h for r in runs)]
        points = [n for n in points if any(r["points"] == n for r in runs)]
        a.jobs = "several"
    else:
        results = open(a.results, "a") if a.results else None

        def one(cell):
            r = train(a.binary, *cell, a.extra, a.threads)
            if results:
                results.write(json.dumps(r) + "\n")
                results.flush()
            return r

        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            runs = list(pool.map(one, grid))
    took = time.monotonic() - started

    if a.record_baseline:
        bars = {f"{r['dataset']} {r['points']} {r['seed']}": r["accuracy"] for r in runs}
        with open(a.record_baseline, "w") as f:
            json.dump(bars, f, indent=1, sort_keys=True)
        print(f"{len(runs)} runs in {took:.0f} s: baseline written to {a.record_baseline}")
        return

    bars = {}
    if a.baseline:
        with open(a.baseline) as f:
            bars = json.load(f)

    # One row per dataset and network: the lowest accuracy over the seeds
    # at each size, with the bar it had to reach.
    print(f"{len(runs)} runs of `micrograd train --dataset D --hidden H --points N --seed S"
          f"{' ' + ' '.join(a.extra) if a.extra else ''}`"
          + (f" (seeds {a.seeds}) in {took:.0f} s on {a.jobs} processes.\n" if not a.report else ".\n"))
    print("Lowest training accuracy over the seeds (bar: the settings before, at 16,16, on the same "
          "points and seeds); ✗ a run that diverged; ↓ below the bar.\n")
    header = "| dataset | hidden | " + " | ".join(f"{n:,} points (bar)" for n in points) + " |"
    print(header)
    print("|" + "---|" * (2 + len(points)))
    failures = []
    for d in datasets:
        for h in hiddens:
            cells = []
            for n in points:
                rs = [r for r in runs if (r["dataset"], r["hidden"], r["points"]) == (d, h, n)]
                if not rs:
                    cells.append("not run")
                    continue
                seeds_run = "" if len(rs) >= len(seeds) else f" [{len(rs)} seed{'s' * (len(rs) > 1)}]"
                worst = min((r["accuracy"] if r["accuracy"] is not None else -1) for r in rs)
                bar = min((bars.get(f"{d} {n} {r['seed']}", 0) or 0) for r in rs) if bars else None
                below = [r for r in rs if bars and (r["accuracy"] or -1) < (bars.get(f"{d} {n} {r['seed']}") or 0)]
                diverged = [r for r in rs if r["diverged"] or r["code"] != 0]
                mark = ("✗" * bool(diverged)) + ("↓" * bool(below))
                failures += diverged + below
                shown = "—" if worst < 0 else f"{100 * worst:.1f}%"
                cells.append(f"{shown}{mark}" + (f" ({100 * bar:.1f}%)" if bar is not None else "")
                             + seeds_run)
            print(f"| {d} | {h} | " + " | ".join(cells) + " |")
    slowest = max(runs, key=lambda r: r["seconds"])
    print(f"\nSlowest run: {slowest['dataset']} {slowest['hidden']} x {slowest['points']}: "
          f"{slowest['seconds']} s.")
    if failures:
        print(f"\n{len(failures)} runs diverged or fell below the bar:")
        for r in failures:
            print(f"- {r['dataset']} {r['hidden']} x {r['points']} seed {r['seed']}: "
                  f"accuracy {r['accuracy']}, exit {r['code']} {r['error']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
