"""DOT text of a graph: a record per value, a small node per op, edges in order, scopes as clusters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from ..graph import Node, require_node
from .lanes import caption as lanes_caption
from .lanes import check_example, lane_count, view
from .looks import _EDGE_COLOR, _EDGE_FONT, INK, LOOKS, _Look
from .text import Attrs, dot_attrs, dot_text, html_text, number, record_text
from .view import FIELDS, Options, _analyse, _Box, _check_size, _entity, _Graph, _natural, _prepare, _resolve

# mclimit: dot's crossing reduction, cut short, keeps the order the nodes are declared in (see
# _clusters), where its longer search would swap equal-looking neurons of a layer at random.
_GRAPH = 'fontname="Helvetica" fontsize=11 nodesep=0.3 mclimit=0.01 labelloc=b labeljust=l'
_NODE = f'fontname="Helvetica" fontsize=11 shape=record style=filled color="{INK}" fontcolor="{INK}"'
_EDGE = f'fontname="Helvetica" fontsize=9 color="{_EDGE_COLOR}" fontcolor="{_EDGE_FONT}" arrowsize=0.6'
_OP = {"shape": "ellipse", "fillcolor": "#FFFFFF", "fontsize": "10", "width": "0.3", "height": "0.3"}


def to_dot(
    root: Node,
    *,
    params: Iterable[Node] | None = None,
    rankdir: str = "auto",
    precision: int = 4,
    fields: Sequence[str] = FIELDS,
    color_by: str = "role",
    edge_labels: bool = False,
    clusters: bool = True,
    collapse: str | None = None,
    legend: bool = True,
    max_nodes: int = 300,
    caption: Sequence[str] = (),
    example: int | None = None,
) -> str:
    """The graph behind root as DOT text: a record per value, a small node per op, edges in order.

    color_by="role" colours inputs, parameters, constants, interior values and the output (see the
    module docstring); color_by="grad" fills each value by its share of the largest |grad|.
    edge_labels=True labels each edge into an op with ∂out/∂input at the current values. Values
    made inside engine.scope() (with engine.tag_scopes() on) are drawn in labelled boxes;
    collapse="neuron" draws each innermost scope as one box. caption: lines of text above the legend.
    rankdir="auto" draws top to bottom ("TB") or left to right ("LR"), whichever is narrower.
    A lane graph (values holding one number per example) shows each lane value at `example`, or
    with example=None its mean over the lanes, drawn with rounded corners.
    """
    require_node("to_dot", root)
    if not isinstance(caption, (list, tuple)) or not all(isinstance(line, str) for line in caption):
        raise TypeError(f"to_dot: caption must be a sequence of str lines, got {caption!r:.80}")
    options = Options(rankdir, precision, tuple(fields), clusters, collapse, legend, max_nodes)
    if color_by not in LOOKS:
        raise ValueError(f"to_dot: color_by must be one of {', '.join(map(repr, LOOKS))}, got {color_by!r}")
    known = None if params is None else set(params)
    _check_size(root, known, options)
    lanes = lane_count(root)
    check_example("to_dot", example, lanes)
    if lanes is not None:  # drawn through a view that shows each lane value at one example (or its mean)
        root, seen = view(root, example)
        known = None if known is None else {seen[p] for p in known if p in seen}
        caption = [*caption, *lanes_caption(lanes, example)]
    g = _prepare(_analyse(root, known), options)
    options = _resolve(g, options)
    return _dot(g, LOOKS[color_by](g, precision, edge_labels), options, caption)


class _Stmt(NamedTuple):  # a tuple: a step-through makes one per node and edge per frame
    """A node or edge of the DOT text, and the text in it that a step-through frame may change."""

    name: str  # "n3", "n3_op", "g0", or for an edge "n3 -> n4_op"
    attrs: Attrs  # escaped already
    text: str = ""  # as shown: a value's grad field, an edge's label ("" for none)


_Members = dict[tuple[str, ...], list[_Stmt]]  # the statements drawn in each scope's cluster


def _statements(g: _Graph, look: _Look, opt: Options) -> tuple[_Members, list[_Stmt]]:
    """What g draws, coloured by look: node statements by the scope they sit in, then the edges."""
    # The same nodes and edges in the same order whatever the look: frames differ in attributes only.
    members: _Members = {}  # () is outside every cluster
    boxes = sorted(g.boxes, key=lambda box: _natural(box.path), reverse=opt.rankdir == "TB")  # see _clusters
    for box in boxes:
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
        rounded = {"shape": "Mrecord"} if getattr(node, "lanes", None) else {}  # a lane value
        statements.append(_Stmt(nid, {"label": label, **look.fill(node), **rounded}, text))
        if node._prev:
            statements.append(_Stmt(f"{nid}_op", {"label": dot_text(node._op), **_OP, **look.op(node)}))
            for i, child in enumerate(node._prev):  # `a + a`: two edges, one per use
                attrs = dict(look.edge(child, node, i))
                shown = attrs.pop("label", "")
                if shown:
                    attrs = {"label": dot_text(shown), **attrs}
                if opt.clusters and opt.rankdir == "TB" and _crosses(child, node, g):
                    # A leaf (a constant: a frozen neuron's output) keeps no rank of its own: it
                    # sits at the top of its box, not pulled down beside the next one.
                    attrs |= {"minlen": "2"} if child._prev else {"constraint": "false"}
                edges.append(_Stmt(f"{_entity(child, g)} -> {nid}_op", attrs, shown))
            edges.append(_Stmt(f"{nid}_op -> {nid}", {}))
    edges.extend(_Stmt(f"{a} -> {b}", {}) for a, b in box_edges)
    return members, edges


def _crosses(child: Node, node: Node, g: _Graph) -> bool:
    """Whether the edge child -> node leads from one top-level scope's box into another's."""
    # Drawn top to bottom, such an edge spans two ranks, not one, so the next box's weights (a
    # rank above their op) sit below the box before, not beside it: otherwise the boxes overlap
    # by a rank and dot places them side by side, a layer right of the last (twice as wide).
    inside, before = g.place[node], g.place.get(child) or ()
    return bool(inside and before) and inside[0] != before[0]


def _dot(g: _Graph, look: _Look, opt: Options, caption: Sequence[str] = ()) -> str:
    """The DOT text of g, coloured by look, with an optional caption above the legend."""
    members, edges = _statements(g, look, opt)
    return _format(members, edges, _graph_label(look, opt, caption), opt)


def _graph_label(look: _Look, opt: Options, caption: Sequence[str]) -> str:
    if not opt.legend:
        return legend([], caption) if caption else ""
    return legend(look.legend(), [*caption, *look.title()])


def _format(members: _Members, edges: Sequence[_Stmt], label: str, opt: Options, ids: bool = False) -> str:
    """The DOT text of the statements; with ids, each node and edge names its SVG element (e0, e1...)."""

    def text(s: _Stmt, sid: str) -> str:
        return s.name + dot_attrs({**s.attrs, "id": sid} if ids else s.attrs)

    return digraph(
        "backprop",
        opt.rankdir,
        label=label,
        members={path: [text(s, s.name) for s in stmts] for path, stmts in members.items()},
        edges=[text(s, f"e{k}") for k, s in enumerate(edges)],
        clusters=opt.clusters,
    )


def digraph(
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
    lines += _clusters(members, clusters, last_first=rankdir == "TB")
    lines += [f"\t{e}\n" for e in edges]
    lines.append("}\n")
    return "".join(lines)


def _record(node: Node, look: _Look, opt: Options) -> tuple[str, str]:
    """A value's record label (label | data | grad, no grad for a value that takes none), its grad field."""
    parts = []
    if "label" in opt.fields and node.label:
        parts.append(record_text(node.label))
    if "data" in opt.fields:
        parts.append(f"data {number(node.data, opt.precision)}")
    grad = ""
    if "grad" in opt.fields and node.requires_grad:
        grad = f"grad {number(look.grad(node), opt.precision)}"
        parts.append(grad)
    return _record_label(parts or [" "], opt.rankdir), grad


def _record_label(parts: Sequence[str], rankdir: str) -> str:
    # A record lays its fields across the rank direction; braces turn them. Stacked (label over
    # data over grad) in either direction, a value is a narrow card, so a graph fits a notebook
    # column: side by side, the fields made each value ~150 pt wide and a 12-value chain 2,000 pt.
    body = " | ".join(parts)
    return body if rankdir == "LR" else f"{{ {body} }}"


def _clusters(members: dict[tuple[str, ...], list[str]], clusters: bool, last_first: bool) -> list[str]:
    """Statements inside nested `subgraph cluster_k` blocks, one per scope path, in order of their names."""
    # Siblings in their names' order. dot, its crossing search cut short (mclimit, see _GRAPH),
    # keeps the order it first builds, in which the last declared sibling comes out leftmost; an
    # LR drawing is laid out as TB and turned, the first declared on top. So declared in reverse
    # for TB, "neuron 0", "neuron 1"... are drawn in index order, left to right or top down (as
    # measured: tests/test_draw.py, nets built in any order).
    found = dict.fromkeys(p[:k] for p in members for k in range(1, len(p) + 1))
    paths = sorted(found, key=_natural, reverse=last_first)
    number = {path: k for k, path in enumerate(sorted(found, key=_natural))}  # cluster_0 is the first name
    lines = [f"\t{s}\n" for s in members.get((), [])]
    if not clusters:
        return lines

    def emit(path: tuple[str, ...], depth: int) -> None:
        pad = "\t" * depth
        fill = "#F4F4F4" if len(path) % 2 else "#FFFFFF"  # nested boxes alternate, to stand out
        style = f'style="rounded,filled" fillcolor="{fill}" color="#AAAAAA" fontcolor="#555555"'
        lines.append(f"{pad}subgraph cluster_{number[path]} {{\n")
        lines.append(f'{pad}\tgraph [label="{dot_text(" · ".join(path))}" {style} labeljust=l]\n')
        lines.extend(f"{pad}\t{s}\n" for s in members.get(path, []))
        for inner in paths:
            if len(inner) == len(path) + 1 and inner[:-1] == path:
                emit(inner, depth + 1)
        lines.append(f"{pad}}}\n")

    for path in paths:
        if len(path) == 1:
            emit(path, 1)
    return lines


_LEGEND_ROW = 100  # characters of swatch text in one row of a legend: about 600 pt, within a column
_ROW = 'border="0" cellborder="1" cellspacing="4" cellpadding="4" color="#AAAAAA"'


def legend(items: Sequence[tuple[str, ...]], caption: Sequence[str]) -> str:
    """An HTML-like table for the graph label: caption lines, then swatches (fill, text[, border, style]).

    Swatches that would run wider than a notebook column go on as many rows as they need.
    """
    cells = []
    for fill, text, *border in items:
        edge = f' color="{border[0]}" border="2"' if border else ""
        edge += f' style="{border[1]}"' if len(border) > 1 else ""
        cells.append((len(text) + 4, f'<td bgcolor="{fill}"{edge}>{html_text(text)}</td>'))
    rows: list[list[str]] = []
    used = _LEGEND_ROW
    for width, cell in cells:
        if used + width > _LEGEND_ROW:
            rows.append([])
            used = 0
        rows[-1].append(cell)
        used += width
    span = max(len(cells), 1) if len(rows) <= 1 else 1
    lines = [f'<tr><td align="left" border="0" colspan="{span}">{html_text(c)}</td></tr>' for c in caption]
    if len(rows) == 1:
        lines.append(f"<tr>{''.join(rows[0])}</tr>")
    for row in rows if len(rows) > 1 else []:  # a table per row, so no row stretches another's cells
        inner = f"<table {_ROW}><tr>{''.join(row)}</tr></table>"
        lines.append(f'<tr><td align="left" border="0" cellpadding="0">{inner}</td></tr>')
    table = '<table border="0" cellborder="1" cellspacing="4" cellpadding="4" color="#AAAAAA">'
    return f"<{table}{''.join(lines)}</table>>"


def _box_statement(box: _Box, g: _Graph, look: _Look, opt: Options, nested: bool) -> _Stmt:
    """A collapsed scope: its name, how many values it holds, and its output's op, data and grad."""
    members = set(box.nodes)
    outputs = [n for n in box.nodes if n is g.root or any(u not in members for u in g.users[n])]
    name = box.path[-1] if nested else " · ".join(box.path)
    count = len(box.nodes)
    parts = [record_text(name), f"{count} value" if count == 1 else f"{count} values"]
    attrs: Attrs = {"fillcolor": "#FFFFFF"}
    grad = ""
    if len(outputs) == 1:
        out = outputs[0]
        parts.append(f"out {record_text(out._op or out.label or 'value')}")
        parts.append(f"data {number(out.data, opt.precision)}")
        if out.requires_grad:
            grad = f"grad {number(look.grad(out), opt.precision)}"
            parts.append(grad)
        attrs = look.fill(out)
    else:
        parts.append(f"{len(outputs)} outputs")
    return _Stmt(box.id, {"label": _record_label(parts, opt.rankdir), **attrs, "style": "filled,bold"}, grad)
