"""Training helpers: predict, accuracy, and fit, the loop every demo and notebook trains with."""

from __future__ import annotations

import gc
import importlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from engine import Value, no_grad

from ._checks import check_int, check_seed, label_vector, matrix, numeric_array, ordered
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
    rows = _rows(X, "predict")
    with no_grad():
        outputs = [model(row) for row in rows]
    return np.array([_numbers(out) for out in outputs], dtype=float)


def accuracy(preds: Any, y: Any) -> float:
    """The fraction classed right: a single score says class 1 (or +1) when > 0; several, their argmax."""
    outputs = (
        preds if hasattr(preds, "__array__") else [_numbers(p) for p in ordered("accuracy", "preds", preds)]
    )
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
) -> History:
    """Train model on (X, y) for steps steps: forward, loss(preds, labels), backward, optimizer.step().

    batch_size=None uses every example each step (micrograd's demo); otherwise each step draws a
    random batch (seeded). schedule(step) sets the learning rate before each step; callback(step,
    history) runs after it. Python's cyclic garbage collector is paused during each step: the
    graph has no reference cycles, so it is freed the moment the step drops it, and the collector
    would only spend time scanning the graph's many objects.
    """
    rows = _rows(X, "fit")
    labels = label_vector("fit", y)
    if len(labels) != len(rows):
        raise ValueError(f"fit: X has {len(rows)} rows but y has {len(labels)} labels")
    steps = check_int("fit", "steps", steps)
    if batch_size is not None:
        batch_size = check_int("fit", "batch_size", batch_size, 1, most=len(rows))
    rng = np.random.default_rng(check_seed("fit", seed))
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
            value, acc = _step(model, [rows[i] for i in batch], labels[batch], loss, optimizer, step=step)
            history.loss.append(value)
            history.accuracy.append(acc)
            history.lr.append(optimizer.lr)
            if bar is not None:
                bar.update(step + 1, value, acc)
            if callback is not None:
                callback(step, history)
    finally:
        history.seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
    return history


def _step(
    model: Callable[[list[float]], Any],
    rows: list[list[float]],
    labels: np.ndarray,
    loss: Loss,
    optimizer: Optimizer,
    *,
    step: int,
) -> tuple[float, float]:
    """One training step with the cyclic collector paused; the graph is freed before it resumes."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            preds = [model(row) for row in rows]
            total = loss(preds, labels)
        except OverflowError as err:  # an op's result left the float range: the same divergence
            raise _diverged(f"overflowed ({err})", step, optimizer.lr) from err
        if not math.isfinite(total.data):  # stop before the update, so the last good weights stay
            raise _diverged(f"became {total.data}", step, optimizer.lr)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        return total.data, accuracy(preds, labels)
    finally:
        if collecting:
            gc.enable()


def _diverged(what: str, step: int, lr: float) -> FloatingPointError:
    return FloatingPointError(
        f"fit: the loss {what} at step {step} (lr {lr}); nothing was updated. "
        "Lower the learning rate, scale the inputs (standardize) or use a gentler init"
    )


def _rows(X: Any, owner: str) -> list[list[float]]:
    """X as Python float rows: converted once, so each step does not convert numpy scalars again."""
    rows: list[list[float]] = matrix(owner, X).tolist()
    return rows


def _loss_text(loss: float) -> str:
    """A loss as the progress bar and History show it: 4 significant digits, 1e+120 not 124 digits."""
    return f"{loss:.4g}"


def _numbers(out: Any) -> float | list[float]:
    if isinstance(out, Value):
        return out.data
    if isinstance(out, Sequence):
        return [o.data if isinstance(o, Value) else float(o) for o in out]
    return float(out)


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
