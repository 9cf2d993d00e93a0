"""nn on lanes: every model, loss, step and instrument run both ways, against the scalar path.

One way builds a graph per example (the scalar path, the reference); the other calls the model on
the whole 2-d X, one graph whose values are lanes. Outputs, losses and every parameter's gradient
must agree to 1e-12, and so must what fit, predict and the instruments report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Value
from nn import (
    MLP,
    SGD,
    Adam,
    Layer,
    Neuron,
    accuracy,
    binary_cross_entropy,
    cross_entropy,
    fit,
    hinge_loss,
    l2_penalty,
    mse_loss,
    predict,
    record,
    to_torch,
)
from nn.diagnostics import activation_stats, blame, gradient_flow
from nn.freezing import FreezePolicy, Freezer, neuron_grad
from nn.pruning import dead_neurons, full_mask, prune, train_masked

TOL = {"rel": 1e-12, "abs": 1e-14}
N, NIN = 7, 3


def data(n: int = N, nin: int = NIN, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, nin))


def per_example(model: Callable[[Any], Any], X: np.ndarray) -> list[Any]:
    """The scalar path: one graph per example."""
    return [model(row) for row in X]


def as_rows(outputs: list[Any]) -> np.ndarray:
    """Per-example outputs (a Value or a list of Values each) as an (n,) or (n, k) array."""
    return np.array([[v.data for v in o] if isinstance(o, list) else o.data for o in outputs])


def lane_rows(out: Any) -> np.ndarray:
    """A lane call's outputs (a lane value or a list of k) as an (n,) or (n, k) array."""
    return np.column_stack([v.data for v in out]) if isinstance(out, list) else out.data


def grads(model: MLP) -> list[float]:
    return [p.grad for p in model.parameters()]


# -- the losses, each with its targets ----------------------------------------------------------


def signs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape)


def reals(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(size=shape)


def bits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 2, size=shape).astype(float)


def probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(size=shape)


@dataclass(frozen=True)
class Case:
    name: str
    nouts: list[int]
    activation: str
    loss: Callable[..., Value]
    targets: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] | None  # None: class labels
    flat: bool = True  # k outputs: the scalar form takes the n·k predictions flat (all but cross_entropy)


def micrograd(scores: Any, y: np.ndarray, model: MLP) -> Value:
    """micrograd's demo loss: hinge plus 1e-4 Σp²."""
    return hinge_loss(scores, y) + l2_penalty(model.parameters(), alpha=1e-4)


def plain(loss: Callable[..., Value], **kwargs: Any) -> Callable[..., Value]:
    return lambda scores, y, model: loss(scores, y, **kwargs)


CASES = [
    Case("micrograd's loss", [4, 4, 1], "relu", micrograd, signs),
    Case("hinge sum", [4, 1], "tanh", plain(hinge_loss, reduction="sum"), signs),
    Case("hinge 2 outputs", [3, 2], "relu", plain(hinge_loss), signs),
    Case("mse", [3, 1], "tanh", plain(mse_loss), reals),
    Case("mse 3 outputs sum", [3, 3], "sigmoid", plain(mse_loss, reduction="sum"), reals),
    Case("bce", [5, 1], "tanh", plain(binary_cross_entropy), bits),
    Case("bce probabilities", [3, 1], "relu", plain(binary_cross_entropy), probabilities),
    Case("bce 2 outputs sum", [3, 2], "sigmoid", plain(binary_cross_entropy, reduction="sum"), bits),
    Case("cross entropy", [4, 3], "relu", plain(cross_entropy), None, flat=False),
    Case("cross entropy sum", [4, 4], "tanh", plain(cross_entropy, reduction="sum"), None, flat=False),
]


def targets(case: Case, n: int = N, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = case.nouts[-1]
    if case.targets is None:
        return rng.integers(0, k, size=n)
    return case.targets(rng, (n,) if k == 1 else (n, k))


def model_of(case: Case, nin: int = NIN) -> MLP:
    return MLP(nin, case.nouts, activation=case.activation, seed=3)


def scalar_loss(case: Case, model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[Value, list[Any]]:
    """The case's loss on one graph per example, and the outputs."""
    outputs = per_example(model, X)
    if case.flat and case.nouts[-1] > 1:
        return case.loss([v for row in outputs for v in row], y.ravel(), model), outputs
    return case.loss(outputs, y, model), outputs


def lane_loss(case: Case, model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[Value, Any]:
    """The case's loss on one lane graph, and the outputs."""
    out = model(X)
    return case.loss(out, y, model), out


ids = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_outputs_losses_and_gradients_agree_both_ways_and_accumulate_exactly_twice(case: Case) -> None:
    X, y = data(), targets(case)
    ref, lanes = model_of(case), model_of(case)
    loss, outputs = scalar_loss(case, ref, X, y)
    lane, out = lane_loss(case, lanes, X, y)
    assert lane.lanes is None  # the loss is one number
    assert lane_rows(out) == pytest.approx(as_rows(outputs), **TOL)
    assert lane.data == pytest.approx(loss.data, **TOL)
    loss.backward()
    lane.backward()
    once = grads(lanes)
    assert once == pytest.approx(grads(ref), **TOL)
    assert all(type(g) is float for g in once)  # the sum over the lanes: a plain number
    loss.backward()  # a second backward through the same graphs: leaves accumulate
    lane.backward()
    assert grads(lanes) == [2 * g for g in once]
    assert grads(lanes) == pytest.approx(grads(ref), **TOL)


@pytest.mark.parametrize(
    ("make", "x_width"),
    [
        (lambda: Neuron(3, activation="tanh", seed=0), 3),
        (lambda: Layer(3, 2, activation="sigmoid", seed=0), 3),
        (lambda: MLP(3, [2, 1], seed=0), 3),
        (lambda: MLP(1, [3, 2], activation="tanh", seed=0), 1),
    ],
    ids=["Neuron", "Layer", "MLP one output", "MLP one input"],
)
def test_every_model_on_a_2d_X_returns_lane_values(make: Callable[[], Any], x_width: int) -> None:
    model = make()
    X = data(nin=x_width)
    out = model(X)
    values = out if isinstance(out, list) else [out]
    assert all(v.lanes == N for v in values)
    assert lane_rows(out) == pytest.approx(as_rows(per_example(model, X)), **TOL)
    one = model(X[0])  # a 1-d row is still one example: the scalar path
    assert all(v.lanes is None for v in (one if isinstance(one, list) else [one]))


def test_the_inputs_are_shared_constant_lanes_named_like_the_scalar_ones() -> None:
    model = MLP(2, [3, 1], seed=0)
    X = data(nin=2)
    inputs = model.inputs(X)
    assert [(x.label, x.requires_grad, x.lanes) for x in inputs] == [("x0", False, N), ("x1", False, N)]
    assert [list(x.data) for x in inputs] == [list(X[:, 0]), list(X[:, 1])]


# -- optimizer steps and fit --------------------------------------------------------------------


def one_by_one(model: MLP) -> Callable[[Any], Any]:
    """The same model behind a plain function: fit and predict then build one graph per example."""

    def run(row: Any) -> Any:
        return model(row)

    return run


OPTIMIZERS = [
    ("SGD", lambda params: SGD(params, lr=0.1)),
    ("SGD momentum", lambda params: SGD(params, lr=0.05, momentum=0.9)),
    ("Adam", lambda params: Adam(params, lr=0.01)),
]


# fit takes one label per example: the cases with one output, and cross-entropy's class indices.
FIT_CASES = [case for case in CASES if not (case.flat and case.nouts[-1] > 1)]


@pytest.mark.parametrize("case", FIT_CASES, ids=[case.name for case in FIT_CASES])
@pytest.mark.parametrize(("opt_name", "optimizer"), OPTIMIZERS, ids=[name for name, _ in OPTIMIZERS])
@pytest.mark.parametrize("batch_size", [None, 3])
def test_fit_history_and_weights_agree_both_ways(
    case: Case, opt_name: str, optimizer: Callable[[Any], Any], batch_size: int | None
) -> None:
    X, y = data(), targets(case)
    runs = []
    for lanes in (False, True):
        model = model_of(case)
        net = model if lanes else one_by_one(model)

        def loss(preds: Any, labels: np.ndarray, model: MLP = model) -> Value:
            return case.loss(preds, labels, model)

        history = fit(
            net, X, y, loss, optimizer(model.parameters()), steps=3, batch_size=batch_size, progress=False
        )
        runs.append((history, model.state_dict(), predict(net, X)))
    (ref, ref_state, ref_pred), (lane, lane_state, lane_pred) = runs
    assert lane.loss == pytest.approx(ref.loss, **TOL)
    assert lane.accuracy == ref.accuracy
    assert lane.lr == ref.lr
    assert lane_state == pytest.approx(ref_state, **TOL)
    assert lane_pred == pytest.approx(ref_pred, **TOL)
    assert lane_pred.shape == ref_pred.shape


def test_fit_with_lanes_false_builds_one_graph_per_example_as_a_plain_function_does() -> None:
    X, y = data(), np.array([1, -1, 1, 1, -1, -1, 1])
    runs, seen = [], []
    for net_of, lanes in ((one_by_one, True), (lambda m: m, False)):
        model = MLP(NIN, [3, 1], seed=2)

        def loss(preds: Any, labels: np.ndarray, model: MLP = model) -> Value:
            seen.append(type(preds).__name__)
            return hinge_loss(preds, labels) + l2_penalty(model.parameters())

        history = fit(
            net_of(model), X, y, loss, SGD(model.parameters(), lr=0.1), 3, progress=False, lanes=lanes
        )
        runs.append((history.loss, model.state_dict()))
    assert runs[0] == runs[1]  # the same per-example graphs, the same arithmetic: equal, not close
    assert seen == ["list"] * 6  # the loss got one output per example both times


@pytest.mark.parametrize(
    ("nouts", "y", "expected_shape"),
    [([2, 1], np.array([1, -1, 1, 1, -1, -1, 1]), (N,)), ([2, 3], np.array([0, 1, 2, 2, 1, 0, 1]), (N, 3))],
)
def test_predict_and_accuracy_read_lane_outputs(nouts: list[int], y: np.ndarray, expected_shape: Any) -> None:
    model, X = MLP(NIN, nouts, seed=1), data()
    scores = predict(model, X)
    assert scores.shape == expected_shape
    assert scores == pytest.approx(as_rows(per_example(model, X)), **TOL)
    assert accuracy(model(X), y) == accuracy(scores, y) == accuracy(per_example(model, X), y)


def test_predict_records_no_graph() -> None:
    model = MLP(NIN, [3, 1], seed=0)
    with record(model):
        predict(model, data())
    assert not any(z.requires_grad for n in model.layers[0].neurons for z in n.zs)


def test_fit_refuses_a_loss_left_as_lanes() -> None:
    model = MLP(NIN, [1], seed=0)
    with pytest.raises(
        ValueError,
        match=r"fit: the loss must be one number, a scalar Value, got a lane value of 7 lanes; .*\.mean\(\)",
    ):
        fit(
            model,
            data(),
            np.zeros(N),
            lambda s, y: (s - y) ** 2,
            SGD(model.parameters(), lr=0.1),
            steps=1,
            progress=False,
        )


# -- instruments ----------------------------------------------------------------------------------


def layer_outputs_by_example(model: MLP, X: np.ndarray) -> list[np.ndarray]:
    """Each layer's outputs on each row, one scalar graph per example (the reference)."""
    per_layer: list[list[list[float]]] = [[] for _ in model.layers]
    for row in X:
        h = model.inputs(list(row))
        for i, layer in enumerate(model.layers):
            h = layer._run(h)
            per_layer[i].append([v.data for v in h])
    return [np.array(rows) for rows in per_layer]


def with_dead_units() -> MLP:
    model = MLP(NIN, [4, 3, 1], seed=2)
    model.layers[0].neurons[1].b.data = -100.0  # dead on every input
    return model


def test_layer_outputs_activation_stats_and_dead_neurons_agree_both_ways() -> None:
    X = data()
    for model in (with_dead_units(), MLP(NIN, [3, 3, 2], activation=["tanh", "sigmoid"], seed=1)):
        reference = layer_outputs_by_example(model, X)
        lanes = model.layer_outputs(X)
        for ours, ref in zip(lanes, reference, strict=True):
            assert ours.shape == ref.shape
            assert ours == pytest.approx(ref, **TOL)
        stats = activation_stats(model, X)
        for layer, ref in zip(stats.layers, reference, strict=True):
            assert (layer.mean, layer.std) == pytest.approx((ref.mean(), ref.std()), **TOL)
        dead = [
            (i, int(j)) for i, a in enumerate(reference[:-1]) for j in np.flatnonzero(np.all(a == 0, axis=0))
        ]
        assert dead_neurons(model, X) == dead
        assert ((0, 1) in dead) == (model.layers[0].activation == "relu")  # the unit made dead


@pytest.mark.parametrize("case", CASES[:6], ids=ids[:6])
def test_gradient_flow_blame_and_neuron_grads_agree_both_ways(case: Case) -> None:
    X, y = data(), targets(case)
    results = []
    for lanes in (False, True):
        model = model_of(case)
        with record(model):
            loss, _ = lane_loss(case, model, X, y) if lanes else scalar_loss(case, model, X, y)
        loss.backward()
        flow = gradient_flow(model, lr=0.1)
        found = blame(model, top=5)
        deltas = [
            np.concatenate([np.atleast_1d(z.grad) for z in n.zs])
            for layer in model.layers
            for n in layer.neurons
        ]
        neuron_grads = [neuron_grad(n) for layer in model.layers for n in layer.neurons]
        results.append((flow, found, deltas, neuron_grads, model))
    (flow, found, deltas, neuron_grads, _), (lflow, lfound, ldeltas, lneuron_grads, lanes_model) = results
    for a, b in zip(lflow.layers, flow.layers, strict=True):
        numbers = [i for i, x in enumerate(astuple(b)) if isinstance(x, float)]
        assert [astuple(a)[i] for i in numbers] == pytest.approx([astuple(b)[i] for i in numbers], **TOL)
    assert [(p.name, p.value) for p in lfound.parameters] == [(p.name, p.value) for p in found.parameters]
    assert [p.grad for p in lfound.parameters] == pytest.approx([p.grad for p in found.parameters], **TOL)
    assert [(n.name, n.examples) for n in lfound.neurons] == [(n.name, n.examples) for n in found.neurons]
    assert all(n.examples == N for n in lfound.neurons)
    for a, b in zip(lfound.neurons, found.neurons, strict=True):
        assert (a.mean_delta, a.mean_abs_delta) == pytest.approx((b.mean_delta, b.mean_abs_delta), **TOL)
    # δ per neuron per example: one z per neuron, a lane value whose grad holds every example's δ.
    assert all(len(n.zs) == 1 and n.zs[0].lanes == N for layer in lanes_model.layers for n in layer.neurons)
    for a, b in zip(ldeltas, deltas, strict=True):
        assert a == pytest.approx(b, **TOL)
    assert lneuron_grads == pytest.approx(neuron_grads, **TOL)


def test_freezer_freezes_the_same_neurons_at_the_same_steps_both_ways() -> None:
    case = CASES[0]
    X, y = data(n=12), targets(case, n=12)
    runs = []
    for lanes in (False, True):
        model = model_of(case)
        optimizer = SGD(model.parameters(), lr=0.1)
        freezer = Freezer(model, optimizer, FreezePolicy(threshold=0.1, patience=2))
        fit(
            model if lanes else one_by_one(model),
            X,
            y,
            functools.partial(micrograd, model=model),
            optimizer,
            steps=8,
            progress=False,
            callback=freezer,
        )
        runs.append((freezer.events, freezer.frozen_counts, model.state_dict()))
    (events, counts, state), (lane_events, lane_counts, lane_state) = runs
    assert [(e.step, e.layer, e.neuron) for e in lane_events] == [(e.step, e.layer, e.neuron) for e in events]
    assert lane_counts == counts and any(counts)
    assert lane_state == pytest.approx(state, **TOL)


def test_pruning_dead_units_keeps_the_lane_outputs_exactly() -> None:
    model, X = with_dead_units(), data()
    dead = dead_neurons(model, X)
    smaller = prune(model, dead)
    assert (0, 1) in dead and sum(smaller.sizes) == sum(model.sizes) - len(dead)
    assert list(smaller(X).data) == list(model(X).data)  # ==, bit for bit


def test_train_masked_agrees_with_training_one_example_at_a_time() -> None:
    X, y = data(), targets(CASES[5])  # 0/1 labels
    models = [MLP(NIN, [4, 1], seed=0) for _ in range(2)]
    mask = full_mask(models[0])
    mask["layers.0.neurons.0.w.1"] = False
    history = train_masked(models[1], mask, X, y, steps=3)
    named = dict(models[0].named_parameters())
    named["layers.0.neurons.0.w.1"].data = 0.0
    optimizer = Adam(models[0].parameters(), lr=0.01, frozen=[named["layers.0.neurons.0.w.1"]])
    ref = fit(one_by_one(models[0]), X, y, binary_cross_entropy, optimizer, steps=3, progress=False)
    assert history.loss == pytest.approx(ref.loss, **TOL)
    assert models[1].state_dict() == pytest.approx(models[0].state_dict(), **TOL)
    assert models[1].state_dict()["layers.0.neurons.0.w.1"] == 0.0


@pytest.mark.torch
def test_lane_outputs_and_gradients_match_torch(torch: Any) -> None:
    model, X = MLP(NIN, [5, 4, 2], activation="tanh", seed=0), data()
    y = reals(np.random.default_rng(1), (N, 2))
    out = model(X)
    loss = mse_loss(out, y)
    loss.backward()
    module = to_torch(model)
    theirs = module(torch.tensor(X))
    expected = torch.nn.functional.mse_loss(theirs, torch.tensor(y))
    expected.backward()
    np.testing.assert_allclose(lane_rows(out), theirs.detach().numpy(), rtol=0, atol=1e-12)
    assert loss.data == pytest.approx(expected.item(), **TOL)
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model.layers, linears, strict=True):
        ours = [[w.grad for w in n.w] for n in layer.neurons]
        np.testing.assert_allclose(ours, linear.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            [n.b.grad for n in layer.neurons], linear.bias.grad.numpy(), rtol=1e-10, atol=1e-12
        )


# -- what the lane forms refuse --------------------------------------------------------------------


def lanes_of(n: int, k: int = 1) -> Any:
    values = [Value(np.linspace(-1.0, 1.0, n) * (j + 1)) for j in range(k)]
    return values[0] if k == 1 else values


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: mse_loss(lanes_of(3), [1.0, 2.0]),
            ValueError,
            r"mse_loss: 1 prediction of 3 lanes need targets of shape \(3,\), one per example, "
            r"got shape \(2,\)",
        ),
        (
            lambda: mse_loss(lanes_of(3, 2), np.zeros(3)),
            ValueError,
            r"mse_loss: 2 predictions of 3 lanes need targets of shape \(3, 2\), "
            r"one per example and output, got shape \(3,\)",
        ),
        (
            lambda: mse_loss([lanes_of(3), lanes_of(4)], np.zeros((3, 2))),
            ValueError,
            "mse_loss: prediction 1 has 4 lanes but prediction 0 has 3 lanes",
        ),
        (
            lambda: mse_loss([lanes_of(3), Value(1.0)], np.zeros((3, 2))),
            ValueError,
            r"mse_loss: prediction 1 has no lanes \(a scalar\) but prediction 0 has 3 lanes",
        ),
        (
            lambda: mse_loss(lanes_of(3), [0.0, np.nan, 1.0]),
            ValueError,
            "mse_loss: the targets must hold finite numbers, got nan at row 1",
        ),
        (
            lambda: hinge_loss(lanes_of(3), [1, 0, -1]),
            ValueError,
            r"hinge_loss: labels must be -1 or \+1, got 0 \(example 1\): 0/1 labels\?",
        ),
        (
            lambda: hinge_loss(lanes_of(2, 2), [[1, 1], [1, 2]]),
            ValueError,
            r"hinge_loss: labels must be -1 or \+1, got 2 \(example 1, output 1\)",
        ),
        (
            lambda: binary_cross_entropy(lanes_of(2), [0, -1]),
            ValueError,
            r"binary_cross_entropy: labels must be .*got -1 \(example 1\): -1/\+1 labels\?",
        ),
        (
            lambda: cross_entropy(lanes_of(3), [0, 1, 1]),
            ValueError,
            "cross_entropy: each example must have k logits, one per class, got 1 lane value: "
            "the model has one output",
        ),
        (
            lambda: cross_entropy(lanes_of(3, 2), [0, 2, 1]),
            ValueError,
            r"cross_entropy: label 2 is out of range for 2 logits \(example 1\)",
        ),
        (lambda: cross_entropy(lanes_of(3, 2), [0, 1]), ValueError, "cross_entropy: 3 examples but 2 labels"),
        (
            lambda: cross_entropy(lanes_of(3, 2), [0.0, 1.0, 1.0]),
            TypeError,
            r"cross_entropy: label 0.0 \(example 0\) must be an integer class index",
        ),
        (
            lambda: hinge_loss(lanes_of(3), [1, 1, 1], reduction="max"),
            ValueError,
            "hinge_loss: unknown reduction 'max'",
        ),
    ],
)
def test_lane_losses_refuse_what_does_not_fit(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


# -- any model, any data --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    nin=st.integers(1, 3),
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]),
    seed=st.integers(0, 2**16),
)
def test_any_mlp_on_any_batch_agrees_both_ways(
    n: int, nin: int, widths: list[int], activation: str, seed: int
) -> None:
    X = data(n=n, nin=nin, seed=seed)
    y = reals(np.random.default_rng(seed + 1), (n,) if widths[-1] == 1 else (n, widths[-1]))
    ref, lanes = (MLP(nin, widths, activation=activation, seed=seed) for _ in range(2))
    outputs = per_example(ref, X)
    flat = [v for row in outputs for v in row] if widths[-1] > 1 else outputs
    loss = mse_loss(flat, y.ravel())
    out = lanes(X)
    lane = mse_loss(out, y)
    assert lane_rows(out) == pytest.approx(as_rows(outputs), **TOL)
    assert lane.data == pytest.approx(loss.data, **TOL)
    loss.backward()
    lane.backward()
    assert grads(lanes) == pytest.approx(grads(ref), **TOL)
