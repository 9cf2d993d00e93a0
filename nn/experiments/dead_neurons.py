"""Dead ReLU units: an oversized net trained hard, its dead units, and the net pruned of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_seed, non_negative
from .._table import table
from ..losses import hinge_loss
from ..optim import SGD
from ..pruning import dead_neurons, prune
from ..train import accuracy, fit, predict
from . import recipes
from ._args import check_widths

__all__ = ["DeadNeuronResult", "dead_neuron_experiment"]


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
