"""The step-through page: one SVG laid out once, and per frame what changes, repainted by a little JS."""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..graph import Node
from .dot import _format, _graph_label, _Members, _statements, _Stmt
from .frames import _frames
from .looks import _EDGE_COLOR, _EDGE_FONT, INK
from .render import Diagram
from .text import html_text
from .view import Options


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
    # Frames differ only in colours and a few numbers, so dot lays the graph out once and each
    # frame ships what changes from the one before: the page grows with values + steps, not with
    # their product (an SVG per frame took a minute and 70 MB for one example of a 2-8-7-1 MLP).
    g, opt, frames = _frames("step_through", root, grad, options)
    drawn = [_statements(g, frame.look, opt) for frame in frames]
    keyed = [_keyed(*statements) for statements in drawn]
    layout, laid = _layout(drawn[0], keyed, _graph_label(frames[0].look, opt, ()), opt)
    paints, changes = _changes(keyed)
    first = {key: text for key, _, text in changes[0] if text != laid[key]}
    data = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in [paints, *changes]]
    captions = ["".join(f"<div>{html_text(line)}</div>" for line in frame.caption) for frame in frames]
    key = hashlib.sha1("\n".join([layout, *data, *captions]).encode()).hexdigest()[:10]
    svg = _page_svg(Diagram(layout).pipe(encoding="utf-8"), f"bpl{key}", first)
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
    first: tuple[_Members, list[_Stmt]], frames: Sequence[dict[str, _Stmt]], label: str, opt: Options
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
