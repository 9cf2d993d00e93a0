"""Drawing a lane graph: each lane value at one example (or its mean), never a wall of arrays."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine import Value
from engine.draw import frames_to_dot, step_through, to_dot

X = np.array([1.0, 2.0, -3.0, 0.25])
TARGETS = np.array([1.0, -1.0, 1.0, -1.0])


def neuron_loss(x: Value | float, target: Value | float, n: int) -> tuple[Value, Value, Value]:
    """A tanh neuron's squared error over n examples: the same graph on lanes or on one example."""
    w, b = Value(0.5, label="w"), Value(1.0, label="b")
    xs = x if isinstance(x, Value) else Value(x, requires_grad=False, label="x")
    xs.label = "x"
    z = w * xs + b
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    err = (a - target) ** 2
    err.label = "err"
    loss = err.mean() if err.lanes else err * (1 / n)
    loss.label = "L"
    loss.backward()
    return loss, w, b


def lanes_loss() -> tuple[Value, Value, Value]:
    return neuron_loss(Value(X, requires_grad=False), TARGETS, len(X))


def fields(dot: str) -> dict[str, str]:
    """label -> the record text of each labelled value in the DOT text."""
    return dict(re.findall(r'\[label="\{ (\w+) \| ([^}]*) \}"', dot))


@pytest.mark.parametrize("example", range(len(X)))
def test_a_lane_value_at_example_i_is_drawn_as_example_is_scalar_graph_draws_it(example: int) -> None:
    loss, _, _ = lanes_loss()
    one, _, _ = neuron_loss(float(X[example]), float(TARGETS[example]), len(X))
    lanes, scalar = fields(to_dot(loss, example=example)), fields(to_dot(one))
    for label in ("x", "z", "a", "err"):  # lane values: data and grad of this example, as its own graph
        assert lanes[label] == scalar[label], label


def test_a_parameter_shows_its_grad_summed_over_every_example() -> None:
    loss, w, b = lanes_loss()
    per_example = [neuron_loss(float(x), float(t), len(X))[1:] for x, t in zip(X, TARGETS)]
    assert w.grad == pytest.approx(sum(pw.grad for pw, _ in per_example), abs=1e-12)
    shown = fields(to_dot(loss, example=2))
    assert shown["w"] == f"data 0.5000 | grad {w.grad:.4f}"
    assert shown["b"] == f"data 1.0000 | grad {b.grad:.4f}"
    assert "the sum of all 4 examples' shares" in to_dot(loss, example=2).replace("&#x27;", "'")


def test_without_an_example_each_lane_value_shows_its_mean() -> None:
    loss, _, _ = lanes_loss()
    x = fields(to_dot(loss))["x"]
    assert x == f"data {X.mean():.4f}"
    assert "shown at the mean over the 4 examples" in to_dot(loss)


def test_lane_values_are_rounded_and_scalars_are_not() -> None:
    loss, _, _ = lanes_loss()
    dot = to_dot(loss, example=0)
    rounded = re.findall(r'label="\{ (\w+) \|[^"]*"[^\]]*shape="Mrecord"', dot)
    assert sorted(rounded) == ["a", "err", "x", "z"]
    assert 'shape="Mrecord"' not in to_dot(neuron_loss(1.0, 1.0, 1)[0])


def test_a_million_lanes_draw_no_bigger_than_four() -> None:
    big = Value(np.linspace(-1.0, 1.0, 1_000_000), requires_grad=False)
    loss, _, _ = neuron_loss(big, np.ones(1_000_000), 1_000_000)
    small, _, _ = lanes_loss()
    assert "e+" not in to_dot(loss) and "[" not in fields(to_dot(loss))["x"]
    assert abs(len(to_dot(loss)) - len(to_dot(small))) < 40  # the numbers differ, not their count


@pytest.mark.parametrize(
    ("example", "error", "says"),
    [
        (4, ValueError, "to_dot: example must be a lane index in 0..3, got 4"),
        (-1, ValueError, "to_dot: example must be a lane index in 0..3, got -1"),
        (True, TypeError, "to_dot: example must be an int (a lane index) or None, got True"),
        ("0", TypeError, "to_dot: example must be an int (a lane index) or None, got '0'"),
    ],
)
def test_a_bad_example_is_refused(example: object, error: type[Exception], says: str) -> None:
    loss, _, _ = lanes_loss()
    with pytest.raises(error, match=re.escape(says)):
        to_dot(loss, example=example)  # type: ignore[arg-type]


def test_an_example_of_a_graph_without_lanes_is_refused() -> None:
    with pytest.raises(ValueError, match="example=0 picks one example of a lane graph, but this graph has"):
        to_dot(neuron_loss(1.0, 1.0, 1)[0], example=0)


def test_the_step_through_follows_one_example_and_ends_with_the_real_gradients() -> None:
    loss, w, _ = lanes_loss()
    loss.zero_grad()  # the frames run a backward pass of their own, which leaves add to
    frames = frames_to_dot(loss, example=3, edge_labels=True)
    one, w3, _ = neuron_loss(float(X[3]), float(TARGETS[3]), len(X))
    assert fields(frames[-1])["z"] == fields(to_dot(one))["z"]  # lane values: example 3's
    assert fields(frames[-1])["w"] == f"data 0.5000 | grad {w.grad:.4f}"  # the parameter: the sum
    text = "\n".join(frames)
    assert f"this example adds {float(X[3]):.4f} × " in text
    assert f"w.grad += the sum over all 4 examples = {w.grad:.4f}" in text
    assert f"{w3.grad:.4f}" != f"{w.grad:.4f}"  # the case tells the two apart


def test_the_step_through_of_a_lane_graph_starts_at_the_first_example() -> None:
    loss, _, _ = lanes_loss()
    first = frames_to_dot(loss)
    loss.zero_grad()
    assert first[0] != frames_to_dot(loss)[0]  # the leaves held the first pass's gradient
    loss.zero_grad()
    assert frames_to_dot(loss) == (loss.zero_grad(), frames_to_dot(loss, example=0))[1]
    assert "shown at example 0 of 4" in first[0]
    loss.zero_grad()
    page = step_through(loss, example=1).page()
    assert page.count('class="bpl-frame"') == len(frames_to_dot(loss)) and "example 1 of 4" in page


# -- the README figure: the README's lanes example, drawn at example 1 ------------------------------

FIGURES = Path(__file__).resolve().parent.parent / "notebooks" / "figures"


def readme_lanes() -> Value:
    """The README's lanes example: a ReLU neuron over three examples, its mean, after backward."""
    w, b = Value(0.5, label="w"), Value(1.0, label="b")
    x = Value(np.array([1.0, 2.0, -3.0]), requires_grad=False, label="x")
    z = w * x + b
    z.label = "z"
    a = z.relu()
    a.label = "a"
    loss = a.mean()
    loss.label = "L"
    loss.backward()
    return loss


def test_readme_lanes_figure_is_drawn_from_the_readme_example() -> None:
    committed = (FIGURES / "lanes.dot").read_text(encoding="utf-8")
    assert committed == to_dot(readme_lanes(), example=1, edge_labels=True), "regenerate: python " + __file__
    assert (FIGURES / "lanes.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


if __name__ == "__main__":  # regenerate the README's lanes figure: python tests/test_draw_lanes.py
    from engine.draw import draw_dot

    (FIGURES / "lanes.dot").write_text(to_dot(readme_lanes(), example=1, edge_labels=True), encoding="utf-8")
    draw_dot(readme_lanes(), example=1, edge_labels=True).render(outfile=FIGURES / "lanes.svg", cleanup=True)
