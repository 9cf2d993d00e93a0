"""nn.to_torch, driven by one table of architectures: structure, weights, outputs and gradients vs PyTorch.

CASES lists each model with the torch.nn.Sequential it must become. The tests marked `torch` need
PyTorch (the `torch` fixture skips them without it); the others, the missing-torch error among
them, run either way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nn
from engine import Value
from nn import MLP, SGD, Layer, Neuron, mse_loss, to_torch

# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A model, and the modules of the Sequential it must become: "Linear(nin, nout)" or a class name."""

    name: str
    make: Callable[[], MLP | Layer | Neuron]
    modules: tuple[str, ...]


CASES = [
    Case(
        "relu, micrograd's default",
        lambda: MLP(2, [4, 4, 1], seed=1),
        ("Linear(2, 4)", "ReLU", "Linear(4, 4)", "ReLU", "Linear(4, 1)"),
    ),
    Case("tanh", lambda: MLP(3, [5, 2], activation="tanh", seed=2), ("Linear(3, 5)", "Tanh", "Linear(5, 2)")),
    Case(
        "sigmoid, xavier",
        lambda: MLP(2, [3, 3], activation="sigmoid", init="xavier", seed=3),
        ("Linear(2, 3)", "Sigmoid", "Linear(3, 3)"),
    ),
    Case("linear", lambda: MLP(2, [3, 1], activation="linear", seed=4), ("Linear(2, 3)", "Linear(3, 1)")),
    Case(
        "per-layer list",
        lambda: MLP(3, [4, 3, 5, 2], activation=["relu", "tanh", "sigmoid"], seed=5),
        ("Linear(3, 4)", "ReLU", "Linear(4, 3)", "Tanh", "Linear(3, 5)", "Sigmoid", "Linear(5, 2)"),
    ),
    Case(
        "list with linear, sigmoid output",
        lambda: MLP(2, [3, 3, 1], activation=["linear", "tanh"], output_activation="sigmoid", seed=6),
        ("Linear(2, 3)", "Linear(3, 3)", "Tanh", "Linear(3, 1)", "Sigmoid"),
    ),
    Case(
        "tanh output, he",
        lambda: MLP(2, [4, 3], output_activation="tanh", init="he", seed=7),
        ("Linear(2, 4)", "ReLU", "Linear(4, 3)", "Tanh"),
    ),
    Case(
        "relu output",
        lambda: MLP(2, [3, 2], activation="sigmoid", output_activation="relu", seed=8),
        ("Linear(2, 3)", "Sigmoid", "Linear(3, 2)", "ReLU"),
    ),
    Case("one layer", lambda: MLP(4, [3], seed=9), ("Linear(4, 3)",)),
    Case("layer", lambda: Layer(3, 2, activation="tanh", seed=10), ("Linear(3, 2)", "Tanh")),
    Case("neuron", lambda: Neuron(4, seed=11), ("Linear(4, 1)", "ReLU")),
    Case("linear neuron", lambda: Neuron(3, nonlin=False, seed=12), ("Linear(3, 1)",)),
]


def ids(case: Case) -> str:
    return case.name


def nin(model: MLP | Layer | Neuron) -> int:
    return len(layers_of(model)[0][0].w)


def layers_of(model: MLP | Layer | Neuron) -> list[list[Neuron]]:
    if isinstance(model, Neuron):
        return [[model]]
    if isinstance(model, Layer):
        return [model.neurons]
    return [layer.neurons for layer in model.layers]


def twins(model: MLP | Layer | Neuron, module: Any) -> Iterator[tuple[Value, Any, tuple[int, ...]]]:
    """Each parameter of ours, its torch tensor and index: neurons[j].w[k] is weight[j, k], .b bias[j]."""
    linears = [m for m in module if type(m).__name__ == "Linear"]
    for neurons, linear in zip(layers_of(model), linears, strict=True):
        for j, n in enumerate(neurons):
            for k, w in enumerate(n.w):
                yield w, linear.weight, (j, k)
            yield n.b, linear.bias, (j,)


def batch(model: MLP | Layer | Neuron, n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=1.5, size=(n, nin(model)))


def our_outputs(model: MLP | Layer | Neuron, X: np.ndarray) -> list[list[Value]]:
    """One row of output Values per example (torch's (n, nout) shape)."""
    rows = []
    for x in X.tolist():
        out = model([Value(xi, requires_grad=False) for xi in x]) if not isinstance(model, MLP) else model(x)
        rows.append(list(out) if isinstance(out, list) else [out])
    return rows


def snapshot(model: MLP | Layer | Neuron) -> list[tuple[str, float, float, bool]]:
    return [(name, p.data, p.grad, p.requires_grad) for name, p in model.named_parameters()]


# -- without torch: these run either way ---------------------------------------------------------


def test_without_torch_it_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails, installed or not
    with pytest.raises(ImportError) as info:
        to_torch(MLP(2, [3, 1], seed=0))
    assert str(info.value) == "to_torch needs PyTorch: pip install torch==2.13.0"


def test_is_exported() -> None:
    assert nn.to_torch is to_torch
    assert "to_torch" in nn.__all__


def test_refuses_what_is_not_a_model() -> None:
    with pytest.raises(TypeError, match="needs an MLP, Layer or Neuron, got list"):
        to_torch([Value(1.0)])  # type: ignore[arg-type]


def test_refuses_a_layer_that_mixes_activations() -> None:
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[1] = Neuron(2, activation="tanh", seed=1)
    with pytest.raises(ValueError, match="layer 0's neurons mix activations"):
        to_torch(model)


def test_refuses_layers_that_do_not_chain() -> None:
    model = MLP(2, [3, 1], seed=0)
    model.layers[1].neurons[0].w.pop()
    with pytest.raises(ValueError, match="layer 1's neurons should each have 3 inputs"):
        to_torch(model)


# -- against PyTorch -----------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_structure(case: Case, torch: Any) -> None:
    module = to_torch(case.make())
    assert isinstance(module, torch.nn.Sequential)
    shown = tuple(
        f"Linear({m.in_features}, {m.out_features})" if isinstance(m, torch.nn.Linear) else type(m).__name__
        for m in module
    )
    assert shown == case.modules


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_weights_are_copied_exactly(case: Case, torch: Any) -> None:
    model = case.make()
    module = to_torch(model)
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for neurons, linear in zip(layers_of(model), linears, strict=True):
        assert linear.weight.dtype == linear.bias.dtype == torch.float64
        assert linear.weight.tolist() == [[w.data for w in n.w] for n in neurons]
        assert linear.bias.tolist() == [n.b.data for n in neurons]
        assert linear.weight.requires_grad and linear.bias.requires_grad
    assert [p for p, _, _ in twins(model, module)] == model.parameters()  # every parameter has a twin


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_outputs_match(case: Case, torch: Any) -> None:
    model = case.make()
    module = to_torch(model)
    for seed in range(3):
        X = batch(model, seed=seed)
        ours = np.array([[v.data for v in row] for row in our_outputs(model, X)])
        theirs = module(torch.tensor(X)).detach().numpy()
        assert theirs.shape == ours.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_gradients_of_the_same_loss_match(case: Case, torch: Any) -> None:
    model = case.make()
    module = to_torch(model)
    X = batch(model)
    targets = np.random.default_rng(1).normal(size=(len(X), len(module(torch.tensor(X[:1]))[0])))
    loss = mse_loss([v for row in our_outputs(model, X) for v in row], targets.ravel())
    loss.backward()
    expected = torch.nn.functional.mse_loss(module(torch.tensor(X)), torch.tensor(targets))
    expected.backward()
    assert loss.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    pairs = [(p.grad, tensor.grad[index].item()) for p, tensor, index in twins(model, module)]
    assert len(pairs) == len(model.parameters())
    assert max(abs(ours - theirs) for ours, theirs in pairs) <= 1e-10, pairs


@pytest.mark.torch
def test_the_model_is_not_changed_and_nothing_is_shared(torch: Any) -> None:
    model = MLP(3, [4, 2], activation="tanh", seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = 0.1 * i  # grads and flags must survive the conversion too
    model.layers[1].neurons[0].b.requires_grad = False
    model.layers[1].neurons[1].b.requires_grad = False
    before = snapshot(model)
    module = to_torch(model)
    assert snapshot(model) == before
    with torch.no_grad():  # change torch's numbers: ours stay
        for t in module.parameters():
            t.add_(1.0)
    assert snapshot(model) == before
    copied = [t.detach().clone() for t in module.parameters()]
    for p in model.parameters():  # change ours: torch's stay
        p.data = 42.0
    assert all(torch.equal(t, c) for t, c in zip(module.parameters(), copied, strict=True))


@pytest.mark.torch
def test_requires_grad_follows_the_values(torch: Any) -> None:
    model = MLP(2, [3, 2, 1], seed=0)
    for n in model.layers[0].neurons:  # the whole first layer frozen
        for p in (*n.w, n.b):
            p.requires_grad = False
    for n in model.layers[1].neurons:  # the second layer's weights only
        for w in n.w:
            w.requires_grad = False
    flags = [t.requires_grad for t in to_torch(model).parameters()]
    assert flags == [False, False, False, True, True, True]


@pytest.mark.torch
def test_a_layer_with_mixed_requires_grad_is_refused(torch: Any) -> None:
    model = MLP(2, [3, 1], seed=0)
    for p in model.layers[0].neurons[1].w:  # one frozen neuron: a torch tensor has one flag
        p.requires_grad = False
    with pytest.raises(ValueError, match="layer 0's weights mix requires_grad True and False"):
        to_torch(model)


@pytest.mark.torch
def test_frozen_layers_get_no_gradient_in_either(torch: Any) -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    for p in (*model.layers[0].neurons[0].w, *model.layers[0].neurons[1].w, *model.layers[0].neurons[2].w):
        p.requires_grad = False
    module = to_torch(model)
    X = batch(model)
    mse_loss([row[0] for row in our_outputs(model, X)], [1.0] * len(X)).backward()
    torch.nn.functional.mse_loss(
        module(torch.tensor(X)), torch.ones(len(X), 1, dtype=torch.float64)
    ).backward()
    assert module[0].weight.grad is None
    assert all(w.grad == 0.0 for n in model.layers[0].neurons for w in n.w)
    pairs = [(p.grad, t.grad[i].item()) for p, t, i in twins(model, module) if p.requires_grad]
    assert max(abs(a - b) for a, b in pairs) <= 1e-10


@pytest.mark.torch
def test_dtype_float32(torch: Any) -> None:
    model = MLP(2, [3, 1], seed=0)
    module = to_torch(model, dtype=torch.float32)
    weight = module[0].weight
    assert weight.dtype == torch.float32
    assert torch.equal(weight, torch.tensor([[w.data for w in n.w] for n in model.layers[0].neurons]).float())


@pytest.mark.torch
def test_leaves_torch_random_generator_alone(torch: Any) -> None:
    state = torch.get_rng_state()
    to_torch(MLP(2, [8, 8, 1], seed=0))
    assert torch.equal(torch.get_rng_state(), state)  # no random init is drawn and then overwritten


@pytest.mark.torch
def test_sgd_side_by_side_gives_the_same_losses(torch: Any) -> None:
    model = MLP(2, [5, 5, 1], activation="tanh", seed=3)
    module = to_torch(model)
    X = batch(model, n=8)
    y = np.sin(X[:, 0]) - X[:, 1]
    ours_sgd = SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch_sgd = torch.optim.SGD(module.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        ours_sgd.zero_grad()
        loss = mse_loss([row[0] for row in our_outputs(model, X)], y)
        loss.backward()
        ours_sgd.step()
        torch_sgd.zero_grad()
        expected = torch.nn.functional.mse_loss(module(torch.tensor(X))[:, 0], torch.tensor(y))
        expected.backward()
        torch_sgd.step()
        assert loss.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    pairs = [(p.data, t[i].item()) for p, t, i in twins(model, module)]
    assert max(abs(a - b) for a, b in pairs) <= 1e-12
