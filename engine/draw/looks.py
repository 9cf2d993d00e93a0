"""Colour schemes: how nodes and edges are coloured. Each variant of the drawing is a Look, not a copy."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Node
from ..modes import scope_of
from .text import Attrs, number, value_name
from .view import _Graph

# Paul Tol's colour-blind-safe "light" scheme, pale enough for black text.
ROLE_FILL = {
    "input": "#99DDFF",  # light cyan
    "parameter": "#EEDD88",  # light yellow
    "frozen": "#F7F0CF",  # the parameters' yellow, paled, with a dashed border: a parameter not trained
    "constant": "#DDDDDD",  # pale grey
    "interior": "#FFFFFF",
    "output": "#FFAABB",  # pink
}
# Blame: white for no gradient up to orange for the largest |grad| (Tol's YlOrBr, its light half).
BLAME_RAMP = ("#FFFFFF", "#FFF7BC", "#FEE391", "#FEC44F", "#FB9A29", "#EC7014")
CURRENT, FINAL, PENDING = "#EE8866", "#44BB99", "#BBBBBB"  # step-through: running, done, waiting
INK, SOFT_INK = "#333333", "#999999"
POSITIVE, NEGATIVE = "#4477AA", "#EE6677"  # Tol's bright blue and red, for weights' signs
_EDGE_COLOR, _EDGE_FONT = "#777777", "#555555"


@dataclass
class _Look:
    """Colours by role, edges plain or labelled with local derivatives ∂out/∂input."""

    g: _Graph
    precision: int
    edge_labels: bool

    def grad(self, node: Node) -> float:
        return node.grad

    def fill(self, node: Node) -> Attrs:
        role = self.g.role[node]
        attrs = {"fillcolor": ROLE_FILL[role]}
        if role == "frozen":
            attrs["style"] = "filled,dashed"
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
        return {"label": f" ∂ = {number(d, self.precision)} "}

    def title(self) -> list[str]:
        """Lines of text above the legend's swatches, saying what they measure."""
        return []

    def legend(self) -> list[tuple[str, ...]]:
        roles = dict.fromkeys(self.g.role[node] for node in self.g.order)
        frozen = (ROLE_FILL["frozen"], "frozen parameter (no grad)", INK, "dashed")
        shown = [role for role in ROLE_FILL if role in roles]
        return [frozen if role == "frozen" else (ROLE_FILL[role], role) for role in shown]


@dataclass
class _BlameLook(_Look):
    """Fill strength follows |grad| relative to the largest: which values carry the blame."""

    largest: float = 0.0
    where: str = ""

    def __post_init__(self) -> None:
        graded = [node for node in self.g.order if node.requires_grad]
        if graded:
            top = max(graded, key=lambda node: abs(node.grad))
            # An unlabelled result is named by its op in words (a legend's "(*)" read as a riddle),
            # and by the box it is in, which is all a drawing collapsed by neuron shows of it.
            where = f"an unlabelled {top._op} node" if top._op and not top.label else ""
            if where and scope_of(top):
                where += " in " + " · ".join(scope_of(top))
            self.largest, self.where = abs(top.grad), where or value_name(top, self.precision)

    def fill(self, node: Node) -> Attrs:
        if not node.requires_grad:
            return {"fillcolor": "#FFFFFF", "style": "filled,dashed", "fontcolor": SOFT_INK}
        share = abs(node.grad) / self.largest if self.largest else 0.0
        return {"fillcolor": ramp(share), "penwidth": "2" if node is self.g.root else "1"}

    def title(self) -> list[str]:
        # where is a label, "an unlabelled op node", or a number. A line of its own: as the first
        # swatch, it made the legend, and 04's collapsed drawing, 795 pt wide.
        return [f"|grad| as a share of the largest, {number(self.largest, self.precision)} at {self.where}:"]

    def legend(self) -> list[tuple[str, ...]]:
        steps = [(ramp(k / 4), f"{k * 25}%") for k in range(5)]
        constants = any(not node.requires_grad for node in self.g.order)
        return [*steps, *([("#FFFFFF", "dashed: no grad")] if constants else [])]


def ramp(share: float) -> str:
    """The blame colour for share in [0, 1], interpolated along BLAME_RAMP."""
    if not share > 0.0:  # 0 or NaN
        return BLAME_RAMP[0]
    pos = min(share, 1.0) * (len(BLAME_RAMP) - 1)
    i = min(int(pos), len(BLAME_RAMP) - 2)
    t = pos - i
    lo, hi = (bytes.fromhex(BLAME_RAMP[j][1:]) for j in (i, i + 1))
    return "#" + "".join(f"{round(a + (b - a) * t):02X}" for a, b in zip(lo, hi))


LOOKS: dict[str, type[_Look]] = {"role": _Look, "grad": _BlameLook}
