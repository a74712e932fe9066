#!/usr/bin/env python3
"""One worker of an Optuna study over `micrograd train`: the learning rate,
the hidden widths and the L2 penalty, on the spiral, scored by the loss on
held-out points (`--test`).

Every worker is this same command. Workers share the study through
Optuna's journal file (`JournalFileBackend`): any number at once, on one
machine or on many that share a file system. Each trial runs the program
once with its settings as `--params`, `--json --quiet --no-out` (only the
summary line, and no files), reads the summary's `test_loss`, and tells
it; a run that diverged (exit code 3) is told as failed. The worker ends
by printing the study's best trial, with the settings that repeat it.

    python3 tools/sweep/optuna_sweep.py --journal sweep.journal --trials 20
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]
DIVERGED = 3

# The search space: what Optuna suggests. Widths are categorical strings,
# as `--params` reads them ("16,16").
WIDTHS = ["8", "16", "8,8", "16,16", "32,32"]


def suggest(trial):
    return {
        "lr": trial.suggest_float("lr", 1e-3, 0.3, log=True),
        "hidden": trial.suggest_categorical("hidden", WIDTHS),
        "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
    }


def run(binary, params, threads):
    """`micrograd train --params ... --json --quiet --no-out`: its exit code
    and its summary (the last line on stdout), or None without one."""
    command = [
        str(binary), "train", "--params", json.dumps(params),
        "--json", "--quiet", "--no-out", "--threads", str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    summary = json.loads(lines[-1]) if lines else None
    if summary is not None and not summary.get("final"):
        summary = None
    return done.returncode, summary, done.stderr.strip()


def one_trial(study, binary, fixed, threads, suggest=suggest):
    """Asks for a trial, runs it, tells how it went; returns its state."""
    trial = study.ask()
    params = {**fixed, **suggest(trial)}
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    trial.set_user_attr("start", time.time())
    try:
        code, summary, stderr = run(binary, params, threads)
    except BaseException:
        # No trial left running forever in the shared study.
        study.tell(trial, state=TrialState.FAIL)
        raise
    trial.set_user_attr("end", time.time())
    trial.set_user_attr("exit_code", code)
    if summary is not None:
        # The run's own summary: its "params" repeat it to the bit.
        trial.set_user_attr("summary", summary)
    if code == 0 and summary is not None and summary["status"] == "done":
        study.tell(trial, summary["test_loss"])
        return TrialState.COMPLETE
    study.tell(trial, state=TrialState.FAIL)
    if code != DIVERGED:
        # Not a property of these settings (a usage error, a missing
        # binary): every trial would fail alike.
        sys.exit(f"micrograd exited with {code}: {stderr}")
    return TrialState.FAIL


def open_study(journal, name):
    storage = JournalStorage(JournalFileBackend(str(journal)))
    return optuna.create_study(
        study_name=name, storage=storage, direction="minimize", load_if_exists=True
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journal", default="sweep.journal",
                        help="the study's journal file, shared by every worker")
    parser.add_argument("--study", default="spiral", help="the study's name")
    parser.add_argument("--trials", type=int, default=20, help="trials this worker runs")
    parser.add_argument("--binary", default=str(ROOT / "target/release/micrograd"),
                        help="the micrograd program (default: the release build)")
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--test", type=float, default=0.25, help="fraction held out")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per run (any number gives the same numbers)")
    args = parser.parse_args()
    if shutil.which(args.binary) is None:
        sys.exit(f"{args.binary}: no such program (cargo build --release, or --binary)")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(args.journal, args.study)
    fixed = {"dataset": "spiral", "points": args.points, "test": args.test,
             "steps": args.steps, "seed": args.seed}
    for _ in range(args.trials):
        one_trial(study, args.binary, fixed, args.threads)

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not done:
        print("no trial has completed yet")
        return
    best = study.best_trial
    summary = best.user_attrs["summary"]
    print(f"best trial {best.number} of {len(study.trials)}: test loss {best.value!r}, "
          f"test accuracy {summary['test_accuracy']}")
    print(f"  suggested: {json.dumps(best.params)}")
    print(f"  again: {args.binary} train --params '{json.dumps(summary['params'])}'")


if __name__ == "__main__":
    main()
