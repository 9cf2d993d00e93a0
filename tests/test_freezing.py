"""nn.freezing: the freezing policy, what freezing saves backward (counted by hand)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine import BackwardWork, Value, backward_work
from nn.freezing import (
    FreezeEvent,
    FreezePolicy,
    Freezer,
    freeze_neuron,
    frozen_neurons,
    neuron_grad,
    unfreeze_neuron,
)
from nn.losses import mse_loss
from nn.module import MLP
from nn.optim import SGD
from nn.train import fit

# Four points and a target far from any output: the live neurons' gradients stay large.
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0], [2.0, 1.0]])
TARGETS = np.full(4, 10.0)


def mse(preds: list[Value], targets: np.ndarray) -> Value:
    return mse_loss(preds, targets)  # no L2 term: a dead unit's gradients are exactly 0


def net_with_dead_unit() -> tuple[MLP, SGD]:
    """MLP(2, [2, 1]) whose hidden neuron 1 has z = −1 on every input: ReLU gives 0, its grads are 0."""
    model = MLP(2, [2, 1], seed=0)
    dead = model.layers[0].neurons[1]
    for w in dead.w:
        w.data = 0.0
    dead.b.data = -1.0
    return model, SGD(model.parameters(), lr=1e-3)


# -- the policy ----------------------------------------------------------------------------------


def test_a_dead_unit_is_frozen_after_exactly_patience_steps_and_live_units_never() -> None:
    model, opt = net_with_dead_unit()
    freezer = Freezer(model, opt, FreezePolicy(threshold=1e-6, patience=3))
    fit(model, X, TARGETS, mse, opt, steps=6, progress=False, callback=freezer)
    # Calm after steps 0, 1, 2: frozen at step 2, not before; the live ones (grads ~10) never.
    assert freezer.frozen_counts == [0, 0, 1, 1, 1, 1]
    assert freezer.events == [FreezeEvent(step=2, layer=0, neuron=1, grad=0.0)]
    assert frozen_neurons(model) == [(0, 1)]
    assert neuron_grad(model.layers[0].neurons[0]) > 1.0
    assert neuron_grad(model.layers[1].neurons[0]) > 1.0


def test_the_last_trainable_neuron_is_never_frozen_so_training_goes_on() -> None:
    # Every neuron is calm under a huge threshold; freezing all three would leave a loss with no
    # gradient to compute, and fit's next backward would raise. The last one in order stays.
    model, opt = net_with_dead_unit()
    freezer = Freezer(model, opt, FreezePolicy(threshold=1e9, patience=1))
    history = fit(model, X, TARGETS, mse, opt, steps=4, progress=False, callback=freezer)
    assert freezer.frozen_counts == [2, 2, 2, 2] and len(history.loss) == 4
    assert frozen_neurons(model) == [(0, 0), (0, 1)]
    assert history.loss[-1] < history.loss[0]  # the output neuron still trains


def test_threshold_zero_never_freezes_even_exact_zero_grads() -> None:
    # The experiment's baseline runs a Freezer at threshold 0: |g| < 0 never holds.
    model, opt = net_with_dead_unit()
    freezer = Freezer(model, opt, FreezePolicy(threshold=0.0, patience=1))
    fit(model, X, TARGETS, mse, opt, steps=3, progress=False, callback=freezer)
    assert freezer.frozen_counts == [0, 0, 0]
    assert freezer.events == []


def test_neuron_grad_is_the_max_abs_over_weights_and_bias() -> None:
    neuron = MLP(3, [1], seed=0).layers[0].neurons[0]
    for p, g in zip([*neuron.w, neuron.b], [0.5, -2.0, 1.0, -0.25]):
        p.grad = g
    assert neuron_grad(neuron) == 2.0


@pytest.mark.parametrize(
    ("threshold", "patience"), [(-1.0, 1), (float("nan"), 1), (float("inf"), 1), (1e-3, 0), (1e-3, 1.5)]
)
def test_bad_policies_are_refused(threshold: float, patience: int) -> None:
    with pytest.raises(ValueError, match="FreezePolicy"):
        FreezePolicy(threshold, patience)


# -- freezing and unfreezing ---------------------------------------------------------------------


def test_frozen_parameters_stay_exactly_put_and_unfreezing_resumes_training() -> None:
    model, opt = net_with_dead_unit()
    live = freeze_neuron(model, opt, 0, 0)  # a unit with large gradients, frozen by hand
    params = [*live.w, live.b]
    before = [p.data for p in params]
    others = [p.data for p in model.layers[1].neurons[0].w]
    fit(model, X, TARGETS, mse, opt, steps=3, progress=False)
    assert [p.data for p in params] == before  # exactly: not one update
    assert all(not p.requires_grad and p.grad == 0.0 for p in params)
    assert opt.frozen == params
    assert [p.data for p in model.layers[1].neurons[0].w] != others  # the rest trains

    unfreeze_neuron(model, opt, 0, 0)
    assert all(p.requires_grad for p in params) and opt.frozen == []
    fit(model, X, TARGETS, mse, opt, steps=1, progress=False)
    assert all(p.data != b for p, b in zip(params, before))
    assert neuron_grad(live) > 1.0


def test_the_freezer_sees_an_unfreeze_and_needs_patience_steps_again() -> None:
    model, opt = net_with_dead_unit()
    freezer = Freezer(model, opt, FreezePolicy(threshold=1e-6, patience=2))
    fit(model, X, TARGETS, mse, opt, steps=2, progress=False, callback=freezer)
    assert frozen_neurons(model) == [(0, 1)]
    unfreeze_neuron(model, opt, 0, 1)
    fit(model, X, TARGETS, mse, opt, steps=3, progress=False, callback=lambda k, h: freezer(k + 2, h))
    assert freezer.frozen_counts == [0, 1, 0, 1, 1]
    assert [e.step for e in freezer.events] == [1, 3]


def test_freeze_neuron_refuses_bad_indices_and_foreign_optimizers_changing_nothing() -> None:
    model, _ = net_with_dead_unit()
    stranger = SGD(MLP(2, [2, 1], seed=1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="not one of this optimizer's parameters"):
        freeze_neuron(model, stranger, 0, 0)
    assert frozen_neurons(model) == []
    with pytest.raises(IndexError, match="layer 2"):
        freeze_neuron(model, stranger, 2, 0)
    with pytest.raises(IndexError, match=r"neurons 0\.\.1, not 5"):
        freeze_neuron(model, stranger, 0, 5)


# -- what backward still does: counted by hand on MLP(2, [3, 2, 1]) ---------------------------------


def work_after_freezing(*neurons: tuple[int, int], examples: int = 1) -> BackwardWork:
    model = MLP(2, [3, 2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    for layer, index in neurons:
        freeze_neuron(model, opt, layer, index)
    outputs = [model(row) for row in X[:examples]]
    root = outputs[0]
    for out in outputs[1:]:
        root = root + out
    return backward_work(root)


def test_nothing_frozen_counts_every_op_and_edge() -> None:
    # Per example: layer 0, 3 neurons × (2 mul + 2 add + relu) = 15 ops; each mul has 1 edge (w; x is
    # a constant), each add 2, relu 1: 7 edges a neuron, 21. Layer 1, 2 × (3 mul + 3 add + relu) = 14
    # ops, 13 edges each (3 + 6 + 3 + 1), 26. Output: 2 mul + 2 add = 4 ops, 8 edges. Total 33, 55.
    # Nodes: 33 ops + x0, x1 + 9 + 8 + 3 parameters = 55.
    assert work_after_freezing() == BackwardWork(ops=33, edges=55, nodes=55)


def test_freezing_a_first_layer_neuron_removes_its_whole_subgraph() -> None:
    base = work_after_freezing(examples=2)
    frozen = work_after_freezing((0, 0), examples=2)
    # Its inputs are constants, so z = b + w0·x0 + w1·x1 and relu(z) become constants: 2·nin + 1 = 5
    # ops per example. Edges: its own 7, and the edge into h0 in each of the 2 neurons reading it.
    # Nodes: 5 ops and its 3 parameters go; h0 stays, now a constant leaf, once per example.
    assert base.ops - frozen.ops == 2 * 5
    assert base.edges - frozen.edges == 2 * (7 + 2)
    assert base.nodes - frozen.nodes == 2 * 5 + 3 - 2 * 1


def test_freezing_a_later_neuron_saves_only_the_edges_into_its_parameters() -> None:
    base = work_after_freezing(examples=2)
    frozen = work_after_freezing((1, 0), examples=2)
    # Its inputs h require grad, so every w·h and every add is still recorded and visited: the
    # gradient must still reach layer 0. Only nin + 1 = 4 edges per example (into w0..w2, b) go.
    assert base.ops - frozen.ops == 0
    assert base.edges - frozen.edges == 2 * 4
    assert base.nodes - frozen.nodes == 0


def test_a_later_neuron_reading_a_frozen_input_saves_the_constant_prefix_of_its_sum() -> None:
    base = work_after_freezing()
    frozen = work_after_freezing((0, 0), (1, 0))
    # Layer 1 neuron 0 is z = ((b + w0·h0) + w1·h1) + w2·h2: with h0 constant too, w0·h0 and
    # b + w0·h0 become constants (2 ops, 4 edges); the next add loses its left edge and w1·h1,
    # w2·h2 their w edges (3 more). With layer 0's 5 ops and 7 + 1 edges (the other reader of h0).
    assert base.ops - frozen.ops == 5 + 2
    assert base.edges - frozen.edges == 7 + 1 + 4 + 3


# -- arguments: numpy numbers are numbers, a bool or a str is not ----------------------------------------


def test_a_policy_takes_numpy_numbers_and_keeps_plain_ones() -> None:
    policy = FreezePolicy(np.float32(0.5), np.int64(3))
    assert policy == FreezePolicy(0.5, 3)
    assert type(policy.threshold) is float and type(policy.patience) is int


def test_freeze_neuron_takes_numpy_ints_and_refuses_bools() -> None:
    model, opt = net_with_dead_unit()
    assert freeze_neuron(model, opt, np.int64(0), np.int64(1)) is model.layers[0].neurons[1]
    assert unfreeze_neuron(model, opt, np.int32(0), np.int32(1)) is model.layers[0].neurons[1]
    with pytest.raises(ValueError, match="freeze_neuron: layer must be an int, got True"):
        freeze_neuron(model, opt, True, 0)
    with pytest.raises(ValueError, match="unfreeze_neuron: index must be an int, got '1'"):
        unfreeze_neuron(model, opt, 0, "1")
    assert frozen_neurons(model) == []


BAD_SETTINGS = [
    (lambda: FreezePolicy(True, 3), "FreezePolicy: threshold must be a finite number ≥ 0, got True"),
    (lambda: FreezePolicy(1e-3, 2.0), "FreezePolicy: patience must be a positive int, got 2.0"),
]


@pytest.mark.parametrize(("call", "message"), BAD_SETTINGS)
def test_freezing_refuses_bools_and_strs_naming_the_function(call, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
