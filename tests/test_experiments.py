"""nn.experiments: each experiment's direction at a reduced size, micrograd's recipe, and the arguments."""

from __future__ import annotations

import dataclasses
import itertools
import re
import statistics

import numpy as np
import pytest

from nn.data import make_moons, standardize
from nn.experiments import (
    FreezingResult,
    LotteryResult,
    compare_inits,
    dead_neuron_experiment,
    freezing_experiment,
    input_scaling,
    lottery_ticket,
    recipes,
    seed_means,
    vanishing_gradients,
)
from nn.experiments.lottery import cut_off_units
from nn.losses import hinge_loss, l2_penalty
from nn.module import MLP
from nn.optim import SGD
from nn.pruning import dead_neurons, full_mask, rewind
from nn.train import fit

# -- micrograd's recipe ----------------------------------------------------------------------------


def test_the_recipe_model_is_micrograds_demo_net() -> None:
    model = recipes.model()
    assert model.sizes == [2, 16, 16, 1] and len(model.parameters()) == 337
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert model.state_dict() == MLP(2, [16, 16, 1], seed=1337).state_dict()
    assert recipes.model([8], nout=3, seed=0).sizes == [2, 8, 3]


@pytest.mark.parametrize(
    ("lr", "steps", "k", "rate"), [(1.0, 100, 0, 1.0), (1.0, 100, 50, 0.55), (0.1, 40, 40, 0.01)]
)
def test_the_recipe_decays_the_learning_rate_to_a_tenth(lr: float, steps: int, k: int, rate: float) -> None:
    assert recipes.decay(lr, steps)(k) == pytest.approx(rate)


def test_the_recipe_loss_is_hinge_plus_l2_and_train_is_fit_with_the_recipe() -> None:
    data = recipes.moons(20)
    y = data.y * 2 - 1
    model = recipes.model([4], seed=0)
    scores = [model(row) for row in data.X]
    expected = hinge_loss(scores, y) + l2_penalty(model.parameters(), alpha=1e-4)
    assert recipes.loss(model)(scores, y).data == expected.data
    by_hand = recipes.model([4], seed=0)
    history = recipes.train(model, data.X, y, steps=3, lr=0.5)
    again = fit(
        by_hand,
        data.X,
        y,
        lambda s, t: hinge_loss(s, t) + l2_penalty(by_hand.parameters(), alpha=1e-4),
        SGD(by_hand.parameters(), lr=0.5),
        3,
        progress=False,
        schedule=lambda k: 0.5 * (1.0 - 0.9 * k / 3),
    )
    assert history.loss == again.loss and history.lr == again.lr
    assert model.state_dict() == by_hand.state_dict()


def test_the_recipe_moons_are_standardized_and_the_test_split_uses_the_training_scale() -> None:
    data = recipes.moons(40, 30, noise=0.2, data_seed=3)
    X, y = make_moons(40, noise=0.2, seed=3)
    X, mean, std = standardize(X)
    X_test, y_test = make_moons(30, noise=0.2, seed=4)
    assert np.array_equal(data.X, X) and np.array_equal(data.y, y)
    assert np.array_equal(data.X_test, standardize(X_test, mean, std)[0]) and np.array_equal(
        data.y_test, y_test
    )
    assert recipes.moons(10).X_test.shape == (0, 2)


# -- vanishing and exploding gradients, input scaling ---------------------------------------------


def test_vanishing_and_exploding_gradients_at_full_depth() -> None:
    result = compare_inits(depth=10, width=16)
    sigmoid, tanh, relu, large = result.rows
    assert sigmoid.ratio <= 1e-3  # the first layer's mean |grad| ≥ 1,000 × smaller than the output's
    assert 0.1 <= tanh.ratio <= 10
    assert 0.1 <= relu.ratio <= 10
    assert sigmoid.verdict == "vanishing" and sigmoid.flags[0].name == "layer 0"
    assert tanh.verdict == relu.verdict == "healthy"
    assert large.verdict == "exploding"
    # A ReLU net is positively homogeneous: the gain scales every layer's gradient alike, so the
    # ratio to the output layer is He's own, and only the update measure sees the explosion.
    assert large.ratio == pytest.approx(relu.ratio)
    assert {flag.measure for flag in large.flags} == {"update"}
    assert large.first > 1e6 * relu.first
    text = str(result)
    assert "sigmoid + U(-1, 1)" in text and "exploding" in text


def test_vanishing_gradients_is_deterministic_and_returns_the_flow() -> None:
    a = vanishing_gradients(depth=3, width=4, seed=2)
    b = vanishing_gradients(depth=3, width=4, seed=2)
    assert a == b
    assert len(a.layers) == 4 and a.layers[0].nin == 2 and a.output.nout == 1
    assert vanishing_gradients(depth=3, width=4, seed=3) != a
    # data_seed draws other moons (another example), seed the same weights
    assert vanishing_gradients(depth=3, width=4, seed=2, data_seed=1) != a


@pytest.mark.slow  # trains two networks
def test_input_scaling_standardized_reaches_100_percent_and_raw_does_not() -> None:
    result = input_scaling(100.0, steps=50, n=20)
    raw, standardized = result.runs
    assert standardized.reached_100 is not None
    assert raw.reached_100 is None or raw.reached_100 > standardized.reached_100
    assert raw.peak_loss > 1e3 * raw.first_loss  # the first steps on raw inputs blow the loss up
    assert raw.dead > standardized.dead
    text = str(result)
    assert "raw × 100" in text and "never" in text


def test_input_scaling_reports_a_divergence_instead_of_raising() -> None:
    result = input_scaling(steps=3, n=10, lr=1e200)  # one step makes the weights ~1e200
    for run in result.runs:
        assert run.diverged_at == 1
        assert len(run.history) == 1
        assert run.final_loss == run.first_loss
    assert "at step 1" in str(result)


# -- dead neurons ---------------------------------------------------------------------------------


def test_dead_neuron_experiment_at_reduced_size() -> None:
    """An oversized ReLU net trained at a high lr has dead units; pruned, it answers exactly the same."""
    result = dead_neuron_experiment((24, 24), n=30, steps=10, lr=2.0, seed=0)
    assert len(result.dead) >= 20  # 29 of 48: large steps push biases negative
    assert len(result.dead_at_init) < 5
    assert result.accuracy_before >= 0.9
    assert result.outputs_identical
    assert result.accuracy_after == result.accuracy_before
    assert result.params_after < result.params_before
    assert result.sizes_after[1] + result.sizes_after[2] == 48 - len(result.dead)
    lines = str(result).splitlines()
    assert f"after training {len(result.dead)}" in lines[1]
    assert lines[2].split() == ["sizes", "parameters", "train", "acc."]
    assert lines[3].split()[0] == "trained" and lines[4].split()[0] == "pruned"
    assert lines[4].split()[-2:] == [str(result.params_after), f"{result.accuracy_after:.1%}"]


# -- the lottery ticket ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lottery() -> LotteryResult:
    return lottery_ticket(3, steps=6, seed=0, widths=(10, 10), n=20, n_test=20, lr=0.05)


def test_lottery_sparsity_follows_one_minus_p_to_the_k(lottery: LotteryResult) -> None:
    sizes = [20, 100, 10]  # weights per layer of MLP(2, [10, 10, 1])
    rates = [0.2, 0.2, 0.1]  # the output layer at half the rate, as in the paper
    for r in lottery.rounds:
        expected = [round(n * (1 - p) ** r.round) / n for n, p in zip(sizes, rates)]
        assert r.layer_remaining == expected
        assert all(abs(f - (1 - p) ** r.round) <= 0.5 / n for f, n, p in zip(expected, sizes, rates))
        assert r.remaining == sum(r.mask.values()) / 130
    masks = [r.mask for r in lottery.rounds]
    for earlier, later in itertools.pairwise(masks):  # nested: a pruned weight never comes back
        assert all(earlier[n] for n, kept in later.items() if kept)


def test_lottery_control_uses_the_same_masks_on_a_different_init(lottery: LotteryResult) -> None:
    result = lottery
    weights = list(result.rounds[0].mask)
    assert all(result.init[n] != result.control_init[n] for n in weights)
    for r in result.rounds:
        for outcome in (r.ticket, r.control):  # both trained under this round's mask: zeros exactly there
            assert [outcome.state[n] == 0.0 for n in weights] == [not r.mask[n] for n in weights]
    lines = str(result).splitlines()
    assert "winning ticket" in lines[2] and "random reinit" in lines[2]
    assert "dead by construction" in lines[3] and lines[4].startswith("  dead0 = dead ReLUs before training")
    assert lines[5].split()[:3] == ["round", "weights", "ticket"]
    assert [line.split()[:2] for line in lines[6:]] == [
        [str(r.round), f"{r.remaining:.1%}"] for r in result.rounds
    ]


def test_lottery_ticket_is_deterministic(lottery: LotteryResult) -> None:
    again = lottery_ticket(1, steps=6, seed=0, widths=(10, 10), n=20, n_test=20, lr=0.05)
    first = lottery.rounds[:2]
    assert [r.ticket for r in again.rounds] == [r.ticket for r in first]
    assert [r.control for r in again.rounds] == [r.control for r in first]


def test_cut_off_units_follow_the_mask_layer_by_layer() -> None:
    mask = full_mask(MLP(2, [3, 2, 1], seed=0))
    assert cut_off_units(mask) == []
    for k in (0, 1):  # unit (0, 1) loses both inputs: no path from the data
        mask[f"layers.0.neurons.1.w.{k}"] = False
    for k in (0, 2):  # unit (1, 0) keeps only its weight from (0, 1): cut off too
        mask[f"layers.1.neurons.0.w.{k}"] = False
    assert cut_off_units(mask) == [(0, 1), (1, 0)]
    model = MLP(2, [3, 2, 1], seed=0)
    rewind(model, model.state_dict(), mask)  # biases start at 0, as every init draws them
    X = recipes.moons(20).X
    assert {(0, 1), (1, 0)} <= set(dead_neurons(model, X))  # dead by construction, whatever the weights
    mask["layers.1.neurons.0.w.2"] = True  # reading a connected unit again
    assert cut_off_units(mask) == [(0, 1)]


def test_lottery_reports_the_cut_off_units_and_the_dead_at_start(lottery: LotteryResult) -> None:
    pruned = lottery_ticket(3, prune_fraction=0.6, steps=3, seed=0, widths=(4, 4), n=20, n_test=20, lr=0.05)
    assert any(r.cut_off for r in pruned.rounds)  # at 6% of the weights some units lose every input
    for r in [*lottery.rounds, *pruned.rounds]:
        assert r.cut_off == cut_off_units(r.mask)
        for outcome in (r.ticket, r.control):  # dead by construction in the ticket and the control
            assert set(r.cut_off) <= set(outcome.dead_at_start)
    lines = str(pruned).splitlines()
    assert lines[5].split()[-6:] == ["cut", "off", "ticket", "dead0", "reinit", "dead0"]
    assert [line.split()[-3:] for line in lines[6:]] == [
        [str(len(r.cut_off)), str(len(r.ticket.dead_at_start)), str(len(r.control.dead_at_start))]
        for r in pruned.rounds
    ]


def test_freezing_on_lanes_counts_one_examples_graph_and_without_lanes_every_examples() -> None:
    counts = {
        (lanes, n): freezing_experiment((1e-2,), steps=2, width=4, n=n, n_test=4, last=1, lanes=lanes)
        .runs[0]
        .work[0]
        .ops
        for lanes in (True, False)
        for n in (4, 8)
    }
    assert counts[(True, 4)] == counts[(True, 8)]  # one graph carries every example
    assert counts[(False, 8)] > counts[(False, 4)] > counts[(True, 4)]  # a graph per example


def test_seed_means_averages_each_round_over_the_runs(lottery: LotteryResult) -> None:
    shifted = dataclasses.replace(
        lottery,
        rounds=[
            dataclasses.replace(
                r,
                ticket=dataclasses.replace(
                    r.ticket, train_accuracy=r.ticket.train_accuracy - 0.1, steps_to_target=4
                ),
                control=dataclasses.replace(r.control, steps_to_target=None),
            )
            for r in lottery.rounds
        ],
    )
    lines = seed_means([lottery, shifted]).splitlines()
    assert lines[0].startswith("mean over 2 seeds") and "dead by construction" in lines[1]
    rows = [line.split() for line in lines[3:]]
    assert len(rows) == len(lottery.rounds)
    for row, r in zip(rows, lottery.rounds):
        reached = 1 + (r.ticket.steps_to_target is not None)
        steps = [4] + ([r.ticket.steps_to_target] if r.ticket.steps_to_target is not None else [])
        assert row[:3] == [str(r.round), f"{r.remaining:.1%}", f"{r.ticket.train_accuracy - 0.05:.1%}"]
        assert row[4:6] == [f"{reached}/2", f"{statistics.mean(steps):.0f}"]
        control_reached = int(r.control.steps_to_target is not None)
        assert row[8] == f"{control_reached}/2"
        assert row[-1] == f"{len(r.cut_off):.1f}"  # the same mask in both runs: the same cut-off units


# -- freezing ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def experiment() -> FreezingResult:
    return freezing_experiment((1e-2,), steps=12, width=6, patience=2, n=30, n_test=30, last=4)


def test_freezing_never_adds_backward_work_and_cuts_it_once_frozen(experiment: FreezingResult) -> None:
    base, run = experiment.runs
    assert base.frozen == [0] * 12 and base.threshold == 0.0
    assert run.frozen[-1] > 0 and run.frozen == sorted(run.frozen)
    assert {e.layer for e in run.events} == {0, 1}  # both kinds of saving are exercised
    first = run.frozen.index(next(c for c in run.frozen if c > 0))
    for k in range(12):  # step k's graph is built with the neurons frozen after step k - 1
        b, r = base.work[k], run.work[k]
        assert r.ops <= b.ops and r.edges <= b.edges and r.nodes <= b.nodes
        if k > first:
            assert r.edges < b.edges
        if k > first and any(e.layer == 0 and e.step < k for e in run.events):
            assert r.ops < b.ops
    # Until the first freeze both runs train identically.
    assert run.loss[: first + 1] == base.loss[: first + 1]


def test_the_experiment_table_reads(experiment: FreezingResult) -> None:
    text = str(experiment)
    assert "MLP(2, [6, 6, 1])" in text and "(30 train points" in text
    base, run = text.splitlines()[-2:]
    assert base.split()[0] == "none" and run.split()[0] == "0.01"
    assert base.split()[4] == "1.000"  # the baseline's own ratios


# -- arguments: one convention; numpy numbers are numbers, a bool or a str is not -------------------


@pytest.mark.parametrize(
    ("call", "positional"),
    [
        (lambda: vanishing_gradients(10, 16, "tanh"), 2),  # type: ignore[misc]
        (lambda: compare_inits(10, 16, 4.0), 2),  # type: ignore[misc]
        (lambda: input_scaling(100.0, 50), 1),  # type: ignore[misc]
        (lambda: dead_neuron_experiment((8, 8), 30), 1),  # type: ignore[misc]
        (lambda: lottery_ticket(3, 0.2), 1),  # type: ignore[misc]
        (lambda: freezing_experiment((1e-2,), 12), 1),  # type: ignore[misc]
    ],
)
def test_experiments_are_keyword_only_after_their_first_arguments(call, positional: int) -> None:
    with pytest.raises(TypeError, match=f"takes from 0 to {positional} positional arguments"):
        call()


BAD_SETTINGS = [
    (
        lambda: vanishing_gradients(depth=True),
        ValueError,
        "vanishing_gradients: depth must be a positive int, got True",
    ),
    (
        lambda: vanishing_gradients(width="16"),
        ValueError,
        "vanishing_gradients: width must be a positive int, got '16'",
    ),
    (
        lambda: vanishing_gradients(batch=0),
        ValueError,
        "vanishing_gradients: batch must be a positive int, got 0",
    ),
    (
        lambda: vanishing_gradients(seed=1.5),
        TypeError,
        "vanishing_gradients: seed must be an int, a random.Random or None",
    ),
    (lambda: vanishing_gradients(seed=True), TypeError, "vanishing_gradients: seed must be an int"),
    (
        lambda: vanishing_gradients(data_seed=-1),
        ValueError,
        "vanishing_gradients: data_seed must be None or an int ≥ 0, got -1",
    ),
    (lambda: compare_inits(depth=2.0), ValueError, "compare_inits: depth must be a positive int, got 2.0"),
    (lambda: compare_inits(gain="4"), ValueError, "compare_inits: gain must be a finite number > 0, got '4'"),
    (lambda: compare_inits(seed="0"), TypeError, "compare_inits: seed must be an int"),
    (lambda: compare_inits(data_seed="0"), ValueError, "compare_inits: data_seed must be None or an int ≥ 0"),
    (lambda: input_scaling(steps=True), ValueError, "input_scaling: steps must be a positive int, got True"),
    (lambda: input_scaling(scale=0), ValueError, "input_scaling: scale must be a finite number > 0, got 0"),
    (lambda: input_scaling(n=np.float64(100)), ValueError, "input_scaling: n must be an int ≥ 2"),
    (
        lambda: input_scaling(data_seed="0"),
        ValueError,
        "input_scaling: data_seed must be None or an int ≥ 0, got '0'",
    ),
    (
        lambda: input_scaling(seed=True),
        TypeError,
        "input_scaling: seed must be an int, a random.Random or None",
    ),
    (lambda: input_scaling(lr=True), ValueError, "input_scaling: lr must be a finite number ≥ 0, got True"),
    (
        lambda: dead_neuron_experiment(widths={4, 8}),
        TypeError,
        "dead_neuron_experiment: widths must be an ordered sequence",
    ),
    (
        lambda: dead_neuron_experiment(widths=[4, True]),
        ValueError,
        "dead_neuron_experiment: widths[1] must be a positive int, got True",
    ),
    (
        lambda: dead_neuron_experiment(steps=True),
        ValueError,
        "dead_neuron_experiment: steps must be a positive int, got True",
    ),
    (
        lambda: dead_neuron_experiment(n="100"),
        ValueError,
        "dead_neuron_experiment: n must be an int ≥ 2, got '100'",
    ),
    (
        lambda: dead_neuron_experiment(seed=True),
        ValueError,
        "dead_neuron_experiment: seed must be a non-negative int, got True",
    ),
    (
        lambda: dead_neuron_experiment(data_seed="0"),
        ValueError,
        "dead_neuron_experiment: data_seed must be None or an int ≥ 0",
    ),
    (
        lambda: dead_neuron_experiment(lr=True),
        ValueError,
        "dead_neuron_experiment: lr must be a finite number ≥ 0, got True",
    ),
    (
        lambda: lottery_ticket(rounds=True),
        ValueError,
        "lottery_ticket: rounds must be a non-negative int, got True",
    ),
    (lambda: lottery_ticket(steps=0), ValueError, "lottery_ticket: steps must be a positive int, got 0"),
    (
        lambda: lottery_ticket(prune_fraction=1.0),
        ValueError,
        "lottery_ticket: prune_fraction must be a finite number in [0, 1), got 1.0",
    ),
    (
        lambda: lottery_ticket(output_fraction="0.1"),
        ValueError,
        "lottery_ticket: output_fraction must be a finite number in [0, 1)",
    ),
    (lambda: lottery_ticket(seed=True), ValueError, "lottery_ticket: seed must be an int, got True"),
    (
        lambda: lottery_ticket(control_seed=1.0),
        ValueError,
        "lottery_ticket: control_seed must be an int, got 1.0",
    ),
    (
        lambda: lottery_ticket(widths=(16, "16")),
        ValueError,
        "lottery_ticket: widths[1] must be a positive int, got '16'",
    ),
    (lambda: lottery_ticket(n_test=True), ValueError, "lottery_ticket: n_test must be an int ≥ 2, got True"),
    (
        lambda: lottery_ticket(target=2),
        ValueError,
        "lottery_ticket: target must be a finite number in [0, 1], got 2",
    ),
    (
        lambda: freezing_experiment(thresholds=[1e-3, True]),
        ValueError,
        "freezing_experiment: thresholds[1] must be a finite number > 0, got True",
    ),
    (
        lambda: freezing_experiment(thresholds=[0.0]),
        ValueError,
        "freezing_experiment: thresholds[0] must be a finite number > 0, got 0.0",
    ),
    (
        lambda: freezing_experiment(thresholds=[]),
        ValueError,
        "freezing_experiment: thresholds must hold at least one threshold > 0",
    ),
    (
        lambda: freezing_experiment(steps=True),
        ValueError,
        "freezing_experiment: steps must be a positive int, got True",
    ),
    (
        lambda: freezing_experiment(width="64"),
        ValueError,
        "freezing_experiment: width must be a positive int, got '64'",
    ),
    (
        lambda: freezing_experiment(seed=-1),
        ValueError,
        "freezing_experiment: seed must be a non-negative int, got -1",
    ),
    (
        lambda: freezing_experiment(repeats=True),
        ValueError,
        "freezing_experiment: repeats must be a positive int, got True",
    ),
    (
        lambda: freezing_experiment(steps=10, last=11),
        ValueError,
        "freezing_experiment: last must be an int from 1 to 10, got 11",
    ),
    (
        lambda: freezing_experiment(lr="0.1"),
        ValueError,
        "freezing_experiment: lr must be a finite number ≥ 0, got '0.1'",
    ),
    (
        lambda: freezing_experiment(n_test=1),
        ValueError,
        "freezing_experiment: n_test must be an int ≥ 2, got 1",
    ),
    (
        lambda: freezing_experiment(thresholds={1e-3, 1e-2}),
        TypeError,
        "freezing_experiment: thresholds must be an ordered sequence",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_SETTINGS)
def test_experiments_refuse_bools_and_strs_naming_themselves(call, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_experiments_take_numpy_ints_as_counts_and_seeds() -> None:
    assert vanishing_gradients(np.int64(2), np.int32(3), seed=np.int64(1)) == vanishing_gradients(
        2, 3, seed=1
    )
    kwargs = {"widths": (8, 8), "n": 40, "steps": 5, "seed": 1}
    numpy_kwargs = {"widths": np.array([8, 8]), "n": np.int64(40), "steps": np.int32(5), "seed": np.int64(1)}
    assert str(dead_neuron_experiment(**numpy_kwargs)) == str(dead_neuron_experiment(**kwargs))
