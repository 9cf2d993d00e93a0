"""Run one of the course's experiments at full size and print its tables: python -m nn.experiments <name>."""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from .._table import table
from ..data import make_moons, make_xor, standardize
from ..diagnostics import flag_gradients
from .dead_neurons import dead_neuron_experiment, small_nets
from .freezing import dense_layer_freezing, freezing_experiment
from .initialization import compare_inits, vanishing_gradients
from .lottery import lottery_ticket, seed_means
from .nielsen import initial_gradients
from .scaling import input_scaling, scaling_causes

PROG = "python -m nn.experiments"


def _vanishing_gradients(quick: bool) -> None:
    flow = vanishing_gradients(depth=4 if quick else 10)
    print(flow)
    for flag in flag_gradients(flow):
        print(f"  {flag}")


def _compare_inits(quick: bool) -> None:
    depth, seeds = (4, 3) if quick else (10, 20)
    result = compare_inits(depth=depth)
    print(result)
    for row in result.rows:
        for flag in flag_gradients(row.flow)[:2]:
            print(f"    {row.setting}: {flag}")
    # One seed's ratio can move a lot: its spread over seeds, and over a batch of 8 instead of 1.
    # "vs last hidden" measures against the last hidden layer instead of the output layer, whose δ
    # has not yet been multiplied by an activation's slope: it shows a step less of the decay.
    rows = []
    for batch in (1, 8):
        runs = [compare_inits(depth=depth, batch=batch, seed=s) for s in range(seeds)]
        for i, row in enumerate(runs[0].rows):
            ratios = [run.rows[i].ratio for run in runs]
            hidden = [r.first / r.flow.layers[-2].mean_abs_grad for r in (run.rows[i] for run in runs)]
            verdicts = [run.rows[i].verdict for run in runs]
            common = max(set(verdicts), key=verdicts.count)
            rows.append(
                [
                    row.setting,
                    str(batch),
                    f"{min(ratios):.3g}",
                    f"{statistics.median(ratios):.3g}",
                    f"{max(ratios):.3g}",
                    f"{sum(r <= 1e-3 for r in ratios)}/{seeds}",
                    f"{sum(0.1 <= r <= 10 for r in ratios)}/{seeds}",
                    f"{common} {verdicts.count(common)}/{seeds}",
                    f"{statistics.median(hidden):.3g}",
                    f"{max(hidden):.3g}",
                ]
            )
    header = ["setting", "batch", "min", "median", "max", "≥1000× smaller", "within 10×", "verdict"]
    header += ["vs last hidden: median", "max"]
    print(f"\nfirst/output mean |grad| over seeds 0..{seeds - 1}:\n" + table(header, rows))


def _input_scaling(quick: bool) -> None:
    steps, n = (30, 30) if quick else (100, 100)
    print(input_scaling(100.0, steps=steps, n=n))


def _scaling_causes(quick: bool) -> None:
    print(scaling_causes(steps=10, control=50, n=30) if quick else scaling_causes())


def _dead_neurons(quick: bool) -> None:
    if quick:
        print(dead_neuron_experiment((24, 24), n=30, steps=10, lr=2.0))
    else:
        print(dead_neuron_experiment((64, 64), n=100, steps=100))


def _small_nets(quick: bool) -> None:
    seeds, n = (range(2), 30) if quick else (range(10), 100)
    for make, widths, full_steps, lr in [
        (make_moons, [[32, 32], [8, 8], [4, 4], [2, 2]], 100, 1.0),
        (make_xor, [[32], [8], [4], [3], [2]], 30, 0.5),  # 2 units can fit XOR (notebook 06 builds one)
    ]:
        X, labels = make(n, noise=0.1, seed=0)
        X, _, _ = standardize(X)
        steps = 10 if quick else full_steps
        runs = small_nets(X, labels, widths, seeds=seeds, steps=steps, checkpoints=[steps // 5, steps], lr=lr)
        print(f"{make.__name__}({n}, noise=0.1), standardized:\n{runs}\n")


def _lottery_ticket(quick: bool) -> None:
    results = []
    for seed in range(2 if quick else 3):
        if quick:
            result = lottery_ticket(3, steps=6, seed=seed, widths=(10, 10), n=20, n_test=20, lr=0.05)
        else:
            result = lottery_ticket(6, steps=100, seed=seed)
        results.append(result)
        print(f"{result}\n")
    print(seed_means(results))


def _freezing(quick: bool) -> None:
    if quick:
        result = freezing_experiment((1e-2,), steps=12, width=6, patience=2, n=30, n_test=30, last=4)
    else:
        result = freezing_experiment(steps=100, width=64, last=20, repeats=2)
    print(result)
    print("\nneurons frozen after step k (k = 0, 10, 20, ...):")
    for run in result.runs[1:]:
        print(f"  threshold {run.threshold:g}: {run.frozen[:: max(1, result.steps // 10)]}")


def _dense_freezing(quick: bool) -> None:
    libraries = ["numpy"] + ([] if quick or importlib.util.find_spec("torch") is None else ["torch"])
    for library in libraries:
        for dtype in ("float32",) if quick else ("float32", "float64"):
            if quick:
                layer = dense_layer_freezing(batch=16, width=100, frozen=30, library=library, repeats=2)
            else:
                layer = dense_layer_freezing(batch=256, dtype=dtype, library=library, repeats=9)
            print(f"{layer}\n")


def _nielsen_gradients(quick: bool) -> None:
    print(initial_gradients(seeds=range(2), n=100) if quick else initial_gradients())


# name: (what it shows, its runner)
EXPERIMENTS: dict[str, tuple[str, Callable[[bool], None]]] = {
    "vanishing-gradients": (
        "the gradient at every layer of MLP(2, [16]*10 + [1]), sigmoid + U(-1, 1), at init",
        _vanishing_gradients,
    ),
    "compare-inits": (
        "sigmoid + U(-1, 1), tanh + Xavier, ReLU + He, ReLU + 4 × He side by side, and over 20 seeds",
        _compare_inits,
    ),
    "input-scaling": ("micrograd's demo on moons × 100, raw against standardized, 100 steps", _input_scaling),
    "scaling-causes": (
        "one feature × 100 and inputs + 100 from the same starting function, each at its largest stable lr",
        _scaling_causes,
    ),
    "dead-neurons": (
        "MLP(2, [64, 64, 1]) trained hard at lr 1.0: its dead ReLUs, pruned away",
        _dead_neurons,
    ),
    "small-nets": (
        "small nets trained from scratch beside a big one over 10 seeds, on moons and on XOR",
        _small_nets,
    ),
    "lottery-ticket": (
        "iterative magnitude pruning with rewinding against a random reinit, 6 rounds, 3 seeds",
        _lottery_ticket,
    ),
    "freezing": (
        "MLP(2, [64, 64, 1]) with and without freezing converged neurons: work, CPU time, accuracy",
        _freezing,
    ),
    "dense-freezing": (
        "one dense 1000×1000 layer's step with 300 rows frozen, each way a library could skip them",
        _dense_freezing,
    ),
    "nielsen-gradients": (
        "Nielsen's ch. 5 on the digits: each hidden layer's ‖∂C/∂b‖ at his init, 10 seeds, beside MNIST",
        _nielsen_gradients,
    ),
}


def _parser() -> argparse.ArgumentParser:
    width = max(map(len, EXPERIMENTS))
    listing = "\n".join(f"  {name:<{width}}  {what}" for name, (what, _) in EXPERIMENTS.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=f"{__doc__.splitlines()[0]}\n\nexperiments:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=EXPERIMENTS, metavar="name", help="one of the experiments above")
    parser.add_argument("--quick", action="store_true", help="at the tests' small size, in seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named experiment, print its tables and the time it took; exit status 2 for a bad name."""
    args = _parser().parse_args(argv)
    start = time.perf_counter()
    EXPERIMENTS[args.name][1](args.quick)
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
