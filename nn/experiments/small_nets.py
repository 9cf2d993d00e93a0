"""Small nets trained from scratch beside a big one: same data, same budget, many seeds, success rates.

A big net trains, its dead units are pruned, and the small net that is left gives the same
outputs. Could that small architecture have been trained from the start? This runs each
architecture from several seeds with one recipe and counts the runs that reach a target
training accuracy within a budget of steps.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_real, label_vector, matrix, ordered, positive
from .._table import table
from ..losses import hinge_loss
from ..module import MLP
from ..optim import SGD, Adam
from ..pruning import dead_neurons
from ..train import accuracy, fit, predict
from ._args import check_widths

__all__ = ["SmallNetRun", "SmallNets", "small_nets"]


@dataclass
class SmallNetRun:
    """One architecture from one seed: train accuracy after each checkpoint, test accuracy, dead units."""

    widths: list[int]
    seed: int
    accuracy: list[float]  # full-batch training accuracy after checkpoints[i] steps
    test_accuracy: float | None  # after the last checkpoint; None without test data
    steps_to_target: int | None  # the first step count after which the target was reached
    dead: int  # dead ReLU units on the training data after training
    state: dict[str, float]  # the trained parameters (nn.MLP.load_state_dict)


@dataclass
class SmallNets:
    """Runs per architecture (in the order asked, seeds in order) and the recipe they shared."""

    runs: list[list[SmallNetRun]]
    parameters: list[int]
    checkpoints: list[int]
    settings: dict[str, Any] = field(default_factory=dict)

    def successes(self, row: int, checkpoint: int = -1) -> int:
        """How many of row's runs reached the target accuracy after checkpoints[checkpoint] steps."""
        target = self.settings["target"]
        return sum(run.accuracy[checkpoint] >= target for run in self.runs[row])

    def __str__(self) -> str:
        target = self.settings["target"]
        header = ["hidden", "parameters"]
        header += [f"≥{target:.0%} after {k}" for k in self.checkpoints]
        header += [f"mean train acc. ({self.checkpoints[-1]})", "mean steps"]
        has_test = self.runs[0][0].test_accuracy is not None
        header += ["mean test acc."] if has_test else []
        rows = []
        for i, (runs, params) in enumerate(zip(self.runs, self.parameters)):
            reached = [r.steps_to_target for r in runs if r.steps_to_target is not None]
            row = [str(runs[0].widths), str(params)]
            row += [f"{self.successes(i, c)}/{len(runs)}" for c in range(len(self.checkpoints))]
            row.append(f"{statistics.mean(r.accuracy[-1] for r in runs):.1%}")
            row.append(f"{statistics.mean(reached):.0f}" if reached else "—")
            if has_test:
                row.append(f"{statistics.mean(r.test_accuracy or 0.0 for r in runs):.1%}")
            rows.append(row)
        return "\n".join(
            [
                f"small nets from scratch: {self.settings}",
                f"  ≥{target:.0%} after k: runs (of the seeds) whose full-batch training accuracy"
                f" reached {target:.0%} after k steps; mean steps: the first such k, over those that did",
                table(header, rows),
            ]
        )

    __repr__ = __str__


def small_nets(
    X: Any,
    y: Any,
    architectures: Sequence[Sequence[int]],
    *,
    seeds: Sequence[int] = range(5),
    steps: int = 100,
    checkpoints: Sequence[int] | None = None,
    lr: float = 1.0,
    optimizer: str = "sgd",
    target: float = 1.0,
    X_test: Any = None,
    y_test: Any = None,
) -> SmallNets:
    """Train MLP(d, [*widths, 1]) (init seed s) for each architecture and seed, all with one recipe:
    full-batch hinge loss on labels y (0 or -1 as -1, 1 as 1), plain SGD (or Adam) at lr for steps steps.

    A run succeeds at checkpoint k when its full-batch training accuracy after k steps is at
    least target (checkpoints: by default steps alone). The accuracy after k < steps updates is
    the one fit measured on the forward pass of step k, so one run serves every checkpoint.
    """
    fn = "small_nets"
    data = matrix(fn, X)
    labels = _signs(label_vector(fn, y))
    archs = [check_widths(fn, widths) for widths in ordered(fn, "architectures", architectures)]
    seed_list = [check_int(fn, f"seeds[{i}]", s) for i, s in enumerate(ordered(fn, "seeds", seeds))]
    if not archs or not seed_list:
        raise ValueError(f"{fn}: needs at least one architecture and one seed")
    steps = check_int(fn, "steps", steps, 1)
    marks = [steps] if checkpoints is None else ordered(fn, "checkpoints", checkpoints)
    marks = [check_int(fn, f"checkpoints[{i}]", k, 1, most=steps) for i, k in enumerate(marks)]
    lr = positive(fn, "lr", lr)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"{fn}: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    target = check_real(fn, "target", target, "in [0, 1]", lambda t: 0.0 <= t <= 1.0)
    test = None if X_test is None else (matrix(fn, X_test), _signs(label_vector(fn, y_test, "y_test")))
    runs, parameters = [], []
    for widths in archs:
        row = []
        for seed in seed_list:
            model = MLP(data.shape[1], [*widths, 1], seed=seed)
            params = model.parameters()
            opt = SGD(params, lr=lr) if optimizer == "sgd" else Adam(params, lr=lr)
            history = fit(model, data, labels, hinge_loss, opt, steps=steps, progress=False, seed=seed)
            final = accuracy(predict(model, data), labels)
            after = [*history.accuracy[1:], final]  # after[k - 1]: the accuracy after k steps
            reached = [k for k, a in enumerate(after, start=1) if a >= target]
            row.append(
                SmallNetRun(
                    widths=widths,
                    seed=seed,
                    accuracy=[after[k - 1] for k in marks],
                    test_accuracy=None if test is None else accuracy(predict(model, test[0]), test[1]),
                    steps_to_target=reached[0] if reached else None,
                    dead=len(dead_neurons(model, data)),
                    state=model.state_dict(),
                )
            )
        runs.append(row)
        parameters.append(len(params))
    settings = {"steps": steps, "lr": lr, "optimizer": optimizer, "target": target, "n": len(data)}
    settings["seeds"] = seed_list
    return SmallNets(runs, parameters, marks, settings)


def _signs(labels: np.ndarray) -> np.ndarray:
    """Labels as the hinge loss wants them: ±1 (a label > 0 is class 1, as accuracy reads it)."""
    return np.where(labels > 0, 1.0, -1.0)
