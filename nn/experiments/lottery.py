"""The lottery ticket (Frankle & Carbin 2019): iterative magnitude pruning with rewinding, against a control.

A dense net contains a sparse subnetwork that, trained in isolation from the same initial values,
does as well. Iterative magnitude pruning finds it: train, drop the smallest weights, rewind the
rest to their initial values, retrain, repeat.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._checks import check_int, check_real, non_negative
from .._table import table
from ..module import MLP
from ..pruning import Mask, dead_neurons, full_mask, magnitude_mask, rewind, train_masked
from ..train import accuracy, predict
from . import recipes
from ._args import check_widths

__all__ = ["LotteryResult", "LotteryRound", "Outcome", "cut_off_units", "lottery_ticket", "seed_means"]


@dataclass
class Outcome:
    """One trained net: train and test accuracy, and steps to converge (None: never within the run)."""

    train_accuracy: float
    test_accuracy: float
    steps_to_target: int | None
    final_loss: float
    state: dict[str, float]  # the trained parameters
    dead_at_start: list[tuple[int, int]] = field(default_factory=list)  # dead ReLUs on X before training


@dataclass
class LotteryRound:
    """Round k: the mask after k prunings, and the winning ticket and the random-reinit control under it."""

    round: int
    remaining: float  # fraction of the weights kept (biases not counted)
    layer_remaining: list[float]  # the same per layer
    mask: Mask
    ticket: Outcome
    control: Outcome
    # hidden units no kept weight connects to the inputs: z = b = 0 on every example, so dead by
    # construction, in the ticket and the control alike (cut_off_units)
    cut_off: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class LotteryResult:
    """Iterative magnitude pruning with rewinding, round by round; init and control_init are θ₀ and θ₀'."""

    rounds: list[LotteryRound]
    init: dict[str, float]
    control_init: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        target = self.settings.get("target", 1.0)
        header = ["round", "weights"]
        header += [f"{side} {col}" for side in ("ticket", "reinit") for col in ("train", "test", "steps")]
        header += ["cut off", "ticket dead0", "reinit dead0"]
        rows = [
            [
                str(r.round),
                f"{r.remaining:.1%}",
                *_cells(r.ticket),
                *_cells(r.control),
                str(len(r.cut_off)),
                str(len(r.ticket.dead_at_start)),
                str(len(r.control.dead_at_start)),
            ]
            for r in self.rounds
        ]
        return "\n".join(
            [
                f"lottery ticket: {self.settings}",
                f"  steps = first step whose full-batch train accuracy reaches {target:.0%} (— never)",
                "  ticket = the winning ticket (rewound); reinit = random reinit (same mask)",
                "  cut off = hidden units no kept weight links to the inputs (dead by construction, in both)",
                "  dead0 = dead ReLUs before training, the cut-off ones included",
                table(header, rows),
            ]
        )

    __repr__ = __str__


def lottery_ticket(
    rounds: int = 5,
    *,
    prune_fraction: float = 0.2,
    steps: int = 200,
    seed: int = 0,
    widths: Sequence[int] = recipes.HIDDEN,
    output_fraction: float | None = None,
    lr: float = 0.01,
    n: int = 100,
    n_test: int = 500,
    noise: float = 0.2,
    data_seed: int = 0,
    control_seed: int | None = None,
    target: float = 0.95,
) -> LotteryResult:
    """Frankle & Carbin's iterative magnitude pruning on moons: train θ₀ → θ; per layer prune the
    smallest |θ| by prune_fraction of what is left (output layer at output_fraction, by default half,
    as the paper does for fully connected nets); rewind the survivors to θ₀; retrain; repeat.

    Round 0 is the dense net. Each round also trains the control: the same mask on a fresh random
    init θ₀' (seed control_seed, by default seed + 1). Training is Adam at lr on binary cross-entropy
    over the full batch (the paper uses Adam for Lenet-300-100); test accuracy is on n_test moons
    points drawn with another seed, standardized with the training set's mean and spread.

    At high sparsity a hidden unit can lose every incoming weight, or keep only weights that read
    such units: its z is then its bias alone, which starts at 0 in θ₀ and θ₀' alike, so the ReLU
    is dead from step 0 (relu'(0) = 0) in the ticket and in the control. Each round reports these
    cut-off units (cut_off_units) and, per net, the dead units before training (dead_at_start),
    so a control's failure is not blamed on its init where the mask alone explains it. A unit
    that is connected can still be dead at the start: with a zero bias and only ReLU inputs
    (never negative), it is dead whenever all its kept weights are negative, which depends on
    the init's signs, and is where ticket and control can differ.
    """
    fn = "lottery_ticket"
    widths = check_widths(fn, widths)
    rounds, steps = check_int(fn, "rounds", rounds), check_int(fn, "steps", steps, 1)
    prune_fraction = _fraction(fn, "prune_fraction", prune_fraction)
    if output_fraction is not None:
        output_fraction = _fraction(fn, "output_fraction", output_fraction)
    seed = check_int(fn, "seed", seed, None)
    control_seed = None if control_seed is None else check_int(fn, "control_seed", control_seed, None)
    data_seed = check_int(fn, "data_seed", data_seed)
    n, n_test = check_int(fn, "n", n, 2), check_int(fn, "n_test", n_test, 2)
    lr, noise = non_negative(fn, "lr", lr), non_negative(fn, "noise", noise)
    target = check_real(fn, "target", target, "in [0, 1]", lambda t: 0.0 <= t <= 1.0)
    output_rate = prune_fraction / 2 if output_fraction is None else output_fraction
    data = recipes.moons(n, n_test, noise=noise, data_seed=data_seed)
    sizes = [*widths, 1]
    init = MLP(2, sizes, init="he", seed=seed).state_dict()
    control_init = MLP(
        2, sizes, init="he", seed=seed + 1 if control_seed is None else control_seed
    ).state_dict()

    def train(start: Mapping[str, float], mask: Mask) -> Outcome:
        model = MLP(2, sizes, seed=0)
        rewind(model, start, mask)
        dead_at_start = dead_neurons(model, data.X)
        history = train_masked(model, mask, data.X, data.y, steps=steps, lr=lr)
        reached = [k for k, a in enumerate(history.accuracy) if a >= target]
        return Outcome(
            train_accuracy=accuracy(predict(model, data.X), data.y),
            test_accuracy=accuracy(predict(model, data.X_test), data.y_test),
            steps_to_target=reached[0] if reached else None,
            final_loss=history.loss[-1],
            state=model.state_dict(),
            dead_at_start=dead_at_start,
        )

    mask = full_mask(MLP(2, sizes, seed=0))
    results = []
    for k in range(rounds + 1):
        ticket = train(init, mask)
        results.append(
            LotteryRound(
                round=k,
                remaining=sum(mask.values()) / len(mask),
                layer_remaining=_layer_fractions([2, *sizes], mask),
                mask=mask,
                ticket=ticket,
                control=train(control_init, mask),
                cut_off=cut_off_units(mask),
            )
        )
        rates = [prune_fraction] * len(widths) + [output_rate]
        mask = magnitude_mask(mask, ticket.state, [(1.0 - p) ** (k + 1) for p in rates])
    settings = {
        "widths": list(widths),
        "prune_fraction": prune_fraction,
        "output_fraction": output_rate,
        "steps": steps,
        "lr": lr,
        "n": n,
        "noise": noise,
        "seed": seed,
        "target": target,
    }
    return LotteryResult(results, init, control_init, settings)


def seed_means(results: Sequence[LotteryResult]) -> str:
    """Per round over the runs: mean train and test accuracy, runs that reached the target, mean steps."""
    header = ["round", "weights"]
    header += [
        f"{side} {col}" for side in ("ticket", "reinit") for col in ("train", "test", "reached", "steps")
    ]
    header.append("cut off")
    rows = []
    for k, first in enumerate(results[0].rounds):
        row = [str(k), f"{first.remaining:.1%}"]
        for outcomes in ([r.rounds[k].ticket for r in results], [r.rounds[k].control for r in results]):
            reached = [o.steps_to_target for o in outcomes if o.steps_to_target is not None]
            row += [
                f"{statistics.mean(o.train_accuracy for o in outcomes):.1%}",
                f"{statistics.mean(o.test_accuracy for o in outcomes):.1%}",
                f"{len(reached)}/{len(outcomes)}",
                f"{statistics.mean(reached):.0f}" if reached else "—",
            ]
        row.append(f"{statistics.mean(len(r.rounds[k].cut_off) for r in results):.1f}")
        rows.append(row)
    return (
        f"mean over {len(results)} seeds "
        "(reached: runs whose train accuracy hit the target; steps: their mean;\n"
        "  cut off: the mean number of hidden units dead by construction)\n" + table(header, rows)
    )


def cut_off_units(mask: Mask) -> list[tuple[int, int]]:
    """The hidden units (layer, neuron) with no path of kept weights from the inputs, in order.

    A unit is cut off when none of its kept incoming weights reads an input or a connected unit
    (layer by layer, so a unit reading only cut-off units is cut off too). Its z is its bias
    alone on every example; with a zero bias a ReLU unit is dead before training starts, and
    stays dead (its gradient is 0 from the first step, so neither SGD nor Adam moves it).
    """
    # Weight names are layers.{i}.neurons.{j}.w.{k}: weight k of neuron j in layer i.
    kept: dict[int, dict[int, set[int]]] = {}  # layer -> neuron -> the inputs its kept weights read
    for name, keep in mask.items():
        i, j, k = (int(part) for part in name.split(".")[1::2])
        inputs = kept.setdefault(i, {}).setdefault(j, set())
        if keep:
            inputs.add(k)
    cut: list[tuple[int, int]] = []
    connected: set[int] | None = None  # the previous layer's connected units; None: the inputs
    for i in sorted(kept)[:-1]:  # the last layer is the output, never a hidden unit
        alive = {j for j, inputs in kept[i].items() if inputs and (connected is None or inputs & connected)}
        cut += [(i, j) for j in sorted(kept[i]) if j not in alive]
        connected = alive
    return cut


def _cells(o: Outcome) -> list[str]:
    steps = "—" if o.steps_to_target is None else str(o.steps_to_target)
    return [f"{o.train_accuracy:.1%}", f"{o.test_accuracy:.1%}", steps]


def _layer_fractions(sizes: Sequence[int], mask: Mask) -> list[float]:
    """The fraction of each layer's weights that mask keeps (its keys are in named_parameters order)."""
    kept = list(mask.values())
    fractions, start = [], 0
    for nin, nout in itertools.pairwise(sizes):
        fractions.append(sum(kept[start : start + nin * nout]) / (nin * nout))
        start += nin * nout
    return fractions


def _fraction(fn: str, arg: str, value: object) -> float:
    return check_real(fn, arg, value, "in [0, 1)", lambda p: 0.0 <= p < 1.0)
