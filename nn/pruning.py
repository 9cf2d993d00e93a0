"""Dead ReLU units, pruning them away exactly, and the lottery ticket experiment (Frankle & Carbin 2019).

A ReLU unit whose z = w·x + b is ≤ 0 on every input outputs exactly 0.0 and gets no gradient
(relu'(z) = 0 there): it is dead, and training cannot revive it. Removing it, with the weights
that read it in the next layer, changes no output on those inputs, bit for bit: see prune().

The lottery ticket hypothesis: a dense net contains a sparse subnetwork that, trained in
isolation from the same initial values, does as well. Iterative magnitude pruning finds it:
train, drop the smallest weights, rewind the rest to their initial values, retrain, repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine import Value

from ._checks import check_instance, check_int, check_real, check_seed, is_int, non_negative, ordered
from .data import make_moons, standardize
from .losses import binary_cross_entropy, hinge_loss
from .module import MLP, Neuron
from .optim import SGD, Adam
from .train import History, _rows, accuracy, fit, predict

__all__ = [
    "DeadNeuronResult",
    "LotteryResult",
    "LotteryRound",
    "Mask",
    "Outcome",
    "dead_neuron_experiment",
    "dead_neurons",
    "full_mask",
    "lottery_ticket",
    "magnitude_mask",
    "prune",
    "rewind",
    "train_masked",
]

# A mask over a model's weights: named_parameters() name of each weight -> kept. Biases are not in it.
Mask = dict[str, bool]


# -- dead neurons and pruning ------------------------------------------------------------------


def dead_neurons(model: MLP, X: Any) -> list[tuple[int, int]]:
    """The hidden ReLU units (layer, neuron) with relu(z) = 0 on every row of X, i.e. z ≤ 0 on all of X.

    Only ReLU layers can be dead this way: tanh, sigmoid and linear units output exactly 0 only at
    isolated points, never on a whole data set. The output layer is never listed: its units are
    the model's answers, not something to prune.
    """
    check_instance("dead_neurons", model, MLP, "an nn.MLP")
    outputs = model.layer_outputs(_rows(X, "dead_neurons"))
    return [
        (i, int(j))
        for i, (layer, a) in enumerate(zip(model.layers[:-1], outputs))
        if layer.activation == "relu"
        for j in np.flatnonzero(np.all(a == 0.0, axis=0))
    ]


def prune(model: MLP, neurons: Iterable[tuple[int, int]]) -> MLP:
    """A new, smaller MLP without the given hidden neurons (layer, neuron) and the weights reading them.

    The original is untouched. If each removed unit outputs exactly 0 on some inputs (a dead ReLU
    on X, as dead_neurons finds), the new model's outputs on them equal the old ones exactly: a
    neuron computes b + w₀x₀ + w₁x₁ + ... left to right, the kept terms stay in that order, and a
    dropped term wᵢ·0.0 is a zero, which added to s gives s exactly (for finite weights; a zero
    sum can at most flip the sign of that zero, which == does not see and relu maps to 0.0).
    """
    check_instance("prune", model, MLP, "an nn.MLP")
    drop = _check_prunable(model, neurons)
    kept = [[j for j in range(width) if (i, j) not in drop] for i, width in enumerate(model.sizes[1:])]
    smaller = MLP.from_config({**model.config(), "nouts": [len(k) for k in kept]})
    inputs = list(range(model.nin))  # the old indices of this layer's surviving inputs
    value: dict[Value, float] = {}  # each new parameter's value, from the neuron and input it keeps
    for old, new, keep in zip(model.layers, smaller.layers, kept):
        for target, j in zip(new.neurons, keep):
            source = old.neurons[j]
            value[target.b] = source.b.data
            for w, k in zip(target.w, inputs):
                value[w] = source.w[k].data
        inputs = keep
    # Through load_state_dict, which refuses a NaN or inf weight (a diverged model) as it always has.
    smaller.load_state_dict({name: value[p] for name, p in smaller.named_parameters()})
    return smaller


@dataclass
class DeadNeuronResult:
    """An oversized ReLU net trained hard on moons, its dead units, and the net without them."""

    sizes_before: list[int]
    sizes_after: list[int]
    params_before: int
    params_after: int
    dead_at_init: list[tuple[int, int]]
    dead: list[tuple[int, int]]  # after training: what prune removed
    accuracy_before: float  # training accuracy of the trained net
    accuracy_after: float  # the same for the pruned net
    outputs_identical: bool  # predict(pruned, X) == predict(model, X), every row, exactly
    final_loss: float
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        hidden = len(self.sizes_before) - 2
        per_layer = [sum(1 for i, _ in self.dead if i == layer) for layer in range(hidden)]
        width = self.sizes_before[1:-1]
        lines = [
            f"dead neurons: {self.settings}",
            f"  dead ReLU units at init {len(self.dead_at_init)}, after training {len(self.dead)} "
            f"(per hidden layer: {', '.join(f'{d}/{w}' for d, w in zip(per_layer, width))})",
            f"  {'':<8} {'sizes':<22} {'parameters':>10} {'train acc.':>10}",
            *(
                f"  {name:<8} {sizes!s:<22} {params:>10} {acc:>10.1%}"
                for name, sizes, params, acc in [
                    ("trained", self.sizes_before, self.params_before, self.accuracy_before),
                    ("pruned", self.sizes_after, self.params_after, self.accuracy_after),
                ]
            ),
            f"  outputs on X identical (==): {self.outputs_identical}; final loss {self.final_loss:.4g}",
        ]
        return "\n".join(lines)

    __repr__ = __str__


def dead_neuron_experiment(
    widths: Sequence[int] = (64, 64),
    n: int = 100,
    steps: int = 100,
    lr: float = 1.0,
    *,
    seed: int = 0,
    data_seed: int = 0,
) -> DeadNeuronResult:
    """Train an oversized ReLU MLP(2, [*widths, 1]) on standardized moons with plain SGD at a high lr
    (hinge loss); count its dead units, prune them, and compare the two nets on the training data.

    Why units die: a large step can move a unit's bias and weights so far that z = w·x + b ≤ 0 on
    every input (large steps push biases negative: the dead units end with clearly negative
    biases). From then on relu'(z) = 0 on every example, so the unit's gradient is exactly 0. A
    dead first-layer unit stays dead for good (its inputs never change); one in a later layer can
    revive if the layers below move its inputs. At lr 1.0 most units die within the first 3 steps.
    """
    fn = "dead_neuron_experiment"
    widths = _widths(fn, widths)
    n, steps = check_int(fn, "n", n, 2), check_int(fn, "steps", steps, 1)
    lr, seed = non_negative(fn, "lr", lr), check_int(fn, "seed", seed)
    X, labels = make_moons(n, noise=0.1, seed=check_seed(fn, data_seed, "data_seed"))
    X, _, _ = standardize(X)
    y = labels * 2 - 1  # hinge loss wants ±1
    model = MLP(2, [*widths, 1], seed=seed)
    dead_at_init = dead_neurons(model, X)
    history = fit(
        model, X, y, hinge_loss, SGD(model.parameters(), lr=lr), steps=steps, progress=False, seed=seed
    )
    dead = dead_neurons(model, X)
    smaller = prune(model, dead)
    before, after = predict(model, X), predict(smaller, X)
    return DeadNeuronResult(
        sizes_before=model.sizes,
        sizes_after=smaller.sizes,
        params_before=len(model.parameters()),
        params_after=len(smaller.parameters()),
        dead_at_init=dead_at_init,
        dead=dead,
        accuracy_before=accuracy(before, y),
        accuracy_after=accuracy(after, y),
        outputs_identical=bool(np.array_equal(before, after)),
        final_loss=history.loss[-1],
        settings={"widths": list(widths), "n": n, "steps": steps, "lr": lr, "seed": seed},
    )


# -- lottery tickets -----------------------------------------------------------------------------


def full_mask(model: MLP) -> Mask:
    """Every weight kept (biases are never masked)."""
    biases = {m.b for _, m in model.named_modules() if isinstance(m, Neuron)}
    return {name: True for name, p in model.named_parameters() if p not in biases}


def magnitude_mask(mask: Mask, weights: Mapping[str, float], keep: Sequence[float]) -> Mask:
    """Per layer i, keep the round(nᵢ·keep[i]) (at least 1) largest |w| among the weights mask keeps.

    nᵢ counts all of layer i's weights, so with keep[i] = (1 − p)^k after round k the kept
    fraction is (1 − p)^k up to rounding, without the drift of rounding p of what is left each
    round. weights holds the trained values (a state_dict); biases are never masked.
    """
    layers = _by_layer(mask)
    fractions = ordered("magnitude_mask", "keep", keep)
    if len(fractions) != len(layers):
        raise ValueError(
            f"magnitude_mask: keep must hold one fraction per layer ({len(layers)}), got {len(fractions)}"
        )
    keep = [
        check_real("magnitude_mask", f"keep[{i}]", k, "in [0, 1]", lambda k: 0.0 <= k <= 1.0)
        for i, k in enumerate(fractions)
    ]
    new = dict(mask)
    for layer, names in layers.items():
        target = max(1, round(len(names) * keep[layer]))
        alive = [name for name in names if mask[name]]
        # A stable sort: equal magnitudes go in parameter order, so the mask is deterministic.
        for name in sorted(alive, key=lambda name: abs(weights[name]))[: max(0, len(alive) - target)]:
            new[name] = False
    return new


def rewind(model: MLP, init: Mapping[str, float], mask: Mask) -> None:
    """Set model to its initial values init, with the masked weights at 0: θ = θ₀ ⊙ m (biases from init)."""
    state = {name: (0.0 if not mask.get(name, True) else x) for name, x in init.items()}
    model.load_state_dict(state)


def train_masked(
    model: MLP,
    mask: Mask,
    X: Any,
    y: Any,
    *,
    steps: int,
    lr: float = 0.01,
    callback: Callable[[int, History], None] | None = None,
) -> History:
    """Train with Adam on binary cross-entropy (y in {0, 1}); masked weights are set to 0 and frozen.

    The optimizer leaves frozen parameters untouched, so a masked weight stays exactly 0 through
    training: its gradient is computed (it is still in the graph) but never applied.
    """
    steps, lr = check_int("train_masked", "steps", steps, 1), non_negative("train_masked", "lr", lr)
    named = dict(model.named_parameters())
    masked = [named[name] for name, kept in mask.items() if not kept]
    for p in masked:
        p.data = 0.0
    optimizer = Adam(model.parameters(), lr=lr, frozen=masked)
    return fit(model, X, y, binary_cross_entropy, optimizer, steps=steps, progress=False, callback=callback)


@dataclass
class Outcome:
    """One trained net: train and test accuracy, and steps to converge (None: never within the run)."""

    train_accuracy: float
    test_accuracy: float
    steps_to_target: int | None
    final_loss: float
    state: dict[str, float]  # the trained parameters


@dataclass
class LotteryRound:
    """Round k: the mask after k prunings, and the winning ticket and the random-reinit control under it."""

    round: int
    remaining: float  # fraction of the weights kept (biases not counted)
    layer_remaining: list[float]  # the same per layer
    mask: Mask
    ticket: Outcome
    control: Outcome


@dataclass
class LotteryResult:
    """Iterative magnitude pruning with rewinding, round by round; init and control_init are θ₀ and θ₀'."""

    rounds: list[LotteryRound]
    init: dict[str, float]
    control_init: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        target = self.settings.get("target", 1.0)
        lines = [
            f"lottery ticket: {self.settings}",
            f"  steps = first step whose full-batch train accuracy reaches {target:.0%} (— never)",
            f"  {'':<21} {'winning ticket (rewound)':^27} {'random reinit (same mask)':^27}",
            f"  {'round':>5} {'weights':>8} {'':>6} {'train':>7} {'test':>7} {'steps':>6}   "
            f"{'':>4}{'train':>7} {'test':>7} {'steps':>6}",
        ]
        for r in self.rounds:
            lines.append(
                f"  {r.round:>5} {r.remaining:>8.1%} {'':>6} {_cells(r.ticket)}   {'':>4}{_cells(r.control)}"
            )
        return "\n".join(lines)

    __repr__ = __str__


def lottery_ticket(
    rounds: int = 5,
    prune_fraction: float = 0.2,
    steps: int = 200,
    seed: int = 0,
    *,
    widths: Sequence[int] = (16, 16),
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

    At high sparsity a unit can lose every incoming weight: its z is then its bias alone, which
    starts at 0, so a ReLU unit is dead from step 0. That hits the control harder (its mask was
    not chosen for its weights) and can leave it with a constant output.
    """
    fn = "lottery_ticket"
    widths = _widths(fn, widths)
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
    X, y = make_moons(n, noise=noise, seed=data_seed)
    X, mean, std = standardize(X)
    X_test, y_test = make_moons(n_test, noise=noise, seed=data_seed + 1)
    X_test, _, _ = standardize(X_test, mean, std)
    sizes = [*widths, 1]
    init = MLP(2, sizes, init="he", seed=seed).state_dict()
    control_init = MLP(
        2, sizes, init="he", seed=seed + 1 if control_seed is None else control_seed
    ).state_dict()

    def train(start: Mapping[str, float], mask: Mask) -> Outcome:
        model = MLP(2, sizes, seed=0)
        rewind(model, start, mask)
        history = train_masked(model, mask, X, y, steps=steps, lr=lr)
        reached = [k for k, a in enumerate(history.accuracy) if a >= target]
        return Outcome(
            train_accuracy=accuracy(predict(model, X), y),
            test_accuracy=accuracy(predict(model, X_test), y_test),
            steps_to_target=reached[0] if reached else None,
            final_loss=history.loss[-1],
            state=model.state_dict(),
        )

    mask = full_mask(MLP(2, sizes, seed=0))
    results = []
    for k in range(rounds + 1):
        ticket = train(init, mask)
        results.append(
            LotteryRound(
                round=k,
                remaining=sum(mask.values()) / len(mask),
                layer_remaining=_layer_fractions(mask),
                mask=mask,
                ticket=ticket,
                control=train(control_init, mask),
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


# -- helpers -------------------------------------------------------------------------------------


def _cells(o: Outcome) -> str:
    steps = "—" if o.steps_to_target is None else str(o.steps_to_target)
    return f"{o.train_accuracy:>7.1%} {o.test_accuracy:>7.1%} {steps:>6}"


def _by_layer(mask: Mask) -> dict[int, list[str]]:
    """The mask's weight names grouped by layer (0, 1, ...), in parameter order."""
    layers: dict[str, list[str]] = {}
    for name in mask:
        # The layer holding a weight is the model's child its name starts with: named_modules()
        # calls the MLP's layers "layers.0", "layers.1"..., and named_parameters() extends those names.
        layers.setdefault(".".join(name.split(".")[:2]), []).append(name)
    return dict(enumerate(layers.values()))


def _layer_fractions(mask: Mask) -> list[float]:
    return [sum(mask[name] for name in names) / len(names) for names in _by_layer(mask).values()]


def _widths(fn: str, widths: Sequence[int]) -> list[int]:
    """An experiment's hidden layer widths: an ordered sequence of positive ints."""
    return [check_int(fn, f"widths[{i}]", w, 1) for i, w in enumerate(ordered(fn, "widths", widths))]


def _fraction(fn: str, arg: str, value: object) -> float:
    return check_real(fn, arg, value, "in [0, 1)", lambda p: 0.0 <= p < 1.0)


def _check_prunable(model: MLP, neurons: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (layer, neuron) pairs as a set, after checking each names a hidden neuron and no layer empties."""
    drop = set()
    unknown, outputs = [], []
    last = len(model.layers) - 1
    for item in neurons:
        ok = isinstance(item, (tuple, list, np.ndarray)) and len(item) == 2 and all(is_int(v) for v in item)
        i, j = (int(item[0]), int(item[1])) if ok else (-1, -1)  # numpy's ints too, as np.argwhere gives
        if not ok or not 0 <= i <= last or not 0 <= j < len(model.layers[i].neurons):
            unknown.append(item)
        elif i == last:
            outputs.append((i, j))
        else:
            drop.add((i, j))
    if unknown:
        raise ValueError(f"prune: no such neurons (layer, neuron) in a {model.sizes} MLP: {unknown}")
    if outputs:
        raise ValueError(f"prune: {outputs} are output neurons (layer {last}); only hidden ones can go")
    emptied = [
        i for i in range(last) if sum(1 for layer, _ in drop if layer == i) == len(model.layers[i].neurons)
    ]
    if emptied:
        raise ValueError(
            f"prune: that would remove every neuron of layer(s) {emptied}; at least one must stay"
        )
    return drop
