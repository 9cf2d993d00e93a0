"""The network view: an MLP drawn the classic way, neurons as circles in layers, weights as edges.

Built on engine.draw's DOT building blocks (digraph, legend, the colours), so it looks like the
graph drawings; engine.draw knows nothing of nn's models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import Value
from engine.draw import NEGATIVE, PENDING, POSITIVE, ROLE_FILL, GraphTooLargeError
from engine.draw.dot import digraph, legend
from engine.draw.looks import ramp
from engine.draw.render import COLUMN, Diagram, check_max_width
from engine.draw.text import dot_attrs, html_text, number
from engine.draw.view import Options

from ._checks import described
from .activations import ACTIVATIONS
from .module import MLP, Neuron

__all__ = ["draw_mlp", "mlp_to_dot"]


def mlp_to_dot(
    model: MLP,
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
    """
    layers = _layers("mlp_to_dot", model)
    if show not in ("weight", "grad"):
        raise ValueError(f"mlp_to_dot: show must be 'weight' or 'grad', got {show!r}")
    Options(rankdir, precision, max_nodes=max_nodes, caller="mlp_to_dot")  # the same checks as to_dot's
    rankdir = "LR" if rankdir == "auto" else rankdir  # a network's width is its few layers: input at the left
    count = len(layers[0][0].w) + sum(map(len, layers))
    if count > max_nodes:
        raise GraphTooLargeError(
            f"mlp_to_dot: the network has {count:,} inputs and neurons, more than max_nodes={max_nodes}; "
            "raise max_nodes (dot needs a while for thousands of edges)"
        )

    def amount(v: Value) -> float:
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
                    + dot_attrs({**attrs, "label": number(v, precision)} if edge_labels else attrs)
                )
        nodes.append(_in_order([f"layer{li}", *ids]))
        previous = ids
    nodes += [f'out{k} [label="out {k}" shape=plaintext]' for k in range(len(previous))]
    edges += [f"{src} -> out{k}" for k, src in enumerate(previous)]
    swatches = [(POSITIVE, f"{symbol} > 0"), (NEGATIVE, f"{symbol} < 0")]
    swatches.append(("#FFFFFF", f"edge width ∝ |{symbol}|, largest {number(largest, precision)}"))
    if top_delta:
        fill = f"fill ∝ |δ| (mean δ over the examples), δ = ∂C/∂z, largest {number(top_delta, precision)}"
        swatches.append((ramp(1.0), fill))
    circles = 'shape=circle fixedsize=true width=0.95 fillcolor="#FFFFFF"'
    label = legend(swatches, [])
    return digraph("mlp", rankdir, label=label, members={(): nodes}, edges=edges, nodes=circles, ranksep=0.8)


def _neuron(
    nid: str,
    neuron: Neuron,
    b: float,
    delta: tuple[float, int] | None,
    top: float,
    *,
    show: str,
    precision: int,
) -> str:
    """A neuron's circle: activation, bias (or its gradient), δ; filled by its share of |δ|."""
    shown = ACTIVATIONS[neuron.activation].display  # "ReLU", as the model's repr says it
    rows = [f'<font point-size="11"><b>{html_text(shown)}</b></font>']
    rows.append(f"{'b' if show == 'weight' else '∂C/∂b'} {number(b, precision)}")
    fill = "#FFFFFF"
    if delta:
        d, k = delta
        rows.append(f"δ {number(d, precision)}" if k == 1 else f"mean δ {number(d, precision)}<br/>n = {k}")
        fill = ramp(abs(d) / top) if top else fill
    label = '<font point-size="9">' + "<br/>".join(rows) + "</font>"
    return f'{nid} [label=<{label}> fillcolor="{fill}"]'


def _in_order(ids: Sequence[str]) -> str:
    # One rank, chained by invisible edges, so that dot keeps x0, x1... in order, top to bottom.
    # (dot ignores such chains inside clusters, so the network view draws no cluster boxes.)
    return f"{{rank=same; {' '.join(ids)}; {' -> '.join(ids)} [style=invis]}}"


def _layers(caller: str, model: object) -> list[list[Neuron]]:
    """model's neurons, layer by layer; TypeError unless model is an nn.MLP."""
    if isinstance(model, MLP):
        return [list(layer.neurons) for layer in model.layers]
    need = f"{caller}: model must be an nn.MLP"
    if isinstance(model, Value):
        raise TypeError(
            f"{need}, got a Value: draw the graph of a Value with engine.draw's draw_dot or to_dot"
        )
    if isinstance(model, (list, tuple)):
        raise TypeError(f"{need}, got a {type(model).__name__} of {len(model)}: draw one model at a time")
    raise TypeError(f"{need}, got {described(model)}")


def _delta(neuron: Neuron) -> tuple[float, int] | None:
    """(δ = ∂C/∂z, 1) for one recorded example, (mean δ, n) for n, None when nothing was recorded."""
    # A call on a batch records z as lanes, one δ per example: each counts as one example.
    deltas = [float(d) for z in neuron.zs for d in np.atleast_1d(z.grad)]
    return (sum(deltas) / len(deltas), len(deltas)) if deltas else None


def draw_mlp(model: MLP, format: str = "svg", max_width: float | None = COLUMN, **options: Any) -> Diagram:
    """mlp_to_dot(model, **options) as a Diagram (a graphviz.Source): inline in Jupyter, or .render(path)."""
    _layers("draw_mlp", model)
    return Diagram(mlp_to_dot(model, **options), format, check_max_width("draw_mlp", max_width))
