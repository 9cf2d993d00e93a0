"""nn benchmark: micrograd's demo trained through nn.fit, against micrograd 0.1.0's own demo step.

Run by hand (never by pytest): `.venv/bin/python tests/perf/bench_nn.py` (`--quick` for a short
run). It needs `pip install micrograd==0.1.0` (in the `dev` extra). Machines are shared and noisy:
quote the ratio, the absolute times drift.

1. Time per training step of micrograd's demo (MLP(2, [16, 16, 1]), 100 moons points, hinge loss
   plus 1e-4 L2, SGD with lr 1.0 - 0.9 k/100): micrograd's loop exactly as in its demo notebook,
   against nn.fit with the same data and the same weights (both built after random.seed(1337)),
   in the same process, the interpreter's garbage collector on as it comes: nn.fit on the batch
   as lanes replayed from the model's compiled tape (fit's default), on lanes with the graph built
   every step (tape=False), and on one graph per example (the model behind a plain function, the
   scalar path a user's own loop takes). The losses of the runs are compared step by step.
2. Memory over 1,000 fit steps: resident set size and live objects at checkpoints (fit pauses the
   cyclic collector during each step; the graph has no cycles, so nothing should pile up).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import statistics
import sys
import time
from typing import Any

import numpy as np

from nn import SGD, History, fit, make_moons
from nn.experiments import recipes

try:
    from micrograd import nn as micro_nn
    from micrograd.engine import Value as MicroValue
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("this benchmark compares against micrograd: pip install micrograd==0.1.0")


def micrograd_demo(X: np.ndarray, y: np.ndarray, steps: int) -> tuple[list[float], list[float]]:
    """micrograd's demo.ipynb training loop, verbatim but for the timing: (seconds, loss) per step."""
    random.seed(1337)
    model = micro_nn.MLP(2, [16, 16, 1])

    def loss() -> tuple[Any, float]:
        inputs = [list(map(MicroValue, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    times, losses = [], []
    for k in range(steps):
        start = time.perf_counter()
        total_loss, _ = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        times.append(time.perf_counter() - start)
        losses.append(total_loss.data)
    return times, losses


def fit_demo(
    X: np.ndarray, y: np.ndarray, steps: int, callback: Any = None, *, lanes: bool = True, tape: bool = True
) -> tuple[list[float], History]:
    """The same training through nn.fit and the recipe: (seconds per step, history); the decay spans
    max(steps, 100), as micrograd's loop divides by 100. lanes=False: one graph per example."""
    random.seed(recipes.SEED)
    model = recipes.model(seed=None)  # from Python's random, as micrograd draws them: the same weights
    ticks = [time.perf_counter()]

    def one_by_one(row: list[float]) -> Any:  # a plain function, not an nn model: fit calls it row by row
        return model(row)

    def tick(step: int, history: History) -> None:
        ticks.append(time.perf_counter())
        if callback is not None:
            callback(step, history)

    history = fit(
        model if lanes else one_by_one,
        X,
        y,
        loss=recipes.loss(model),
        optimizer=SGD(model.parameters(), lr=1.0),
        steps=steps,
        progress=False,
        schedule=recipes.decay(1.0, max(steps, 100)),
        callback=tick,
        tape=tape,
    )
    return [b - a for a, b in itertools.pairwise(ticks)], history


def rss_mib() -> float:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per library (default 20)")
    parser.add_argument("--memory-steps", type=int, default=1000, help="fit steps for the memory run")
    parser.add_argument("--quick", action="store_true", help="5 timed steps, 100 memory steps")
    args = parser.parse_args()
    steps, memory_steps = (5, 100) if args.quick else (args.steps, args.memory_steps)
    print(f"python {sys.version.split()[0]}, gc enabled: {gc.isenabled()}, thresholds {gc.get_threshold()}")

    X, labels = make_moons(100, noise=0.1, seed=0)
    y = labels * 2 - 1  # ±1 for the hinge loss, as micrograd's demo does
    mg_times, mg_losses = micrograd_demo(X, y, steps)
    gc.collect()  # micrograd leaves cyclic garbage behind; start ours from a clean heap
    our_times, history = fit_demo(X, y, steps)
    graph_times, graph_history = fit_demo(X, y, steps, tape=False)
    scalar_times, scalar_history = fit_demo(X, y, steps, lanes=False)
    mg, ours = statistics.median(mg_times), statistics.median(our_times)
    graph, scalar = statistics.median(graph_times), statistics.median(scalar_times)
    diffs = [
        max(abs(a - b) for a, b in zip(mg_losses, h.loss)) for h in (history, graph_history, scalar_history)
    ]
    print(f"\n1. micrograd's demo step, median of {steps} steps")
    print(f"   micrograd's own loop              {mg * 1e3:7.1f} ms")
    print(f"   nn.fit, lanes, compiled tape      {ours * 1e3:7.1f} ms   -> {mg / ours:.1f}x faster")
    print(f"   nn.fit, lanes, graph every step   {graph * 1e3:7.1f} ms   -> {mg / graph:.1f}x faster")
    print(f"   nn.fit, one graph per example     {scalar * 1e3:7.1f} ms   -> {mg / scalar:.1f}x faster")
    tape_diff, graph_diff, scalar_diff = (f"{d:.1e}" for d in diffs)
    print(f"   same training: max |loss difference| {tape_diff} (tape), {graph_diff} (lane graph),", end=" ")
    print(f"{scalar_diff} (per example)")

    checkpoints = sorted({1, 10, 100, memory_steps // 2, memory_steps} - {0})
    rows: list[tuple[int, float, int]] = []

    def measure(step: int, history: History) -> None:
        if step + 1 in checkpoints:
            rows.append((step + 1, rss_mib(), len(gc.get_objects())))

    gc.collect()
    _, long_run = fit_demo(X, y, memory_steps, callback=measure)
    print(f"\n2. memory over {memory_steps} fit steps (final accuracy {long_run.accuracy[-1]:.0%})")
    print("   step   RSS MiB   objects tracked by the gc")
    for step, rss, objects in rows:
        print(f"   {step:>4}   {rss:7.1f}   {objects:>9,}")
    growth = rows[-1][1] - rows[1][1] if len(rows) > 1 else 0.0
    print(f"   growth after step 10: {growth:+.1f} MiB")


if __name__ == "__main__":
    main()
