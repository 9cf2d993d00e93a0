"""nn.plots: the diagnostics drawn, matplotlib imported only when a plot is asked for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nn.diagnostics import activation_stats, gradient_flow
from nn.losses import mse_loss
from nn.module import MLP
from nn.plots import decision_regions, plot_activations, plot_decision_regions, plot_gradient_flow


def test_plot_helpers_draw_with_agg() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    model = MLP(2, [4, 4, 4, 1], activation="sigmoid", seed=0)
    mse_loss([model([0.5, -1.0])], [1.0]).backward()
    ax = plot_gradient_flow(gradient_flow(model))
    assert ax.get_yscale() == "log"
    assert len(ax.patches) == 4  # a bar per layer
    assert "first layer" in ax.get_title()
    # The bars must show, not only exist: on a log scale a bar starts at 0, which "mask" drops.
    ax.figure.canvas.draw()
    pixels = np.asarray(ax.figure.canvas.buffer_rgba())[..., :3].reshape(-1, 3)
    bar_blue = np.all(np.abs(pixels.astype(int) - (0x44, 0x77, 0xAA)) <= 2, axis=1)
    assert bar_blue.sum() > 2000, "the mean |grad| bars are not drawn"
    _, given = plt.subplots()
    stats = activation_stats(MLP(2, [3, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]])
    assert plot_activations(stats, ax=given) is given
    assert len(given.get_legend().get_texts()) == 2
    plt.close("all")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda flow, stats: plot_gradient_flow(flow, vanish=0), "plot_gradient_flow: vanish must be"),
        (lambda flow, stats: plot_gradient_flow(flow, explode=-1), "plot_gradient_flow: explode must be"),
        (
            lambda flow, stats: plot_activations(stats, bins=0),
            "plot_activations: bins must be",
        ),
    ],
)
def test_plot_arguments_are_checked_before_matplotlib_is_needed(call: Any, message: str) -> None:
    model = MLP(2, [2, 1], seed=0)
    model([1.0, 1.0]).backward()
    with pytest.raises(ValueError, match=message):
        call(gradient_flow(model), activation_stats(model, [[1.0, 1.0]]))


def three_classes() -> MLP:
    """Linear scores -x0, -5, x0: class 0 left of x0 = 0, class 2 right of it, class 1 nowhere."""
    model = MLP(2, [3], seed=0)
    rows = {0: ([-1.0, 0.0], 0.0), 1: ([0.0, 0.0], -5.0), 2: ([1.0, 0.0], 0.0)}
    state = {}
    for j, (w, b) in rows.items():
        state |= {f"layers.0.neurons.{j}.w.{k}": v for k, v in enumerate(w)} | {f"layers.0.neurons.{j}.b": b}
    model.load_state_dict(state)
    return model


def test_decision_regions_paint_no_class_between_two_that_touch() -> None:
    # Contouring the class numbers painted a band of class 1 where class 0 meets class 2.
    plt = pytest.importorskip("matplotlib.pyplot")
    to_hex = pytest.importorskip("matplotlib.colors").to_hex
    X = np.array([[-1.0, -1.0], [-0.5, 1.0], [0.5, -1.0], [1.0, 1.0]])
    model = three_classes()
    xs, _, regions = decision_regions(model, X, resolution=41)
    assert set(np.unique(regions)) == {0, 2}
    assert np.array_equal(regions, np.broadcast_to(np.where(xs > 0, 2, 0), regions.shape))
    mine = ["#4477AA", "#EE6677", "#228833"]
    ax = plot_decision_regions(model, X, [0, 0, 2, 2], names=["left", "middle", "right"], colours=mine)
    painted = ax.collections[0].get_array()  # the mesh: each cell's class, as drawn
    assert set(np.unique(painted)) == {0, 2}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["left", "middle", "right"]
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    assert [to_hex(c).upper() for c in colours] == mine  # one entry, in its class's colour
    plt.close("all")


@pytest.mark.parametrize(
    ("labels", "entries"),
    [([0, 1, 1, 0], ["class 0", "class 1"]), ([-1, 1, 1, -1], ["class 0", "class 1"])],
)
def test_a_single_score_is_two_classes_split_at_zero(labels: list[int], entries: list[str]) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    model = MLP(2, [1], seed=0)
    model.load_state_dict(
        {"layers.0.neurons.0.w.0": 1.0, "layers.0.neurons.0.w.1": 0.0, "layers.0.neurons.0.b": 0.0}
    )
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [2.0, 1.0], [-2.0, 1.0]])
    xs, _, regions = decision_regions(model, X, resolution=11)
    assert np.array_equal(regions[0], (xs > 0).astype(int))
    ax = plot_decision_regions(model, X, labels)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == entries
    plt.close("all")
