"""Freezing converged neurons: stop updating them, and let backward skip the work that only fed them.

A neuron is frozen once max |g| over its weights and bias (g = ∂C/∂p) stays below a threshold for
`patience` consecutive steps. The max, not a norm: "converged" should mean every one of its
parameters has settled, and a norm grows with the fan-in, so one threshold would mean different
things in layers of different widths.

Freezing sets requires_grad = False on the neuron's w and b (the engine then records no graph for
ops whose inputs are all constants) and hands them to `optimizer.freeze` (the optimizer leaves them
and their state alone). What that saves depends on where the neuron is:
- first layer: its inputs are constants, so w·x, the sum and the activation all become constants:
  2·nin + 1 ops per example leave the backward graph;
- a later layer: its inputs still need gradient (the layers before it train), so every w·h and
  add is still recorded and visited; only the nin + 1 edges into w and b go, plus each product
  w·h whose input h is itself constant (from a frozen neuron before it): the saving grows with
  the product of frozen neurons in consecutive layers.
Forward still computes every frozen neuron (as constants), and a constant feeding a recorded op is
a leaf that backward's topological sort still walks: ops saved are the cheap part of a step.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import BackwardWork, Value, backward_work

from ._checks import check_int, non_negative, ordered, positive
from .data import make_moons, standardize
from .losses import hinge_loss, l2_penalty
from .module import MLP, Neuron
from .optim import SGD, Optimizer
from .train import History, accuracy, fit, predict

__all__ = [
    "FreezeEvent",
    "FreezePolicy",
    "Freezer",
    "FreezingResult",
    "FreezingRun",
    "freeze_neuron",
    "freezing_experiment",
    "frozen_neurons",
    "neuron_grad",
    "unfreeze_neuron",
]


@dataclass(frozen=True)
class FreezePolicy:
    """Freeze a neuron once max |g| over its w and b is < threshold for `patience` steps in a row."""

    threshold: float
    patience: int = 5

    def __post_init__(self) -> None:
        # Stored as a plain float and int (a numpy number is accepted and converted); frozen, so set directly.
        object.__setattr__(self, "threshold", non_negative("FreezePolicy", "threshold", self.threshold))
        object.__setattr__(self, "patience", check_int("FreezePolicy", "patience", self.patience, 1))


def neuron_grad(neuron: Neuron) -> float:
    """max(|∂C/∂wᵢ|, |∂C/∂b|): the neuron's largest gradient, as backward left it."""
    return max(abs(p.grad) for p in (*neuron.w, neuron.b))


def _neuron(fn: str, model: MLP, layer: int, index: int) -> Neuron:
    layer, index = check_int(fn, "layer", layer, None), check_int(fn, "index", index, None)
    if not 0 <= layer < len(model.layers):
        raise IndexError(f"{fn}: layer {layer} is not in 0..{len(model.layers) - 1}")
    neurons = model.layers[layer].neurons
    if not 0 <= index < len(neurons):
        raise IndexError(f"{fn}: layer {layer} has neurons 0..{len(neurons) - 1}, not {index}")
    return neurons[index]


def freeze_neuron(model: MLP, optimizer: Optimizer, layer: int, index: int) -> Neuron:
    """Stop training model.layers[layer].neurons[index]: requires_grad = False and optimizer.freeze."""
    neuron = _neuron("freeze_neuron", model, layer, index)
    params = [*neuron.w, neuron.b]
    optimizer.freeze(params)  # first: it raises if these are not the optimizer's, changing nothing
    for p in params:
        p.requires_grad = False
        p.grad = 0.0  # a frozen parameter gets no gradient; a stale one would mislead instruments
    return neuron


def unfreeze_neuron(model: MLP, optimizer: Optimizer, layer: int, index: int) -> Neuron:
    """Train the neuron again: requires_grad = True and optimizer.unfreeze (its state resumes)."""
    neuron = _neuron("unfreeze_neuron", model, layer, index)
    params = [*neuron.w, neuron.b]
    optimizer.unfreeze(params)
    for p in params:
        p.requires_grad = True
    return neuron


def frozen_neurons(model: MLP) -> list[tuple[int, int]]:
    """(layer, neuron) of every neuron none of whose parameters requires grad."""
    return [
        (i, j) for i, layer in enumerate(model.layers) for j, n in enumerate(layer.neurons) if _is_frozen(n)
    ]


def _is_frozen(neuron: Neuron) -> bool:
    return not any(p.requires_grad for p in (*neuron.w, neuron.b))


@dataclass(frozen=True)
class FreezeEvent:
    """A neuron frozen after the optimizer step `step`; grad is its max |g| at that step."""

    step: int
    layer: int
    neuron: int
    grad: float


class Freezer:
    """A fit callback: after each step, freeze the neurons that have been calm for `patience` steps.

    `fit(..., callback=freezer)` calls it after optimizer.step(), before the next step zeroes the
    gradients, so it reads the step's gradients. It records how many neurons are frozen after each
    step (`frozen_counts`) and each freezing (`events`). A neuron counts as frozen when none of its
    parameters requires grad, so unfreeze_neuron from outside is seen: it must then be calm for
    `patience` steps again.
    """

    def __init__(self, model: MLP, optimizer: Optimizer, policy: FreezePolicy) -> None:
        self.model = model
        self.optimizer = optimizer
        self.policy = policy
        self.calm = [[0] * len(layer.neurons) for layer in model.layers]  # consecutive calm steps
        self.frozen_counts: list[int] = []
        self.events: list[FreezeEvent] = []

    @property
    def neurons(self) -> int:
        """How many neurons the model has."""
        return sum(len(layer.neurons) for layer in self.model.layers)

    def __call__(self, step: int, history: History | None = None) -> None:
        """Count calm steps per neuron from the current grads; freeze those calm for `patience` steps.

        The last trainable neuron is never frozen: with no parameter left to train, the loss would
        need no gradient and the next backward would have nothing to do (fit raises).
        """
        threshold, patience = self.policy.threshold, self.policy.patience
        trainable = self.neurons - len(frozen_neurons(self.model))
        frozen = 0
        for i, layer in enumerate(self.model.layers):
            calm = self.calm[i]
            for j, n in enumerate(layer.neurons):
                if _is_frozen(n):
                    calm[j] = 0
                    frozen += 1
                    continue
                g = neuron_grad(n)
                calm[j] = calm[j] + 1 if g < threshold else 0
                if calm[j] >= patience and trainable > 1:
                    freeze_neuron(self.model, self.optimizer, i, j)
                    self.events.append(FreezeEvent(step, i, j, g))
                    calm[j] = 0
                    frozen += 1
                    trainable -= 1
        self.frozen_counts.append(frozen)


# -- measuring what freezing saves ---------------------------------------------------------------


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
    examples: int

    @property
    def baseline(self) -> FreezingRun:
        """The run without freezing."""
        return self.runs[0]

    def __str__(self) -> str:
        base = self.baseline
        base_ops, base_edges, base_nodes = base.mean_work(self.last)
        base_s = base.median_seconds(self.last)
        layers = len(self.sizes) - 1
        header = (
            f"Freezing converged neurons: MLP({self.sizes[0]}, {self.sizes[1:]}) on moons "
            f"({self.examples} train points, full batch), {self.steps} steps, patience {self.patience}; "
            f"work and time over the last {self.last} steps, ratio = run / no freezing\n"
        )
        cols = (
            f"{'threshold':>9}  {'frozen':>9}  {'by layer':>12}  {'backward ops':>12}  {'ratio':>5}  "
            f"{'grad edges':>10}  {'ratio':>5}  {'recorded':>9}  {'ratio':>5}  "
            f"{'cpu s/step':>10}  {'ratio':>5}  "
            f"{'loss':>7}  {'train':>5}  {'test':>5}"
        )
        lines = [header + cols]
        for run in self.runs:
            ops, edges, nodes = run.mean_work(self.last)
            sec = run.median_seconds(self.last)
            by_layer = "/".join(map(str, run.frozen_by_layer(layers)))
            lines.append(
                f"{'none' if run.threshold == 0 else f'{run.threshold:g}':>9}  "
                f"{f'{run.frozen[-1]}/{run.neurons}':>9}  {by_layer:>12}  "
                f"{ops:>12,.0f}  {ops / base_ops:>5.3f}  {edges:>10,.0f}  {edges / base_edges:>5.3f}  "
                f"{nodes:>9,.0f}  {nodes / base_nodes:>5.3f}  {sec:>10.3f}  {sec / base_s:>5.3f}  "
                f"{run.loss[-1]:>7.4f}  {run.train_accuracy[-1]:>5.0%}  {run.test_accuracy:>5.0%}"
            )
        return "\n".join(lines)


def freezing_experiment(
    thresholds: Sequence[float] = (1e-3, 3e-3, 1e-2),
    steps: int = 100,
    width: int = 64,
    seed: int = 0,
    *,
    patience: int = 5,
    examples: int = 100,
    lr: float = 0.1,
    alpha: float = 1e-4,
    last: int = 20,
    repeats: int = 1,
) -> FreezingResult:
    """Train MLP(2, [width, width, 1]) on moons without freezing and with a Freezer per threshold.

    Every run starts from the same weights (seed) on the same standardized moons, with micrograd's
    recipe: hinge loss on ±1 labels + α·Σp², full-batch SGD with lr·(1 − 0.9·k/steps). The baseline
    runs a Freezer with threshold 0 (which never freezes), so every run pays the same checking cost.
    Each step's loss graph is counted with backward_work before its backward; the time per step is
    this process's CPU time between callbacks minus that counting (CPU time, not wall time: on a
    shared machine the wall clock also runs while other processes have the core). With repeats > 1
    every run is trained again in turn (same results: training is deterministic) and each step keeps
    its fastest time.
    """
    fn = "freezing_experiment"
    levels = ordered(fn, "thresholds", thresholds)
    if not levels:
        raise ValueError(f"{fn}: thresholds must hold at least one threshold > 0 (0 is the baseline), got []")
    thresholds = [positive(fn, f"thresholds[{i}]", t) for i, t in enumerate(levels)]  # 0 is the baseline's
    steps, width = check_int(fn, "steps", steps, 1), check_int(fn, "width", width, 1)
    seed, examples = check_int(fn, "seed", seed), check_int(fn, "examples", examples, 2)
    patience, repeats = check_int(fn, "patience", patience, 1), check_int(fn, "repeats", repeats, 1)
    lr, alpha = non_negative(fn, "lr", lr), non_negative(fn, "alpha", alpha)
    last = check_int(fn, "last", last, 1, most=steps)
    X, y = make_moons(examples, noise=0.1, seed=seed)
    X_test, y_test = make_moons(examples, noise=0.1, seed=seed + 1)
    X, mean, std = standardize(X)
    X_test, _, _ = standardize(X_test, mean, std)
    setup = _Setup(X, y, X_test, y_test, steps, width, seed, patience, lr, alpha)
    runs: list[FreezingRun] = []
    for rep in range(repeats):
        for k, threshold in enumerate([0.0, *thresholds]):
            run = _train_once(setup, threshold)
            if rep == 0:
                runs.append(run)
            else:  # the same training again: keep each step's fastest time (noise only adds)
                runs[k].seconds = [min(a, b) for a, b in zip(runs[k].seconds, run.seconds)]
    return FreezingResult(runs, [2, width, width, 1], steps, patience, last, examples)


@dataclass(frozen=True)
class _Setup:
    """What every run of freezing_experiment shares."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    steps: int
    width: int
    seed: int
    patience: int
    lr: float
    alpha: float


def _train_once(setup: _Setup, threshold: float) -> FreezingRun:
    """Train a fresh model from setup.seed with a Freezer at threshold, measuring every step."""
    model = MLP(2, [setup.width, setup.width, 1], seed=setup.seed)
    optimizer = SGD(model.parameters(), lr=setup.lr)
    freezer = Freezer(model, optimizer, FreezePolicy(threshold, setup.patience))
    params = model.parameters()
    work: list[BackwardWork] = []
    counting = [0.0]  # seconds spent counting in the current step, taken off its time

    def loss(preds: list[Any], labels: np.ndarray) -> Value:
        total = hinge_loss(preds, labels * 2 - 1) + l2_penalty(params, setup.alpha)
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

    schedule = _decay(setup.lr, setup.steps)
    history = fit(
        model,
        setup.X,
        setup.y,
        loss,
        optimizer,
        setup.steps,
        progress=False,
        schedule=schedule,
        callback=callback,
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
        test_accuracy=accuracy(predict(model, setup.X_test), setup.y_test * 2 - 1),
    )


def _decay(lr: float, steps: int) -> Callable[[int], float]:
    """micrograd's demo schedule: lr·(1 − 0.9·k/steps)."""
    return lambda k: lr * (1.0 - 0.9 * k / steps)
