"""The network view (nn.draw): an nn.MLP as circles in layers, weights as edges, δ in the neurons."""

from __future__ import annotations

import re
import shutil
from typing import Any

import numpy as np
import pytest

from engine import Value, tag_scopes
from engine.draw import NEGATIVE, PENDING, POSITIVE, GraphTooLargeError, to_dot
from nn import MLP, record
from nn.activations import ACTIVATIONS
from nn.draw import draw_mlp, mlp_to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")


def small_mlp() -> MLP:
    """MLP(2, [2, 1]): tanh hidden layer, linear output, with weights chosen for round numbers."""
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    weights = {"0.0": ([1.0, -0.5], 0.1), "0.1": ([0.0, 2.0], -0.2), "1.0": ([-1.5, 0.5], 0.0)}
    state = {}
    for where, (w, b) in weights.items():
        layer, neuron = where.split(".")
        prefix = f"layers.{layer}.neurons.{neuron}"
        state |= {f"{prefix}.w.{k}": v for k, v in enumerate(w)} | {f"{prefix}.b": b}
    model.load_state_dict(state)
    return model


def test_edges_widths_colours_and_deltas() -> None:
    model = small_mlp()
    with record(model):
        y = model([1.0, 2.0])
    assert isinstance(y, Value)
    (y**2).backward()
    dot = mlp_to_dot(model)
    weights = re.findall(r'^\s*(\w+ -> \w+) \[color="(#\w+)" penwidth="([\d.]+)" label="(\S+)"\]', dot, re.M)
    assert weights == [
        ("x0 -> l0n0", POSITIVE, "2.75", "1.00"),  # width 0.5 + 4.5 · |w| / largest |w|
        ("x1 -> l0n0", NEGATIVE, "1.62", "-0.50"),
        ("x0 -> l0n1", PENDING, "0.50", "0.00"),
        ("x1 -> l0n1", POSITIVE, "5.00", "2.00"),  # the largest |w|: the widest edge
        ("l0n0 -> l1n0", NEGATIVE, "3.88", "-1.50"),
        ("l0n1 -> l1n0", POSITIVE, "1.62", "0.50"),
    ]
    assert "l1n0 -> out0" in dot
    out = model.layers[1].neurons[0].zs[0]
    assert f"δ {out.grad:.2f}" in dot  # one recorded example: its δ = ∂C/∂z
    assert "b 0.10" in dot and "∂C/∂b" in mlp_to_dot(model, show="grad")
    with record(model):  # two recorded examples, not backpropagated: δ is their mean
        model([1.0, 2.0])
        model([0.0, 1.0])
    assert "mean δ" in mlp_to_dot(model) and "n = 2" in mlp_to_dot(model)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_each_neuron_shows_its_activation_by_its_display_name(activation: str) -> None:
    model = MLP(2, [3, 1], activation=activation, seed=0)
    dot = mlp_to_dot(model)
    shown = ACTIVATIONS[activation].display
    assert dot.count(f"<b>{shown}</b>") == 3 and dot.count("<b>Linear</b>") == 1
    assert shown in repr(model)  # the same name the model's repr uses


def test_without_recordings_no_delta_is_shown() -> None:
    assert "δ" not in mlp_to_dot(small_mlp()).split("graph [label=")[0]


def test_a_recorded_model_draws_as_a_network_and_as_a_graph() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    with tag_scopes(), record(model):
        y = model([1.0, -1.0])
    assert isinstance(y, Value)
    y.backward()
    dot = mlp_to_dot(model)
    assert dot.count("penwidth") == 2 * 3 + 3 and dot.count("<br/>δ ") == 4
    assert "layer 0 · neuron 2" in to_dot(y, params=model.parameters())
    assert to_dot(y, collapse="neuron").count("values | out") == 4


@pytest.mark.parametrize("entry", [mlp_to_dot, draw_mlp], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("model", "says"),
    [
        pytest.param(
            Value(1.0), "got a Value: draw the graph of a Value with engine.draw's draw_dot", id="Value"
        ),
        pytest.param(2.5, "got float 2.5", id="float"),
        pytest.param([small_mlp(), small_mlp()], "got a list of 2: draw one model at a time", id="list"),
        pytest.param(None, "got NoneType None", id="None"),
        pytest.param(small_mlp().layers[0], "got Layer", id="a-layer"),
    ],
)
def test_the_network_view_names_itself_and_needs_an_mlp(entry: Any, model: object, says: str) -> None:
    with pytest.raises(TypeError, match=rf"^{entry.__name__}: model must be an nn.MLP, {re.escape(says)}"):
        entry(model)


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"show": "bias"}, ValueError, "mlp_to_dot: show must be 'weight' or 'grad', got 'bias'"),
        ({"rankdir": "RL"}, ValueError, "mlp_to_dot: rankdir must be 'auto', 'LR' or 'TB', got 'RL'"),
        ({"max_nodes": 4}, GraphTooLargeError, "mlp_to_dot: the network has 5 inputs and neurons"),
    ],
)
def test_options_are_checked(options: dict[str, Any], error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=re.escape(says)):
        mlp_to_dot(small_mlp(), **options)


@needs_dot
def test_draw_mlp_renders() -> None:
    diagram = draw_mlp(small_mlp())
    assert diagram.source == mlp_to_dot(small_mlp())
    assert "<svg" in diagram.pipe(format="svg", encoding="utf-8")


def test_a_batch_recorded_on_lanes_shows_the_same_deltas_as_one_call_per_example() -> None:
    X = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.25]])
    drawn = []
    for batch in (True, False):
        model = MLP(2, [3, 1], activation="tanh", seed=0)
        with record(model):
            outputs = [model(X)] if batch else [model(list(row)) for row in X]
            loss = sum(((out - 1.0) ** 2).sum() for out in outputs)
        loss.backward()
        drawn.append(mlp_to_dot(model))
    assert "n = 3" in drawn[0] and drawn[0] == drawn[1]


@pytest.mark.parametrize("bad", [0, -675, float("inf"), "675", True])
def test_a_bad_max_width_is_refused_by_name(bad: object) -> None:
    message = f"draw_mlp: max_width must be a number of points > 0, or None, got {bad!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        draw_mlp(MLP(2, [2, 1], seed=0), max_width=bad)  # type: ignore[arg-type]
