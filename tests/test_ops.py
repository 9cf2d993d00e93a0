"""Every op of Value, driven by one table: forward values, gradients and domain errors.

engine.value.RULES is the engine's table of derivative rules; every rule in it must have a case
here (a test fails otherwise), so no op escapes the gradient checks. OPS lists each op once (in
the style of minitorch's MathTest) with its float reference, its Value function and its sample
points; ERRORS lists the inputs on which an op of OPS must raise. The
parametrized tests below all read from these two lists. Every fn is spelled with operators and
methods that torch.Tensor shares, so the same fn also runs on tensors for the PyTorch comparison.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import engine
from engine import Value
from engine.value import RULES, rule_of

# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpCase:
    """One op: `ref` on floats (math), `fn` on Values, sample points where it is smooth."""

    name: str
    ref: Callable[..., float]
    fn: Callable[..., Any]
    points: tuple[tuple[float, ...], ...]
    op: str  # the `_op` symbol of the node fn returns


@dataclass(frozen=True)
class ErrorCase:
    """Inputs on which op `op` must raise `exc` with every string of `match` in its message.

    labels[i] labels input i; None passes input i as a plain number instead of a Value.
    """

    op: str
    inputs: tuple[float, ...]
    exc: type[Exception]
    match: tuple[str, ...]
    labels: tuple[str | None, ...] = ()


def arith(name, f, points, op):
    """An op written with operators only: the same lambda is the reference and the Value fn."""
    return OpCase(name, ref=f, fn=f, points=points, op=op)


def method(name, ref, points, op=None):
    """An op that is a method of Value and of torch.Tensor; its `_op` is `name` unless given."""
    return OpCase(name, ref=ref, fn=operator.methodcaller(name), points=points, op=op or name)


def unary(*xs):
    return tuple((x,) for x in xs)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


ANY = unary(-3.0, -0.5, 0.001, 2.0, 15.0)  # nonzero, away from kinks
POSITIVE = unary(1e-4, 0.5, 2.0, 1e4)
PAIRS = ((2.0, 3.0), (-1.5, 0.25), (0.001, -7.0), (123.0, 45.0))
DIVISIONS = ((2.0, 3.0), (-1.5, 0.25), (0.001, -7.0), (123.0, -0.004))
POWERS = ((2.0, 3.0), (0.5, -1.5), (3.0, 0.25), (10.0, -2.0), (1.5, 0.0))  # positive bases

OPS = [
    arith("add", lambda x, y: x + y, PAIRS, "+"),
    arith("sub", lambda x, y: x - y, PAIRS, "+"),
    arith("mul", lambda x, y: x * y, PAIRS, "*"),
    arith("truediv", lambda x, y: x / y, DIVISIONS, "/"),
    arith("neg", lambda x: -x, ANY, "*"),
    # constants on the right...
    arith("add_const", lambda x: x + 2.5, ANY, "+"),
    arith("sub_const", lambda x: x - 2, ANY, "+"),
    arith("mul_const", lambda x: x * -3.0, ANY, "*"),
    arith("div_const", lambda x: x / 4, ANY, "/"),
    # ...and on the left
    arith("radd", lambda x: 2.5 + x, ANY, "+"),
    arith("rsub", lambda x: 2 - x, ANY, "+"),
    arith("rmul", lambda x: -3.0 * x, ANY, "*"),
    arith("rtruediv", lambda x: 4 / x, ANY, "/"),
    arith("rpow", lambda x: 2**x, ANY, "**"),
    # constant exponents, int and float
    arith("pow_2", lambda x: x**2, ANY, "**2"),
    arith("pow_2.0", lambda x: x**2.0, ANY, "**2"),
    arith("pow_3", lambda x: x**3, ANY, "**3"),
    arith("pow_-1", lambda x: x**-1, ANY, "**-1"),
    arith("pow_0.5", lambda x: x**0.5, POSITIVE, "**0.5"),
    arith("pow_-2.5", lambda x: x**-2.5, unary(0.05, 0.5, 2.0, 100.0), "**-2.5"),
    arith("pow_0", lambda x: x**0, ANY, "**0"),
    arith("pow_value", lambda x, y: x**y, POWERS, "**"),
    # methods
    method("exp", math.exp, unary(-20.0, -1.0, 0.001, 2.0, 30.0)),
    method("log", math.log, unary(0.001, 0.5, 2.0, 1e3)),
    method("tanh", math.tanh, unary(-3.0, -0.5, 0.001, 2.0, 8.0)),
    method("sigmoid", _sigmoid, unary(-30.0, -2.0, 0.001, 1.5, 30.0)),
    method("relu", lambda x: max(0.0, x), ANY),
    method("abs", abs, ANY),
    arith("abs_builtin", abs, ANY, "abs"),
    method("sqrt", math.sqrt, POSITIVE),
]
OPS_BY_NAME = {case.name: case for case in OPS}


def err(op, inputs, exc, *match, labels=()):
    return ErrorCase(op, tuple(inputs), exc, match, tuple(labels))


ZERO_DIV = ZeroDivisionError
ERRORS = [
    err("truediv", (1.0, 0.0), ZERO_DIV, "division:", "1.0 / 0.0", "divides by zero"),
    err("truediv", (1.0, -0.0), ZERO_DIV, "division:", "1.0 / -0.0"),
    err("truediv", (3.0, 0.0), ZERO_DIV, "division:", "3.0 (label 'a') / 0.0 (label 'b')", labels=("a", "b")),
    err("truediv", (3.0, 0.0), ZERO_DIV, "division:", "3.0 (label 'a') / 0.0 divides", labels=("a", None)),
    err("truediv", (0.0, 0.0), ZERO_DIV, "division:", "0.0 / 0.0 (label 'b')", labels=(None, "b")),
    err("rtruediv", (0.0,), ZERO_DIV, "division:", "4.0 / 0.0 (label 'x')", labels=("x",)),
    err("rpow", (2000.0,), OverflowError, "pow:", "2.0 ** 2000.0 (label 'x')", "overflows", labels=("x",)),
    err("pow_2", (1e200,), OverflowError, "pow:", "1e+200 (label 'x') ** 2.0", "overflows", labels=("x",)),
    err("pow_3", (-1e150,), OverflowError, "pow:", "-1e+150 ** 3.0", "overflows"),
    err(
        "pow_-1",
        (0.0,),
        ZERO_DIV,
        "pow:",
        "0.0 (label 'x') ** -1.0",
        "zero to a negative power",
        labels=("x",),
    ),
    err("pow_-1", (1e-310,), OverflowError, "pow:", "1e-310 ** -1.0", "overflows"),
    err("pow_0.5", (-1.0,), ValueError, "pow:", "-1.0 ** 0.5", "negative base"),
    err("pow_-2.5", (-4.0,), ValueError, "pow:", "-4.0 (label 'x') ** -2.5", "negative base", labels=("x",)),
    err("pow_-2.5", (0.0,), ZERO_DIV, "pow:", "0.0 ** -2.5", "zero to a negative power"),
    err(
        "pow_value",
        (-2.0, 3.0),
        ValueError,
        "pow:",
        "-2.0 (label 'x')",
        "3.0 (label 'y')",
        "no real derivative",
        labels=("x", "y"),
    ),
    err("pow_value", (-2.0, 0.5), ValueError, "pow:", "-2.0", "0.5", "no real derivative"),
    err("pow_value", (0.0, -1.0), ZERO_DIV, "pow:", "0.0 ** -1.0", "zero to a negative power"),
    err("pow_value", (10.0, 400.0), OverflowError, "pow:", "10.0 ** 400.0", "overflows"),
    err("exp", (710.0,), OverflowError, "exp:", "710.0 (label 'x')", "overflows", labels=("x",)),
    err("exp", (1e4,), OverflowError, "exp:", "10000.0"),
    err("log", (0.0,), ValueError, "log:", "got 0.0"),
    err("log", (-2.0,), ValueError, "log:", "got -2.0 (label 'x')", labels=("x",)),
    err("sqrt", (-4.0,), ValueError, "sqrt:", "got -4.0 (label 'x')", labels=("x",)),
    err("sqrt", (-1e-300,), ValueError, "sqrt:", "got -1e-300"),
]


def _point_id(case: OpCase, point: tuple[float, ...]) -> str:
    return f"{case.name}@" + ",".join(f"{x:g}" for x in point)


POINT_PARAMS = [pytest.param(case, point, id=_point_id(case, point)) for case in OPS for point in case.points]
ERROR_PARAMS = [
    pytest.param(OPS_BY_NAME[e.op], e, id=f"{e.op}-{e.exc.__name__}-{i}") for i, e in enumerate(ERRORS)
]
CASE_PARAMS = [pytest.param(case, id=case.name) for case in OPS]

# -- helpers -------------------------------------------------------------------------------------


def engine_eval(fn, point):
    """fn on fresh leaves at point, after backward: (output value, gradient of each leaf)."""
    leaves = [Value(x) for x in point]
    out = fn(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def torch_eval(torch, fn, point):
    """The same with float64 tensors and PyTorch autograd."""
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = fn(*leaves)
    out.backward()
    return out.item(), [0.0 if leaf.grad is None else leaf.grad.item() for leaf in leaves]


def make_input(x, label):
    return x if label is None else Value(x, label=label)


# -- table-driven tests --------------------------------------------------------------------------


def test_tables_are_consistent():
    """Unique op names; one arity per op, shared by its points and its error cases."""
    assert len(OPS_BY_NAME) == len(OPS)
    for case in OPS:
        assert len({len(p) for p in case.points}) == 1, case.name
    for e in ERRORS:
        assert len(e.inputs) == len(OPS_BY_NAME[e.op].points[0]), e


@pytest.mark.parametrize(("case", "point"), POINT_PARAMS)
def test_forward_matches_math(case, point):
    out = case.fn(*(Value(x) for x in point))
    assert isinstance(out, Value)
    assert type(out.data) is float
    assert out.data == pytest.approx(case.ref(*point), rel=1e-12)


@pytest.mark.parametrize(("case", "point"), POINT_PARAMS)
def test_gradients_pass_gradcheck(case, point):
    report = engine.gradcheck(case.fn, list(point))
    assert report, str(report)


@pytest.mark.torch
@pytest.mark.parametrize(("case", "point"), POINT_PARAMS)
def test_matches_torch_autograd(case, point, torch):
    data, grads = engine_eval(case.fn, point)
    want_data, want_grads = torch_eval(torch, case.fn, point)
    assert data == pytest.approx(want_data, rel=1e-12)
    assert grads == pytest.approx(want_grads, rel=1e-9)


@pytest.mark.parametrize(("case", "error"), ERROR_PARAMS)
def test_domain_errors(case, error):
    labels = error.labels or ("",) * len(error.inputs)
    args = [make_input(x, label) for x, label in zip(error.inputs, labels)]
    with pytest.raises(error.exc) as info:
        case.fn(*args)
    message = str(info.value)
    for part in error.match:
        assert part in message, f"{part!r} not in {message!r}"


def test_every_rule_of_the_engine_has_a_case():
    """A new op in engine.value.RULES fails here until OPS (or REDUCTIONS) checks its gradients."""
    ops = [case.op for case in OPS] + [case.op for case in REDUCTIONS]
    covered = {symbol for symbol, rule in RULES.items() for op in ops if rule_of(op) is rule}
    assert covered == set(RULES)
    assert all(len(rule.formulas) == len(rule.inputs) for rule in RULES.values())


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_records_op_symbol_and_inputs(case):
    leaves = [Value(x) for x in case.points[0]]
    out = case.fn(*leaves)
    assert out._op == case.op
    rule = rule_of(out._op)
    assert rule is not None and len(out._prev) == len(rule.inputs)
    assert getattr(out._backward, "func", out._backward) is rule.local_grads  # the table's rule runs
    graph = {id(node) for node in engine.topo_order(out)}
    assert all(id(leaf) in graph for leaf in leaves)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_constant_inputs_record_nothing(case):
    out = case.fn(*(Value(x, requires_grad=False) for x in case.points[0]))
    assert (out.requires_grad, out._prev, out._op, out._backward) == (False, (), "", None)
    assert out.data == pytest.approx(case.ref(*case.points[0]), rel=1e-12)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_no_grad_records_nothing(case):
    with engine.no_grad():
        out = case.fn(*(Value(x) for x in case.points[0]))
    assert (out.requires_grad, out._prev, out._backward) == (False, (), None)


# -- lanes: every op of the table over its sample points at once, one point per lane -------------


def lanes_eval(fn, point_lanes):
    """fn on lane leaves (input i holds coordinate i of every point), after .sum().backward()."""
    leaves = [Value(np.array(xs)) for xs in point_lanes]
    out = fn(*leaves)
    out.sum().backward()
    return out, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_lanes_match_the_scalar_op_point_by_point(case):
    """Forward and gradient of each lane are the scalar op's at that lane's point (to 1e-12)."""
    out, grads = lanes_eval(case.fn, list(zip(*case.points)))
    assert out._op == case.op and out.lanes == len(case.points)
    assert getattr(out._backward, "func", out._backward) is rule_of(case.op).local_grads
    for i, point in enumerate(case.points):
        data, want = engine_eval(case.fn, point)
        assert out.data[i] == pytest.approx(data, rel=1e-12)
        assert [g[i] for g in grads] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in OPS if len(c.points[0]) == 2])
@pytest.mark.parametrize("scalar_input", [0, -1], ids=["first-scalar", "last-scalar"])
def test_a_scalar_input_of_a_lane_op_gets_the_sum_over_lanes(case, scalar_input):
    """One input a scalar, the other lanes: the scalar's gradient is the sum of its per-point gradients."""
    fixed = case.points[0][scalar_input]
    points = [tuple(fixed if j == scalar_input % 2 else x for j, x in enumerate(p)) for p in case.points]
    leaves = [
        Value(fixed) if j == scalar_input % 2 else Value(np.array(xs)) for j, xs in enumerate(zip(*points))
    ]
    case.fn(*leaves).sum().backward()
    want = sum(engine_eval(case.fn, p)[1][scalar_input % 2] for p in points)
    assert type(leaves[scalar_input].grad) is float
    assert leaves[scalar_input].grad == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("case", "error"), ERROR_PARAMS)
def test_domain_errors_on_lanes_name_the_first_bad_lane(case, error):
    """The bad point in lane 2 of 4 (good points around it): the same error, naming lane 2."""
    labels = [label or "" for label in error.labels or ("",) * len(error.inputs)]
    good = case.points[0]
    args = [
        Value(np.array([good[j], good[j], x, x]), label=label)
        for j, (x, label) in enumerate(zip(error.inputs, labels))
    ]
    with pytest.raises(error.exc) as info:
        case.fn(*args)
    message = str(info.value)
    assert message.startswith(error.match[0]) and "at lane 2" in message, message
    assert all(f"(label {label!r})" in message for label in labels if label), message


def test_a_zero_scalar_divisor_of_lanes_names_no_lane():
    with pytest.raises(
        ZeroDivisionError, match=r"^division: 3 lanes of mean 2.0 \(label 'a'\) / 0.0 divides by zero$"
    ):
        Value(np.array([1.0, 2.0, 3.0]), label="a") / 0


@dataclass(frozen=True)
class Reduction:
    """A reduction over lanes: a lane value in, a scalar out."""

    op: str
    fn: Callable[[Value], Value]
    ref: Callable[[list[float]], float]
    local: Callable[[int], float]  # ∂out/∂xᵢ for n lanes


REDUCTIONS = [
    Reduction("sum", Value.sum, math.fsum, lambda n: 1.0),
    Reduction("mean", Value.mean, lambda xs: math.fsum(xs) / len(xs), lambda n: 1.0 / n),
]


@pytest.mark.parametrize("case", [pytest.param(r, id=r.op) for r in REDUCTIONS])
@pytest.mark.parametrize("xs", [[2.5], [1.0, -2.0, 3.5], list(np.linspace(-1, 1, 11))], ids=["1", "3", "11"])
def test_reductions(case, xs):
    x = Value(np.array(xs))
    out = case.fn(x)
    assert (out._op, out.lanes, type(out.data)) == (case.op, None, float)
    assert getattr(out._backward, "func", out._backward) is RULES[case.op].local_grads
    assert out.data == pytest.approx(case.ref(xs), rel=1e-14, abs=1e-15)
    (out * 3.0).backward()
    assert x.grad.tolist() == [3.0 * case.local(len(xs))] * len(xs)
    report = engine.gradcheck(lambda *v: case.fn(Value(np.array([u.data for u in v])) * 0 + sum(v)), xs)
    assert report


# -- numerical stability and kinks ---------------------------------------------------------------

# (id, fn, x, exact value, exact gradient)
STABLE = [
    ("tanh(1000)", Value.tanh, 1000.0, 1.0, 0.0),
    ("tanh(-1000)", Value.tanh, -1000.0, -1.0, 0.0),
    ("sigmoid(1000)", Value.sigmoid, 1000.0, 1.0, 0.0),
    ("sigmoid(-1000)", Value.sigmoid, -1000.0, 0.0, 0.0),
    ("sigmoid(-745)", Value.sigmoid, -745.0, math.exp(-745.0), math.exp(-745.0)),
    ("exp(709)", Value.exp, 709.0, math.exp(709.0), math.exp(709.0)),
    ("exp(-1000)", Value.exp, -1000.0, 0.0, 0.0),
]
STABLE_PARAMS = [pytest.param(*s[1:], id=s[0]) for s in STABLE]


@pytest.mark.parametrize(("fn", "x", "value", "grad"), STABLE_PARAMS)
def test_saturating_ops_are_exact_and_finite(fn, x, value, grad):
    data, (dx,) = engine_eval(fn, (x,))
    assert data == value
    assert dx == grad  # also fails for nan


# (id, fn, point, value, gradients): PyTorch's conventions where the derivative is undefined;
# fn works on Values and on tensors alike.
KINKS = [
    ("relu@0", operator.methodcaller("relu"), (0.0,), 0.0, (0.0,)),
    ("relu@-0", operator.methodcaller("relu"), (-0.0,), 0.0, (0.0,)),
    ("abs@0", operator.methodcaller("abs"), (0.0,), 0.0, (0.0,)),
    ("sqrt@0", operator.methodcaller("sqrt"), (0.0,), 0.0, (math.inf,)),
    ("pow_0.5@0", lambda x: x**0.5, (0.0,), 0.0, (math.inf,)),
    ("pow_0@0", lambda x: x**0, (0.0,), 1.0, (0.0,)),
    ("pow_0@3", lambda x: x**0, (3.0,), 1.0, (0.0,)),
    ("pow_value@0,2", lambda x, y: x**y, (0.0, 2.0), 0.0, (0.0, 0.0)),
    ("pow_value@0,0.5", lambda x, y: x**y, (0.0, 0.5), 0.0, (math.inf, 0.0)),
]
KINK_PARAMS = [pytest.param(*k[1:], id=k[0]) for k in KINKS]


@pytest.mark.parametrize(("fn", "point", "value", "grads"), KINK_PARAMS)
def test_kink_gradients(fn, point, value, grads):
    assert engine_eval(fn, point) == (value, list(grads))


@pytest.mark.torch
@pytest.mark.parametrize(("fn", "point", "value", "grads"), KINK_PARAMS)
def test_kink_gradients_match_torch(fn, point, value, grads, torch):
    assert engine_eval(fn, point) == torch_eval(torch, fn, point)


# -- the edges: ±0, ±inf and NaN where PyTorch's backward rules differ from `local · upstream` ------

INF, NAN = math.inf, math.nan
relu, sqrt = operator.methodcaller("relu"), operator.methodcaller("sqrt")


def agree(a: float, b: float) -> bool:
    """Both NaN, or both the same infinity, or finite and equal to rel 1e-12 with the same sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.copysign(1.0, a) != math.copysign(1.0, b):  # also tells -0.0 from 0.0
        return False
    return a == b or (math.isfinite(a) and math.isfinite(b) and a == pytest.approx(b, rel=1e-12, abs=0.0))


# (id, fn, point, value, gradients): what PyTorch (float64) gives; fn works on Values and tensors.
EDGES = [
    # relu below zero is a mask: its input gets exactly 0, even under an infinite slope (0 · inf = NaN)
    ("relu_sqrt@-1", lambda x: x.relu().sqrt(), (-1.0,), 0.0, (0.0,)),
    ("relu@nan", relu, (NAN,), NAN, (1.0,)),
    ("relu@-0", relu, (-0.0,), -0.0, (0.0,)),
    # so is x ** 0: flat in x, whatever the slope above it
    ("pow_0_sqrt", lambda x: (x**0 - 1).sqrt(), (2.0,), 0.0, (0.0,)),
    ("pow_value_0_sqrt", lambda x, y: (x**y - 1).sqrt(), (2.0, 0.0), 0.0, (0.0, INF)),
    # abs and * are products in PyTorch too: there 0 · inf is NaN
    ("abs_sqrt@0", lambda x: x.abs().sqrt(), (0.0,), 0.0, (NAN,)),
    ("mul_sqrt@0,2", lambda x, y: (x * y).sqrt(), (0.0, 2.0), 0.0, (INF, NAN)),
    # a / b is Python's a / b, and its gradients g / b and -g · (a / b) / b stay finite for tiny b
    ("div@3,10", lambda x, y: x / y, (3.0, 10.0), 0.3, (0.1, -0.03)),
    ("div@1e-200,1e-200", lambda x, y: x / y, (1e-200, 1e-200), 1.0, (1e200, -1e200)),
    ("div@1e-10,1e-310", lambda x, y: x / y, (1e-10, 1e-310), 1e-10 / 1e-310, (INF, -INF)),
    ("div_scaled@1e-10", lambda x: x / 1e-310 * 1e-10, (1e-10,), 1e-10 / 1e-310 * 1e-10, (1e-10 / 1e-310,)),
    ("log_scaled@1e-310", lambda x: x.log() * 1e-10, (1e-310,), math.log(1e-310) * 1e-10, (1e-10 / 1e-310,)),
    # near saturation 1 − tanh² is computed as (1 − t)(1 + t): 1 − t·t kept only 8 digits at 9
    ("tanh@9", operator.methodcaller("tanh"), (9.0,), math.tanh(9.0), (6.091991707124916e-08,)),
    # √x at ±0: √-0.0 is -0.0, so the slope 1 / (2√x) is -inf there; PyTorch computes x ** 0.5 as √x
    ("sqrt@0", sqrt, (0.0,), 0.0, (INF,)),
    ("sqrt@-0", sqrt, (-0.0,), -0.0, (-INF,)),
    ("pow_0.5@0", lambda x: x**0.5, (0.0,), 0.0, (INF,)),
    ("pow_0.5@-0", lambda x: x**0.5, (-0.0,), -0.0, (-INF,)),
    ("pow_value@-0,0.5", lambda x, y: x**y, (-0.0, 0.5), 0.0, (INF, 0.0)),
]
EDGE_PARAMS = [pytest.param(*e[1:], id=e[0]) for e in EDGES]


@pytest.mark.parametrize(("fn", "point", "value", "grads"), EDGE_PARAMS)
def test_edge_values_and_gradients(fn, point, value, grads):
    data, got = engine_eval(fn, point)
    assert agree(data, value), (data, value)
    assert all(agree(a, b) for a, b in zip(got, grads, strict=True)), (got, grads)


@pytest.mark.torch
@pytest.mark.parametrize(("fn", "point", "value", "grads"), EDGE_PARAMS)
def test_edge_values_and_gradients_are_torchs(fn, point, value, grads, torch):
    want, want_grads = torch_eval(torch, fn, point)
    assert agree(want, value), (want, value)  # the table is PyTorch's answer
    assert all(agree(a, b) for a, b in zip(want_grads, grads, strict=True)), (want_grads, grads)


DIVISION_FORMS = [
    pytest.param(lambda a, b: Value(a) / Value(b), id="Value/Value"),
    pytest.param(lambda a, b: Value(a) / b, id="Value/number"),
    pytest.param(lambda a, b: a / Value(b), id="number/Value"),
]


@pytest.mark.parametrize("divide", DIVISION_FORMS)
def test_division_equals_pythons_division(divide):
    """a / b is Python's a / b to the last bit (as a · b⁻¹, a quarter of random pairs were an ulp off)."""
    rng = np.random.default_rng(0)
    pairs = [
        *rng.uniform(-10.0, 10.0, (500, 2)).tolist(),
        *(10.0 ** rng.uniform(-300, 300, (500, 2))).tolist(),
    ]
    assert [divide(a, b).data for a, b in pairs] == [a / b for a, b in pairs]
    assert divide(3, 10).data == 0.3


# -- numpy scalars -------------------------------------------------------------------------------

NUMPY_SCALARS = [
    pytest.param(np.float32(1.5), id="float32"),
    pytest.param(np.float64(2.25), id="float64"),
    pytest.param(np.int64(3), id="int64"),
    pytest.param(np.uint8(2), id="uint8"),
    pytest.param(np.bool_(True), id="bool_"),
    pytest.param(np.array(2.5), id="0d-float-array"),
    pytest.param(np.array(4, dtype=np.int32), id="0d-int-array"),
]
NUMBER_OPS = [
    pytest.param(f, id=name)
    for name, f in [
        ("add", operator.add),
        ("sub", operator.sub),
        ("mul", operator.mul),
        ("truediv", operator.truediv),
        ("pow", operator.pow),
    ]
]


@pytest.mark.parametrize("scalar", NUMPY_SCALARS)
def test_numpy_scalar_as_data(scalar):
    v = Value(scalar)
    assert type(v.data) is float
    assert v.data == float(scalar)


@pytest.mark.parametrize("left", [True, False], ids=["scalar-left", "scalar-right"])
@pytest.mark.parametrize("op", NUMBER_OPS)
@pytest.mark.parametrize("scalar", NUMPY_SCALARS)
def test_numpy_scalar_operand_acts_as_its_float(scalar, op, left):
    """s op v and v op s give a Value with the same value and gradient as with float(s)."""

    def run(s):
        v = Value(3.0)
        out = op(s, v) if left else op(v, s)
        assert isinstance(out, Value), type(out)
        out.backward()
        return out.data, v.grad

    assert run(scalar) == run(float(scalar))


# -- bad types and repr --------------------------------------------------------------------------

BAD_DATA = [
    pytest.param("1.5", "str", id="str"),
    pytest.param([1.0], "list", id="list"),
    pytest.param(np.zeros(3, dtype=complex), "complex128", id="complex-lanes"),
    pytest.param(1 + 2j, "complex", id="complex"),
    pytest.param(np.complex128(1), "complex128", id="np-complex"),
    pytest.param(None, "NoneType", id="None"),
    pytest.param(Value(1.0), "Value", id="Value"),
]


@pytest.mark.parametrize(("data", "type_name"), BAD_DATA)
def test_bad_data_raises_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError) as info:
        Value(data)
    assert type_name in str(info.value)


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param(lambda v: v + "a", id="Value+str"),
        pytest.param(lambda v: "a" + v, id="str+Value"),
        pytest.param(lambda v: v * None, id="Value*None"),
        pytest.param(lambda v: v - [1.0], id="Value-list"),
        pytest.param(lambda v: v ** "2", id="Value**str"),
        pytest.param(lambda v: 1j / v, id="complex/Value"),
    ],
)
def test_non_number_operand_raises_type_error(expr):
    with pytest.raises(TypeError, match="Value"):
        expr(Value(2.0))


# (id, the value, its truth): PyTorch's for a one-element tensor
TRUTH = [
    pytest.param(lambda: Value(0.0), False, id="0.0"),
    pytest.param(lambda: Value(-0.0), False, id="-0.0"),
    pytest.param(lambda: Value(3.0) - 3, False, id="3-3"),
    pytest.param(lambda: Value(0, requires_grad=False), False, id="constant-0"),
    pytest.param(lambda: Value(2.5), True, id="2.5"),
    pytest.param(lambda: Value(-1e-300), True, id="-1e-300"),
    pytest.param(lambda: Value(math.inf), True, id="inf"),
    pytest.param(lambda: Value(math.nan), True, id="nan"),
]


@pytest.mark.parametrize(("make", "truth"), TRUTH)
def test_truth_is_the_datas(make, truth):
    value = make()
    assert bool(value) is truth
    assert (value or "falsy") is (value if truth else "falsy")


@pytest.mark.torch
@pytest.mark.parametrize(("make", "truth"), TRUTH)
def test_truth_is_torchs(make, truth, torch):
    assert bool(torch.tensor(make().data, dtype=torch.float64)) is truth


def test_repr():
    a = Value(3.0, label="a")
    assert repr(Value(2.0, label="a")) == "Value(data=2.0, grad=0.0, label='a')"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)"
    frozen = Value(-0.5, requires_grad=False)
    assert repr(frozen) == "Value(data=-0.5, grad=0.0, requires_grad=False)"
    (a * a).backward()
    assert repr(a) == "Value(data=3.0, grad=6.0, label='a')"
