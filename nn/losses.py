"""Loss functions over Values, each a composition of Value ops (no derivative code of its own).

Predictions are Values: a list of them, or one Value for a single example (for cross_entropy, a
list of logits per example). Targets are plain numbers: a list, a numpy array, or one number.
`reduction` is "mean" (the default) or "sum", as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import add
from typing import Literal

import numpy as np

from engine import Value

from ._checks import check_choice, data_number, described, is_int, non_negative, ordered, show

__all__ = [
    "Reduction",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "mse_loss",
    "softmax",
]

Reduction = Literal["mean", "sum"]
Targets = Iterable[float] | float


def mse_loss(preds: Sequence[Value] | Value, targets: Targets, reduction: Reduction = "mean") -> Value:
    """L = mean over i of (pᵢ − tᵢ)²."""
    ps, ts = _pairs("mse_loss", preds, targets)
    return _reduce("mse_loss", [(p - t) ** 2 for p, t in zip(ps, ts)], reduction)


def hinge_loss(scores: Sequence[Value] | Value, labels: Targets, reduction: Reduction = "mean") -> Value:
    """L = mean over i of max(0, 1 − yᵢ·sᵢ), labels yᵢ = ±1."""
    ss, ys = _pairs("hinge_loss", scores, labels, "label")
    for i, y in enumerate(ys):
        if y not in (-1.0, 1.0):
            # 0/1 class labels are the classic mistake: say how to convert them.
            hint = ": 0/1 labels? convert them with y * 2 - 1, as micrograd's demo does" if y == 0.0 else ""
            raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y:g} (example {i}){hint}")
    # 1 − y·s is below 0 once the example is on the right side with a margin: no loss, no gradient.
    # Written as micrograd's demo writes it, 1 + (−y)·s: two ops per example, and the same numbers.
    return _reduce("hinge_loss", [(1.0 + (-y) * s).relu() for s, y in zip(ss, ys)], reduction)


def binary_cross_entropy(
    logits: Sequence[Value] | Value, labels: Targets, reduction: Reduction = "mean"
) -> Value:
    """L = mean over i of softplus(zᵢ) − yᵢ·zᵢ = −[yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ))], yᵢ in [0, 1]."""
    zs, ys = _pairs("binary_cross_entropy", logits, labels, "label")
    for i, y in enumerate(ys):
        if not 0.0 <= y <= 1.0:
            hint = ": -1/+1 labels? convert them with (y + 1) / 2" if y == -1.0 else ""
            raise ValueError(
                f"binary_cross_entropy: labels must be 0, 1 or a probability in [0, 1], "
                f"got {y:g} (example {i}){hint}"
            )
    return _reduce("binary_cross_entropy", [_softplus(z) - y * z for z, y in zip(zs, ys)], reduction)


def softmax(logits: Sequence[Value]) -> list[Value]:
    """pᵢ = exp(zᵢ − m) / Σⱼ exp(zⱼ − m), m = max z (the shift cancels; it keeps exp from overflowing)."""
    exps = [z.exp() for z in _shifted("softmax", logits)]
    inverse = _sum(exps) ** -1.0  # one reciprocal shared by every pᵢ; the sum is ≥ 1 (the max's term)
    return [e * inverse for e in exps]


def cross_entropy(
    logits: Sequence[Sequence[Value]] | Sequence[Value],
    labels: Iterable[int] | int,
    reduction: Reduction = "mean",
) -> Value:
    """L = mean over examples of logsumexp(z) − z_y = −log softmax(z)_y, y the class index."""
    items = [logits] if isinstance(logits, Value) else ordered("cross_entropy", "logits", logits)
    # One example (a list of logits and one label) is a batch of one, as in PyTorch.
    one = len(items) > 0 and isinstance(items[0], Value)
    if one and _is_sequence(labels) and len(items) == len(ordered("cross_entropy", "labels", labels)) > 1:
        # n Values for n labels: one logit per example, a model with one output.
        raise _one_output(f"{len(items)} Values for {len(items)} labels")
    rows = [items] if one else items
    classes = _labels("cross_entropy", labels, len(rows))
    losses = []
    width = 0
    for i, (row, y) in enumerate(zip(rows, classes)):
        shifted = _shifted("cross_entropy", row, i)
        width = width or len(shifted)
        if width == 1:  # softmax over one class is 1: no loss, no gradient, nothing learned
            raise _one_output(f"1 for example {i}")
        if len(shifted) != width:
            raise ValueError(f"cross_entropy: example {i} has {len(shifted)} logits, example 0 has {width}")
        if not 0 <= y < width:
            raise ValueError(f"cross_entropy: label {y} is out of range for {width} logits (example {i})")
        # Not log(softmax(z)[y]): that is the log of a probability that can underflow to 0.
        # logsumexp(z) − z_y = log Σ exp(zⱼ − m) − (z_y − m): m cancels, so it stays a constant.
        losses.append(_sum([s.exp() for s in shifted]).log() - shifted[y])
    return _reduce("cross_entropy", losses, reduction)


def l2_penalty(params: Iterable[Value], alpha: float = 1e-4) -> Value:
    """R = α · Σ p², weight decay as a loss term (micrograd's demo uses α = 1e-4)."""
    alpha = non_negative("l2_penalty", "alpha", alpha)
    ps = _values("l2_penalty", params, "parameter")
    return alpha * _sum([p**2 for p in ps])


# -- helpers -----------------------------------------------------------------------------------


def _sum(terms: Sequence[Value]) -> Value:
    """t₀ + t₁ + ...: without sum()'s leading 0, which would add a constant node."""
    return reduce(add, terms)


def _reduce(loss: str, terms: Sequence[Value], reduction: str) -> Value:
    if check_choice(loss, "reduction", reduction, ("mean", "sum")) == "sum":
        return _sum(terms)
    return _sum(terms) * (1.0 / len(terms))


def _softplus(z: Value) -> Value:
    """softplus(z) = log(1 + eᶻ), from exp of a non-positive number only (no overflow).

    Two smooth pieces chosen by the sign of z: z + log(1 + e⁻ᶻ) for z ≥ 0, log(1 + eᶻ) for z < 0.
    Both have the slope σ(z) everywhere, z = 0 included; the one-formula version
    relu(z) + log(1 + e^−|z|) gets 0 there from the kinks of relu and |z|, where σ(0) = ½.
    """
    if z.data >= 0.0:
        return z + (1.0 + (-z).exp()).log()
    return (1.0 + z.exp()).log()


def _shifted(loss: str, logits: Sequence[Value], example: int | None = None) -> list[Value]:
    """z − m for each logit, m = max z as a plain number: exp of a number ≤ 0 cannot overflow."""
    zs = _values(loss, logits, "logit", example)
    m = max(z.data for z in zs)  # a constant: softmax and logsumexp − z_y do not depend on it
    return [z - m for z in zs]


def _values(loss: str, xs: Iterable[Value] | Value, what: str, example: int | None = None) -> list[Value]:
    """xs as a non-empty list of Values, or an error naming the loss and the first offender."""
    where = "" if example is None else f" of example {example}"
    items = [xs] if isinstance(xs, Value) else ordered(loss, f"the {what}s{where}", xs)
    if not items:
        raise ValueError(f"{loss}: got no {what}s{where}")
    for i, x in enumerate(items):
        if not isinstance(x, Value):
            raise TypeError(f"{loss}: {what} {i}{where} must be a Value, got {described(x)}")
    return items


def _numbers(loss: str, xs: Targets, what: str) -> list[float]:
    """xs as a list of finite floats (a lone number is a list of one)."""
    items = ordered(loss, f"the {what}s", xs) if _is_sequence(xs) else [_lone(xs)]
    return [data_number(loss, f"{what} {i}", x) for i, x in enumerate(items)]


def _is_sequence(xs: object) -> bool:
    """Whether xs is a collection of targets rather than one (a number, a 0-d array, a Value)."""
    if isinstance(xs, np.ndarray):
        return xs.ndim > 0
    return isinstance(xs, Iterable) and not isinstance(xs, Value)


def _lone(x: object) -> object:
    """One target or label: a 0-d array's number, else x itself."""
    return x[()] if isinstance(x, np.ndarray) else x


def _one_output(got: str) -> ValueError:
    return ValueError(
        f"cross_entropy: each example must have k logits, one per class, got {got}: the model has one "
        "output. Give it one output per class (MLP(nin, [..., k])), or use binary_cross_entropy for two"
    )


def _pairs(
    loss: str, preds: Sequence[Value] | Value, targets: Targets, what: str = "target"
) -> tuple[list[Value], list[float]]:
    """Predictions and targets as two lists of the same non-zero length."""
    ps = _values(loss, preds, "prediction")
    ts = _numbers(loss, targets, what)
    if len(ps) != len(ts):
        raise ValueError(f"{loss}: {len(ps)} predictions but {len(ts)} {what}s")
    return ps, ts


def _labels(loss: str, labels: Iterable[int] | int, n: int) -> list[int]:
    """Class indices: integers, one per example (floats are refused: PyTorch reads those as probabilities)."""
    items = ordered(loss, "labels", labels) if _is_sequence(labels) else [_lone(labels)]
    if n == 0:
        raise ValueError(f"{loss}: got no examples")
    if len(items) != n:
        raise ValueError(f"{loss}: {n} examples but {len(items)} labels")
    classes = []
    for i, y in enumerate(items):
        if not is_int(y):
            raise TypeError(f"{loss}: label {show(y)} (example {i}) must be an integer class index")
        classes.append(int(y))
    return classes
