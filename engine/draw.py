"""Diagrams of computation graphs: DOT text (pure, testable), and graphviz renderings of it.

`to_dot(root)` gives the text; `draw_dot(root)` a `graphviz.Digraph` that displays inline in
Jupyter and has `.render(path)`. The graph is never changed by drawing it, except by the
step-through functions, which run one backward pass (as `backward()` would). The `graphviz`
package is imported only by the functions that render, so `to_dot` works without it.

Roles, the default colouring (a node's role follows from the graph, or from `params`):
- output: the root;
- interior: the result of an op;
- parameter: a leaf in `params`, or, without `params`, any leaf that requires grad (as in PyTorch,
  where parameters require grad and data does not);
- input: a leaf that requires no grad but has a label (nn labels its inputs x0, x1...), or a leaf
  not in `params` that requires grad;
- constant: an unlabelled leaf that requires no grad (a plain number lifted into the graph).
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
import math
import numbers
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from .graph import BackwardStep, Node, backward_steps, require_node, topo_order
from .modes import scope_of
from .value import RULES, rule_of

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "StepThrough",
    "backward_frames",
    "draw_dot",
    "draw_mlp",
    "frames_to_dot",
    "mlp_to_dot",
    "step_through",
    "step_through_html",
    "to_dot",
]

FIELDS = ("label", "data", "grad")
Attrs = dict[str, str]


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs graphviz's `dot` program, and it is not installed (or not on PATH)."""


class GraphTooLargeError(ValueError):
    """The graph has more nodes than max_nodes: too many to read, and slow for `dot` to lay out."""


# -- colours: Paul Tol's colour-blind-safe "light" scheme, pale enough for black text ----------

ROLE_FILL = {
    "input": "#99DDFF",  # light cyan
    "parameter": "#EEDD88",  # light yellow
    "constant": "#DDDDDD",  # pale grey
    "interior": "#FFFFFF",
    "output": "#FFAABB",  # pink
}
# Blame: white for no gradient up to orange for the largest |grad| (Tol's YlOrBr, its light half).
BLAME_RAMP = ("#FFFFFF", "#FFF7BC", "#FEE391", "#FEC44F", "#FB9A29", "#EC7014")
CURRENT, FINAL, PENDING = "#EE8866", "#44BB99", "#BBBBBB"  # step-through: running, done, waiting
INK, SOFT_INK = "#333333", "#999999"
POSITIVE, NEGATIVE = "#4477AA", "#EE6677"  # Tol's bright blue and red, for weights' signs

_GRAPH = 'fontname="Helvetica" fontsize=11 nodesep=0.3 labelloc=b labeljust=l'
_NODE = f'fontname="Helvetica" fontsize=11 shape=record style=filled color="{INK}" fontcolor="{INK}"'
_EDGE_COLOR, _EDGE_FONT = "#777777", "#555555"
_EDGE = f'fontname="Helvetica" fontsize=9 color="{_EDGE_COLOR}" fontcolor="{_EDGE_FONT}" arrowsize=0.6'
_OP = {"shape": "ellipse", "fillcolor": "#FFFFFF", "fontsize": "10", "width": "0.3", "height": "0.3"}


# -- the drawing's view of the graph -------------------------------------------------------------


@dataclass
class _Graph:
    """The nodes in topological order, their stable ids, roles, users, drawn scopes and boxes."""

    root: Node
    order: list[Node]
    ids: dict[Node, str]
    role: dict[Node, str]
    users: dict[Node, list[Node]]
    place: dict[Node, tuple[str, ...]] = field(default_factory=dict)
    boxes: list[_Box] = field(default_factory=list)  # collapse="neuron": one per innermost scope
    box_of: dict[Node, _Box] = field(default_factory=dict)


def _analyse(root: Node, params: set[Node] | None) -> _Graph:
    order = topo_order(root)
    # Ids are positions in topological order, which depends only on the graph: the same graph
    # gives the same text in every run (id() would not).
    ids = {node: f"n{i}" for i, node in enumerate(order)}
    users: dict[Node, list[Node]] = {node: [] for node in order}
    for node in order:
        for child in node._prev:
            users[child].append(node)
    role = {node: _role(node, root, params) for node in order}
    return _Graph(root, order, ids, role, users)


def _role(node: Node, root: Node, params: set[Node] | None) -> str:
    if node is root:
        return "output"
    if node._prev:
        return "interior"
    if not node.requires_grad:
        return "input" if node.label else "constant"
    return "parameter" if params is None or node in params else "input"


def _places(g: _Graph) -> dict[Node, tuple[str, ...]]:
    """The scope each value is drawn in: its own, or for a parameter or constant, its users'."""
    place = {node: scope_of(node) for node in g.order}
    # A neuron's weights are made before it is called, outside its scope: a leaf whose users all
    # sit in one scope is drawn there, so w and b appear in their neuron's box.
    for node in g.order:
        if not node._prev and not place[node] and g.role[node] in _JOINS_USERS:
            where = {place[user] for user in g.users[node]}
            if len(where) == 1:
                place[node] = where.pop()
    return place


_JOINS_USERS = ("parameter", "constant")  # roles of the leaves drawn in their users' scope


def _check_size(root: Node, params: set[Node] | None, opt: _Options) -> None:
    """Refuse a graph that would draw more than max_nodes nodes, reading at most max_nodes + 1 of them."""
    # Before any full traversal: refusing a million-value graph costs what drawing 300 values does.
    # Collapsed, a scope counts once and a leaf that may join its users' box not at all: a lower
    # bound, so this refuses no graph that fits; _prepare counts exactly once the graph is read.
    seen, stack = {root}, [root]
    scopes: set[tuple[str, ...]] = set()
    drawn = 0
    while stack:
        node = stack.pop()
        if not opt.collapse:
            drawn += 1
        elif path := scope_of(node):
            drawn += path not in scopes
            scopes.add(path)
        else:
            drawn += _role(node, root, params) not in _JOINS_USERS
        if drawn > opt.max_nodes:
            raise GraphTooLargeError(_too_large(opt))
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)


def _prepare(g: _Graph, opt: _Options) -> _Graph:
    """g with the scope each value is drawn in and, collapsed, its boxes; refused over max_nodes."""
    g.place = _places(g) if opt.clusters or opt.collapse else dict.fromkeys(g.order, ())
    if opt.collapse and not any(g.place.values()):
        raise ValueError(
            f'{opt.caller}: collapse="{opt.collapse}" draws each neuron as one box, but this graph has '
            "no scope tags: build it inside `with engine.tag_scopes():` (nn's Neuron and Layer tag "
            "their values then), or draw it without collapse"
        )
    g.boxes = _boxes(g) if opt.collapse else []
    g.box_of = {node: box for box in g.boxes for node in box.nodes}
    count = len(g.boxes) + len(g.order) - len(g.box_of)
    if count > opt.max_nodes:
        raise GraphTooLargeError(_too_large(opt, len(g.order), count))
    return g


# -- text ------------------------------------------------------------------------------------------


def _num(x: float, precision: int) -> str:
    """x with `precision` decimals; tiny and huge numbers in short scientific form, never 0.0000."""
    if x == 0.0:
        return f"{0.0:.{precision}f}"  # no "-0.0000"
    if not math.isfinite(x) or 10.0**-precision <= abs(x) < 1e6:
        return f"{x:.{precision}f}"
    return f"{x:.{max(precision, 1)}g}"


# What XML cannot hold (C0 controls, lone surrogates, U+FFFE/U+FFFF), and DEL and the C1 controls,
# which it can but nobody can see. Tab, newline and CR are whitespace: they become spaces.
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _visible(text: str) -> str:
    r"""text with tab, newline and CR as spaces, every other control character as Python writes it (\x00)."""
    return _UNSEEN.sub(lambda m: " " if m.group() in "\t\n\r" else repr(m.group())[1:-1], text)


def _record_text(text: str) -> str:
    r"""text as a literal in a record label: also its separators { } | < > escaped."""
    return re.sub(r"([{}|<>])", r"\\\1", _escape(text))


def _escape(text: str) -> str:
    """text in a DOT string: visible, \\ and quotes backslashed, & as an entity (graphviz decodes them)."""
    return _visible(text).replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")


def _html(text: str) -> str:
    """text in an HTML-like label or an HTML page: visible, with markup characters as entities."""
    return html.escape(_visible(text))


def _attrs(attrs: Attrs) -> str:
    """` [k="v" ...]`, for values escaped already (by _escape or _record_text)."""
    return " [" + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "]" if attrs else ""


def _name(node: Node, precision: int) -> str:
    """How formulas and legends call a value: its label, (op) for an unlabelled result, else its number."""
    return node.label or (f"({node._op})" if node._op else _num(node.data, precision))


def _subject(node: Node, precision: int) -> str:
    """How a caption calls a value it says something of: as _name does, a bare number bracketed."""
    name = _name(node, precision)
    return name if node.label or node._op else f"({name})"


# -- looks: how nodes and edges are coloured. Each variant of the drawing is a Look, not a copy ---


@dataclass
class _Look:
    """Colours by role, edges plain or labelled with local derivatives ∂out/∂input."""

    g: _Graph
    precision: int
    edge_labels: bool

    def grad(self, node: Node) -> float:
        return node.grad

    def fill(self, node: Node) -> Attrs:
        attrs = {"fillcolor": ROLE_FILL[self.g.role[node]]}
        if node is self.g.root:
            attrs["penwidth"] = "2"
        return attrs

    def op(self, node: Node) -> Attrs:
        return {}

    def edge(self, child: Node, node: Node, i: int) -> Attrs:
        """The edge's attributes; its label, if any, as shown (the statement escapes it)."""
        return self.derivative(node, i) if self.edge_labels else {}

    def derivative(self, node: Node, i: int) -> Attrs:
        """The label ∂node/∂input i, at the current values."""
        # Computed here, at drawing time: ops store no derivatives, so training pays nothing.
        d = node._backward(node)[i] if node._backward else 0.0
        return {"label": f" ∂ = {_num(d, self.precision)} "}

    def legend(self) -> list[tuple[str, ...]]:
        roles = dict.fromkeys(self.g.role[node] for node in self.g.order)
        return [(ROLE_FILL[role], role) for role in ROLE_FILL if role in roles]


@dataclass
class _BlameLook(_Look):
    """Fill strength follows |grad| relative to the largest: which values carry the blame."""

    largest: float = 0.0
    where: str = ""

    def __post_init__(self) -> None:
        graded = [node for node in self.g.order if node.requires_grad]
        if graded:
            top = max(graded, key=lambda node: abs(node.grad))
            self.largest, self.where = abs(top.grad), _name(top, self.precision)

    def fill(self, node: Node) -> Attrs:
        if not node.requires_grad:
            return {"fillcolor": "#FFFFFF", "style": "filled,dashed", "fontcolor": SOFT_INK}
        share = abs(node.grad) / self.largest if self.largest else 0.0
        return {"fillcolor": _ramp(share), "penwidth": "2" if node is self.g.root else "1"}

    def legend(self) -> list[tuple[str, ...]]:
        # where is a label, "(op)" for an unlabelled result, or a number: it brings its own brackets.
        top = f"|grad| as a share of the largest, {_num(self.largest, self.precision)} at {self.where}:"
        steps = [(_ramp(k / 4), f"{k * 25}%") for k in range(5)]
        constants = any(not node.requires_grad for node in self.g.order)
        return [("#FFFFFF", top), *steps, *([("#FFFFFF", "dashed: no grad")] if constants else [])]


def _ramp(share: float) -> str:
    """The blame colour for share in [0, 1], interpolated along BLAME_RAMP."""
    if not share > 0.0:  # 0 or NaN
        return BLAME_RAMP[0]
    pos = min(share, 1.0) * (len(BLAME_RAMP) - 1)
    i = min(int(pos), len(BLAME_RAMP) - 2)
    t = pos - i
    lo, hi = (bytes.fromhex(BLAME_RAMP[j][1:]) for j in (i, i + 1))
    return "#" + "".join(f"{round(a + (b - a) * t):02X}" for a, b in zip(lo, hi))


@dataclass
class _FrameLook(_Look):
    """One moment of a backward pass: the running op highlighted, final gradients marked."""

    step: BackwardStep[Node] | None = None  # None: no op running (the seed, or the finished pass)
    final: frozenset[Node] = frozenset()
    grads: dict[Node, float] = field(default_factory=dict)  # every gradient at this moment

    def grad(self, node: Node) -> float:
        return self.grads[node]

    def fill(self, node: Node) -> Attrs:
        if self.step is not None and node is self.step.node:
            return {"fillcolor": CURRENT, "penwidth": "2.5"}
        receiving = self.step is not None and any(node is c for c, _, _ in self.step.edges)
        border = {"color": CURRENT, "penwidth": "2.5"} if receiving else {}
        if node in self.final or not node.requires_grad:
            return {**super().fill(node), "color": FINAL, "penwidth": "2", **border}
        return {"fillcolor": "#F4F4F4", "fontcolor": SOFT_INK, "color": PENDING, **border}

    def op(self, node: Node) -> Attrs:
        if self.step is not None and node is self.step.node:
            return {"fillcolor": CURRENT, "penwidth": "2.5"}
        return {} if node in self.final else {"fontcolor": SOFT_INK, "color": PENDING}

    def edge(self, child: Node, node: Node, i: int) -> Attrs:
        if self.step is None or node is not self.step.node:
            return super().edge(child, node, i)
        return {**self.derivative(node, i), "color": CURRENT, "penwidth": "2.5", "fontcolor": INK}

    def legend(self) -> list[tuple[str, ...]]:
        return [
            (CURRENT, "running its local backward"),
            ("#FFFFFF", "gradient final", FINAL),
            ("#F4F4F4", "gradient not final yet", PENDING),
        ]


LOOKS: dict[str, type[_Look]] = {"role": _Look, "grad": _BlameLook}


# -- DOT text -------------------------------------------------------------------------------------


def to_dot(
    root: Node,
    *,
    params: Iterable[Node] | None = None,
    rankdir: str = "LR",
    precision: int = 4,
    fields: Sequence[str] = FIELDS,
    color_by: str = "role",
    edge_labels: bool = False,
    clusters: bool = True,
    collapse: str | None = None,
    legend: bool = True,
    max_nodes: int = 300,
    caption: Sequence[str] = (),
) -> str:
    """The graph behind root as DOT text: a record per value, a small node per op, edges in order.

    color_by="role" colours inputs, parameters, constants, interior values and the output (see the
    module docstring); color_by="grad" fills each value by its share of the largest |grad|.
    edge_labels=True labels each edge into an op with ∂out/∂input at the current values. Values
    made inside engine.scope() (with engine.tag_scopes() on) are drawn in labelled boxes;
    collapse="neuron" draws each innermost scope as one box. caption: lines of text above the legend.
    """
    require_node("to_dot", root)
    if not isinstance(caption, (list, tuple)) or not all(isinstance(line, str) for line in caption):
        raise TypeError(f"to_dot: caption must be a sequence of str lines, got {caption!r:.80}")
    options = _Options(rankdir, precision, tuple(fields), clusters, collapse, legend, max_nodes)
    if color_by not in LOOKS:
        raise ValueError(f"to_dot: color_by must be one of {', '.join(map(repr, LOOKS))}, got {color_by!r}")
    known = None if params is None else set(params)
    _check_size(root, known, options)
    g = _prepare(_analyse(root, known), options)
    return _dot(g, LOOKS[color_by](g, precision, edge_labels), options, caption)


@dataclass(frozen=True)
class _Options:
    rankdir: str = "LR"
    precision: int = 4
    fields: tuple[str, ...] = FIELDS
    clusters: bool = True
    collapse: str | None = None
    legend: bool = True
    max_nodes: int = 300
    caller: str = "to_dot"  # the public function the options were given to, for messages

    def __post_init__(self) -> None:
        if self.rankdir not in ("LR", "TB"):
            raise ValueError(f"{self.caller}: rankdir must be 'LR' or 'TB', got {self.rankdir!r}")
        if not set(self.fields) <= set(FIELDS):
            raise ValueError(f"{self.caller}: fields are chosen from {FIELDS}, got {self.fields!r}")
        if self.collapse not in (None, "neuron"):
            raise ValueError(f"{self.caller}: collapse must be None or 'neuron', got {self.collapse!r}")
        for name in ("precision", "max_nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{self.caller}: {name} must be a non-negative int, got {value!r}")


class _Stmt(NamedTuple):  # a tuple: a step-through makes one per node and edge per frame
    """A node or edge of the DOT text, and the text in it that a step-through frame may change."""

    name: str  # "n3", "n3_op", "g0", or for an edge "n3 -> n4_op"
    attrs: Attrs  # escaped already
    text: str = ""  # as shown: a value's grad field, an edge's label ("" for none)


_Members = dict[tuple[str, ...], list[_Stmt]]  # the statements drawn in each scope's cluster


def _statements(g: _Graph, look: _Look, opt: _Options) -> tuple[_Members, list[_Stmt]]:
    """What g draws, coloured by look: node statements by the scope they sit in, then the edges."""
    # The same nodes and edges in the same order whatever the look: frames differ in attributes only.
    members: _Members = {}  # () is outside every cluster
    for box in g.boxes:
        where = box.path[:-1] if opt.clusters else ()
        members.setdefault(where, []).append(_box_statement(box, g, look, opt, nested=bool(where)))
    edges: list[_Stmt] = []
    box_edges: dict[tuple[str, str], None] = {}  # between boxes, each drawn once
    for node in g.order:
        inside = g.box_of.get(node)
        if inside is not None:  # in a collapsed scope: only edges that cross its border
            for child in node._prev:
                source = _entity(child, g)
                if source != inside.id:
                    box_edges[(source, inside.id)] = None
            continue
        nid = g.ids[node]
        statements = members.setdefault(g.place[node], [])
        label, text = _record(node, look, opt)
        statements.append(_Stmt(nid, {"label": label, **look.fill(node)}, text))
        if node._prev:
            statements.append(_Stmt(f"{nid}_op", {"label": _escape(node._op), **_OP, **look.op(node)}))
            for i, child in enumerate(node._prev):  # `a + a`: two edges, one per use
                attrs = dict(look.edge(child, node, i))
                shown = attrs.pop("label", "")
                if shown:
                    attrs = {"label": _escape(shown), **attrs}
                edges.append(_Stmt(f"{_entity(child, g)} -> {nid}_op", attrs, shown))
            edges.append(_Stmt(f"{nid}_op -> {nid}", {}))
    edges.extend(_Stmt(f"{a} -> {b}", {}) for a, b in box_edges)
    return members, edges


def _dot(g: _Graph, look: _Look, opt: _Options, caption: Sequence[str] = ()) -> str:
    """The DOT text of g, coloured by look, with an optional caption above the legend."""
    members, edges = _statements(g, look, opt)
    return _format(members, edges, _graph_label(look, opt, caption), opt)


def _graph_label(look: _Look, opt: _Options, caption: Sequence[str]) -> str:
    return _legend(look.legend() if opt.legend else [], caption) if opt.legend or caption else ""


def _format(members: _Members, edges: Sequence[_Stmt], label: str, opt: _Options, ids: bool = False) -> str:
    """The DOT text of the statements; with ids, each node and edge names its SVG element (e0, e1...)."""

    def text(s: _Stmt, sid: str) -> str:
        return s.name + _attrs({**s.attrs, "id": sid} if ids else s.attrs)

    return _digraph(
        "backprop",
        opt.rankdir,
        label=label,
        members={path: [text(s, s.name) for s in stmts] for path, stmts in members.items()},
        edges=[text(s, f"e{k}") for k, s in enumerate(edges)],
        clusters=opt.clusters,
    )


def _digraph(
    name: str,
    rankdir: str,
    *,
    label: str,
    members: dict[tuple[str, ...], list[str]],
    edges: Sequence[str],
    clusters: bool = True,
    nodes: str = "",
    ranksep: float = 0.4,
) -> str:
    """The DOT text: the graph's defaults and legend, the statements in their clusters, the edges."""
    lines = [f"digraph {name} {{\n\tgraph [rankdir={rankdir} ranksep={ranksep} {_GRAPH}]\n"]
    if label:
        lines.append(f"\tgraph [label={label}]\n")
    lines.append(f"\tnode [{_NODE} {nodes}]\n\tedge [{_EDGE}]\n".replace(" ]", "]"))
    lines += _clusters(members, clusters)
    lines += [f"\t{e}\n" for e in edges]
    lines.append("}\n")
    return "".join(lines)


def _record(node: Node, look: _Look, opt: _Options) -> tuple[str, str]:
    """A value's record label (label | data | grad, no grad for a value that takes none), its grad field."""
    parts = []
    if "label" in opt.fields and node.label:
        parts.append(_record_text(node.label))
    if "data" in opt.fields:
        parts.append(f"data {_num(node.data, opt.precision)}")
    grad = ""
    if "grad" in opt.fields and node.requires_grad:
        grad = f"grad {_num(look.grad(node), opt.precision)}"
        parts.append(grad)
    return _record_label(parts or [" "], opt.rankdir), grad


def _record_label(parts: Sequence[str], rankdir: str) -> str:
    # A record lays its fields across the rank direction; braces turn them, so the fields read
    # left to right in either direction.
    body = " | ".join(parts)
    return f"{{ {body} }}" if rankdir == "LR" else body


def _clusters(members: dict[tuple[str, ...], list[str]], clusters: bool) -> list[str]:
    """Statements inside nested `subgraph cluster_k` blocks, one per scope path, in first-seen order."""
    paths = list(dict.fromkeys(p[:k] for p in members for k in range(1, len(p) + 1)))
    lines = [f"\t{s}\n" for s in members.get((), [])]
    if not clusters:
        return lines

    def emit(path: tuple[str, ...], depth: int) -> None:
        pad = "\t" * depth
        fill = "#F4F4F4" if len(path) % 2 else "#FFFFFF"  # nested boxes alternate, to stand out
        style = f'style="rounded,filled" fillcolor="{fill}" color="#AAAAAA" fontcolor="#555555"'
        lines.append(f"{pad}subgraph cluster_{paths.index(path)} {{\n")
        lines.append(f'{pad}\tgraph [label="{_escape(" · ".join(path))}" {style} labeljust=l]\n')
        lines.extend(f"{pad}\t{s}\n" for s in members.get(path, []))
        for inner in paths:
            if len(inner) == len(path) + 1 and inner[:-1] == path:
                emit(inner, depth + 1)
        lines.append(f"{pad}}}\n")

    for path in paths:
        if len(path) == 1:
            emit(path, 1)
    return lines


def _legend(items: Sequence[tuple[str, ...]], caption: Sequence[str]) -> str:
    """An HTML-like table for the graph label: caption lines, then swatches (fill, text[, border])."""
    span = max(len(items), 1)
    rows = [f'<tr><td align="left" border="0" colspan="{span}">{_html(c)}</td></tr>' for c in caption]
    if items:
        cells = ""
        for fill, text, *border in items:
            edge = f' color="{border[0]}" border="2"' if border else ""
            cells += f'<td bgcolor="{fill}"{edge}>{_html(text)}</td>'
        rows.append(f"<tr>{cells}</tr>")
    table = '<table border="0" cellborder="1" cellspacing="4" cellpadding="4" color="#AAAAAA">'
    return f"<{table}{''.join(rows)}</table>>"


def _too_large(opt: _Options, values: int | None = None, count: int | None = None) -> str:
    """Why a graph is refused (its exact size when known), and what to draw instead."""
    limit = f"max_nodes={opt.max_nodes}"
    if values is None:  # stopped counting at max_nodes + 1
        size = f"more than {limit} " + ("boxes and values even collapsed" if opt.collapse else "values")
    else:
        size = f"{values:,} values, {count:,} boxes and values even collapsed, more than {limit}"
    collapse = (
        ""
        if opt.collapse
        else '; or draw each neuron as one box with collapse="neuron" (for a graph built inside '
        "`with engine.tag_scopes():`)"
    )
    return (
        f"{opt.caller}: the graph has {size}: too many to read, and slow for dot to lay out. Draw the "
        f"graph of one example, or of one neuron, rather than a whole batch's loss{collapse}; "
        "or raise max_nodes"
    )


# -- collapse="neuron": each innermost scope drawn as one box ------------------------------------


@dataclass
class _Box:
    id: str
    path: tuple[str, ...]
    nodes: list[Node] = field(default_factory=list)


def _boxes(g: _Graph) -> list[_Box]:
    """A box per scope path that holds values, in order of their first value."""
    by_path: dict[tuple[str, ...], _Box] = {}
    for node in g.order:
        if g.place[node]:
            path = g.place[node]
            by_path.setdefault(path, _Box(f"g{len(by_path)}", path)).nodes.append(node)
    return list(by_path.values())


def _entity(node: Node, g: _Graph) -> str:
    box = g.box_of.get(node)
    return box.id if box else g.ids[node]


def _box_statement(box: _Box, g: _Graph, look: _Look, opt: _Options, nested: bool) -> _Stmt:
    """A collapsed scope: its name, how many values it holds, and its output's op, data and grad."""
    members = set(box.nodes)
    outputs = [n for n in box.nodes if n is g.root or any(u not in members for u in g.users[n])]
    name = box.path[-1] if nested else " · ".join(box.path)
    parts = [_record_text(name), f"{len(box.nodes)} values"]
    attrs: Attrs = {"fillcolor": "#FFFFFF"}
    grad = ""
    if len(outputs) == 1:
        out = outputs[0]
        parts.append(f"out {_record_text(out._op or out.label or 'value')}")
        parts.append(f"data {_num(out.data, opt.precision)}")
        if out.requires_grad:
            grad = f"grad {_num(look.grad(out), opt.precision)}"
            parts.append(grad)
        attrs = look.fill(out)
    else:
        parts.append(f"{len(outputs)} outputs")
    return _Stmt(box.id, {"label": _record_label(parts, opt.rankdir), **attrs, "style": "filled,bold"}, grad)


# -- step-through backward -------------------------------------------------------------------------


def _local_rule(node: Node, i: int, precision: int) -> str:
    """∂node/∂(input i) as engine.value.RULES writes it, in the drawn names of node's inputs and output."""
    rule = rule_of(node._op)
    if rule is None or i >= len(rule.formulas):
        return ""
    names = {name: _name(child, precision) for name, child in zip(rule.inputs, node._prev)}
    names["out"] = _name(node, precision)
    if rule is RULES["**n"]:  # a plain-number power, **2, **-1: n is in the op's symbol
        try:
            n = float(node._op[2:])
        except ValueError:
            return ""
        names.update({"n": f"{n:g}", "n - 1": f"{n - 1:g}"})
    return re.sub(r"\{([^}]*)\}", lambda m: names[m.group(1)], rule.formulas[i])


def _caption(step: BackwardStep[Node], k: int, n: int, grads: dict[Node, float], precision: int) -> list[str]:
    """The step in words: which op runs with which gradient, and what it adds to each input."""
    node, g = step.node, _num(step.upstream, precision)
    out = _subject(node, precision)
    lines = [f"step {k} of {n}: {node._op} runs its local backward with {out}.grad = {g}, final now"]
    # Edges are listed in input order, skipping inputs that take no gradient, so this pairs them.
    positions = [i for i, child in enumerate(node._prev) if child.requires_grad]
    for i, (child, d, added) in zip(positions, step.edges):
        name, local, rule = _subject(child, precision), _num(d, precision), _local_rule(node, i, precision)
        formula = f"{rule} = {local}" if rule and rule != local else local
        lines.append(
            f"{node._op}: ∂{out}/∂{name} = {formula} ; {name}.grad += {local} × {g}"
            f" = {_num(added, precision)} (now {_num(grads[child], precision)})"
        )
    return lines


def _seed_caption(g: _Graph, held: dict[Node, float], grad: float, precision: int) -> list[str]:
    seed = f"the seed: {_subject(g.root, precision)}.grad = ∂root/∂root = {_num(grad, precision)}"
    if not held:
        return [seed, "every other gradient starts this pass at 0"]
    names = [_subject(node, precision) for node in g.order if node in held]
    some = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return [
        seed,
        "every other gradient starts this pass at 0, but leaves add to what they hold, as in PyTorch:",
        f"{some} still {'holds' if len(names) == 1 else 'hold'} gradient from an earlier pass "
        "(call zero_grad() first to start from 0)",
    ]


@dataclass(frozen=True)
class _Frame:
    look: _FrameLook
    caption: list[str]


_FRAME_OPTIONS = (
    "params",
    "edge_labels",
    "rankdir",
    "precision",
    "fields",
    "clusters",
    "collapse",
    "legend",
    "max_nodes",
    "color_by",
)


def _frames(
    caller: str, root: Node, grad: float, options: dict[str, Any]
) -> tuple[_Graph, _Options, list[_Frame]]:
    """Runs backward(root, grad) one op at a time: the seed, a frame per op, and the finished pass."""
    require_node(caller, root)
    for name in options:
        if name not in _FRAME_OPTIONS:
            raise TypeError(f"{caller}: unknown option {name!r}; the options are {', '.join(_FRAME_OPTIONS)}")
    color_by = options.pop("color_by", "role")
    if color_by != "role":
        raise ValueError(
            f"{caller}: frames are coloured by their step (color_by='role' only), got {color_by!r}"
        )
    params = options.pop("params", None)
    known = None if params is None else set(params)
    edge_labels = bool(options.pop("edge_labels", False))
    opt = _Options(**options, caller=caller)
    _check_size(root, known, opt)
    g = _prepare(_analyse(root, known), opt)
    steps = backward_steps(root, grad)  # checks root and grad before anything is drawn
    # Leaves add this pass's gradient to what they held, as in PyTorch; every frame shows that sum.
    # (Tracked here, from what each step adds, in backward's order: the last frame equals .grad.)
    held = {node: node.grad for node in g.order if not node._prev and node.grad}
    this_pass = dict.fromkeys(g.order, 0.0)
    this_pass[root] = float(grad)

    def look(step: BackwardStep[Node] | None, final: Iterable[Node]) -> _FrameLook:
        grads = {node: held[node] + this_pass[node] if node in held else this_pass[node] for node in g.order}
        return _FrameLook(g, opt.precision, edge_labels, step, frozenset(final), grads)

    n = sum(1 for node in g.order if node._backward is not None)
    users_left = {node: len(set(g.users[node])) for node in g.order}
    final = {root}
    frames = [_Frame(look(None, final), _seed_caption(g, held, float(grad), opt.precision))]
    for k, step in enumerate(steps, start=1):
        for child, _, added in step.edges:
            this_pass[child] += added
        for child in set(step.node._prev):
            users_left[child] -= 1
            if users_left[child] == 0:  # its last user has run: nothing more can flow into it
                final.add(child)
        now = look(step, final)
        frames.append(_Frame(now, _caption(step, k, n, now.grads, opt.precision)))
    steps_run = f"{n} step{'' if n == 1 else 's'}"
    done = [f"done: every op has run its local backward ({steps_run}); every gradient is final"]
    if held:
        done.append("the leaves hold the gradient of this pass added to what they held before")
    frames.append(_Frame(look(None, g.order), done))
    return g, opt, frames


def frames_to_dot(root: Node, grad: float = 1.0, **options: Any) -> list[str]:
    """Runs backward(root, grad) one op at a time; the DOT text of the seed, of every step, and of the end.

    Each step's frame highlights the op whose local backward runs and the inputs it adds gradient
    to, gives a green border to the values whose gradient is final (all their users have run) and
    greys the rest; its caption says what happens. The last frame shows the finished pass, every
    gradient final. Leaves that held a gradient show it from the first frame on: the pass adds to it.
    """
    g, opt, frames = _frames("frames_to_dot", root, grad, options)
    return [_dot(g, frame.look, opt, frame.caption) for frame in frames]


def backward_frames(root: Node, grad: float = 1.0, **options: Any) -> list[graphviz.Digraph]:
    """frames_to_dot's frames as graphviz Digraphs (each displays inline in Jupyter)."""
    g, opt, frames = _frames("backward_frames", root, grad, options)
    return [_diagram(_dot(g, frame.look, opt, frame.caption), "svg") for frame in frames]


# -- the step-through page: one layout, and what changes from frame to frame ---------------------


@dataclass(frozen=True)
class StepThrough:
    """A backward pass as an HTML slider over one SVG drawing; displays inline in Jupyter."""

    fragment: str  # a <div> with the drawing, a caption per frame, its style and its script

    def __repr__(self) -> str:
        # Short: a notebook stores this text beside the HTML, which would otherwise double its size.
        frames = self.fragment.count('class="bpl-frame"')
        return f"<StepThrough: {frames} frames>"

    def _repr_html_(self) -> str:
        return self.fragment

    def page(self) -> str:
        """A self-contained HTML page: no network, no widgets."""
        return _PAGE.format(body=self.fragment)


def step_through(root: Node, grad: float = 1.0, **options: Any) -> StepThrough:
    """backward(root, grad) step by step behind a slider and previous/next buttons, frames_to_dot's frames."""
    return _step_through("step_through", root, grad, options)


def step_through_html(root: Node, grad: float = 1.0, **options: Any) -> str:
    """step_through(root, grad) as a self-contained HTML page (inline SVG, a few lines of plain JS)."""
    return _step_through("step_through_html", root, grad, options).page()


def _step_through(caller: str, root: Node, grad: float, options: dict[str, Any]) -> StepThrough:
    # Frames differ only in colours and a few numbers, so dot lays the graph out once and each
    # frame ships what changes from the one before: the page grows with values + steps, not with
    # their product (an SVG per frame took a minute and 70 MB for one example of a 2-8-7-1 MLP).
    g, opt, frames = _frames(caller, root, grad, options)
    drawn = [_statements(g, frame.look, opt) for frame in frames]
    keyed = [_keyed(*statements) for statements in drawn]
    layout, laid = _layout(drawn[0], keyed, _graph_label(frames[0].look, opt, ()), opt)
    paints, changes = _changes(keyed)
    first = {key: text for key, _, text in changes[0] if text != laid[key]}
    data = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in [paints, *changes]]
    captions = ["".join(f"<div>{_html(line)}</div>" for line in frame.caption) for frame in frames]
    key = hashlib.sha1("\n".join([layout, *data, *captions]).encode()).hexdigest()[:10]
    svg = _page_svg(_diagram(layout, "svg").pipe(encoding="utf-8"), f"bpl{key}", first)
    panels = "".join(
        f'<div class="bpl-frame"{"" if k == 0 else " hidden"} data-changes="{html.escape(change)}">'
        f"{caption}</div>\n"
        for k, (change, caption) in enumerate(zip(data[1:], captions))
    )
    last = len(frames) - 1
    controls = (
        '<div class="bpl-controls"><button type="button" data-bpl="prev">&#9664; previous</button> '
        f'<input type="range" min="0" max="{last}" value="0" step="1" data-bpl="slider" aria-label="step"> '
        '<button type="button" data-bpl="next">next &#9654;</button> '
        '<span data-bpl="count">the seed</span></div>\n'
    )
    box = (
        f'<div class="bpl-steps" id="bpl{key}" data-paints="{html.escape(data[0])}">\n<style>{_CSS}</style>\n'
        f'{controls}<div class="bpl-view">{svg}</div>\n{panels}</div>\n'
    )
    return StepThrough(f"{box}<script>{_JS}</script>\n")


def _layout(
    first: tuple[_Members, list[_Stmt]], frames: Sequence[dict[str, _Stmt]], label: str, opt: _Options
) -> tuple[str, dict[str, str]]:
    """The DOT text dot lays out once, with ids; the text it shows in each element that has one."""
    # Frame 0's statements, each text as wide as the widest any frame puts there, so none overflows.
    widest: dict[str, _Stmt] = {}
    for frame in frames:
        for key, s in frame.items():
            wide = widest.get(key)
            if s.text and (wide is None or (s.text != wide.text and _width(s.text) > _width(wide.text))):
                widest[key] = s
    keys = iter(frames[0])

    def laid_out(s: _Stmt) -> _Stmt:
        wide = widest.get(next(keys), s)
        return (
            s
            if wide.text == s.text
            else s._replace(attrs={**s.attrs, "label": wide.attrs["label"]}, text=wide.text)
        )

    members = {path: [laid_out(s) for s in stmts] for path, stmts in first[0].items()}
    edges = [laid_out(s) for s in first[1]]
    texts = {key: s.text for key, s in _keyed(members, edges).items()}
    return _format(members, edges, label, opt, ids=True), texts


_Change = tuple[str, int, str]  # (element id, paint number, text)


def _changes(frames: Sequence[dict[str, _Stmt]]) -> tuple[list[tuple[str, ...]], list[list[_Change]]]:
    """The paints, numbered, and per frame the elements that differ from the frame before.

    Frame 0 lists every element that changes in some frame, so the page can go back to it.
    """
    paints: dict[tuple[str, ...], int] = {}
    states = [
        {key: (paints.setdefault(_paint(key, s), len(paints)), s.text) for key, s in frame.items()}
        for frame in frames
    ]
    changing = [key for key, state in states[0].items() if any(st[key] != state for st in states)]
    changes = [[(key, *states[0][key]) for key in changing]]
    changes += [
        [(k, *now[k]) for k in now if now[k] != before[k]] for before, now in itertools.pairwise(states)
    ]
    return list(paints), changes


def _keyed(members: _Members, edges: Sequence[_Stmt]) -> dict[str, _Stmt]:
    """Statements by the id of their SVG element: a node's name, e0, e1... for edges (as _format gives)."""
    nodes = {s.name: s for stmts in members.values() for s in stmts}
    return {**nodes, **{f"e{k}": s for k, s in enumerate(edges)}}


def _paint(key: str, s: _Stmt) -> tuple[str, ...]:
    """(fill, line colour, line width, text colour) of a node or edge, its defaults filled in."""
    a = s.attrs
    if key.startswith("e"):  # an edge: its arrowhead is filled with its line colour
        return ("", a.get("color", _EDGE_COLOR), a.get("penwidth", "1"), a.get("fontcolor", _EDGE_FONT))
    width = a.get("penwidth", "2" if "bold" in a.get("style", "") else "1")
    return (a.get("fillcolor", "#FFFFFF"), a.get("color", INK), width, a.get("fontcolor", INK))


def _width(text: str) -> float:
    """Roughly how wide text is drawn, in ems of Helvetica: narrow . - and space, the rest like digits."""
    return sum(0.3 if c in " .-" else 0.56 for c in text)


_SVG = "http://www.w3.org/2000/svg"


def _page_svg(svg: str, prefix: str, texts: dict[str, str]) -> str:
    """dot's SVG for the page: no prolog or DOCTYPE (it names a URL), ids unique, frame 0's texts."""
    tree = ET.fromstring(svg)
    for element in tree.iter():
        element.tag = element.tag.removeprefix(f"{{{_SVG}}}")  # written back with one xmlns, below
    for element in tree.iter():
        key = element.get("id")
        if key is None:
            continue
        element.set("id", f"{prefix}_{key}")
        if key in texts:  # the layout holds the widest text: show frame 0's (as the script does)
            shown = element.findall("text")[0 if key.startswith("e") else -1]
            if texts[key]:
                shown.text = texts[key]
            else:
                shown.set("visibility", "hidden")
    tree.set("xmlns", _SVG)
    return ET.tostring(tree, encoding="unicode")


_CSS = (
    ".bpl-steps{font:14px Helvetica,Arial,sans-serif;color:#333}"
    ".bpl-controls{display:flex;gap:.5em;align-items:center;margin:.5em 0}"
    ".bpl-controls input{flex:1;max-width:30em}"
    ".bpl-view svg{max-width:100%;height:auto}"
    ".bpl-frame{margin:.25em 0;line-height:1.4}"
)
# Wires every step-through box on the page once, whichever cell's script runs first. The drawing
# shows frame 0; frame k is frame 0's state with the changes of frames 1..k applied. A change is
# [element id, paint number, text], a paint [fill, line colour, line width, text colour].
_JS = """
document.querySelectorAll(".bpl-steps").forEach(function (box) {
  if (box.dataset.ready) return;
  box.dataset.ready = "1";
  var frames = box.querySelectorAll(".bpl-frame"), at = 0, parts = {}, changes = [];
  var paints = JSON.parse(box.dataset.paints), prefix = box.id + "_";
  var slider = box.querySelector("[data-bpl=slider]"), count = box.querySelector("[data-bpl=count]");
  box.querySelectorAll("svg g[id]").forEach(function (g) { parts[g.id.slice(prefix.length)] = g; });
  function apply(change) {
    var g = parts[change[0]], p = paints[change[1]], text = change[2];
    var edge = g.getAttribute("class") === "edge", texts = g.querySelectorAll("text");
    g.querySelectorAll("polygon,ellipse,polyline,path").forEach(function (s) {
      var tag = s.tagName.toLowerCase();
      s.setAttribute("stroke", p[1]);
      s.setAttribute("stroke-width", p[2]);
      if (tag === "polygon" || tag === "ellipse") s.setAttribute("fill", edge ? p[1] : p[0]);
    });
    texts.forEach(function (t) { t.setAttribute("fill", p[3]); });
    var shown = texts[edge ? 0 : texts.length - 1];
    if (shown && text) shown.textContent = text;
    if (shown && edge) shown.style.visibility = text ? "visible" : "hidden";
  }
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = k >= at ? at + 1 : 0; i <= k; i++) {
      changes[i] = changes[i] || JSON.parse(frames[i].dataset.changes);
      changes[i].forEach(apply);
    }
    at = k;
    frames.forEach(function (f, i) { f.hidden = i !== at; });
    slider.value = at;
    // Frame 0 is the seed and the last the finished pass: the steps between are the ops, as captioned.
    var last = frames.length - 1;
    count.textContent = at === 0 ? "the seed" : at === last ? "done" : "step " + at + " of " + (last - 1);
  }
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  box.querySelector("[data-bpl=prev]").addEventListener("click", function () { show(at - 1); });
  box.querySelector("[data-bpl=next]").addEventListener("click", function () { show(at + 1); });
});
"""
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>backward, step by step</title></head>
<body>
{body}</body>
</html>
"""


# -- the network view ----------------------------------------------------------------------------


def mlp_to_dot(
    model: Any,
    *,
    show: str = "weight",
    precision: int = 2,
    rankdir: str = "LR",
    edge_labels: bool | None = None,
    max_nodes: int = 300,
) -> str:
    """An MLP drawn the classic way: inputs and neurons as circles in layers, weights as edges.

    An edge's width follows |w| (show="weight") or |∂C/∂w| (show="grad") relative to the largest,
    its colour the sign (blue +, red −); edge_labels (default: when there are at most 24 edges)
    writes the numbers on. A neuron shows its activation, bias, and δ = ∂C/∂z from its recorded
    pre-activations .zs: δ for one example, the mean δ and n for several; its fill follows |δ|.
    The model needs nn's shape: .layers, each with .neurons, each with .w, .b, .activation, .zs.
    """
    layers = _mlp_layers("mlp_to_dot", model)
    if show not in ("weight", "grad"):
        raise ValueError(f"mlp_to_dot: show must be 'weight' or 'grad', got {show!r}")
    _Options(rankdir, precision, max_nodes=max_nodes, caller="mlp_to_dot")  # the same checks as to_dot's
    count = len(layers[0][0].w) + sum(map(len, layers))
    if count > max_nodes:
        raise GraphTooLargeError(
            f"mlp_to_dot: the network has {count:,} inputs and neurons, more than max_nodes={max_nodes}; "
            "raise max_nodes (dot needs a while for thousands of edges)"
        )

    def amount(v: Node) -> float:
        return v.data if show == "weight" else v.grad

    symbol = "w" if show == "weight" else "∂C/∂w"
    largest = max(abs(amount(w)) for layer in layers for n in layer for w in n.w)
    deltas = {n: _delta(n) for layer in layers for n in layer}
    top_delta = max((abs(d[0]) for d in deltas.values() if d), default=0.0)
    if edge_labels is None:
        edge_labels = sum(len(n.w) for layer in layers for n in layer) <= 24
    previous = [f"x{i}" for i in range(len(layers[0][0].w))]
    title = 'shape=plaintext fontcolor="#555555" fillcolor=none'
    nodes = [f'inputs [label="inputs" {title}]']
    nodes += [f'{x} [label="{x}" fillcolor="{ROLE_FILL["input"]}" width=0.5]' for x in previous]
    nodes.append(_in_order(["inputs", *previous]))
    edges = []
    for li, layer in enumerate(layers):
        ids = [f"l{li}n{ni}" for ni in range(len(layer))]
        nodes.append(f'layer{li} [label="layer {li}" {title}]')
        for nid, neuron in zip(ids, layer):
            nodes.append(
                _neuron(
                    nid, neuron, amount(neuron.b), deltas[neuron], top_delta, show=show, precision=precision
                )
            )
            for src, w in zip(previous, neuron.w):
                v = amount(w)
                attrs = {"color": POSITIVE if v > 0 else NEGATIVE if v < 0 else PENDING}
                attrs["penwidth"] = f"{0.5 + 4.5 * abs(v) / largest if largest else 1.0:.2f}"
                edges.append(
                    f"{src} -> {nid}"
                    + _attrs({**attrs, "label": _num(v, precision)} if edge_labels else attrs)
                )
        nodes.append(_in_order([f"layer{li}", *ids]))
        previous = ids
    nodes += [f'out{k} [label="out {k}" shape=plaintext]' for k in range(len(previous))]
    edges += [f"{src} -> out{k}" for k, src in enumerate(previous)]
    legend = [(POSITIVE, f"{symbol} > 0"), (NEGATIVE, f"{symbol} < 0")]
    legend.append(("#FFFFFF", f"edge width ∝ |{symbol}|, largest {_num(largest, precision)}"))
    if top_delta:
        fill = f"fill ∝ |δ| (mean δ over the examples), δ = ∂C/∂z, largest {_num(top_delta, precision)}"
        legend.append((_ramp(1.0), fill))
    circles = 'shape=circle fixedsize=true width=0.95 fillcolor="#FFFFFF"'
    label = _legend(legend, [])
    return _digraph("mlp", rankdir, label=label, members={(): nodes}, edges=edges, nodes=circles, ranksep=1.1)


def _neuron(
    nid: str, neuron: Any, b: float, delta: tuple[float, int] | None, top: float, *, show: str, precision: int
) -> str:
    """A neuron's circle: activation, bias (or its gradient), δ; filled by its share of |δ|."""
    rows = [f'<font point-size="11"><b>{_html(str(neuron.activation))}</b></font>']
    rows.append(f"{'b' if show == 'weight' else '∂C/∂b'} {_num(b, precision)}")
    fill = "#FFFFFF"
    if delta:
        d, k = delta
        rows.append(f"δ {_num(d, precision)}" if k == 1 else f"mean δ {_num(d, precision)}<br/>n = {k}")
        fill = _ramp(abs(d) / top) if top else fill
    label = '<font point-size="9">' + "<br/>".join(rows) + "</font>"
    return f'{nid} [label=<{label}> fillcolor="{fill}"]'


def _in_order(ids: Sequence[str]) -> str:
    # One rank, chained by invisible edges, so that dot keeps x0, x1... in order, top to bottom.
    # (dot ignores such chains inside clusters, so the network view draws no cluster boxes.)
    return f"{{rank=same; {' '.join(ids)}; {' -> '.join(ids)} [style=invis]}}"


def _mlp_layers(caller: str, model: Any) -> list[list[Any]]:
    """model.layers[i].neurons, checked for the nn interface the network view relies on."""
    need = (
        f"{caller}: needs a model shaped like nn's MLP (.layers, each with .neurons, each with .w, a "
        "list of Values, .b, .activation and .zs)"
    )
    if model is None:
        raise TypeError(f"{need}, got None")
    if hasattr(model, "_prev") and hasattr(model, "_backward"):
        raise TypeError(
            f"{need}, got a {type(model).__name__}: draw the graph of a Value with draw_dot or to_dot"
        )
    if isinstance(model, (list, tuple)):
        raise TypeError(f"{need}, got a {type(model).__name__} of {len(model)}: draw one model at a time")
    if isinstance(model, (numbers.Number, str, bytes)):
        raise TypeError(f"{need}, got {type(model).__name__} {model!r:.60}")
    try:
        layers = [list(layer.neurons) for layer in model.layers]
        for layer in layers:
            for n in layer:
                n.b.data, n.activation  # noqa: B018  # attribute checks
                for w in n.w:
                    w.data, w.grad  # noqa: B018
    except (AttributeError, TypeError) as err:
        name = getattr(err, "name", None)
        missing = f"has no .{name}" if name else f"does not fit: {err}"
        raise TypeError(f"{need}, but this {type(model).__name__} {missing}") from None
    if not layers or not all(layers):
        raise ValueError(f"{caller}: the model has no layers or a layer without neurons")
    if not all(n.w for n in layers[0]):
        raise ValueError(f"{caller}: the first layer's neurons have no weights, so the network has no inputs")
    return layers


def _delta(neuron: Any) -> tuple[float, int] | None:
    """(δ = ∂C/∂z, 1) for one recorded example, (mean δ, n) for n, None when nothing was recorded."""
    zs = list(getattr(neuron, "zs", ()))
    return (sum(z.grad for z in zs) / len(zs), len(zs)) if zs else None


def draw_mlp(model: Any, format: str = "svg", **options: Any) -> graphviz.Digraph:
    """mlp_to_dot(model, **options) as a graphviz Digraph: inline in Jupyter, or .render(path)."""
    _mlp_layers("draw_mlp", model)
    return _diagram(mlp_to_dot(model, **options), format)


# -- rendering: the only place graphviz is imported ---------------------------------------------


def draw_dot(root: Node, format: str = "svg", **options: Any) -> graphviz.Digraph:
    """to_dot(root, **options) as a graphviz Digraph: inline in Jupyter, or .render(path)."""
    require_node("draw_dot", root)
    return _diagram(to_dot(root, **options), format)


_NO_DOT = (
    "graphviz's `dot` program is not installed or not on PATH, so the diagram cannot be rendered. "
    "On Debian/Ubuntu: sudo apt-get install graphviz (macOS: brew install graphviz). "
    "The DOT text needs no program: to_dot(), or the diagram's .source"
)


def _graphviz() -> ModuleType:
    try:
        import graphviz  # noqa: PLC0415  # lazily: to_dot and the engine work without it
    except ImportError:  # a test sets sys.modules["graphviz"] = None to get here
        raise ImportError(
            "drawing needs the graphviz Python package: pip install graphviz "
            "(to_dot() gives the DOT text without it)"
        ) from None
    module: ModuleType = graphviz
    return module


@contextmanager
def _dot_program(gv: ModuleType) -> Iterator[None]:
    try:
        yield
    except gv.ExecutableNotFound as err:
        raise GraphvizNotFoundError(_NO_DOT) from err


def _diagram(text: str, format: str) -> graphviz.Digraph:
    """A Digraph holding exactly text (its .source), whose rendering explains a missing `dot`."""
    head, body = text.split("\n", 1)  # "digraph <name> {", then the statements and "}"
    diagram = _diagram_class(_graphviz())(name=head.split()[1], format=format)
    diagram.body = body[: -len("}\n")].splitlines(keepends=True)
    return diagram


@functools.cache
def _diagram_class(gv: ModuleType) -> Any:
    class Diagram(gv.Digraph):  # type: ignore[misc, name-defined]
        """A graphviz.Digraph whose rendering says how to install `dot` when it is missing."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            with _dot_program(gv):
                return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            with _dot_program(gv):
                return super().render(*args, **kwargs)

        def __repr__(self) -> str:
            # No memory address: a notebook that draws the same graph again stores the same text.
            return f"<graphviz diagram {self.name!r}: {len(self.body)} lines of DOT>"

    return Diagram
