"""Drawing under hostile input: wrong roots, labels full of markup and control characters, huge graphs."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from engine import Value, scope, tag_scopes
from engine.draw import GraphTooLargeError, draw_dot, frames_to_dot, step_through, to_dot
from nn import MLP

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")


# -- every entry point says what it needs ---------------------------------------------------------

GRAPH_ENTRIES: list[Callable[..., Any]] = [to_dot, draw_dot, frames_to_dot, step_through]
NOT_A_VALUE = [
    pytest.param(2.5, "got the plain number 2.5, which has no graph", id="float"),
    pytest.param([Value(1.0), Value(2.0)], "got a list of 2: use one output at a time", id="outputs"),
    pytest.param(MLP(2, [1], seed=0), "got a MLP (a model): call it on an input", id="model"),
    pytest.param(None, "got None", id="None"),
]


@pytest.mark.parametrize("entry", GRAPH_ENTRIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("root", "says"), NOT_A_VALUE)
def test_graph_entry_points_name_themselves_and_what_they_got(
    entry: Callable[..., Any], root: object, says: str
) -> None:
    with pytest.raises(TypeError, match=rf"^{entry.__name__}: needs one Value .*{re.escape(says)}"):
        entry(root)


@pytest.mark.parametrize("entry", [frames_to_dot, step_through])
@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"rankdir": "RL"}, "rankdir must be 'auto', 'LR' or 'TB', got 'RL'"),
        ({"max_nodes": "300"}, "max_nodes must be a non-negative int, got '300'"),
        ({"colour_by": "grad"}, "unknown option 'colour_by'; the options are"),
    ],
)
def test_frame_options_are_checked_in_the_callers_name(
    entry: Callable[..., Any], options: dict[str, Any], says: str
) -> None:
    x = Value(2.0, label="x")
    with pytest.raises((ValueError, TypeError), match=rf"^{entry.__name__}: {re.escape(says)}"):
        entry(x * x, **options)


# -- labels full of markup and control characters ---------------------------------------------------

# Every character XML forbids (C0 controls but tab, newline and CR; lone surrogates; U+FFFE), DEL and
# a C1 control, the separators of DOT records, and HTML markup.
HOSTILE = "x<b>&\"'{}|\\ \x00\x01\x1b\x0b\x7f\x85\ud800\ufffe\t\ny"
# What a reader sees: each control character as Python writes it, tab and newline as spaces.
SHOWN = "x<b>&\"'{}|\\ \\x00\\x01\\x1b\\x0b\\x7f\\x85\\ud800\\ufffe  y"


def hostile_graph() -> Value:
    """A labelled neuron-like graph whose labels and scope names are all HOSTILE."""
    w = Value(-3.0, label=HOSTILE)
    x = Value(2.0, label=HOSTILE, requires_grad=False)
    with tag_scopes(), scope(HOSTILE), scope(HOSTILE + "2"):
        z = w * x + 1.0
        z.label = HOSTILE
    out = z.tanh()
    out.label = HOSTILE
    out.backward()
    return out


def svg_texts(svg: str) -> list[str]:
    """Every text element of an SVG, parsed as XML (which fails on invalid characters)."""
    tree = ET.fromstring(svg)
    # dot keeps runs of spaces with no-break spaces
    return [
        "".join(el.itertext()).replace("\xa0", " ") for el in tree.iter("{http://www.w3.org/2000/svg}text")
    ]


def render(dot: str) -> str:
    import graphviz  # noqa: PLC0415

    return str(graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))


DRAWINGS: list[Any] = [
    pytest.param(lambda r: [to_dot(r)], id="records-and-clusters"),
    pytest.param(lambda r: [to_dot(r, collapse="neuron")], id="collapsed-box"),
    pytest.param(lambda r: [to_dot(r, color_by="grad", clusters=False)], id="blame-legend"),
    pytest.param(lambda r: frames_to_dot(r, edge_labels=True), id="step-captions"),
    pytest.param(lambda r: [to_dot(r, rankdir="TB")], id="records-top-to-bottom"),
]


@pytest.mark.parametrize("drawings", DRAWINGS)
def test_hostile_labels_leave_no_invalid_character_in_the_dot_text(
    drawings: Callable[[Value], Sequence[str]],
) -> None:
    for dot in drawings(hostile_graph()):
        dot.encode("utf-8")  # no lone surrogate
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", dot)


@needs_dot
@pytest.mark.parametrize("drawings", DRAWINGS)
def test_hostile_labels_render_to_valid_svg_that_shows_them(
    drawings: Callable[[Value], Sequence[str]],
) -> None:
    for dot in drawings(hostile_graph()):
        texts = svg_texts(render(dot))
        assert any(SHOWN in text for text in texts), texts


@needs_dot
def test_hostile_labels_leave_the_step_through_page_valid() -> None:
    page = step_through(hostile_graph(), edge_labels=True).page()
    page.encode("utf-8")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", page)
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)
    assert svgs and all(svg_texts(svg) for svg in svgs)
    assert "x&lt;b&gt;&amp;" in page and "<b>" not in page


# -- refusing a huge graph costs what drawing max_nodes would -------------------------------------


class Spy:
    """A stand-in node wrapping a Value: records every node whose inputs (_prev) are read."""

    def __init__(self, node: Value, seen: dict[int, Spy]) -> None:
        self.node, self.seen, self.read = node, seen, False

    @classmethod
    def wrap(cls, node: Value, seen: dict[int, Spy]) -> Spy:
        if id(node) not in seen:
            seen[id(node)] = cls(node, seen)
        return seen[id(node)]

    @property
    def _prev(self) -> tuple[Spy, ...]:
        self.read = True
        return tuple(Spy.wrap(child, self.seen) for child in self.node._prev)

    def __getattr__(self, name: str) -> Any:  # data, grad, label, requires_grad, _op, _backward, _scope
        return getattr(self.node, name)


def chain(n: int, scoped: bool = False) -> Value:
    """y = x · 1.0001 · 1.0001 ... (n products, 2n + 1 values), each product in its own scope if scoped."""
    y = Value(0.5, label="x")
    with tag_scopes(scoped):
        for k in range(n):
            with scope(f"s{k}"):
                y = y * 1.0001
    return y


@pytest.mark.parametrize(
    ("draw", "options", "scoped", "reads"),
    [
        (to_dot, {}, False, 101),
        (to_dot, {"collapse": "neuron"}, True, 2 * 101),  # a box per product and its constant
        (frames_to_dot, {}, False, 101),
        (step_through, {}, False, 101),
    ],
)
def test_refusal_reads_at_most_max_nodes_plus_one_drawn_nodes(
    draw: Callable[..., Any], options: dict[str, Any], scoped: bool, reads: int
) -> None:
    seen: dict[int, Spy] = {}
    root = Spy.wrap(chain(5_000, scoped), seen)  # 10,001 values
    with pytest.raises(GraphTooLargeError, match=rf"^{draw.__name__}: the graph has more than max_nodes=100"):
        draw(root, max_nodes=100, **options)
    assert sum(spy.read for spy in seen.values()) <= reads
