"""Freezing converged neurons: does it save backward work and time, and at what cost in loss and accuracy?

Two measurements: freezing_experiment trains this engine's MLP with a Freezer and counts what leaves
its graph; dense_layer_freezing times the matrix products of one dense layer (numpy or PyTorch)
with some of its neurons frozen, the ways a tensor library could skip them.
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import BackwardWork, Value, backward_work
from engine.tape import Tape

from .._checks import check_choice, check_int, non_negative, ordered, positive
from .._table import table
from ..freezing import FreezeEvent, FreezePolicy, Freezer
from ..module import MLP
from ..optim import SGD, Optimizer
from ..train import History, accuracy, predict
from . import recipes
from ._threads import OneThread

__all__ = [
    "DENSE_WAYS",
    "DenseFreezing",
    "DenseWay",
    "FreezingResult",
    "FreezingRun",
    "dense_flops",
    "dense_layer_freezing",
    "dense_steps",
    "freezing_experiment",
    "tape_step_parts",
]


@dataclass
class FreezingRun:
    """One training run of freezing_experiment: per step, its work, time, loss and frozen neurons."""

    threshold: float  # 0: the baseline (|g| < 0 never holds, so nothing freezes)
    neurons: int
    events: list[FreezeEvent]
    frozen: list[int]  # neurons frozen after each step
    work: list[BackwardWork]  # the step's loss graph, counted before its backward
    seconds: list[float]  # CPU time per step (the fastest of the repeats), counting excluded
    loss: list[float]
    train_accuracy: list[float]  # on the step's examples, before its update (as fit reports)
    test_accuracy: float  # on held-out points, after the last step

    def frozen_by_layer(self, layers: int) -> list[int]:
        """How many neurons of each layer are frozen at the end."""
        counts = [0] * layers
        for event in self.events:
            counts[event.layer] += 1
        return counts

    def mean_work(self, last: int) -> tuple[float, float, float]:
        """(ops, edges, nodes) per step, averaged over the last `last` steps."""
        tail = self.work[-last:]
        return (
            statistics.fmean(w.ops for w in tail),
            statistics.fmean(w.edges for w in tail),
            statistics.fmean(w.nodes for w in tail),
        )

    def median_seconds(self, last: int) -> float:
        """The median time per step over the last `last` steps."""
        return statistics.median(self.seconds[-last:])


@dataclass
class FreezingResult:
    """The baseline (runs[0]) and one run per threshold, same init, data and steps."""

    runs: list[FreezingRun]
    sizes: list[int]
    steps: int
    patience: int
    last: int  # the window, in steps, that means and medians are taken over
    examples: int  # training points (n)

    @property
    def baseline(self) -> FreezingRun:
        """The run without freezing."""
        return self.runs[0]

    def __str__(self) -> str:
        base_ops, base_edges, base_nodes = self.baseline.mean_work(self.last)
        base_s = self.baseline.median_seconds(self.last)
        layers = len(self.sizes) - 1
        header = ["threshold", "frozen", "by layer", "backward ops", "ratio", "grad edges", "ratio"]
        header += ["recorded", "ratio", "cpu s/step", "ratio", "loss", "train", "test"]
        rows = []
        for run in self.runs:
            ops, edges, nodes = run.mean_work(self.last)
            sec = run.median_seconds(self.last)
            rows.append(
                [
                    "none" if run.threshold == 0 else f"{run.threshold:g}",
                    f"{run.frozen[-1]}/{run.neurons}",
                    "/".join(map(str, run.frozen_by_layer(layers))),
                    f"{ops:,.0f}",
                    f"{ops / base_ops:.3f}",
                    f"{edges:,.0f}",
                    f"{edges / base_edges:.3f}",
                    f"{nodes:,.0f}",
                    f"{nodes / base_nodes:.3f}",
                    f"{sec:.3f}",
                    f"{sec / base_s:.3f}",
                    f"{run.loss[-1]:.4f}",
                    f"{run.train_accuracy[-1]:.0%}",
                    f"{run.test_accuracy:.0%}",
                ]
            )
        return (
            f"Freezing converged neurons: MLP({self.sizes[0]}, {self.sizes[1:]}) on moons "
            f"({self.examples} train points, full batch), {self.steps} steps, patience {self.patience}; "
            f"work and time over the last {self.last} steps, ratio = run / no freezing\n"
            + table(header, rows)
        )


def freezing_experiment(
    thresholds: Sequence[float] = (1e-3, 3e-3, 1e-2),
    *,
    steps: int = 100,
    width: int = 64,
    patience: int = 5,
    n: int = 100,
    n_test: int = 100,
    lr: float = 0.1,
    alpha: float = recipes.ALPHA,
    last: int = 20,
    repeats: int = 1,
    seed: int = 0,
    data_seed: int = 0,
    lanes: bool = True,
) -> FreezingResult:
    """Train MLP(2, [width, width, 1]) on moons without freezing and with a Freezer per threshold.

    Every run starts from the same weights (seed) on the same standardized moons (data_seed), with
    micrograd's recipe: hinge loss on ±1 labels + α·Σp², full-batch SGD with lr·(1 − 0.9·k/steps).
    The baseline runs a Freezer with threshold 0 (which never freezes), so every run pays the same
    checking cost. Each step's loss graph is counted with backward_work before its backward; the
    time per step is this process's CPU time between callbacks minus that counting (CPU time, not
    wall time: on a shared machine the wall clock also runs while other processes have the core).
    With repeats > 1 every run is trained again in turn (same results: training is deterministic)
    and each step keeps its fastest time. Training builds the lane graph every step (fit's
    tape=False: a compiled tape has no graph to count); lanes=False trains with one graph per
    example (fit's lanes=False), so the counts and times are those of the scalar engine's graphs.
    """
    fn = "freezing_experiment"
    levels = ordered(fn, "thresholds", thresholds)
    if not levels:
        raise ValueError(f"{fn}: thresholds must hold at least one threshold > 0 (0 is the baseline), got []")
    thresholds = [positive(fn, f"thresholds[{i}]", t) for i, t in enumerate(levels)]  # 0 is the baseline's
    steps, width = check_int(fn, "steps", steps, 1), check_int(fn, "width", width, 1)
    seed, data_seed = check_int(fn, "seed", seed), check_int(fn, "data_seed", data_seed)
    n, n_test = check_int(fn, "n", n, 2), check_int(fn, "n_test", n_test, 2)
    patience, repeats = check_int(fn, "patience", patience, 1), check_int(fn, "repeats", repeats, 1)
    lr, alpha = non_negative(fn, "lr", lr), non_negative(fn, "alpha", alpha)
    last = check_int(fn, "last", last, 1, most=steps)
    setup = _Setup(
        recipes.moons(n, n_test, data_seed=data_seed), steps, width, seed, patience, lr, alpha, bool(lanes)
    )
    runs: list[FreezingRun] = []
    for rep in range(repeats):
        for k, threshold in enumerate([0.0, *thresholds]):
            run = _train_once(setup, threshold)
            if rep == 0:
                runs.append(run)
            else:  # the same training again: keep each step's fastest time (noise only adds)
                runs[k].seconds = [min(a, b) for a, b in zip(runs[k].seconds, run.seconds)]
    return FreezingResult(runs, [2, width, width, 1], steps, patience, last, n)


@dataclass(frozen=True)
class _Setup:
    """What every run of freezing_experiment shares."""

    data: recipes.Moons
    steps: int
    width: int
    seed: int
    patience: int
    lr: float
    alpha: float
    lanes: bool


def _train_once(setup: _Setup, threshold: float) -> FreezingRun:
    """Train a fresh model from setup.seed with a Freezer at threshold, measuring every step."""
    model = recipes.model([setup.width, setup.width], seed=setup.seed)
    optimizer = SGD(model.parameters(), lr=setup.lr)
    freezer = Freezer(model, optimizer, FreezePolicy(threshold, setup.patience))
    recipe_loss = recipes.loss(model, alpha=setup.alpha)
    work: list[BackwardWork] = []
    counting = [0.0]  # seconds spent counting in the current step, taken off its time

    def loss(preds: list[Any], labels: np.ndarray) -> Value:
        total = recipe_loss(preds, labels * 2 - 1)
        start = time.process_time()
        work.append(backward_work(total))
        counting[0] = time.process_time() - start
        return total

    seconds: list[float] = []
    clock = [time.process_time()]

    def callback(step: int, history: History) -> None:
        freezer(step, history)  # part of the step: freezing's own cost is counted
        now = time.process_time()
        seconds.append(now - clock[0] - counting[0])
        clock[0] = now

    data = setup.data
    history = recipes.train(
        model,
        data.X,
        data.y,
        steps=setup.steps,
        lr=setup.lr,
        loss_fn=loss,
        optimizer=optimizer,
        callback=callback,
        lanes=setup.lanes,
        # The graph, not fit's compiled tape: backward_work counts the graph each step, and the
        # question is what freezing removes from it. (A tape computes a layer's products as one
        # vector op, frozen neurons' included: what freezing saves there is another measurement.)
        tape=False,
    )
    return FreezingRun(
        threshold=threshold,
        neurons=freezer.neurons,
        events=freezer.events,
        frozen=freezer.frozen_counts,
        work=work,
        seconds=seconds,
        loss=history.loss,
        train_accuracy=history.accuracy,
        test_accuracy=accuracy(predict(model, data.X_test), data.y_test * 2 - 1),
    )


# -- the matrix view: one dense layer -----------------------------------------------------------------


def dense_flops(
    batch: int, n_in: int, n_out: int, trained: int | None = None, *, input_grad: bool = True
) -> int:
    """A dense layer's matmul FLOPs per step: Y = X·Wᵀ, dX = dY·W (if input_grad), dYᵀ·X for trained rows.

    Each product of a (B × n) by an (n × m) matrix is 2·B·n·m FLOPs (a multiply and an add per term);
    `trained` neurons (rows of W, default all n_out) get a row of dW, 2·B·n_in FLOPs each.
    """
    fn = "dense_flops"
    batch, n_in, n_out = (
        check_int(fn, "batch", batch, 1),
        check_int(fn, "n_in", n_in, 1),
        check_int(fn, "n_out", n_out, 1),
    )
    rows = n_out if trained is None else check_int(fn, "trained", trained, 0, most=n_out)
    one = 2 * batch * n_in * n_out
    return one + (one if input_grad else 0) + 2 * batch * n_in * rows


DENSE_WAYS = ("no freezing", "mask dW", "gather active rows", "two blocks", "whole layer frozen")


@dataclass
class DenseWay:
    """One way of running the layer's step with the frozen neurons: its FLOPs and its best time."""

    name: str
    flops: int
    seconds: float  # the smallest CPU time over the repeats

    def saving(self, baseline: DenseWay) -> float:
        """The fraction of the baseline's time this way saves (negative: it costs more)."""
        return 1.0 - self.seconds / baseline.seconds


@dataclass
class DenseFreezing:
    """dense_layer_freezing's result: the ways in DENSE_WAYS order, the first the baseline."""

    library: str
    dtype: str
    batch: int
    width: int
    frozen: int
    repeats: int
    threads: str  # "1", or the library's default where it could not be limited
    ways: list[DenseWay]

    @property
    def baseline(self) -> DenseWay:
        """No freezing: forward, dX and the whole dW."""
        return self.ways[0]

    def way(self, name: str) -> DenseWay:
        """The way called name (one of DENSE_WAYS)."""
        return self.ways[DENSE_WAYS.index(check_choice("DenseFreezing.way", "name", name, DENSE_WAYS))]

    def __str__(self) -> str:
        base = self.baseline
        rows = [
            [
                w.name,
                f"{w.flops / 1e9:.3f}",
                f"{w.flops / base.flops:.3f}",
                f"{1000 * w.seconds:.2f}",
                f"{w.seconds / base.seconds:.3f}",
                f"{w.saving(base):+.1%}",
            ]
            for w in self.ways
        ]
        header = ["way", "GFLOP", "ratio", "ms", "ratio", "time saved"]
        return (
            f"One dense {self.width}x{self.width} layer, batch {self.batch}, {self.library} {self.dtype}, "
            f"{self.frozen} of {self.width} neurons frozen: forward, dX, dW per step "
            f"(CPU time, best of {self.repeats}, {self.threads} thread{'' if self.threads == '1' else 's'})\n"
            + table(header, rows)
        )


def dense_layer_freezing(
    *,
    batch: int = 128,
    width: int = 1000,
    frozen: int = 300,
    dtype: str = "float32",
    library: str = "numpy",
    repeats: int = 7,
    seed: int = 0,
) -> DenseFreezing:
    """Time one dense layer's step (Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X) with `frozen` of its neurons frozen.

    The ways (DENSE_WAYS): no freezing; mask dW (compute it all, zero the frozen rows); gather the
    active rows (dYᵀ[active]·X, the frozen neurons scattered at random); two blocks (the active
    neurons' rows stored first, so their dW is a product of views, no gather); the whole layer
    frozen (no dW at all). dX is computed in every way: the layers below still train. Each way's
    time is its smallest CPU time over `repeats` rounds (the ways interleaved, so a busy moment
    hits all of them alike), on one thread where the library allows it. library: "numpy" or
    "torch" (raises ModuleNotFoundError if it is not installed).
    """
    fn = "dense_layer_freezing"
    batch, width = check_int(fn, "batch", batch, 1), check_int(fn, "width", width, 1)
    frozen = check_int(fn, "frozen", frozen, 0, most=width)
    repeats, seed = check_int(fn, "repeats", repeats, 1), check_int(fn, "seed", seed)
    dtype = check_choice(fn, "dtype", dtype, ("float32", "float64"))
    library = check_choice(fn, "library", library, ("numpy", "torch"))
    ways, threads = _dense_ways(library, dtype, batch=batch, width=width, frozen=frozen, seed=seed)
    best = [float("inf")] * len(ways)
    with threads:
        for _ in range(repeats):
            for i, way in enumerate(ways):
                start = time.process_time()
                way()
                best[i] = min(best[i], time.process_time() - start)
        limited = threads.limited
    active = width - frozen
    flops = [
        dense_flops(batch, width, width),
        dense_flops(batch, width, width),  # masking computes every row, then zeroes some
        dense_flops(batch, width, width, active),
        dense_flops(batch, width, width, active),
        dense_flops(batch, width, width, 0),
    ]
    results = [DenseWay(name, f, s) for name, f, s in zip(DENSE_WAYS, flops, best)]
    return DenseFreezing(
        library, dtype, batch, width, frozen, repeats, "1" if limited else "default", results
    )


def dense_steps(
    *, library: str = "numpy", dtype: str = "float32", batch: int, width: int, frozen: int, seed: int = 0
) -> list[Callable[[], tuple[Any, Any, Any]]]:
    """The ways of DENSE_WAYS as functions returning (Y, dX, the trained rows' dW in W's row order)."""
    return _dense_ways(library, dtype, batch=batch, width=width, frozen=frozen, seed=seed)[0]


def _dense_ways(
    library: str, dtype: str, *, batch: int, width: int, frozen: int, seed: int
) -> tuple[list[Callable[[], tuple[Any, Any, Any]]], OneThread]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, width)).astype(dtype)
    W = (rng.normal(size=(width, width)) / np.sqrt(width)).astype(dtype)
    dY = rng.normal(size=(batch, width)).astype(dtype)  # the gradient arriving from the layer above
    active = np.sort(rng.permutation(width)[: width - frozen])  # the trained neurons, scattered
    keep = np.zeros((width, 1), dtype=dtype)
    keep[active] = 1.0
    order = np.concatenate([active, np.setdiff1d(np.arange(width), active)])  # two blocks: active first
    W2, dY2 = W[order], dY[:, order]  # stored that way from the start, so not part of a step
    k = len(active)
    if library == "torch":
        torch = importlib.import_module("torch")
        X, W, dY, keep, W2, dY2 = (
            torch.from_numpy(np.ascontiguousarray(a)) for a in (X, W, dY, keep, W2, dY2)
        )
        active = torch.from_numpy(active)

    def no_freezing() -> tuple[Any, Any, Any]:
        return X @ W.T, dY @ W, dY.T @ X

    def mask_dw() -> tuple[Any, Any, Any]:
        dW = dY.T @ X
        dW *= keep  # the frozen rows zeroed after the fact
        return X @ W.T, dY @ W, dW[active]

    def gather_rows() -> tuple[Any, Any, Any]:
        return X @ W.T, dY @ W, dY[:, active].T @ X

    def two_blocks() -> tuple[Any, Any, Any]:
        return X @ W2.T, dY2 @ W2, dY2[:, :k].T @ X

    def whole_layer() -> tuple[Any, Any, Any]:
        return X @ W.T, dY @ W, None

    return [no_freezing, mask_dw, gather_rows, two_blocks, whole_layer], OneThread(library)


# -- the engine at the layer's size: where a step on the tape spends its time --------------------------

TAPE_STEP_PARTS = ("tape forward", "loss and its backward", "tape backward", "optimizer step")


def tape_step_parts(
    model: MLP,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    loss: Callable[[Any, Any], Value],
    *,
    tries: int = 7,
) -> tuple[Tape, dict[str, float]]:
    """Compile model's tape on X's first row, then time the parts of fit's step on (X, y), `tries` times.

    The parts (TAPE_STEP_PARTS) are those of fit's step with a tape: the tape's forward on the batch,
    the loss built on its outputs and that graph's backward, the tape's backward into the
    parameters' .grad, and optimizer.step() (with zero_grad before the backward, as fit does). Each
    part keeps its smallest CPU time over the tries, with the cyclic collector paused, as in fit.
    The model trains while it is timed (tries optimizer steps).
    """
    fn = "tape_step_parts"
    tries = check_int(fn, "tries", tries, 1)
    data = np.asarray(X, dtype=np.float64)
    tape = Tape.trace(model, data[:1])
    best = dict.fromkeys(TAPE_STEP_PARTS, float("inf"))
    lap = [0.0]  # when the current part started

    def done(part: str) -> None:
        now = time.process_time()
        best[part] = min(best[part], now - lap[0])
        lap[0] = now

    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(tries):
            lap[0] = time.process_time()
            outputs = [Value(out) for out in tape.forward(data)]
            done("tape forward")
            optimizer.zero_grad()
            total = loss(outputs[0] if tape.single else outputs, y)
            total.backward()
            done("loss and its backward")
            tape.backward([out.grad for out in outputs])
            done("tape backward")
            optimizer.step()
            done("optimizer step")
    finally:
        if collecting:
            gc.enable()
    return tape, best
