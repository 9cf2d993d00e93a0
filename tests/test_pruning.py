"""nn.pruning: dead ReLU units, exact pruning, and the lottery ticket's masks, rewinding and rounds."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine import Value
from nn.data import make_moons, standardize
from nn.module import MLP
from nn.pruning import (
    dead_neurons,
    full_mask,
    magnitude_mask,
    prune,
    rewind,
    train_masked,
)

# Inputs covering both signs of each coordinate.
X = np.array([[-1.0, -0.5], [-0.3, 0.8], [0.0, 0.0], [0.4, -0.9], [1.0, 0.7], [2.0, -2.0]])


def hand_built() -> MLP:
    """MLP(2, [4, 3, 1]): dead by hand are (0, 0) (bias −100) and (1, 2) (reads only ReLU outputs, w < 0).

    (0, 1) outputs 1 on every input (w = 0, b = 1): always active, not dead. (0, 2) and (0, 3)
    are active on some rows only: not dead either.
    """
    model = MLP(2, [4, 3, 1], seed=0)
    first, second, out = (layer.neurons for layer in model.layers)
    first[0].b.data = -100.0
    first[1].w[0].data, first[1].w[1].data, first[1].b.data = 0.0, 0.0, 1.0
    first[2].w[0].data, first[2].w[1].data, first[2].b.data = 1.0, 0.5, 0.0
    first[3].w[0].data, first[3].w[1].data, first[3].b.data = -0.7, 0.3, 0.1
    for w in second[2].w:  # its inputs are ReLU outputs (≥ 0), so z = Σ w·h − 1 < 0 everywhere
        w.data = -abs(w.data)
    second[2].b.data = -1.0
    out[0].b.data = 0.25
    return model


def outputs(model: MLP) -> list[float]:
    return [model(row).data for row in X]


def test_dead_neurons_finds_the_hand_built_dead_units_and_only_those() -> None:
    assert dead_neurons(hand_built(), X) == [(0, 0), (1, 2)]


def test_dead_neurons_lists_only_relu_hidden_layers_never_the_output() -> None:
    model = MLP(2, [2, 2, 1], activation=["tanh", "relu"], output_activation="relu", seed=0)
    for layer in model.layers:  # every unit's z is −100 on every input
        for n in layer.neurons:
            n.b.data = -100.0
    # tanh(−100) is −1, not 0; the output ReLU outputs 0 but is an answer, not a hidden unit.
    assert dead_neurons(model, X) == [(1, 0), (1, 1)]


def test_prune_gives_exactly_the_same_outputs_and_a_smaller_config() -> None:
    model = hand_built()
    smaller = prune(model, dead_neurons(model, X))
    assert smaller.sizes == [2, 3, 2, 1]
    assert smaller.config() == {**model.config(), "nouts": [3, 2, 1]}
    assert outputs(smaller) == outputs(model)  # ==, not approx
    # The survivors' weights, with the dead unit's column gone from the next layer.
    kept = model.layers[1].neurons[0]
    assert [w.data for w in smaller.layers[1].neurons[0].w] == [w.data for w in kept.w[1:]]
    assert smaller.layers[1].neurons[0].b.data == kept.b.data


def test_pruning_a_live_unit_changes_the_outputs() -> None:
    model = hand_built()
    assert outputs(prune(model, [(0, 1)])) != outputs(model)  # (0, 1) outputs 1 everywhere


def test_prune_exact_on_a_trained_net_with_many_terms() -> None:
    """Bit for bit on a trained net with random weights (order of summation matters here)."""
    Xm, labels = make_moons(40, noise=0.1, seed=3)
    Xm, _, _ = standardize(Xm)
    model = MLP(2, [24, 24, 1], seed=2)
    for n in model.layers[0].neurons[::3]:  # a third of the first layer dead
        n.b.data = -50.0
    dead = dead_neurons(model, Xm)
    assert len(dead) >= 8
    smaller = prune(model, dead)
    assert [smaller(row).data for row in Xm] == [model(row).data for row in Xm]
    assert labels.shape == (40,)


def test_prune_leaves_the_original_untouched_and_shares_no_values() -> None:
    model = hand_built()
    state, sizes, before = model.state_dict(), model.sizes, outputs(model)
    smaller = prune(model, [(0, 0), (1, 2), (0, 0)])  # a repeat is the same neuron
    assert model.state_dict() == state
    assert model.sizes == sizes
    assert outputs(model) == before
    assert not {id(p) for p in smaller.parameters()} & {id(p) for p in model.parameters()}


def test_prune_nothing_is_a_copy_and_keeps_mixed_activations() -> None:
    model = MLP(2, [3, 3, 2], activation=["relu", "tanh"], output_activation="sigmoid", seed=1)
    copy = prune(model, [])
    assert copy.state_dict() == model.state_dict()
    assert copy is not model
    smaller = prune(model, [(1, 0)])
    assert smaller.config()["activation"] == ["relu", "tanh"]
    assert smaller.config()["output_activation"] == "sigmoid"


@pytest.mark.parametrize(
    ("neurons", "message"),
    [
        ([(2, 0)], r"\[\(2, 0\)\] are output neurons"),
        ([(0, 0), (0, 1), (0, 2), (0, 3)], r"every neuron of layer\(s\) \[0\]"),
        ([(3, 0), (0, 9)], r"no such neurons .* \[\(3, 0\), \(0, 9\)\]"),
        ([(-1, 0)], r"no such neurons .* \[\(-1, 0\)\]"),
        ([(True, 0)], r"no such neurons"),
        ([(0,)], r"no such neurons"),
    ],
)
def test_prune_errors_name_the_neurons(neurons: list[tuple[int, int]], message: str) -> None:
    model = hand_built()
    state = model.state_dict()
    with pytest.raises(ValueError, match=message):
        prune(model, neurons)
    assert model.state_dict() == state


def test_prune_and_dead_neurons_want_an_mlp() -> None:
    with pytest.raises(TypeError, match=r"needs an nn\.MLP"):
        prune(hand_built().layers[0], [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"needs an nn\.MLP"):
        dead_neurons(Value(1.0), X)  # type: ignore[arg-type]


def test_prune_refuses_a_diverged_model_naming_the_weight() -> None:
    model = hand_built()
    model.layers[0].neurons[1].w[0].data = float("nan")
    with pytest.raises(
        ValueError, match=r"entry 'layers\.0\.neurons\.0\.w\.0' must be a finite number, got nan"
    ):
        prune(model, [(0, 0)])  # neuron 1 becomes neuron 0 of the smaller model


# -- lottery ticket ------------------------------------------------------------------------------


def small_moons() -> tuple[np.ndarray, np.ndarray]:
    Xm, y = make_moons(20, noise=0.1, seed=0)
    return standardize(Xm)[0], y


def test_masked_weights_stay_exactly_zero_through_training() -> None:
    Xm, y = small_moons()
    model = MLP(2, [6, 6, 1], init="he", seed=0)
    mask = full_mask(model)
    names = list(mask)
    for name in names[::2]:
        mask[name] = False
    named = dict(model.named_parameters())
    start = model.state_dict()
    seen = []

    def check(step: int, history: object) -> None:
        seen.append(step)
        assert all(named[name].data == 0.0 for name in names[::2])

    train_masked(model, mask, Xm, y, steps=8, lr=0.05, callback=check)
    assert seen == list(range(8))
    changed = [named[name].data != start[name] for name in names[1::2]]
    assert sum(changed) > len(changed) / 2  # the survivors did train (those reading a dead unit cannot)


def test_rewind_restores_the_initial_values_exactly_for_survivors() -> None:
    Xm, y = small_moons()
    model = MLP(2, [6, 6, 1], init="he", seed=0)
    init = model.state_dict()
    mask = full_mask(model)
    train_masked(model, mask, Xm, y, steps=5, lr=0.05)
    mask = magnitude_mask(mask, model.state_dict(), [0.5, 0.5, 0.5])
    assert model.state_dict() != init
    rewind(model, init, mask)
    after = model.state_dict()
    assert {n: x for n, x in after.items() if mask.get(n, True)} == {
        n: x for n, x in init.items() if mask.get(n, True)
    }  # survivors and biases: their initial values, exactly
    assert all(after[n] == 0.0 for n, kept in mask.items() if not kept)


def test_magnitude_mask_drops_the_smallest_magnitudes_per_layer() -> None:
    model = MLP(2, [3, 1], seed=0)
    weights = {"layers.0.neurons.0.w.0": 0.5, "layers.0.neurons.0.w.1": -0.1, "layers.0.neurons.1.w.0": 3.0}
    weights |= {"layers.0.neurons.1.w.1": -2.0, "layers.0.neurons.2.w.0": 0.05, "layers.0.neurons.2.w.1": 1.0}
    weights |= {"layers.1.neurons.0.w.0": -0.3, "layers.1.neurons.0.w.1": 0.2, "layers.1.neurons.0.w.2": 0.9}
    mask = magnitude_mask(full_mask(model), weights, [0.5, 2 / 3])
    assert sorted(n for n, kept in mask.items() if not kept) == [
        "layers.0.neurons.0.w.0",  # |0.5|, |−0.1| and |0.05| are layer 0's three smallest of six
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.2.w.0",
        "layers.1.neurons.0.w.1",  # round(3 · 2/3) = 2 kept: |0.2| goes
    ]
    # A weight pruned before stays pruned, even if its value is large.
    again = magnitude_mask(mask, {**weights, "layers.0.neurons.0.w.1": 99.0}, [1 / 3, 1 / 3])
    assert not again["layers.0.neurons.0.w.1"]
    assert sorted(n for n, kept in again.items() if kept) == [
        "layers.0.neurons.1.w.0",
        "layers.0.neurons.1.w.1",
        "layers.1.neurons.0.w.2",
    ]


# -- arguments: numpy ints are ints, a bool or a str is not ------------------------------------------


def test_prune_takes_numpy_ints_as_np_argwhere_gives_them() -> None:
    model = hand_built()
    expected = prune(model, [(0, 0), (1, 2)])
    for neurons in ([(np.int64(0), np.int64(0)), (np.int64(1), np.int64(2))], np.array([[0, 0], [1, 2]])):
        assert prune(model, neurons).state_dict() == expected.state_dict()


BAD_SETTINGS = [
    (
        lambda: train_masked(MLP(2, [1], seed=0), {}, X, np.zeros(len(X)), steps=True),
        ValueError,
        "train_masked: steps must be a positive int, got True",
    ),
    (
        lambda: magnitude_mask(full_mask(hand_built()), hand_built().state_dict(), [1.0, True, 0.5]),
        ValueError,
        "magnitude_mask: keep[1] must be a finite number in [0, 1], got True",
    ),
    (
        lambda: magnitude_mask(full_mask(hand_built()), hand_built().state_dict(), [1.0, 0.5]),
        ValueError,
        "magnitude_mask: keep must hold one fraction per layer (3), got 2",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_SETTINGS)
def test_lottery_parts_refuse_bools_and_strs_naming_themselves(call, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_magnitude_mask_takes_numpy_numbers() -> None:
    mask = full_mask(hand_built())
    state = hand_built().state_dict()
    assert magnitude_mask(mask, state, np.array([0.5, 0.5, 1.0])) == magnitude_mask(
        mask, state, [0.5, 0.5, 1.0]
    )
