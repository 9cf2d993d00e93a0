"""Lane graphs drawn readably: each lane value seen at one example, or as its mean over the lanes.

A lane value holds one number per example (see engine.value); drawing it whole would be a wall of
arrays. The drawings read a view of the graph instead: the same nodes, ops and edges, each lane
value showing its data and grad at `example` (or, with example=None, their means), the scalars
(parameters, the loss) as they are. A parameter's grad is the sum of every example's share, so the
caption says so; the rest of engine.draw reads the view through the node interface, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..graph import BackwardStep, Node, topo_order
from ..modes import scope_of

Pick = Callable[[Any], Any]  # a float as is; an array of lanes at one example, or its mean


class Seen:
    """A node as drawn: a lane value at one example (or its mean over the lanes), a scalar as it is."""

    __slots__ = ("_pick", "_prev", "lanes", "real")

    def __init__(self, real: Node, prev: tuple[Seen, ...], pick: Pick) -> None:
        self.real = real
        self._prev = prev
        self._pick = pick
        data = real.data
        self.lanes: int | None = len(data) if isinstance(data, np.ndarray) else None

    @property
    def data(self) -> float:
        """The value's number at the chosen example (a scalar's own number)."""
        shown: float = self._pick(self.real.data)
        return shown

    @property
    def grad(self) -> float:
        """The gradient at the chosen example (a parameter's own: the sum over every example)."""
        shown: float = self._pick(self.real.grad)
        return shown

    @property
    def label(self) -> str:
        return self.real.label

    @property
    def requires_grad(self) -> bool:
        return self.real.requires_grad

    @property
    def _op(self) -> str:
        return self.real._op

    @property
    def _scope(self) -> tuple[str, ...]:
        return scope_of(self.real)

    @property
    def _backward(self) -> Callable[..., tuple[float, ...]] | None:
        rule, real, pick = self.real._backward, self.real, self._pick
        if rule is None:
            return None
        # ∂out/∂input at the chosen example: the rule runs on the real node, its lanes are picked.
        return lambda _out, g=1.0: tuple(pick(d) for d in rule(real, g))


def picker(example: int | None) -> Pick:
    """What a drawing shows of a number: a float as is; lanes at example, or their mean for None."""

    def pick(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            return x
        return float(x[example]) if example is not None else float(np.mean(x))

    return pick


def lane_count(root: Node) -> int | None:
    """The number of lanes of root's graph (None if every value is a scalar)."""
    for node in topo_order(root):
        if isinstance(node.data, np.ndarray):
            return len(node.data)
    return None


def check_example(caller: str, example: object, lanes: int | None) -> None:
    """example must be None or a lane index of the graph; a graph without lanes takes None only."""
    if example is None:
        return
    if isinstance(example, bool) or not isinstance(example, (int, np.integer)):
        raise TypeError(f"{caller}: example must be an int (a lane index) or None, got {example!r:.60}")
    if lanes is None:
        raise ValueError(
            f"{caller}: example={example} picks one example of a lane graph, but this graph has no lanes"
        )
    if not 0 <= example < lanes:
        raise ValueError(f"{caller}: example must be a lane index in 0..{lanes - 1}, got {example}")


def view(root: Node, example: int | None) -> tuple[Any, dict[Node, Any]]:
    """root's graph seen at example (None: lane means): the new root and each real node's view."""
    pick = picker(example)
    seen: dict[Node, Seen] = {}
    for node in topo_order(root):  # inputs first, so each view's inputs exist
        seen[node] = Seen(node, tuple(seen[child] for child in node._prev), pick)
    # The view reads like a Node (data, grad, label, _prev, _op, _backward), read-only: typed Any.
    return seen[root], dict(seen)


def seen_steps(steps: Iterable[BackwardStep[Node]], seen: dict[Node, Node], pick: Pick) -> Any:
    """backward_steps of the real graph, as the view shows them: nodes viewed, lanes picked.

    A scalar input of a lane op (a parameter) gets the sum over every lane: its amount is that sum,
    as backward adds it; the caption shows the chosen example's share beside it.
    """
    for step in steps:
        edges = tuple(
            (seen[child], pick(d), float(np.sum(added)) if _sums(child, added) else pick(added))
            for child, d, added in step.edges
        )
        yield BackwardStep(seen[step.node], pick(step.upstream), edges)


def _sums(child: Node, added: Any) -> bool:
    return isinstance(added, np.ndarray) and not isinstance(child.data, np.ndarray)


def caption(lanes: int, example: int | None) -> list[str]:
    """The lines a lane graph's drawing carries: what its numbers are (two: one ran wider than a column)."""
    shown = f"example {example} of {lanes}" if example is not None else f"the mean over the {lanes} examples"
    return [
        f"rounded: lane values (one per example), shown at {shown};",
        f"a parameter's grad is the sum of all {lanes} examples' shares",
    ]
