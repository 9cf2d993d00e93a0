"""Diagnostics: where the gradient goes and what the units do, and two experiments that use them.

Instruments (read a model after a backward, or run it on data):
- gradient_flow(model, lr): per layer, the size of its weights' gradients and of one update;
  flag_gradients(flow) names the layers whose gradients vanish or explode.
- activation_stats(model, X): per layer, the mean and spread of the activations, the fraction of
  tanh/sigmoid outputs near their limits and of ReLU units dead on every input.
- blame(model, top): the parameters ranked by |grad|, and each neuron's δ = ∂C/∂z from nn.record.
Numbers only: nn.plots draws them.

Experiments (plain results, deterministic under their seeds):
- vanishing_gradients / compare_inits: a 10-hidden-layer MLP, one backward, first layer against output.
- input_scaling: micrograd's demo net on moons × 100, raw against standardized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._checks import check_int, check_real, check_seed, non_negative, positive
from ._table import table
from .activations import ACTIVATIONS
from .data import make_moons, standardize
from .init import Init, Rng, he, make_rng, resolve_init
from .losses import hinge_loss, l2_penalty, mse_loss
from .module import MLP
from .optim import SGD
from .train import History, _rows, fit

__all__ = [
    "ActivationStats",
    "Blame",
    "BlamedParameter",
    "GradientFlag",
    "GradientFlow",
    "InitComparison",
    "InitRow",
    "InputScaling",
    "LayerActivations",
    "LayerGradients",
    "NeuronDelta",
    "ScalingRun",
    "activation_stats",
    "blame",
    "compare_inits",
    "flag_gradients",
    "gradient_flow",
    "input_scaling",
    "vanishing_gradients",
]


# -- gradient flow ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerGradients:
    """One layer's gradients. Weights only, but for bias_mean_abs_grad: see gradient_flow."""

    index: int
    name: str  # "layer i", as drawings name it
    nin: int
    nout: int
    activation: str
    mean_abs_grad: float  # mean over the layer's weights of |∂C/∂w|
    max_abs_grad: float
    bias_mean_abs_grad: float  # mean over its biases of |∂C/∂b| (= mean |δ| summed over the batch)
    grad_norm: float  # ‖g‖ = √Σ (∂C/∂w)²
    weight_norm: float  # ‖w‖
    update_ratio: float  # ‖lr·g‖ / ‖w‖: how far one SGD step moves the weights, relative to their size


@dataclass(frozen=True)
class GradientFlow:
    """Per layer, first to output, the gradients after one backward (gradient_flow's result)."""

    layers: list[LayerGradients]
    lr: float | None  # None: update_ratio is ‖g‖/‖w‖, the step at lr = 1

    @property
    def output(self) -> LayerGradients:
        """The output layer, where the gradient enters and every ratio is measured from."""
        return self.layers[-1]

    @property
    def relative(self) -> list[float]:
        """Each layer's mean |grad| / the output layer's (nan where the output's is 0)."""
        return [_ratio(layer.mean_abs_grad, self.output.mean_abs_grad) for layer in self.layers]

    @property
    def first_to_output(self) -> float:
        """The first layer's mean |grad| / the output layer's: ≪ 1 vanishing, ≫ 1 exploding."""
        return self.relative[0]

    def __str__(self) -> str:
        step = "‖lr·g‖/‖w‖" if self.lr is not None else "‖g‖/‖w‖"
        rows = [
            [
                layer.name,
                f"{layer.nin}→{layer.nout}",
                layer.activation,
                f"{layer.mean_abs_grad:.3g}",
                f"{layer.max_abs_grad:.3g}",
                f"{layer.bias_mean_abs_grad:.3g}",
                f"{layer.grad_norm:.3g}",
                f"{layer.weight_norm:.3g}",
                f"{layer.update_ratio:.3g}",
                f"{rel:.3g}",
            ]
            for layer, rel in zip(self.layers, self.relative)
        ]
        header = ["layer", "sizes", "act", "mean|g|", "max|g|", "bias|g|", "‖g‖", "‖w‖", step, "vs out"]
        lr = f"lr = {self.lr:g}" if self.lr is not None else "no lr given: the step column is at lr = 1"
        return (
            f"Gradient flow (weights; biases in bias|g|; vs out = mean|g| / the output layer's; {lr})\n"
            + table(header, rows)
        )


def gradient_flow(model: MLP, lr: float | None = None) -> GradientFlow:
    """Per layer: mean and max |∂C/∂w|, ‖g‖, and the update-to-weight ratio ‖lr·g‖/‖w‖ (after a backward).

    Weights and biases are measured apart. ∂C/∂w = δ·input but ∂C/∂b = δ alone, so mixing them
    would blur how much gradient reaches a layer with how big its inputs are; and biases start
    at 0, which makes a bias's update-to-size ratio infinite. So every column is the weights',
    and bias_mean_abs_grad is the biases' mean |grad| on its own. Without lr, update_ratio is
    ‖g‖/‖w‖ (the step at lr = 1), and the table says so.
    """
    lr = None if lr is None else non_negative("gradient_flow", "lr", lr)
    layers = []
    for i, layer in enumerate(model.layers):
        w = np.array([p.grad for n in layer.neurons for p in n.w], dtype=float)
        data = np.array([p.data for n in layer.neurons for p in n.w], dtype=float)
        grad_norm, weight_norm = float(np.linalg.norm(w)), float(np.linalg.norm(data))
        step = abs(lr) * grad_norm if lr is not None else grad_norm
        layers.append(
            LayerGradients(
                index=i,
                name=f"layer {i}",
                nin=len(layer.neurons[0].w),
                nout=len(layer.neurons),
                activation=layer.activation,
                mean_abs_grad=float(np.abs(w).mean()),
                max_abs_grad=float(np.abs(w).max()),
                bias_mean_abs_grad=float(np.mean([abs(n.b.grad) for n in layer.neurons])),
                grad_norm=grad_norm,
                weight_norm=weight_norm,
                update_ratio=_ratio(step, weight_norm, zero_over_zero=0.0),
            )
        )
    return GradientFlow(layers=layers, lr=lr)


@dataclass(frozen=True)
class GradientFlag:
    """A layer whose gradients vanish or explode, by one of two measures (see flag_gradients)."""

    index: int
    name: str
    kind: Literal["vanishing", "exploding"]
    measure: Literal["vs output", "update"]
    ratio: float  # mean |grad| / the output layer's, or ‖lr·g‖/‖w‖
    lr: float | None = None

    def __str__(self) -> str:
        if self.measure == "update":
            lr = f"lr {self.lr:g}" if self.lr is not None else "lr 1"
            return (
                f"{self.name}: one SGD step ({lr}) would move its weights {self.ratio:.2g} times their own "
                "size (‖lr·g‖/‖w‖): its gradients explode, and training throws its weights away"
            )
        if self.kind == "vanishing":
            times = f"{1 / self.ratio:,.4g} times smaller" if self.ratio > 0 else "zero"
            return (
                f"{self.name}: mean |grad| is {self.ratio:.2g} of the output layer's ({times}): "
                "the gradient vanishes on its way back, so these weights barely learn"
            )
        return (
            f"{self.name}: mean |grad| is {self.ratio:,.4g} times the output layer's: the gradient "
            "explodes on its way back, so a step that suits the output layer throws these weights far"
        )


def flag_gradients(
    flow: GradientFlow, vanish: float = 1e-3, explode: float = 1e3, update: float = 1e3
) -> list[GradientFlag]:
    """The layers with mean |grad| / output's < vanish or > explode, or with ‖lr·g‖/‖w‖ > update.

    The first measure finds gradients that shrink or grow on their way back through the layers.
    It cannot see an explosion that is the same in every layer: in a ReLU net with too large a
    gain the activations grow layer by layer going forward as fast as δ grows going back, so
    every layer's ∂C/∂w = δ·input, the output layer's too, is huge and their ratios stay near 1.
    The second measure catches that: a step that would move a layer's weights `update` times
    their own size. Raises if no gradient reached the output layer (no backward yet?).
    """
    vanish = positive("flag_gradients", "vanish", vanish)
    explode = positive("flag_gradients", "explode", explode)
    update = positive("flag_gradients", "update", update)
    if not flow.output.mean_abs_grad > 0.0:
        raise ValueError(
            f"flag_gradients: the output layer ({flow.output.name}) has no gradient, so there is "
            "nothing to compare with: call loss.backward() before gradient_flow(model)"
        )
    flags = []
    for layer, rel in zip(flow.layers[:-1], flow.relative[:-1]):
        if rel < vanish:
            flags.append(GradientFlag(layer.index, layer.name, "vanishing", "vs output", rel))
        elif rel > explode:
            flags.append(GradientFlag(layer.index, layer.name, "exploding", "vs output", rel))
    flags.extend(
        GradientFlag(layer.index, layer.name, "exploding", "update", layer.update_ratio, flow.lr)
        for layer in flow.layers
        if layer.update_ratio > update
    )
    return flags


# -- activations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerActivations:
    """One layer's outputs over the examples (activation_stats' rows)."""

    index: int
    name: str
    activation: str
    mean: float
    std: float
    saturated: float | None  # tanh/sigmoid: the fraction of outputs near their limits; None otherwise
    dead: float | None  # relu: the fraction of units that output exactly 0 on every example; else None
    values: np.ndarray = field(repr=False, compare=False)  # (examples, units)


@dataclass(frozen=True)
class ActivationStats:
    """Per layer, first to output, what its units output on the data (activation_stats' result)."""

    layers: list[LayerActivations]
    examples: int
    saturation: float

    def __str__(self) -> str:
        rows = [
            [
                layer.name,
                layer.activation,
                f"{layer.mean:.3g}",
                f"{layer.std:.3g}",
                "-" if layer.saturated is None else f"{layer.saturated:.0%}",
                "-" if layer.dead is None else f"{layer.dead:.0%}",
            ]
            for layer in self.layers
        ]
        s = self.saturation
        return (
            f"Activations on {self.examples} examples (saturated: tanh |a| > {s:g}, "
            f"sigmoid a < {1 - s:.2g} or > {s:g}; dead: ReLU units at 0 on every example)\n"
            + table(["layer", "act", "mean", "std", "saturated", "dead"], rows)
        )


def activation_stats(model: MLP, X: Any, saturation: float = 0.99) -> ActivationStats:
    """Per layer over every row of X: mean and std of a, the fraction saturated, the fraction of dead ReLUs.

    Saturated: tanh |a| > saturation; sigmoid a < 1 − saturation or a > saturation (there
    σ'(z) = a(1 − a) < 0.01, so almost no gradient passes). Dead: a ReLU unit whose output is
    exactly 0 on every example (no gradient reaches its weights from any of them).
    """
    saturation = check_real(
        "activation_stats", "saturation", saturation, "in (0, 1)", lambda s: 0.0 < s < 1.0
    )
    rows = _rows(X, "activation_stats")
    outputs = model.layer_outputs(rows)
    layers = []
    for i, (layer, a) in enumerate(zip(model.layers, outputs)):
        with np.errstate(over="ignore", invalid="ignore"):  # blown-up weights: an inf std is the answer
            mean, std = float(a.mean()), float(a.std())
        act = layer.activation
        saturated = _saturated(a, act, saturation)
        layers.append(
            LayerActivations(
                index=i,
                name=f"layer {i}",
                activation=act,
                mean=mean,
                std=std,
                saturated=saturated,
                dead=float(np.mean(np.all(a == 0.0, axis=0))) if act == "relu" else None,
                values=a,
            )
        )
    return ActivationStats(layers=layers, examples=len(rows), saturation=saturation)


def _saturated(a: np.ndarray, activation: str, saturation: float) -> float | None:
    """The fraction of a within 1 − saturation of a finite limit (tanh ±1, sigmoid 0 and 1); else None."""
    act = ACTIVATIONS[activation]
    if not act.saturates:
        return None
    # For saturation ≥ 0.5, 1 − (1 − s) is s exactly: tanh's test is |a| > s, sigmoid's a < 1 − s or a > s.
    margin = 1.0 - saturation
    return float(np.mean((a < act.low + margin) | (a > act.high - margin)))


# -- blame --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlamedParameter:
    """A parameter, by its dotted name, with its value and ∂C/∂p."""

    name: str
    value: float
    grad: float


@dataclass(frozen=True)
class NeuronDelta:
    """One neuron's δ = ∂C/∂z over the examples nn.record saw: the mean and the mean |δ|."""

    name: str  # "layers.i.neurons.j", the prefix of its parameters' names
    layer: int
    neuron: int
    examples: int
    mean_delta: float
    mean_abs_delta: float


@dataclass(frozen=True)
class Blame:
    """blame's result: the top parameters by |grad|, and every recorded neuron's δ."""

    parameters: list[BlamedParameter]
    neurons: list[NeuronDelta]  # empty when nothing was recorded
    total: int  # how many parameters the model has
    top: int

    @property
    def recorded(self) -> bool:
        """Whether any neuron kept its z (the forward ran inside nn.record)."""
        return bool(self.neurons)

    def __str__(self) -> str:
        params = table(
            ["parameter", "value", "grad"],
            [[p.name, f"{p.value:.4g}", f"{p.grad:.4g}"] for p in self.parameters],
        )
        lines = [f"The {len(self.parameters)} of {self.total} parameters with the largest |grad|:", params]
        if not self.recorded:
            lines.append(
                "No δ = ∂C/∂z: nothing was recorded. Run the forward pass inside `with nn.record(model):`, "
                "then loss.backward()"
            )
            return "\n".join(lines)
        ranked = sorted(self.neurons, key=lambda n: -n.mean_abs_delta)[: self.top]
        lines.append(
            f"δ = ∂C/∂z per neuron, the {len(ranked)} of {len(self.neurons)} with the largest mean |δ|:"
        )
        lines.append(
            table(
                ["neuron", "examples", "mean δ", "mean |δ|"],
                [[n.name, str(n.examples), f"{n.mean_delta:.4g}", f"{n.mean_abs_delta:.4g}"] for n in ranked],
            )
        )
        return "\n".join(lines)


def blame(model: MLP, top: int = 10) -> Blame:
    """The top parameters ranked by |∂C/∂p| (ties in named_parameters order), and δ = ∂C/∂z per neuron."""
    top = check_int("blame", "top", top, 1)
    named = model.named_parameters()
    ranked = sorted(named, key=lambda pair: -abs(pair[1].grad))  # stable: ties keep model order
    names = {m: name for name, m in model.named_modules()}
    neurons = [
        NeuronDelta(
            name=names[n],
            layer=i,
            neuron=j,
            examples=len(n.zs),
            mean_delta=float(np.mean([z.grad for z in n.zs])),
            mean_abs_delta=float(np.mean([abs(z.grad) for z in n.zs])),
        )
        for i, layer in enumerate(model.layers)
        for j, n in enumerate(layer.neurons)
        if n.zs
    ]
    return Blame(
        parameters=[BlamedParameter(name, p.data, p.grad) for name, p in ranked[:top]],
        neurons=neurons,
        total=len(named),
        top=top,
    )


# -- experiment: vanishing and exploding gradients ----------------------------------------------


def vanishing_gradients(
    depth: int = 10,
    width: int = 16,
    activation: str = "sigmoid",
    init: str | Init = "uniform",
    *,
    batch: int = 1,
    seed: int = 0,
    lr: float | None = None,
) -> GradientFlow:
    """MLP(2, [width]*depth + [1]) at its init: one backward of (s − t)² on `batch` standardized moons.

    batch=1 by default, on purpose. A deep sigmoid net at init gives nearly the same output for
    every input, so over a balanced batch Σ (s − tₖ)·h measures how far that output is from the
    targets' average rather than how much gradient flows back; at some seeds it nearly cancels
    in the output layer and understates the vanishing. One example has nothing to cancel. The
    squared error, unlike cross-entropy, never saturates: a huge output still gets a gradient.
    """
    depth, width, batch = _experiment_sizes("vanishing_gradients", depth, width, batch)
    rng = make_rng(seed, "vanishing_gradients")
    lr = None if lr is None else non_negative("vanishing_gradients", "lr", lr)
    X, labels = make_moons(max(batch, 100), seed=0)
    X, _, _ = standardize(X)
    model = MLP(2, [width] * depth + [1], activation=activation, init=init, seed=rng)
    preds = [model(row) for row in X[:batch]]
    mse_loss(preds, (labels[:batch] * 2 - 1).tolist()).backward()
    return gradient_flow(model, lr=lr)


@dataclass(frozen=True)
class InitRow:
    """One setting of compare_inits: first and output layers' mean |grad|, their ratio, the flags."""

    setting: str
    first: float
    output: float
    ratio: float
    flags: list[GradientFlag]
    flow: GradientFlow = field(repr=False, compare=False)

    @property
    def verdict(self) -> str:
        """The verdict from the flags: vanishing, exploding, both ("vanishing and exploding"), or healthy."""
        kinds = sorted({flag.kind for flag in self.flags}, reverse=True)  # vanishing before exploding
        return " and ".join(kinds) or "healthy"


@dataclass(frozen=True)
class InitComparison:
    """compare_inits' result: one row per (activation, init) setting."""

    rows: list[InitRow]
    depth: int
    width: int

    def __str__(self) -> str:
        text = table(
            ["setting", "first mean|g|", "output mean|g|", "first/output", "flagged layers", "verdict"],
            [
                [
                    r.setting,
                    f"{r.first:.3g}",
                    f"{r.output:.3g}",
                    f"{r.ratio:.3g}",
                    str(len({flag.index for flag in r.flags})),
                    r.verdict,
                ]
                for r in self.rows
            ],
        )
        return f"Gradients at init, MLP(2, [{self.width}]*{self.depth} + [1]), one backward\n{text}"


def compare_inits(
    depth: int = 10,
    width: int = 16,
    *,
    gain: float = 4.0,
    batch: int = 1,
    seed: int = 0,
    vanish: float = 1e-3,
    explode: float = 1e3,
) -> InitComparison:
    """vanishing_gradients for sigmoid + U(−1, 1), tanh + Xavier, ReLU + He, and ReLU + gain × He."""
    depth, width, batch = _experiment_sizes("compare_inits", depth, width, batch)
    gain = positive("compare_inits", "gain", gain)
    vanish = positive("compare_inits", "vanish", vanish)
    explode = positive("compare_inits", "explode", explode)
    make_rng(seed, "compare_inits")  # checked here, used by each run
    settings: list[tuple[str, str, str | Init]] = [
        ("sigmoid + U(-1, 1)", "sigmoid", "uniform"),
        ("tanh + Xavier", "tanh", "xavier"),
        ("relu + He", "relu", "he"),
        (f"relu + {gain:g} × He", "relu", _scaled(he, gain)),
    ]
    rows = []
    for name, activation, init in settings:
        flow = vanishing_gradients(depth, width, activation, init, batch=batch, seed=seed)
        rows.append(
            InitRow(
                setting=name,
                first=flow.layers[0].mean_abs_grad,
                output=flow.output.mean_abs_grad,
                ratio=flow.first_to_output,
                flags=flag_gradients(flow, vanish=vanish, explode=explode),
                flow=flow,
            )
        )
    return InitComparison(rows=rows, depth=depth, width=width)


def _scaled(init: str | Init, gain: float) -> Init:
    """init with every weight multiplied by gain."""
    scheme = resolve_init(init, "compare_inits")

    def scaled(fan_in: int, fan_out: int, rng: Rng) -> float:
        return gain * scheme(fan_in, fan_out, rng)

    return scaled


# -- experiment: input scaling ------------------------------------------------------------------


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
    steps: int = 100,
    *,
    n: int = 100,
    seed: int = 0,
    model_seed: int = 1337,
    lr: float = 1.0,
) -> InputScaling:
    """micrograd's demo on moons × scale, raw and standardized: steps to 100%, losses, divergence.

    The recipe: MLP(2, [16, 16, 1]) (the same weights for both runs), hinge loss + 1e-4 L2, SGD
    with the learning rate lr·(1 − 0.9k/steps), every example each step.
    """
    scale = positive("input_scaling", "scale", scale)
    steps = check_int("input_scaling", "steps", steps, 1)
    n = check_int("input_scaling", "n", n, 2)
    seed = check_seed("input_scaling", seed)
    make_rng(model_seed, "input_scaling", "model_seed")
    lr = non_negative("input_scaling", "lr", lr)
    X, labels = make_moons(n, noise=0.1, seed=seed)
    X = X * scale
    y = labels * 2 - 1
    runs = [
        _scaling_run(name, inputs, y, steps=steps, model_seed=model_seed, lr=lr)
        for name, inputs in ((f"raw × {scale:g}", X), ("standardized", standardize(X)[0]))
    ]
    return InputScaling(scale=scale, runs=runs)


def _scaling_run(
    name: str, X: np.ndarray, y: np.ndarray, *, steps: int, model_seed: int, lr: float
) -> ScalingRun:
    """One input_scaling run: train micrograd's demo net on (X, y), and read what happened."""
    model = MLP(2, [16, 16, 1], seed=model_seed)
    seen = History()

    def keep(step: int, history: History) -> None:
        nonlocal seen
        seen = history  # fit raises when the loss blows up: keep what it recorded until then

    diverged = None
    try:
        fit(
            model,
            X,
            y,
            lambda scores, labels: hinge_loss(scores, labels) + l2_penalty(model.parameters(), alpha=1e-4),
            SGD(model.parameters(), lr=lr),
            steps,
            progress=False,
            schedule=lambda k: lr * (1.0 - 0.9 * k / steps),
            callback=keep,
        )
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


# -- helpers ------------------------------------------------------------------------------------


def _experiment_sizes(fn: str, depth: int, width: int, batch: int) -> tuple[int, int, int]:
    """An experiment's MLP depth and width and its batch, each a positive int."""
    return (
        check_int(fn, "depth", depth, 1),
        check_int(fn, "width", width, 1),
        check_int(fn, "batch", batch, 1),
    )


def _ratio(a: float, b: float, zero_over_zero: float = math.nan) -> float:
    """a / b, inf for a > 0 = b, and zero_over_zero for 0 / 0."""
    if b != 0.0:
        return a / b
    return math.inf if a != 0.0 else zero_over_zero
