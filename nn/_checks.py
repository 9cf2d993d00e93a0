"""Argument checks for every nn entry point, in one wording: `fn: arg must be ..., got <value>`.

A name chosen from a fixed set (an activation, an init, a reduction) that is not in it reads
"fn: unknown arg <value>; choose one of 'a', 'b' or 'c'"; an object of the wrong class "fn: needs an
nn.MLP, got <type>" (a TypeError).

Two kinds of argument, two exceptions, as nn has always raised them:
- settings (sizes, counts, steps, seeds, rates, thresholds): anything outside what is accepted,
  a wrong type included, is a ValueError, e.g. "MLP: nin must be a positive int, got 2.0";
- data (inputs, targets, parameter values): the wrong type (a str where a number belongs, a set
  where an order is needed) is a TypeError, a wrong value (NaN, inf, a ragged matrix) a ValueError.
numpy's integer and floating scalars are numbers wherever a Python int or float is, as Value()
takes them; a bool is not a size or a rate, and a str is never a number.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any, TypeGuard

import numpy as np

from engine import Value

__all__ = [
    "check_choice",
    "check_instance",
    "check_int",
    "check_real",
    "check_seed",
    "data_number",
    "described",
    "is_int",
    "is_real",
    "label_vector",
    "matrix",
    "non_negative",
    "numeric_array",
    "ordered",
    "positive",
    "show",
]


# -- showing a value in a message ------------------------------------------------------------------


class _Short(reprlib.Repr):
    """reprlib's bounded repr, safe for ints too long for repr() (over 4,300 digits) and deep nesting."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxtuple, self.maxdict = 3, 6, 6, 4
        self.maxstring, self.maxlong, self.maxother = 60, 40, 60

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:  # repr() itself refuses past 4,300 digits, and nobody reads them
            return f"<an int of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_short = _Short()


def show(value: object) -> str:
    """value's repr, cut to a readable length (a huge int by its digit count, nesting by depth)."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return _short.repr(value)


def described(value: object) -> str:
    """value with its type, for messages about a wrong type: "str '0.5'", "NoneType None"."""
    if isinstance(value, np.ndarray) and value.shape != ():
        return f"an array of shape {value.shape}"
    if isinstance(value, Value):  # its repr names its type
        return f"{value!r:.60}"
    return f"{type(value).__name__} {show(value)}"


# -- numbers -----------------------------------------------------------------------------------------


def is_int(x: object) -> TypeGuard[numbers.Integral]:
    """An int or a numpy integer, but not a bool (True is not a size)."""
    if type(x) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def is_real(x: object) -> TypeGuard[numbers.Real]:
    """A real number (int, float, Fraction, numpy integer or floating scalar), not a bool; maybe inf."""
    if type(x) is float or type(x) is int:  # the common case (every parameter saved), without the ABC check
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def check_int(
    fn: str, arg: str, value: object, least: int | None = 0, *, most: int | None = None, why: str = ""
) -> int:
    """value as an int in [least, most] (either bound may be None), or a ValueError naming fn and arg."""
    if is_int(value):
        n = int(value)
        if (least is None or n >= least) and (most is None or n <= most):
            return n
    if most is not None:
        rule = f"an int from {least} to {most}"
    elif least == 1:
        rule = "a positive int"
    elif least == 0:
        rule = "a non-negative int"
    else:
        rule = "an int" if least is None else f"an int ≥ {least}"
    raise ValueError(f"{fn}: {arg} must be {rule}{why}, got {show(value)}")


def check_real(
    fn: str, arg: str, value: object, rule: str = "", ok: Callable[[float], bool] | None = None
) -> float:
    """value as a float if it is a finite real number passing ok (`rule` says how), else a ValueError."""
    if is_real(value):
        try:
            x = float(value)
        except OverflowError:  # an int beyond the float range
            x = math.inf
        if math.isfinite(x) and (ok is None or ok(x)):
            return x
    raise ValueError(f"{fn}: {arg} must be a finite number{' ' + rule if rule else ''}, got {show(value)}")


def non_negative(fn: str, arg: str, value: object) -> float:
    """check_real for x ≥ 0."""
    return check_real(fn, arg, value, "≥ 0", lambda x: x >= 0.0)


def positive(fn: str, arg: str, value: object) -> float:
    """check_real for x > 0."""
    return check_real(fn, arg, value, "> 0", lambda x: x > 0.0)


_NUMPY_SEEDS = (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)


def check_seed(fn: str, value: object, arg: str = "seed") -> Any:
    """A seed for numpy.random.default_rng: None, an int ≥ 0, or numpy's own Generator or SeedSequence."""
    if value is None or isinstance(value, _NUMPY_SEEDS):
        return value
    if is_int(value) and int(value) >= 0:
        return int(value)
    raise ValueError(f"{fn}: {arg} must be None or an int ≥ 0, got {show(value)}")


def data_number(fn: str, arg: str, value: object) -> float:
    """A data value as a finite float: TypeError if it is not a real number, ValueError if not finite."""
    if not is_real(value):
        raise TypeError(f"{fn}: {arg} must be a number, got {described(value)}{_hint(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{fn}: {arg} must be a finite number, got {show(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{fn}: {arg} must be a finite number, got {x}")
    return x


def check_choice(fn: str, arg: str, value: object, choices: Iterable[str], otherwise: str = "") -> str:
    """value if it is one of the names in choices, else a ValueError listing them (and `otherwise`)."""
    names = list(choices)
    if isinstance(value, str) and value in names:
        return value
    quoted = list(map(repr, names))
    listed = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
    raise ValueError(f"{fn}: unknown {arg} {show(value)}; choose one of {listed}{otherwise}")


def check_instance(fn: str, value: object, kind: type | tuple[type, ...], what: str) -> None:
    """A TypeError naming fn unless value is a kind (`what` names it for people: "an nn.MLP")."""
    if not isinstance(value, kind):
        raise TypeError(f"{fn}: needs {what}, got {type(value).__name__}")


# -- sequences and arrays ---------------------------------------------------------------------------


def ordered(fn: str, arg: str, value: object) -> list[Any]:
    """value's items as a list if they have an order (a list, tuple, array, generator; not a set or dict)."""
    if isinstance(value, list):
        return value
    if isinstance(value, (Set, Mapping)):
        # A set's order changes from run to run, and a dict iterates over its keys.
        kind = "a set has no order" if isinstance(value, Set) else "a dict iterates over its keys"
        raise TypeError(
            f"{fn}: {arg} must be an ordered sequence (a list, tuple or array), "
            f"got {described(value)} ({kind})"
        )
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{fn}: {arg} must be an ordered sequence (a list, tuple or array), got {described(value)}"
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        raise TypeError(f"{fn}: {arg} must be an ordered sequence (a list, tuple or array), got a 0-d array")
    return list(value)


def numeric_array(fn: str, arg: str, value: object) -> np.ndarray:
    """value as a numpy array of finite numbers: int64 for ints or bools (unsigned ones kept), else float64.

    A ragged list, a str, None or another object among the numbers gets a message saying where it
    is; so does the first NaN or inf. Arrays (and what converts to one, like a DataFrame) are read
    as arrays; anything else must be an ordered sequence.
    """
    source: Any = None if hasattr(value, "__array__") else ordered(fn, arg, value)
    try:
        raw = np.asarray(value if source is None else source)
    except (ValueError, TypeError):  # ragged: numpy cannot make one array of it
        raise _explain(fn, arg, source if source is not None else value) from None
    if raw.dtype.kind not in "biuf":
        # Objects (Fractions, huge ints, Values, None...) or strs: look at each item, where the
        # caller put it (numpy turns numbers mixed with strs into strs).
        for index in np.ndindex(raw.shape):
            item = raw[index] if source is None else _at(source, index)
            if not _is_number_item(item):
                where = "".join(f"[{i}]" for i in index)
                raise TypeError(f"{fn}: {arg}{where} must be a number, got {described(item)}{_hint(item)}")
        raw = np.array([_float_or_inf(x) for x in raw.ravel()], dtype=np.float64).reshape(raw.shape)
    if raw.dtype.kind in "bi":
        return raw.astype(np.int64, copy=False)
    if raw.dtype.kind == "u":
        return raw
    array = raw.astype(np.float64, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{fn}: {arg} must hold finite numbers, got {array[index]} at {_place(index)}")
    return array


def matrix(fn: str, value: object, arg: str = "X") -> np.ndarray:
    """value as a non-empty 2-d float64 array of finite numbers: examples × features."""
    array = numeric_array(fn, arg, value)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{fn}: {arg} must be a non-empty 2-d array (examples × features), got shape {array.shape}"
        )
    return array.astype(np.float64, copy=False)


def label_vector(fn: str, value: object, arg: str = "y") -> np.ndarray:
    """value as a 1-d array of finite numbers, one per example; a column (n, 1) is read as (n,)."""
    array = numeric_array(fn, arg, value)
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim == 2:
        raise ValueError(
            f"{fn}: {arg} must hold one label per example, got shape {array.shape}; "
            "one-hot labels? pass y.argmax(axis=1), the class indices"
        )
    if array.ndim != 1:
        raise ValueError(f"{fn}: {arg} must hold one label per example, got shape {array.shape}")
    return array


def _place(index: tuple[int, ...]) -> str:
    """Where in an array: "row 3", "row 3, column 1"."""
    names = ["row", "column"] + [f"axis {k}" for k in range(2, len(index))]
    return ", ".join(f"{name} {i}" for name, i in zip(names, index)) or "its only entry"


def _hint(x: object) -> str:
    return "; pass its .data" if isinstance(x, Value) else ""


def _is_number_item(x: object) -> bool:
    return isinstance(x, (numbers.Real, np.bool_))


def _at(source: Any, index: tuple[int, ...]) -> object:
    for i in index:
        source = source[i]
    return source


def _float_or_inf(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:  # an int beyond the float range: the finiteness check names it
        return math.inf if x > 0 else -math.inf


def _explain(fn: str, arg: str, rows: Any) -> Exception:
    """Why numpy could not make an array of rows: a row of another length, or a row that is not one."""
    rows = ordered(fn, arg, rows)
    first: int | None = None
    for i, row in enumerate(rows):
        if _is_number_item(row):
            length = None
        elif isinstance(row, (Sequence, np.ndarray)) and not isinstance(row, (str, bytes)):
            length = len(row)
        else:
            return TypeError(f"{fn}: {arg}[{i}] must be a number or a row of numbers, got {described(row)}")
        if i == 0:
            first = length
        elif length != first:
            return ValueError(
                f"{fn}: {arg} must be rectangular (every row as long as row 0), "
                f"got row 0 {_size(first)} and row {i} {_size(length)}"
            )
        for j, item in enumerate(row if length is not None else ()):
            if not _is_number_item(item):
                return TypeError(
                    f"{fn}: {arg}[{i}][{j}] must be a number, got {described(item)}{_hint(item)}"
                )
    return ValueError(f"{fn}: {arg} must be a rectangular array of numbers, got {show(rows)}")


def _size(length: int | None) -> str:
    return "a number" if length is None else f"of {length} number{'' if length == 1 else 's'}"
