"""Gradient checking: central differences, and a report that catches a wrong derivative."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import Value, gradcheck, numerical_grad


def test_numerical_grad_of_known_derivatives() -> None:
    grads = numerical_grad(lambda x, y: x**3 * y + y.exp(), [2.0, 0.5])
    assert grads[0] == pytest.approx(3 * 4 * 0.5, rel=1e-8)
    assert grads[1] == pytest.approx(8 + math.exp(0.5), rel=1e-8)


def test_central_differences_beat_forward_differences() -> None:
    # The O(eps²) error of central differences, against O(eps) for (f(x+h) − f(x)) / h.
    x, h = 1.0, 1e-4
    central = numerical_grad(lambda v: v.exp(), [x], eps=h)[0]
    forward = (math.exp(x + h) - math.exp(x)) / h
    assert abs(central - math.e) < abs(forward - math.e) / 100


def test_numerical_grad_does_not_record_a_graph() -> None:
    built: list[Value] = []

    def f(x: Value) -> Value:
        y = x * x
        built.append(y)
        return y

    numerical_grad(f, [1.0])
    assert built and all(y._prev == () for y in built)


def test_gradcheck_passes_a_correct_gradient_and_prints_a_table() -> None:
    report = gradcheck(lambda a, b: (a * b + a.sigmoid()).tanh() / (b * b + 1), [Value(0.3, label="a"), -1.2])
    assert report
    assert report.ok and report.failures == []
    text = str(report)
    assert text.startswith("gradcheck ok")
    assert "a " in text and "x1" in text  # labels name the rows, unlabelled inputs get x<i>
    assert repr(report) == text


def sabotaged_square(x: Value) -> Value:
    """x² whose local backward forgets one of its two edges: ∂/∂x comes out x instead of 2x."""
    out = x * x
    out._backward = lambda node, g=1.0: (g * node._prev[1].data, 0.0)
    return out


def test_gradcheck_catches_a_wrong_derivative_and_says_where() -> None:
    report = gradcheck(lambda x, y: sabotaged_square(x) + y, [Value(1.5, label="x"), 2.0])
    assert not report
    assert [row.name for row in report.failures] == ["x"]
    row = report.failures[0]
    assert row.analytical == pytest.approx(1.5) and row.numerical == pytest.approx(3.0)
    assert row.rel_error == pytest.approx(0.5)
    text = str(report)
    assert "FAILED: 1 of 2 gradients disagree" in text
    assert "<-- disagrees" in text and "1.5" in text and "3" in text


def test_gradcheck_tolerances_decide() -> None:
    assert not gradcheck(sabotaged_square, [1.0])
    assert gradcheck(sabotaged_square, [1.0], rtol=0.6)  # |1 − 2| ≤ 0.6 · 2


def test_gradcheck_of_a_function_that_ignores_its_input() -> None:
    report = gradcheck(lambda x: Value(3.0), [1.0])
    assert report and report.rows[0].analytical == 0.0 and report.rows[0].numerical == 0.0


@pytest.mark.parametrize(
    ("inputs", "eps", "error", "message"),
    [
        ([], 1e-6, ValueError, "at least one input"),
        ([1.0], 0.0, ValueError, "eps must be a positive"),
        ([1.0], math.nan, ValueError, "eps must be a positive"),
        (["a"], 1e-6, TypeError, "needs a real number"),
    ],
)
def test_gradcheck_rejects_bad_arguments(inputs: list[object], eps: float, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        gradcheck(lambda *xs: sum(xs, Value(0.0)), inputs, eps=eps)  # type: ignore[arg-type]


# -- lanes: each lane of a lane input is an input of its own --------------------------------------


def test_gradcheck_checks_every_lane_of_a_lane_input_as_an_input_of_its_own() -> None:
    x = Value(np.array([0.5, -1.0, 2.0]), label="x")
    report = gradcheck(lambda w, x: (w * x).tanh().mean(), [Value(0.7, label="w"), x])
    assert report and [row.name for row in report.rows] == ["w", "x[0]", "x[1]", "x[2]"]
    assert [row.value for row in report.rows] == [0.7, 0.5, -1.0, 2.0]
    for j, row in enumerate(report.rows[1:]):  # ∂/∂xⱼ of mean tanh(w·x) = w·(1 − tanh²(w·xⱼ)) / 3
        assert row.analytical == pytest.approx(0.7 * (1 - math.tanh(0.7 * x.data[j]) ** 2) / 3, rel=1e-12)
    assert x.data.tolist() == [0.5, -1.0, 2.0]  # the caller's lanes are not perturbed in place


def test_numerical_grad_of_lanes_is_one_central_difference_per_lane() -> None:
    (dx,) = numerical_grad(lambda x: (x * x).sum(), [np.array([1.0, -2.0, 0.5])])
    assert dx == pytest.approx([2.0, -4.0, 1.0], rel=1e-8)


def test_gradcheck_catches_a_wrong_derivative_in_one_lane() -> None:
    report = gradcheck(lambda x: sabotaged_square(x).sum(), [Value(np.array([1.5, 0.0, -2.0]), label="x")])
    assert [row.name for row in report.failures] == ["x[0]", "x[2]"]  # at 0, x and 2x agree


def test_gradcheck_wants_one_number_from_f() -> None:
    with pytest.raises(ValueError, match=r"gradcheck: f must return one number, got a lane value of 2 lanes"):
        gradcheck(lambda x: x * 2.0, [np.array([1.0, 2.0])])
