"""nn.train: predict, accuracy and fit, and micrograd's demo trained with them."""

from __future__ import annotations

import gc
import io
import math
import random
import sys
import types
from typing import Any

import numpy as np
import pytest

from engine import Value, is_grad_enabled
from nn import SGD, Adam, History, accuracy, fit, make_moons, make_spiral, predict, standardize
from nn.losses import cross_entropy, hinge_loss, l2_penalty, mse_loss
from nn.module import MLP


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


@pytest.mark.slow  # trains micrograd's demo for 100 steps, three times
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


@pytest.mark.slow  # trains a network
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
    seen: list[tuple[int, int]] = []
    fit(
        model,
        X,
        labels,
        mse_loss,
        SGD(model.parameters(), lr=0.01),
        steps=3,
        progress=False,
        callback=lambda step, history: seen.append((step, len(history))),
    )
    assert seen == [(0, 1), (1, 2), (2, 3)]
    assert gc.isenabled()  # fit pauses the cyclic collector inside a step only
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
    ("loss", "op"),
    [
        (mse_loss, "pow"),  # (1e200 − t)² leaves the float range inside **
        (lambda scores, y: (scores * 1000.0).exp().sum(), "exp"),  # e ** 1e203 inside exp, on the lanes
    ],
)
def test_a_loss_that_overflows_in_an_op_stops_fit_with_its_advice(loss: Any, op: str) -> None:
    model = MLP(2, [1], seed=0)
    for p in model.parameters():
        p.data = 1e200
    before = model.state_dict()
    with pytest.raises(
        FloatingPointError,
        match=rf"fit: the loss overflowed \({op}: .*\) at step 0 .lr 0.1.; nothing was updated\. "
        r".*standardize",
    ) as err:
        fit(
            model,
            [[1.0, 1.0], [0.5, 0.5]],
            [1.0, 0.0],
            loss,
            SGD(model.parameters(), lr=0.1),
            steps=3,
            progress=False,
        )
    assert isinstance(err.value.__cause__, OverflowError)
    assert model.state_dict() == before
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
        (np.zeros((3, 2)), [1, 2, 3], {"batch_size": 4}, "fit: batch_size must be an int from 1 to 3, got 4"),
        # numpy ints are ints; a bool, a float or a str is not.
        (np.zeros((3, 2)), [1, 2, 3], {"steps": True}, "fit: steps must be a non-negative int, got True"),
        (np.zeros((3, 2)), [1, 2, 3], {"steps": 2.0}, "fit: steps must be a non-negative int, got 2.0"),
        (
            np.zeros((3, 2)),
            [1, 2, 3],
            {"batch_size": True},
            "fit: batch_size must be an int from 1 to 3, got True",
        ),
        (np.zeros((3, 2)), [1, 2, 3], {"seed": "1"}, "fit: seed must be None or an int ≥ 0, got '1'"),
        (np.zeros((3, 2)), [1, 2, 3], {"seed": np.bool_(True)}, "fit: seed must be None or an int ≥ 0"),
    ],
)
def test_fit_refuses_bad_arguments(X: Any, y: Any, kwargs: dict[str, Any], message: str) -> None:
    model = MLP(2, [1], seed=0)
    args = {"steps": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.1), **args)


def test_fit_takes_numpy_ints_for_steps_batch_size_and_seed() -> None:
    X, labels = make_moons(12, seed=0)

    def run(**kwargs: Any) -> tuple[list[float], dict[str, float]]:
        model = MLP(2, [3, 1], seed=0)
        history = fit(
            model, X, labels * 2 - 1, hinge_loss, SGD(model.parameters(), lr=0.1), progress=False, **kwargs
        )
        return history.loss, model.state_dict()

    expected = run(steps=3, batch_size=4, seed=1)
    assert run(steps=np.int64(3), batch_size=np.int32(4), seed=np.int64(1)) == expected
    assert len(run(steps=np.uint8(2))[0]) == 2


# Each bad X or y, with the message that names the function, the argument and where the fault is.
BAD_DATA = [
    (
        [[0.0, 1.0], [2.0]],
        [1, 1],
        ValueError,
        r"X must be rectangular \(every row as long as row 0\), got row 0 of 2 numbers and row 1 of 1 number",
    ),
    ([[0.0, 1.0], 2.0], [1, 1], ValueError, r"X must be rectangular .*row 1 a number"),
    (
        [[0.0, 1.0], [2.0, math.nan]],
        [1, 1],
        ValueError,
        r"X must hold finite numbers, got nan at row 1, column 1",
    ),
    (
        np.array([[0.0, -math.inf], [1.0, 1.0]]),
        [1, 1],
        ValueError,
        r"X must hold finite numbers, got -inf at row 0, column 1",
    ),
    ([[0.0, "1.5"], [1.0, 1.0]], [1, 1], TypeError, r"X\[0\]\[1\] must be a number, got str '1.5'"),
    ([[0.0, 1.0], [None, 1.0]], [1, 1], TypeError, r"X\[1\]\[0\] must be a number, got NoneType None"),
    ([[0.0, 1.0], [1.0, [2.0]]], [1, 1], TypeError, r"X\[1\]\[1\] must be a number, got list \[2.0\]"),
    ({(0.0, 1.0), (1.0, 0.0)}, [1, 1], TypeError, r"X must be an ordered sequence .*a set has no order"),
    ([[0.0, 1.0], [1.0, 0.0]], [1, math.nan], ValueError, r"y must hold finite numbers, got nan at row 1"),
    ([[0.0, 1.0], [1.0, 0.0]], [1, "b"], TypeError, r"y\[1\] must be a number, got str 'b'"),
    (
        [[0.0, 1.0], [1.0, 0.0]],
        [[0, 1], [1, 0]],
        ValueError,
        r"y must hold one label per example, got shape \(2, 2\); one-hot",
    ),
    ([[0.0, 1.0], [1.0, 0.0]], [[1], [0, 1]], ValueError, r"y must be rectangular"),
]


@pytest.mark.parametrize(("X", "y", "error", "message"), BAD_DATA)
def test_fit_and_predict_check_X_and_y(X: Any, y: Any, error: type[Exception], message: str) -> None:
    model = MLP(2, [1], seed=0)
    before = model.state_dict()
    with pytest.raises(error, match="^fit: " + message):
        fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.1), steps=1, progress=False)
    assert model.state_dict() == before
    if message.startswith(r"X"):
        with pytest.raises(error, match="^predict: " + message):
            predict(model, X)


def test_fit_reads_a_column_of_labels_as_one_label_per_example() -> None:
    X, labels = make_moons(10, seed=0)
    y = labels * 2 - 1

    def run(targets: Any) -> list[float]:
        model = MLP(2, [3, 1], seed=0)
        return fit(
            model, X, targets, hinge_loss, SGD(model.parameters(), lr=0.1), steps=2, progress=False
        ).loss

    assert run(y.reshape(-1, 1)) == run(y) == run(y.tolist())


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


@pytest.mark.parametrize(
    ("preds", "y", "expected"),
    [
        # A column (n, 1) is n single scores, for predictions and labels alike (no argmax over one column).
        (np.array([[0.5], [-0.2], [0.1], [-3.0]]), [1, -1, -1, -1], 0.75),
        ([0.5, -0.2, 0.1, -3.0], np.array([[1], [0], [0], [0]]), 0.75),
        (np.array([[0.5], [-0.2]]), np.array([[1], [1]]), 0.5),
        ([[Value(0.5)], [Value(-1.0)]], [1, 0], 1.0),  # what a one-neuron Layer returns per example
        ((p for p in [0.5, -0.5]), (1, 0), 1.0),
        ([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0]], np.array([[1], [2]]), 0.5),
    ],
)
def test_accuracy_reads_columns_as_one_score_or_label_per_example(
    preds: Any, y: Any, expected: float
) -> None:
    assert accuracy(preds, y) == expected


@pytest.mark.parametrize(
    ("preds", "y", "error", "message"),
    [
        (
            [[0.1, 0.9], [0.8, 0.2]],
            [[0, 1], [1, 0]],
            ValueError,
            r"accuracy: y must hold one label per example, got shape \(2, 2\); "
            r"one-hot labels\? pass y.argmax\(axis=1\)",
        ),
        ([0.5, math.nan], [1, 0], ValueError, r"accuracy: preds must hold finite numbers, got nan at row 1"),
        (
            [[0.5, 0.1], [math.nan, 0.0]],
            [0, 1],
            ValueError,
            r"accuracy: preds must hold finite numbers, got nan at row 1, column 0",
        ),
        ([Value(math.inf)], [1], ValueError, r"accuracy: preds must hold finite numbers, got inf at row 0"),
        ([0.5, 0.1], [1, math.nan], ValueError, r"accuracy: y must hold finite numbers, got nan at row 1"),
        (
            [[0.1, 0.9]],
            [2],
            ValueError,
            r"accuracy: y must hold class indices 0..1 \(one per score\), got 2 at row 0",
        ),
        (
            [[0.1, 0.9], [0.2, 0.1]],
            [1, -1],
            ValueError,
            r"accuracy: y must hold class indices 0..1 .*got -1 at row 1",
        ),
        ({0.5, -0.5}, [1, 0], TypeError, r"accuracy: preds must be an ordered sequence"),
        ([0.5, -0.5], {1, 0}, TypeError, r"accuracy: y must be an ordered sequence"),
        ([[0.1, 0.9], [0.2]], [1, 0], ValueError, r"accuracy: preds must be rectangular"),
    ],
)
def test_accuracy_refuses_what_it_cannot_score(
    preds: Any, y: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        accuracy(preds, y)


def test_accuracy_refuses_mismatched_lengths() -> None:
    with pytest.raises(
        ValueError, match=r"accuracy: needs as many predictions as labels \(> 0\), got 2 and 3"
    ):
        accuracy([1.0, 2.0], [1, 1, 1])


def test_history_repr() -> None:
    history = History(loss=[1.0, 0.25], accuracy=[0.5, 1.0], lr=[0.1, 0.1], seconds=1.5)
    assert repr(history) == "History(2 steps, loss 1 -> 0.25, accuracy 100%, 1.50 s)"
    assert repr(History()) == "History(0 steps)"
    diverging = History(loss=[0.5, 1e120], accuracy=[0.5, 0.5], lr=[1.0, 1.0], seconds=0.25)
    assert repr(diverging) == "History(2 steps, loss 0.5 -> 1e+120, accuracy 50%, 0.25 s)"


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def shown_by_fit(
    losses: list[float], accuracies: list[float], monkeypatch: pytest.MonkeyPatch, *, tty: bool
) -> str:
    """What fit(..., progress=True) writes to stderr for steps with these losses and accuracies."""
    stream = FakeStream(tty=tty)
    monkeypatch.setattr(sys, "stderr", stream)
    calls = [0]  # the step: how many losses have been computed
    p = Value(0.0)

    def model(row: list[float]) -> Value:  # right on row 0 always, on row 1 when the step's accuracy is 1
        return Value(1.0 if row[0] > 0 or accuracies[calls[0]] == 1.0 else -1.0)

    def loss(preds: list[Value], labels: np.ndarray) -> Value:
        calls[0] += 1
        return p * 0.0 + losses[calls[0] - 1]

    fit(model, [[1.0], [-1.0]], [1, 1], loss, SGD([p], lr=0.1), steps=len(losses), progress=True)
    return stream.getvalue()


@pytest.fixture
def plain_bar(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The plain bar fit draws where tqdm is not installed (hidden here if it is)."""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    return monkeypatch


def test_plain_progress_bar_in_a_log_prints_a_line_per_tenth(plain_bar: pytest.MonkeyPatch) -> None:
    text = shown_by_fit([1.0 / step for step in range(1, 101)], [0.5] * 100, plain_bar, tty=False)
    lines = text.splitlines()
    assert len(lines) == 11  # the first step, then each tenth
    assert lines[-1] == "step 100/100 [####################] loss 0.01 accuracy 50%"


def test_plain_progress_bar_on_a_terminal_redraws_one_line(plain_bar: pytest.MonkeyPatch) -> None:
    text = shown_by_fit([0.5] * 3, [1.0] * 3, plain_bar, tty=True)
    assert text.startswith("\rstep 1/3") and text.endswith(
        "\rstep 3/3 [####################] loss 0.5 accuracy 100%\n"
    )


@pytest.mark.parametrize(("loss", "text"), [(1e120, "1e+120"), (-3.5e-9, "-3.5e-09"), (0.123456, "0.1235")])
def test_the_progress_bar_shows_a_diverging_loss_in_scientific_notation(
    loss: float, text: str, plain_bar: pytest.MonkeyPatch
) -> None:
    assert shown_by_fit([loss], [0.5], plain_bar, tty=False) == (
        f"step 1/1 [####################] loss {text} accuracy 50%\n"
    )


@pytest.mark.parametrize(("loss", "text"), [(1e120, "1e+120"), (math.inf, "inf"), (0.123456, "0.1235")])
def test_history_shows_a_loss_as_the_bar_does(loss: float, text: str) -> None:
    assert f"loss {text} -> {text}" in repr(History(loss=[loss], accuracy=[0.5], lr=[0.1]))


def test_the_tqdm_postfix_shows_the_loss_as_the_bar_does(monkeypatch: pytest.MonkeyPatch) -> None:
    postfixes: list[dict[str, Any]] = []

    class FakeTqdm:  # tqdm.auto.tqdm, as far as fit uses it
        def __init__(self, **kwargs: Any) -> None:
            self.n = 0

        def update(self, k: int) -> None:
            self.n += k

        def set_postfix(self, **kwargs: Any) -> None:
            postfixes.append(kwargs)

        def close(self) -> None:
            pass

    module = types.ModuleType("tqdm.auto")
    module.tqdm = FakeTqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    shown_by_fit([1e120, 0.25], [0.5, 1.0], monkeypatch, tty=False)
    assert [p["loss"] for p in postfixes] == ["1e+120", "0.25"]
    assert [p["acc"] for p in postfixes] == ["50%", "100%"]


def test_a_redrawn_line_blanks_out_the_end_of_a_longer_one(plain_bar: pytest.MonkeyPatch) -> None:
    text = shown_by_fit([123.456789, 0.5], [1.0, 0.5], plain_bar, tty=True)
    first, second = text.rstrip("\n").split("\r")[1:]
    assert first == "step 1/2 [##########..........] loss 123.5 accuracy 100%"
    assert second == "step 2/2 [####################] loss 0.5 accuracy 50%".ljust(len(first))
