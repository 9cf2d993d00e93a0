"""nn.plots: the diagnostics drawn, matplotlib imported only when a plot is asked for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nn.diagnostics import activation_stats, gradient_flow
from nn.losses import mse_loss
from nn.module import MLP
from nn.plots import plot_activations, plot_gradient_flow


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
