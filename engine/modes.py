"""Per-thread modes: whether ops record (no_grad), whether they check for NaN (detect_anomaly), scopes.

Each switch is thread-local, as in PyTorch: no_grad() in one thread leaves the others recording.
Value reads `mode` on every op; graph.backward reads mode.anomaly once per pass.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

if TYPE_CHECKING:
    from .graph import Node

__all__ = [
    "detect_anomaly",
    "enable_grad",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_tagging_scopes",
    "no_grad",
    "scope",
    "scope_of",
    "set_grad_enabled",
    "tag_scopes",
]

F = TypeVar("F", bound=Callable[..., Any])


class _Mode(threading.local):
    """Per-thread switches, as in PyTorch: no_grad() in one thread leaves the others recording."""

    grad_enabled = True
    anomaly = False
    tagging = False  # tag_scopes(): scope() names the values made inside it
    scope: tuple[str, ...] = ()  # the scope path new values are tagged with (empty: none)
    # The one flag an op reads to leave its fast path: detect_anomaly() or an active scope.
    observe = False

    def update(self) -> None:
        self.observe = self.anomaly or bool(self.scope)


# Read by Value on every op, so it is a plain object rather than a function call away.
mode = _Mode()


class _GradMode:
    """Recording switched on or off inside a `with` block, or in every call of a decorated function."""

    enabled: bool  # the mode inside

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack: the same object may be entered while inside

    def __enter__(self) -> None:
        self._previous.append(mode.grad_enabled)
        mode.grad_enabled = self.enabled

    def __exit__(self, *exc_info: object) -> None:
        mode.grad_enabled = self._previous.pop()

    def __call__(self, func: F) -> F:
        enabled = self.enabled

        @functools.wraps(func)
        def switched(*args: Any, **kwargs: Any) -> Any:
            previous = mode.grad_enabled  # read per call and per thread: recursion and threads are safe
            mode.grad_enabled = enabled
            try:
                return func(*args, **kwargs)
            finally:
                mode.grad_enabled = previous

        return cast(F, switched)


class no_grad(_GradMode):  # noqa: N801  # PyTorch's name
    """Inside, ops record nothing: results are constants with no inputs and no backward."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801  # PyTorch's name
    """Inside, ops record again, even within no_grad()."""

    enabled = True


class set_grad_enabled(_GradMode):  # noqa: N801  # PyTorch's name
    """Ops record a graph if enabled, nothing if not: from now on, or in a `with` block or decorated call."""

    # As in PyTorch, the call itself switches (so a plain `set_grad_enabled(False)` works), and
    # leaving a `with` block restores what was on before the call.
    def __init__(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(
                f"set_grad_enabled: enabled must be True or False, got {type(enabled).__name__} {enabled!r}"
            )
        super().__init__()
        self.enabled = enabled
        self._previous.append(mode.grad_enabled)
        mode.grad_enabled = enabled

    def __enter__(self) -> None:
        """Nothing: the call switched already."""

    def __call__(self, func: F) -> F:
        # Decorating switches nothing now (undo the call's switch): each call of func will.
        if self._previous:
            mode.grad_enabled = self._previous.pop()
        return super().__call__(func)


def is_grad_enabled() -> bool:
    """Whether ops in this thread record the graph."""
    return mode.grad_enabled


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside, the first op whose forward value or backward gradient is NaN or ±inf raises."""
    previous = mode.anomaly
    mode.anomaly = True
    mode.update()
    try:
        yield
    finally:
        mode.anomaly = previous
        mode.update()


def is_anomaly_enabled() -> bool:
    """Whether detect_anomaly() is active in this thread."""
    return mode.anomaly


@contextmanager
def tag_scopes(enabled: bool = True) -> Iterator[None]:
    """Inside, values made within a scope() carry its name, for drawing (off by default: no cost)."""
    previous = (mode.tagging, mode.scope)
    mode.tagging, mode.scope = enabled, mode.scope if enabled else ()
    mode.update()
    try:
        yield
    finally:
        mode.tagging, mode.scope = previous
        mode.update()


def is_tagging_scopes() -> bool:
    """Whether tag_scopes() is on in this thread (nn checks it before entering a scope)."""
    return mode.tagging


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Values made inside are tagged with name (nested scopes make a path), while tag_scopes() is on."""
    if not mode.tagging:  # the common case: a training loop pays one attribute read per scope
        yield
        return
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope: the name must be a non-empty str, got {name!r}")
    previous = mode.scope
    mode.scope = (*previous, name)
    mode.update()
    try:
        yield
    finally:
        mode.scope = previous
        mode.update()


def scope_of(node: object) -> tuple[str, ...]:
    """The scope path a node was made in, outermost first; () if it was made outside any scope."""
    path: tuple[str, ...] = getattr(node, "_scope", ())
    return path


# -- the hooks Value calls when it builds a node, and backward's anomaly check ----------------------


def observe(node: Node, op: str, inputs: Sequence[Node]) -> None:
    """A new node's slow path, taken only while detect_anomaly() or a tagging scope is active."""
    if mode.anomaly and inputs:
        check_forward(op, inputs, node.data)
    if mode.scope:
        node._scope = mode.scope  # type: ignore[attr-defined]  # an optional slot, unset by default


def check_forward(op: str, inputs: Sequence[Node], data: Any) -> None:
    """Raise FloatingPointError if an op's result is NaN or infinite (called under detect_anomaly)."""
    lane = _first_nonfinite(data)
    if lane is not False:
        args = ", ".join(describe(x, lane) for x in inputs)
        raise FloatingPointError(
            f"detect_anomaly: forward of {op!r} gave {_at(data, lane)} from inputs ({args})"
        )


def check_backward(node: Node) -> None:
    """Raise FloatingPointError if node's backward gave an input a NaN or infinite gradient."""
    for i, child in enumerate(node._prev):
        lane = _first_nonfinite(child.grad) if child.requires_grad else False
        if lane is not False:
            args = ", ".join(describe(x, lane) for x in node._prev)
            raise FloatingPointError(
                f"detect_anomaly: backward of {node._op!r} (inputs {args}; upstream gradient "
                f"{_at(node.grad, lane)}) gave input {i} the gradient {_at(child.grad, lane)}"
            )


def _first_nonfinite(x: Any) -> int | Literal[False] | None:
    """False if x (a float or lanes) is finite everywhere; else None for a float, the first lane for lanes."""
    if type(x) is float:
        return False if math.isfinite(x) else None
    bad = [i for i, v in enumerate(x.tolist()) if not math.isfinite(v)]
    return bad[0] if bad else False


def _at(x: Any, lane: int | None) -> str:
    """x (a float) or its lane (of lanes), for a message."""
    return str(x) if type(x) is float or lane is None else f"{float(x[lane])} at lane {lane}"


def describe(node: Node, lane: int | None = None) -> str:
    """A node for error messages: its number (of one lane, or a summary of all), and its label if set."""
    data: Any = node.data
    if type(data) is float:
        text = repr(data)
    elif lane is None:
        text = f"{len(data)} lanes of mean {float(sum(data.tolist())) / len(data)!r}"
    else:
        text = f"{float(data[lane])!r} at lane {lane}"
    return f"{text} (label {node.label!r})" if node.label else text
