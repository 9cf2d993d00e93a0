"""Dead neurons and the lottery ticket at full size: run by hand (never by pytest), prints the tables.

Run from the repository root with the package installed (`pip install -e .`, or PYTHONPATH=.):

    .venv/bin/python tests/perf/exp_pruning.py            # full size (45 minutes on a busy 2-core machine)
    .venv/bin/python tests/perf/exp_pruning.py --quick    # small nets, a minute

1. An oversized ReLU MLP(2, [64, 64, 1]) trained on 100 standardized moons points with plain SGD
   at lr 1.0 (hinge loss, 100 steps): its dead units, and the pruned net with the same outputs.
2. Iterative magnitude pruning with rewinding (Frankle & Carbin 2019) on MLP(2, [16, 16, 1]),
   20% of the remaining weights per layer per round (output layer 10%), against the same masks on
   a random reinit, for each seed; then the mean over the seeds per round.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nn.pruning import LotteryResult, dead_neuron_experiment, lottery_ticket


def mean_table(results: list[LotteryResult]) -> str:
    """Per round, the mean over seeds of train and test accuracy, and how many runs reached the target."""
    lines = [
        f"mean over {len(results)} seeds (reached: runs whose train accuracy hit the target; "
        "steps: their mean)",
        f"  {'round':>5} {'weights':>8}   {'ticket train':>12} {'test':>7} {'reached':>8} {'steps':>6}"
        f"   {'reinit train':>12} {'test':>7} {'reached':>8} {'steps':>6}",
    ]
    for k, first in enumerate(results[0].rounds):
        cells = []
        for side in ("ticket", "control"):
            outcomes = [getattr(r.rounds[k], side) for r in results]
            reached = [o.steps_to_target for o in outcomes if o.steps_to_target is not None]
            steps = f"{statistics.mean(reached):.0f}" if reached else "—"
            cells.append(
                f"{statistics.mean(o.train_accuracy for o in outcomes):>12.1%} "
                f"{statistics.mean(o.test_accuracy for o in outcomes):>7.1%} "
                f"{len(reached):>5}/{len(outcomes):<2} {steps:>6}"
            )
        lines.append(f"  {k:>5} {first.remaining:>8.1%}   {cells[0]}   {cells[1]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small nets and few steps")
    parser.add_argument("--seeds", type=int, default=3, help="lottery ticket runs (seeds 0, 1, ...)")
    parser.add_argument("--skip-dead", action="store_true", help="only the lottery ticket")
    args = parser.parse_args()

    if not args.skip_dead:
        start = time.perf_counter()
        if args.quick:
            print(dead_neuron_experiment((32, 32), n=50, steps=20))
        else:
            print(dead_neuron_experiment((64, 64), n=100, steps=100))
        print(f"({time.perf_counter() - start:.0f} s)\n")

    results = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        if args.quick:
            result = lottery_ticket(rounds=3, steps=60, seed=seed, widths=(8, 8), n=60)
        else:
            result = lottery_ticket(rounds=6, steps=100, seed=seed)
        results.append(result)
        print(result)
        print(f"({time.perf_counter() - start:.0f} s)\n")
    print(mean_table(results))


if __name__ == "__main__":
    main()
