"""Plots of the diagnostics' numbers: matplotlib is imported only when a plot is drawn (it is optional)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ._checks import check_int, positive
from .diagnostics import ActivationStats, GradientFlow

__all__ = ["plot_activations", "plot_gradient_flow"]


def plot_gradient_flow(flow: GradientFlow, ax: Any = None, vanish: float = 1e-3, explode: float = 1e3) -> Any:
    """Bars of mean |grad| per layer, dots for max |grad|, on a log scale, with the flag thresholds."""
    vanish = positive("plot_gradient_flow", "vanish", vanish)
    explode = positive("plot_gradient_flow", "explode", explode)
    ax = _axes(ax)
    x = np.arange(len(flow.layers))
    ax.bar(x, [layer.mean_abs_grad for layer in flow.layers], color="#4477AA", label="mean |grad|")
    ax.plot(x, [layer.max_abs_grad for layer in flow.layers], "o", color="#EE6677", label="max |grad|")
    out = flow.output.mean_abs_grad
    if out > 0.0:  # the band inside which flag_gradients is silent
        for level, what in ((out * vanish, "vanishing below"), (out * explode, "exploding above")):
            ax.axhline(level, color="#BBBBBB", linestyle="--", linewidth=1)
            ax.annotate(what, (x[0] - 0.4, level), fontsize=8, color="#666666", va="bottom")
    # "clip", not "mask": every bar starts at 0, which a masking log scale drops with the whole bar.
    ax.set_yscale("log", nonpositive="clip")
    # One tick label per layer; the activation once, since a deep net repeats it (and 11 would overlap).
    ax.set_xticks(x, [str(layer.index) for layer in flow.layers])
    hidden = sorted({layer.activation for layer in flow.layers[:-1]})
    ratio = flow.first_to_output
    title = f"Gradient flow: the first layer's mean |grad| is {ratio:.2g} × the output layer's"
    xlabel = f"layer, input → output (hidden: {', '.join(hidden) or '-'}; output: {flow.output.activation})"
    return _label(ax, xlabel, "|∂C/∂w| (log)", title)


def plot_activations(stats: ActivationStats, ax: Any = None, bins: int = 40) -> Any:
    """A histogram of each layer's activations over the examples, overlaid (outline only)."""
    bins = check_int("plot_activations", "bins", bins, 1)
    ax = _axes(ax)
    for layer in stats.layers:
        ax.hist(layer.values.ravel(), bins=bins, histtype="step", label=f"{layer.name} ({layer.activation})")
    title = f"Activations per layer on {stats.examples} examples"
    return _label(ax, "activation a", "count (examples × units)", title)


def _axes(ax: Any) -> Any:
    """ax, or new Axes from matplotlib, imported only when a plot is asked for (it is optional)."""
    if ax is not None:
        return ax
    try:
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
    _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _label(ax: Any, xlabel: str, ylabel: str, title: str) -> Any:
    """Axis labels, a title and a small legend: the last touches every plot here shares."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax
