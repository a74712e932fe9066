#!/usr/bin/env python3
"""Two builds of `micrograd` timed against each other: `micrograd bench` for
workloads A, B1 and B2, pinned to one core, old and new in interleaved
pairs (the order alternating), so a noisy machine slows both alike. Prints
each pair's new/old ratios and then the median ratio with its range, for
the batched step, per point, node by node and the flat tape.

    tools/bench/ab_pairs.py OLD_BINARY NEW_BINARY [--pairs 7] [--seconds 1] [--core 0]

Instruction counts (callgrind) are the repeatable complement:
    valgrind --tool=callgrind BINARY bench --workload A --seconds 0.2
"""

import argparse
import json
import statistics
import subprocess

KEYS = {
    "batched": "step_us_median",
    "per point": "per_point_step_us_median",
    "node by node": "node_by_node_step_us_median",
    "flat tape": "flat_tape_step_us_median",
}


def run(binary, workload, seconds, core):
    out = subprocess.run(
        ["taskset", "-c", str(core), binary, "bench", "--workload", workload,
         "--json", "--seconds", str(seconds)],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--workloads", default="A,B1,B2")
    args = ap.parse_args()
    workloads = args.workloads.split(",")
    ratios = {w: {k: [] for k in KEYS} for w in workloads}
    for p in range(args.pairs):
        for w in workloads:
            order = [("old", args.old), ("new", args.new)]
            if p % 2:
                order.reverse()
            res = {name: run(b, w, args.seconds, args.core) for name, b in order}
            for k, key in KEYS.items():
                if res["new"].get(key) and res["old"].get(key):
                    ratios[w][k].append(res["new"][key] / res["old"][key])
            print(p, w, {k: round(v[-1], 3) for k, v in ratios[w].items() if v}, flush=True)
    print(f"\nmedian new/old [min, max] over {args.pairs} pairs")
    for w, by_way in ratios.items():
        cells = [f"{k}: {statistics.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
                 for k, v in by_way.items() if v]
        print(w, "  ".join(cells))


if __name__ == "__main__":
    main()
