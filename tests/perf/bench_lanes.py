"""Lanes benchmark: a batch as lanes (the graph of one example, carrying every example), issue 13's targets.

Run by hand (never by pytest), in one process, on a quiet machine:
`.venv/bin/python tests/perf/bench_lanes.py` (`--quick` for fewer repeats). It needs micrograd
0.1.0, scikit-learn (the digits) and torch (the `dev` extra). Times are CPU seconds of this
process (time.process_time), the garbage collector on as it comes, torch on one thread;
machines are shared and noisy: quote the ratios.

1. micrograd's demo step (MLP(2, [16, 16, 1]), 100 moons points, hinge + 1e-4 L2, SGD): micrograd's
   own loop, nn.fit (lanes), and PyTorch batched float64 on the same model and data. Targets:
   ≥ 300x micrograd, within 3x of PyTorch.
2. Nielsen's chapter 5: per-layer gradient norms of a sigmoid [64, 30, 30, 30, 30, 10] net over
   1,000 digits examples (forward, quadratic cost, backward, gradient_flow). Target: < 0.5 s.
3. One epoch of [64, 30, 10] on the 1,797 digits, cross-entropy and SGD, mini-batches of 10 and
   of 100. Targets: < 2 s and < 0.5 s.
4. One training step on 100 examples of MLP(2, [1000, 1]) (moons, hinge) and of MLP(64, [1000, 10])
   (digits, cross-entropy). Target: < 0.5 s each.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nn import MLP, SGD, cross_entropy, fit, hinge_loss, make_moons, mse_loss, to_torch
from nn.diagnostics import gradient_flow
from nn.experiments import recipes

try:
    import torch
    from micrograd import nn as micro_nn
    from micrograd.engine import Value as MicroValue
    from sklearn.datasets import load_digits
except ImportError as err:  # pragma: no cover - the message is the point
    sys.exit(f"this benchmark needs micrograd 0.1.0, torch and scikit-learn (the dev extra): {err}")


def cpu_seconds(run: Callable[[], Any], repeats: int) -> float:
    """The median CPU time of run() over repeats calls."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def verdict(seconds: float, limit: float) -> str:
    return f"target < {limit:g} s: {'met' if seconds < limit else 'NOT met'}"


# -- 1. micrograd's demo step ------------------------------------------------------------------


def micrograd_step(X: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """micrograd's demo.ipynb step, verbatim: loss, zero_grad, backward, SGD update."""
    random.seed(1337)
    model = micro_nn.MLP(2, [16, 16, 1])
    k = [0]

    def step() -> None:
        inputs = [list(map(MicroValue, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k[0] / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        k[0] += 1

    return step


def fit_step(X: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """The same step through nn.fit and micrograd's recipe: one lane graph for the 100 points."""
    random.seed(recipes.SEED)
    model = recipes.model(seed=None)
    optimizer = SGD(model.parameters(), lr=1.0)
    loss = recipes.loss(model)
    return lambda: fit(model, X, y, loss, optimizer, steps=1, progress=False)


def torch_step(X: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """The same step in PyTorch, batched, float64."""
    random.seed(recipes.SEED)
    module = to_torch(recipes.model(seed=None))
    Xt, yt = torch.tensor(X), torch.tensor(y, dtype=torch.float64)
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)

    def step() -> None:
        scores = module(Xt)[:, 0]
        data_loss = torch.relu(1 - yt * scores).mean()
        reg_loss = 1e-4 * sum((p * p).sum() for p in module.parameters())
        optimizer.zero_grad()
        (data_loss + reg_loss).backward()
        optimizer.step()

    return step


# -- the digits -------------------------------------------------------------------------------


def digits(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1]: (X, class labels)."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0)[:n], y[:n]


def nielsen(X: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """Nielsen ch. 5: one backward of the quadratic cost over the examples, then per-layer gradient norms."""
    model = MLP(
        64,
        [30, 30, 30, 30, 10],
        activation="sigmoid",
        output_activation="sigmoid",
        init=lambda fan_in, fan_out, rng: rng.gauss(0.0, 1.0),
        seed=0,
    )
    targets = np.eye(10)[y]

    def run() -> None:
        model.zero_grad()
        mse_loss(model(X), targets, reduction="sum").backward()
        gradient_flow(model)

    return run


def epoch(X: np.ndarray, y: np.ndarray, batch_size: int) -> Callable[[], None]:
    """One epoch's worth of mini-batch steps (⌈n / batch_size⌉) of [64, 30, 10] with cross-entropy and SGD."""
    model = MLP(64, [30, 10], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    steps = -(-len(X) // batch_size)
    return lambda: fit(
        model, X, y, cross_entropy, optimizer, steps=steps, batch_size=batch_size, progress=False
    )


def wide_step(nin: int, nouts: list[int], X: np.ndarray, y: np.ndarray, loss: Any) -> Callable[[], None]:
    model = MLP(nin, nouts, seed=0)
    optimizer = SGD(model.parameters(), lr=0.01)
    return lambda: fit(model, X, y, loss, optimizer, steps=1, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    torch.set_num_threads(1)
    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__} (1 thread), gc enabled: {gc.isenabled()}"
    )

    X, labels = make_moons(100, noise=0.1, seed=0)
    y = labels * 2 - 1
    mg = cpu_seconds(micrograd_step(X, y), max(2, repeats // 3))
    gc.collect()  # micrograd leaves cyclic garbage behind
    ours = cpu_seconds(fit_step(X, y), repeats * 5)
    theirs = cpu_seconds(torch_step(X, y), repeats * 20)
    print("\n1. micrograd's demo step (CPU ms, median)")
    print(f"   micrograd's own loop    {mg * 1e3:8.2f}")
    print(f"   nn.fit on lanes         {ours * 1e3:8.2f}   {mg / ours:6.0f}x micrograd (target ≥ 300x)")
    print(
        f"   PyTorch batched float64 {theirs * 1e3:8.2f}   nn.fit: {ours / theirs:.1f}x its time (aim ≤ 3x)"
    )

    Xd, yd = digits()
    seconds = cpu_seconds(nielsen(Xd[:1000], yd[:1000]), repeats)
    print("\n2. Nielsen ch. 5: per-layer gradient norms, sigmoid [64, 30, 30, 30, 30, 10], 1,000 digits")
    print(f"   {seconds:.3f} s   {verdict(seconds, 0.5)}")

    print(f"\n3. one epoch of [64, 30, 10] on the {len(Xd):,} digits (cross-entropy, SGD)")
    for batch_size, limit in ((10, 2.0), (100, 0.5)):
        seconds = cpu_seconds(epoch(Xd, yd, batch_size), max(1, repeats // 3))
        print(f"   mini-batches of {batch_size:>3}: {seconds:.3f} s   {verdict(seconds, limit)}")

    print("\n4. one training step on 100 examples")
    cases = [
        ("MLP(2, [1000, 1]), moons, hinge", 2, [1000, 1], X, y, hinge_loss),
        ("MLP(64, [1000, 10]), digits, cross-entropy", 64, [1000, 10], Xd[:100], yd[:100], cross_entropy),
    ]
    for name, nin, nouts, Xs, ys, loss in cases:
        seconds = cpu_seconds(wide_step(nin, nouts, Xs, ys, loss), repeats)
        print(f"   {name:<44} {seconds:.3f} s   {verdict(seconds, 0.5)}")


if __name__ == "__main__":
    main()
