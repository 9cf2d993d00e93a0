"""Rendering through graphviz: the only module that imports it, and only when a drawing is rendered."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..graph import Node, require_node
from .dot import to_dot

__all__ = ["Diagram", "GraphvizNotFoundError", "draw_dot"]


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs graphviz's `dot` program, and it is not installed (or not on PATH)."""


_NO_DOT = (
    "graphviz's `dot` program is not installed or not on PATH, so the diagram cannot be rendered. "
    "On Debian/Ubuntu: sudo apt-get install graphviz (macOS: brew install graphviz). "
    "The DOT text needs no program: to_dot(), or the diagram's .source"
)


COLUMN = 675.0  # points: 900 px, the width of a notebook's column
_SMALLEST = 0.75  # the most a drawing is shrunk to fit: 11 pt text is then 8.25 pt (11 px)


class Diagram:
    """DOT text held by a graphviz.Source: .source, .pipe(), .render(path), and shown inline in Jupyter.

    What graphviz.Source offers besides (.view(), .save(), .format...) is passed on to it; rendering
    without graphviz's `dot` program raises GraphvizNotFoundError, which says how to install it.
    Jupyter shows a drawing wider than max_width points scaled down to it, but to no less than 3/4
    of its size (smaller text is hard to read: draw less instead); max_width=None shows it as laid out.
    """

    def __init__(self, source: str, format: str = "svg", max_width: float | None = COLUMN) -> None:
        self._gv = _graphviz()
        self._source = self._gv.Source(source, format=format)  # holds the text as given: no parsing
        self.name = source.split(None, 2)[1]  # "digraph <name> {"
        self.max_width = max_width

    @property
    def source(self) -> str:
        """The DOT text, exactly as to_dot gave it."""
        text: str = self._source.source
        return text

    @property
    def format(self) -> str:
        """The output format of .render() and .pipe() by default ("svg")."""
        chosen: str = self._source.format
        return chosen

    @format.setter
    def format(self, value: str) -> None:
        self._source.format = value

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """graphviz.Source.pipe: the rendering as bytes (or str, given an encoding)."""
        with self._dot_program():
            return self._source.pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        """graphviz.Source.render: writes the DOT file and its rendering (cleanup=True: the latter only)."""
        with self._dot_program():
            return self._source.render(*args, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> Any:
        # How Jupyter displays it: graphviz renders an SVG (PNG and JPEG on request).
        with self._dot_program():
            bundle = self._source._repr_mimebundle_(include, exclude, **kwargs)
        if isinstance(bundle, dict) and isinstance(bundle.get("image/svg+xml"), str):
            bundle["image/svg+xml"] = fit(bundle["image/svg+xml"], self.max_width)
        return bundle

    def _repr_image_svg_xml(self) -> str:
        with self._dot_program():
            svg: str = self._source._repr_image_svg_xml()
            return fit(svg, self.max_width)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_gv", "_source"):
            raise AttributeError(name)
        return getattr(self._source, name)

    def __repr__(self) -> str:
        # No memory address: a notebook that draws the same graph again stores the same text.
        lines = len(self.source.splitlines()) - 2  # the statements, between "digraph ... {" and "}"
        return f"<graphviz diagram {self.name!r}: {lines} lines of DOT>"

    @contextmanager
    def _dot_program(self) -> Iterator[None]:
        try:
            yield
        except self._gv.ExecutableNotFound as err:
            raise GraphvizNotFoundError(_NO_DOT) from err


def draw_dot(root: Node, format: str = "svg", max_width: float | None = COLUMN, **options: Any) -> Diagram:
    """to_dot(root, **options) as a Diagram (a graphviz.Source): inline in Jupyter, or .render(path)."""
    require_node("draw_dot", root)
    return Diagram(to_dot(root, **options), format, check_max_width("draw_dot", max_width))


def check_max_width(caller: str, max_width: object) -> float | None:
    """max_width if it is None or a finite number of points > 0, else a ValueError naming caller."""
    if max_width is None:
        return None
    number = isinstance(max_width, (int, float)) and not isinstance(max_width, bool)
    if number and isinstance(max_width, (int, float)) and math.isfinite(max_width) and max_width > 0:
        return float(max_width)
    raise ValueError(f"{caller}: max_width must be a number of points > 0, or None, got {max_width!r}")


def fit(svg: str, max_width: float | None) -> str:
    """dot's SVG, its width and height scaled down to max_width points (to no less than 3/4)."""
    # The viewBox stays: the picture scales with the size it is shown at, text and all.
    size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if max_width is None or size is None or float(size[1]) <= max_width:
        return svg
    width, height = float(size[1]), float(size[2])
    k = max(max_width / width, _SMALLEST)
    return (
        f'{svg[: size.start()]}<svg width="{width * k:.0f}pt" height="{height * k:.0f}pt"{svg[size.end() :]}'
    )


def _graphviz() -> ModuleType:
    try:
        # Imported here, lazily: to_dot and the engine work without it.
        import graphviz  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415
    except ImportError:  # a test sets sys.modules["graphviz"] = None to get here
        raise ImportError(
            "drawing needs the graphviz Python package: pip install graphviz "
            "(to_dot() gives the DOT text without it)"
        ) from None
    module: ModuleType = graphviz
    return module
