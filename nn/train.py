"""Training helpers: predict, accuracy, and fit, the loop every demo and notebook trains with.

nn's models (Neuron, Layer, MLP) take a batch as lanes: called on the batch's rows as one 2-d X,
they build the graph of one example whose values hold every example, and the loss reduces those
lanes to one number. Any other callable model is called once per row, one graph per example.
"""

from __future__ import annotations

import gc
import importlib
import math
import sys
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from engine import Value, is_anomaly_enabled, is_grad_enabled, is_tagging_scopes, no_grad
from engine.tape import Tape

from ._checks import check_int, check_seed, label_vector, matrix, numeric_array, ordered
from .module import MLP, Layer, Module, Neuron
from .optim import Optimizer

__all__ = ["History", "accuracy", "fit", "predict"]

Loss = Callable[[list[Any], np.ndarray], Value]


@dataclass
class History:
    """What fit measured: per step, the loss, the accuracy on the step's examples, the learning rate."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole fit

    def __len__(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 steps)"
        return (
            f"History({len(self)} steps, loss {_loss_text(self.loss[0])} -> {_loss_text(self.loss[-1])}, "
            f"accuracy {self.accuracy[-1]:.0%}, {self.seconds:.2f} s)"
        )


def predict(model: Callable[[Any], Any], X: Any) -> np.ndarray:
    """The model's outputs on every row of X as numbers, without recording a graph: shape (n,) or (n, k)."""
    with no_grad():
        return _numbers(_outputs(model, matrix("predict", X)))


def accuracy(preds: Any, y: Any) -> float:
    """The fraction classed right: a single score says class 1 (or +1) when > 0; several, their argmax.

    preds: an array (n,) or (n, k), one output per example, or a model's lane value(s) on a batch."""
    if (isinstance(preds, Value) and preds.lanes is not None) or _lane_values(preds):
        outputs: Any = _numbers(preds)  # a model's outputs on a batch, as lanes
    elif hasattr(preds, "__array__"):
        outputs = preds
    else:
        outputs = [_row_numbers(p) for p in ordered("accuracy", "preds", preds)]
    scores = numeric_array("accuracy", "preds", outputs)
    if scores.ndim == 2 and scores.shape[1] == 1:  # a column of single scores, as torch gives
        scores = scores[:, 0]
    labels = label_vector("accuracy", y)
    if len(scores) != len(labels) or len(labels) == 0:
        raise ValueError(
            f"accuracy: needs as many predictions as labels (> 0), got {len(scores)} and {len(labels)}"
        )
    if scores.ndim == 1:  # one score: labels are ±1 (hinge) or 0/1 (logistic); both split at 0
        right = (scores > 0) == (labels > 0)
    elif scores.ndim == 2:
        k = scores.shape[1]
        outside = (labels < 0) | (labels >= k) | (labels != np.floor(labels))
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"accuracy: y must hold class indices 0..{k - 1} (one per score), got {labels[i]} at row {i}"
            )
        right = scores.argmax(axis=1) == labels
    else:
        raise ValueError(
            f"accuracy: preds must be one score or one row of scores per example, got shape {scores.shape}"
        )
    return float(right.mean())


def fit(  # noqa: PLR0917 (the issue's signature: model, X, y, loss, optimizer, steps, batch_size, progress)
    model: Callable[[list[float]], Any],
    X: Any,
    y: Any,
    loss: Loss,
    optimizer: Optimizer,
    steps: int,
    batch_size: int | None = None,
    progress: bool = True,
    *,
    schedule: Callable[[int], float] | None = None,
    seed: int | None = 0,
    callback: Callable[[int, History], None] | None = None,
    lanes: bool = True,
    tape: bool = True,
) -> History:
    """Train model on (X, y) for steps steps: forward, loss(preds, labels), backward, optimizer.step().

    batch_size=None uses every example each step (micrograd's demo); otherwise each step draws a
    random batch (seeded). schedule(step) sets the learning rate before each step; callback(step,
    history) runs after it. Python's cyclic garbage collector is paused during each step: the
    graph has no reference cycles, so it is freed the moment the step drops it, and the collector
    would only spend time scanning the graph's many objects. An nn model takes each batch as lanes
    (one graph for the batch); lanes=False builds one graph per example instead, as before lanes.
    With tape=True (the default) the model's lane graph is recorded once and replayed from an
    engine.tape.Tape each step, the same numbers several times faster; the loss is built as a graph
    on the model's outputs each step, as before. tape=False builds the model's lane graph every step.
    """
    data = matrix("fit", X)
    labels = label_vector("fit", y)
    if len(labels) != len(data):
        raise ValueError(f"fit: X has {len(data)} rows but y has {len(labels)} labels")
    steps = check_int("fit", "steps", steps)
    if batch_size is not None:
        batch_size = check_int("fit", "batch_size", batch_size, 1, most=len(data))
    # An nn model takes the batch as lanes; any other callable gets Python float rows, converted once.
    rows: np.ndarray | list[list[float]] = data if lanes and _takes_lanes(model) else data.tolist()
    rng = np.random.default_rng(check_seed("fit", seed))
    replay = tape and isinstance(rows, np.ndarray) and type(model) in (Neuron, Layer, MLP)
    compiled = None
    history = History()
    bar = _ProgressBar(steps) if progress else None
    start = time.perf_counter()
    try:
        for step in range(steps):
            if schedule is not None:
                optimizer.lr = schedule(step)
            batch = (
                np.arange(len(rows))
                if batch_size is None
                else rng.choice(len(rows), batch_size, replace=False)
            )
            inputs = rows[batch] if isinstance(rows, np.ndarray) else [rows[i] for i in batch]
            if replay and (compiled is None or callback is not None):  # a callback may freeze or swap
                compiled = _tape_of(model, inputs)  # type: ignore[arg-type]
            value, acc = _step(model, inputs, labels[batch], loss, optimizer, step=step, tape=compiled)
            history.loss.append(value)
            history.accuracy.append(acc)
            history.lr.append(optimizer.lr)
            if bar is not None:
                bar.update(step + 1, value, acc)
            if callback is not None:
                callback(step, history)
    finally:
        if compiled is not None:  # kept for the next fit, but not its arrays for this one's batches
            compiled.free()
        history.seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
    return history


def _step(
    model: Callable[[Any], Any],
    rows: np.ndarray | list[list[float]],
    labels: np.ndarray,
    loss: Loss,
    optimizer: Optimizer,
    *,
    step: int,
    tape: Tape | None = None,
) -> tuple[float, float]:
    """One training step with the cyclic collector paused; the graph is freed before it resumes."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            outputs: list[Value] = []
            if tape is not None and _replayable():
                # The model's outputs as lane leaves: the loss's graph starts at them, and their
                # gradients after its backward are where the tape's backward starts.
                outputs = [Value(out) for out in tape.forward(rows)]
                preds: Any = outputs[0] if tape.single else outputs
            else:
                preds = _outputs(model, rows)
            total = loss(preds, labels)
        except OverflowError as err:  # an op's result left the float range: the same divergence
            raise _diverged(f"overflowed ({err})", step, optimizer.lr) from err
        if not isinstance(total, Value) or total.lanes is not None:
            raise ValueError(
                f"fit: the loss must be one number, a scalar Value, got {_what(total)}; "
                "reduce a lane value over the batch with .mean() or .sum()"
            )
        if not math.isfinite(total.data):  # stop before the update, so the last good weights stay
            raise _diverged(f"became {total.data}", step, optimizer.lr)
        optimizer.zero_grad()
        total.backward()
        if outputs:
            tape.backward([out.grad for out in outputs])  # type: ignore[union-attr]
        optimizer.step()
        return total.data, accuracy(_numbers(preds), labels)
    finally:
        if collecting:
            gc.enable()


def _diverged(what: str, step: int, lr: float) -> FloatingPointError:
    return FloatingPointError(
        f"fit: the loss {what} at step {step} (lr {lr}); nothing was updated. "
        "Lower the learning rate, scale the inputs (standardize) or use a gentler init"
    )


def _loss_text(loss: float) -> str:
    """A loss as the progress bar and History show it: 4 significant digits, 1e+120 not 124 digits."""
    return f"{loss:.4g}"


# A model's tape, kept from one fit to the next while its parameters and activations stay the same.
_TAPES: weakref.WeakKeyDictionary[Module, tuple[tuple[Any, ...], Tape]] = weakref.WeakKeyDictionary()


def _tape_of(model: Neuron | Layer | MLP, X: np.ndarray) -> Tape | None:
    """The model's lane graph compiled to a tape (recorded on X), or None where the graph must be built."""
    # Only nn's own classes: a subclass may compute more than its neurons say.
    neurons = [model] if isinstance(model, Neuron) else _neurons(model)
    if not _replayable() or any(n._recording for n in neurons):  # record() keeps each z: a graph's
        return None
    # What the graph's shape depends on, read without a walk over the model: which Values are the
    # parameters, which of them record gradients (requires_grad=False makes w·x a constant), and
    # each neuron's activation.
    params = [p for n in neurons for p in (*n.w, n.b)]
    key = (tuple(map(id, params)), tuple(p.requires_grad for p in params), tuple(n._act for n in neurons))
    cached = _TAPES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    if not any(key[1]):
        return None  # nothing to train: the graph's backward says so
    tape = Tape.trace(model, X[:1])  # the graph of one example: its shape is all a tape takes
    _TAPES[model] = (key, tape)
    return tape


def _neurons(model: Layer | MLP) -> list[Neuron]:
    """The neurons of a Layer or MLP, in order (nn's classes only: [] for a subclass, which gets no tape)."""
    if type(model) is Layer:
        return model.neurons
    if type(model) is MLP:
        return [n for layer in model.layers for n in layer.neurons]
    return []


def _replayable() -> bool:
    """Whether a tape may stand in for the graph: a graph is recorded, and no mode looks at its nodes."""
    return is_grad_enabled() and not is_anomaly_enabled() and not is_tagging_scopes()


def _takes_lanes(model: object) -> bool:
    """Whether model builds one lane graph for a 2-d X: nn's own models do."""
    return isinstance(model, (Neuron, Layer, MLP))


def _outputs(model: Callable[[Any], Any], X: np.ndarray | list[list[float]]) -> Any:
    """The model on the rows of X: nn's models once, on X as lanes; any other callable once per row."""
    if isinstance(X, np.ndarray) and _takes_lanes(model):
        return model(X)
    return [model(row) for row in (X.tolist() if isinstance(X, np.ndarray) else X)]


def _numbers(out: Any) -> np.ndarray:
    """A model's outputs on a batch as numbers, (n,) or (n, k): a lane value, k of them, or one per row."""
    if isinstance(out, Value):
        return np.asarray(out.data, dtype=float)
    if _lane_values(out):
        return np.column_stack([o.data for o in out])
    return np.array([_row_numbers(o) for o in out], dtype=float)


def _lane_values(out: object) -> bool:
    return (
        isinstance(out, list) and bool(out) and all(isinstance(o, Value) and o.lanes is not None for o in out)
    )


def _row_numbers(out: Any) -> float | list[float]:
    """One example's output as numbers: a float, or a list of them for several outputs."""
    if isinstance(out, Value):
        return out.data
    if isinstance(out, Sequence):
        return [o.data if isinstance(o, Value) else float(o) for o in out]
    return float(out)


def _what(x: object) -> str:
    if isinstance(x, Value):
        return f"a lane value of {x.lanes} lanes"
    return type(x).__name__


class _ProgressBar:
    """tqdm where installed (it draws in terminals and in Jupyter); else a plain one-line bar."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tqdm: Any = None
        try:  # optional, and untyped: imported by name so that neither ruff nor mypy insist on it
            tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError:
            pass
        else:
            self.tqdm = tqdm(total=total, unit="step", file=self.stream)
        # Redraw in place on a terminal or in Jupyter; in a log, a line per tenth of the run.
        self.inplace = self.stream.isatty() or "ipykernel" in sys.modules
        self.shown = -1.0
        self.line = ""

    def update(self, done: int, loss: float, acc: float) -> None:
        if self.tqdm is not None:
            self.tqdm.update(done - self.tqdm.n)
            self.tqdm.set_postfix(loss=_loss_text(loss), acc=f"{acc:.0%}", refresh=False)
            return
        now = time.perf_counter() if self.inplace else math.floor(10 * done / max(self.total, 1))
        if now - self.shown < (0.1 if self.inplace else 1) and done < self.total:
            return
        self.shown = now
        filled = round(20 * done / max(self.total, 1))
        bar = "#" * filled + "." * (20 - filled)
        step = f"step {done:>{len(str(self.total))}}/{self.total}"
        line = f"{step} [{bar}] loss {_loss_text(loss)} accuracy {acc:.0%}"
        # Redrawn in place, a shorter line must blank out what is left of the longer one before it.
        shown = line.ljust(len(self.line)) if self.inplace else line
        self.line = line
        self.stream.write(("\r" + shown) if self.inplace else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.inplace and self.line:
            self.stream.write("\n")
            self.stream.flush()
