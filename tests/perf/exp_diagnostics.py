"""Issue 5's diagnostics experiments at full size: vanishing/exploding gradients and input scaling.

Run by hand (never by pytest), from the repository root: `.venv/bin/python tests/perf/exp_diagnostics.py`
(`--quick` for a reduced run). It prints:

1. compare_inits: MLP(2, [16]*10 + [1]) at its init, one backward, for sigmoid + U(−1, 1), tanh +
   Xavier, ReLU + He and ReLU + 4 × He: the first and output layers' mean |grad|, their ratio,
   the flags; then the ratio over --seeds seeds, to show how much one seed's number can move,
   and the same measured against the last hidden layer instead of the output layer.
2. input_scaling: micrograd's demo on moons × 100, raw against standardized, 100 steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nn.diagnostics import compare_inits, flag_gradients, input_scaling


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="depth 4, 3 seeds, 30 steps on 30 points")
    parser.add_argument("--seeds", type=int, default=20, help="seeds for the spread of the ratios")
    args = parser.parse_args()
    depth, seeds, steps, n = (4, 3, 30, 30) if args.quick else (10, args.seeds, 100, 100)

    start = time.perf_counter()
    result = compare_inits(depth=depth)
    print(result)
    for row in result.rows:
        for flag in flag_gradients(row.flow)[:2]:
            print(f"    {row.setting}: {flag}")
    print(f"({time.perf_counter() - start:.1f} s)\n")

    print(f"first/output mean |grad| over seeds 0..{seeds - 1} (batch 1, then batch 8):")
    for batch in (1, 8):
        runs = [compare_inits(depth=depth, batch=batch, seed=s) for s in range(seeds)]
        for i, row in enumerate(runs[0].rows):
            ratios = [run.rows[i].ratio for run in runs]
            # The same against the last hidden layer: the output layer's δ has not yet been
            # multiplied by an activation's slope, so this one shows a step less of the decay.
            hidden = [r.first / r.flow.layers[-2].mean_abs_grad for r in (run.rows[i] for run in runs)]
            verdicts = [run.rows[i].verdict for run in runs]
            common = max(set(verdicts), key=verdicts.count)
            median = statistics.median(ratios)
            print(
                f"  batch {batch}  {row.setting:<19} min {min(ratios):9.3g}  median {median:9.3g}"
                f"  max {max(ratios):9.3g}  ≥1000× smaller {sum(r <= 1e-3 for r in ratios)}/{seeds}"
                f"  within 10× {sum(0.1 <= r <= 10 for r in ratios)}/{seeds}"
                f"  verdict {common} {verdicts.count(common)}/{seeds}"
                f"  | vs last hidden: median {statistics.median(hidden):9.3g}  max {max(hidden):9.3g}"
            )
    print()

    start = time.perf_counter()
    print(input_scaling(scale=100.0, steps=steps, n=n))
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
