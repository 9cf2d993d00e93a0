"""The argument checks the experiments share beyond nn._checks."""

from __future__ import annotations

from collections.abc import Sequence

from .._checks import check_int, ordered

__all__ = ["check_widths"]


def check_widths(fn: str, widths: Sequence[int]) -> list[int]:
    """An experiment's hidden layer widths: an ordered sequence of positive ints."""
    return [check_int(fn, f"widths[{i}]", w, 1) for i, w in enumerate(ordered(fn, "widths", widths))]
