"""The training demo: `python -m nn.demo` trains micrograd's MLP on two moons and draws what it learned.

It writes to --out (default ./demo-out): decision_boundary.png and loss.png (matplotlib, from the
`notebooks` extra) and neuron.svg (graphviz's `dot`): one neuron of the trained network on the
training example with the smallest margin, the gradients of that example's loss, and a caption
saying which.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine import Value, scope_of, tag_scopes, topo_order

from .data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from .experiments import recipes  # the demo is an app on top of the library, as the experiments are
from .losses import binary_cross_entropy, cross_entropy, hinge_loss
from .module import MLP, record
from .plots import plot_decision_regions
from .train import History, predict

DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "moons": make_moons,
    "circles": make_circles,
    "xor": make_xor,
    "spiral": make_spiral,
    "blobs": make_blobs,
}


# One training step builds the graph of every example's forward pass (the demo trains on the full
# batch). Measured at about 260 bytes a value at its peak (forward and backward), 10 million values
# are about 2.6 GB: the default run (100 points of about 650 values) is 1/150 of it, and past it a
# laptop starts to swap, where a scalar engine in pure Python is the wrong tool anyway.
MAX_VALUES = 10_000_000


def main(argv: Sequence[str] | None = None) -> int:
    """Train, report, and write the figures; exit status 2 for a bad option, 1 if training diverges."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.steps == 0:
        print(f"{parser.prog}: nothing to do: --steps 0 trains nothing, so there is nothing to draw")
        return 0
    # Every check comes before the first step: a bad option costs no training time.
    per_point = _values_per_point(args.hidden)
    if args.n * per_point > MAX_VALUES:
        hidden = ",".join(map(str, args.hidden))
        parser.error(
            f"--n {args.n} with --hidden {hidden}: a training step would build {args.n * per_point:,} "
            f"values ({per_point:,} a point), more than the demo's limit of {MAX_VALUES:,} (about 2.6 GB "
            "of memory): use fewer points or smaller layers"
        )
    try:
        X, labels = DATASETS[args.dataset](n=args.n, seed=args.seed)
    except ValueError as err:  # fewer points than the dataset has classes: the maker's own message
        parser.error(f"argument --n: {err}")
    if args.standardize:  # input scaling: both features of mean 0 and spread 1
        X, _, _ = standardize(X)
    classes = int(labels.max()) + 1
    sizes = [*args.hidden, 1 if classes == 2 else classes]
    model = recipes.model(args.hidden, nout=sizes[-1], seed=args.seed)
    # micrograd's recipe: the max-margin (hinge) loss on ±1 labels (cross entropy for k classes) plus
    # a little L2 regularization, and SGD whose learning rate decays to 10%.
    loss = recipes.loss(model, data_loss=hinge_loss if classes == 2 else cross_entropy)
    y = labels * 2 - 1 if classes == 2 else labels
    print(
        f"MLP(2, {sizes}), {len(model.parameters())} parameters, on {len(X)} {args.dataset} points "
        f"({classes} classes{', standardized' if args.standardize else ''})"
    )
    try:
        history = recipes.train(
            model, X, y, steps=args.steps, lr=args.lr, loss_fn=loss, progress=not args.quiet
        )
    except ArithmeticError as err:  # diverged: fit's FloatingPointError says at which step, what to try
        # An op that overflows (w ** 2 in the L2 term) raises before fit sees the loss: say what to try.
        hint = "" if isinstance(err, FloatingPointError) else "; training diverged: lower --lr"
        print(f"{parser.prog}: error: {err}{hint}", file=sys.stderr)
        return 1
    print(f"trained: {history}")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written = _plots(model, X, labels, history, out, name=args.dataset)
    written += _neuron_diagram(model, X, y, classes, out)
    for path in written:
        print(f"wrote {path}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nn.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="moons", help="default: moons")
    parser.add_argument("--n", type=_whole(1), default=100, help="number of points (default 100)")
    parser.add_argument(
        "--hidden", type=_sizes, default=list(recipes.HIDDEN), help="hidden sizes, e.g. 16,16 (default)"
    )
    parser.add_argument("--steps", type=_whole(0), default=100, help="training steps (default 100)")
    parser.add_argument("--lr", type=_rate, default=1.0, help="initial learning rate (default 1.0)")
    parser.add_argument(
        "--seed", type=_whole(0), default=recipes.SEED, help="for the data and the weights (default 1337)"
    )
    parser.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scale the inputs to mean 0, spread 1 (default: on)",
    )
    parser.add_argument(
        "--out", type=_folder, default="demo-out", help="folder for the figures (default ./demo-out)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


# -- the options' types: argparse turns an ArgumentTypeError into `prog: error: argument --x: ...`,
# -- after the usage line, and exit status 2.


def _whole(least: int) -> Callable[[str], int]:
    """The type of an option that is a whole number ≥ least."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"must be a whole number ≥ {least}, got {text!r}")
        return value

    return whole


def _rate(text: str) -> float:
    """A learning rate: a finite number > 0 (0 would not train; nan and inf poison every weight)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0.0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _sizes(text: str) -> list[int]:
    """Hidden layer sizes: positive whole numbers separated by commas, e.g. 16,16."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes are positive ints separated by commas, got {text!r}")
    return sizes


def _folder(text: str) -> Path:
    """A folder the figures can go into: it exists or can be made, and can be written to."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("needs a folder name, got ''")
    # The nearest part of the path that exists decides: a file there means no folder can be made.
    existing = path
    while not (existing.exists() or existing.is_symlink()):
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == path else f" is under {str(existing)!r}, which"
        raise argparse.ArgumentTypeError(f"{text!r}{where} is a file, not a folder")
    # Try it (os.access cannot: it says yes to root even on a read-only file system): a folder
    # made and removed again leaves no trace.
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing))
    except OSError as err:
        raise argparse.ArgumentTypeError(
            f"cannot write in {existing} ({err.strerror}), got {text!r}"
        ) from None
    return path


def _values_per_point(hidden: Sequence[int]) -> int:
    """The values one example adds to a step's graph: 2 inputs, 2·nin + 1 per neuron, 4 for the loss.

    Counted with one output; more classes add a few more, so it is a lower bound.
    """
    sizes = [2, *hidden, 1]
    return 2 + sum(nout * (2 * nin + 1) for nin, nout in itertools.pairwise(sizes)) + 4


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

    # The decision regions: the model's class at every point of a grid around the data.
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    plot_decision_regions(model, X, labels, ax=ax)
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


def _neuron_diagram(model: MLP, X: np.ndarray, y: np.ndarray, classes: int, out: Path) -> list[Path]:
    """neuron.svg: one first-layer neuron on the hardest example, with the gradients of its loss."""
    try:
        draw = importlib.import_module("engine.draw")
    except ImportError:  # drawing is optional for the demo
        return []
    k, margin = _hardest(model, X, y)
    with tag_scopes(), record(model):
        score = model(X[k])
    total, why = _example_loss(score, y[k : k + 1], classes, margin)
    model.zero_grad()  # fit leaves its last step's gradients in the parameters
    total.backward()
    # The neuron with the most blame: the largest |δ| = |∂L/∂z| on this example.
    neurons = model.layers[0].neurons
    j = max(range(len(neurons)), key=lambda i: abs(neurons[i].zs[0].grad))
    z = neurons[j].zs[0]
    a = [node for node in topo_order(total) if scope_of(node) == ("layer 0", f"neuron {j}")][-1]
    z.label, a.label = "z", "a"  # Nielsen's names: the weighted input and the activation
    point = ", ".join(f"{v:.2f}" for v in X[k])
    label, gap = (f"{y[k]:+d}", "y·s") if classes == 2 else (f"{y[k]}", "s[y] − the largest other s")
    blame = (
        f"This neuron has the largest |δ| in layer 0: δ = ∂L/∂z = {z.grad:.4g}."
        if z.grad
        else "δ = ∂L/∂z is 0 for every neuron of layer 0 here: each is inactive (z ≤ 0) or feeds only "
        "inactive ones."
    )
    caption = [
        f"Neuron {j} of layer 0 on training example {k}: x = ({point}), label {label}, the smallest margin "
        f"of all ({gap} = {margin:.3f}).",
        *why,
        f"Each grad is ∂L/∂value for this example's loss alone (no L2 term). {blame}",
        "Each edge into an op shows the local derivative ∂out/∂in: w's grad is δ·x, and b's is δ.",
    ]
    try:
        diagram = draw.draw_dot(a, params=model.parameters(), edge_labels=True, caption=caption)
    except ImportError as err:  # the graphviz package: a dependency, but an install can lack it
        print(f"no neuron.svg: {err}", file=sys.stderr)
        return []
    finally:
        model.zero_grad()  # the drawing holds the gradients now: none are left in the model
    path = out / "neuron.svg"
    try:
        path.write_text(diagram.pipe(format="svg", encoding="utf-8"), encoding="utf-8")
    except RuntimeError as err:  # graphviz's `dot` program is missing; the DOT text needs none
        path = out / "neuron.dot"
        path.write_text(diagram.source, encoding="utf-8")
        print(f"no neuron.svg: {err}", file=sys.stderr)
    return [path]


def _example_loss(score: Any, target: np.ndarray, classes: int, margin: float) -> tuple[Value, list[str]]:
    """One example's loss, chosen to have a gradient at its margin, and the caption's words for it."""
    if classes > 2:
        return cross_entropy([score], target), ["Its loss: cross entropy L = −log softmax(s)[y], never flat."]
    if margin < 1.0:
        return hinge_loss([score], target), [
            "Its margin is below 1, where its hinge loss L = max(0, 1 − y·s) has a gradient."
        ]
    # After micrograd's recipe every example usually lies beyond the margin, where the hinge loss is
    # 0 with slope 0: its drawing would show nothing but grad 0. The logistic loss, the hinge's smooth
    # cousin, still says which way each value would help.
    why = [
        "Every margin is at least 1, where the hinge loss max(0, 1 − y·s) is 0 and has no gradient.",
        "Shown instead: this example's logistic loss L = log(1 + exp(−y·s)), never flat.",
    ]
    return binary_cross_entropy([score], (target + 1) / 2), why  # softplus(s) − t·s, t = 0 or 1


def _hardest(model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """The example with the smallest margin: y·s for one score, else s_y − max of the other scores."""
    scores = predict(model, X)
    if scores.ndim == 1:
        margins = scores * y
    else:
        rows = np.arange(len(y))
        others = scores.copy()
        others[rows, y] = -np.inf
        margins = scores[rows, y] - others.max(axis=1)
    k = int(np.argmin(margins))
    return k, float(margins[k])


if __name__ == "__main__":
    sys.exit(main())
