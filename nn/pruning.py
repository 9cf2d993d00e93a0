"""Dead ReLU units, pruning them away exactly, and the lottery ticket's masks and rewinding.

A ReLU unit whose z = w·x + b is ≤ 0 on every input outputs exactly 0.0 and gets no gradient
(relu'(z) = 0 there): it is dead, and training cannot revive it. Removing it, with the weights
that read it in the next layer, changes no output on those inputs, bit for bit: see prune().

The lottery ticket hypothesis: a dense net contains a sparse subnetwork that, trained in
isolation from the same initial values, does as well. Iterative magnitude pruning finds it:
train, drop the smallest weights, rewind the rest to their initial values, retrain, repeat
(the experiment itself is nn.experiments.lottery_ticket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from engine import Value

from ._checks import check_instance, check_int, check_real, is_int, matrix, non_negative, ordered
from .losses import binary_cross_entropy
from .module import MLP, Neuron
from .optim import Adam
from .train import History, fit

__all__ = [
    "Mask",
    "dead_neurons",
    "full_mask",
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
    outputs = model.layer_outputs(matrix("dead_neurons", X))
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


# -- helpers -------------------------------------------------------------------------------------


def _by_layer(mask: Mask) -> dict[int, list[str]]:
    """The mask's weight names grouped by layer (0, 1, ...), in parameter order."""
    layers: dict[str, list[str]] = {}
    for name in mask:
        # The layer holding a weight is the model's child its name starts with: named_modules()
        # calls the MLP's layers "layers.0", "layers.1"..., and named_parameters() extends those names.
        layers.setdefault(".".join(name.split(".")[:2]), []).append(name)
    return dict(enumerate(layers.values()))


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
