"""The training demo: `python -m nn.demo` trains micrograd's MLP on two moons and draws what it learned.

It writes to --out (default ./demo-out): decision_boundary.png and loss.png (matplotlib, from the
`notebooks` extra) and neuron.svg, the graph of one neuron inside the trained network, its
gradients from the loss (graphviz's `dot`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine import Value, scope_of, tag_scopes, topo_order

from .data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from .losses import cross_entropy, hinge_loss, l2_penalty
from .module import MLP, record
from .optim import SGD
from .train import History, fit, predict

_CLASS_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "moons": make_moons,
    "circles": make_circles,
    "xor": make_xor,
    "spiral": make_spiral,
    "blobs": make_blobs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Train, report, and write the figures."""
    args = _parser().parse_args(argv)
    X, labels = DATASETS[args.dataset](n=args.n, seed=args.seed)
    if args.standardize:  # input scaling: both features of mean 0 and spread 1
        X, _, _ = standardize(X)
    classes = int(labels.max()) + 1
    sizes = [*args.hidden, 1 if classes == 2 else classes]
    model = MLP(2, sizes, seed=args.seed)

    def loss(scores: list[Any], y: np.ndarray) -> Value:
        # micrograd's demo: the max-margin (hinge) loss on ±1 labels, or cross entropy for k classes,
        # plus a little L2 regularization.
        data_loss = hinge_loss(scores, y) if classes == 2 else cross_entropy(scores, y)
        return data_loss + l2_penalty(model.parameters(), alpha=1e-4)

    y = labels * 2 - 1 if classes == 2 else labels
    print(
        f"MLP(2, {sizes}), {len(model.parameters())} parameters, on {len(X)} {args.dataset} points "
        f"({classes} classes{', standardized' if args.standardize else ''})"
    )
    history = fit(
        model,
        X,
        y,
        loss,
        SGD(model.parameters(), lr=args.lr),
        steps=args.steps,
        progress=not args.quiet,
        schedule=lambda k: args.lr * (1.0 - 0.9 * k / args.steps),  # micrograd's decay to 10%
    )
    print(f"trained: {history}")
    if args.steps == 0:
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = _plots(model, X, labels, history, out, name=args.dataset)
    written += _neuron_diagram(model, X, y, loss, out)
    for path in written:
        print(f"wrote {path}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nn.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="moons", help="default: moons")
    parser.add_argument("--n", type=int, default=100, help="number of points (default 100)")
    parser.add_argument("--hidden", type=_sizes, default=[16, 16], help="hidden sizes, e.g. 16,16 (default)")
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--lr", type=float, default=1.0, help="initial learning rate (default 1.0)")
    parser.add_argument("--seed", type=int, default=1337, help="for the data and the weights (default 1337)")
    parser.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scale the inputs to mean 0, spread 1 (default: on)",
    )
    parser.add_argument("--out", default="demo-out", help="folder for the figures (default ./demo-out)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes are positive ints separated by commas, got {text!r}")
    return sizes


def _plots(
    model: MLP, X: np.ndarray, labels: np.ndarray, history: History, out: Path, *, name: str
) -> list[Path]:
    """decision_boundary.png and loss.png, or a message saying how to get matplotlib."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        print(
            "matplotlib is not installed, so no PNG figures: pip install 'backprop-lab[notebooks]' "
            "(or pip install matplotlib)",
            file=sys.stderr,
        )
        return []
    matplotlib.use("Agg")  # files only: no window, works without a display
    plt = importlib.import_module("matplotlib.pyplot")

    # The decision boundary: the model's class at every point of a grid around the data.
    pad = 0.25 * (X.max(axis=0) - X.min(axis=0))
    xs = np.linspace(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0], 60)
    ys = np.linspace(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1], 60)
    gx, gy = np.meshgrid(xs, ys)
    scores = predict(model, np.column_stack([gx.ravel(), gy.ravel()]))
    classes = int(labels.max()) + 1
    # Okabe and Ito's colour-blind-safe palette, one colour per class.
    palette = matplotlib.colors.ListedColormap(_CLASS_COLOURS[:classes])
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    if scores.ndim == 1:  # one score: the boundary is where it crosses 0 (contoured smoothly)
        edges = [min(scores.min(), -1.0) - 1.0, 0.0, max(scores.max(), 1.0) + 1.0]
        ax.contourf(gx, gy, scores.reshape(gx.shape), levels=edges, cmap=palette, alpha=0.3)
        ax.contour(gx, gy, scores.reshape(gx.shape), levels=[0.0], colors="black", linewidths=0.8)
    else:
        regions = scores.argmax(axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, regions, levels=np.arange(classes + 1) - 0.5, cmap=palette, alpha=0.3)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=labels,
        cmap=palette,
        vmin=-0.5,
        vmax=classes - 0.5,
        s=22,
        edgecolors="black",
        linewidths=0.5,
    )
    ax.set(title=f"What the network learned: its class at every point ({name})", xlabel="x0", ylabel="x1")
    fig.tight_layout()
    boundary = out / "decision_boundary.png"
    fig.savefig(boundary)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=120)
    ax.plot(history.loss, color="#0072B2", label="loss")
    ax.set(xlabel="step", ylabel="loss", yscale="log", title="Training: loss falls, accuracy rises")
    right = ax.twinx()
    right.plot(history.accuracy, color="#D55E00", label="accuracy")
    right.set(ylabel="training accuracy", ylim=(0, 1.05))
    fig.legend(loc="center right", bbox_to_anchor=(0.85, 0.5))
    fig.tight_layout()
    curve = out / "loss.png"
    fig.savefig(curve)
    plt.close(fig)
    return [boundary, curve]


def _neuron_diagram(
    model: MLP, X: np.ndarray, y: np.ndarray, loss: Callable[..., Value], out: Path
) -> list[Path]:
    """neuron.svg: the graph of the first layer's most-blamed neuron on the hardest example."""
    try:
        draw = importlib.import_module("engine.draw")
    except ImportError:  # drawing is optional for the demo
        return []
    # The hardest example (the smallest margin, or the lowest true-class score) has a gradient to
    # show; after training, the others mostly sit beyond the margin and their loss is flat.
    scores = predict(model, X)
    margins = scores * y if scores.ndim == 1 else scores[np.arange(len(y)), y] - scores.max(axis=1)
    k = int(np.argmin(margins))
    with tag_scopes(), record(model):
        total = loss([model(X[k])], y[k : k + 1])
    model.zero_grad()
    total.backward()
    # The neuron with the most blame: the largest |δ| = |∂C/∂z| on this example.
    j = max(range(len(model.layers[0].neurons)), key=lambda i: abs(model.layers[0].neurons[i].zs[0].grad))
    place = ("layer 0", f"neuron {j}")
    neuron_out = [node for node in topo_order(total) if scope_of(node) == place][-1]
    path = out / "neuron.svg"
    try:
        graph = draw.draw_dot(neuron_out, params=model.parameters(), edge_labels=True)
        path.write_text(graph.pipe(format="svg", encoding="utf-8"), encoding="utf-8")
    except RuntimeError as err:  # graphviz's `dot` program is missing: say how to get it, go on
        print(f"no neuron.svg: {err}", file=sys.stderr)
        return []
    finally:
        model.zero_grad()
    return [path]


if __name__ == "__main__":
    sys.exit(main())
