"""Freezing converged neurons, full size: does it save backward work and time, and at what cost?

Run by hand (never by pytest), from the repository root: `.venv/bin/python tests/perf/exp_freezing.py`
(51 minutes on a busy 2-core machine; `--quick` for a 16-wide net in about a minute). It trains
MLP(2, [width, width, 1]) on 100 standardized moons points from one init, without freezing and with
nn.freezing.Freezer at each threshold, all in this process, and prints per run: neurons frozen at
the end (per layer), backward ops, gradient edges and recorded nodes per step (mean over the last
steps) with their ratio to the run without freezing, the median CPU time per step and its ratio,
and the final loss and accuracies. The machine is shared and noisy: quote the ratios; with
--repeats every run is trained again in turn and each step keeps its fastest time.
"""

from __future__ import annotations

import argparse
import time

from nn.freezing import freezing_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 16-wide net, 40 steps, one repeat")
    parser.add_argument("--width", type=int, default=64, help="neurons in each hidden layer (64)")
    parser.add_argument("--steps", type=int, default=100, help="training steps per run (100)")
    parser.add_argument(
        "--thresholds", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2], help="max |grad| thresholds"
    )
    parser.add_argument("--patience", type=int, default=5, help="calm steps before freezing (5)")
    parser.add_argument("--last", type=int, default=20, help="steps that means and medians cover (20)")
    parser.add_argument("--repeats", type=int, default=2, help="times each run is trained, for timing (2)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate, decayed to 10%% (0.1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.width, args.steps, args.repeats, args.last = 16, 40, 1, 10
    start = time.perf_counter()
    result = freezing_experiment(
        tuple(args.thresholds),
        steps=args.steps,
        width=args.width,
        seed=args.seed,
        patience=args.patience,
        last=args.last,
        lr=args.lr,
        repeats=args.repeats,
    )
    print(result)
    print("\nneurons frozen after step k (k = 0, 10, 20, ...):")
    for run in result.runs[1:]:
        print(f"  threshold {run.threshold:g}: {run.frozen[:: max(1, args.steps // 10)]}")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
