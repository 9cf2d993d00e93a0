"""nn.experiments.digits and .nielsen: the digits split and its scaling, Nielsen's init, and his gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")  # the digits ship inside scikit-learn's wheel

from engine import Value
from nn.experiments import digits as digits_module
from nn.experiments import nielsen
from nn.experiments.digits import load_digits

# -- the digits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_test", "scaling"), [(450, "standardize"), (450, "unit"), (97, "standardize")])
def test_the_split_holds_every_digit_once(n_test: int, scaling: str) -> None:
    d = load_digits(n_test=n_test, scaling=scaling)
    assert d.X_train.shape == (1797 - n_test, 64) and d.X_test.shape == (n_test, 64)
    assert d.images_train.shape == (1797 - n_test, 8, 8) and d.images_test.shape == (n_test, 8, 8)
    raw = np.concatenate([d.images_train, d.images_test]).reshape(-1, 64)
    everything, _ = digits_module._raw()
    assert sorted(map(tuple, raw)) == sorted(map(tuple, everything))  # a permutation: none lost, none twice
    # The scaled inputs are the images through the stored statistics, train and test alike.
    assert np.allclose(d.X_train, (d.images_train.reshape(-1, 64) - d.mean) / d.std)
    assert np.allclose(d.X_test, (d.images_test.reshape(-1, 64) - d.mean) / d.std)
    assert set(np.unique(d.y_train)) == set(range(10))


def test_standardize_uses_the_training_rows_only() -> None:
    d = load_digits()
    varying = d.images_train.reshape(-1, 64).std(axis=0) > 0
    assert np.allclose(d.X_train.mean(axis=0), 0.0) and np.allclose(d.X_train[:, varying].std(axis=0), 1.0)
    assert np.allclose(d.mean, d.images_train.reshape(-1, 64).mean(axis=0))
    assert not np.allclose(d.X_test.mean(axis=0), 0.0)  # the test rows' own statistics were not used


def test_unit_scaling_is_pixels_over_16() -> None:
    d = load_digits(scaling="unit")
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert np.array_equal(d.X_test * 16.0, d.images_test.reshape(-1, 64))


def test_the_split_is_seeded() -> None:
    a, b, c = load_digits(data_seed=1), load_digits(data_seed=1), load_digits(data_seed=2)
    assert np.array_equal(a.y_test, b.y_test) and np.array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert "1347 training and 450 test" in str(a)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_test": 0}, "load_digits: n_test must be an int from 1 to 1796, got 0"),
        ({"n_test": 1797}, "load_digits: n_test must be an int from 1 to 1796, got 1797"),
        (
            {"scaling": "minmax"},
            "load_digits: unknown scaling 'minmax'; choose one of 'standardize' or 'unit'",
        ),
        ({"data_seed": -1}, "load_digits: data_seed must be None or an int ≥ 0, got -1"),
    ],
)
def test_load_digits_refuses(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        load_digits(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


# -- Nielsen's init and costs --------------------------------------------------------------------


def test_nielsen_init_draws_weights_of_spread_one_over_root_fan_in_and_biases_of_spread_one() -> None:
    model = nielsen.nielsen_mlp([100, 80, 10], seed=0)
    w0 = np.array([w.data for n in model.layers[0].neurons for w in n.w])
    w1 = np.array([w.data for n in model.layers[1].neurons for w in n.w])
    b = np.array([n.b.data for layer in model.layers for n in layer.neurons])
    assert w0.std() == pytest.approx(1 / math.sqrt(100), rel=0.03)
    assert w1.std() == pytest.approx(1 / math.sqrt(80), rel=0.05)
    assert b.std() == pytest.approx(1.0, rel=0.2)
    assert [layer.activation for layer in model.layers] == ["sigmoid", "linear"]
    big = nielsen.nielsen_mlp([100, 80, 10], seed=0, weight_std=1.0)
    assert np.array([w.data for n in big.layers[0].neurons for w in n.w]).std() == pytest.approx(
        1.0, rel=0.03
    )
    again = nielsen.nielsen_mlp([100, 80, 10], seed=0)
    assert again.state_dict() == model.state_dict()
    assert nielsen.nielsen_mlp([100, 80, 10], seed=1).state_dict() != model.state_dict()


def test_nielsen_costs_are_his_formulas() -> None:
    z = np.array([[0.3, -1.2], [2.0, 0.1]])  # two examples, two outputs
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    a = 1 / (1 + np.exp(-z))
    logits = [Value(column) for column in z.T]
    ce = nielsen.nielsen_cost(logits, y, "cross_entropy").data
    quad = nielsen.nielsen_cost(logits, y, "quadratic").data
    assert ce == pytest.approx(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a)) / 2, rel=1e-12)
    assert quad == pytest.approx(0.5 * np.sum((a - y) ** 2) / 2, rel=1e-12)


@pytest.mark.parametrize("cost", nielsen.COSTS)
@pytest.mark.parametrize("sizes", [[64, 30, 10], [64, 30, 30, 30, 10], [64, 5, 7, 3]])
def test_matrix_backprop_gives_the_engines_gradients(cost: str, sizes: list[int]) -> None:
    d = load_digits(scaling="unit")
    X, Y = d.X_train[:50], np.eye(10)[d.y_train[:50]][:, : sizes[-1]]
    model = nielsen.nielsen_mlp(sizes, seed=4)
    nielsen.nielsen_cost(model(X), Y, cost).backward()  # the engine, the batch as lanes
    _, deltas, grads_w = nielsen.matrix_backprop(model, X, Y, cost)
    for layer, delta, grad_w in zip(model.layers, deltas, grads_w):
        b = np.array([n.b.grad for n in layer.neurons])
        w = np.array([[p.grad for p in n.w] for n in layer.neurons])
        assert np.allclose(delta.mean(axis=0), b, rtol=1e-10, atol=1e-15)
        assert np.allclose(grad_w, w, rtol=1e-10, atol=1e-15)
    norms = nielsen.bias_gradient_norms(model, X, Y, cost)
    engine_norms = [np.linalg.norm([n.b.grad for n in layer.neurons]) for layer in model.layers[:-1]]
    assert np.allclose(norms, engine_norms, rtol=1e-10)


def test_initial_gradients_shrink_layer_by_layer_toward_the_input() -> None:
    result = nielsen.initial_gradients(seeds=range(3), n=300)
    assert [len(norms) for norms in result.norms] == [3, 3, 3]
    for i, sizes in enumerate(result.sizes):
        means = result.mean(i)
        assert len(means) == len(sizes) - 2
        assert (np.diff(means) > 0).all(), f"{sizes}: {means}"  # each layer slower than the next
    text = str(result)
    assert "300 training digits; 3 seeds" in text
    for numbers in nielsen.NIELSEN_MNIST.values():
        for number in numbers:
            assert f"{number:.4f}" in text


def test_speed_of_learning_starts_at_init_and_keeps_the_first_layer_slowest() -> None:
    history = nielsen.speed_of_learning([64, 30, 30, 10], epochs=20, n=200, seed=2)
    assert history.shape == (20, 2)
    first = nielsen.initial_gradients([[64, 30, 30, 10]], seeds=[2], n=200).norms[0][0]
    assert np.allclose(history[0], first)
    assert (history[:, 0] < history[:, 1]).all()
    still = nielsen.speed_of_learning([64, 30, 30, 10], epochs=3, n=200, seed=2, lr=0.0)
    assert np.allclose(still, still[0])  # lr 0: nothing moves


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nielsen.nielsen_mlp([64]), "nielsen_mlp: sizes must hold the inputs and at least one layer"),
        (lambda: nielsen.initial_gradients(cost="hinge"), "initial_gradients: unknown cost 'hinge'"),
        (
            lambda: nielsen.speed_of_learning(epochs=0),
            "speed_of_learning: epochs must be a positive int, got 0",
        ),
    ],
)
def test_nielsen_refuses(call: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        call()  # type: ignore[operator]
    assert str(err.value).startswith(message)
