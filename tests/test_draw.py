"""Diagrams: DOT text (structure, ids, labels, colours, clusters), step-through frames, rendering.

The network view (nn.draw) is tested in test_nn_draw.py.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import random
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Value, no_grad, scope, set_grad_enabled, tag_scopes, topo_order, zero_grad
from engine.draw import (
    BLAME_RAMP,
    CURRENT,
    FINAL,
    PENDING,
    ROLE_FILL,
    SOFT_INK,
    GraphTooLargeError,
    GraphvizNotFoundError,
    draw_dot,
    frames_to_dot,
    step_through,
    to_dot,
)
from engine.draw.dot import legend
from engine.draw.render import Diagram

Builder = Callable[[], Value]

FIGURES = Path(__file__).resolve().parent.parent / "notebooks" / "figures"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")


def quickstart() -> Value:
    """The README's quickstart graph (micrograd's first lecture), labelled, after backward."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    L.backward()
    return L


def records(dot: str) -> dict[str, str]:
    """Value node id -> its record label text (its fields, without the braces TB adds)."""
    found = re.findall(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"', dot, flags=re.MULTILINE)
    return {nid: re.sub(r"^\{ (.*) \}$", r"\1", fields) for nid, fields in found}


def captions(frames: list[str]) -> list[str]:
    """The caption lines of step-through frames, as shown."""
    return [html.unescape(c) for f in frames for c in re.findall(r'colspan="\d+">(.*?)</td>', f)]


def edges(dot: str) -> list[str]:
    return re.findall(r"^\s*(\w+ -> \w+)", dot, flags=re.MULTILINE)


def attr(dot: str, node: str, name: str) -> str:
    line = re.search(rf"^\s*{node} \[.*$", dot, flags=re.MULTILINE)
    assert line, f"no node {node}"
    found = re.search(rf'\b{name}="([^"]*)"', line.group(0))
    return found.group(1) if found else ""


# -- structure and text ---------------------------------------------------------------------------


def test_quickstart_records_and_edges_exactly() -> None:
    dot = to_dot(quickstart())
    assert dot.startswith("digraph backprop {\n") and dot.endswith("}\n")
    assert records(dot) == {
        "n0": "f | data -2.0000 | grad 4.0000",
        "n1": "c | data 10.0000 | grad -2.0000",
        "n2": "b | data -3.0000 | grad -4.0000",
        "n3": "a | data 2.0000 | grad 6.0000",
        "n4": "e | data -6.0000 | grad -2.0000",
        "n5": "d | data 4.0000 | grad -2.0000",
        "n6": "L | data -8.0000 | grad 1.0000",
    }
    assert edges(dot) == [
        "n3 -> n4_op", "n2 -> n4_op", "n4_op -> n4",
        "n4 -> n5_op", "n1 -> n5_op", "n5_op -> n5",
        "n5 -> n6_op", "n0 -> n6_op", "n6_op -> n6",
    ]  # fmt: skip
    assert [attr(dot, f"n{i}_op", "label") for i in (4, 5, 6)] == ["*", "+", "*"]


def test_ids_are_stable_across_runs_and_objects() -> None:
    assert to_dot(quickstart()) == to_dot(quickstart())


def test_a_value_used_twice_has_two_edges() -> None:
    a = Value(3.0, label="a")
    dot = to_dot(a + a)
    assert edges(dot) == ["n0 -> n1_op", "n0 -> n1_op", "n1_op -> n1"]
    x = Value(2.0, label="x")
    assert edges(to_dot(x * x * x)).count("n0 -> n1_op") == 2


@pytest.mark.parametrize(
    ("options", "record"),
    [
        ({}, "a | data 2.0000 | grad 6.0000"),
        ({"precision": 2}, "a | data 2.00 | grad 6.00"),
        ({"fields": ("data",)}, "data 2.0000"),
        ({"fields": ("label", "grad")}, "a | grad 6.0000"),
    ],
)
def test_fields_and_precision(options: dict[str, Any], record: str) -> None:
    assert records(to_dot(quickstart(), **options))["n3"] == record


@pytest.mark.parametrize(
    ("rankdir", "label"),
    [("LR", '"a | data 2.0000 | grad 6.0000"'), ("TB", '"{ a | data 2.0000 | grad 6.0000 }"')],
)
def test_fields_are_stacked_label_over_data_over_grad_in_either_direction(rankdir: str, label: str) -> None:
    # A record lays its fields across the rank direction, braces turn them: stacked, a value is a
    # narrow card, which keeps a chain of values inside a notebook column.
    dot = to_dot(quickstart(), rankdir=rankdir)
    assert f"rankdir={rankdir}" in dot and f"n3 [label={label}" in dot


@pytest.mark.parametrize(
    ("x", "text"),
    [(0.0, "0.0000"), (-0.0, "0.0000"), (-3.25, "-3.2500"), (2e-7, "2e-07"), (123456789.0, "1.235e+08")],
)
def test_numbers_never_hide_a_small_gradient(x: float, text: str) -> None:
    assert records(to_dot(Value(x, label="v"), legend=False))["n0"] == f"v | data {text} | grad 0.0000"


def test_labels_are_escaped_for_records_and_quotes() -> None:
    v = Value(1.0, label='w|{0}<in> "q" \\ &')
    label = records(to_dot(v))["n0"].split(" | data")[0]
    assert label == r"w\|\{0\}\<in\> \"q\" \\ &amp;"


@needs_dot
def test_escaped_labels_render_as_written() -> None:
    svg = draw_dot(Value(1.0, label='w|{0}<in> "q" \\ &')).pipe(format="svg", encoding="utf-8")
    assert "w|{0}&lt;in&gt; &quot;q&quot; \\ &amp;" in svg


def test_constants_show_no_grad_field() -> None:
    x = Value(2.0, label="x")
    dot = to_dot(x * 3.0)
    assert records(dot)["n0"] == "data 3.0000"  # the lifted 3.0: no label, no grad


# -- colours --------------------------------------------------------------------------------------


def test_roles_follow_the_documented_rule() -> None:
    x = Value(1.5, label="x", requires_grad=False)  # data
    w = Value(-2.0, label="w")
    y = (x * w + 1.0).tanh()
    order = topo_order(y)
    dot = to_dot(y)
    fill = {n.label or n._op or repr(n.data): attr(dot, f"n{i}", "fillcolor") for i, n in enumerate(order)}
    assert fill == {
        "1.0": ROLE_FILL["constant"],
        "w": ROLE_FILL["parameter"],
        "x": ROLE_FILL["input"],
        "*": ROLE_FILL["interior"],
        "+": ROLE_FILL["interior"],
        "tanh": ROLE_FILL["output"],
    }
    # With params given, a leaf that requires grad but is not a parameter is an input.
    dot = to_dot(y, params=[])
    assert attr(dot, f"n{order.index(w)}", "fillcolor") == ROLE_FILL["input"]
    assert f'<td bgcolor="{ROLE_FILL["input"]}">input</td>' in dot


def test_blame_mode_fills_by_share_of_the_largest_grad_with_a_legend() -> None:
    dot = to_dot(quickstart(), color_by="grad")
    fill = {i: attr(dot, f"n{i}", "fillcolor") for i in range(7)}
    assert fill[3] == BLAME_RAMP[-1]  # a: |grad| 6, the largest
    assert fill[0] == fill[2]  # f: 4 and b: -4, the same share
    assert len({fill[1], fill[4], fill[5]}) == 1 and fill[1] not in (fill[0], fill[3])
    assert "|grad| as a share of the largest, 6.0000 at a:" in captions([dot])  # a line above the swatches
    a = Value(3.0, label="a")
    out = (a * 0.1) * 10.0  # the unlabelled product carries the most blame: 10 against a's 1
    out.backward()
    dot = to_dot(out, color_by="grad")
    assert "largest, 10.0000 at an unlabelled * node:" in dot
    with tag_scopes(), scope("neuron 3"):
        boxed = (a * 0.1) * 10.0
    boxed.backward()
    assert "largest, 10.0000 at an unlabelled * node in neuron 3:" in to_dot(
        boxed, color_by="grad", collapse="neuron"
    )


def test_blame_mode_on_a_graph_with_no_gradient_yet_is_white() -> None:
    x = Value(2.0)
    dot = to_dot(x * x, color_by="grad")
    assert attr(dot, "n0", "fillcolor") == attr(dot, "n1", "fillcolor") == BLAME_RAMP[0]


def test_bad_options_are_refused() -> None:
    root = quickstart()
    for options in ({"color_by": "heat"}, {"rankdir": "RL"}, {"fields": ("value",)}, {"collapse": "layer"}):
        with pytest.raises(ValueError, match="to_dot"):
            to_dot(root, **options)


# -- edge labels: local derivatives ---------------------------------------------------------------


def test_edge_labels_are_the_local_derivatives() -> None:
    dot = to_dot(quickstart(), edge_labels=True)
    labelled = re.findall(r'^\s*(\w+ -> \w+) \[label=" ∂ = (\S+) "\]', dot, flags=re.MULTILINE)
    assert labelled == [
        ("n3 -> n4_op", "-3.0000"), ("n2 -> n4_op", "2.0000"),  # ∂(a·b)/∂a = b, ∂/∂b = a
        ("n4 -> n5_op", "1.0000"), ("n1 -> n5_op", "1.0000"),
        ("n5 -> n6_op", "-2.0000"), ("n0 -> n6_op", "4.0000"),
    ]  # fmt: skip


def test_local_derivatives_are_computed_only_when_edge_labels_are_asked_for() -> None:
    L = quickstart()

    def boom(out: Value) -> tuple[float, ...]:
        raise AssertionError("called")

    L._backward = boom
    to_dot(L)  # no call
    with pytest.raises(AssertionError, match="called"):
        to_dot(L, edge_labels=True)


# -- clusters and collapse --------------------------------------------------------------------------


def tagged_layer() -> Value:
    """A layer of two neurons on inputs x0, x1, built with scope tags, as nn will."""
    xs = [Value(1.0, label="x0", requires_grad=False), Value(-2.0, label="x1", requires_grad=False)]
    ws = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    with tag_scopes(), scope("layer 0"):
        outs = []
        for j, w in enumerate(ws):
            with scope(f"neuron {j}"):
                outs.append((w[0] * xs[0] + w[1] * xs[1]).tanh())
    y = outs[0] + outs[1]
    y.backward()
    return y


def test_scoped_values_are_drawn_in_nested_labelled_clusters() -> None:
    dot = to_dot(tagged_layer(), rankdir="LR")
    assert re.findall(r'subgraph (cluster_\d+) \{\n\s*graph \[label="([^"]*)"', dot) == [
        ("cluster_0", "layer 0"),
        ("cluster_1", "layer 0 · neuron 0"),
        ("cluster_2", "layer 0 · neuron 1"),
    ]  # in order of their names (TB declares siblings last first: see test_neurons_are_drawn...)
    layer = dot[dot.index("subgraph cluster_0") :]
    neuron1 = re.search(r"subgraph cluster_2 \{(.*?)\n\t\t\}", layer, flags=re.DOTALL)
    assert neuron1
    # A neuron's box holds its weights (made outside it) and its ops; the shared inputs stay out.
    assert (
        len(re.findall(r"^\s*n\d+ \[", neuron1.group(1), flags=re.MULTILINE)) == 6
    )  # 2 w, 2 products, sum, tanh
    assert "x0" not in layer and "x1" not in layer
    assert "cluster" not in to_dot(tagged_layer(), clusters=False)


def test_collapse_draws_each_neuron_as_one_box() -> None:
    dot = to_dot(tagged_layer(), collapse="neuron")
    boxes = dict(re.findall(r'^\s*(g\d) \[label="\{ (.*?) \}"', dot, flags=re.MULTILINE))
    assert boxes == {
        "g0": "neuron 1 | 6 values | out tanh | data 0.9051 | grad 1.0000",  # tanh(2 · 1 + 0.25 · -2)
        "g1": "neuron 0 | 6 values | out tanh | data 0.9866 | grad 1.0000",
    }
    assert edges(dot) == [
        "g1 -> n14_op", "g0 -> n14_op", "n14_op -> n14",  # the untagged sum of the two neurons
        "n0 -> g0", "n3 -> g0", "n0 -> g1", "n3 -> g1",  # x1 and x0 into each box, once each
    ]  # fmt: skip


def test_collapse_needs_scope_tags() -> None:
    with pytest.raises(ValueError, match=r"no scope tags: build it inside `with engine.tag_scopes\(\):`"):
        to_dot(quickstart(), collapse="neuron")


def test_too_large_a_graph_says_what_to_draw_instead() -> None:
    x = Value(0.5)
    y = x
    for _ in range(1_000):
        y = y * 1.0001 + x
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(y)
    message = str(err.value)
    assert message.startswith("to_dot: the graph has more than max_nodes=300 values: too many to read")
    assert "one example, or of one neuron" in message
    assert 'collapse="neuron"' in message and "raise max_nodes" in message
    assert to_dot(quickstart(), max_nodes=7)
    with pytest.raises(GraphTooLargeError, match="more than max_nodes=6 values"):
        to_dot(quickstart(), max_nodes=6)


def test_collapsed_too_large_a_graph_gives_its_exact_size() -> None:
    w = Value(1.0, label="w")  # made outside both scopes and used in both: drawn on its own
    with tag_scopes():
        with scope("s0"):
            u = w * 2.0
        with scope("s1"):
            v = w * 3.0
    y = u + v
    assert to_dot(y, collapse="neuron", max_nodes=4).count("values | out") == 2  # s0, s1, w and y
    with pytest.raises(GraphTooLargeError) as err:
        to_dot(y, collapse="neuron", max_nodes=3)
    assert str(err.value).startswith(
        "to_dot: the graph has 6 values, 4 boxes and values even collapsed, more than max_nodes=3"
    )
    assert 'collapse="neuron"' not in str(err.value)  # it is collapsed already


# -- step-through -----------------------------------------------------------------------------------


def test_frames_are_the_seed_one_per_op_and_the_finished_pass(lecture_neuron: Builder) -> None:
    o = lecture_neuron()
    frames = frames_to_dot(o)
    assert len(frames) == 1 + sum(1 for n in topo_order(o) if n._prev) + 1 == 7
    fresh = lecture_neuron()
    fresh.backward()
    assert records(frames[-1]) == records(to_dot(fresh))
    assert records(frames[-1])["n4"] == "w1 | data -3.0000 | grad 1.0000"  # x1 · (1 − o²)
    assert "step 5 of 5: * runs" in frames[-2]
    assert captions(frames[-1:]) == [
        "done: every op has run its local backward (5 steps); every gradient is final"
    ]


def test_the_finished_frame_marks_every_value_final_and_nothing_running(lecture_neuron: Builder) -> None:
    last = frames_to_dot(lecture_neuron())[-1]
    assert {attr(last, nid, "color") for nid in records(last)} == {FINAL}
    drawn = last.split("\tnode [")[1]  # the statements, after the legend
    assert CURRENT not in drawn and PENDING not in drawn


def test_frames_show_the_seed_then_highlight_the_running_op(lecture_neuron: Builder) -> None:
    first, second, third = frames_to_dot(lecture_neuron())[:3]
    grads = {k: v.split("grad ")[-1] for k, v in records(first).items() if "grad" in v}
    assert set(grads.values()) == {"0.0000", "1.0000"} and grads["n9"] == "1.0000"
    assert "the seed: o.grad = ∂root/∂root = 1.0000" in first
    assert ">every other gradient starts this pass at 0<" in first
    assert attr(second, "n9_op", "fillcolor") == CURRENT  # tanh is running
    assert "tanh: ∂o/∂(+) = 1 − o² = 0.5000 ; (+).grad += 0.5000 × 1.0000 = 0.5000 (now 0.5000)" in second
    assert attr(second, "n8", "color") == CURRENT  # tanh's input: receiving gradient
    assert attr(second, "n4", "fontcolor") == SOFT_INK  # w1: not final yet, greyed
    assert attr(third, "n9", "color") == FINAL  # o: final from then on


def test_a_step_through_after_backward_shows_what_the_leaves_held_throughout(lecture_neuron: Builder) -> None:
    o = lecture_neuron()
    o.backward()  # w1.grad = 1, b.grad = 0.5 (w2.grad = 0): this pass adds to them, as in PyTorch
    frames = frames_to_dot(o)
    assert records(frames[0])["n4"] == "w1 | data -3.0000 | grad 1.0000"  # what w1 holds
    assert records(frames[1])["n4"] == "w1 | data -3.0000 | grad 1.0000"  # nothing added yet
    assert records(frames[-1])["n4"] == "w1 | data -3.0000 | grad 2.0000"  # and 1 more this pass
    assert records(frames[-1]) == records(to_dot(o))  # the frames end where the graph ends
    assert captions(frames[:1])[1:] == [
        "every other gradient starts this pass at 0, but leaves add to what they hold, as in PyTorch:",
        "b, w1 still hold gradient from an earlier pass (call zero_grad() first to start from 0)",
    ]
    assert "*: ∂(*)/∂w1 = x1 = 2.0000 ; w1.grad += 2.0000 × 0.5000 = 1.0000 (now 2.0000)" in captions(frames)
    assert "the leaves hold the gradient of this pass added to what they held before" in captions(frames)
    o.zero_grad()
    assert captions(frames_to_dot(o)[:1])[1] == "every other gradient starts this pass at 0"


def op(build: Any) -> Any:
    """A graph built by build(p, q) from leaves p = 3 and q = 2, its output labelled r."""
    p, q = Value(3.0, label="p"), Value(2.0, label="q")
    out = build(p, q)
    out.label = "r"
    return out


def divided() -> Value:
    r = Value(6.0, label="p") / Value(3.0, label="q")
    r.label = "r"
    return r


def square_root() -> Value:
    s = Value(4.0, label="x").sqrt()
    s.label = "s"
    return s


@pytest.mark.parametrize(
    ("graph", "line"),
    [
        (quickstart, "+: ∂d/∂e = 1 = 1.0000 ; e.grad += 1.0000 × -2.0000 = -2.0000 (now -2.0000)"),
        (quickstart, "*: ∂L/∂f = d = 4.0000 ; f.grad += 4.0000 × 1.0000 = 4.0000 (now 4.0000)"),
        (lambda: op(lambda p, q: p * q), "*: ∂r/∂p = q = 2.0000 ; p.grad += 2.0000 × 1.0000"),
        (lambda: op(lambda p, q: p**q), "**: ∂r/∂q = p^q·ln p = 9.8875 ; q.grad +="),
        (lambda: op(lambda p, q: p**2), "**2: ∂r/∂p = 2·p^1 = 6.0000 ; p.grad +="),
        (lambda: op(lambda p, q: p**-1), "**-1: ∂r/∂p = -1·p^-2 = -0.1111 ; p.grad +="),
        (lambda: op(lambda p, q: p**0.5), "**0.5: ∂r/∂p = 0.5·p^-0.5 = 0.2887 ; p.grad +="),
        (lambda: op(lambda p, q: p * 2.0), "*: ∂r/∂p = 2.0000 ; p.grad +="),  # a constant: its number
        (lambda: op(lambda p, q: p * Value(2.0)), "*: ∂r/∂(2.0000) = p = 3.0000 ; (2.0000).grad +="),
        (lambda: op(lambda p, q: (p * q).exp()), "exp: ∂r/∂(*) = e^(*) = 403.4288 ; (*).grad +="),
        (lambda: op(lambda p, q: p.log()), "log: ∂r/∂p = 1/p = 0.3333 ; p.grad +="),
        (lambda: op(lambda p, q: p.sigmoid()), "sigmoid: ∂r/∂p = r·(1 − r) = 0.0452 ;"),
        (lambda: op(lambda p, q: p.relu()), "relu: ∂r/∂p = 1 if p > 0 else 0 = 1.0000 ;"),
        (lambda: op(lambda p, q: abs(p)), "abs: ∂r/∂p = sign p = 1.0000 ;"),
        (divided, "/: ∂r/∂p = 1/q = 0.3333 ; p.grad += 0.3333 × 1.0000 = 0.3333 (now 0.3333)"),
        (divided, "/: ∂r/∂q = −p/q² = -0.6667 ; q.grad += -0.6667 × 1.0000 = -0.6667 (now -0.6667)"),
        (square_root, "sqrt: ∂s/∂x = 1/(2√x) = 0.2500 ; x.grad += 0.2500 × 1.0000 = 0.2500 (now 0.2500)"),
        (lambda: op(lambda p, q: p.tanh()), "tanh: ∂r/∂p = 1 − r² = 0.0099 ;"),
    ],
)
def test_captions_name_values_as_the_user_labelled_them(graph: Any, line: str) -> None:
    root = graph()
    zero_grad(root)  # quickstart() has run backward once
    assert any(shown.startswith(line) for shown in captions(frames_to_dot(root)))


def test_frames_need_a_root_that_requires_grad() -> None:
    with no_grad():
        frozen = Value(1.0) * 2.0
    with pytest.raises(RuntimeError, match="backward_steps"):
        frames_to_dot(frozen)


@needs_dot
def test_step_through_page_holds_every_frame_and_loads_nothing(lecture_neuron: Builder) -> None:
    page = step_through(lecture_neuron()).page()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1  # one drawing, laid out once
    assert page.count('class="bpl-frame"') == 7 and 'max="6"' in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert not re.search(r"https?://", re.sub(r'xmlns(:\w+)?="[^"]*"', "", page))
    assert page == step_through(lecture_neuron()).page()  # deterministic
    assert step_through(lecture_neuron())._repr_html_() in page
    # A notebook stores the text form beside the HTML: it must be short, not the page again.
    assert repr(step_through(lecture_neuron())) == "<StepThrough: 7 frames>"


# -- rendering ----------------------------------------------------------------------------------------


def test_draw_dot_holds_exactly_the_dot_text() -> None:
    L = quickstart()
    assert draw_dot(L, color_by="grad").source == to_dot(L, color_by="grad")
    # No memory address in the text form a notebook stores: re-running changes nothing.
    text = "<graphviz diagram 'backprop': 23 lines of DOT>"
    assert repr(draw_dot(L)) == repr(draw_dot(quickstart())) == text


@needs_dot
def test_svg_rendering() -> None:
    svg = draw_dot(quickstart(), edge_labels=True).pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg and "grad 6.0000" in svg and "∂ = &#45;3.0000" in svg


@needs_dot
def test_jupyter_displays_the_svg() -> None:
    shown = draw_dot(quickstart())._repr_mimebundle_()
    assert list(shown) == ["image/svg+xml"] and "grad 6.0000" in shown["image/svg+xml"]


@needs_dot
def test_render_writes_the_dot_file_and_the_svg_or_with_cleanup_the_svg_only(tmp_path: Path) -> None:
    graph = draw_dot(quickstart())
    assert graph.render(tmp_path / "L") == str(tmp_path / "L.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L", "L.svg"]
    assert (tmp_path / "L").read_text(encoding="utf-8") == graph.source
    graph.render(tmp_path / "M", cleanup=True)
    assert not (tmp_path / "M").exists() and (tmp_path / "M.svg").exists()


def test_missing_dot_program_says_to_install_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    diagram = draw_dot(quickstart())
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        diagram.pipe(format="svg")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        diagram.render("never-written", directory=str(Path("/nonexistent")))
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        diagram._repr_mimebundle_()  # what Jupyter calls to display it
    assert diagram.source == to_dot(quickstart())


def test_missing_graphviz_package_leaves_to_dot_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert to_dot(quickstart()).startswith("digraph")
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw_dot(quickstart())


# -- the README figure ----------------------------------------------------------------------------


def test_readme_figure_is_drawn_from_the_quickstart_graph() -> None:
    committed = (FIGURES / "quickstart.dot").read_text(encoding="utf-8")
    assert committed == to_dot(quickstart(), edge_labels=True), "regenerate: python tests/test_draw.py"
    assert (FIGURES / "quickstart.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


if __name__ == "__main__":  # regenerate the README figure: python tests/test_draw.py
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / "quickstart.dot").write_text(to_dot(quickstart(), edge_labels=True), encoding="utf-8")
    draw_dot(quickstart(), edge_labels=True).render(outfile=FIGURES / "quickstart.svg", cleanup=True)


@pytest.mark.parametrize("legend", [True, False])
def test_a_caption_is_drawn_above_the_legend_as_written(legend: bool) -> None:
    lines = ["What is shown: <x> & its grad", "second line"]
    dot = to_dot(quickstart(), caption=lines, legend=legend)
    assert captions([dot]) == lines


@pytest.mark.parametrize("caption", ["one string", [1.0], None])
def test_a_caption_must_be_lines_of_text(caption: Any) -> None:
    with pytest.raises(TypeError, match="to_dot: caption must be a sequence of str lines"):
        to_dot(quickstart(), caption=caption)


# -- frozen parameters and the drawing's direction ------------------------------------------------


def test_a_parameter_that_takes_no_grad_is_drawn_frozen_inside_its_scope() -> None:
    x = Value(1.0, label="x0", requires_grad=False)
    w, b = Value(0.5, label="w0"), Value(0.1, label="b")
    with tag_scopes(), scope("neuron 0"):
        z = w * x + b
    w.requires_grad = False  # as nn.freezing.freeze_neuron does
    order = topo_order(z)
    dot = to_dot(z, params=[w, b])
    assert attr(dot, f"n{order.index(w)}", "fillcolor") == ROLE_FILL["frozen"]
    assert attr(dot, f"n{order.index(w)}", "style") == "filled,dashed"
    assert attr(dot, f"n{order.index(b)}", "fillcolor") == ROLE_FILL["parameter"]
    box = re.search(r'label="neuron 0".*?\n\t\}', dot, flags=re.DOTALL)
    assert box and f"n{order.index(w)} [" in box.group(0)  # in its neuron's box, like b, not outside
    assert 'style="dashed">frozen parameter (no grad)</td>' in dot
    # Without params, nothing says w is a parameter: a labelled leaf without grad is an input.
    assert attr(to_dot(z), f"n{order.index(w)}", "fillcolor") == ROLE_FILL["input"]


def chain(n: int) -> Value:
    """tanh applied n times: a graph n values deep and one wide."""
    v = Value(0.3, label="x")
    for _ in range(n):
        v = v.tanh()
    return v


def broad(n: int) -> Value:
    """n scoped boxes side by side between one input and their sum, collapsed: 3 levels, n wide."""
    x = Value(0.5, label="x")
    with tag_scopes():
        outs = []
        for j in range(n):
            with scope(f"neuron {j}"):
                outs.append(x * Value(j + 1.0, label="w"))
        with scope("sum"):
            total = outs[0]
            for out in outs[1:]:
                total = total + out
    return total


@pytest.mark.parametrize(
    ("build", "options", "rankdir"),
    [
        (quickstart, {}, "TB"),  # 4 levels deep, 4 leaves wide: a card is narrower than a level
        (lambda: chain(6), {}, "TB"),
        (lambda: Value(1.0, label="x"), {}, "TB"),
        (lambda: broad(3), {"collapse": "neuron", "clusters": False}, "TB"),
        (lambda: broad(12), {"collapse": "neuron", "clusters": False}, "LR"),
        (quickstart, {"rankdir": "LR"}, "LR"),  # asked for: as asked
        (lambda: chain(6), {"rankdir": "LR"}, "LR"),
    ],
)
def test_auto_direction_draws_the_narrower_way(build: Builder, options: dict[str, Any], rankdir: str) -> None:
    assert f"rankdir={rankdir} " in to_dot(build(), **options)
    assert f"rankdir={rankdir} " in frames_to_dot(build(), **options)[0]


@needs_dot
@pytest.mark.parametrize(
    ("build", "options"),
    [
        (quickstart, {}),
        (quickstart, {"edge_labels": True}),
        (lambda: chain(12), {}),
        (lambda: broad(12), {"collapse": "neuron", "clusters": False}),
    ],
)
def test_default_drawings_fit_a_notebook_column(build: Builder, options: dict[str, Any]) -> None:
    svg = draw_dot(build(), **options).pipe(format="svg", encoding="utf-8")
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width <= 675  # 900 px, a notebook column


def layered(widths: list[int], order: str, seed: int = 0, constant: bool = False) -> Value:
    """A net of scoped neurons, "layer i" · "neuron j", each tanh(Σ w·input + b), summed at the end.

    order: the order the neurons of a layer are built and summed in ("index", "reversed" or
    "shuffled"), which decides the graph's topological order but must not decide the drawing's.
    constant: layer 0's neuron 0 computed without grad, one constant in its box (a frozen neuron).
    """
    rng = random.Random(seed)
    inputs = [Value(0.5, label="x0", requires_grad=False), Value(-1.0, label="x1", requires_grad=False)]
    with tag_scopes():
        for i, width in enumerate(widths):
            built = list(range(width))
            if order == "reversed":
                built.reverse()
            elif order == "shuffled":
                rng.shuffle(built)
            outs: dict[int, Value] = {}
            for j in built:
                with (
                    scope(f"layer {i}"),
                    scope(f"neuron {j}"),
                    set_grad_enabled(not (constant and i == j == 0)),
                ):
                    z = Value(0.1 * j, label="b")
                    for k, x in enumerate(inputs):
                        z = z + Value(rng.uniform(-1, 1), label=f"w{k}") * x
                    outs[j] = z.tanh()
            inputs = [outs[j] for j in built]
        total = inputs[0]
        for v in inputs[1:]:
            total = total + v
    total.backward()
    return total


def drawn_in_order(dot: str) -> dict[str, list[int]]:
    """Each layer's neurons as dot lays them out, left to right (TB) or top to bottom (LR)."""
    laid = json.loads(Diagram(dot).pipe(format="json", encoding="utf-8"))
    across = "rankdir=TB" in dot
    found: dict[str, list[tuple[float, int]]] = {}
    for obj in laid["objects"]:
        label = obj.get("label", "")
        if obj["name"].startswith("cluster") and " · neuron " in label:  # a neuron's box
            x0, y0, x1, y1 = map(float, obj["bb"].split(","))
            layer, neuron = label.split(" · ")
            where = (x0 + x1) / 2 if across else -(y0 + y1) / 2
            found.setdefault(layer, []).append((where, int(neuron.split()[1])))
        elif obj["name"].startswith("cluster"):  # a layer: its collapsed neurons are nodes in it
            for node in (laid["objects"][k] for k in obj.get("nodes", [])):
                if not node["name"].startswith("g"):  # g0, g1...: a collapsed neuron
                    continue
                x, y = map(float, node["pos"].split(","))
                neuron = int(re.search(r"neuron (\d+)", node["label"]).group(1))  # type: ignore[union-attr]
                found.setdefault(label, []).append((x if across else -y, neuron))
    return {layer: [j for _, j in sorted(items)] for layer, items in found.items()}


@needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("order", ["index", "reversed", "shuffled"])
@pytest.mark.parametrize(
    ("widths", "collapse"),
    [([2, 1], None), ([3, 3, 1], None), ([6, 6, 1], "neuron"), ([10, 1], "neuron"), ([4, 8, 1], "neuron")],
)
def test_neurons_are_drawn_in_index_order_whatever_order_they_were_built_in(
    widths: list[int], collapse: str | None, order: str, rankdir: str
) -> None:
    # dot orders a rank to uncross edges, and between neurons fed by the same inputs every order
    # crosses as many: without a rule, neuron 1 came out left of neuron 0 (04's and 07's figures).
    dot = to_dot(layered(widths, order), collapse=collapse, rankdir=rankdir)
    drawn = drawn_in_order(dot)
    assert drawn == {f"layer {i}": list(range(w)) for i, w in enumerate(widths)}
    if collapse or rankdir == "LR":  # there dot may still rotate the other neurons: known, not fixed
        return
    # A frozen first-layer neuron: its box holds one constant, which no input edge places.
    dot = to_dot(layered(widths, order, constant=True), rankdir=rankdir)
    drawn = drawn_in_order(dot)
    assert drawn == {f"layer {i}": list(range(w)) for i, w in enumerate(widths)}


@needs_dot
@pytest.mark.parametrize("widths", [[2, 1], [3, 3, 1], [2, 2, 2, 1]])
def test_layers_drawn_top_to_bottom_are_stacked_not_side_by_side(widths: list[int]) -> None:
    # A layer's weights sit a rank above their op, the rank of the last layer's outputs: unless
    # the edges between layers span two ranks, the layers' boxes overlap and dot puts them side by side.
    laid = json.loads(
        Diagram(to_dot(layered(widths, "index"), rankdir="TB")).pipe(format="json", encoding="utf-8")
    )
    boxes = {
        o["label"]: o["bb"]
        for o in laid["objects"]
        if o.get("label", "").startswith("layer ") and " · " not in o["label"]
    }
    spans = [tuple(map(float, boxes[f"layer {i}"].split(",")))[1::2] for i in range(len(widths))]
    assert all(below[1] < above[0] for above, below in itertools.pairwise(spans))  # y grows upward


@needs_dot
@pytest.mark.parametrize(
    ("share", "scale"),
    [
        (2.0, 1.0),  # narrower than max_width: as laid out
        (0.9, 0.9),  # a bit too wide: scaled to fit
        (0.5, 0.75),  # far too wide: to 3/4 of its size, no smaller
        (None, 1.0),  # max_width=None: as laid out
    ],
)
def test_jupyter_shows_a_wide_drawing_scaled_to_max_width_but_not_below_three_quarters(
    share: float | None, scale: float
) -> None:
    svg = draw_dot(quickstart()).pipe(format="svg", encoding="utf-8")
    laid = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert laid
    width, height = float(laid[1]), float(laid[2])
    diagram = draw_dot(quickstart(), max_width=None if share is None else share * width)
    for shown in (diagram._repr_image_svg_xml(), diagram._repr_mimebundle_()["image/svg+xml"]):
        size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox', shown)
        assert size  # the viewBox stays: the whole picture scales, text and all
        assert (float(size[1]), float(size[2])) == pytest.approx((width * scale, height * scale), abs=0.5)


@pytest.mark.parametrize(
    ("texts", "rows"),
    [
        (["input", "parameter", "interior", "output"], [["input", "parameter", "interior", "output"]]),
        (["a" * 60, "0%", "25%", "b" * 40], [["a" * 60, "0%", "25%"], ["b" * 40]]),
        (["a" * 120, "0%"], [["a" * 120], ["0%"]]),
    ],
)
def test_a_legend_longer_than_a_column_wraps_onto_rows(texts: list[str], rows: list[list[str]]) -> None:
    # The blame legend's one row made 04's collapsed drawing 795 pt wide; its graph is 583 pt.
    label = legend([("#FFFFFF", text) for text in texts], ["caption"])
    drawn = [re.findall(r'<td bgcolor="#FFFFFF">(.*?)</td>', row) for row in re.split(r"</tr>", label)]
    assert [row for row in drawn if row] == rows
    assert re.findall(r'colspan="(\d+)">caption', label) == [str(len(texts) if len(rows) == 1 else 1)]


@pytest.mark.parametrize("bad", [0, -675, math.inf, math.nan, "675", True])
def test_a_bad_max_width_is_refused_by_name(bad: object) -> None:
    message = f"draw_dot: max_width must be a number of points > 0, or None, got {bad!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        draw_dot(quickstart(), max_width=bad)  # type: ignore[arg-type]
