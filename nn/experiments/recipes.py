"""micrograd's training recipe, written once: its model, loss, learning-rate decay, and the moons data.

micrograd's demo trains MLP(2, [16, 16, 1]) (weights drawn after random.seed(1337)) on two moons
with the hinge loss on ±1 labels plus α·Σp² (α = 1e-4), by full-batch SGD whose learning rate
decays linearly from lr to lr/10. The experiments, the demo and the benchmark build on it here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import Value

from ..data import make_moons, standardize
from ..init import Rng
from ..losses import hinge_loss, l2_penalty
from ..module import MLP, Module
from ..optim import SGD, Optimizer
from ..train import History, Loss, fit

__all__ = ["ALPHA", "HIDDEN", "SEED", "Moons", "decay", "loss", "model", "moons", "train"]

HIDDEN = (16, 16)  # micrograd's demo: MLP(2, [16, 16, 1])
SEED = 1337  # micrograd's demo calls random.seed(1337) before building its model
ALPHA = 1e-4  # the weight of its L2 term


def model(hidden: Sequence[int] = HIDDEN, *, nout: int = 1, seed: int | Rng | None = SEED) -> MLP:
    """micrograd's demo model MLP(2, [*hidden, nout]): ReLU hidden layers, a linear output."""
    return MLP(2, [*hidden, nout], seed=seed)


def loss(net: Module, *, alpha: float = ALPHA, data_loss: Loss = hinge_loss) -> Loss:
    """C = data_loss(scores, labels) + α·Σp² over net's parameters (hinge loss on ±1 labels by default)."""
    params = net.parameters()

    def total(scores: list[Any], labels: np.ndarray) -> Value:
        return data_loss(scores, labels) + l2_penalty(params, alpha=alpha)

    return total


def decay(lr: float, steps: int) -> Callable[[int], float]:
    """The learning rate at step k: lr·(1 − 0.9·k/steps), from lr down to lr/10."""
    return lambda k: lr * (1.0 - 0.9 * k / steps)


def train(
    net: MLP,
    X: Any,
    y: Any,
    *,
    steps: int,
    lr: float = 1.0,
    loss_fn: Loss | None = None,
    optimizer: Optimizer | None = None,
    progress: bool = False,
    callback: Callable[[int, History], None] | None = None,
    lanes: bool = True,
    tape: bool = True,
) -> History:
    """fit with the recipe: full-batch SGD on loss(net) (or loss_fn), its learning rate decay(lr, steps)."""
    return fit(
        net,
        X,
        y,
        loss(net) if loss_fn is None else loss_fn,
        SGD(net.parameters(), lr=lr) if optimizer is None else optimizer,
        steps,
        progress=progress,
        schedule=decay(lr, steps),
        callback=callback,
        lanes=lanes,
        tape=tape,
    )


@dataclass(frozen=True)
class Moons:
    """Standardized moons: the training points, and test points scaled with the training mean and std."""

    X: np.ndarray
    y: np.ndarray  # labels 0 and 1, as make_moons gives them
    X_test: np.ndarray  # (0, 2) when no test points were asked for
    y_test: np.ndarray


def moons(n: int = 100, n_test: int = 0, *, noise: float = 0.1, data_seed: int = 0) -> Moons:
    """n moons points (seed data_seed), n_test more (seed data_seed + 1), scaled by the first n's μ, σ."""
    X, y = make_moons(n, noise=noise, seed=data_seed)
    X, mean, std = standardize(X)
    if not n_test:
        return Moons(X, y, np.empty((0, 2)), np.empty(0, dtype=y.dtype))
    X_test, y_test = make_moons(n_test, noise=noise, seed=data_seed + 1)
    X_test, _, _ = standardize(X_test, mean, std)
    return Moons(X, y, X_test, y_test)
