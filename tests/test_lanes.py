"""Lanes: one graph over a batch (a Value per example in each lane) against n per-example scalar graphs.

EXPRS lists expressions over leaves: scalar parameters p (shared by every example), inputs x (one
number per example) and constants c (per-example numbers, e.g. targets). Each runs two ways: as n
scalar graphs, one per example, each backpropagated in turn (the parameters accumulate), and as one
lane graph reduced with .sum(). Values, parameter gradients and per-example input gradients must
agree to 1e-12. The same expressions run on batched PyTorch float64 tensors.
"""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Value, backward_steps, backward_work, detect_anomaly, no_grad

N = 7  # lanes: odd, so that no example lines up with the n-th of another table


@dataclass(frozen=True)
class Expr:
    """fn(p, x, c): p scalar parameters, x inputs, c constants; the same code for scalars and lanes."""

    name: str
    fn: Callable[[list[Any], list[Any], list[Any]], Any]
    params: tuple[float, ...]
    inputs: tuple[tuple[float, float], ...]  # the range each input is drawn from
    consts: tuple[tuple[float, float], ...] = ()


ANY, POS = (-2.0, 2.0), (0.1, 3.0)

EXPRS = [
    Expr("affine", lambda p, x, c: p[0] * x[0] + p[1], (0.5, -0.3), (ANY,)),
    Expr(
        "neuron_relu", lambda p, x, c: (p[0] * x[0] + p[1] * x[1] + p[2]).relu(), (0.7, -1.2, 0.1), (ANY, ANY)
    ),
    Expr(
        "neuron_tanh", lambda p, x, c: (x[0] * p[0] + x[1] * p[1] + p[2]).tanh(), (0.7, -1.2, 0.1), (ANY, ANY)
    ),
    Expr("sigmoid", lambda p, x, c: (p[0] * x[0]).sigmoid() * p[1], (3.0, 2.0), ((-20.0, 20.0),)),
    Expr("sub_neg", lambda p, x, c: p[0] - x[0] - (-x[1]) * p[1], (0.4, 1.5), (ANY, ANY)),
    Expr("pow_const", lambda p, x, c: (p[0] * x[0] - 1) ** 2 + x[0] ** 3 * p[1], (0.8, -0.2), (ANY,)),
    Expr("scalar_chain", lambda p, x, c: (p[0] * p[0] + p[1].tanh()) * x[0], (0.8, -0.2), (ANY,)),
    Expr("input_twice", lambda p, x, c: x[0] * x[0] + x[0] * p[0], (1.3,), (ANY,)),
    Expr("lanes_times_lanes", lambda p, x, c: x[0] * x[1] + (x[1] + p[0]).relu(), (0.2,), (ANY, ANY)),
    # constants: per-example numbers, lifted to constant lanes on either side
    Expr(
        "hinge", lambda p, x, c: (1 + -c[0] * (p[0] * x[0] + p[1])).relu(), (0.9, 0.1), (ANY,), ((-1.0, 1.0),)
    ),
    Expr("mse", lambda p, x, c: (p[0] * x[0] - c[0]) ** 2, (1.1,), (ANY,), (ANY,)),
    Expr("const_left", lambda p, x, c: c[0] - x[0] * p[0] + c[0] * x[0], (0.6,), (ANY,), (ANY,)),
    # the other primitives
    Expr("div", lambda p, x, c: p[0] / x[0] + x[1] / p[1] + x[0] / x[1], (1.5, -0.7), (POS, POS)),
    Expr("rdiv_const", lambda p, x, c: 2 / (x[0] + p[0]) + c[0] / x[0], (0.5,), (POS,), (ANY,)),
    Expr("exp_log", lambda p, x, c: (p[0] * x[0]).exp() + (x[1] * p[1]).log(), (0.3, 2.0), (ANY, POS)),
    Expr("sqrt_abs", lambda p, x, c: (x[0] * p[0]).sqrt() + (x[1] - p[1]).abs(), (2.0, 0.3), (POS, ANY)),
    Expr("pow_half", lambda p, x, c: (x[0] + p[0]) ** 0.5 + x[0] ** -1.5, (0.1,), (POS,)),
    Expr(
        "pow_lane_exponent",
        lambda p, x, c: p[0] ** x[0] + x[1] ** p[1] + x[1] ** x[0],
        (1.7, 0.6),
        (ANY, POS),
    ),
    Expr("rpow", lambda p, x, c: 2 ** (x[0] * p[0]), (0.9,), (ANY,)),
    Expr("pow_0", lambda p, x, c: (x[0] * p[0]) ** 0 + x[0], (0.9,), (ANY,)),
]
EXPR_PARAMS = [pytest.param(e, id=e.name) for e in EXPRS]


def draw(expr: Expr, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and constants for N examples: one row per input (or constant), one column per example."""
    rng = np.random.default_rng(seed)
    xs = np.array([rng.uniform(lo, hi, N) for lo, hi in expr.inputs])
    cs = np.array([rng.uniform(lo, hi, N) for lo, hi in expr.consts]).reshape(len(expr.consts), N)
    return xs, cs


def per_example(expr: Expr, xs: np.ndarray, cs: np.ndarray, passes: int = 1) -> dict[str, Any]:
    """n scalar graphs, one per example, each backpropagated (the shared parameters accumulate)."""
    params = [Value(v) for v in expr.params]
    outs, input_grads = [], []
    for i in range(xs.shape[1]):
        inputs = [Value(float(row[i])) for row in xs]
        out = expr.fn(params, inputs, [float(row[i]) for row in cs])
        for _ in range(passes):
            out.backward()
        outs.append(out.data)
        input_grads.append([x.grad for x in inputs])
    return {"out": outs, "params": [p.grad for p in params], "inputs": np.array(input_grads).T.tolist()}


def lanes(expr: Expr, xs: np.ndarray, cs: np.ndarray, passes: int = 1) -> dict[str, Any]:
    """One lane graph over the batch, reduced with .sum() and backpropagated."""
    params = [Value(v) for v in expr.params]
    inputs = [Value(row) for row in xs]
    out = expr.fn(params, inputs, list(cs))
    assert out.lanes == xs.shape[1]
    total = out.sum()
    for _ in range(passes):
        total.backward()
    assert all(type(p.grad) is float for p in params)
    return {
        "out": out.data.tolist(),
        "params": [p.grad for p in params],
        "inputs": [x.grad.tolist() for x in inputs],
    }


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert np.allclose(got[key], value, rtol=1e-12, atol=1e-12, equal_nan=True), (
            key,
            got[key],
            value,
        )


@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_lanes_equal_per_example_scalar_graphs(expr):
    xs, cs = draw(expr)
    assert_same(lanes(expr, xs, cs), per_example(expr, xs, cs))


@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_double_backward_accumulates_exactly_twice(expr):
    xs, cs = draw(expr, seed=1)
    once, twice = lanes(expr, xs, cs), lanes(expr, xs, cs, passes=2)
    assert twice["params"] == [2 * g for g in once["params"]]
    assert twice["inputs"] == [[2 * g for g in row] for row in once["inputs"]]
    assert_same(twice, per_example(expr, xs, cs, passes=2))


@given(
    x=hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-5.0, 5.0)),
    w=st.floats(-3.0, 3.0),
    b=st.floats(-3.0, 3.0),
)
def test_random_batches_agree(x, w, b):
    """A two-layer neuron over any batch: lanes equal the per-example graphs."""
    expr = Expr(
        "net", lambda p, x, c: ((p[0] * x[0] + p[1]).tanh() * p[1] + x[0]).relu() ** 2, (w, b), (ANY,)
    )
    assert_same(
        lanes(expr, x[None, :], np.zeros((0, len(x)))), per_example(expr, x[None, :], np.zeros((0, len(x))))
    )


@pytest.mark.torch
@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_lanes_equal_batched_torch(expr, torch):
    xs, cs = draw(expr, seed=2)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in expr.params]
    inputs = [torch.tensor(row, dtype=torch.float64, requires_grad=True) for row in xs]
    out = expr.fn(params, inputs, [torch.tensor(row, dtype=torch.float64) for row in cs])
    out.sum().backward()
    want = {
        "out": out.detach().tolist(),
        "params": [0.0 if p.grad is None else p.grad.item() for p in params],
        "inputs": [x.grad.tolist() for x in inputs],
    }
    ours = lanes(expr, xs, cs)
    for key, value in want.items():
        assert np.allclose(ours[key], value, rtol=1e-9, atol=1e-12), (key, ours[key], value)


# -- reductions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reduce", "scale"), [pytest.param(Value.sum, 1.0, id="sum"), pytest.param(Value.mean, 1 / N, id="mean")]
)
def test_reductions_make_a_scalar_with_gradient_one_or_one_over_n(reduce, scale):
    x = Value(np.arange(1.0, N + 1))
    w = Value(2.0)
    total = reduce(w * x)
    assert total.lanes is None and total._op == reduce.__name__
    assert total.data == pytest.approx(2.0 * sum(range(1, N + 1)) * scale, rel=1e-15)
    total.backward()
    assert x.grad.tolist() == [2.0 * scale] * N
    assert w.grad == pytest.approx(sum(range(1, N + 1)) * scale, rel=1e-15)


@pytest.mark.parametrize("reduce", [Value.sum, Value.mean], ids=["sum", "mean"])
def test_reductions_of_a_scalar_are_the_scalar(reduce):
    w = Value(2.0)
    assert reduce(w) is w


def test_mean_loss_equals_the_scalar_paths_mean():
    """The batch loss L = mean_i (w x_i - y_i)² as one lane graph and as n scalar graphs summed."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=N), rng.normal(size=N)
    w = Value(0.5)
    loss = ((w * Value(x) - y) ** 2).mean()
    loss.backward()
    v = Value(0.5)
    scalar = sum(((v * float(xi) - float(yi)) ** 2 for xi, yi in zip(x, y)), Value(0.0)) * (1 / N)
    scalar.backward()
    assert loss.data == pytest.approx(scalar.data, rel=1e-12)
    assert w.grad == pytest.approx(v.grad, rel=1e-12)


# -- making lane values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(np.array([1.0, 2.0]), id="float64"),
        pytest.param(np.array([1, 2], dtype=np.int32), id="int32"),
        pytest.param(np.array([True, False]), id="bool"),
        pytest.param(np.array([1.5, 2.5], dtype=np.float32), id="float32"),
        pytest.param(np.array([np.nan, np.inf]), id="nan-inf"),
        pytest.param(np.array([3.0]), id="one-lane"),
    ],
)
def test_a_1d_array_makes_a_lane_value_of_its_own(array):
    v = Value(array)
    assert v.lanes == len(array)
    assert v.data.dtype == np.float64 and v.data.shape == array.shape
    assert np.array_equal(v.data, array.astype(np.float64), equal_nan=True)
    assert v.grad.tolist() == [0.0] * len(array)
    array[0] = 42  # a copy: the caller's array is theirs
    assert v.data[0] != 42


@pytest.mark.parametrize(
    ("data", "exc", "words"),
    [
        pytest.param(np.zeros((2, 3)), ValueError, "shape (2, 3)", id="2-d"),
        pytest.param(np.zeros(0), ValueError, "shape (0,)", id="empty"),
        pytest.param(np.array([1 + 2j]), TypeError, "complex128", id="complex"),
        pytest.param(np.array([Value(1.0)]), TypeError, "object", id="object"),
        pytest.param(np.array(["a"]), TypeError, "<U1", id="str"),
        pytest.param([1.0, 2.0], TypeError, "list", id="list"),
    ],
)
def test_bad_arrays_are_refused_naming_what_was_given(data, exc, words):
    with pytest.raises(exc, match="Value") as info:
        Value(data)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "scalar",
    [
        pytest.param(2.5, id="float"),
        pytest.param(np.float64(2.5), id="np-float64"),
        pytest.param(3, id="int"),
    ],
)
def test_numbers_still_make_scalars(scalar):
    v = Value(scalar)
    assert (v.lanes, type(v.data), type(v.grad)) == (None, float, float)


def test_repr_is_short():
    v = Value(np.arange(100.0) / 10, label="x")
    assert (
        repr(v)
        == "Value(lanes=100, data=[0, 0.1, 0.2, ...] mean 4.95, grad=[0, 0, 0, ...] mean 0, label='x')"
    )
    assert repr(Value(np.array([1.0, 2.0]), requires_grad=False)) == (
        "Value(lanes=2, data=[1, 2], grad=[0, 0], requires_grad=False)"
    )


@pytest.mark.parametrize("n", [1, 3])
def test_truth_of_lanes_is_ambiguous(n):
    with pytest.raises(ValueError, match=r"Value: the truth value of a lane value \(\d lanes\) is ambiguous"):
        bool(Value(np.ones(n)))


ARRAY = np.array([1.0, 2.0, 3.0])
LIFTS = [
    pytest.param(lambda v: v - ARRAY, lambda v: [x - y for x, y in zip(v, ARRAY)], id="value-array"),
    pytest.param(lambda v: ARRAY - v, lambda v: [y - x for x, y in zip(v, ARRAY)], id="array-value"),
    pytest.param(lambda v: ARRAY * v, lambda v: [y * x for x, y in zip(v, ARRAY)], id="array*value"),
    pytest.param(lambda v: ARRAY / v, lambda v: [y / x for x, y in zip(v, ARRAY)], id="array/value"),
    pytest.param(lambda v: ARRAY**v, lambda v: [y**x for x, y in zip(v, ARRAY)], id="array**value"),
    pytest.param(lambda v: v**ARRAY, lambda v: [x**y for x, y in zip(v, ARRAY)], id="value**array"),
]


@pytest.mark.parametrize(("fn", "want"), LIFTS)
@pytest.mark.parametrize("lanes_in", [True, False], ids=["lane", "scalar"])
def test_arrays_are_lifted_to_constant_lanes(fn, want, lanes_in):
    data = np.array([0.5, 1.5, 2.0]) if lanes_in else 0.75
    v = Value(data)
    out = fn(v)
    assert isinstance(out, Value) and out.lanes == 3
    expected = want(data.tolist() if lanes_in else [data] * 3)
    assert out.data.tolist() == pytest.approx(expected, rel=1e-15)
    leaves = [node for node in engine.topo_order(out) if not node._prev]
    assert [node for node in leaves if node.requires_grad] == [v]  # the array is a constant


@pytest.mark.parametrize(
    ("op", "symbol"),
    [
        pytest.param(lambda a, b: a + b, "+", id="add"),
        pytest.param(lambda a, b: a * b, "*", id="mul"),
        pytest.param(lambda a, b: a - b, "+", id="sub"),
        pytest.param(lambda a, b: a / b, "/", id="div"),
        pytest.param(lambda a, b: a**b, "**", id="pow"),
        pytest.param(lambda a, b: a + b.data, "+", id="add-array"),
    ],
)
def test_different_lane_counts_are_refused_naming_both(op, symbol):
    a, b = Value(np.ones(3) * 2), Value(np.ones(4))
    with pytest.raises(ValueError, match=rf"^{re.escape(symbol)}: .*different numbers of lanes, 3 and 4"):
        op(a, b)


# -- modes and graph algorithms on lane graphs ----------------------------------------------------


def small_net() -> tuple[Value, list[Value], Value]:
    """loss = mean((tanh(w·x + b) - y)²) over 5 examples: (loss, [w, b], x)."""
    w, b = Value(0.8, label="w"), Value(-0.2, label="b")
    x = Value(np.array([0.5, -1.0, 2.0, 0.0, 1.5]), label="x")
    y = np.array([0.1, -0.5, 0.9, 0.0, 0.4])
    return ((w * x + b).tanh() - y) ** 2, [w, b], x


def test_no_grad_and_constants_record_nothing_on_lanes():
    w = Value(2.0)
    with no_grad():
        out = w * Value(np.ones(3))
    assert (out.requires_grad, out._prev, out.lanes) == (False, (), 3)
    out = Value(np.ones(3), requires_grad=False).exp() * 2
    assert (out.requires_grad, out._prev) == (False, ())


def test_backward_from_a_lane_root_needs_a_gradient_per_lane():
    out, _, _ = small_net()
    with pytest.raises(
        RuntimeError, match=r"backward: the root is a lane value .*\.sum\(\) or \.mean\(\).* 5 numbers"
    ):
        out.backward()


@pytest.mark.parametrize(
    "grad",
    [
        pytest.param(np.ones(4), id="wrong-length"),
        pytest.param([1.0] * 5, id="list"),
        pytest.param(np.array([1.0, np.nan, 1.0, 1.0, 1.0]), id="nan"),
        pytest.param(1.0, id="number"),
    ],
)
def test_bad_seeds_of_a_lane_root_are_refused(grad):
    out, _, _ = small_net()
    with pytest.raises(ValueError, match="backward: the seed gradient of a lane value of 5 lanes"):
        out.backward(grad)


def test_a_seed_per_lane_weights_the_lanes():
    seed = np.array([1.0, 0.0, 2.0, -1.0, 0.5])
    out, params, x = small_net()
    out.backward(seed)
    got = [p.grad for p in params], x.grad.tolist()
    out, params, x = small_net()
    (out * seed).sum().backward()
    assert got == ([p.grad for p in params], x.grad.tolist())


def test_detect_anomaly_names_the_lane_forward():
    x = Value(np.array([1.0, 2.0, 1e308]), label="x")
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        x * 10
    want = "forward of '*' gave inf at lane 2 from inputs (1e+308 at lane 2 (label 'x'), 10.0)"
    assert str(info.value) == f"detect_anomaly: {want}"


def test_detect_anomaly_names_the_lane_backward_and_leaves_keep_their_gradients():
    w = Value(2.0, label="w")
    x = Value(np.array([1.0, 0.0, 4.0]), label="x")
    loss = (x.sqrt() * w).sum()
    w.grad, x.grad = 0.5, np.array([1.0, 2.0, 3.0])
    with (
        detect_anomaly(),
        pytest.raises(
            FloatingPointError, match=r"backward of 'sqrt' .* gave input 0 the gradient inf at lane 1"
        ),
    ):
        loss.backward()
    assert (w.grad, x.grad.tolist()) == (0.5, [1.0, 2.0, 3.0])  # the failed pass changed no leaf


def test_backward_steps_carry_arrays_and_end_where_backward_does():
    out, params, x = small_net()
    loss = out.mean()
    steps = list(backward_steps(loss))
    by_steps = [p.grad for p in params], x.grad.tolist()
    lane_steps = [s for s in steps if s.node.lanes]
    assert lane_steps and all(type(s.upstream) is np.ndarray and len(s.upstream) == 5 for s in lane_steps)
    for step in lane_steps:
        for _child, local, amount in step.edges:
            assert np.shape(local) == np.shape(amount) == (5,)  # per lane, before any sum
    out, params, x = small_net()
    out.mean().backward()
    assert by_steps == ([p.grad for p in params], x.grad.tolist())


def test_backward_work_counts_the_graph_of_one_example():
    out, _, _ = small_net()
    w, b, x = Value(0.8), Value(-0.2), Value(0.5)
    one = ((w * x + b).tanh() - 0.1) ** 2
    assert backward_work(out.sum()) == engine.BackwardWork(
        backward_work(one).ops + 1, backward_work(one).edges + 1, backward_work(one).nodes + 1
    )


def test_zero_grad_gives_lane_nodes_zero_arrays():
    out, params, x = small_net()
    loss = out.sum()
    loss.backward()
    loss.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0] and x.grad.tolist() == [0.0] * 5
    assert type(out.grad) is np.ndarray and out.grad.tolist() == [0.0] * 5


@pytest.mark.parametrize(
    "clone",
    [
        pytest.param(copy.deepcopy, id="deepcopy"),
        pytest.param(lambda v: pickle.loads(pickle.dumps(v)), id="pickle"),
    ],
)
def test_copies_of_lane_graphs_are_independent_and_backpropagate_alike(clone):
    out, params, x = small_net()
    loss = out.mean()
    twin = clone(loss)
    loss.backward()
    twin.backward()
    leaves = [node for node in engine.topo_order(twin) if not node._prev and node.requires_grad]
    assert sorted(v.label for v in leaves) == ["b", "w", "x"]
    got = {v.label: (v.grad.tolist() if v.lanes else v.grad) for v in leaves}
    assert got == {"w": params[0].grad, "b": params[1].grad, "x": x.grad.tolist()}
    twin_x = next(v for v in leaves if v.label == "x")
    twin_x.data[0] = 99.0  # its own array
    assert x.data[0] == 0.5
