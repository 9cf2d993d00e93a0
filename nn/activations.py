"""The activations a neuron may apply to z = w·x + b: one registry, read by the model, torch, diagnostics."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from engine import Value

from ._checks import check_choice

__all__ = ["ACTIVATIONS", "Activation", "check_activation"]


@dataclass(frozen=True)
class Activation:
    """One nonlinearity a = f(z): its function on a Value, its names, and its output range (low, high)."""

    function: Callable[[Value], Value] | None  # None: "linear", a = z (no op recorded)
    display: str  # as repr and drawings show it: "ReLU"
    torch: str | None  # the torch.nn module applying the same function; None for linear (none needed)
    low: float  # the output range: tanh and sigmoid saturate near a finite limit
    high: float

    @property
    def saturates(self) -> bool:
        """Whether both limits are finite, so that a unit can sit near one where f'(z) ≈ 0."""
        return math.isfinite(self.low) and math.isfinite(self.high)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(Value.relu, "ReLU", "ReLU", 0.0, math.inf),
    "tanh": Activation(Value.tanh, "Tanh", "Tanh", -1.0, 1.0),
    "sigmoid": Activation(Value.sigmoid, "Sigmoid", "Sigmoid", 0.0, 1.0),
    "linear": Activation(None, "Linear", None, -math.inf, math.inf),
}


def check_activation(fn: str, name: object) -> str:
    """name, if it names an activation in ACTIVATIONS, else a ValueError naming fn and the choices."""
    return check_choice(fn, "activation", name, ACTIVATIONS)
