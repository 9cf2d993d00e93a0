"""Plots of the diagnostics' numbers and of what a classifier learned: matplotlib is imported only when
a plot is drawn (it is optional)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._checks import check_int, positive
from .diagnostics import ActivationStats, GradientFlow
from .train import predict

__all__ = [
    "CLASS_COLOURS",
    "decision_regions",
    "plot_activations",
    "plot_decision_regions",
    "plot_gradient_flow",
]

# Okabe and Ito's colour-blind-safe palette, one colour per class.
CLASS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


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


def decision_regions(
    model: Callable[[Any], Any], X: Any, resolution: int = 150, pad: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's class at each point of a grid around X: (xs, ys, classes), classes[i, j] at (xs[j], ys[i]).

    One score: class 1 where it is > 0, else 0 (as nn.accuracy counts); several: the argmax.
    """
    resolution = check_int("decision_regions", "resolution", resolution, 2)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_regions: X must be (n, 2) points in the plane, got shape {X.shape}")
    span = X.max(axis=0) - X.min(axis=0)
    span = np.where(span > 0, span, 1.0)
    lo, hi = X.min(axis=0) - pad * span, X.max(axis=0) + pad * span
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    scores = predict(model, np.column_stack([gx.ravel(), gy.ravel()]))
    classes = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
    return xs, ys, classes.reshape(gx.shape)


def plot_decision_regions(
    model: Callable[[Any], Any],
    X: Any,
    labels: Any,
    ax: Any = None,
    *,
    names: Sequence[str] | None = None,
    colours: Sequence[str] = CLASS_COLOURS,
    resolution: int = 150,
) -> Any:
    """Each class's region in its colour, the points on top, and a legend naming each class.

    The regions are painted cell by cell (pcolormesh), never contoured: contouring the class
    numbers interpolates between them, and where class 0 meets class 2 it paints a thin band of
    class 1 that the model never predicts. Labels ±1 are drawn as classes 0 (−1) and 1 (+1).
    colours: one per class (default CLASS_COLOURS, Okabe and Ito's colour-blind-safe palette).
    """
    xs, ys, regions = decision_regions(model, X, resolution)
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels).astype(int)
    labels = np.where(labels > 0, 1, 0) if labels.size and labels.min() < 0 else labels
    k = max(int(regions.max()), int(labels.max(initial=0))) + 1
    k = max(k, 2, len(names or ()))
    if k > len(colours):
        raise ValueError(f"plot_decision_regions: {k} classes, more than the {len(colours)} colours")
    names = [f"class {c}" for c in range(k)] if names is None else list(names)
    if len(names) != k:
        raise ValueError(f"plot_decision_regions: {len(names)} names for {k} classes")
    ax = _axes(ax)
    colors = importlib.import_module("matplotlib.colors")
    patch = importlib.import_module("matplotlib.patches").Patch
    palette = colors.ListedColormap(list(colours[:k]))
    flat = {"cmap": palette, "vmin": -0.5, "vmax": k - 0.5}
    ax.pcolormesh(xs, ys, regions, shading="nearest", alpha=0.3, rasterized=True, **flat)
    ax.scatter(X[:, 0], X[:, 1], c=labels, s=22, edgecolors="black", linewidths=0.5, **flat)
    handles = [patch(facecolor=colours[c], edgecolor="black", label=names[c]) for c in range(k)]
    ax.legend(handles=handles, loc="best", fontsize=8, title="region and points")
    ax.set(xlabel="x0", ylabel="x1", xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]))
    return ax


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
