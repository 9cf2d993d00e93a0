"""The step-through page: one drawing, repainted by its script to look as dot draws each frame.

The page's own script runs in node against a stand-in for the few DOM calls it makes; what each
node and edge of the drawing shows (fills, lines, texts and whether they are visible) is compared
with dot's SVG of the same frame from frames_to_dot.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from engine import Value, scope, tag_scopes
from engine.draw import frames_to_dot, step_through

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")
needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node (to run the page's script) is absent"
)

Tree = dict[str, Any]  # {"tag", "attrs", "text", "children"}: an SVG element, as node and Python see it


def after_backward(neuron: Callable[[], Value]) -> Value:
    o = neuron()
    o.backward()  # the leaves hold gradients: the page shows them from frame 0
    return o


def layer(_: Callable[[], Value]) -> Value:
    xs = [Value(1.0, label="x0", requires_grad=False), Value(-2.0, label="x1", requires_grad=False)]
    with tag_scopes(), scope("layer 0"):
        outs = []
        for j, w in enumerate([[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]):
            with scope(f"neuron {j}"):
                outs.append((w[0] * xs[0] + w[1] * xs[1]).tanh())
    return outs[0] + outs[1] * outs[0]


def neuron(build: Callable[[], Value]) -> Value:
    return build()


Graph = Callable[[Callable[[], Value]], Value]  # a graph, built given the lecture_neuron fixture

# (the graph, the drawing's options)
CASES = [
    pytest.param(neuron, {}, id="labels-while-running"),
    pytest.param(neuron, {"edge_labels": True, "rankdir": "TB"}, id="edge-labels"),
    pytest.param(after_backward, {}, id="after-backward"),
    pytest.param(layer, {"collapse": "neuron"}, id="collapsed"),
    pytest.param(layer, {"fields": ("grad",), "clusters": False}, id="grad-only"),
]


def tree(svg: str) -> Tree:
    def convert(element: ET.Element) -> Tree:
        tag = element.tag.rsplit("}", 1)[-1]
        children = [convert(child) for child in element]
        return {"tag": tag, "attrs": dict(element.attrib), "text": element.text or "", "children": children}

    return convert(ET.fromstring(svg))


def walk(t: Tree) -> list[Tree]:
    found = [t]
    for child in t["children"]:
        found += walk(child)
    return found


def looks(t: Tree) -> dict[tuple[str, int], list[tuple[str, ...]]]:
    """What each node and edge shows, by its title (and which of the elements with that title)."""
    shown: dict[tuple[str, int], list[tuple[str, ...]]] = {}
    for g in walk(t):
        if g["tag"] != "g" or g["attrs"].get("class") not in ("node", "edge"):
            continue
        title = next(c["text"] for c in g["children"] if c["tag"] == "title")
        seen = sum(1 for key in shown if key[0] == title)
        parts = []
        for c in g["children"]:
            a = c["attrs"]
            if c["tag"] in ("polygon", "ellipse", "polyline", "path"):
                parts.append(
                    (c["tag"], a.get("fill", "").lower(), a["stroke"].lower(), a.get("stroke-width", "1"))
                )
            elif c["tag"] == "text" and visible(a):
                parts.append(("text", c["text"].replace("\xa0", " ").strip(), a.get("fill", "").lower()))
        shown[(title, seen)] = parts
    return shown


def visible(attrs: dict[str, str]) -> bool:
    style = attrs.get("style-visibility", "")  # set by the script, over the attribute
    return style == "visible" or (not style and attrs.get("visibility") != "hidden")


def frames_as_drawn(root: Value, options: dict[str, Any]) -> list[Tree]:
    """Each frame of frames_to_dot(root) as dot draws it."""
    import graphviz  # noqa: PLC0415  # the tests that render need it; the rest do not

    frames = frames_to_dot(root, **options)
    return [tree(graphviz.Source(frame).pipe(format="svg", encoding="utf-8")) for frame in frames]


def page_parts(page: str) -> dict[str, Any]:
    box = re.search(r'<div class="bpl-steps" id="(\w+)" data-paints="([^"]*)">', page)
    assert box
    return {
        "id": box.group(1),
        "paints": html.unescape(box.group(2)),
        "frames": [
            html.unescape(c) for c in re.findall(r'class="bpl-frame"[^>]*data-changes="([^"]*)"', page)
        ],
        "captions": re.findall(r'class="bpl-frame"[^>]*>(.*?)</div>\n', page),
        "svg": tree(re.search(r"<svg\b.*?</svg>", page, flags=re.DOTALL).group(0)),  # type: ignore[union-attr]
        "script": re.search(r"<script>(.*?)</script>", page, flags=re.DOTALL).group(1),  # type: ignore[union-attr]
    }


@needs_dot
@pytest.mark.parametrize(("root", "options"), CASES)
def test_the_page_without_its_script_shows_frame_0(
    root: Graph, options: dict[str, Any], lecture_neuron: Callable[[], Value]
) -> None:
    parts = page_parts(step_through(root(lecture_neuron), **options).page())
    assert looks(parts["svg"]) == looks(frames_as_drawn(root(lecture_neuron), options)[0])


# Runs the page's script against stand-ins for the DOM calls it makes, then clicks and slides:
# after each action, the drawing (as a tree) and which caption shows.
HARNESS = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
function build(t) {
  const el = {tag: t.tag, attrs: t.attrs, text: t.text, style: {},
              children: t.children.map(build)};
  el.getAttribute = n => (n in el.attrs ? el.attrs[n] : null);
  el.setAttribute = (n, v) => { el.attrs[n] = String(v); };
  el.querySelectorAll = sel => all(el).slice(1).filter(e => (sel === "svg g[id]"
    ? e.tag === "g" && e.attrs.id : sel.split(",").includes(e.tag)));
  Object.defineProperty(el, "tagName", {get: () => el.tag});
  Object.defineProperty(el, "id", {get: () => el.attrs.id || ""});
  Object.defineProperty(el, "textContent", {get: () => el.text, set: v => { el.text = String(v); }});
  return el;
}
function all(el) { return [el].concat(...el.children.map(all)); }
function dump(el) {
  const attrs = Object.assign({}, el.attrs);
  if (el.style.visibility) attrs["style-visibility"] = el.style.visibility;
  return {tag: el.tag, attrs: attrs, text: el.text, children: el.children.map(dump)};
}
const svg = build(input.svg), on = {};
const control = name => ({value: 0, textContent: "", addEventListener: (e, f) => { on[name] = f; }});
const controls = {};
["slider", "prev", "next", "count"].forEach(name => { controls[name] = control(name); });
const frames = input.frames.map(c => ({dataset: {changes: c}, hidden: false}));
const box = {id: input.id, dataset: {paints: input.paints},
  querySelectorAll: sel => (sel === ".bpl-frame" ? frames : svg.querySelectorAll(sel)),
  querySelector: sel => controls[sel.match(/data-bpl=(\w+)/)[1]]};
new Function("document", input.script)({querySelectorAll: sel => [box]});
const out = input.actions.map(action => {
  if (typeof action === "number") { controls.slider.value = String(action); on.slider(); } else on[action]();
  return {shown: frames.map(f => !f.hidden), count: controls.count.textContent, svg: dump(svg)};
});
process.stdout.write(JSON.stringify(out));
"""


@needs_dot
@needs_node
@pytest.mark.parametrize(("root", "options"), CASES)
def test_each_frame_of_the_page_looks_as_dot_draws_it(
    root: Graph, options: dict[str, Any], lecture_neuron: Callable[[], Value]
) -> None:
    parts = page_parts(step_through(root(lecture_neuron), **options).page())
    drawn = frames_as_drawn(root(lecture_neuron), options)
    last = len(drawn) - 1
    # Forward to the end and past it, back with the slider, back past the start, to the end again.
    actions: list[Any] = ["next"] * (last + 1) + [2, "prev", "prev", "prev", last, 1]
    expected = [*range(1, last + 1), last, 2, 1, 0, 0, last, 1]
    run = subprocess.run(
        ["node", "-e", HARNESS],
        input=json.dumps({**parts, "actions": actions}),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for action, k, state in zip(actions, expected, json.loads(run.stdout)):
        assert state["shown"] == [i == k for i in range(last + 1)], action
        assert state["count"] == (
            "the seed" if k == 0 else "done" if k == last else f"step {k} of {last - 1}"
        )
        assert looks(state["svg"]) == looks(drawn[k]), f"frame {k} after {action!r}"


@needs_dot
def test_the_page_holds_one_drawing_and_a_caption_per_frame(lecture_neuron: Callable[[], Value]) -> None:
    page = step_through(lecture_neuron()).page()
    parts = page_parts(page)
    assert page.count("<svg") == 1 and len(parts["frames"]) == len(parts["captions"]) == 7
    assert parts["captions"][1] == (
        "<div>step 1 of 5: tanh runs its local backward with o.grad = 1.0000, final now</div>"
        "<div>tanh: ∂o/∂(+) = 1 − o² = 0.5000 ; (+).grad += 0.5000 × 1.0000 = 0.5000 (now 0.5000)</div>"
    )
    assert json.loads(parts["frames"][0]) and all(json.loads(c) for c in parts["frames"][1:])
    assert repr(step_through(lecture_neuron())) == "<StepThrough: 7 frames>"


@needs_dot
def test_a_page_for_one_example_of_a_2_8_7_1_network_is_small() -> None:
    nn_module = pytest.importorskip("nn.module")
    model = nn_module.MLP(2, [8, 7, 1], seed=0)
    y = model([0.5, -1.0])
    page = step_through(y).page()  # 270 values, 173 steps: an SVG per frame made 72 MB
    assert page.count("<svg") == 1 and page.count('class="bpl-frame"') == 175
    assert len(page.encode("utf-8")) < 1_000_000
