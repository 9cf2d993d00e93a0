"""The drawing's view of a graph: node ids, roles, scopes and collapsed boxes; options and size limits."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from ..graph import Node, topo_order
from ..modes import scope_of

FIELDS = ("label", "data", "grad")


class GraphTooLargeError(ValueError):
    """The graph has more nodes than max_nodes: too many to read, and slow for `dot` to lay out."""


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
    if params is not None and node in params:
        # Named a parameter, yet takes no gradient: frozen (nn.freezing sets requires_grad = False).
        # Only params can say so: a node does not know it is a parameter, and a frozen weight
        # is, to the graph, a labelled leaf without grad like an input x0.
        return "parameter" if node.requires_grad else "frozen"
    if not node.requires_grad:
        return "input" if node.label else "constant"
    return "parameter" if params is None else "input"


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


_JOINS_USERS = ("parameter", "frozen", "constant")  # roles of the leaves drawn in their users' scope


def _check_size(root: Node, params: set[Node] | None, opt: Options) -> None:
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


def _prepare(g: _Graph, opt: Options) -> _Graph:
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


@dataclass(frozen=True)
class Options:
    rankdir: str = "auto"
    precision: int = 4
    fields: tuple[str, ...] = FIELDS
    clusters: bool = True
    collapse: str | None = None
    legend: bool = True
    max_nodes: int = 300
    caller: str = "to_dot"  # the public function the options were given to, for messages

    def __post_init__(self) -> None:
        if self.rankdir not in ("auto", "LR", "TB"):
            raise ValueError(f"{self.caller}: rankdir must be 'auto', 'LR' or 'TB', got {self.rankdir!r}")
        if not set(self.fields) <= set(FIELDS):
            raise ValueError(f"{self.caller}: fields are chosen from {FIELDS}, got {self.fields!r}")
        if self.collapse not in (None, "neuron"):
            raise ValueError(f"{self.caller}: collapse must be None or 'neuron', got {self.collapse!r}")
        for name in ("precision", "max_nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{self.caller}: {name} must be a non-negative int, got {value!r}")


def _too_large(opt: Options, values: int | None = None, count: int | None = None) -> str:
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


# How wide a drawing is, roughly, in points: a level of values drawn left to right takes a card,
# its op and two gaps; a value side by side with others at its level, a card and a gap.
_LEVEL_ACROSS, _CARD_ACROSS = 170, 110


def _resolve(g: _Graph, opt: Options) -> Options:
    """opt with rankdir="auto" made "TB" or "LR": the direction in which g is drawn narrower."""
    # A notebook scrolls down, not across: a chain of values reads best top to bottom, and a
    # broad, shallow graph (neurons collapsed to boxes, layer by layer) left to right.
    if opt.rankdir != "auto":
        return opt
    level: dict[str, int] = {}
    for node in g.order:  # longest path from the leaves, counted in values (boxes) drawn
        me = _entity(node, g)
        below = (level[_entity(c, g)] + 1 for c in node._prev if _entity(c, g) != me)
        level[me] = max([level.get(me, 0), *below])
    for node in g.order:  # dot draws a leaf just before its first user, not at the far left
        if not node._prev and node not in g.box_of and g.users[node]:
            level[g.ids[node]] = max(min(level[_entity(u, g)] for u in g.users[node]) - 1, 0)
    depth, breadth = max(level.values()) + 1, max(Counter(level.values()).values())
    return replace(opt, rankdir="TB" if breadth * _CARD_ACROSS < depth * _LEVEL_ACROSS else "LR")


def _natural(path: tuple[str, ...]) -> tuple[tuple[str | int, ...], ...]:
    """A sort key for scope paths with numbers in order: "neuron 2" before "neuron 10"."""
    # re.split with a group alternates text and digits: text meets text, int meets int.
    return tuple(
        tuple(int(t) if k % 2 else t for k, t in enumerate(re.split(r"(\d+)", name))) for name in path
    )


def _entity(node: Node, g: _Graph) -> str:
    box = g.box_of.get(node)
    return box.id if box else g.ids[node]
