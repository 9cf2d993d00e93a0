"""Diagrams of computation graphs: DOT text (pure, testable), and graphviz renderings of it.

`to_dot(root)` gives the text; `draw_dot(root)` a Diagram (a graphviz.Source) that displays inline
in Jupyter and has `.render(path)`. The graph is never changed by drawing it, except by the
step-through functions, which run one backward pass (as `backward()` would). The `graphviz`
package is imported only by the functions that render, so `to_dot` works without it.

Roles, the default colouring (a node's role follows from the graph, or from `params`):
- output: the root;
- interior: the result of an op;
- parameter: a leaf in `params` that requires grad, or, without `params`, any leaf that requires
  grad (as in PyTorch, where parameters require grad and data does not);
- input: a leaf that requires no grad but has a label (nn labels its inputs x0, x1...), or a leaf
  not in `params` that requires grad;
- constant: an unlabelled leaf that requires no grad (a plain number lifted into the graph);
- frozen: a leaf in `params` that requires no grad (nn.freezing froze it): pale, dashed, drawn
  in its neuron's box like any parameter. Without `params` a frozen parameter is, to the graph,
  a labelled leaf that takes no grad, as an input is, and is drawn as one.

One module per job: view (what is drawn: ids, roles, scopes, options), looks (colour schemes),
dot (the DOT text), frames (step-through frames and captions), page (the step-through HTML
page), render (graphviz), text (numbers and escaping). Other drawings (nn.draw's network view)
build on the public names of dot (digraph, legend), looks (ramp), text (number, html_text,
dot_attrs), view (Options) and render (Diagram).
"""

from .dot import to_dot
from .frames import frames_to_dot
from .looks import BLAME_RAMP, CURRENT, FINAL, INK, LOOKS, NEGATIVE, PENDING, POSITIVE, ROLE_FILL, SOFT_INK
from .page import StepThrough, step_through
from .render import GraphvizNotFoundError, draw_dot
from .view import FIELDS, GraphTooLargeError

__all__ = [
    "BLAME_RAMP",
    "CURRENT",
    "FIELDS",
    "FINAL",
    "INK",
    "LOOKS",
    "NEGATIVE",
    "PENDING",
    "POSITIVE",
    "ROLE_FILL",
    "SOFT_INK",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "StepThrough",
    "draw_dot",
    "frames_to_dot",
    "step_through",
    "to_dot",
]
