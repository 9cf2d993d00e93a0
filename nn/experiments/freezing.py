"""Freezing converged neurons: does it save backward work and time, and at what cost in loss and accuracy?"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import BackwardWork, Value, backward_work

from .._checks import check_int, non_negative, ordered, positive
from .._table import table
from ..freezing import FreezeEvent, FreezePolicy, Freezer
from ..optim import SGD
from ..train import History, accuracy, predict
from . import recipes

__all__ = ["FreezingResult", "FreezingRun", "freezing_experiment"]


@dataclass
class FreezingRun:
    """One training run of freezing_experiment: per step, its work, time, loss and frozen neurons."""

    threshold: float  # 0: the baseline (|g| < 0 never holds, so nothing freezes)
    neurons: int
    events: list[FreezeEvent]
    frozen: list[int]  # neurons frozen after each step
    work: list[BackwardWork]  # the step's loss graph, counted before its backward
    seconds: list[float]  # CPU time per step (the fastest of the repeats), counting excluded
    loss: list[float]
    train_accuracy: list[float]  # on the step's examples, before its update (as fit reports)
    test_accuracy: float  # on held-out points, after the last step

    def frozen_by_layer(self, layers: int) -> list[int]:
        """How many neurons of each layer are frozen at the end."""
        counts = [0] * layers
        for event in self.events:
            counts[event.layer] += 1
        return counts

    def mean_work(self, last: int) -> tuple[float, float, float]:
        """(ops, edges, nodes) per step, averaged over the last `last` steps."""
        tail = self.work[-last:]
        return (
            statistics.fmean(w.ops for w in tail),
            statistics.fmean(w.edges for w in tail),
            statistics.fmean(w.nodes for w in tail),
        )

    def median_seconds(self, last: int) -> float:
        """The median time per step over the last `last` steps."""
        return statistics.median(self.seconds[-last:])


@dataclass
class FreezingResult:
    """The baseline (runs[0]) and one run per threshold, same init, data and steps."""

    runs: list[FreezingRun]
    sizes: list[int]
    steps: int
    patience: int
    last: int  # the window, in steps, that means and medians are taken over
    examples: int  # training points (n)

    @property
    def baseline(self) -> FreezingRun:
        """The run without freezing."""
        return self.runs[0]

    def __str__(self) -> str:
        base_ops, base_edges, base_nodes = self.baseline.mean_work(self.last)
        base_s = self.baseline.median_seconds(self.last)
        layers = len(self.sizes) - 1
        header = ["threshold", "frozen", "by layer", "backward ops", "ratio", "grad edges", "ratio"]
        header += ["recorded", "ratio", "cpu s/step", "ratio", "loss", "train", "test"]
        rows = []
        for run in self.runs:
            ops, edges, nodes = run.mean_work(self.last)
            sec = run.median_seconds(self.last)
            rows.append(
                [
                    "none" if run.threshold == 0 else f"{run.threshold:g}",
                    f"{run.frozen[-1]}/{run.neurons}",
                    "/".join(map(str, run.frozen_by_layer(layers))),
                    f"{ops:,.0f}",
                    f"{ops / base_ops:.3f}",
                    f"{edges:,.0f}",
                    f"{edges / base_edges:.3f}",
                    f"{nodes:,.0f}",
                    f"{nodes / base_nodes:.3f}",
                    f"{sec:.3f}",
                    f"{sec / base_s:.3f}",
                    f"{run.loss[-1]:.4f}",
                    f"{run.train_accuracy[-1]:.0%}",
                    f"{run.test_accuracy:.0%}",
                ]
            )
        return (
            f"Freezing converged neurons: MLP({self.sizes[0]}, {self.sizes[1:]}) on moons "
            f"({self.examples} train points, full batch), {self.steps} steps, patience {self.patience}; "
            f"work and time over the last {self.last} steps, ratio = run / no freezing\n"
            + table(header, rows)
        )


def freezing_experiment(
    thresholds: Sequence[float] = (1e-3, 3e-3, 1e-2),
    *,
    steps: int = 100,
    width: int = 64,
    patience: int = 5,
    n: int = 100,
    n_test: int = 100,
    lr: float = 0.1,
    alpha: float = recipes.ALPHA,
    last: int = 20,
    repeats: int = 1,
    seed: int = 0,
    data_seed: int = 0,
    lanes: bool = True,
) -> FreezingResult:
    """Train MLP(2, [width, width, 1]) on moons without freezing and with a Freezer per threshold.

    Every run starts from the same weights (seed) on the same standardized moons (data_seed), with
    micrograd's recipe: hinge loss on ±1 labels + α·Σp², full-batch SGD with lr·(1 − 0.9·k/steps).
    The baseline runs a Freezer with threshold 0 (which never freezes), so every run pays the same
    checking cost. Each step's loss graph is counted with backward_work before its backward; the
    time per step is this process's CPU time between callbacks minus that counting (CPU time, not
    wall time: on a shared machine the wall clock also runs while other processes have the core).
    With repeats > 1 every run is trained again in turn (same results: training is deterministic)
    and each step keeps its fastest time. Training builds the lane graph every step (fit's
    tape=False: a compiled tape has no graph to count); lanes=False trains with one graph per
    example (fit's lanes=False), so the counts and times are those of the scalar engine's graphs.
    """
    fn = "freezing_experiment"
    levels = ordered(fn, "thresholds", thresholds)
    if not levels:
        raise ValueError(f"{fn}: thresholds must hold at least one threshold > 0 (0 is the baseline), got []")
    thresholds = [positive(fn, f"thresholds[{i}]", t) for i, t in enumerate(levels)]  # 0 is the baseline's
    steps, width = check_int(fn, "steps", steps, 1), check_int(fn, "width", width, 1)
    seed, data_seed = check_int(fn, "seed", seed), check_int(fn, "data_seed", data_seed)
    n, n_test = check_int(fn, "n", n, 2), check_int(fn, "n_test", n_test, 2)
    patience, repeats = check_int(fn, "patience", patience, 1), check_int(fn, "repeats", repeats, 1)
    lr, alpha = non_negative(fn, "lr", lr), non_negative(fn, "alpha", alpha)
    last = check_int(fn, "last", last, 1, most=steps)
    setup = _Setup(
        recipes.moons(n, n_test, data_seed=data_seed), steps, width, seed, patience, lr, alpha, bool(lanes)
    )
    runs: list[FreezingRun] = []
    for rep in range(repeats):
        for k, threshold in enumerate([0.0, *thresholds]):
            run = _train_once(setup, threshold)
            if rep == 0:
                runs.append(run)
            else:  # the same training again: keep each step's fastest time (noise only adds)
                runs[k].seconds = [min(a, b) for a, b in zip(runs[k].seconds, run.seconds)]
    return FreezingResult(runs, [2, width, width, 1], steps, patience, last, n)


@dataclass(frozen=True)
class _Setup:
    """What every run of freezing_experiment shares."""

    data: recipes.Moons
    steps: int
    width: int
    seed: int
    patience: int
    lr: float
    alpha: float
    lanes: bool


def _train_once(setup: _Setup, threshold: float) -> FreezingRun:
    """Train a fresh model from setup.seed with a Freezer at threshold, measuring every step."""
    model = recipes.model([setup.width, setup.width], seed=setup.seed)
    optimizer = SGD(model.parameters(), lr=setup.lr)
    freezer = Freezer(model, optimizer, FreezePolicy(threshold, setup.patience))
    recipe_loss = recipes.loss(model, alpha=setup.alpha)
    work: list[BackwardWork] = []
    counting = [0.0]  # seconds spent counting in the current step, taken off its time

    def loss(preds: list[Any], labels: np.ndarray) -> Value:
        total = recipe_loss(preds, labels * 2 - 1)
        start = time.process_time()
        work.append(backward_work(total))
        counting[0] = time.process_time() - start
        return total

    seconds: list[float] = []
    clock = [time.process_time()]

    def callback(step: int, history: History) -> None:
        freezer(step, history)  # part of the step: freezing's own cost is counted
        now = time.process_time()
        seconds.append(now - clock[0] - counting[0])
        clock[0] = now

    data = setup.data
    history = recipes.train(
        model,
        data.X,
        data.y,
        steps=setup.steps,
        lr=setup.lr,
        loss_fn=loss,
        optimizer=optimizer,
        callback=callback,
        lanes=setup.lanes,
        # The graph, not fit's compiled tape: backward_work counts the graph each step, and the
        # question is what freezing removes from it. (A tape computes a layer's products as one
        # vector op, frozen neurons' included: what freezing saves there is another measurement.)
        tape=False,
    )
    return FreezingRun(
        threshold=threshold,
        neurons=freezer.neurons,
        events=freezer.events,
        frozen=freezer.frozen_counts,
        work=work,
        seconds=seconds,
        loss=history.loss,
        train_accuracy=history.accuracy,
        test_accuracy=accuracy(predict(model, data.X_test), data.y_test * 2 - 1),
    )
