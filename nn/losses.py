"""Loss functions over Values, each a composition of Value ops (no derivative code of its own).

Predictions are Values: a list of them, or one Value for a single example (for cross_entropy, a
list of logits per example). Targets are plain numbers: a list, a numpy array, or one number.
For a batch computed as lanes (a model called on a 2-d X), the predictions are a lane value, or a
list of k lane values for k outputs (cross_entropy: one per class), and the targets an array with
one row per lane, (n,) or (n, k): each term is then a lane value, reduced by .sum() or .mean().
`reduction` is "mean" (the default) or "sum", as in PyTorch: over every example (and output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from operator import add
from typing import Literal

import numpy as np

from engine import Value

from ._checks import check_choice, data_number, described, is_int, non_negative, numeric_array, ordered, show

__all__ = [
    "Reduction",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge_loss",
    "l1_penalty",
    "l2_penalty",
    "mse_loss",
    "softmax",
]

Reduction = Literal["mean", "sum"]
Targets = Iterable[float] | float
Target = float | np.ndarray  # one example's target, or one output's targets over the lanes


def mse_loss(preds: Sequence[Value] | Value, targets: Targets, reduction: Reduction = "mean") -> Value:
    """L = mean over i of (pᵢ − tᵢ)²."""
    ps, ts = _pairs("mse_loss", preds, targets)
    return _reduce("mse_loss", [(p - t) ** 2 for p, t in zip(ps, ts)], reduction)


def hinge_loss(scores: Sequence[Value] | Value, labels: Targets, reduction: Reduction = "mean") -> Value:
    """L = mean over i of max(0, 1 − yᵢ·sᵢ), labels yᵢ = ±1."""
    ss, ys = _pairs("hinge_loss", scores, labels, "label")
    bad = _first_bad(ys, lambda y: (y == -1.0) | (y == 1.0))
    if bad is not None:
        y, where = bad
        # 0/1 class labels are the classic mistake: say how to convert them.
        hint = ": 0/1 labels? convert them with y * 2 - 1, as micrograd's demo does" if y == 0.0 else ""
        raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y:g} ({where}){hint}")
    # 1 − y·s is below 0 once the example is on the right side with a margin: no loss, no gradient.
    # Written as micrograd's demo writes it, 1 + (−y)·s: two ops per example, and the same numbers.
    return _reduce("hinge_loss", [(1.0 + (-y) * s).relu() for s, y in zip(ss, ys)], reduction)


def binary_cross_entropy(
    logits: Sequence[Value] | Value, labels: Targets, reduction: Reduction = "mean"
) -> Value:
    """L = mean over i of softplus(zᵢ) − yᵢ·zᵢ = −[yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ))], yᵢ in [0, 1]."""
    zs, ys = _pairs("binary_cross_entropy", logits, labels, "label")
    bad = _first_bad(ys, lambda y: (y >= 0.0) & (y <= 1.0))
    if bad is not None:
        y, where = bad
        hint = ": -1/+1 labels? convert them with (y + 1) / 2" if y == -1.0 else ""
        raise ValueError(
            f"binary_cross_entropy: labels must be 0, 1 or a probability in [0, 1], got {y:g} ({where}){hint}"
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
    if items and isinstance(items[0], Value) and items[0].lanes is not None:
        return _cross_entropy_lanes(_values("cross_entropy", items, "logit"), labels, reduction)
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


def _cross_entropy_lanes(zs: list[Value], labels: Iterable[int] | int, reduction: str) -> Value:
    """cross_entropy on k lane values, one per class: each lane is an example, with its label."""
    if len(zs) == 1:
        raise _one_output("1 lane value")
    ys = np.array(_labels("cross_entropy", labels, zs[0].lanes or 1))
    outside = np.flatnonzero((ys < 0) | (ys >= len(zs)))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"cross_entropy: label {ys[i]} is out of range for {len(zs)} logits (example {i})")
    shifted = _shifted("cross_entropy", zs)
    # z_y − m of each lane: the label's one-hot column picks it (the other classes times 0, exactly 0).
    picked = _sum([s * (ys == j).astype(np.float64) for j, s in enumerate(shifted)])
    return _reduce("cross_entropy", [_sum([s.exp() for s in shifted]).log() - picked], reduction)


def l1_penalty(params: Iterable[Value], alpha: float = 1e-4) -> Value:
    """R = α · Σ |p|, the lasso: its slope α·sign(p) does not shrink with p, so small weights reach 0."""
    alpha = non_negative("l1_penalty", "alpha", alpha)
    ps = _values("l1_penalty", params, "parameter")
    return alpha * _sum([p.abs() for p in ps])


def l2_penalty(params: Iterable[Value], alpha: float = 1e-4) -> Value:
    """R = α · Σ p², weight decay as a loss term (micrograd's demo uses α = 1e-4)."""
    alpha = non_negative("l2_penalty", "alpha", alpha)
    ps = _values("l2_penalty", params, "parameter")
    # p·p, as micrograd's demo writes it: the value of p ** 2 to the last bit, from a cheaper op;
    # backward hands p its g·p along each of the two edges, as micrograd's does.
    return alpha * _sum([p * p for p in ps])


# -- helpers -----------------------------------------------------------------------------------


def _sum(terms: Sequence[Value]) -> Value:
    """t₀ + t₁ + ...: without sum()'s leading 0, which would add a constant node."""
    return reduce(add, terms)


def _reduce(loss: str, terms: Sequence[Value], reduction: str) -> Value:
    """The sum or mean of the terms: one per example, or lane values (one per output) over the examples."""
    how = check_choice(loss, "reduction", reduction, ("mean", "sum"))
    if terms[0].lanes is not None:  # each term's lanes summed (or averaged) into one number
        parts = [t.sum() if how == "sum" else t.mean() for t in terms]
        return parts[0] if len(parts) == 1 else _reduce(loss, parts, how)
    if how == "sum":
        return _sum(terms)
    return _sum(terms) * (1.0 / len(terms))


def _softplus(z: Value) -> Value:
    """softplus(z) = log(1 + eᶻ), from exp of a non-positive number only (no overflow).

    Two smooth pieces chosen by the sign of z: z + log(1 + e⁻ᶻ) for z ≥ 0, log(1 + eᶻ) for z < 0.
    Both have the slope σ(z) everywhere, z = 0 included; the one-formula version
    relu(z) + log(1 + e^−|z|) gets 0 there from the kinks of relu and |z|, where σ(0) = ½.
    A lane value takes each lane's piece by constant masks: up·z + log(1 + e^(s·z)), with up = 1,
    s = −1 where z ≥ 0 and up = 0, s = 1 below, so the numbers and slopes are the scalar pieces'.
    """
    if z.lanes is not None:
        up = np.asarray(z.data) >= 0.0
        mask, sign = (Value(m, requires_grad=False) for m in (up.astype(np.float64), np.where(up, -1.0, 1.0)))
        return z * mask + (1.0 + (z * sign).exp()).log()
    if z.data >= 0.0:
        return z + (1.0 + (-z).exp()).log()
    return (1.0 + z.exp()).log()


def _shifted(loss: str, logits: Sequence[Value], example: int | None = None) -> list[Value]:
    """z − m for each logit, m = max z as a plain number: exp of a number ≤ 0 cannot overflow."""
    zs = _values(loss, logits, "logit", example)
    # A constant: softmax and logsumexp − z_y do not depend on it. For lane values, each lane's own max.
    m = max(z.data for z in zs) if zs[0].lanes is None else np.max([z.data for z in zs], axis=0)
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
    first = items[0].lanes
    for i, x in enumerate(items):
        # A list of scalar Values is one per example; a list of lane values, one per output.
        if (type(x.data) is float) if first is None else x.lanes == first:  # no property call per scalar
            continue
        if x.lanes != first:
            raise ValueError(
                f"{loss}: {what} {i}{where} has {_lanes(x)} but {what} 0 has {_lanes(items[0])}: "
                f"lane values each carry the whole batch, so every {what} must have the same lanes"
            )
    return items


def _lanes(x: Value) -> str:
    return "no lanes (a scalar)" if x.lanes is None else f"{x.lanes} lanes"


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
) -> tuple[list[Value], list[Target]]:
    """Predictions and targets as two lists of the same non-zero length: numbers, one per example,
    or for k lane values of n lanes, the k columns of targets of shape (n,) or (n, k)."""
    ps = _values(loss, preds, "prediction")
    n = ps[0].lanes
    if n is not None:
        return ps, _columns(loss, targets, n, len(ps), what)
    ts = _numbers(loss, targets, what)
    if len(ps) != len(ts):
        raise ValueError(f"{loss}: {len(ps)} predictions but {len(ts)} {what}s")
    return ps, list(ts)


def _columns(loss: str, targets: Targets, n: int, k: int, what: str) -> list[Target]:
    """Targets for k outputs of n lanes, (n,) or (n, 1) for one, (n, k) for k: one float array per output."""
    given = numeric_array(loss, f"the {what}s", targets if _is_sequence(targets) else [targets])
    array = given[:, None] if given.ndim == 1 and k == 1 else given
    if array.shape != (n, k):
        want = f"({n},)" if k == 1 else f"({n}, {k})"
        raise ValueError(
            f"{loss}: {k} prediction{'s' if k > 1 else ''} of {n} lanes need {what}s of shape {want}, "
            f"one per example{' and output' if k > 1 else ''}, got shape {given.shape}"
        )
    return list(array.astype(np.float64).T)


def _first_bad(ts: Sequence[Target], ok: Callable[[np.ndarray], np.ndarray]) -> tuple[float, str] | None:
    """The first target, by example then output, that ok refuses, and where: "example 3, output 1"."""
    lanes = isinstance(ts[0], np.ndarray)
    grid = np.column_stack(ts) if lanes else np.array(ts, dtype=np.float64)[:, None]
    bad = np.argwhere(~ok(grid))
    if not bad.size:
        return None
    i, j = (int(v) for v in bad[0])
    return float(grid[i, j]), f"example {i}" + (f", output {j}" if grid.shape[1] > 1 else "")


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
