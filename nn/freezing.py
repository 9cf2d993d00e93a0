"""Freezing converged neurons: stop updating them, and let backward skip the work that only fed them.

A neuron is frozen once max |g| over its weights and bias (g = ∂C/∂p) stays below a threshold for
`patience` consecutive steps. The max, not a norm: "converged" should mean every one of its
parameters has settled, and a norm grows with the fan-in, so one threshold would mean different
things in layers of different widths.

Freezing sets requires_grad = False on the neuron's w and b (the engine then records no graph for
ops whose inputs are all constants) and hands them to `optimizer.freeze` (the optimizer leaves them
and their state alone). What that saves depends on where the neuron is:
- first layer: its inputs are constants, so w·x, the sum and the activation all become constants:
  2·nin + 1 ops per example (per graph, when a batch runs as lanes) leave the backward graph;
- a later layer: its inputs still need gradient (the layers before it train), so every w·h and
  add is still recorded and visited; only the nin + 1 edges into w and b go, plus each product
  w·h whose input h is itself constant (from a frozen neuron before it): the saving grows with
  the product of frozen neurons in consecutive layers.
Forward still computes every frozen neuron (as constants), and a constant feeding a recorded op is
a leaf that backward's topological sort still walks: ops saved are the cheap part of a step.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import check_int, non_negative
from .module import MLP, Neuron
from .optim import Optimizer
from .train import History

__all__ = [
    "FreezeEvent",
    "FreezePolicy",
    "Freezer",
    "freeze_neuron",
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
