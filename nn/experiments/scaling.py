"""Input scaling: micrograd's demo on moons × 100, raw against standardized; and the two causes, isolated.

input_scaling shows what unscaled inputs do to micrograd's recipe. scaling_causes takes them apart:
one feature multiplied by 100 (conditioning) and every feature offset by +100 (same-sign weight
gradients), each against the standardized inputs, from the same function at step 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_seed, non_negative, ordered, positive
from .._table import table
from ..data import make_moons, standardize
from ..diagnostics import activation_stats
from ..init import make_rng
from ..losses import mse_loss
from ..module import MLP, record
from ..optim import SGD
from ..train import History, fit
from . import recipes

__all__ = [
    "CauseRun",
    "InputScaling",
    "LrTrial",
    "ScalingCauses",
    "ScalingRun",
    "input_scaling",
    "scaling_causes",
]


@dataclass(frozen=True)
class ScalingRun:
    """One training run of input_scaling."""

    inputs: str  # "raw × 100" or "standardized"
    steps: int  # the budget
    reached_100: int | None  # the first step whose forward pass classed every example right, or None
    first_loss: float  # step 0's loss, at the initial weights (nan if none was recorded)
    peak_loss: float
    final_loss: float  # the last recorded step's loss
    final_accuracy: float
    dead: float  # the fraction of hidden ReLU units that output 0 on every training example, at the end
    diverged_at: int | None  # the step whose loss overflowed or was inf/NaN (training stops there)
    history: History = field(repr=False, compare=False)


@dataclass(frozen=True)
class InputScaling:
    """input_scaling's result: the same net and recipe on raw and on standardized inputs."""

    scale: float
    runs: list[ScalingRun]

    def __str__(self) -> str:
        rows = [
            [
                r.inputs,
                "never" if r.reached_100 is None else str(r.reached_100),
                f"{r.first_loss:.4g}",
                f"{r.peak_loss:.4g}",
                f"{r.final_loss:.4g}",
                f"{r.final_accuracy:.0%}",
                f"{r.dead:.0%}",
                "-" if r.diverged_at is None else f"at step {r.diverged_at}",
            ]
            for r in self.runs
        ]
        budget = self.runs[0].steps if self.runs else 0
        header = [
            "inputs",
            "100% at step",
            "loss step 0",
            "peak",
            "final",
            "final acc",
            "dead ReLUs",
            "diverged",
        ]
        return f"Moons × {self.scale:g}, MLP(2, [16, 16, 1]), {budget} steps\n" + table(header, rows)


def input_scaling(
    scale: float = 100.0,
    *,
    steps: int = 100,
    n: int = 100,
    seed: int = recipes.SEED,
    data_seed: int = 0,
    lr: float = 1.0,
) -> InputScaling:
    """micrograd's demo on moons × scale, raw and standardized: steps to 100%, losses, divergence.

    The recipe (nn.experiments.recipes): MLP(2, [16, 16, 1]) from seed (the same weights for both
    runs), hinge loss + 1e-4 L2, SGD with the learning rate lr·(1 − 0.9k/steps), every example each step.
    """
    scale = positive("input_scaling", "scale", scale)
    steps = check_int("input_scaling", "steps", steps, 1)
    n = check_int("input_scaling", "n", n, 2)
    data_seed = check_seed("input_scaling", data_seed, "data_seed")
    make_rng(seed, "input_scaling")
    lr = non_negative("input_scaling", "lr", lr)
    X, labels = make_moons(n, noise=0.1, seed=data_seed)
    X = X * scale  # standardizing the scaled points undoes the scale: the run on them is the control
    y = labels * 2 - 1
    runs = [
        _scaling_run(name, inputs, y, steps=steps, seed=seed, lr=lr)
        for name, inputs in ((f"raw × {scale:g}", X), ("standardized", standardize(X)[0]))
    ]
    return InputScaling(scale=scale, runs=runs)


def _scaling_run(name: str, X: np.ndarray, y: np.ndarray, *, steps: int, seed: int, lr: float) -> ScalingRun:
    """One input_scaling run: train micrograd's demo net on (X, y), and read what happened."""
    model = recipes.model(seed=seed)
    seen = History()

    def keep(step: int, history: History) -> None:
        nonlocal seen
        seen = history  # fit raises when the loss blows up: keep what it recorded until then

    diverged = None
    try:
        recipes.train(model, X, y, steps=steps, lr=lr, callback=keep)
    except FloatingPointError:  # fit stops on a loss that overflows or becomes inf or NaN
        diverged = len(seen)  # the step after the last one recorded
    hidden = activation_stats(model, X).layers[:-1]
    losses = seen.loss or [math.nan]
    return ScalingRun(
        inputs=name,
        steps=steps,
        reached_100=next((k for k, acc in enumerate(seen.accuracy) if acc == 1.0), None),
        first_loss=losses[0],
        peak_loss=max(losses),
        final_loss=losses[-1],
        final_accuracy=seen.accuracy[-1] if seen.accuracy else math.nan,
        dead=float(np.mean([layer.dead or 0.0 for layer in hidden])),
        diverged_at=diverged,
        history=seen,
    )


# -- the causes, isolated ----------------------------------------------------------------------------

LRS = (1.0, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)  # the sweep, largest first


@dataclass(frozen=True)
class LrTrial:
    """One learning rate of the sweep: stable if the loss never rose above its step-0 value."""

    lr: float
    stable: bool
    steps: int  # the steps it ran: an unstable run stops at the first loss above its start
    loss: float  # the last loss recorded


@dataclass(frozen=True)
class CauseRun:
    """One input transform of scaling_causes: the gradients at step 0, the sweep, and the run at its lr."""

    inputs: str  # "standardized", "feature 1 × 100", "offset + 100"
    scale: tuple[float, ...]  # the transform of the standardized inputs: x·scale + offset
    offset: tuple[float, ...]
    first_loss: float  # the loss at step 0 (the same function for every transform)
    grad: tuple[float, ...]  # layer 0's mean |∂C/∂w| over its neurons, one per input feature, at step 0
    one_sign: list[float | None]  # per layer-0 neuron: the fraction of its live examples whose
    # weight gradient δ·x has every component of one sign (None: δ = 0 on every example)
    one_sign_batch: int  # layer-0 neurons whose full-batch weight gradient has every component of one sign
    live: int  # layer-0 neurons with δ ≠ 0 on some example
    trials: list[LrTrial]
    lr: float | None  # the largest stable learning rate of the sweep (None: none was)
    loss: float  # the loss after `steps` updates at lr (nan if no lr was stable)
    accuracy: float  # the training accuracy after `steps` updates
    # per input feature: layer 0's mean |Δw| after `steps` updates × that input's std (a change of z)
    moved: tuple[float, ...]
    history: History = field(repr=False, compare=False)  # the run at lr, to `control` steps but the first

    @property
    def one_sign_fraction(self) -> float:
        """one_sign's mean over the live neurons: how often a per-example weight gradient has one sign."""
        live = [f for f in self.one_sign if f is not None]
        return float(np.mean(live)) if live else math.nan


@dataclass(frozen=True)
class ScalingCauses:
    """scaling_causes' result: the standardized run first, then each transform of its inputs."""

    runs: list[CauseRun]
    hidden: int
    steps: int
    control: int  # the steps each transformed run gets at its largest stable lr

    @property
    def target(self) -> float:
        """The standardized run's loss after `steps` updates: what the controls try to reach."""
        return self.runs[0].loss

    def reached(self, run: CauseRun) -> int | None:
        """The first step whose loss is at most the standardized run's after `steps`, or None."""
        return next((k for k, value in enumerate(run.history.loss) if value <= self.target), None)

    def gradients_table(self) -> str:
        """Layer 0's gradients at step 0: their size per feature, and how often they have one sign."""
        rows = [
            [
                r.inputs,
                *(f"{g:.3g}" for g in r.grad),
                f"{r.grad[-1] / r.grad[0]:.3g}",
                f"{r.one_sign_fraction:.0%}",
                f"{r.one_sign_batch} of {r.live}",
            ]
            for r in self.runs
        ]
        features = [f"mean|∂C/∂w| x{i}" for i in range(len(self.runs[0].grad))]
        header = ["inputs", *features, "x1/x0", "one-sign δ·x", "one-sign batch grad"]
        return f"Layer 0's weight gradients at step 0, MLP(2, [{self.hidden}, 1])\n" + table(header, rows)

    def training_table(self) -> str:
        """The sweep: each transform's largest stable lr, and where `steps` updates at it got."""
        rows = [
            [
                r.inputs,
                str(len(r.trials)),
                "none" if r.lr is None else f"{r.lr:g}",
                f"{r.loss:.3g}",
                f"{r.accuracy:.0%}",
                *(f"{m:.2g}" for m in r.moved),
            ]
            for r in self.runs
        ]
        moved = [f"moved x{i}" for i in range(len(self.runs[0].moved))]
        header = ["inputs", "lrs tried", "largest stable lr", f"loss at {self.steps}", "accuracy", *moved]
        return f"SGD at the largest stable lr, {self.steps} steps\n" + table(header, rows)

    def control_table(self) -> str:
        """Each transform at its (small) stable lr for `control` steps, against standardized after `steps`."""
        rows = []
        for r in self.runs[1:]:
            k = self.reached(r)
            if r.lr is None:
                rows.append([r.inputs, "none", "nan", "nan", "-"])
                continue
            rows.append(
                [
                    r.inputs,
                    f"{r.lr:g}",
                    f"{r.loss:.3g}",
                    f"{r.history.loss[-1]:.3g}",
                    f"at step {k}" if k is not None else f"not by step {len(r.history.loss) - 1}",
                ]
            )
        header = ["inputs", "lr", f"loss at {self.steps}", f"loss at {self.control}", f"≤ {self.target:.3g}"]
        ref = "none" if self.runs[0].lr is None else f"{self.runs[0].lr:g}"
        title = (
            f"The control: a stable lr, {self.control} steps, against standardized inputs at lr "
            f"{ref} ({self.target:.3g} at step {self.steps})"
        )
        return title + "\n" + table(header, rows)

    def __str__(self) -> str:
        return "\n\n".join([self.gradients_table(), self.training_table(), self.control_table()])


class _UnstableError(Exception):
    """Raised from fit's callback when the loss rises above its step-0 value: the sweep moves on."""


def scaling_causes(
    scale: float = 100.0,
    offset: float = 100.0,
    *,
    steps: int = 50,
    control: int = 500,
    lrs: tuple[float, ...] = LRS,
    hidden: int = 16,
    n: int = 100,
    seed: int = 0,
    data_seed: int = 0,
) -> ScalingCauses:
    """Standardized moons, then feature 1 × scale, then every feature + offset: MLP(2, [hidden, 1]), MSE, SGD.

    Each transformed run starts from the same function as the standardized one (layer 0's weights
    divided by the scale, its biases minus w·offset), so at step 0 the outputs, the loss and every
    δ agree: only the coordinates differ. For each, the lrs are tried largest first, `steps`
    full-batch updates each; the first whose loss never rises above its start is the largest
    stable one, and the transformed runs go on at it to `control` steps.
    """
    fn = "scaling_causes"
    scale = positive(fn, "scale", scale)
    offset = non_negative(fn, "offset", offset)
    steps = check_int(fn, "steps", steps, 1)
    control = check_int(fn, "control", control, 1)
    rates = sorted((positive(fn, "lrs", lr) for lr in ordered(fn, "lrs", lrs)), reverse=True)
    if not rates:
        raise ValueError(f"{fn}: lrs must hold at least one learning rate, got ()")
    hidden = check_int(fn, "hidden", hidden, 1)
    n = check_int(fn, "n", n, 2)
    seed = check_int(fn, "seed", seed, 0, why=" (every run starts from the same weights)")
    X, labels = make_moons(n, noise=0.1, seed=check_seed(fn, data_seed, "data_seed"))
    X = standardize(X)[0]
    y = labels * 2.0 - 1.0
    transforms = [
        ("standardized", (1.0, 1.0), (0.0, 0.0)),
        (f"feature 1 × {scale:g}", (1.0, scale), (0.0, 0.0)),
        (f"offset + {offset:g}", (1.0, 1.0), (offset, offset)),
    ]
    runs = [
        _cause_run(
            name,
            X,
            y,
            s,
            o,
            rates=rates,
            steps=steps,
            total=steps if i == 0 else max(steps, control),
            hidden=hidden,
            seed=seed,
        )
        for i, (name, s, o) in enumerate(transforms)
    ]
    return ScalingCauses(runs=runs, hidden=hidden, steps=steps, control=max(steps, control))


def _same_function(hidden: int, seed: int, scale: tuple[float, ...], offset: tuple[float, ...]) -> MLP:
    """MLP(2, [hidden, 1]) from seed, changed so that on x·scale + offset it computes what it did on x."""
    model = MLP(2, [hidden, 1], seed=seed)
    for neuron in model.layers[0].neurons:
        for w, s in zip(neuron.w, scale):
            w.data /= s  # w/s · (x·s) = w·x
        neuron.b.data -= sum(w.data * o for w, o in zip(neuron.w, offset))  # and − w·o cancels + o
    return model


def _cause_run(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    scale: tuple[float, ...],
    offset: tuple[float, ...],
    *,
    rates: list[float],
    steps: int,
    total: int,
    hidden: int,
    seed: int,
) -> CauseRun:
    """One transform: the gradients at step 0, then the sweep down to the first stable lr, run to total."""
    inputs = X * np.asarray(scale) + np.asarray(offset)
    model = _same_function(hidden, seed, scale, offset)
    with record(model):
        first = mse_loss(model(inputs), y)
    first.backward()
    layer = model.layers[0].neurons
    deltas = np.array([np.broadcast_to(np.asarray(nr.zs[0].grad, dtype=float), len(y)) for nr in layer])
    signs = np.sign(inputs)
    one_sign_x = (signs == signs[:, :1]).all(axis=1) & (signs[:, 0] != 0)  # δ·x has one sign iff x has
    one_sign: list[float | None] = [
        float(one_sign_x[d != 0].mean()) if (d != 0).any() else None for d in deltas
    ]
    batch = [np.sign([w.grad for w in nr.w]) for nr in layer]
    grad = tuple(float(np.mean([abs(nr.w[i].grad) for nr in layer])) for i in range(X.shape[1]))

    trials: list[LrTrial] = []
    kept: History | None = None
    after = np.empty((0, X.shape[1]))
    for lr in rates:
        model = _same_function(hidden, seed, scale, offset)
        seen, weights = _attempt(model, inputs, y, lr, steps=steps, total=total)
        stable = weights is not None
        trials.append(LrTrial(lr, stable, len(seen), seen.loss[steps] if stable else seen.loss[-1]))
        if weights is not None:
            kept, after = seen, weights
            break
    start = np.array(
        [[w.data for w in nr.w] for nr in _same_function(hidden, seed, scale, offset).layers[0].neurons]
    )
    # how far layer 0's weights on each feature moved, in units of z: |Δw| × that input's spread
    moved = (
        tuple(np.mean(np.abs(after - start), axis=0) * inputs.std(axis=0))
        if kept
        else (math.nan,) * X.shape[1]
    )
    return CauseRun(
        inputs=name,
        scale=scale,
        offset=offset,
        first_loss=first.data,
        grad=grad,
        one_sign=one_sign,
        one_sign_batch=sum(int((b == b[0]).all() and b[0] != 0) for b in batch),
        live=sum(f is not None for f in one_sign),
        trials=trials,
        lr=trials[-1].lr if kept is not None else None,
        loss=kept.loss[steps] if kept is not None else math.nan,
        accuracy=kept.accuracy[steps] if kept is not None else math.nan,
        moved=moved,
        history=kept if kept is not None else History(),
    )


def _attempt(
    model: MLP, inputs: np.ndarray, y: np.ndarray, lr: float, *, steps: int, total: int
) -> tuple[History, np.ndarray | None]:
    """SGD at lr to `total` updates; layer 0's weights after `steps`, or None if the loss rose first."""
    seen = History()
    weights: list[list[float]] = []

    def watch(step: int, history: History) -> None:
        nonlocal seen
        seen = history  # fit raises on a loss that overflows: keep what it recorded until then
        if history.loss[-1] > history.loss[0]:
            raise _UnstableError
        if step == steps - 1:  # the update of step `steps - 1` was the `steps`-th
            weights[:] = [[w.data for w in nr.w] for nr in model.layers[0].neurons]

    sgd = SGD(model.parameters(), lr=lr)  # plain SGD keeps no state: two fits are one run
    try:  # watched up to the loss after `steps` updates, then unwatched (a callback costs a little each step)
        fit(model, inputs, y, mse_loss, sgd, steps + 1, progress=False, callback=watch)
    except (_UnstableError, FloatingPointError):  # fit stops on a loss that is inf or NaN
        return seen, None
    if total > steps:
        rest = fit(model, inputs, y, mse_loss, sgd, total - steps, progress=False)
        seen = History(seen.loss + rest.loss, seen.accuracy + rest.accuracy, seen.lr + rest.lr)
    return seen, np.array(weights)
