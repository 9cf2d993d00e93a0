"""nn.diagnostics: each instrument on a net worked out by hand."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from engine import Value
from nn.diagnostics import (
    GradientFlag,
    activation_stats,
    blame,
    flag_gradients,
    gradient_flow,
)
from nn.module import MLP, record


def set_weights(model: MLP, layers: list[list[tuple[list[float], float]]]) -> MLP:
    """Give every neuron the (weights, bias) listed for it, layer by layer."""
    for layer, neurons in zip(model.layers, layers, strict=True):
        for neuron, (w, b) in zip(layer.neurons, neurons, strict=True):
            for p, value in zip(neuron.w, w, strict=True):
                p.data = value
            neuron.b.data = b
    return model


def two_two_one() -> MLP:
    """A ReLU 2-2-1 net worked out by hand below.

    Layer 0: z = (x0 + 2 x1, 3 x0 − x1); layer 1: out = 2 h0 − h1 + 0.5.
    At x = (1, 1): z = (3, 2), both ReLUs on, h = (3, 2), out = 4.5.
    With C = out: ∂C/∂w(layer 1) = h = (3, 2), ∂C/∂b = 1; δ(layer 0) = (2, −1),
    so ∂C/∂w(layer 0) = δ·x = (2, 2) and (−1, −1), ∂C/∂b = (2, −1).
    """
    return set_weights(
        MLP(2, [2, 1], activation="relu"),
        [[([1.0, 2.0], 0.0), ([3.0, -1.0], 0.0)], [([2.0, -1.0], 0.5)]],
    )


def test_gradient_flow_matches_the_hand_computed_2_2_1_net() -> None:
    model = two_two_one()
    out = model([1.0, 1.0])
    assert out.data == 4.5
    out.backward()
    flow = gradient_flow(model, lr=0.1)
    first, last = flow.layers
    assert (first.name, first.nin, first.nout, first.activation) == ("layer 0", 2, 2, "relu")
    assert (last.name, last.nin, last.nout, last.activation) == ("layer 1", 2, 1, "linear")
    assert first.mean_abs_grad == 1.5  # (2 + 2 + 1 + 1) / 4
    assert first.max_abs_grad == 2.0
    assert first.bias_mean_abs_grad == 1.5  # (|2| + |−1|) / 2
    assert first.grad_norm == pytest.approx(math.sqrt(10))
    assert first.weight_norm == pytest.approx(math.sqrt(15))
    assert first.update_ratio == pytest.approx(0.1 * math.sqrt(10 / 15))
    assert last.mean_abs_grad == 2.5  # (3 + 2) / 2
    assert last.max_abs_grad == 3.0
    assert last.bias_mean_abs_grad == 1.0
    assert last.update_ratio == pytest.approx(0.1 * math.sqrt(13 / 5))
    assert flow.relative == [0.6, 1.0]
    assert flow.first_to_output == 0.6
    text = str(flow)
    assert "lr = 0.1" in text and "layer 0" in text and "2→2" in text


def test_gradient_flow_without_lr_reports_the_step_at_lr_1_and_says_so() -> None:
    model = two_two_one()
    model([1.0, 1.0]).backward()
    flow = gradient_flow(model)
    assert flow.lr is None
    assert flow.layers[1].update_ratio == pytest.approx(math.sqrt(13 / 5))
    assert "‖g‖/‖w‖" in str(flow) and "lr = 1" in str(flow)


def test_flag_gradients_names_layers_past_each_threshold_and_says_why() -> None:
    model = two_two_one()
    model([1.0, 1.0]).backward()
    flow = gradient_flow(model)
    assert flag_gradients(flow) == []  # layer 0 is 0.6 × the output layer: healthy
    [low] = flag_gradients(flow, vanish=0.7)
    assert (low.name, low.kind, low.measure, low.ratio) == ("layer 0", "vanishing", "vs output", 0.6)
    assert "layer 0" in str(low) and "vanishes" in str(low) and "1.667 times smaller" in str(low)
    [high] = flag_gradients(flow, explode=0.5)
    assert (high.kind, high.measure, high.ratio) == ("exploding", "vs output", 0.6)
    assert "0.6 times the output layer's" in str(high) and "explodes" in str(high)
    # The update measure: layer 1's step at lr 1 is √(13/5) ≈ 1.61 × its weights, layer 0's 0.82.
    [step] = flag_gradients(flow, update=1.0)
    assert (step.name, step.kind, step.measure) == ("layer 1", "exploding", "update")
    assert step.ratio == pytest.approx(math.sqrt(13 / 5))
    assert "one SGD step (lr 1)" in str(step)


def test_flag_gradients_needs_a_gradient_at_the_output() -> None:
    flow = gradient_flow(two_two_one())  # no backward: every grad is 0
    with pytest.raises(ValueError, match=r"call loss\.backward\(\)"):
        flag_gradients(flow)


def test_activation_stats_finds_the_dead_relu_and_the_saturated_units() -> None:
    model = set_weights(
        MLP(2, [3, 2, 1], activation=["relu", "tanh"], output_activation="sigmoid"),
        [
            # relu(x0), a unit with bias −100 (dead on every input), relu(x1)
            [([1.0, 0.0], 0.0), ([0.0, 0.0], -100.0), ([0.0, 1.0], 0.0)],
            # tanh with huge weights (a ≈ −1 on every row), tanh with tiny ones (a ≈ 0)
            [([-100.0, 0.0, -100.0], 0.0), ([0.001, 0.0, 0.0], 0.0)],
            [([0.0, 0.0], -10.0)],  # σ(−10) = 4.5e-5 < 0.01: saturated
        ],
    )
    X = np.array([[1.0, 2.0], [-1.0, 3.0], [2.0, 0.5]])
    stats = activation_stats(model, X)
    relu, tanh, out = stats.layers
    expected = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.5]])
    np.testing.assert_array_equal(relu.values, expected)
    assert relu.mean == pytest.approx(8.5 / 9)
    assert relu.std == pytest.approx(expected.std())
    # Unit 0 is 0 on one row only: alive. Unit 1 is 0 on all three: dead. 1 of 3.
    assert relu.dead == pytest.approx(1 / 3)
    assert relu.saturated is None
    assert tanh.saturated == 0.5  # the big unit on every row, the small one on none
    assert tanh.dead is None
    assert out.saturated == 1.0
    assert stats.examples == 3
    assert activation_stats(model, X, saturation=0.999_999_9).layers[2].saturated == 0.0
    text = str(stats)
    assert "33%" in text and "50%" in text and "layer 2" in text


def test_activation_stats_is_not_recorded_and_checks_its_arguments() -> None:
    model = two_two_one()
    stats = activation_stats(model, [[1.0, 1.0]])
    assert stats.layers[1].values.tolist() == [[4.5]]  # the layers' outputs are model(x)'s
    assert stats.layers[1].saturated is None and stats.layers[1].dead is None
    with pytest.raises(ValueError, match="saturation"):
        activation_stats(model, [[1.0, 1.0]], saturation=1.0)
    with pytest.raises(ValueError, match="2-d"):
        activation_stats(model, [1.0, 1.0])


def test_blame_ranks_parameters_by_abs_grad_with_their_names() -> None:
    model = two_two_one()
    model([1.0, 1.0]).backward()
    report = blame(model, top=5)
    assert [(p.name, p.grad) for p in report.parameters] == [
        ("layers.1.neurons.0.w.0", 3.0),
        # |grad| 2 four times: ties keep named_parameters order
        ("layers.0.neurons.0.w.0", 2.0),
        ("layers.0.neurons.0.w.1", 2.0),
        ("layers.0.neurons.0.b", 2.0),
        ("layers.1.neurons.0.w.1", 2.0),
    ]
    assert report.parameters[0].value == 2.0
    assert report.total == 9
    assert not report.recorded
    assert "nothing was recorded" in str(report)
    assert "layers.1.neurons.0.w.0" in str(report)
    with pytest.raises(ValueError, match="top"):
        blame(model, top=0)


def test_blame_reports_each_neurons_delta_from_the_recording() -> None:
    model = two_two_one()
    with record(model):
        # C = out(1, 1) + 2·out(1, 0): δ at the output is 1 and 2; at x = (1, 0), z = (1, 3), both on.
        loss: Value = model([1.0, 1.0]) + 2 * model([1.0, 0.0])
    loss.backward()
    report = blame(model)
    deltas = {n.name: (n.examples, n.mean_delta, n.mean_abs_delta) for n in report.neurons}
    assert deltas == {
        "layers.0.neurons.0": (2, 3.0, 3.0),  # δ = 2·1, 2·2
        "layers.0.neurons.1": (2, -1.5, 1.5),  # δ = −1·1, −1·2
        "layers.1.neurons.0": (2, 1.5, 1.5),
    }
    assert report.recorded
    lines = str(report).splitlines()
    first_neuron = next(i for i, line in enumerate(lines) if line.split()[:1] == ["neuron"]) + 1
    assert lines[first_neuron].split()[0] == "layers.0.neurons.0"  # ranked by mean |δ|


def test_gradient_flag_wording_for_a_layer_with_no_gradient() -> None:
    flag = GradientFlag(0, "layer 0", "vanishing", "vs output", 0.0)
    assert "zero" in str(flag)


# -- arguments: numpy numbers are numbers, a bool or a str is not ---------------------------------------

BAD_SETTINGS = [
    (
        lambda: gradient_flow(two_two_one(), lr=True),
        ValueError,
        "gradient_flow: lr must be a finite number ≥ 0, got True",
    ),
    (
        lambda: gradient_flow(two_two_one(), lr="0.1"),
        ValueError,
        "gradient_flow: lr must be a finite number ≥ 0",
    ),
    (
        lambda: activation_stats(two_two_one(), [[1.0, 1.0]], saturation=True),
        ValueError,
        "saturation must be a finite number in (0, 1), got True",
    ),
    (lambda: blame(two_two_one(), top="3"), ValueError, "blame: top must be a positive int, got '3'"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_SETTINGS)
def test_instruments_refuse_bools_and_strs_naming_themselves(call, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_flag_gradients_thresholds_are_checked() -> None:
    model = two_two_one()
    model([1.0, 1.0]).backward()
    flow = gradient_flow(model, lr=np.float32(0.5))
    assert flow.lr == 0.5 and type(flow.lr) is float
    for name in ("vanish", "explode", "update"):
        with pytest.raises(ValueError, match=f"flag_gradients: {name} must be a finite number > 0, got True"):
            flag_gradients(flow, **{name: True})
    assert flag_gradients(flow, vanish=np.float64(1e-3), explode=np.int64(1000)) == flag_gradients(flow)


def test_instruments_take_numpy_ints_as_counts_and_seeds() -> None:
    model = two_two_one()
    model([1.0, 1.0]).backward()
    assert blame(model, top=np.int64(2)) == blame(model, top=2)
    stats = activation_stats(model, [[1.0, 1.0]], saturation=np.float32(0.5))
    assert stats.saturation == 0.5
