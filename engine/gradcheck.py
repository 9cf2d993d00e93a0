"""Gradient checking: the gradients backward computes, against central differences.

An input may be a lane value (a Value of a 1-d array, one number per example): each lane is then
an input of its own, perturbed alone, and gets a row of its own in the report (x[0], x[1]...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .modes import no_grad
from .value import Value, _to_float

__all__ = ["GradcheckReport", "GradcheckRow", "gradcheck", "numerical_grad"]

Function = Callable[..., "Value | float"]


def numerical_grad(f: Function, inputs: Sequence[Value | float], eps: float = 1e-6) -> list[Any]:
    """∂f/∂xᵢ ≈ (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε for each input (each lane of a lane input): error O(ε²)."""
    xs, _ = _unpack(inputs, eps)
    grads: list[Any] = []
    with no_grad():  # f is only evaluated here: recording its graph would be wasted work
        for i, x in enumerate(xs):
            if isinstance(x, np.ndarray):  # lanes: one central difference per lane, the others held
                lanes = np.empty(len(x))
                for j in range(len(x)):
                    hi, lo = x.copy(), x.copy()
                    hi[j] += eps
                    lo[j] -= eps
                    lanes[j] = _difference(f, xs, i, hi, lo) / (hi[j] - lo[j])
                grads.append(lanes)
            else:
                hi, lo = x + eps, x - eps
                grads.append(_difference(f, xs, i, hi, lo) / (hi - lo))  # the step floats really took
    return grads


@dataclass(frozen=True)
class GradcheckRow:
    """One input's analytical and numerical derivative, and whether they agree."""

    name: str
    value: float
    analytical: float
    numerical: float
    ok: bool

    @property
    def rel_error(self) -> float:
        """|a − n| / max(|a|, |n|), 0 when both are 0."""
        scale = max(abs(self.analytical), abs(self.numerical))
        return 0.0 if scale == 0.0 else abs(self.analytical - self.numerical) / scale


@dataclass(frozen=True)
class GradcheckReport:
    """The outcome of gradcheck: truthy when every gradient agrees; prints as a table."""

    rows: tuple[GradcheckRow, ...]
    eps: float
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        """Every input's |analytical − numerical| ≤ atol + rtol·|numerical|."""
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[GradcheckRow]:
        """The rows that disagree."""
        return [row for row in self.rows if not row.ok]

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        bad = len(self.failures)
        verdict = "ok" if not bad else f"FAILED: {bad} of {len(self.rows)} gradients disagree"
        lines = [
            f"gradcheck {verdict} (eps={self.eps:g}, rtol={self.rtol:g}, atol={self.atol:g})",
            f"  {'input':<12} {'value':>12} {'analytical':>14} {'numerical':>14} {'rel. error':>10}",
        ]
        for row in self.rows:
            mark = "" if row.ok else "  <-- disagrees"
            lines.append(
                f"  {row.name:<12} {row.value:>12.6g} {row.analytical:>14.8g} "
                f"{row.numerical:>14.8g} {row.rel_error:>10.2e}{mark}"
            )
        return "\n".join(lines)

    __repr__ = __str__  # a notebook cell ending in gradcheck(...) shows the table


def gradcheck(
    f: Function,
    inputs: Sequence[Value | float],
    eps: float = 1e-6,
    rtol: float = 1e-3,
    atol: float = 1e-5,
) -> GradcheckReport:
    """Check backward's ∂f/∂xᵢ against central differences: |a − n| ≤ atol + rtol·|n| for every i."""
    xs, names = _unpack(inputs, eps)
    leaves = [Value(x, label=name) for x, name in zip(xs, names)]
    out = _one_number(f(*leaves))
    if isinstance(out, Value) and out.requires_grad:
        out.backward()
    # An f that ignores its inputs (or returns a plain number) has gradient 0 everywhere.
    analytical = [leaf.grad for leaf in leaves]
    numerical = numerical_grad(f, xs, eps)
    rows = tuple(
        GradcheckRow(f"{name}[{j}]" if lanes else name, x, a, n, abs(a - n) <= atol + rtol * abs(n))
        for name, xx, aa, nn in zip(names, xs, analytical, numerical)
        for lanes in [isinstance(xx, np.ndarray)]
        for j, (x, a, n) in enumerate(zip(*(np.atleast_1d(v).tolist() for v in (xx, aa, nn))))
    )
    return GradcheckReport(rows, eps, rtol, atol)


def _unpack(inputs: Sequence[Value | float], eps: float) -> tuple[list[Any], list[str]]:
    if not (isinstance(eps, (int, float)) and eps > 0.0 and math.isfinite(eps)):
        raise ValueError(f"gradcheck: eps must be a positive finite number, got {eps!r}")
    if len(inputs) == 0:
        raise ValueError("gradcheck: needs at least one input to differentiate with respect to")
    xs, names = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            xs.append(np.array(x.data) if x.lanes is not None else x.data)  # lanes: an array of its own
            names.append(x.label or f"x{i}")
        else:  # a number, or a 1-d array: its lanes (checked as Value checks them)
            xs.append(Value(x).data if isinstance(x, np.ndarray) else _to_float(x, "gradcheck"))
            names.append(f"x{i}")
    return xs, names


def _difference(f: Function, xs: list[Any], i: int, hi: Any, lo: Any) -> float:
    """f(..., hi, ...) − f(..., lo, ...), input i replaced."""
    return _evaluate(f, [*xs[:i], hi, *xs[i + 1 :]]) - _evaluate(f, [*xs[:i], lo, *xs[i + 1 :]])


def _evaluate(f: Function, xs: list[Any]) -> float:
    out = _one_number(f(*[Value(x) for x in xs]))
    return out.data if isinstance(out, Value) else _to_float(out, "gradcheck")


def _one_number(out: Value | float) -> Value | float:
    """f's result, if it is one number (a scalar Value or a float); a lane value is refused."""
    if isinstance(out, Value) and out.lanes is not None:
        raise ValueError(
            f"gradcheck: f must return one number, got a lane value of {out.lanes} lanes: "
            "reduce it with .sum() or .mean()"
        )
    return out
