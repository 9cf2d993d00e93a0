"""Input scaling: micrograd's demo on moons × 100, raw against standardized."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_seed, non_negative, positive
from .._table import table
from ..data import make_moons, standardize
from ..diagnostics import activation_stats
from ..init import make_rng
from ..train import History
from . import recipes

__all__ = ["InputScaling", "ScalingRun", "input_scaling"]


@dataclass(frozen=True)
class ScalingRun:
    """One training run of input_scaling."""

    inputs: str  # "raw × 100" or "standardized"
    steps: int  # the budget
    reached_100: int | None  # the first step whose forward pass classed every example right, or None
    first_loss: float  # step 0's loss, at the initial weights (nan if none was recorded)
    peak_loss: float
    final_loss: float  # the last recorded step's loss
    final_accuracy: float
    dead: float  # the fraction of hidden ReLU units that output 0 on every training example, at the end
    diverged_at: int | None  # the step whose loss overflowed or was inf/NaN (training stops there)
    history: History = field(repr=False, compare=False)


@dataclass(frozen=True)
class InputScaling:
    """input_scaling's result: the same net and recipe on raw and on standardized inputs."""

    scale: float
    runs: list[ScalingRun]

    def __str__(self) -> str:
        rows = [
            [
                r.inputs,
                "never" if r.reached_100 is None else str(r.reached_100),
                f"{r.first_loss:.4g}",
                f"{r.peak_loss:.4g}",
                f"{r.final_loss:.4g}",
                f"{r.final_accuracy:.0%}",
                f"{r.dead:.0%}",
                "-" if r.diverged_at is None else f"at step {r.diverged_at}",
            ]
            for r in self.runs
        ]
        budget = self.runs[0].steps if self.runs else 0
        header = [
            "inputs",
            "100% at step",
            "loss step 0",
            "peak",
            "final",
            "final acc",
            "dead ReLUs",
            "diverged",
        ]
        return f"Moons × {self.scale:g}, MLP(2, [16, 16, 1]), {budget} steps\n" + table(header, rows)


def input_scaling(
    scale: float = 100.0,
    *,
    steps: int = 100,
    n: int = 100,
    seed: int = recipes.SEED,
    data_seed: int = 0,
    lr: float = 1.0,
) -> InputScaling:
    """micrograd's demo on moons × scale, raw and standardized: steps to 100%, losses, divergence.

    The recipe (nn.experiments.recipes): MLP(2, [16, 16, 1]) from seed (the same weights for both
    runs), hinge loss + 1e-4 L2, SGD with the learning rate lr·(1 − 0.9k/steps), every example each step.
    """
    scale = positive("input_scaling", "scale", scale)
    steps = check_int("input_scaling", "steps", steps, 1)
    n = check_int("input_scaling", "n", n, 2)
    data_seed = check_seed("input_scaling", data_seed, "data_seed")
    make_rng(seed, "input_scaling")
    lr = non_negative("input_scaling", "lr", lr)
    X, labels = make_moons(n, noise=0.1, seed=data_seed)
    X = X * scale  # standardizing the scaled points undoes the scale: the run on them is the control
    y = labels * 2 - 1
    runs = [
        _scaling_run(name, inputs, y, steps=steps, seed=seed, lr=lr)
        for name, inputs in ((f"raw × {scale:g}", X), ("standardized", standardize(X)[0]))
    ]
    return InputScaling(scale=scale, runs=runs)


def _scaling_run(name: str, X: np.ndarray, y: np.ndarray, *, steps: int, seed: int, lr: float) -> ScalingRun:
    """One input_scaling run: train micrograd's demo net on (X, y), and read what happened."""
    model = recipes.model(seed=seed)
    seen = History()

    def keep(step: int, history: History) -> None:
        nonlocal seen
        seen = history  # fit raises when the loss blows up: keep what it recorded until then

    diverged = None
    try:
        recipes.train(model, X, y, steps=steps, lr=lr, callback=keep)
    except FloatingPointError:  # fit stops on a loss that overflows or becomes inf or NaN
        diverged = len(seen)  # the step after the last one recorded
    hidden = activation_stats(model, X).layers[:-1]
    losses = seen.loss or [math.nan]
    return ScalingRun(
        inputs=name,
        steps=steps,
        reached_100=next((k for k, acc in enumerate(seen.accuracy) if acc == 1.0), None),
        first_loss=losses[0],
        peak_loss=max(losses),
        final_loss=losses[-1],
        final_accuracy=seen.accuracy[-1] if seen.accuracy else math.nan,
        dead=float(np.mean([layer.dead or 0.0 for layer in hidden])),
        diverged_at=diverged,
        history=seen,
    )
