"""Text in drawings: numbers as shown, and labels escaped for DOT strings, records and HTML."""

from __future__ import annotations

import html
import math
import re

from ..graph import Node

Attrs = dict[str, str]  # a node's or edge's DOT attributes, escaped already


def number(x: float, precision: int) -> str:
    """x with `precision` decimals; tiny and huge numbers in short scientific form, never 0.0000."""
    if x == 0.0:
        return f"{0.0:.{precision}f}"  # no "-0.0000"
    if not math.isfinite(x) or 10.0**-precision <= abs(x) < 1e6:
        return f"{x:.{precision}f}"
    return f"{x:.{max(precision, 1)}g}"


# What XML cannot hold (C0 controls, lone surrogates, U+FFFE/U+FFFF), and DEL and the C1 controls,
# which it can but nobody can see. Tab, newline and CR are whitespace: they become spaces.
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(text: str) -> str:
    r"""text with tab, newline and CR as spaces, every other control character as Python writes it (\x00)."""
    return _UNSEEN.sub(lambda m: " " if m.group() in "\t\n\r" else repr(m.group())[1:-1], text)


def record_text(text: str) -> str:
    r"""text as a literal in a record label: also its separators { } | < > escaped."""
    return re.sub(r"([{}|<>])", r"\\\1", dot_text(text))


def dot_text(text: str) -> str:
    """text in a DOT string: visible, \\ and quotes backslashed, & as an entity (graphviz decodes them)."""
    return visible(text).replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")


def html_text(text: str) -> str:
    """text in an HTML-like label or an HTML page: visible, with markup characters as entities."""
    return html.escape(visible(text))


def dot_attrs(attrs: Attrs) -> str:
    """` [k="v" ...]`, for values escaped already (by dot_text or record_text)."""
    return " [" + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "]" if attrs else ""


def value_name(node: Node, precision: int) -> str:
    """How formulas and legends call a value: its label, (op) for an unlabelled result, else its number."""
    return node.label or (f"({node._op})" if node._op else number(node.data, precision))


def value_subject(node: Node, precision: int) -> str:
    """How a caption calls a value it says something of: as value_name does, a bare number bracketed."""
    name = value_name(node, precision)
    return name if node.label or node._op else f"({name})"
