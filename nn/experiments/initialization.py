"""Vanishing and exploding gradients at init: a deep MLP, one backward, the first layer against the output."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._checks import check_int, check_seed, non_negative, positive
from .._table import table
from ..diagnostics import GradientFlag, GradientFlow, flag_gradients, gradient_flow
from ..init import Init, Rng, he, make_rng, resolve_init
from ..losses import mse_loss
from ..module import MLP
from .recipes import moons

__all__ = ["InitComparison", "InitRow", "compare_inits", "vanishing_gradients"]


def vanishing_gradients(
    depth: int = 10,
    width: int = 16,
    *,
    activation: str = "sigmoid",
    init: str | Init = "uniform",
    batch: int = 1,
    seed: int = 0,
    data_seed: int = 0,
    lr: float | None = None,
) -> GradientFlow:
    """MLP(2, [width]*depth + [1]) at its init: one backward of (s − t)² on `batch` standardized moons.

    batch=1 by default, on purpose. A deep sigmoid net at init gives nearly the same output for
    every input, so over a balanced batch Σ (s − tₖ)·h measures how far that output is from the
    targets' average rather than how much gradient flows back; at some seeds it nearly cancels
    in the output layer and understates the vanishing. One example has nothing to cancel. The
    squared error, unlike cross-entropy, never saturates: a huge output still gets a gradient.
    """
    depth, width, batch = _sizes("vanishing_gradients", depth, width, batch)
    rng = make_rng(seed, "vanishing_gradients")
    lr = None if lr is None else non_negative("vanishing_gradients", "lr", lr)
    data = moons(max(batch, 100), data_seed=check_seed("vanishing_gradients", data_seed, "data_seed"))
    model = MLP(2, [width] * depth + [1], activation=activation, init=init, seed=rng)
    mse_loss(model(data.X[:batch]), data.y[:batch] * 2 - 1).backward()  # the batch as lanes
    return gradient_flow(model, lr=lr)


@dataclass(frozen=True)
class InitRow:
    """One setting of compare_inits: first and output layers' mean |grad|, their ratio, the flags."""

    setting: str
    first: float
    output: float
    ratio: float
    flags: list[GradientFlag]
    flow: GradientFlow = field(repr=False, compare=False)

    @property
    def verdict(self) -> str:
        """The verdict from the flags: vanishing, exploding, both ("vanishing and exploding"), or healthy."""
        kinds = sorted({flag.kind for flag in self.flags}, reverse=True)  # vanishing before exploding
        return " and ".join(kinds) or "healthy"


@dataclass(frozen=True)
class InitComparison:
    """compare_inits' result: one row per (activation, init) setting."""

    rows: list[InitRow]
    depth: int
    width: int

    def __str__(self) -> str:
        text = table(
            ["setting", "first mean|g|", "output mean|g|", "first/output", "flagged layers", "verdict"],
            [
                [
                    r.setting,
                    f"{r.first:.3g}",
                    f"{r.output:.3g}",
                    f"{r.ratio:.3g}",
                    str(len({flag.index for flag in r.flags})),
                    r.verdict,
                ]
                for r in self.rows
            ],
        )
        return f"Gradients at init, MLP(2, [{self.width}]*{self.depth} + [1]), one backward\n{text}"


def compare_inits(
    depth: int = 10,
    width: int = 16,
    *,
    gain: float = 4.0,
    batch: int = 1,
    seed: int = 0,
    data_seed: int = 0,
    vanish: float = 1e-3,
    explode: float = 1e3,
) -> InitComparison:
    """vanishing_gradients for sigmoid + U(−1, 1), tanh + Xavier, ReLU + He, and ReLU + gain × He."""
    depth, width, batch = _sizes("compare_inits", depth, width, batch)
    gain = positive("compare_inits", "gain", gain)
    vanish = positive("compare_inits", "vanish", vanish)
    explode = positive("compare_inits", "explode", explode)
    make_rng(seed, "compare_inits")  # checked here, used by each run
    check_seed("compare_inits", data_seed, "data_seed")
    settings: list[tuple[str, str, str | Init]] = [
        ("sigmoid + U(-1, 1)", "sigmoid", "uniform"),
        ("tanh + Xavier", "tanh", "xavier"),
        ("relu + He", "relu", "he"),
        (f"relu + {gain:g} × He", "relu", _scaled(he, gain)),
    ]
    rows = []
    for name, activation, init in settings:
        flow = vanishing_gradients(
            depth, width, activation=activation, init=init, batch=batch, seed=seed, data_seed=data_seed
        )
        rows.append(
            InitRow(
                setting=name,
                first=flow.layers[0].mean_abs_grad,
                output=flow.output.mean_abs_grad,
                ratio=flow.first_to_output,
                flags=flag_gradients(flow, vanish=vanish, explode=explode),
                flow=flow,
            )
        )
    return InitComparison(rows=rows, depth=depth, width=width)


def _scaled(init: str | Init, gain: float) -> Init:
    """init with every weight multiplied by gain."""
    scheme = resolve_init(init, "compare_inits")

    def scaled(fan_in: int, fan_out: int, rng: Rng) -> float:
        return gain * scheme(fan_in, fan_out, rng)

    return scaled


def _sizes(fn: str, depth: int, width: int, batch: int) -> tuple[int, int, int]:
    """An experiment's MLP depth and width and its batch, each a positive int."""
    return (
        check_int(fn, "depth", depth, 1),
        check_int(fn, "width", width, 1),
        check_int(fn, "batch", batch, 1),
    )
