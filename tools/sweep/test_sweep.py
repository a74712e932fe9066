#!/usr/bin/env python3
"""The sweep, really run (CI, in a virtualenv with requirements.txt): two
workers of `optuna_sweep.py` at once on a fresh journal, ten trials each.
Asserts that all 20 complete, that the two workers' runs overlapped in time
(each trial records its start and end), and that the best trial, run again
alone from its summary's "params", gives the same score to the bit. Then a
run that diverges (exit code 3) is told as failed.

    python3 tools/sweep/test_sweep.py [path/to/micrograd]
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import optuna_sweep as sweep  # noqa: E402

WORKERS, TRIALS = 2, 10
# Small enough for CI's 2 cores (the whole test in seconds), long enough
# (a tenth to a third of a second a run) that the two workers' runs overlap
# whatever their start-up.
SIZE = ["--points", "300", "--steps", "1500"]


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    binary = Path(sys.argv[1] if len(sys.argv) > 1 else sweep.ROOT / "target/release/micrograd")
    assert binary.exists(), f"{binary}: build it first (cargo build --release)"
    began = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "sweep.journal"
        command = [
            sys.executable, str(HERE / "optuna_sweep.py"), "--journal", str(journal),
            "--study", "ci", "--trials", str(TRIALS), "--binary", str(binary), *SIZE,
        ]
        workers = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(WORKERS)
        ]
        for worker in workers:
            out, err = worker.communicate()
            assert worker.returncode == 0, f"a worker failed:\n{out}\n{err}"
            assert "best trial" in out, out
        print(out.strip())

        study = sweep.open_study(journal, "ci")
        trials = study.trials
        states = [t.state for t in trials]
        assert len(trials) == WORKERS * TRIALS, f"{len(trials)} trials"
        assert all(s == TrialState.COMPLETE for s in states), states
        print(f"{len(trials)} trials, all complete")

        # Each worker's runs, by the times each trial recorded around it.
        by_worker = {}
        for t in trials:
            by_worker.setdefault(t.user_attrs["worker"], []).append(t)
        assert len(by_worker) == WORKERS, sorted(by_worker)
        assert all(len(ts) == TRIALS for ts in by_worker.values())
        first, second = by_worker.values()
        overlaps = [
            (a, b) for a in first for b in second
            if a.user_attrs["start"] < b.user_attrs["end"]
            and b.user_attrs["start"] < a.user_attrs["end"]
        ]
        assert overlaps, "the two workers' runs never overlapped"
        a, b = overlaps[0]
        shared = min(a.user_attrs["end"], b.user_attrs["end"]) - max(
            a.user_attrs["start"], b.user_attrs["start"])
        print(f"{len(overlaps)} pairs of runs overlapped; e.g. trial {a.number} "
              f"({a.user_attrs['worker']}) and trial {b.number} ({b.user_attrs['worker']}) "
              f"ran together for {shared * 1000:.0f} ms")

        # The best trial, again, alone, from its own summary's settings, on
        # another thread count (any gives the same numbers).
        best = study.best_trial
        summary = best.user_attrs["summary"]
        code, again, err = sweep.run(binary, summary["params"], threads=2)
        assert code == 0 and again is not None, err
        assert again["params"] == summary["params"], (again["params"], summary["params"])
        for key in ["loss", "accuracy", "test_loss", "test_accuracy", "best_test_loss",
                    "best_test_step", "steps", "status"]:
            assert again[key] == summary[key], (key, again[key], summary[key])
        assert again["test_loss"] == best.value
        assert repr(again["test_loss"]) == repr(best.value)
        print(f"best trial {best.number}: test loss {best.value!r}, "
              f"{again['test_loss']!r} run again from its params")

        # A run that diverges ends with exit code 3 and its summary says
        # so; the trial is told as failed.
        diverges = lambda trial: {"optimizer": "sgd", "lr": 1e308}  # noqa: E731
        fixed = {"dataset": "spiral", "points": 200, "test": 0.25, "steps": 5}
        state = sweep.one_trial(study, binary, fixed, 1, suggest=diverges)
        failed = study.trials[-1]
        assert state == TrialState.FAIL and failed.state == TrialState.FAIL, failed
        assert failed.user_attrs["exit_code"] == sweep.DIVERGED, failed.user_attrs
        assert failed.user_attrs["summary"]["status"] == "diverged", failed.user_attrs
        print(f"a diverging run: exit code 3, trial {failed.number} failed")
    print(f"the sweep test took {time.time() - began:.1f} s")


if __name__ == "__main__":
    main()
