"""Diagnostics: where the gradient goes and what the units do.

Instruments (read a model after a backward, or run it on data):
- gradient_flow(model, lr): per layer, the size of its weights' gradients and of one update;
  flag_gradients(flow) names the layers whose gradients vanish or explode.
- activation_stats(model, X): per layer, the mean and spread of the activations, the fraction of
  tanh/sigmoid outputs near their limits and of ReLU units dead on every input.
- blame(model, top): the parameters ranked by |grad|, and each neuron's δ = ∂C/∂z from nn.record.
- example_gradients(model, X, y, loss): each example's share of the gradient and its norm, ranked:
  which examples are to blame.
Numbers only: nn.plots draws them.

The experiments built on them are in nn.experiments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from engine import Value, per_example_grads

from ._checks import check_instance, check_int, check_real, label_vector, matrix, non_negative, positive
from ._table import table
from .activations import ACTIVATIONS
from .module import MLP, Neuron

__all__ = [
    "ActivationStats",
    "Blame",
    "BlamedParameter",
    "ExampleGradients",
    "GradientFlag",
    "GradientFlow",
    "LayerActivations",
    "LayerGradients",
    "NeuronDelta",
    "activation_stats",
    "blame",
    "example_gradients",
    "flag_gradients",
    "gradient_flow",
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
    rows = matrix("activation_stats", X)
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
    """One neuron's δ = ∂C/∂z over the examples nn.record saw (a batch's lanes each count): mean, mean |δ|."""

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
            examples=len(deltas),
            mean_delta=float(np.mean(deltas)),
            mean_abs_delta=float(np.mean(np.abs(deltas))),
        )
        for i, layer in enumerate(model.layers)
        for j, n in enumerate(layer.neurons)
        if n.zs
        for deltas in [_deltas(n)]
    ]
    return Blame(
        parameters=[BlamedParameter(name, p.data, p.grad) for name, p in ranked[:top]],
        neurons=neurons,
        total=len(named),
        top=top,
    )


# -- example gradients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleGradients:
    """example_gradients' result: each example's share gᵢ of ∂L/∂θ, its norm ‖gᵢ‖, and the shared rest."""

    names: list[str]  # the parameters' dotted names: the columns of grads
    grads: np.ndarray  # (examples, parameters): row i = gᵢ, what example i adds to ∂L/∂θ
    shared: (
        np.ndarray
    )  # (parameters,): what no example owns (a penalty on the weights); Σᵢ gᵢ + shared = ∂L/∂θ
    norms: np.ndarray  # (examples,): ‖gᵢ‖
    loss: float
    top: int

    @property
    def ranked(self) -> list[int]:
        """The examples by ‖gᵢ‖, largest first (ties in row order)."""
        return sorted(range(len(self.norms)), key=lambda i: -self.norms[i])

    def __str__(self) -> str:
        total = float(self.norms.sum())
        rows = []
        for i in self.ranked[: self.top]:
            j = int(np.argmax(np.abs(self.grads[i])))
            share = f"{self.norms[i] / total:.1%}" if total > 0.0 else "-"
            rows.append([str(i), f"{self.norms[i]:.4g}", share, self.names[j], f"{self.grads[i, j]:.4g}"])
        shown = min(self.top, len(self.norms))
        rest = float(np.linalg.norm(self.shared))
        return (
            f"The {shown} of {len(self.norms)} examples with the largest ‖gᵢ‖, gᵢ = example i's share of "
            f"∂L/∂θ (loss {self.loss:.4g}; share = ‖gᵢ‖ / Σⱼ ‖gⱼ‖)\n"
            f"  Shared by no example (a penalty on the weights): ‖g‖ = {rest:.4g}\n"
            + table(["example", "‖gᵢ‖", "share", "largest on", "its g"], rows)
        )


def example_gradients(
    model: MLP, X: Any, y: Any, loss: Callable[[Any, np.ndarray], Value], top: int = 10
) -> ExampleGradients:
    """Per example i: gᵢ = its share of ∂L/∂θ (∇lᵢ for L = Σᵢ lᵢ, ∇lᵢ/n for a mean) and ‖gᵢ‖, ranked."""
    check_instance("example_gradients", model, MLP, "an nn.MLP")
    data = matrix("example_gradients", X)
    labels = label_vector("example_gradients", y)
    if len(labels) != len(data):
        raise ValueError(f"example_gradients: X has {len(data)} rows but y has {len(labels)} labels")
    top = check_int("example_gradients", "top", top, 1)
    named = model.named_parameters()
    params = [p for _, p in named]
    earlier = [p.grad for p in params]
    try:  # one backward pass, split by example; the model's gradients are left as they were
        total = loss(model(data), labels)
        split = per_example_grads(total, params)
    finally:
        for p, grad in zip(params, earlier):
            p.grad = grad
    return ExampleGradients(
        names=[name for name, _ in named],
        grads=split.per_example,
        shared=split.shared,
        norms=np.linalg.norm(split.per_example, axis=1),
        loss=total.data,
        top=top,
    )


# -- helpers ------------------------------------------------------------------------------------


def _deltas(neuron: Neuron) -> np.ndarray:
    """The neuron's recorded δ, one per example: a number per call on one example, a lane each on a batch."""
    return np.concatenate([np.atleast_1d(z.grad) for z in neuron.zs])


def _ratio(a: float, b: float, zero_over_zero: float = math.nan) -> float:
    """a / b, inf for a > 0 = b, and zero_over_zero for 0 / 0."""
    if b != 0.0:
        return a / b
    return math.inf if a != 0.0 else zero_over_zero
