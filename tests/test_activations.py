"""nn.activations: the one registry, checked against the function, the model's repr and PyTorch."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine import Value
from nn.activations import ACTIVATIONS
from nn.diagnostics import activation_stats
from nn.module import MLP, Neuron

ZS = [-30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0]

# name: the function by hand, the output range.
EXPECTED: dict[str, tuple[Any, tuple[float, float]]] = {
    "relu": (lambda z: max(z, 0.0), (0.0, math.inf)),
    "tanh": (math.tanh, (-1.0, 1.0)),
    "sigmoid": (lambda z: 1.0 / (1.0 + math.exp(-z)), (0.0, 1.0)),
    "linear": (lambda z: z, (-math.inf, math.inf)),
}


def test_the_registry_lists_every_activation() -> None:
    assert list(ACTIVATIONS) == list(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_activation_is_its_function_with_outputs_in_its_range(name: str) -> None:
    act = ACTIVATIONS[name]
    f, (low, high) = EXPECTED[name]
    assert (act.low, act.high) == (low, high)
    assert act.saturates == (name in {"tanh", "sigmoid"})
    for z in ZS:
        a = z if act.function is None else act.function(Value(z)).data
        assert a == pytest.approx(f(z), rel=1e-12, abs=1e-300)
        assert low <= a <= high


@pytest.mark.parametrize("name", EXPECTED)
def test_the_display_name_is_the_models_repr_and_the_torch_name_its_module(name: str) -> None:
    act = ACTIVATIONS[name]
    assert repr(Neuron(2, activation=name)) == f"{act.display}Neuron(2)"
    assert act.torch == (None if name == "linear" else act.display)


@pytest.mark.parametrize("name", EXPECTED)
def test_the_torch_module_applies_the_same_function(name: str, torch: Any) -> None:
    act = ACTIVATIONS[name]
    z = torch.tensor(ZS, dtype=torch.float64)
    ours = [z_ if act.function is None else act.function(Value(z_)).data for z_ in ZS]
    theirs = z if act.torch is None else getattr(torch.nn, act.torch)()(z)
    assert theirs.tolist() == pytest.approx(ours, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize(
    ("name", "saturated"),
    [
        ("tanh", 3 / 6),  # |tanh z| > 0.99 for |z| > 2.65: z = −5, 3, 6
        ("sigmoid", 2 / 6),  # σ(z) < 0.01 or > 0.99 for |z| > 4.6: z = −5, 6
        ("relu", None),  # no upper limit: nothing to saturate against
        ("linear", None),
    ],
)
def test_activation_stats_counts_outputs_near_the_registrys_limits(
    name: str, saturated: float | None
) -> None:
    model = MLP(1, [1, 1], activation=name, seed=0)
    for p, value in zip(model.parameters(), [1.0, 0.0, 1.0, 0.0], strict=True):
        p.data = value  # the hidden unit outputs f(x)
    stats = activation_stats(model, [[-5.0], [-1.0], [0.0], [1.0], [3.0], [6.0]])
    assert stats.layers[0].saturated == saturated
