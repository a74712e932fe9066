#!/usr/bin/env python3
"""The seconds CPython micrograd (PyPI `micrograd==0.1.0`, Karpathy's own)
takes for one step of its demo: MLP(2, [16, 16, 1]) on the notebook's 100
points (crates/micrograd/data/micrograd_demo_moons.json), SVM loss with L2 1e-4, backward,
SGD, as demo.ipynb's loop runs it. Prints the median of --steps steps.

    python3 -m venv /tmp/mg && /tmp/mg/bin/pip install micrograd==0.1.0
    taskset -c 0 /tmp/mg/bin/python tools/bench/cpython_micrograd.py
"""

import json
import os
import statistics
import sys
import time

from micrograd.engine import Value
from micrograd.nn import MLP

steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 5
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "..", "crates", "micrograd", "data", "micrograd_demo_moons.json")) as f:
    demo = json.load(f)
X, y = demo["X"], demo["y"]
model = MLP(2, [16, 16, 1])


def loss():
    # demo.ipynb's loss(), full batch.
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss


times = []
for k in range(steps):
    started = time.perf_counter()
    total = loss()
    model.zero_grad()
    total.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    times.append(time.perf_counter() - started)
print(f"CPython micrograd, demo step: median {statistics.median(times):.3f} s of {steps} "
      f"(min {min(times):.3f}, max {max(times):.3f})")
