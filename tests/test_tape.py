"""The tape (engine.tape): one example's graph compiled once and replayed over batches, against the graph.

Every expression of test_lanes runs three ways: per-example scalar graphs (the reference), one lane
graph, and a tape traced on two examples and replayed on all of them. Outputs and parameter gradients
must agree to 1e-12. Then nn's models and fit, with the tape and without, and the tape's errors.
"""

from __future__ import annotations

import gc
import random
import re
import weakref
from typing import Any

import numpy as np
import pytest
from test_lanes import EXPR_PARAMS, Expr, N, assert_same, draw, per_example

from engine import Value, detect_anomaly
from engine.tape import Tape
from nn import (
    MLP,
    SGD,
    Adam,
    cross_entropy,
    fit,
    hinge_loss,
    l2_penalty,
    mse_loss,
    record,
    train,  # its tape cache: checked so that a model's tape is not remade every fit
)
from nn.freezing import FreezePolicy, Freezer


def taped(expr: Expr, xs: np.ndarray, cs: np.ndarray, passes: int = 1) -> tuple[Tape, dict[str, Any]]:
    """The expression traced on the first two examples (inputs and constants as feeds), replayed on all."""
    params = [Value(v) for v in expr.params]
    X = np.vstack([xs, cs]).T
    nx = len(xs)
    tape = Tape.trace(lambda f: expr.fn(params, f[:nx], f[nx:]), X[:2])
    (out,) = tape.forward(X)
    for _ in range(passes):
        tape.backward([np.ones(N)])
    return tape, {"out": out.tolist(), "params": [p.grad for p in params]}


@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_a_tape_equals_per_example_scalar_graphs(expr):
    xs, cs = draw(expr)
    want = per_example(expr, xs, cs)
    del want["inputs"]  # a tape gives leaves their gradients, and feeds are not leaves of it
    assert_same(taped(expr, xs, cs)[1], want)


@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_a_second_backward_accumulates_exactly_twice(expr):
    xs, cs = draw(expr, seed=1)
    want = per_example(expr, xs, cs, passes=2)
    del want["inputs"]
    assert_same(taped(expr, xs, cs, passes=2)[1], want)


@pytest.mark.parametrize("expr", EXPR_PARAMS)
def test_a_tape_replays_batch_after_batch_of_any_size(expr):
    params = [Value(v) for v in expr.params]
    nx = len(expr.inputs)
    first = np.vstack(draw(expr, seed=2)).T
    tape = Tape.trace(lambda f: expr.fn(params, f[:nx], f[nx:]), first)
    for seed, n in ((3, N), (4, 1), (5, 40)):
        rng = np.random.default_rng(seed)
        rows = [rng.uniform(lo, hi, n) for lo, hi in (*expr.inputs, *expr.consts)]
        X = np.array(rows).T
        for p in params:
            p.grad = 0.0
        (out,) = tape.forward(X)
        tape.backward([np.ones(n)])
        got = [p.grad for p in params]
        # the lane graph on the same batch
        for p in params:
            p.grad = 0.0
        feeds = [Value(col) for col in X.T]
        graph = expr.fn(params, feeds[:nx], feeds[nx:])
        graph.sum().backward()
        np.testing.assert_allclose(out, graph.data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got, [p.grad for p in params], rtol=1e-12, atol=1e-12)


def test_scalar_outputs_reductions_and_parameter_only_terms():
    """A whole loss on the tape: lanes reduced by .mean() and .sum(), plus a term of parameters alone."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))

    def loss(params: list[Value], f: list[Value]) -> list[Value]:
        w, b, c = params
        z = (f[0] * w + f[1] * w * w + b).tanh()
        mse = ((z - f[2]) ** 2).mean()
        reg = 0.1 * (w * w + b**2 + c.exp())
        return [mse + reg, (z * c).sum(), reg]

    def run(taped: bool) -> tuple[list[Any], list[float]]:
        params = [Value(0.3), Value(-0.2), Value(0.1)]
        if taped:
            tape = Tape.trace(lambda f: loss(params, f), X[:2])
            outs = tape.forward(X)
            tape.backward([1.0, 0.5, -2.0])
        else:
            graph = loss(params, [Value(col) for col in X.T])
            outs = [g.data for g in graph]
            (graph[0] + 0.5 * graph[1] - 2.0 * graph[2]).backward()
        return outs, [p.grad for p in params]

    (got, got_grads), (want, want_grads) = run(True), run(False)
    assert all(type(o) is float for o in got)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_grads, want_grads, rtol=1e-12)


# -- nn's models --------------------------------------------------------------------------------

MODELS = [
    pytest.param(lambda: MLP(2, [16, 16, 1], seed=0), 2, id="demo-relu"),
    pytest.param(lambda: MLP(3, [5, 4], activation="tanh", seed=1), 3, id="tanh-4-outputs"),
    pytest.param(lambda: MLP(4, [3, 3, 3, 2], activation="sigmoid", seed=2), 4, id="sigmoid-deep"),
    pytest.param(
        lambda: MLP(2, [6, 1], activation="relu", output_activation="sigmoid", seed=3), 2, id="sigmoid-out"
    ),
    pytest.param(lambda: MLP(5, [1], seed=4), 5, id="one-neuron"),
]


@pytest.mark.parametrize(("make", "nin"), MODELS)
def test_a_models_tape_equals_its_lane_graph(make, nin):
    model = make()
    rng = np.random.default_rng(nin)
    X = rng.normal(size=(23, nin))
    out = model(X)
    outs = [out] if isinstance(out, Value) else out
    seeds = [rng.normal(size=23) for _ in outs]
    model.zero_grad()
    sum(((o * s).sum() for o, s in zip(outs, seeds)), Value(0.0)).backward()
    want = [p.grad for p in model.parameters()]
    model.zero_grad()
    tape = Tape.trace(model, X[:3])
    assert tape.single == isinstance(out, Value)
    got = tape.forward(X)
    tape.backward(seeds)
    for g, o in zip(got, outs):
        np.testing.assert_allclose(g, o.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([p.grad for p in model.parameters()], want, rtol=1e-12, atol=1e-15)


def test_a_models_tape_equals_one_scalar_graph_per_example():
    model = MLP(3, [4, 2], activation="tanh", seed=5)
    X = np.random.default_rng(1).normal(size=(6, 3))
    for row in X:  # the reference: the scalar path, example by example (parameters accumulate)
        sum(model(row.tolist()), Value(0.0)).backward()
    want = [p.grad for p in model.parameters()]
    model.zero_grad()
    tape = Tape.trace(model, X)
    tape.forward(X)
    tape.backward([np.ones(6), np.ones(6)])
    np.testing.assert_allclose([p.grad for p in model.parameters()], want, rtol=1e-12, atol=1e-15)


def test_frozen_parameters_get_no_gradient_and_the_rest_are_unchanged():
    model = MLP(2, [3, 1], seed=6)
    X = np.random.default_rng(2).normal(size=(8, 2))
    frozen = model.layers[0].neurons[1].parameters()
    for p in frozen:
        p.requires_grad = False
    model(X).sum().backward()
    want = [p.grad for p in model.parameters()]
    model.zero_grad()
    tape = Tape.trace(model, X)
    tape.forward(X)
    tape.backward([np.ones(8)])
    assert [p.grad for p in frozen] == [0.0] * len(frozen)
    np.testing.assert_allclose([p.grad for p in model.parameters()], want, rtol=1e-12)


def test_a_tape_sees_new_parameter_values_on_every_forward():
    model = MLP(2, [4, 1], seed=7)
    X = np.random.default_rng(3).normal(size=(5, 2))
    tape = Tape.trace(model, X)
    for p in model.parameters():
        p.data *= -1.5
    (out,) = tape.forward(X)
    np.testing.assert_allclose(out, model(X).data, rtol=1e-12)


# -- fit: the tape by default, the graph with tape=False ---------------------------------------


def moons() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    return X, np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)


def classes() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)


FITS = [
    pytest.param(
        lambda: MLP(2, [8, 8, 1], seed=0),
        moons,
        lambda m: lambda s, y: hinge_loss(s, y) + l2_penalty(m.parameters()),
        lambda m: SGD(m.parameters(), lr=0.3),
        None,
        id="hinge-l2-full-batch",
    ),
    pytest.param(
        lambda: MLP(4, [6, 3], activation="tanh", seed=1),
        classes,
        lambda m: cross_entropy,
        lambda m: Adam(m.parameters(), lr=0.05),
        16,  # 50 rows: batches of 16, a different draw each step
        id="cross-entropy-adam-batches",
    ),
    pytest.param(
        lambda: MLP(2, [5, 1], activation="sigmoid", seed=2),
        moons,
        lambda m: mse_loss,
        lambda m: SGD(m.parameters(), lr=0.5, momentum=0.9),
        7,
        id="mse-momentum",
    ),
]


def trained(make, data, make_loss, make_opt, batch_size, *, tape: bool) -> tuple[list[float], list[float]]:
    model = make()
    X, y = data()
    history = fit(
        model,
        X,
        y,
        make_loss(model),
        make_opt(model),
        steps=12,
        batch_size=batch_size,
        progress=False,
        tape=tape,
    )
    return history.loss + history.accuracy, [p.data for p in model.parameters()]


@pytest.mark.parametrize(("make", "data", "make_loss", "make_opt", "batch_size"), FITS)
def test_fit_with_the_tape_trains_as_fit_with_the_graph(make, data, make_loss, make_opt, batch_size):
    got = trained(make, data, make_loss, make_opt, batch_size, tape=True)
    want = trained(make, data, make_loss, make_opt, batch_size, tape=False)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_fit_recompiles_when_a_callback_freezes_neurons():
    """Freezing neurons mid-fit changes which products are recorded: the tape follows, as the graph does."""

    def run(tape: bool) -> tuple[list[float], list[float]]:
        model = MLP(2, [6, 1], seed=3)
        X, y = moons()
        optimizer = SGD(model.parameters(), lr=0.2)
        freezer = Freezer(model, optimizer, FreezePolicy(threshold=0.05, patience=2))
        history = fit(
            model, X, y, hinge_loss, optimizer, steps=15, progress=False, callback=freezer, tape=tape
        )
        assert freezer.events  # something was frozen along the way
        return history.loss, [p.data for p in model.parameters()]

    for g, w in zip(run(True), run(False)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_fit_builds_the_graph_where_nodes_are_looked_at():
    """record() keeps each neuron's z, detect_anomaly checks each node: neither can look inside a tape."""
    model = MLP(2, [3, 1], seed=4)
    X, y = moons()
    with record(model):
        fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=2, progress=False)
    assert [len(n.zs) for n in model.layers[0].neurons] == [2, 2, 2]
    with detect_anomaly():
        fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=1, progress=False)


def test_fit_reuses_a_models_tape_and_remakes_it_for_new_parameters():
    model = MLP(2, [4, 1], seed=5)
    X, y = moons()
    opt = SGD(model.parameters(), lr=0.1)
    fit(model, X, y, hinge_loss, opt, steps=1, progress=False)
    first = train._TAPES[model][1]
    fit(model, X, y, hinge_loss, opt, steps=1, progress=False)
    assert train._TAPES[model][1] is first
    model.layers[0].neurons[0].w[0] = Value(0.5)  # a new parameter object: a new graph
    fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=1, progress=False)
    assert train._TAPES[model][1] is not first


def test_fit_with_every_parameter_frozen_says_so_with_or_without_tape():
    model = MLP(2, [2, 1], seed=6)
    for p in model.parameters():
        p.requires_grad = False
    X, y = moons()
    messages = []
    for tape in (True, False):
        with pytest.raises(Exception) as err:
            fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=1, progress=False, tape=tape)
        messages.append((type(err.value), str(err.value)))
    assert messages[0] == messages[1]


# -- errors ----------------------------------------------------------------------------------


def test_a_constant_lane_in_the_graph_is_refused_naming_it():
    y = np.array([1.0, -1.0])
    w = Value(0.5)
    with pytest.raises(ValueError, match=r"Tape: the graph holds a lane value that is not a feed, 2 lanes"):
        Tape.trace(lambda f: f[0] * w - y, np.ones((2, 1)))


@pytest.mark.parametrize(
    ("outputs", "feeds", "words"),
    [
        ("loss", [], "outputs[0] must be a Value, got str"),
        ([Value(1.0)], [Value(1.0)], "feeds[0] must be a lane Value without inputs"),
        ([Value(1.0)], [Value(np.ones(2)) * 2], "feeds[0] must be a lane Value without inputs"),
    ],
)
def test_bad_outputs_and_feeds_are_refused(outputs, feeds, words):
    with pytest.raises(TypeError, match=re.escape(words)):
        Tape(outputs, feeds)


@pytest.mark.parametrize(
    ("X", "words"),
    [
        (np.ones((3, 3)), "got shape (3, 3)"),
        (np.ones(2), "got shape (2,)"),
        (np.ones((0, 2)), "got shape (0, 2)"),
    ],
)
def test_forward_refuses_a_batch_of_the_wrong_shape(X, words):
    tape = Tape.trace(MLP(2, [1], seed=0), np.ones((1, 2)))
    shape = "Tape.forward: batch must be a 2-d array with a column per feed (2) and at least one row, "
    with pytest.raises(ValueError, match=re.escape(shape + words)):
        tape.forward(X)


def test_backward_before_forward_and_with_wrong_gradients_is_refused_keeping_earlier_gradients():
    model = MLP(2, [2, 1], seed=0)
    tape = Tape.trace(model, np.ones((1, 2)))
    with pytest.raises(RuntimeError, match=r"Tape\.backward: run forward on a batch first"):
        tape.backward([np.ones(1)])
    tape.forward(np.ones((4, 2)))
    tape.backward([np.ones(4)])
    before = [p.grad for p in model.parameters()]
    with pytest.raises(ValueError, match=re.escape("needs a gradient per output (1), got 2")):
        tape.backward([np.ones(4), np.ones(4)])
    with pytest.raises(
        ValueError, match=re.escape("grads[0] must hold one number per lane (4), got shape (3,)")
    ):
        tape.backward([np.ones(3)])
    assert [p.grad for p in model.parameters()] == before


@pytest.mark.parametrize(
    ("fn", "bad"),
    [
        (lambda f, w: (f[0] * w).log(), -0.5),
        (lambda f, w: (f[0] + w).sqrt(), -3.0),
        (lambda f, w: w / f[0], 0.0),
        (lambda f, w: (f[0] * w).exp(), 1000.0),
        (lambda f, w: (f[0] * w) ** -1.0, 0.0),
    ],
    ids=["log", "sqrt", "div", "exp", "pow"],
)
def test_domain_errors_name_the_lane_as_the_lane_graph_does(fn, bad):
    w = Value(1.0, label="w")
    tape = Tape.trace(lambda f: fn(f, w), np.ones((1, 1)))
    X = np.array([[1.0], [2.0], [3.0], [bad], [4.0]])
    with pytest.raises((ArithmeticError, ValueError)) as want:
        fn([Value(X[:, 0], label="x0")], w)  # named as Tape.trace names its feeds
    with pytest.raises(type(want.value)) as got:
        tape.forward(X)
    assert str(got.value) == str(want.value)
    assert "lane 3" in str(got.value)


def test_repr_counts_feeds_ops_groups_and_outputs():
    tape = Tape.trace(MLP(2, [16, 16, 1], seed=0), np.ones((1, 2)))
    # 2·16 + 16·16 + 16 products, 33 sums, 32 relus, in 8 groups of one op at one depth
    assert repr(tape) == "Tape(2 feeds, 369 ops in 8 groups, 1 output)"


def test_a_tape_of_a_random_seeded_model_is_deterministic():
    random.seed(0)
    model = MLP(2, [3, 1])
    X = np.random.default_rng(0).normal(size=(4, 2))
    a = Tape.trace(model, X).forward(X)
    b = Tape.trace(model, X).forward(X)
    np.testing.assert_array_equal(a[0], b[0])


def test_the_traced_graph_is_freed_and_free_lets_go_of_the_batch_arrays():
    model = MLP(2, [4, 1], seed=8)
    X = np.random.default_rng(4).normal(size=(6, 2))
    seen: list[weakref.ref[np.ndarray]] = []  # (Values have slots and no weak references; arrays do)

    def traced(feeds: list[Value]) -> Value:
        out = model(feeds)
        seen.append(weakref.ref(out.data))
        return out

    tape = Tape.trace(traced, X)
    gc.collect()
    assert seen[0]() is None  # the graph it was compiled from is gone; the tape holds rows and rules
    (before,) = tape.forward(X)
    tape.free()
    with pytest.raises(RuntimeError, match=r"run forward on a batch first"):
        tape.backward([np.ones(6)])
    (after,) = tape.forward(X)
    np.testing.assert_array_equal(before, after)
