"""per_example_grads: one backward pass over a lane graph, split into each example's share.

Each loss in LOSSES runs two ways: as one lane graph split by per_example_grads, and as n scalar
graphs, example i's term of the loss alone (its share of a mean: the term over n). Row i must equal
example i's gradients, `shared` the scalar-only part (an L2 term) alone, and their sum backward's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from engine import Value, no_grad, per_example_grads
from nn import MLP

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
