"""nn.losses, driven by one table: each loss against a numpy formula, gradcheck and PyTorch.

CASES lists each loss with its sample predictions (flattened: the Values the loss is
differentiated with respect to), a numpy reference and PyTorch's own functional loss on the same
numbers in float64. ERRORS lists the inputs each loss must refuse, and what it must say.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from engine import Value, gradcheck
from nn import MLP, SGD, fit
from nn.losses import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_penalty,
    l2_penalty,
    mse_loss,
    softmax,
)

# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossCase:
    """A loss of the Values made from `points`: `fn` on Values, `ref` on floats, `oracle` in torch."""

    name: str
    points: tuple[float, ...]
    fn: Callable[[list[Value]], Value]
    ref: Callable[[np.ndarray], float]
    oracle: Callable[[Any, Any], Any]  # (torch, x: a float64 tensor of the points) -> loss tensor


def reduce_np(terms: np.ndarray, reduction: str) -> float:
    return float(terms.mean() if reduction == "mean" else terms.sum())


def rows(xs: list, k: int) -> list[list]:
    """A flat list of n·k logits as n examples of k."""
    return [xs[i : i + k] for i in range(0, len(xs), k)]


def mse(preds, targets, reduction="mean"):
    t = np.array(targets, dtype=np.float64)
    return LossCase(
        f"mse_{reduction}",
        tuple(preds),
        lambda vs: mse_loss(vs, targets, reduction=reduction),
        lambda p: reduce_np((p - t) ** 2, reduction),
        lambda torch, x: torch.nn.functional.mse_loss(x, torch.tensor(t), reduction=reduction),
    )


def hinge(scores, labels, reduction="mean"):
    y = np.array(labels, dtype=np.float64)

    def oracle(torch, x):
        # PyTorch has no binary hinge loss, but the multi-class one on the scores (−s/2, s/2) is:
        # Σ_{i≠y} max(0, 1 − x_y + x_i) / 2 = max(0, 1 − y·s) / 2.
        pairs = torch.stack([-x / 2, x / 2], dim=1)
        classes = torch.tensor((y + 1) / 2).long()
        return 2 * torch.nn.functional.multi_margin_loss(pairs, classes, reduction=reduction)

    return LossCase(
        f"hinge_{reduction}",
        tuple(scores),
        lambda vs: hinge_loss(vs, labels, reduction=reduction),
        lambda s: reduce_np(np.maximum(0.0, 1.0 - y * s), reduction),
        oracle,
    )


def bce(logits, labels, reduction="mean", name=""):
    y = np.array(labels, dtype=np.float64)
    return LossCase(
        name or f"bce_{reduction}",
        tuple(logits),
        lambda vs: binary_cross_entropy(vs, labels, reduction=reduction),
        lambda z: reduce_np(np.logaddexp(0.0, z) - y * z, reduction),  # log(1 + eᶻ) − y·z
        lambda torch, x: torch.nn.functional.binary_cross_entropy_with_logits(
            x, torch.tensor(y), reduction=reduction
        ),
    )


def ce(logit_rows, labels, reduction="mean", name=""):
    k = len(logit_rows[0])
    flat = [z for row in logit_rows for z in row]
    return LossCase(
        name or f"ce_{reduction}",
        tuple(flat),
        lambda vs: cross_entropy(rows(vs, k), labels, reduction=reduction),
        lambda z: reduce_np(
            np.array([np.logaddexp.reduce(row) - row[y] for row, y in zip(z.reshape(-1, k), labels)]),
            reduction,
        ),
        lambda torch, x: torch.nn.functional.cross_entropy(
            x.reshape(-1, k), torch.tensor(labels), reduction=reduction
        ),
    )


def l2(params, alpha):
    return LossCase(
        f"l2_{alpha:g}",
        tuple(params),
        lambda vs: l2_penalty(vs, alpha=alpha),
        lambda p: alpha * float(np.sum(p**2)),
        lambda torch, x: alpha * (x**2).sum(),
    )


def l1(params, alpha):
    # No parameter at 0: |p| has a kink there, where central differences see no slope.
    return LossCase(
        f"l1_{alpha:g}",
        tuple(params),
        lambda vs: l1_penalty(vs, alpha=alpha),
        lambda p: alpha * float(np.sum(np.abs(p))),
        lambda torch, x: alpha * x.abs().sum(),
    )


CASES = [
    mse([0.5, -1.2, 3.0], [1.0, 0.0, 2.5]),
    mse([0.5, -1.2, 3.0], [1.0, 0.0, 2.5], "sum"),
    mse([7.0], np.array([4.0])),  # a numpy array of targets
    hinge([0.3, -2.0, 1.5, 0.9, 4.0], [1, -1, -1, 1, 1]),  # the last is past the margin: no loss
    hinge([0.3, -2.0, 1.5, 0.9, 4.0], [1, -1, -1, 1, 1], "sum"),
    bce([0.7, -2.0, 3.5, -0.1, 12.0], [1, 0, 0, 0.3, 1]),  # 0.3: a probability as the label
    bce([0.7, -2.0, 3.5, -0.1, 12.0], [1, 0, 0, 0.3, 1], "sum"),
    bce([1000.0, -1000.0, 1000.0, -1000.0, 0.0, 0.0], [1, 0, 0, 1, 1, 0], name="bce_extreme"),
    bce([0.0, 0.0, 0.0], [1, 0, 0.25], name="bce_at_zero"),  # the kink of the naive composition
    ce([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0], [0.2, 0.2, 0.2]], [0, 2, 1]),
    ce([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0], [0.2, 0.2, 0.2]], [0, 2, 1], "sum"),
    ce(
        [[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -999.0]],
        [1, 2, 0],
        name="ce_extreme",
    ),
    ce([[0.3, -0.4]], [1], name="ce_two_classes"),
    l2([0.5, -2.0, 3.0], 1e-4),
    l2([0.5, -2.0, 3.0], 0.1),
    l1([0.5, -2.0, 3.0], 1e-4),
    l1([0.5, -2.0, 3.0, -0.25], 0.1),
]
IDS = [case.name for case in CASES]


# -- value, gradcheck, PyTorch ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_the_formula(case: LossCase) -> None:
    loss = case.fn([Value(x) for x in case.points])
    assert isinstance(loss, Value)
    assert loss.data == pytest.approx(case.ref(np.array(case.points)), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case: LossCase) -> None:
    report = gradcheck(lambda *xs: case.fn(list(xs)), case.points)
    assert report, str(report)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_pytorch(case: LossCase, torch) -> None:
    leaves = [Value(x) for x in case.points]
    loss = case.fn(leaves)
    loss.backward()
    x = torch.tensor(case.points, dtype=torch.float64, requires_grad=True)
    expected = case.oracle(torch, x)
    expected.backward()
    assert loss.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose([v.grad for v in leaves], x.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_bce_gradient_at_zero_is_sigmoid_minus_label(y, torch) -> None:
    # relu(z) − z·y + log(1 + e^−|z|) would give −y here: relu and |z| have slope 0 at their kink.
    z = Value(0.0)
    loss = binary_cross_entropy(z, y)
    loss.backward()
    t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y, dtype=torch.float64)).backward()
    assert z.grad == 0.5 - y == t.grad.item()
    assert loss.data == pytest.approx(math.log(2.0), rel=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("z", [-745.0, -40.0, -1e-9, 1e-9, 36.0, 710.0])
def test_bce_stable_across_the_range(z, torch) -> None:
    for y in (0.0, 1.0):
        v = Value(z)
        loss = binary_cross_entropy([v], [y])
        loss.backward()
        t = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            t, torch.tensor([y], dtype=torch.float64)
        )
        expected.backward()
        # log(1 + tiny) rounds to 0 where PyTorch's log1p keeps it: within 1e-16 absolutely.
        assert loss.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-15)
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize(
    "logits", [[1.0, 2.0, 3.0], [1000.0, -1000.0, 999.5], [-1000.0, -1000.0], [5.0]], ids=str
)
def test_softmax_matches_pytorch(logits, torch) -> None:
    zs = [Value(z) for z in logits]
    probs = softmax(zs)
    assert sum(p.data for p in probs) == pytest.approx(1.0, rel=1e-15)
    weights = [0.5, -1.0, 2.0][: len(logits)]  # a loss that reaches every probability's gradient
    sum(w * p for w, p in zip(weights, probs)).backward()
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    expected = torch.softmax(x, dim=0)
    (torch.tensor(weights, dtype=torch.float64) * expected).sum().backward()
    np.testing.assert_allclose([p.data for p in probs], expected.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose([z.grad for z in zs], x.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_softmax_gradcheck() -> None:
    assert gradcheck(lambda a, b, c: softmax([a, b, c])[1] * 3 + softmax([a, b, c])[2], [0.5, -1.0, 2.0])


# -- shapes of input ---------------------------------------------------------------------------------


def test_a_single_value_and_number_is_one_example() -> None:
    assert mse_loss(Value(2.0), 5).data == 9.0
    assert hinge_loss(Value(0.25), -1).data == 1.25
    assert binary_cross_entropy(Value(0.0), 1).data == pytest.approx(math.log(2.0))
    one = cross_entropy([Value(0.0), Value(0.0)], 1)  # one example: a list of logits and a label
    assert one.data == pytest.approx(math.log(2.0))


def test_targets_from_numpy_and_generators() -> None:
    vs = [Value(1.0), Value(2.0)]
    assert mse_loss(vs, np.array([0.0, 0.0])).data == 2.5
    assert mse_loss(vs, (t for t in [1.0, 2.0])).data == 0.0
    logits = [[Value(0.0), Value(1.0)], [Value(2.0), Value(0.0)]]
    assert cross_entropy(logits, np.array([1, 0], dtype=np.int64)).data == pytest.approx(
        math.log(1 + math.exp(-1)) / 2 + math.log(1 + math.exp(-2)) / 2
    )
    assert hinge_loss(vs, np.array([1, -1])).data == 1.5  # max(0, 0) and max(0, 3), mean


def test_mean_is_sum_over_n() -> None:
    vs = [Value(x) for x in (0.1, 0.4, -2.0, 3.0)]
    ys = [1, 0, 1, 0]
    total = binary_cross_entropy(vs, ys, reduction="sum").data
    assert binary_cross_entropy(vs, ys).data == pytest.approx(total / 4, rel=1e-15)


@pytest.mark.parametrize(("p", "slope"), [(2.0, 0.5), (-3.0, -0.5), (0.0, 0.0)])
def test_l1_slope_is_alpha_times_the_sign(p: float, slope: float) -> None:
    # α·sign(p), the same however small p is: what drives small weights to exactly 0 (0 at 0, as torch).
    v = Value(p)
    l1_penalty([v], alpha=0.5).backward()
    assert v.grad == slope


def test_losses_keep_predictions_and_targets_unchanged_and_grads_flow_to_preds_only() -> None:
    p = Value(0.5, label="p")
    loss = mse_loss([p], [2.0]) + l2_penalty([p], alpha=0.5)
    loss.backward()
    assert p.data == 0.5
    assert p.grad == pytest.approx(2 * (0.5 - 2.0) + 0.5 * 2 * 0.5)


# -- errors --------------------------------------------------------------------------------------------

a, b, c = Value(0.5, label="a"), Value(-1.0), Value(2.0)

ERRORS = [
    ("mismatched", lambda: mse_loss([a, b], [1.0]), ValueError, ["mse_loss: 2 predictions but 1 targets"]),
    ("empty", lambda: mse_loss([], []), ValueError, ["mse_loss: got no predictions"]),
    (
        "nan_target",
        lambda: mse_loss([a], [math.nan]),
        ValueError,
        ["mse_loss: target 0 must be a finite number, got nan"],
    ),
    (
        "value_target",
        lambda: mse_loss([a], [b]),
        TypeError,
        ["mse_loss: target 0 must be a number, got Value(data=-1.0", "pass its .data"],
    ),
    ("float_pred", lambda: mse_loss([a, 1.0], [0, 0]), TypeError, ["mse_loss: prediction 1 must be a Value"]),
    ("2d_targets", lambda: mse_loss([a], np.ones((1, 1))), TypeError, ["target 0", "shape (1,)"]),
    ("reduction", lambda: mse_loss([a], [1.0], reduction="none"), ValueError, ["'mean' or 'sum'", "'none'"]),
    (
        "hinge_01",
        lambda: hinge_loss([a, b], [1, 0]),
        ValueError,
        ["hinge_loss: labels must be -1 or +1, got 0 (example 1)", "y * 2 - 1"],
    ),
    (
        "hinge_2",
        lambda: hinge_loss([a], [2]),
        ValueError,
        ["hinge_loss: labels must be -1 or +1, got 2 (example 0)"],
    ),
    (
        "hinge_mismatched",
        lambda: hinge_loss([a], [1, -1]),
        ValueError,
        ["hinge_loss: 1 predictions but 2 labels"],
    ),
    (
        "bce_2",
        lambda: binary_cross_entropy([a], [2]),
        ValueError,
        ["binary_cross_entropy:", "got 2 (example 0)"],
    ),
    (
        "bce_pm1",
        lambda: binary_cross_entropy([a, b], [1, -1]),
        ValueError,
        ["got -1 (example 1)", "(y + 1) / 2"],
    ),
    (
        "bce_empty",
        lambda: binary_cross_entropy([], []),
        ValueError,
        ["binary_cross_entropy: got no predictions"],
    ),
    (
        "ce_range",
        lambda: cross_entropy([[a, b, c], [a, b, c]], [0, 3]),
        ValueError,
        ["cross_entropy: label 3 is out of range for 3 logits (example 1)"],
    ),
    (
        "ce_negative",
        lambda: cross_entropy([[a, b]], [-1]),
        ValueError,
        ["label -1 is out of range for 2 logits"],
    ),
    ("ce_float", lambda: cross_entropy([[a, b]], [1.0]), TypeError, ["cross_entropy: label 1.0 (example 0)"]),
    (
        "ce_count",
        lambda: cross_entropy([[a, b], [b, c]], [1]),
        ValueError,
        ["cross_entropy: 2 examples but 1 labels"],
    ),
    ("ce_ragged", lambda: cross_entropy([[a, b], [a, b, c]], [0, 0]), ValueError, ["example 1 has 3 logits"]),
    ("ce_empty", lambda: cross_entropy([], []), ValueError, ["cross_entropy: got no examples"]),
    (
        "ce_empty_row",
        lambda: cross_entropy([[]], [0]),
        ValueError,
        ["cross_entropy: got no logits of example 0"],
    ),
    ("softmax_empty", lambda: softmax([]), ValueError, ["softmax: got no logits"]),
    ("l2_empty", lambda: l2_penalty(iter([])), ValueError, ["l2_penalty: got no parameters"]),
    ("l2_alpha", lambda: l2_penalty([a], alpha=-1.0), ValueError, ["l2_penalty: alpha", "-1.0"]),
    ("l1_empty", lambda: l1_penalty(iter([])), ValueError, ["l1_penalty: got no parameters"]),
    ("l1_alpha", lambda: l1_penalty([a], alpha=-1.0), ValueError, ["l1_penalty: alpha", "-1.0"]),
    ("l1_value", lambda: l1_penalty([a, 2.0]), TypeError, ["l1_penalty: parameter 1 must be a Value"]),
]


@pytest.mark.parametrize(("name", "call", "exc", "messages"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_loss_and_the_values(name, call, exc, messages) -> None:
    with pytest.raises(exc) as err:
        call()
    for text in messages:
        assert text in str(err.value)


# -- a model with one output, and targets without an order ------------------------------------------


ONE_OUTPUT = "cross_entropy: each example must have k logits, one per class, got {}: the model has one output"


@pytest.mark.parametrize(
    ("call", "got"),
    [
        (lambda: cross_entropy([Value(0.1), Value(-0.3), Value(2.0)], [0, 1, 1]), "3 Values for 3 labels"),
        (lambda: cross_entropy([Value(0.1), Value(-0.3)], np.array([1, 0])), "2 Values for 2 labels"),
        (lambda: cross_entropy([Value(0.5)], [0]), "1 for example 0"),  # a batch of one
        (lambda: cross_entropy(Value(0.5), 0), "1 for example 0"),
        (lambda: cross_entropy([[a], [b]], [0, 0]), "1 for example 0"),
    ],
)
def test_cross_entropy_on_one_output_says_each_example_needs_k_logits(call, got) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(ONE_OUTPUT.format(got))) as err:
        call()
    assert "binary_cross_entropy" in str(err.value)


def test_cross_entropy_on_a_one_output_model_in_fit_says_so() -> None:
    model = MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 2])
    # fit calls the model on the batch as lanes: one lane value, one logit per example.
    with pytest.raises(ValueError, match=re.escape(ONE_OUTPUT.format("1 lane value"))):
        fit(model, X, y, cross_entropy, SGD(model.parameters(), lr=0.1), steps=1, progress=False)


UNORDERED = [
    (
        "set_preds",
        lambda: mse_loss({a, b}, [1.0, 2.0]),
        "mse_loss: the predictions must be an ordered sequence",
    ),
    (
        "set_targets",
        lambda: mse_loss([a, b], {1.0, 2.0}),
        "mse_loss: the targets must be an ordered sequence",
    ),
    ("dict_targets", lambda: mse_loss([a, b], {0: 1.0, 1: 2.0}), "a dict iterates over its keys"),
    ("str_targets", lambda: mse_loss([a, b], "12"), "mse_loss: the targets must be an ordered sequence"),
    ("set_labels", lambda: hinge_loss([a, b], {1, -1}), "hinge_loss: the labels must be an ordered sequence"),
    ("bce_dict", lambda: binary_cross_entropy([a], {0: 1}), "binary_cross_entropy: the labels must be"),
    ("ce_set_labels", lambda: cross_entropy([[a, b], [b, c]], {0, 1}), "cross_entropy: labels must be"),
    ("ce_set_row", lambda: cross_entropy([{a, b}], [0]), "the logits of example 0 must be an ordered"),
    ("softmax_set", lambda: softmax({a, b, c}), "softmax: the logits must be an ordered sequence"),
    ("l2_set", lambda: l2_penalty({a, b}), "l2_penalty: the parameters must be an ordered sequence"),
    ("l1_set", lambda: l1_penalty({a, b}), "l1_penalty: the parameters must be an ordered sequence"),
]


@pytest.mark.parametrize(("name", "call", "message"), UNORDERED, ids=[u[0] for u in UNORDERED])
def test_sets_and_dicts_are_refused_where_an_order_is_needed(name, call, message) -> None:
    with pytest.raises(TypeError, match=message):
        call()


def test_numpy_numbers_are_targets_labels_and_alpha() -> None:
    assert mse_loss(Value(2.0), np.array(5.0)).data == 9.0  # a 0-d array is one number
    assert mse_loss([Value(2.0)], [np.float32(5.0)]).data == 9.0
    assert cross_entropy([Value(0.0), Value(0.0)], np.int64(1)).data == pytest.approx(math.log(2.0))
    assert l2_penalty([Value(2.0)], alpha=np.float32(0.5)).data == 2.0
    with pytest.raises(ValueError, match="l2_penalty: alpha must be a finite number ≥ 0, got True"):
        l2_penalty([Value(2.0)], alpha=True)
    with pytest.raises(TypeError, match="mse_loss: target 0 must be a number, got bool True"):
        mse_loss([Value(2.0)], [True])
