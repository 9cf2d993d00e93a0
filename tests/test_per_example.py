"""per_example_grads: one backward pass over a lane graph, split into each example's share.

Each loss in LOSSES runs two ways: as one lane graph split by per_example_grads, and as n scalar
graphs, example i's term of the loss alone (its share of a mean: the term over n). Row i must equal
example i's gradients, `shared` the scalar-only part (an L2 term) alone, and their sum backward's.
nn.diagnostics.example_gradients is checked the same way on MLPs, against one scalar graph per example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from engine import Value, no_grad, per_example_grads
from nn import MLP, cross_entropy, l2_penalty, mse_loss
from nn.diagnostics import example_gradients

N = 5
TOL = {"rel": 1e-12, "abs": 1e-14}
X = np.random.default_rng(0).normal(size=(N, 2))
Y = np.random.default_rng(1).normal(size=N)
START = (0.4, -0.9, 0.2)


def params() -> list[Value]:
    return [Value(p, label=f"p{i}") for i, p in enumerate(START)]


@dataclass(frozen=True)
class Loss:
    """term(p, x, y): one example's term (x, y lanes or numbers); the loss reduces them, plus penalty(p)."""

    name: str
    term: Callable[[list[Value], Any, Any], Value]
    reduction: str  # "mean" or "sum"
    penalty: Callable[[list[Value]], Value] | None = None

    def lanes(self, p: list[Value]) -> Value:
        terms = self.term(p, [Value(X[:, 0]), Value(X[:, 1])], Value(Y))
        total = terms.mean() if self.reduction == "mean" else terms.sum()
        return total if self.penalty is None else total + self.penalty(p)

    def example(self, p: list[Value], i: int) -> Value:
        """Example i's share of the loss alone: its term, over n for a mean."""
        term = self.term(p, [Value(X[i, 0]), Value(X[i, 1])], Value(Y[i]))
        return term * (1.0 / N) if self.reduction == "mean" else term


def neuron(p: list[Value], x: Any, y: Any) -> Value:
    return ((p[0] * x[0] + p[1] * x[1] + p[2]).tanh() - y) ** 2


def through_scalars(p: list[Value], x: Any, y: Any) -> Value:
    """A parameter reaches the lanes through scalar ops first: lane amounts pass through their rules."""
    scale = (p[0] * p[0]).tanh() + p[2].exp()
    return (p[1] * x[0] * scale + x[1] - y).relu() + (p[0] * x[1] - y).abs()


def l2(p: list[Value]) -> Value:
    return 0.1 * (p[0] ** 2 + p[1] ** 2)


LOSSES = [
    Loss("mse_mean", neuron, "mean"),
    Loss("mse_sum", neuron, "sum"),
    Loss("mse_mean_l2", neuron, "mean", l2),
    Loss("mse_sum_l2", neuron, "sum", l2),
    Loss("through_scalars_mean", through_scalars, "mean"),
    Loss("through_scalars_sum_l2", through_scalars, "sum", l2),
]


def grads_of(root: Value, p: list[Value]) -> np.ndarray:
    for v in p:
        v.grad = 0.0
    root.backward()
    return np.array([v.grad for v in p])


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_each_row_is_the_gradient_of_that_examples_term_alone(loss: Loss) -> None:
    split = per_example_grads(loss.lanes(p := params()), p)
    assert split.per_example.shape == (N, len(START))
    for i in range(N):
        q = params()
        assert split.per_example[i] == pytest.approx(grads_of(loss.example(q, i), q), **TOL)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_shared_is_the_penalty_alone(loss: Loss) -> None:
    split = per_example_grads(loss.lanes(p := params()), p)
    q = params()
    expected = np.zeros(len(START)) if loss.penalty is None else grads_of(loss.penalty(q), q)
    assert split.shared == pytest.approx(expected, **TOL)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_the_parts_add_up_to_backwards_gradients_and_leave_them(loss: Loss) -> None:
    split = per_example_grads(loss.lanes(p := params()), p)
    left = np.array([v.grad for v in p])
    q = params()
    expected = grads_of(loss.lanes(q), q)
    assert split.per_example.sum(axis=0) + split.shared == pytest.approx(expected, **TOL)
    assert left.tolist() == expected.tolist()  # the pass is backward's: the same .grad, bit for bit


def test_leaves_accumulate_as_backward_does() -> None:
    p = params()
    for v in p:
        v.grad = 1.0
    split = per_example_grads(LOSSES[2].lanes(p), p)
    q = params()
    expected = grads_of(LOSSES[2].lanes(q), q)
    assert [v.grad for v in p] == pytest.approx((1.0 + expected).tolist(), **TOL)
    assert split.per_example.sum(axis=0) + split.shared == pytest.approx(expected, **TOL)  # this pass only


def test_params_in_any_order_repeated_or_unused_get_their_columns() -> None:
    p = params()
    unused = Value(3.0)
    split = per_example_grads(LOSSES[0].lanes(p), [p[2], unused, p[0], p[2]])
    whole = per_example_grads(LOSSES[0].lanes(q := params()), q)
    assert split.per_example[:, 1].tolist() == [0.0] * N
    assert split.per_example[:, 0].tolist() == whole.per_example[:, 2].tolist()
    assert split.per_example[:, 2].tolist() == whole.per_example[:, 0].tolist()
    assert split.per_example[:, 3].tolist() == whole.per_example[:, 2].tolist()


def lane_root() -> Value:
    return Value(np.ones(3)) * Value(2.0)


def scalar_root() -> Value:
    return Value(2.0) * Value(3.0)


def frozen_root() -> Value:
    with no_grad():
        return (Value(np.ones(3)) * Value(2.0)).sum()


def lane_loss() -> Value:
    return (Value(np.ones(3)) * Value(2.0)).sum()


ERRORS = [
    # (root, params, exception, message)
    pytest.param(lambda: 1.5, lambda: [], TypeError, "needs one Value", id="root_number"),
    pytest.param(
        lane_root, lambda: [], ValueError, "must be a scalar loss, got a lane value", id="root_lanes"
    ),
    pytest.param(scalar_root, lambda: [], ValueError, "has no lanes", id="no_lanes"),
    pytest.param(frozen_root, lambda: [], RuntimeError, "does not require grad", id="no_grad"),
    pytest.param(lane_loss, lambda: Value(1.0), TypeError, "list or tuple of Values", id="params_one_value"),
    pytest.param(lane_loss, lambda: {Value(1.0)}, TypeError, "list or tuple of Values", id="params_set"),
    pytest.param(lane_loss, lambda: [1.0], TypeError, r"params\[0\] must be a Value", id="params_number"),
    pytest.param(
        lane_loss,
        lambda: [Value(np.ones(3))],
        ValueError,
        r"params\[0\] must be a scalar leaf",
        id="params_lanes",
    ),
    pytest.param(
        lane_loss,
        lambda: [Value(1.0) * 2.0],
        ValueError,
        r"params\[0\] must be a leaf .* '\*'",
        id="params_op",
    ),
]


@pytest.mark.parametrize(("root", "ps", "error", "message"), ERRORS)
def test_errors_say_what_is_wrong(root: Any, ps: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        per_example_grads(root(), ps())


def test_a_model_as_params_is_told_to_pass_its_parameters() -> None:
    with pytest.raises(TypeError, match=r"pass its \.parameters\(\)"):
        per_example_grads(lane_loss(), MLP(2, [1]))  # type: ignore[arg-type]


def test_an_error_in_the_pass_leaves_every_gradient_as_it_was() -> None:
    p = params()
    for v in p:
        v.grad = 0.5
    broken = (Value(X[:, 0]) * p[0]).sum() * p[1] + p[2]  # fails at its second step

    def fail(out: Value, g: float = 1.0) -> tuple[float, ...]:
        raise ArithmeticError("rule failed")

    broken._prev[0]._backward = fail  # type: ignore[misc]
    with pytest.raises(ArithmeticError, match="rule failed"):
        per_example_grads(broken, p)
    assert [v.grad for v in p] == [0.5, 0.5, 0.5]


# -- nn.diagnostics.example_gradients: an MLP's examples, against one scalar graph per example ----


@dataclass(frozen=True)
class ModelCase:
    """An MLP and a loss on its lane outputs; example(model, row, label) is example i's share alone."""

    name: str
    sizes: tuple[int, ...]
    labels: np.ndarray
    loss: Callable[[MLP], Callable[[Any, np.ndarray], Value]]
    example: Callable[[MLP, np.ndarray, Any], Value]
    penalty: bool = False


XS = np.random.default_rng(2).normal(size=(6, 3))
CASES = [
    ModelCase(
        "mse_mean",
        (4, 1),
        np.random.default_rng(3).normal(size=6),
        lambda m: mse_loss,
        lambda m, x, t: mse_loss(m(x), [t]) * (1.0 / 6),
    ),
    ModelCase(
        "cross_entropy_sum_l2",
        (4, 3),
        np.array([0, 2, 1, 1, 0, 2]),
        lambda m: lambda out, y: cross_entropy(out, y, "sum") + l2_penalty(m.parameters(), 1e-2),
        lambda m, x, t: cross_entropy(m(x), int(t), "sum"),
        penalty=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_example_gradients_match_one_scalar_graph_per_example(case: ModelCase) -> None:
    model = MLP(3, list(case.sizes))
    report = example_gradients(model, XS, case.labels, case.loss(model))
    assert report.names == [name for name, _ in model.named_parameters()]
    for i, (x, t) in enumerate(zip(XS, case.labels)):
        model.zero_grad()
        case.example(model, x.tolist(), t).backward()
        expected = np.array([p.grad for p in model.parameters()])
        assert report.grads[i] == pytest.approx(expected, **TOL)
        assert report.norms[i] == pytest.approx(float(np.linalg.norm(expected)), **TOL)
    model.zero_grad()
    l2_penalty(model.parameters(), 1e-2).backward()
    penalty = np.array([p.grad for p in model.parameters()]) if case.penalty else np.zeros(len(report.names))
    assert report.shared == pytest.approx(penalty, **TOL)


def test_example_gradients_rank_and_name_the_examples_most_to_blame() -> None:
    model = MLP(3, [4, 1])
    y = np.zeros(6)
    y[4] = 50.0  # one label far off: example 4 carries most of the gradient
    report = example_gradients(model, XS, y, mse_loss, top=2)
    assert report.ranked[0] == 4
    assert report.ranked == sorted(range(6), key=lambda i: -report.norms[i])
    text = str(report)
    assert text.startswith("The 2 of 6 examples with the largest ‖gᵢ‖")
    rows = text.splitlines()[3:]
    assert len(rows) == 2 and rows[0].split()[0] == "4"
    j = int(np.argmax(np.abs(report.grads[4])))
    assert report.names[j] in rows[0]


def test_example_gradients_leave_the_models_gradients_as_they_were() -> None:
    model = MLP(3, [4, 1])
    for p in model.parameters():
        p.grad = 0.25
    example_gradients(model, XS, np.zeros(6), mse_loss)
    assert {p.grad for p in model.parameters()} == {0.25}


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        pytest.param(
            (lambda x: x, XS, np.zeros(6)), TypeError, "example_gradients: needs an nn.MLP", id="model"
        ),
        pytest.param(
            (MLP(3, [1]), XS[0], np.zeros(6)), ValueError, "example_gradients: X must be", id="X_1d"
        ),
        pytest.param((MLP(3, [1]), XS, np.zeros(5)), ValueError, "X has 6 rows but y has 5", id="y_length"),
    ],
)
def test_example_gradients_check_their_arguments(
    args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        example_gradients(*args, mse_loss)


def test_example_gradients_check_top() -> None:
    with pytest.raises(ValueError, match="example_gradients: top must be a positive int, got 0"):
        example_gradients(MLP(3, [1]), XS, np.zeros(6), mse_loss, top=0)
