"""The page → server messages of the playground's WebSocket: one table of types and fields, one parser.

Every message is a JSON object of at most MAX_MESSAGE bytes with a "type" from MESSAGES and exactly
that type's fields, each checked (type, range, known names). `parse` returns a Message or raises
ProtocolError naming the message type, the field and the value; the server answers it with
{"type": "error"} and changes nothing. Upper bounds here are sanity bounds (no layer past the largest
network Settings allows, no index past the most points); the Session checks the exact ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nn._checks import check_choice, check_int, show

__all__ = ["MAX_MESSAGE", "MESSAGES", "Message", "ProtocolError", "parse"]

MAX_MESSAGE = 16 * 1024  # bytes of UTF-8: a settings query is a few hundred
MAX_QUERY = 4096  # characters of a settings query string
MAX_LAYER = 6  # 6 hidden layers and the output layer, numbered from 0
MAX_NEURON = 7  # 8 neurons a layer
MAX_POINT = 1999  # 2,000 points at most, train and test together


class ProtocolError(ValueError):
    """A message from the page that the server refuses: malformed JSON, an unknown type, a bad field."""


Field = Callable[[str, str, object], object]  # (message, field, value) -> the checked value, or ValueError


def _int(most: int) -> Field:
    return lambda where, name, value: check_int(where, name, value, 0, most=most)


def _bool(where: str, name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{where}: {name} must be true or false, got {show(value)}")


def _split(where: str, name: str, value: object) -> str:
    return check_choice(where, name, value, ("train", "test"))


def _query(where: str, name: str, value: object) -> str:
    if isinstance(value, str) and len(value) <= MAX_QUERY:
        return value
    got = f"a string of {len(value)} characters" if isinstance(value, str) else show(value)
    raise ValueError(f"{where}: {name} must be a string of at most {MAX_QUERY} characters, got {got}")


# The one table: each message type and its fields (in the order the page writes them).
MESSAGES: dict[str, dict[str, Field]] = {
    "settings": {"query": _query},  # rebuild the session from a URL query string
    "play": {},
    "pause": {},
    "step": {},  # one epoch
    "ack": {},  # the page has drawn the last snapshot: the play loop may send the next
    "reset": {"new_weights": _bool},
    "point": {"split": _split, "index": _int(MAX_POINT), "expanded": _bool},  # expanded: every op, not boxes
    "neuron": {"layer": _int(MAX_LAYER), "index": _int(MAX_NEURON)},
    "freeze": {"layer": _int(MAX_LAYER), "index": _int(MAX_NEURON), "frozen": _bool},
    "prune": {"layer": _int(MAX_LAYER), "index": _int(MAX_NEURON)},
    "export": {},
    "steps": {"split": _split, "index": _int(MAX_POINT)},
}

# The messages that start or stop training. Each snapshot says how many of them the server has read, so
# the page can tell a snapshot sent before its latest Play or Pause (whose "playing" is stale) from one
# sent after it.
CONTROLS = frozenset({"settings", "play", "pause", "step", "reset"})


@dataclass(frozen=True)
class Message:
    """A checked message: its type and its fields' values."""

    type: str
    fields: Mapping[str, object]

    def number(self, name: str) -> int:
        value = self.fields[name]
        assert isinstance(value, int)  # checked by parse
        return value

    def text(self, name: str) -> str:
        value = self.fields[name]
        assert isinstance(value, str)
        return value

    def flag(self, name: str) -> bool:
        value = self.fields[name]
        assert isinstance(value, bool)
        return value


def parse(text: str | bytes | None) -> Message:
    """The Message in one WebSocket text frame, or ProtocolError saying what is wrong with it."""
    if not isinstance(text, str):
        raise ProtocolError("message: must be a JSON text message, got a binary one")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message: must be at most {MAX_MESSAGE} bytes, got {size}")
    try:
        raw = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError; deep nesting recurses
        raise ProtocolError(f"message: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"message: must be a JSON object, got {show(raw)}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in MESSAGES:
        raise ProtocolError(f"message: unknown type {show(kind)}; choose one of {', '.join(MESSAGES)}")
    fields = MESSAGES[kind]
    extra = [name for name in raw if name != "type" and name not in fields]
    if extra:
        known = ", ".join(fields) or "none"
        raise ProtocolError(f"message {kind!r}: unknown field {show(extra[0])} (its fields: {known})")
    checked: dict[str, Any] = {}
    for name, check in fields.items():
        if name not in raw:
            raise ProtocolError(f"message {kind!r}: {name} is missing")
        try:
            checked[name] = check(f"message {kind!r}", name, raw[name])
        except ValueError as error:
            raise ProtocolError(str(error)) from None
    return Message(kind, checked)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
