"""nn.train: predict, accuracy and fit, and micrograd's demo trained with them."""

from __future__ import annotations

import gc
import io
import math
import random
from typing import Any

import numpy as np
import pytest

from engine import Value, is_grad_enabled
from nn import SGD, Adam, History, accuracy, fit, make_moons, make_spiral, predict, standardize
from nn.losses import cross_entropy, hinge_loss, l2_penalty, mse_loss
from nn.module import MLP
from nn.train import _ProgressBar


def micrograd_demo(model: MLP, X: np.ndarray, y: np.ndarray, steps: int = 100) -> History:
    """micrograd's demo recipe: hinge loss + 1e-4 L2, SGD with lr 1.0 decaying to 0.1."""
    return fit(
        model,
        X,
        y,
        loss=lambda scores, labels: hinge_loss(scores, labels) + l2_penalty(model.parameters(), alpha=1e-4),
        optimizer=SGD(model.parameters(), lr=1.0),
        steps=steps,
        progress=False,
        schedule=lambda k: 1.0 - 0.9 * k / 100,
    )


@pytest.mark.parametrize(("seed", "scaled"), [(0, True), (1, True), (1, False)])
def test_micrograd_demo_reaches_100_percent_on_moons_within_100_steps(seed: int, scaled: bool) -> None:
    X, labels = make_moons(100, noise=0.1, seed=seed)
    if scaled:  # the demo's default; micrograd trains on the raw points (100% for most seeds, not 0)
        X, _, _ = standardize(X)
    random.seed(1337)  # micrograd's demo seeds Python's random, then builds MLP(2, [16, 16, 1])
    history = micrograd_demo(MLP(2, [16, 16, 1]), X, labels * 2 - 1)
    assert len(history) == 100
    assert history.accuracy[-1] == 1.0
    assert history.loss[-1] < 0.05 < history.loss[0]


def test_fit_matches_a_hand_written_loop_step_for_step() -> None:
    X, labels = make_moons(20, seed=3)
    y = labels * 2 - 1
    ours, by_hand = MLP(2, [4, 1], seed=5), MLP(2, [4, 1], seed=5)
    history = micrograd_demo(ours, X, y, steps=5)
    losses = []
    for k in range(5):
        scores = [by_hand(row) for row in X]
        total = sum((1 + -yi * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
        total = total + 1e-4 * sum(p * p for p in by_hand.parameters())
        by_hand.zero_grad()
        total.backward()
        for p in by_hand.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        losses.append(total.data)
    assert history.loss == pytest.approx(losses, rel=1e-12)
    assert ours.state_dict() == pytest.approx(by_hand.state_dict(), rel=1e-12)
    assert history.lr == pytest.approx([1.0 - 0.9 * k / 100 for k in range(5)])


def test_multi_class_spiral_with_cross_entropy_and_adam() -> None:
    X, y = make_spiral(90, classes=3, seed=0)
    model = MLP(2, [16, 16, 3], seed=0)
    history = fit(model, X, y, cross_entropy, Adam(model.parameters(), lr=0.02), steps=60, progress=False)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] > 0.8
    assert accuracy(predict(model, X), y) == pytest.approx(history.accuracy[-1], abs=0.1)


def test_minibatches_are_deterministic_under_a_seed() -> None:
    X, labels = make_moons(40, seed=0)

    def run(seed: int) -> list[float]:
        model = MLP(2, [4, 1], seed=0)
        opt = SGD(model.parameters(), lr=0.1)
        return fit(
            model, X, labels * 2 - 1, hinge_loss, opt, steps=5, batch_size=8, progress=False, seed=seed
        ).loss

    assert run(1) == run(1) != run(2)


def test_callback_sees_each_step_and_gc_is_restored() -> None:
    X, labels = make_moons(10, seed=0)
    model = MLP(2, [3, 1], seed=0)
    seen: list[tuple[int, int, bool]] = []
    fit(
        model,
        X,
        labels,
        mse_loss,
        SGD(model.parameters(), lr=0.01),
        steps=3,
        progress=False,
        callback=lambda step, history: seen.append((step, len(history), gc.isenabled())),
    )
    assert seen == [(0, 1, True), (1, 2, True), (2, 3, True)]  # collector paused only inside a step
    gc.disable()
    try:
        fit(model, X, labels, mse_loss, SGD(model.parameters(), lr=0.01), steps=1, progress=False)
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def test_a_diverging_loss_stops_with_advice_and_restores_the_collector() -> None:
    X, labels = make_moons(10, seed=0)
    model = MLP(2, [3, 1], seed=0)
    calls = []

    def blowing_up(scores: list[Value], y: np.ndarray) -> Value:
        calls.append(1)
        return mse_loss(scores, y) * (math.inf if len(calls) == 3 else 1.0)

    with pytest.raises(
        FloatingPointError, match=r"fit: the loss became inf at step 2 .lr 0.1.; .*standardize"
    ):
        fit(model, X, labels, blowing_up, SGD(model.parameters(), lr=0.1), steps=5, progress=False)
    assert gc.isenabled() and is_grad_enabled()


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "message"),
    [
        (np.zeros((3, 2)), [1, 2], {}, "fit: X has 3 rows but y has 2 labels"),
        (
            np.zeros(3),
            [1, 2, 3],
            {},
            r"X must be a non-empty 2-d array .examples × features., got shape \(3,\)",
        ),
        (np.zeros((3, 2)), [1, 2, 3], {"steps": -1}, "steps must be a non-negative int, got -1"),
        (np.zeros((3, 2)), [1, 2, 3], {"batch_size": 4}, "batch_size must be between 1 and 3"),
    ],
)
def test_fit_refuses_bad_arguments(X: Any, y: Any, kwargs: dict[str, Any], message: str) -> None:
    model = MLP(2, [1], seed=0)
    args = {"steps": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.1), **args)


def test_predict_records_no_graph_and_has_the_right_shape() -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    single, several = MLP(2, [3, 1], seed=0), MLP(2, [3, 4], seed=0)
    assert predict(single, X).shape == (3,)
    assert predict(several, X).shape == (3, 4)
    assert predict(single, X)[2] == single([2.0, 2.0]).data


@pytest.mark.parametrize(
    ("preds", "y", "expected"),
    [
        ([0.5, -0.2, 0.1, -3.0], [1, -1, -1, -1], 0.75),  # ±1 labels: the sign of the score
        ([0.5, -0.2, 0.1, -3.0], [1, 0, 0, 0], 0.75),  # 0/1 labels split at 0 too
        ([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0]], [1, 2], 0.5),  # several scores: the argmax
        ([Value(1.0), Value(-1.0)], np.array([1, 1]), 0.5),
        ([[Value(0.0), Value(1.0)]], [1], 1.0),
    ],
)
def test_accuracy(preds: Any, y: Any, expected: float) -> None:
    assert accuracy(preds, y) == expected


def test_accuracy_refuses_mismatched_lengths() -> None:
    with pytest.raises(
        ValueError, match=r"accuracy: needs as many predictions as labels \(> 0\), got 2 and 3"
    ):
        accuracy([1.0, 2.0], [1, 1, 1])


def test_history_repr() -> None:
    history = History(loss=[1.0, 0.25], accuracy=[0.5, 1.0], lr=[0.1, 0.1], seconds=1.5)
    assert repr(history) == "History(2 steps, loss 1 -> 0.25, accuracy 100%, 1.50 s)"
    assert repr(History()) == "History(0 steps)"


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_plain_progress_bar_in_a_log_prints_a_line_per_tenth() -> None:
    stream = FakeStream(tty=False)
    bar = _ProgressBar(100, stream)
    if bar.tqdm is not None:
        pytest.skip("tqdm is installed: it draws the bar")
    for step in range(1, 101):
        bar.update(step, 1.0 / step, 0.5)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11  # the first step, then each tenth
    assert lines[-1] == "step 100/100 [####################] loss 0.0100 accuracy 50%"


def test_plain_progress_bar_on_a_terminal_redraws_one_line() -> None:
    stream = FakeStream(tty=True)
    bar = _ProgressBar(3, stream)
    if bar.tqdm is not None:
        pytest.skip("tqdm is installed: it draws the bar")
    for step in (1, 2, 3):
        bar.update(step, 0.5, 1.0)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\rstep 1/3") and text.endswith(
        "\rstep 3/3 [####################] loss 0.5000 accuracy 100%\n"
    )
