"""Step-through frames: backward run one op at a time, each step drawn and captioned."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..graph import BackwardStep, Node, backward_steps, require_node
from ..value import RULES, rule_of
from .dot import _dot
from .lanes import caption as lanes_caption
from .lanes import check_example, lane_count, picker, seen_steps, view
from .looks import CURRENT, FINAL, INK, PENDING, SOFT_INK, _Look
from .text import Attrs, number, value_name, value_subject
from .view import Options, _analyse, _check_size, _Graph, _prepare, _resolve


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


def _local_rule(node: Node, i: int, precision: int) -> str:
    """∂node/∂(input i) as engine.value.RULES writes it, in the drawn names of node's inputs and output."""
    rule = rule_of(node._op)
    if rule is None or i >= len(rule.formulas):
        return ""
    names = {name: value_name(child, precision) for name, child in zip(rule.inputs, node._prev)}
    names["out"] = value_name(node, precision)
    if rule is RULES["**n"]:  # a plain-number power, **2, **-1: n is in the op's symbol
        try:
            n = float(node._op[2:])
        except ValueError:
            return ""
        names.update({"n": f"{n:g}", "n - 1": f"{n - 1:g}"})
    return re.sub(r"\{([^}]*)\}", lambda m: names[m.group(1)], rule.formulas[i])


def _caption(step: BackwardStep[Node], k: int, n: int, grads: dict[Node, float], precision: int) -> list[str]:
    """The step in words: which op runs with which gradient, and what it adds to each input."""
    node, g = step.node, number(step.upstream, precision)
    out = value_subject(node, precision)
    lines = [f"step {k} of {n}: {node._op} runs its local backward with {out}.grad = {g}, final now"]
    # Edges are listed in input order, skipping inputs that take no gradient, so this pairs them.
    positions = [i for i, child in enumerate(node._prev) if child.requires_grad]
    for i, (child, d, added) in zip(positions, step.edges):
        name, local, rule = (
            value_subject(child, precision),
            number(d, precision),
            _local_rule(node, i, precision),
        )
        formula = f"{rule} = {local}" if rule and rule != local else local
        now = f"(now {number(grads[child], precision)})"
        lanes = getattr(node, "lanes", None)
        if lanes and not getattr(child, "lanes", None):  # a parameter of a lane op: every example adds
            lines.append(
                f"{node._op}: ∂{out}/∂{name} = {formula} ; this example adds {local} × {g}, and"
                f" {name}.grad += the sum over all {lanes} examples = {number(added, precision)} {now}"
            )
            continue
        lines.append(
            f"{node._op}: ∂{out}/∂{name} = {formula} ; {name}.grad += {local} × {g}"
            f" = {number(added, precision)} {now}"
        )
    return lines


def _seed_caption(g: _Graph, held: dict[Node, float], grad: float, precision: int) -> list[str]:
    seed = f"the seed: {value_subject(g.root, precision)}.grad = ∂root/∂root = {number(grad, precision)}"
    if not held:
        return [seed, "every other gradient starts this pass at 0"]
    names = [value_subject(node, precision) for node in g.order if node in held]
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
    "example",
)


def _frames(
    caller: str, root: Node, grad: float, options: dict[str, Any]
) -> tuple[_Graph, Options, list[_Frame]]:
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
    example = options.pop("example", None)
    opt = Options(**options, caller=caller)
    _check_size(root, known, opt)
    lanes = lane_count(root)
    check_example(caller, example, lanes)
    steps: Iterable[BackwardStep[Node]] = backward_steps(root, grad)  # checks root and grad first
    notes: list[str] = []
    if lanes is not None:  # a lane graph's backward, followed at one example (the first by default)
        example = 0 if example is None else example
        pick = picker(example)
        root, seen = view(root, example)
        known = None if known is None else {seen[p] for p in known if p in seen}
        steps, grad = seen_steps(steps, seen, pick), pick(grad)
        notes = lanes_caption(lanes, example)
    g = _prepare(_analyse(root, known), opt)
    opt = _resolve(g, opt)
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
    frames = [_Frame(look(None, final), [*_seed_caption(g, held, float(grad), opt.precision), *notes])]
    for k, step in enumerate(steps, start=1):
        for child, _, added in step.edges:
            this_pass[child] += added
        for child in set(step.node._prev):
            users_left[child] -= 1
            if users_left[child] == 0:  # its last user has run: nothing more can flow into it
                final.add(child)
        now = look(step, final)
        frames.append(_Frame(now, [*_caption(step, k, n, now.grads, opt.precision), *notes]))
    steps_run = f"{n} step{'' if n == 1 else 's'}"
    done = [f"done: every op has run its local backward ({steps_run}); every gradient is final"]
    if held:
        done.append("the leaves hold the gradient of this pass added to what they held before")
    frames.append(_Frame(look(None, g.order), [*done, *notes]))
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
