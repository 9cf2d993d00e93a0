"""Nielsen's chapter 5 ("Why are deep neural networks hard to train?") on the digits.

His network2 by default: sigmoid units, weights w ~ N(0, 1/n_in), biases b ~ N(0, 1), and the
cross-entropy cost on sigmoid outputs. He measures each hidden layer's ‖∂C/∂b‖ (= ‖δ‖ averaged
over 1,000 training images) at init, and again before each epoch of training: the "speed of
learning" of each layer. Here the model is an nn.MLP whose last layer is linear and whose costs
apply the output sigmoid themselves (cross-entropy from the logits stays exact where σ rounds to
1). Many seeds and hundreds of epochs are done in matrix form (numpy: δ = σ′(z) ⊙ δ_nextW,
∂C/∂b = mean δ, ∂C/∂W = δᵀA / n), which the tests check against the engine's own gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine import Value

from .._checks import check_choice, check_int, check_seed, non_negative, positive
from .._table import table
from ..losses import binary_cross_entropy, mse_loss
from ..module import MLP
from ._args import check_widths
from ._threads import OneThread
from .digits import load_digits

__all__ = [
    "COSTS",
    "NIELSEN_MNIST",
    "InitialGradients",
    "bias_gradient_norms",
    "initial_gradients",
    "matrix_backprop",
    "nielsen_cost",
    "nielsen_init",
    "nielsen_mlp",
    "speed_of_learning",
]

COSTS = ("cross_entropy", "quadratic")

# Nielsen's ‖∂C/∂b‖ per hidden layer, first to last, for [784, 30, 30, 10], [784, 30, 30, 30, 10] and
# [784, 30, 30, 30, 30, 10] at init on 1,000 MNIST images ("Neural Networks and Deep Learning", ch. 5).
NIELSEN_MNIST: dict[int, tuple[float, ...]] = {
    2: (0.066, 0.309),
    3: (0.012, 0.060, 0.283),
    4: (0.0030, 0.017, 0.070, 0.285),
}


def nielsen_init(model: MLP, *, seed: int = 0, weight_std: float | None = None, bias_std: float = 1.0) -> MLP:
    """Set every weight to w ~ N(0, 1/n_in) and every bias to b ~ N(0, 1) (network2's default), in place.

    weight_std fixes σ_w for every layer instead of 1/√n_in (1.0: network2's large_weight_initializer).
    """
    rng = np.random.default_rng(check_seed("nielsen_init", seed))
    bias_std = non_negative("nielsen_init", "bias_std", bias_std)
    fixed = None if weight_std is None else positive("nielsen_init", "weight_std", weight_std)
    for layer in model.layers:
        nin = len(layer.neurons[0].w)
        std = 1.0 / math.sqrt(nin) if fixed is None else fixed
        weights = rng.normal(0.0, std, size=(len(layer.neurons), nin))
        biases = rng.normal(0.0, 1.0, size=len(layer.neurons)) * bias_std
        for neuron, row, b in zip(layer.neurons, weights.tolist(), biases.tolist()):
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = b
    return model


def nielsen_mlp(sizes: Sequence[int], *, seed: int = 0, weight_std: float | None = None) -> MLP:
    """MLP(sizes[0], sizes[1:]) of sigmoid hidden layers and a linear last layer, at nielsen_init."""
    nin, *widths = check_widths("nielsen_mlp", sizes)
    if not widths:
        raise ValueError(f"nielsen_mlp: sizes must hold the inputs and at least one layer, got {list(sizes)}")
    model = MLP(nin, widths, activation="sigmoid", output_activation="linear", seed=0)
    return nielsen_init(model, seed=seed, weight_std=weight_std)


def nielsen_cost(logits: Sequence[Value], targets: np.ndarray, cost: str = "cross_entropy") -> Value:
    """network2's costs on a = σ(logits), one-hot targets (n, k), averaged over the n examples:
    cross_entropy C = Σⱼ −yⱼ ln aⱼ − (1 − yⱼ) ln(1 − aⱼ); quadratic C = ½ Σⱼ (aⱼ − yⱼ)²."""
    kind = check_choice("nielsen_cost", "cost", cost, COSTS)
    n = len(targets)
    if kind == "cross_entropy":
        summed: Value = binary_cross_entropy(list(logits), targets, reduction="sum")
        return summed * (1.0 / n)
    total: Value = mse_loss([z.sigmoid() for z in logits], targets, reduction="sum")
    return total * (0.5 / n)


def matrix_backprop(
    model: MLP | tuple[list[np.ndarray], list[np.ndarray]],
    X: np.ndarray,
    targets: np.ndarray,
    cost: str = "cross_entropy",
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Backprop in matrix form for a nielsen_mlp: per layer, z (n × units), δ = ∂C/∂z (n × units, each
    example's own: C's average is not taken), and ∂C/∂W = δᵀA / n (the bias's ∂C/∂b is δ's column mean).

    model: an MLP (sigmoid hidden layers, linear last) or its (weights, biases) as arrays.
    """
    kind = check_choice("matrix_backprop", "cost", cost, COSTS)
    weights, biases = layer_arrays(model) if isinstance(model, MLP) else model
    with OneThread():
        return _backprop(weights, biases, X, targets, kind)


def _backprop(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, targets: np.ndarray, kind: str
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """matrix_backprop on arrays, its arguments checked."""
    a = np.asarray(X, dtype=np.float64)
    inputs, zs = [], []
    for W, b in zip(weights, biases):
        inputs.append(a)
        z = a @ W.T + b
        zs.append(z)
        a = _sigmoid(z)  # the last layer's σ is the costs'
    # δ of the output: ∂C/∂z = a − y for the cross-entropy (σ′ cancels), (a − y)·σ′(z) for the quadratic.
    delta = a - targets if kind == "cross_entropy" else (a - targets) * a * (1.0 - a)
    deltas = [delta]
    for W, s in zip(weights[:0:-1], inputs[:0:-1]):  # a hidden layer's output is the next one's input
        delta = (delta @ W) * s * (1.0 - s)  # δˡ = σ′(zˡ) ⊙ (δˡ⁺¹ Wˡ⁺¹), σ′ = σ(1 − σ)
        deltas.append(delta)
    deltas.reverse()
    n = len(a)
    grads_w = [d.T @ inp / n for d, inp in zip(deltas, inputs)]
    return zs, deltas, grads_w


def layer_arrays(model: MLP) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each layer's weights (units × inputs) and biases as arrays, copied from the model."""
    weights = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in model.layers]
    biases = [np.array([n.b.data for n in layer.neurons]) for layer in model.layers]
    return weights, biases


def bias_gradient_norms(
    model: MLP | tuple[list[np.ndarray], list[np.ndarray]],
    X: np.ndarray,
    targets: np.ndarray,
    cost: str = "cross_entropy",
) -> np.ndarray:
    """‖∂C/∂b‖ of each hidden layer, first to last, C averaged over the examples (Nielsen's measure)."""
    _, deltas, _ = matrix_backprop(model, X, targets, cost)
    return np.array([float(np.linalg.norm(d.mean(axis=0))) for d in deltas[:-1]])


@dataclass(frozen=True)
class InitialGradients:
    """initial_gradients' result: per architecture, the norms of every seed (seeds × hidden layers)."""

    sizes: list[list[int]]
    norms: list[np.ndarray] = field(repr=False)
    seeds: list[int]
    n: int
    cost: str

    def mean(self, i: int) -> np.ndarray:
        """Architecture i's mean ‖∂C/∂b‖ over the seeds, per hidden layer."""
        means: np.ndarray = self.norms[i].mean(axis=0)
        return means

    def std(self, i: int) -> np.ndarray:
        """Architecture i's spread (σ over the seeds), per hidden layer."""
        spread: np.ndarray = self.norms[i].std(axis=0)
        return spread

    def __str__(self) -> str:
        rows = []
        for i, sizes in enumerate(self.sizes):
            nielsen = NIELSEN_MNIST.get(len(sizes) - 2)
            for layer, (mean, std) in enumerate(zip(self.mean(i), self.std(i))):
                rows.append(
                    [
                        str(sizes) if layer == 0 else "",
                        f"layer {layer}",
                        f"{mean:.4f} ± {std:.4f}",
                        f"{self.norms[i][:, layer].min():.4f}–{self.norms[i][:, layer].max():.4f}",
                        f"{nielsen[layer]:.4f}" if nielsen and sizes[1:-1] == [30] * len(nielsen) else "",
                    ]
                )
        header = ["network", "hidden layer", "‖∂C/∂b‖ mean ± σ", "min–max", "Nielsen (MNIST)"]
        return (
            f"‖∂C/∂b‖ per hidden layer at init ({self.cost}, averaged over {self.n} training digits; "
            f"{len(self.seeds)} seeds)\n" + table(header, rows)
        )


def initial_gradients(
    sizes: Iterable[Sequence[int]] = ([64, 30, 30, 10], [64, 30, 30, 30, 10], [64, 30, 30, 30, 30, 10]),
    *,
    seeds: Iterable[int] = range(10),
    n: int = 1000,
    data_seed: int = 0,
    cost: str = "cross_entropy",
    weight_std: float | None = None,
) -> InitialGradients:
    """Nielsen's table: ‖∂C/∂b‖ per hidden layer at nielsen_init, on the first n training digits (x / 16)."""
    architectures = [check_widths("initial_gradients", s) for s in sizes]
    seeds = [check_seed("initial_gradients", s) for s in seeds]
    check_choice("initial_gradients", "cost", cost, COSTS)
    X, Y = _nielsen_data("initial_gradients", n, data_seed)
    norms = []
    for arch in architectures:
        model = nielsen_mlp(arch, seed=0, weight_std=weight_std)
        rows = [
            bias_gradient_norms(nielsen_init(model, seed=s, weight_std=weight_std), X, Y, cost) for s in seeds
        ]
        norms.append(np.array(rows))
    return InitialGradients(sizes=architectures, norms=norms, seeds=list(seeds), n=len(X), cost=cost)


def speed_of_learning(
    sizes: Sequence[int] = (64, 30, 30, 30, 30, 10),
    *,
    epochs: int = 500,
    lr: float = 0.1,
    lmbda: float = 5.0,
    n: int = 1000,
    seed: int = 0,
    data_seed: int = 0,
    cost: str = "cross_entropy",
) -> np.ndarray:
    """‖∂C/∂b‖ per hidden layer before each epoch (epochs × layers) of Nielsen's run: one batch of the
    n digits per epoch, w ← (1 − lr·λ/n)·w − lr·∂C/∂w, b ← b − lr·∂C/∂b (network2's L2-regularized SGD)."""
    epochs = check_int("speed_of_learning", "epochs", epochs, 1)
    lr = non_negative("speed_of_learning", "lr", lr)
    lmbda = non_negative("speed_of_learning", "lmbda", lmbda)
    check_choice("speed_of_learning", "cost", cost, COSTS)
    X, Y = _nielsen_data("speed_of_learning", n, data_seed)
    weights, biases = layer_arrays(nielsen_mlp(sizes, seed=seed))
    decay = 1.0 - lr * lmbda / len(X)
    history = np.empty((epochs, len(weights) - 1))
    with OneThread():
        for epoch in range(epochs):
            _, deltas, grads_w = _backprop(weights, biases, X, Y, cost)
            grads_b = [d.mean(axis=0) for d in deltas]
            history[epoch] = [np.linalg.norm(g) for g in grads_b[:-1]]
            weights = [decay * W - lr * g for W, g in zip(weights, grads_w)]
            biases = [b - lr * g for b, g in zip(biases, grads_b)]
    return history


def _nielsen_data(fn: str, n: int, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n training digits as Nielsen feeds MNIST (pixels in [0, 1]) with one-hot targets."""
    digits = load_digits(data_seed=data_seed, scaling="unit")
    n = check_int(fn, "n", n, 1, most=len(digits.X_train))
    return digits.X_train[:n], np.eye(10)[digits.y_train[:n]]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), from e^(−|z|) ≤ 1 only: no overflow warning at any z."""
    e = np.exp(-np.abs(z))
    s: np.ndarray = np.where(z >= 0.0, 1.0, e) / (1.0 + e)
    return s
