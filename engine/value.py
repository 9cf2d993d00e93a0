"""Value: a number (or one number per example: lanes) that records how it was computed, for backward."""

from __future__ import annotations

import copy
import functools
import math
import numbers
import operator
import sys
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, SupportsFloat, SupportsIndex

import numpy as np

from .graph import _post_order
from .graph import backward as _backward_pass
from .graph import zero_grad as _zero_graph
from .modes import describe, mode, observe

__all__ = ["RULES", "LocalGrads", "Rule", "Value", "rule_of"]

# Lanes: a Value whose data is a 1-d float64 array, one entry per example, so that the graph of one
# example carries a whole batch; each op is one numpy operation. Python's float arithmetic gives
# inf and NaN silently where IEEE 754 says so (1e200 * 1e200, inf - inf); numpy gives the same
# numbers but warns. The scalar rules are the reference, so lanes stay as quiet as scalars: the
# warnings of numpy's float arithmetic are ignored when they come from the engine's own ops and
# rules (no cost on any path; the domain errors Python raises are raised for lanes explicitly).
warnings.filterwarnings(
    "ignore",
    r"(overflow|underflow|divide by zero|invalid value) encountered",
    RuntimeWarning,
    r"engine\.(value|graph|tape)\Z",
)

# An op's backward rule: given the output node and its gradient g = ∂root/∂out, what each input's
# grad gets, in input order: ∂out/∂input · g, computed as PyTorch computes it. Usually that is the
# product, but not always: relu passes exactly 0 below zero even when g is inf (a mask, not 0 · g),
# and a quotient hands its numerator g / b, not (1/b) · g, which overflows for tiny b. So the rule
# takes g, and called with the default g = 1 it gives the local derivatives ∂out/∂input themselves.
# graph.backward adds what the rule returns into each input: the one place the chain rule runs.
LocalGrads = Callable[["Value", float], tuple[float, ...]]


class Value:
    """A node of a computation graph: its number (or lanes: one per example), gradient, and op."""

    # Slots and no per-node closure keep a node at about 170 bytes (micrograd's: about 660).
    # _scope is left unset (no time spent) unless a tagging scope() is active: see scope_of().
    __slots__ = ("data", "grad", "label", "requires_grad", "_prev", "_op", "_backward", "_scope")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy meets a Value (`y * v`, y an array): a numeric array is lifted to lanes, as a number is."""
        # Without this, numpy would apply the op to each entry of y and the Value, one object at a
        # time, and return an object array. Object arrays of Values still work entry by entry.
        if any(isinstance(x, np.ndarray) and x.dtype == object for x in inputs):
            return ufunc(*(_boxed(x) if isinstance(x, Value) else x for x in inputs), **kwargs)
        op = _NUMPY_OPS.get(ufunc)
        operands = [_lift(x) for x in inputs]
        if method != "__call__" or kwargs or op is None or None in operands:
            return NotImplemented
        return op(*operands)

    def __init__(self, data: SupportsFloat | np.ndarray, label: str = "", requires_grad: bool = True) -> None:
        # Typed as the scalar path's float: a lane value holds a 1-d float64 ndarray in data and grad.
        self.data: float = data if type(data) is float else _to_data(data, "Value")
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {type(label).__name__}: {label!r}")
        self.grad: float = 0.0 if type(self.data) is float else _zeros(self.data)
        self.label: str = label
        self.requires_grad: bool = bool(requires_grad)
        self._prev: tuple[Value, ...] = ()
        self._op: str = ""
        self._backward: LocalGrads | None = None
        if mode.observe:
            observe(self, "", ())

    @property
    def lanes(self) -> int | None:
        """The number of lanes (examples) of a lane value; None for a scalar."""
        data: Any = self.data
        return None if type(data) is float else len(data)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        frozen = "" if self.requires_grad else ", requires_grad=False"
        if type(self.data) is float:
            return f"Value(data={self.data!r}, grad={self.grad!r}{label}{frozen})"
        data, grad = _summary(self.data), _summary(self.grad)
        return f"Value(lanes={self.lanes}, data={data}, grad={grad}{label}{frozen})"

    def __bool__(self) -> bool:
        """bool(v) = v.data != 0, as for a one-element tensor in PyTorch (NaN is true); lanes raise."""
        if type(self.data) is float:
            return self.data != 0.0
        raise ValueError(
            f"Value: the truth value of a lane value ({self.lanes} lanes) is ambiguous, as for a "
            "numpy array; reduce it with .sum() or .mean(), or test its .data"
        )

    # -- primitives: compute, make `out` with its inputs, op and backward rule, return ----------

    def __add__(self, other: Value | float) -> Value:
        """f(a, b) = a + b."""
        rhs = other if isinstance(other, Value) else _lift(other)  # no call in the common case
        if rhs is None:
            return NotImplemented
        try:
            data = self.data + rhs.data
        except ValueError:  # lanes of different lengths
            raise _mismatch("+", self, rhs) from None
        return _result(data, (self, rhs), "+", _add_grads)

    def __mul__(self, other: Value | float) -> Value:
        """f(a, b) = a · b."""
        rhs = other if isinstance(other, Value) else _lift(other)
        if rhs is None:
            return NotImplemented
        try:
            data = self.data * rhs.data
        except ValueError:  # lanes of different lengths
            raise _mismatch("*", self, rhs) from None
        return _result(data, (self, rhs), "*", _mul_grads)

    def __pow__(self, other: Value | float) -> Value:
        """f(x, y) = x ** y; a plain-number exponent is part of the op (`**2`), not an input."""
        if type(other) is int or type(other) is float:  # the common case first: x ** 2
            return _pow_number(self, _to_float(other, "pow"))
        if not isinstance(other, Value):
            try:
                n = _to_float(other, "pow")
            except TypeError:
                lifted = _lift(other)  # an array of exponents: a constant lane input
                if lifted is None:
                    return NotImplemented
                other = lifted
            else:
                return _pow_number(self, n)
        x, y = self.data, other.data
        if type(x) is float and type(y) is float:
            if other.requires_grad and x < 0.0 and mode.grad_enabled:
                raise _no_real_derivative(self, other, None)
            data = _pow(self, y, other)
        else:
            if other.requires_grad and mode.grad_enabled:
                i = _first_lane(np.less(x, 0.0))
                if i is not None:
                    raise _no_real_derivative(self, other, i)
            data = _lane_pow(self, other, y)
        return _result(data, (self, other), "**", _pow_grads)

    def exp(self) -> Value:
        """f(x) = eˣ."""
        x = self.data
        if type(x) is float:
            try:
                data = math.exp(x)
            except OverflowError:
                raise _exp_overflow(self, None) from None
        else:
            data = np.exp(x)
            i = _first_lane(np.isinf(data) & np.isfinite(x))
            if i is not None:
                raise _exp_overflow(self, i)
        return _result(data, (self,), "exp", _exp_grads)

    def log(self) -> Value:
        """f(x) = ln x, for x > 0."""
        x = self.data
        if type(x) is float:
            if x <= 0.0:
                raise ValueError(f"log: needs a positive input, got {describe(self)}")
            return _result(math.log(x), (self,), "log", _log_grads)
        i = _first_lane(np.less_equal(x, 0.0))
        if i is not None:
            raise ValueError(f"log: needs a positive input, got {describe(self, i)}")
        return _result(np.log(x), (self,), "log", _log_grads)

    def tanh(self) -> Value:
        """f(x) = tanh x = (e²ˣ − 1) / (e²ˣ + 1)."""
        x = self.data
        data = math.tanh(x) if type(x) is float else np.tanh(x)  # tanh never overflows
        return _result(data, (self,), "tanh", _tanh_grads)

    def sigmoid(self) -> Value:
        """f(x) = σ(x) = 1 / (1 + e⁻ˣ)."""
        x = self.data
        # exp of a non-positive number only: no overflow for any x.
        if type(x) is float:
            if x >= 0.0:
                data = 1.0 / (1.0 + math.exp(-x))
            else:
                e = math.exp(x)
                data = e / (1.0 + e)
        else:
            e = np.exp(-np.abs(x))  # e^-x where x ≥ 0, e^x below: the two branches at once
            data = np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
        return _result(data, (self,), "sigmoid", _sigmoid_grads)

    def relu(self) -> Value:
        """f(x) = max(0, x)."""
        x = self.data
        if type(x) is float:
            return _result(
                0.0 if x < 0.0 else x, (self,), "relu", _relu_grads
            )  # NaN, -0.0 stay, as in PyTorch
        return _result(np.where(x < 0.0, 0.0, x), (self,), "relu", _relu_grads)

    def __truediv__(self, other: Value | float) -> Value:
        """f(a, b) = a / b.

        A primitive, not a · b⁻¹: the composition rounds twice (Value(3) / 10 would be
        0.30000000000000004, not Python's 0.3) and overflows where the quotient does not
        (1e-10 / 1e-310 = 1e300, but 1 / 1e-310 is inf).
        """
        rhs = other if isinstance(other, Value) else _lift(other)
        if rhs is None:
            return NotImplemented
        a, b = self.data, rhs.data
        if type(a) is float and type(b) is float:
            if b == 0.0:
                raise ZeroDivisionError(f"division: {describe(self)} / {describe(rhs)} divides by zero")
            return _result(a / b, (self, rhs), "/", _div_grads)
        try:
            data = a / b
        except ValueError:  # lanes of different lengths
            raise _mismatch("/", self, rhs) from None
        if type(b) is float and b == 0.0:  # lanes / 0: no one lane to name
            raise ZeroDivisionError(f"division: {describe(self)} / {describe(rhs)} divides by zero")
        i = _first_lane(np.equal(b, 0.0))
        if i is not None:
            raise ZeroDivisionError(f"division: {describe(self, i)} / {describe(rhs, i)} divides by zero")
        return _result(data, (self, rhs), "/", _div_grads)

    def sqrt(self) -> Value:
        """f(x) = √x, for x ≥ 0.

        A primitive, as in PyTorch: √(-0.0) is -0.0, so its slope 1 / (2√x) is -inf there, +inf at +0.0.
        """
        x = self.data
        if type(x) is float:
            if x < 0.0:
                raise ValueError(f"sqrt: needs a non-negative input, got {describe(self)}")
            return _result(math.sqrt(x), (self,), "sqrt", _sqrt_grads)
        i = _first_lane(np.less(x, 0.0))
        if i is not None:
            raise ValueError(f"sqrt: needs a non-negative input, got {describe(self, i)}")
        return _result(np.sqrt(x), (self,), "sqrt", _sqrt_grads)

    def abs(self) -> Value:
        """f(x) = |x|."""
        x = self.data
        return _result(abs(x) if type(x) is float else np.abs(x), (self,), "abs", _abs_grads)

    def sum(self) -> Value:
        """f(x) = Σᵢ xᵢ over the lanes: a lane value's total, a scalar; a scalar Value is returned as is."""
        x = self.data
        if type(x) is float:
            return self
        return _result(float(np.sum(x)), (self,), "sum", _sum_grads)

    def mean(self) -> Value:
        """f(x) = (1/n) Σᵢ xᵢ over the n lanes, a scalar; a scalar Value is returned as is."""
        x: Any = self.data
        if type(x) is float:
            return self
        return _result(float(np.sum(x)) / len(x), (self,), "mean", _mean_grads)

    # -- compositions: no derivative code of their own -------------------------------------------

    def __neg__(self) -> Value:
        """-a = a · (−1)."""
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        """a − b = a + (−b)."""
        rhs = _lift(other)
        return NotImplemented if rhs is None else self + (-rhs)

    def __abs__(self) -> Value:
        """abs(a) = a.abs()."""
        return self.abs()

    # Numbers on the left: lift them to constants and keep the operands in written order.
    def __radd__(self, other: float) -> Value:
        """f(a, b) = a + b, a a number."""
        lhs = _lift(other)
        return NotImplemented if lhs is None else lhs + self

    def __rmul__(self, other: float) -> Value:
        """f(a, b) = a · b, a a number."""
        lhs = _lift(other)
        return NotImplemented if lhs is None else lhs * self

    def __rsub__(self, other: float) -> Value:
        """f(a, b) = a − b, a a number."""
        lhs = _lift(other)
        return NotImplemented if lhs is None else lhs - self

    def __rtruediv__(self, other: float) -> Value:
        """f(a, b) = a / b, a a number."""
        lhs = _lift(other)
        return NotImplemented if lhs is None else lhs / self

    def __rpow__(self, other: float) -> Value:
        """f(a, y) = a ** y, a a number."""
        lhs = _lift(other)
        return NotImplemented if lhs is None else lhs**self

    # -- the graph ------------------------------------------------------------------------------

    def backward(self, grad: float | np.ndarray | None = None) -> None:
        """Fill .grad of every node this one depends on with ∂self/∂node (leaves accumulate).

        grad is ∂L/∂self to start from: 1.0 by default; required, one per lane, for a lane value.
        """
        _backward_pass(self, grad)

    def zero_grad(self) -> None:
        """Set .grad = 0 on this node and every node it depends on."""
        _zero_graph(self)

    # -- copies: pickle and deepcopy go through one flat table of the graph (see _Table) --------

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        """For pickle and copy.deepcopy: this node as a row of a flat table of its graph."""
        table, row = _table_of(self)
        return (_row, (table, row))

    def __copy__(self) -> Value:
        """copy.copy: a new node with the same number, gradient, label, op and the same inputs."""
        twin: Value = _new(Value)
        for name in Value.__slots__:
            if hasattr(self, name):  # _scope is set only on values made inside a scope
                setattr(twin, name, getattr(self, name))
        if type(self.data) is not float:  # lanes: its own arrays, as backward adds into .grad in place
            twin.data, twin.grad = _copied(self.data), _copied(self.grad)
        return twin


# -- backward rules: what each input's grad gets, ∂out/∂input · g, as PyTorch computes it ------
# (tools/autograd/derivatives.yaml). Each is called with g = 1.0 for the local derivatives alone.


def _add_grads(out: Value, g: float = 1.0) -> tuple[float, float]:
    """∂(a + b)/∂a = 1, ∂(a + b)/∂b = 1."""
    return (g, g)


def _mul_grads(out: Value, g: float = 1.0) -> tuple[float, float]:
    """∂(a · b)/∂a = b, ∂(a · b)/∂b = a."""
    a, b = out._prev
    return (g * b.data, g * a.data)  # a product, so 0 · inf = NaN here, as in PyTorch


def _div_grads(out: Value, g: float = 1.0) -> tuple[float, float]:
    """∂(a / b)/∂a = 1/b, ∂(a / b)/∂b = −a/b², given as g / b and −g · (a/b) / b."""
    b = out._prev[1].data
    # Dividing g, never multiplying by 1/b: for b = 1e-310, 1/b is inf, but g / b may be finite.
    try:
        return (g / b, -g * (out.data / b))
    except ZeroDivisionError:  # b was set to 0 after the forward
        return (_divide(g, b), -g * _divide(out.data, b))


def _pow_grads(out: Value, g: float = 1.0) -> tuple[float, float]:
    """∂(x ** y)/∂x = y · x^(y−1) (0 for y = 0), ∂(x ** y)/∂y = x^y · ln x (0 at x = 0, y ≥ 0)."""
    x: Any = out._prev[0].data
    y: Any = out._prev[1].data
    if type(out.data) is float:
        dx = 0.0 if y == 0.0 else g * _dpow(x, y)  # x ** 0 is flat in x: exactly 0, whatever g is
        dy = g * (0.0 if x == 0.0 and y >= 0.0 else out.data * _log(x))  # ln x < 0: NaN, as in PyTorch
        return (dx, dy)
    # Lanes: the same choices, lane by lane.
    dx_lanes: Any = np.where(np.equal(y, 0.0), 0.0, g * _dpow(x, y))
    dy_lanes: Any = g * np.where(np.equal(x, 0.0) & np.greater_equal(y, 0.0), 0.0, out.data * _log(x))
    return (dx_lanes, dy_lanes)


def _pow_const_grads(n: float, out: Value, g: float = 1.0) -> tuple[float]:
    """∂(x ** n)/∂x = n · x^(n−1), 0 for n = 0 (n a plain number, bound with functools.partial)."""
    x = out._prev[0].data
    if n == 0.0:  # x ** 0 is flat in x: exactly 0, whatever g is
        return (0.0 if type(x) is float else np.zeros_like(x),)  # type: ignore[return-value]  # lanes
    return (g * _dpow(x, n),)


def _sqrt_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂√x/∂x = 1 / (2√x): ±inf at ±0.0, given as g / (2√x)."""
    try:
        return (g / (2.0 * out.data),)
    except ZeroDivisionError:  # √x = ±0: the slope is vertical
        return (_divide(g, 2.0 * out.data),)


def _exp_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂eˣ/∂x = eˣ."""
    return (g * out.data,)


def _log_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂ln x/∂x = 1/x, given as g / x."""
    x = out._prev[0].data
    try:
        return (g / x,)
    except ZeroDivisionError:  # x was set to 0 after the forward
        return (_divide(g, x),)


def _tanh_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂tanh x/∂x = 1 − tanh² x, given as g · (1 − t)(1 + t)."""
    t = out.data
    return (g * ((1.0 - t) * (1.0 + t)),)  # 1 − t·t would keep few digits where t is near ±1


def _sigmoid_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂σ(x)/∂x = σ(x)(1 − σ(x)), given as g · (1 − σ) · σ."""
    s = out.data
    return (g * (1.0 - s) * s,)


def _relu_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂max(0, x)/∂x = 1 for x > 0, else 0 (0 at the kink, as in PyTorch)."""
    # A mask, not a product: below zero the input gets exactly 0 even if g is inf or NaN.
    y: Any = out.data
    if type(y) is float:
        return (0.0 if y <= 0.0 else g,)
    mask: Any = np.where(y <= 0.0, 0.0, g)
    return (mask,)


def _abs_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂|x|/∂x = sign x (0 at x = 0, as in PyTorch)."""
    x = out._prev[0].data
    if type(x) is float:
        return (g * (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0),)
    return (g * (np.greater(x, 0.0) * 1.0 - np.less(x, 0.0)),)  # NaN: 0, as above (np.sign gives NaN)


def _sum_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂(Σᵢ xᵢ)/∂xᵢ = 1 for every lane i."""
    x: Any = out._prev[0].data
    return (np.full(np.shape(x), g),)  # type: ignore[return-value]  # lanes (a tape's rows of them too)


def _mean_grads(out: Value, g: float = 1.0) -> tuple[float]:
    """∂((1/n) Σᵢ xᵢ)/∂xᵢ = 1/n for every lane i, given as g / n."""
    x: Any = out._prev[0].data
    return (np.full(np.shape(x), g / np.shape(x)[-1]),)  # type: ignore[return-value]  # lanes


# -- the one table of derivative rules: per op symbol, its inputs, its rule, each ∂out/∂input in words --


@dataclass(frozen=True)
class Rule:
    """An op's local derivatives: its input names, the function computing them, each as a formula."""

    inputs: tuple[str, ...]  # in the order of the node's inputs
    local_grads: Callable[..., tuple[float, ...]]  # the op's backward rule (see LocalGrads)
    # ∂out/∂input per input, written in the input names in braces, {out} for the output, and for
    # a plain-number power **n, {n} and {n - 1}: captions fill in the names values are drawn with.
    formulas: tuple[str, ...]


RULES: dict[str, Rule] = {
    "+": Rule(("a", "b"), _add_grads, ("1", "1")),
    "*": Rule(("a", "b"), _mul_grads, ("{b}", "{a}")),
    "/": Rule(("a", "b"), _div_grads, ("1/{b}", "−{a}/{b}²")),
    "**": Rule(("x", "y"), _pow_grads, ("{y}·{x}^({y}−1)", "{x}^{y}·ln {x}")),
    "**n": Rule(("x",), _pow_const_grads, ("{n}·{x}^{n - 1}",)),  # symbol **2, **-1...: n is part of the op
    "**0.5": Rule(("x",), _sqrt_grads, ("0.5·{x}^-0.5",)),  # x ** 0.5 is √x, as in PyTorch
    "exp": Rule(("x",), _exp_grads, ("e^{x}",)),
    "log": Rule(("x",), _log_grads, ("1/{x}",)),
    "sqrt": Rule(("x",), _sqrt_grads, ("1/(2√{x})",)),
    "tanh": Rule(("x",), _tanh_grads, ("1 − {out}²",)),
    "sigmoid": Rule(("x",), _sigmoid_grads, ("{out}·(1 − {out})",)),
    "relu": Rule(("x",), _relu_grads, ("1 if {x} > 0 else 0",)),
    "abs": Rule(("x",), _abs_grads, ("sign {x}",)),
    # reductions over lanes: a lane value in, a scalar out
    "sum": Rule(("x",), _sum_grads, ("1",)),
    "mean": Rule(("x",), _mean_grads, ("1/n",)),
}


def rule_of(op: str) -> Rule | None:
    """The rule of the op with symbol op (a node's _op), "**n" for a plain-number power; None if unknown."""
    if op in RULES:
        return RULES[op]
    return RULES["**n"] if op.startswith("**") and op != "**" else None


def _dpow(x: float, n: float) -> float:
    """∂(x ** n)/∂x = n · x^(n−1), for n ≠ 0; ±inf where that slope is vertical or overflows."""
    if type(x) is float and type(n) is float and n == 2.0:  # the commonest power: x¹ is x exactly
        return 2.0 * x
    return n * _ieee_pow(x, n - 1.0)


# Python raises where IEEE 754 arithmetic (and so PyTorch) gives ±inf or NaN. Backward must not
# raise where PyTorch has an answer, so the few operations that can are given IEEE's result.


def _divide(a: float, b: float) -> float:
    """a / b as IEEE 754 computes it: ±inf or NaN for b = ±0, where Python raises."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _ieee_pow(x: float, y: float) -> float:
    """x ** y as C's pow computes it: ±inf or NaN where Python raises (or goes complex)."""
    if type(x) is not float or type(y) is not float:
        return np.power(x, y)  # type: ignore[no-any-return]  # lanes: numpy's power is C's pow
    try:
        return math.pow(x, y)
    except OverflowError:
        return -math.inf if x < 0.0 and y % 2.0 == 1.0 else math.inf
    except ValueError:  # 0 to a negative power, or a negative base to a non-integer power
        if x != 0.0:
            return math.nan
        return math.copysign(math.inf, x) if y % 2.0 == 1.0 else math.inf  # odd y keeps the zero's sign


def _log(x: float) -> float:
    """ln x as IEEE 754 computes it: -inf at 0, NaN below, where Python raises."""
    if type(x) is not float:
        return np.log(x)  # type: ignore[no-any-return]  # lanes: numpy's log is IEEE's
    return math.log(x) if x > 0.0 else -math.inf if x == 0.0 else math.nan


# -- copies: a graph pickled or deep-copied as one flat table ----------------------------------
# Pickling a node as an object holding its inputs would recurse once per level of the graph (a
# 100,000-op chain exceeds any recursion limit). Instead a node is pickled as (table, row): the
# table lists the nodes of its graph inputs first, each with its fields and its inputs' rows, and
# is rebuilt in one loop. A node used twice is one row, so sharing survives. Values pickled
# together (a list of outputs) share nodes too: while a table is being pickled it is registered
# here, and a node already in one is pickled as its (table, row), not as the root of a new table.

_LIVE: dict[int, weakref.ref[_Table]] = {}  # id(node) -> the live table it is in


class _Table:
    """The nodes of root's graph that are in no other live table, inputs first (root last)."""

    __slots__ = ("__weakref__", "nodes", "rows")

    def __init__(self, root: Value) -> None:
        # Usually the only table of its pickle: then a plain set, four times as fast to search.
        self.nodes: list[Value] = _post_order(root, _InLiveTables() if _LIVE else set())
        self.rows = {id(node): i for i, node in enumerate(self.nodes)}
        ref = weakref.ref(self, functools.partial(_forget, list(self.rows)))
        _LIVE.update(dict.fromkeys(self.rows, ref))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._fields(lambda node: node),))

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Value]:
        # Inputs from another table are copied through memo, which holds that table's copy.
        nodes = _rebuild(self._fields(lambda node: copy.deepcopy(node, memo)))
        for node in nodes:
            if type(node.data) is not float:  # lanes: arrays of its own, not the original's
                node.data, node.grad = _copied(node.data), _copied(node.grad)
        return nodes

    def _fields(self, other_table: Callable[[Value], Value]) -> list[tuple[Any, ...]]:
        """Each node as (data, grad, label, requires_grad, op, backward rule, input rows, scope)."""
        rows = self.rows

        def row(x: Value) -> int | Value:
            i = rows.get(id(x))
            return other_table(x) if i is None else i

        return [
            (
                node.data,
                node.grad,
                node.label,
                node.requires_grad,
                node._op,
                node._backward,
                tuple(map(row, node._prev)) if node._prev else (),
                getattr(node, "_scope", ()),
            )
            for node in self.nodes
        ]


class _InLiveTables(set[Value]):
    """A set that also holds every node of a live table: the nodes a new table leaves out."""

    def __contains__(self, node: object) -> bool:
        return super().__contains__(node) or _find(node) is not None


def _table_of(node: Value) -> tuple[_Table, int]:
    """The live table node is in and its row, or a new table of its graph (node last)."""
    found = _find(node)
    if found is not None:
        return found
    table = _Table(node)
    return table, len(table.nodes) - 1


def _find(node: object) -> tuple[_Table, int] | None:
    ref = _LIVE.get(id(node))
    table = None if ref is None else ref()
    if table is None:
        return None
    row = table.rows[id(node)]
    return (table, row) if table.nodes[row] is node else None  # else the id names a new object


def _forget(ids: list[int], ref: weakref.ref[_Table]) -> None:
    """A table is gone (its pickle or deepcopy is done): its nodes are in no live table."""
    for key in ids:
        if _LIVE.get(key) is ref:
            del _LIVE[key]


def _rebuild(fields: list[tuple[Any, ...]]) -> list[Value]:
    """The nodes of a table from their fields, in one loop; an input is a row number or a Value."""
    nodes: list[Value] = []
    for data, grad, label, requires_grad, op, rule, inputs, scope in fields:
        node: Value = _new(Value)
        node.data, node.grad, node.label, node.requires_grad = data, grad, label, requires_grad
        node._op, node._backward = op, rule
        node._prev = tuple([nodes[x] if type(x) is int else x for x in inputs]) if inputs else ()
        if scope:
            node._scope = scope  # type: ignore[attr-defined]  # an optional slot, unset by default
        nodes.append(node)
    return nodes


def _row(nodes: list[Value], i: int) -> Value:
    """Node i of a rebuilt table."""
    return nodes[i]


# -- building nodes ----------------------------------------------------------------------------

_new = object.__new__


def _result(data: Any, prev: tuple[Value, ...], op: str, local_grads: LocalGrads) -> Value:
    """An op's output node; its inputs and local derivatives are kept only if a gradient can flow."""
    out: Value = _new(Value)  # skips __init__: data is already a float (or a lane array)
    out.data = data
    out.grad = 0.0 if type(data) is float else _zeros(data)
    out.label = ""
    if mode.observe:  # detect_anomaly() or a tagging scope(): one attribute read when neither is on
        observe(out, op, prev)
    # Primitives take one or two inputs, so prev[0] and prev[-1] are all of them.
    if mode.grad_enabled and (prev[0].requires_grad or prev[-1].requires_grad):
        out.requires_grad = True
        out._prev = prev
        out._op = op
        out._backward = local_grads
    else:  # a constant: no inputs, no backward, nothing for backward to visit
        out.requires_grad = False
        out._prev = ()
        out._op = ""
        out._backward = None
    return out


def _lift(x: object) -> Value | None:
    """x itself if a Value, a constant Value if a real number or a 1-d array (lanes), else None."""
    if isinstance(x, Value):
        return x
    try:
        return Value(_to_float(x, "Value"), requires_grad=False)
    except TypeError:
        if isinstance(x, np.ndarray) and x.ndim == 1:
            return Value(x, requires_grad=False)  # per-example numbers: a constant lane value
        return None


_NUMPY_OPS: dict[Any, Callable[..., Value]] = {
    np.add: operator.add,
    np.subtract: operator.sub,
    np.multiply: operator.mul,
    np.true_divide: operator.truediv,
    np.power: operator.pow,
}


def _boxed(v: Value) -> np.ndarray:
    """v as a 0-d object array, so that numpy combines it with an object array entry by entry."""
    box = np.empty((), dtype=object)
    box[()] = v
    return box


def _to_data(x: object, op: str) -> Any:
    """A Value's data: a float, or for a 1-d numpy array of reals, a float64 copy of it (lanes)."""
    if not isinstance(x, np.ndarray) or x.ndim == 0:
        return _to_float(x, op)
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"{op}: lanes need an array of real numbers (bool, int or float), got dtype {x.dtype} "
            f"of shape {x.shape}"
        )
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(
            f"{op}: lanes need a 1-d array with one number per example, got an array of shape {x.shape}"
        )
    return np.array(x, dtype=np.float64)


def _zeros(lanes: Any) -> Any:
    """A gradient of zeros for a lane value's data."""
    return np.zeros(len(lanes))


def _copied(lanes: Any) -> Any:
    return lanes.copy()


def _summary(lanes: Any) -> str:
    """A few lanes and the mean, for repr: never the whole array."""
    head = ", ".join(f"{x:.4g}" for x in lanes[:3].tolist())
    return f"[{head}]" if len(lanes) <= 3 else f"[{head}, ...] mean {float(np.mean(lanes)):.4g}"


def _first_lane(mask: Any) -> int | None:
    """The first lane where mask is true (lane 0 if mask is one bool and true), None if none is."""
    if not np.any(mask):
        return None
    return int(np.argmax(mask)) if np.ndim(mask) else 0


def _mismatch(op: str, a: Value, b: Value) -> ValueError:
    return ValueError(
        f"{op}: the operands have different numbers of lanes, {a.lanes} and {b.lanes}: "
        "lane values combine only with scalars and with lane values of the same length"
    )


def _to_float(x: object, op: str) -> float:
    """A real number (int, float, bool, Fraction, numpy real scalar) as a Python float."""
    if type(x) is float:  # the common cases, before the slower checks below
        return x
    if type(x) is int:
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{op}: {x!r} is too large for a float") from None
    if isinstance(x, (numbers.Real, bool)) or _is_numpy_real(x):
        try:
            return float(x)  # type: ignore[arg-type]
        except OverflowError:
            raise OverflowError(f"{op}: {x!r} is too large for a float") from None
    if isinstance(x, Value):
        raise TypeError(f"{op}: got a Value where a plain number is needed; pass its .data")
    shape = getattr(x, "shape", None)
    what = f"{type(x).__name__} of shape {shape}" if shape else f"{type(x).__name__} {x!r:.60}"
    raise TypeError(f"{op}: needs a real number (int, float, bool or numpy real scalar), got {what}")


def _is_numpy_real(x: object) -> bool:
    # numpy.bool_ and 0-d arrays are not numbers.Real; recognised without importing numpy.
    dtype = getattr(x, "dtype", None)
    return getattr(x, "shape", None) == () and getattr(dtype, "kind", "") in ("b", "i", "u", "f")


def _pow_number(self: Value, n: float) -> Value:
    """x ** n for a plain number n, recorded as the one-input op `**n`."""
    if type(self.data) is float:
        data = _pow(self, n, None)
    else:
        data = _lane_pow(self, None, n)
    if n == 0.5:  # PyTorch computes x ** 0.5 as √x: -0.0 at -0.0, where the slope is -inf
        root = math.sqrt(self.data) if type(self.data) is float else np.sqrt(self.data)
        return _result(root, (self,), "**0.5", _sqrt_grads)
    symbol, rule = _power_op(n)
    return _result(data, (self,), symbol, rule)


# x ** n for the few exponents a program uses (2, -1, 3...): the op's symbol and rule made once each.
_POWER_OPS: dict[float, tuple[str, LocalGrads]] = {}


def _power_op(n: float) -> tuple[str, LocalGrads]:
    """The symbol ("**2") and rule of x ** n: n rides along in a partial (picklable, unlike a closure)."""
    op = _POWER_OPS.get(n)
    if op is None:
        op = (sys.intern(f"**{n:g}"), functools.partial(_pow_const_grads, n))
        if n != 0.0 and len(_POWER_OPS) < 256:  # 0.0 and -0.0 are one key but two symbols; NaN never matches
            _POWER_OPS[n] = op
    return op


def _no_real_derivative(base: Value, exponent: Value, lane: int | None) -> ValueError:
    return ValueError(
        f"pow: the base {describe(base, lane)} is negative, so x ** y has no real derivative "
        f"∂/∂y = x**y · ln(x) for the exponent {describe(exponent, lane)}; use a positive base, "
        "a plain-number exponent, or an exponent with requires_grad=False"
    )


def _exp_overflow(x: Value, lane: int | None) -> OverflowError:
    return OverflowError(f"exp: e ** {describe(x, lane)} overflows a float (inputs above about 709.78 do)")


def _lane_pow(base: Value, exponent: Value | None, n: Any) -> Any:
    """x ** n over lanes (base, exponent or both), with _pow's errors, naming the first bad lane."""
    x = base.data
    if exponent is not None and None not in (base.lanes, exponent.lanes) and base.lanes != exponent.lanes:
        raise _mismatch("**", base, exponent)

    def exp(i: int) -> str:
        return repr(n) if exponent is None else describe(exponent, i)

    i = _first_lane(np.equal(x, 0.0) & np.less(n, 0.0))
    if i is not None:
        raise ZeroDivisionError(
            f"pow: {describe(base, i)} ** {exp(i)} raises zero to a negative power (division by zero)"
        )
    i = _first_lane(np.less(x, 0.0) & ~(np.isfinite(n) & (np.floor(n) == n)))  # n.is_integer()
    if i is not None:
        raise ValueError(
            f"pow: {describe(base, i)} ** {exp(i)} raises a negative base to a non-integer power, "
            "which has no real value"
        )
    data = np.power(x, n)
    i = _first_lane(np.isinf(data) & np.isfinite(x) & np.isfinite(n))
    if i is not None:
        raise OverflowError(f"pow: {describe(base, i)} ** {exp(i)} overflows a float")
    return data


def _pow(base: Value, n: float, exponent: Value | None) -> float:
    """x ** n, n the exponent's number (its Value, for messages, or None for a plain number)."""
    x = base.data
    if x == 0.0 and n < 0.0:
        raise ZeroDivisionError(
            f"pow: {describe(base)} ** {_exponent(n, exponent)} raises zero to a negative power "
            "(division by zero)"
        )
    if x < 0.0 and not n.is_integer():
        raise ValueError(
            f"pow: {describe(base)} ** {_exponent(n, exponent)} raises a negative base to a "
            "non-integer power, which has no real value"
        )
    try:
        data: float = x**n  # a real number: the negative-base case was refused above
        return data
    except OverflowError:
        raise OverflowError(f"pow: {describe(base)} ** {_exponent(n, exponent)} overflows a float") from None


def _exponent(n: float, exponent: Value | None) -> str:
    """The exponent as an error message names it: its Value described, or the plain number."""
    return repr(n) if exponent is None else describe(exponent)
