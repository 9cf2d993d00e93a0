"""Dead ReLU units: an oversized net trained hard, its dead units, and the net pruned of them; and
small nets trained from scratch beside it (same data, same budget, many seeds), with success rates.

The pruned net gives the same outputs as the big one. Could that small architecture have been
trained from the start? small_nets runs each architecture from several seeds with one recipe and
counts the runs that reach a target training accuracy within a budget of steps.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_real, check_seed, label_vector, matrix, non_negative, ordered, positive
from .._table import table
from ..losses import hinge_loss
from ..module import MLP
from ..optim import SGD, Adam
from ..pruning import dead_neurons, prune
from ..train import accuracy, fit, predict
from . import recipes
from ._args import check_widths

__all__ = ["DeadNeuronResult", "SmallNetRun", "SmallNets", "dead_neuron_experiment", "small_nets"]


@dataclass
class DeadNeuronResult:
    """An oversized ReLU net trained hard on moons, its dead units, and the net without them."""

    sizes_before: list[int]
    sizes_after: list[int]
    params_before: int
    params_after: int
    dead_at_init: list[tuple[int, int]]
    dead: list[tuple[int, int]]  # after training: what prune removed
    accuracy_before: float  # training accuracy of the trained net
    accuracy_after: float  # the same for the pruned net
    outputs_identical: bool  # predict(pruned, X) == predict(model, X), every row, exactly
    final_loss: float
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        hidden = len(self.sizes_before) - 2
        per_layer = [sum(1 for i, _ in self.dead if i == layer) for layer in range(hidden)]
        width = self.sizes_before[1:-1]
        nets = table(
            ["", "sizes", "parameters", "train acc."],
            [
                [name, str(sizes), str(params), f"{acc:.1%}"]
                for name, sizes, params, acc in [
                    ("trained", self.sizes_before, self.params_before, self.accuracy_before),
                    ("pruned", self.sizes_after, self.params_after, self.accuracy_after),
                ]
            ],
        )
        lines = [
            f"dead neurons: {self.settings}",
            f"  dead ReLU units at init {len(self.dead_at_init)}, after training {len(self.dead)} "
            f"(per hidden layer: {', '.join(f'{d}/{w}' for d, w in zip(per_layer, width))})",
            nets,
            f"  outputs on X identical (==): {self.outputs_identical}; final loss {self.final_loss:.4g}",
        ]
        return "\n".join(lines)

    __repr__ = __str__


def dead_neuron_experiment(
    widths: Sequence[int] = (64, 64),
    *,
    n: int = 100,
    steps: int = 100,
    lr: float = 1.0,
    seed: int = 0,
    data_seed: int = 0,
) -> DeadNeuronResult:
    """Train an oversized ReLU MLP(2, [*widths, 1]) on standardized moons with plain SGD at a high lr
    (hinge loss); count its dead units, prune them, and compare the two nets on the training data.

    Why units die: a large step can move a unit's bias and weights so far that z = w·x + b ≤ 0 on
    every input (large steps push biases negative: the dead units end with clearly negative
    biases). From then on relu'(z) = 0 on every example, so the unit's gradient is exactly 0. A
    dead first-layer unit stays dead for good (its inputs never change); one in a later layer can
    revive if the layers below move its inputs. At lr 1.0 most units die within the first 3 steps.
    """
    fn = "dead_neuron_experiment"
    widths = check_widths(fn, widths)
    n, steps = check_int(fn, "n", n, 2), check_int(fn, "steps", steps, 1)
    lr, seed = non_negative(fn, "lr", lr), check_int(fn, "seed", seed)
    data = recipes.moons(n, data_seed=check_seed(fn, data_seed, "data_seed"))
    X, y = data.X, data.y * 2 - 1  # hinge loss wants ±1
    model = recipes.model(widths, seed=seed)
    dead_at_init = dead_neurons(model, X)
    history = fit(
        model, X, y, hinge_loss, SGD(model.parameters(), lr=lr), steps=steps, progress=False, seed=seed
    )
    dead = dead_neurons(model, X)
    smaller = prune(model, dead)
    before, after = predict(model, X), predict(smaller, X)
    return DeadNeuronResult(
        sizes_before=model.sizes,
        sizes_after=smaller.sizes,
        params_before=len(model.parameters()),
        params_after=len(smaller.parameters()),
        dead_at_init=dead_at_init,
        dead=dead,
        accuracy_before=accuracy(before, y),
        accuracy_after=accuracy(after, y),
        outputs_identical=bool(np.array_equal(before, after)),
        final_loss=history.loss[-1],
        settings={"widths": list(widths), "n": n, "steps": steps, "lr": lr, "seed": seed},
    )


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
                f" was ≥ {target:.0%} after k steps",
                "  mean steps: the first such k, over the runs that got there",
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
