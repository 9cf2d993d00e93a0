"""One learner's training session, and the numbers of every view the page draws, as JSON-ready dicts.

A Session holds the data, the model and its optimizer for one Settings, trains with nn.fit (on
lanes, replayed from a tape), and answers the page: snapshot() after each update (losses, curves,
every heatmap, weights and gradients), data() when the points change, point() for one example's
loss graph, neuron() for one neuron's δ. It knows nothing of the web: the server turns its dicts
into messages.
"""

from __future__ import annotations

import base64
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from engine import Value, no_grad, tag_scopes, topo_order
from engine.draw import GraphTooLargeError, draw_dot, step_through

from .._checks import check_int, check_real, show
from ..diagnostics import gradient_flow
from ..freezing import freeze_neuron, frozen_neurons, neuron_grad, unfreeze_neuron
from ..losses import binary_cross_entropy
from ..module import MLP, Neuron, record
from ..optim import Optimizer
from ..pruning import dead_neurons, prune
from ..serialize import dumps
from ..train import fit
from .settings import (
    FEATURES,
    MAX_SEED,
    Data,
    Settings,
    features,
    make_data,
    make_loss,
    make_model,
    make_optimizer,
)

__all__ = [
    "HISTORY_LIMIT",
    "INPUT_GRID",
    "NEURON_GRID",
    "OUTPUT_GRID",
    "Session",
    "grid",
    "heatmap",
    "number",
]

NEURON_GRID = 32  # cells per side of a neuron's (and an input's) heatmap
INPUT_GRID = 32
OUTPUT_GRID = 64  # the output panel is larger
HISTORY_LIMIT = 1000  # curve points kept; past it, the older half is thinned
SPLITS = ("train", "test")


def heatmap(values: np.ndarray) -> str:
    """Values in [−1, 1] (clipped; NaN as 0) as base64 bytes, one per cell: round((v + 1) / 2 · 255)."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0), -1.0, 1.0)
    return base64.b64encode(np.rint((v + 1.0) * 127.5).astype(np.uint8).tobytes()).decode("ascii")


def grid(extent: float, size: int) -> np.ndarray:
    """The centres of size × size cells over [−extent, extent]², rows from the top, as (size², 2) points."""
    centres = (np.arange(size) + 0.5) * (2.0 * extent / size) - extent
    x1, x2 = np.meshgrid(centres, centres[::-1])  # row 0 is the top: x₂ decreasing
    return np.column_stack([x1.ravel(), x2.ravel()])


def number(x: float) -> float | None:
    """x rounded to 6 significant digits for JSON; None for NaN or ±inf."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else None


class Session:
    """One learner's session: the data, model and optimizer of a Settings, trained on request.

    Not thread-safe: one call at a time (a server training in a worker thread waits for it to end
    before asking for a point or a neuron, which run backward on the same model).
    """

    def __init__(self, settings: Settings) -> None:
        if not isinstance(settings, Settings):
            raise TypeError(f"Session: needs a Settings, got {type(settings).__name__}")
        self._settings = settings
        self._data: Data = make_data(settings)
        # The plane's grids, and each one's features: fixed for the data, so made once.
        extent = self._data.extent
        self._neuron_grid = features(grid(extent, NEURON_GRID), settings.features)
        self._output_grid = features(grid(extent, OUTPUT_GRID), settings.features)
        # The batch is at most the training set (a 10 % split of 50 points has 5).
        self._batch = min(settings.batch_size, len(self._data.train_y))
        self._all_inputs = np.concatenate([self._data.train_inputs, self._data.test_inputs])
        self._build()

    def _build(self) -> None:
        """A fresh model and optimizer from the settings' init_seed, at step 0."""
        self._model = make_model(self._settings)
        self._optimizer: Optimizer = make_optimizer(self._settings, self._model)
        self._loss = make_loss(self._settings, self._model)
        self._step = 0
        self.diverged: str | None = None
        self._history: dict[str, list[float | None]] = {key: [] for key in _HISTORY_KEYS}
        self._max_grads: list[list[list[float | None]]] = [
            [[] for _ in layer.neurons] for layer in self._model.layers
        ]
        self._record_history()

    # -- state -----------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings: those it was made from, with a new init_seed after reset(new_weights=True)."""
        return self._settings

    @property
    def model(self) -> MLP:
        """The network being trained (a new object after prune())."""
        return self._model

    @property
    def step(self) -> int:
        """Optimizer steps taken since the start (or the last reset)."""
        return self._step

    @property
    def epoch(self) -> float:
        """step · batch_size / training points: how many times the training set has been seen."""
        return self._step * self._batch / len(self._data.train_y)

    # -- training --------------------------------------------------------------------------------

    def train(self, epochs: float = 1.0) -> None:
        """⌈epochs · n_train / batch_size⌉ steps of nn.fit; a divergence is kept in `diverged`, not raised."""
        epochs = check_real("Session.train", "epochs", epochs, "> 0", lambda x: x > 0.0)
        if self.diverged is not None:
            return
        # Less a hair: 1.2 · 250 / 10 is 30.000000000000004 in floats, and 30 steps are meant.
        steps = math.ceil(epochs * len(self._data.train_y) / self._batch - 1e-9)
        # Batches are drawn from a seed made of data_seed and the step: the same calls repeat exactly.
        seed = int(np.random.SeedSequence([self._settings.data_seed, self._step]).generate_state(1)[0])

        def count(step: int, history: object) -> None:
            self._step += 1

        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way to divergence
                fit(
                    self._model,
                    self._data.train_inputs,
                    self._data.train_y,
                    self._loss,
                    self._optimizer,
                    steps,
                    self._batch,
                    progress=False,
                    seed=seed,
                    callback=count,
                )
        except FloatingPointError as err:  # fit's advice: lower the learning rate...
            self.diverged = str(err)
        for layer, grads in zip(self._model.layers, self._max_grads):
            for neuron, kept in zip(layer.neurons, grads):
                kept.append(number(neuron_grad(neuron)))
                _thin(kept)
        self._record_history()

    def reset(self, new_weights: bool = False) -> None:
        """Back to step 0 with the same initial weights, or with new ones (a new init_seed)."""
        if new_weights:  # the settings say which: a shared link reproduces these weights
            self._settings = self._settings.replace(
                init_seed=int(np.random.default_rng().integers(0, MAX_SEED))
            )
        self._build()

    # -- what the page shows ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every live view's numbers: step, losses, curves, heatmaps, weights, gradients, gradient flow."""
        with np.errstate(all="ignore"):  # a diverging model's overflow is drawn, not warned about
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        model, data = self._model, self._data
        train, test = self._measure()
        # One lane pass over each grid gives every neuron's output there.
        on_grid = _finite(model.layer_outputs(self._neuron_grid))
        logits = _finite(model.layer_outputs(self._output_grid)[-1])[:, 0]
        dead = set(dead_neurons(model, data.train_inputs)) if "relu" in _activations(model) else set()
        flow = gradient_flow(model).layers
        frozen = set(frozen_neurons(model))
        layers = []
        for i, layer in enumerate(model.layers):
            act = layer.activation
            outputs = on_grid[i]
            neurons = [
                {
                    "heatmap": heatmap(2.0 * outputs[:, j] - 1.0 if act == "sigmoid" else outputs[:, j]),
                    "bias": number(n.b.data),
                    "bias_grad": number(n.b.grad),
                    "weights": [number(w.data) for w in n.w],
                    "grads": [number(w.grad) for w in n.w],
                    "frozen": (i, j) in frozen,
                    "dead": (i, j) in dead,
                    "max_grad": number(neuron_grad(n)),
                }
                for j, n in enumerate(layer.neurons)
            ]
            layers.append({"activation": act, "neurons": neurons})
        inputs = []
        for k, name in enumerate(self._settings.features):
            values = self._neuron_grid[:, k]
            top = float(np.abs(values).max())  # each input spans the picture: x₁² is not clipped at 1
            inputs.append(
                {
                    "name": name,
                    "label": FEATURES[name].label,
                    "heatmap": heatmap(values / top if top else values),
                }
            )
        return {
            "step": self._step,
            "epoch": number(self.epoch),
            "diverged": self.diverged,
            "train": train,
            "test": test,
            "history": {key: list(values) for key, values in self._history.items()},
            "extent": number(data.extent),
            # 2σ(z) − 1 = tanh(z / 2): −1 is surely class 0, +1 surely class 1.
            "output": {"size": OUTPUT_GRID, "heatmap": heatmap(np.tanh(logits / 2.0))},
            "inputs": inputs,
            "layers": layers,
            "flow": [number(layer.mean_abs_grad) for layer in flow],
        }

    def data(self) -> dict[str, Any]:
        """The points in standardized coordinates, and the plane's extent."""
        d = self._data
        return {
            "extent": number(d.extent),
            "train": {"x": _points(d.train_xy), "y": d.train_y.tolist()},
            "test": {"x": _points(d.test_xy), "y": d.test_y.tolist()},
        }

    def _measure(self) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """Each split's mean binary cross-entropy and accuracy, without a graph (one lane pass for both)."""
        data = self._data
        with no_grad(), np.errstate(all="ignore"):
            logits = self._model.layer_outputs(self._all_inputs)[-1][:, 0]
        n = len(data.train_y)
        return _scores(logits[:n], data.train_y), _scores(logits[n:], data.test_y)

    def _record_history(self) -> None:
        """The losses and accuracies now, added to the curves."""
        train, test = self._measure()
        row = [self._step, train["loss"], test["loss"], train["accuracy"], test["accuracy"]]
        for key, value in zip(_HISTORY_KEYS, row):
            self._history[key].append(value)
            _thin(self._history[key])

    def _split(self, split: str, method: str = "Session.point") -> tuple[np.ndarray, np.ndarray]:
        if split == "train":
            return self._data.train_inputs, self._data.train_y
        if split == "test":
            return self._data.test_inputs, self._data.test_y
        raise ValueError(f"{method}: split must be 'train' or 'test', got {show(split)}")

    # -- one example, one neuron -----------------------------------------------------------------

    def point(self, split: str, index: int, expanded: bool = False) -> dict[str, Any]:
        """One example's loss (its BCE alone) as the engine's graph, coloured by grad: one box per neuron,
        or expanded, every op (refused with ValueError above the renderer's node limit)."""
        loss, x, label = self._example_loss("Session.point", split, index)
        with _grads_kept(self._model):
            loss.backward()
            try:
                diagram = draw_dot(
                    loss, collapse=None if expanded else "neuron", color_by="grad", rankdir="LR"
                )
            except GraphTooLargeError as err:
                raise ValueError(
                    f"Session.point: this example's graph is too large to draw op by op ({err}); "
                    "its boxes by neuron are drawn"
                ) from None
            svg = diagram.pipe(format="svg", encoding="utf-8")
        return {
            "split": split,
            "index": index,
            "expanded": bool(expanded),
            "x": [number(v) for v in x],
            "label": label,
            "loss": number(loss.data),
            "svg": _fit_panel(svg),
            "nodes": len(topo_order(loss)),
        }

    def point_steps(self, split: str, index: int) -> str:
        """The step-through page of one example's backward pass (uncollapsed): self-contained HTML."""
        loss, _, _ = self._example_loss("Session.point_steps", split, index)
        with _grads_kept(self._model):
            try:
                return step_through(loss).page()
            except GraphTooLargeError as err:
                raise ValueError(
                    f"Session.point_steps: this example's graph is too large to step through ({err})"
                ) from None

    def _example_loss(self, method: str, split: str, index: int) -> tuple[Value, list[float], int]:
        X, y = self._split(split, method)
        index = check_int(method, "index", index, 0, most=len(y) - 1)
        xy = (self._data.train_xy if split == "train" else self._data.test_xy)[index]
        row = X[index]
        # The inputs labelled by their features, so the graph reads x₁, x₁²... as the page does.
        inputs = [
            Value(float(v), label=FEATURES[name].label, requires_grad=False)
            for v, name in zip(row, self._settings.features)
        ]
        with tag_scopes():  # each neuron's values in a box, for collapse="neuron"
            logit = self._model(inputs)
        # reduction="sum" over one example: its loss, without a × 1 node for the mean.
        return (
            binary_cross_entropy(logit, [int(y[index])], reduction="sum"),
            [float(v) for v in xy],
            int(y[index]),
        )

    def neuron(self, layer: int, index: int) -> dict[str, Any]:
        """One neuron: ∂ŷ/∂z over the plane (scaled to [−1, 1]), δ = ∂C/∂z per training point, max |g|."""
        target = self._neuron("Session.neuron", layer, index)
        model = self._model
        with _grads_kept(model), _all_trainable(model), np.errstate(all="ignore"):
            # ∂ŷ/∂z on the grid: each lane is one grid point, so ŷ's sum over lanes gives each its own.
            with record(model):
                model(self._neuron_grid).sum().backward()
            leverage = np.asarray(target.zs[0].grad, dtype=np.float64)
            with record(model):
                logits = model(self._data.train_inputs)
                binary_cross_entropy(logits, self._data.train_y, reduction="sum").backward()
            delta = np.asarray(target.zs[0].grad, dtype=np.float64)
        finite = leverage[np.isfinite(leverage)]
        scale = float(np.abs(finite).max()) if finite.size else 0.0
        dead = (
            (layer, index) in dead_neurons(model, self._data.train_inputs)
            if target.activation == "relu"
            else False
        )
        return {
            "layer": layer,
            "index": index,
            "activation": target.activation,
            "frozen": (layer, index) in frozen_neurons(model),
            "dead": dead,
            "delta": {
                "size": NEURON_GRID,
                "heatmap": heatmap(leverage / scale if scale > 0 else leverage),
                "scale": number(scale),
            },
            "delta_points": {"train": [number(d) for d in np.broadcast_to(delta, self._data.train_y.shape)]},
            "max_grad_history": list(self._max_grads[layer][index]),
        }

    def _neuron(self, method: str, layer: int, index: int) -> Neuron:
        layers = self._model.layers
        layer = check_int(method, "layer", layer, 0, most=len(layers) - 1)
        index = check_int(method, "index", index, 0, most=len(layers[layer].neurons) - 1)
        return layers[layer].neurons[index]

    # -- changing the network --------------------------------------------------------------------

    def freeze(self, layer: int, index: int, frozen: bool) -> None:
        """Stop training that neuron (frozen=True), or train it again: nn.freezing.freeze_neuron."""
        self._neuron("Session.freeze", layer, index)
        if not isinstance(frozen, bool):
            raise ValueError(f"Session.freeze: frozen must be True or False, got {show(frozen)}")
        if frozen == ((layer, index) in frozen_neurons(self._model)):
            return
        if not frozen:
            unfreeze_neuron(self._model, self._optimizer, layer, index)
            return
        if _training(self._model) == [(layer, index)]:
            raise ValueError(
                f"Session.freeze: neuron {index} of layer {layer} is the last one training; with every "
                "neuron frozen nothing would learn"
            )
        freeze_neuron(self._model, self._optimizer, layer, index)

    def prune(self, layer: int, index: int) -> None:
        """Remove a hidden neuron and the weights reading it (nn.pruning.prune): a new, smaller model."""
        self._neuron("Session.prune", layer, index)
        last = len(self._model.layers) - 1
        if layer == last:
            raise ValueError(f"Session.prune: layer {layer} is the output layer; only hidden neurons can go")
        if len(self._model.layers[layer].neurons) == 1:
            raise ValueError(
                f"Session.prune: neuron {index} is the last of layer {layer}; a layer needs at least one"
            )
        old = self._model
        if _training(old) == [(layer, index)]:
            raise ValueError(
                f"Session.prune: neuron {index} of layer {layer} is the last one training; the others are "
                "frozen, so nothing would learn"
            )
        # The frozen neurons stay frozen; those after the pruned one in its layer move up one.
        frozen = [
            (i, j - (i == layer and j > index)) for i, j in frozen_neurons(old) if (i, j) != (layer, index)
        ]
        self._model = prune(old, [(layer, index)])
        # A new model needs a new optimizer (its state was per parameter of the old one) and loss.
        self._optimizer = make_optimizer(self._settings, self._model)
        self._loss = make_loss(self._settings, self._model)
        for i, j in frozen:
            freeze_neuron(self._model, self._optimizer, i, j)
        del self._max_grads[layer][index]

    # -- exports ---------------------------------------------------------------------------------

    def export_model(self) -> str:
        """The model as nn.save writes it: JSON that nn.load reads back (refused for a diverged model)."""
        try:
            return dumps(self._model)
        except ValueError as err:  # a NaN or inf parameter
            raise ValueError(f"Session.export_model: {err}") from None

    def export_settings(self) -> str:
        """The settings as JSON (Settings.to_json)."""
        return self._settings.to_json()


_HISTORY_KEYS = ("step", "train_loss", "test_loss", "train_accuracy", "test_accuracy")


def _thin(values: list[Any]) -> None:
    """Past HISTORY_LIMIT entries, every other one of the older half goes: the recent curve stays whole."""
    if len(values) > HISTORY_LIMIT:
        half = HISTORY_LIMIT // 2
        values[:half] = values[:half:2]


def _scores(logits: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """The mean binary cross-entropy and the accuracy of these logits (None for a diverged model's)."""
    if not np.isfinite(logits).all():
        return {"loss": None, "accuracy": None}
    with no_grad():
        loss = binary_cross_entropy(Value(logits), y).data
    return {"loss": number(loss), "accuracy": number(float(np.mean((logits > 0) == (y == 1))))}


def _training(model: MLP) -> list[tuple[int, int]]:
    """(layer, neuron) of every neuron not frozen."""
    frozen = set(frozen_neurons(model))
    return [
        (i, j)
        for i, layer in enumerate(model.layers)
        for j in range(len(layer.neurons))
        if (i, j) not in frozen
    ]


def _activations(model: MLP) -> set[str]:
    return {layer.activation for layer in model.layers}


def _finite(arrays: Any) -> Any:
    """Arrays with NaN as 0 and ±inf as the largest floats (a diverged model still draws)."""
    if isinstance(arrays, list):
        return [np.nan_to_num(a) for a in arrays]
    return np.nan_to_num(arrays)


def _points(xy: np.ndarray) -> list[list[float | None]]:
    return [[number(a), number(b)] for a, b in xy.tolist()]


def _fit_panel(svg: str) -> str:
    """The SVG without its fixed width and height, so that it scales to its panel by its viewBox."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    head = svg[start:end]
    for attr in ("width", "height"):
        at = head.find(f' {attr}="')
        if at >= 0:
            close = head.find('"', at + len(attr) + 3)
            head = head[:at] + head[close + 1 :]
    return head + svg[end:] if start >= 0 else svg


@contextmanager
def _grads_kept(model: MLP) -> Iterator[None]:
    """Inside, the parameters' grads start at 0 (one example's backward shows that example's own
    gradients, not the training step's plus its own); after, they are the last training step's again."""
    params = model.parameters()
    kept = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    try:
        yield
    finally:
        for p, g in zip(params, kept):
            p.grad = g


@contextmanager
def _all_trainable(model: MLP) -> Iterator[None]:
    """Inside, every parameter requires grad, so a frozen neuron's z is still in the graph and gets its δ."""
    params = model.parameters()
    kept = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad = True
        yield
    finally:
        for p, r in zip(params, kept):
            p.requires_grad = r
