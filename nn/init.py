"""Weight initialization: where each weight starts, drawn from a seeded random source.

Each scheme is a function (fan_in, fan_out, rng) -> one weight. The scale matters: too small and
signals shrink layer by layer (vanishing gradients), too large and they saturate or blow up.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Protocol

from ._checks import check_choice, described, is_int

__all__ = ["Init", "Rng", "he", "uniform", "xavier"]


class Rng(Protocol):
    """What a scheme draws from: the `random` module itself or a `random.Random`."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...


Init = Callable[[int, int, Rng], float]


def uniform(fan_in: int, fan_out: int, rng: Rng) -> float:
    """w ~ U(−1, 1), micrograd's scheme (ignores the fan: its scale does not shrink with width)."""
    return rng.uniform(-1.0, 1.0)


def xavier(fan_in: int, fan_out: int, rng: Rng) -> float:
    """w ~ U(−a, a), a = √(6 / (fan_in + fan_out)): Glorot and Bengio's, for tanh and sigmoid."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a)


def he(fan_in: int, fan_out: int, rng: Rng) -> float:
    """w ~ N(0, 2 / fan_in): He et al.'s, for ReLU (which zeroes half its inputs, hence the 2)."""
    return rng.gauss(0.0, math.sqrt(2.0 / fan_in))


INITS: dict[str, Init] = {"uniform": uniform, "xavier": xavier, "he": he}


def resolve_init(init: str | Init, owner: str) -> Init:
    """The scheme named by init, or init itself if it is a function."""
    if callable(init):
        return init
    return INITS[check_choice(owner, "init", init, INITS, ", or pass a function")]


def make_rng(seed: int | Rng | None, owner: str = "make_rng", arg: str = "seed") -> Rng:
    """A random source: the global `random` module for None (so random.seed() works as in
    micrograd), a fresh random.Random(seed) for an int (numpy's too), the source itself if one is given."""
    if seed is None:
        return random
    if is_int(seed):
        return random.Random(int(seed))
    if callable(getattr(seed, "uniform", None)) and callable(getattr(seed, "gauss", None)):
        return seed  # type: ignore[return-value]  # an Rng: it has what a scheme draws with
    raise TypeError(f"{owner}: {arg} must be an int, a random.Random or None, got {described(seed)}")
