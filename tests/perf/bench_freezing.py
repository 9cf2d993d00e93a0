"""Freezing benchmark: does freezing 300 of a layer's 1,000 neurons make a training step faster?

Run by hand (never by pytest), in one process, on a quiet machine:
`.venv/bin/python tests/perf/bench_freezing.py` (`--quick` for fewer repeats and sizes). Times are
CPU seconds of this process (time.process_time), on one thread; machines are shared and noisy:
quote the ratios. Notebook 07 runs a reduced version of each part.

1. The matrix view: one dense 1000x1000 layer's step (Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X) in numpy
   and PyTorch (if installed), float32 and float64, batches of 256 and 512, with 300 neurons frozen
   each way nn.experiments.freezing.dense_layer_freezing knows (mask dW, gather the active rows,
   two blocks, the whole layer frozen), against the FLOP model (its GFLOP column).
2. This engine at that size: MLP(2, [1000, 1]) on 100 moons points and MLP(64, [1000, 10]) on 100
   digits (scikit-learn's load_digits, if installed), 300 of layer 0's neurons frozen: the parts
   of fit's step with the tape (nn.experiments.freezing.tape_step_parts), and the lane graph's
   backward work.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import numpy as np

import nn
from engine import backward_work
from nn.experiments.freezing import DENSE_WAYS, dense_layer_freezing, tape_step_parts


def matrix_view(quick: bool) -> None:
    libraries = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    for library in libraries:
        for dtype in ("float32",) if quick else ("float32", "float64"):
            for batch in (256,) if quick else (256, 512):
                result = dense_layer_freezing(
                    batch=batch, dtype=dtype, library=library, repeats=5 if quick else 15
                )
                print(result, end="\n\n")
    if len(libraries) == 1:
        print("(torch is not installed: numpy only)\n")


def engine_at_size(quick: bool) -> None:
    cases = [("moons", [2, 1000, 1])]
    if importlib.util.find_spec("sklearn") and not quick:
        cases.append(("digits", [64, 1000, 10]))
    frozen = sorted(np.random.default_rng(0).choice(1000, size=300, replace=False).tolist())
    for data, sizes in cases:
        if data == "moons":
            X, labels = nn.make_moons(100, noise=0.1, seed=0)
            X, _, _ = nn.standardize(X)
            y, loss = labels * 2 - 1, nn.hinge_loss
        else:
            from sklearn.datasets import load_digits  # noqa: PLC0415 (optional)

            digits = load_digits()
            X, y, loss = digits.data[:100] / 16.0, digits.target[:100], nn.cross_entropy
        totals = {}
        for name, which in [("no freezing", []), ("300 frozen", frozen)]:
            model = nn.MLP(sizes[0], sizes[1:], seed=0)
            sgd = nn.SGD(model.parameters(), lr=0.01)
            for j in which:
                nn.freezing.freeze_neuron(model, sgd, 0, j)
            work = backward_work(loss(model(X), y))
            tape, parts = tape_step_parts(model, sgd, X, y, loss, tries=3 if quick else 9)
            totals[name] = sum(parts.values())
            shown = ", ".join(f"{part} {1000 * s:.2f} ms" for part, s in parts.items())
            print(f"MLP({sizes[0]}, {sizes[1:]}) on 100 {data}, {name}: lane graph {work}; {tape}")
            print(f"  tape step {1000 * totals[name]:.2f} ms: {shown}")
        ratio = totals["300 frozen"] / totals["no freezing"]
        print(f"  300 frozen / no freezing: {ratio:.3f} of the tape step\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    args = parser.parse_args(argv)
    print(f"ways: {', '.join(DENSE_WAYS)}\n")
    matrix_view(args.quick)
    engine_at_size(args.quick)


if __name__ == "__main__":
    main(sys.argv[1:])
