"""nn.experiments.freezing's matrix view and tape timing: the FLOP model, the ways agree, the arguments."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest

import nn
from nn.experiments.freezing import (
    DENSE_WAYS,
    DenseFreezing,
    dense_flops,
    dense_layer_freezing,
    dense_steps,
    tape_step_parts,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize(
    ("shape", "trained", "input_grad", "flops"),
    [
        ((1, 1, 1), None, True, 6),  # three products of 2·1·1·1
        ((256, 1000, 1000), None, True, 3 * 2 * 256 * 1000 * 1000),
        ((256, 1000, 1000), 700, True, 2 * 2 * 256 * 10**6 + 2 * 256 * 1000 * 700),
        ((256, 1000, 1000), 0, True, 2 * 2 * 256 * 10**6),  # the whole layer frozen: no dW
        ((10, 64, 30), None, False, 2 * 2 * 10 * 64 * 30),  # a first layer: no dX
        ((10, 64, 30), 20, False, 2 * 10 * 64 * 30 + 2 * 10 * 64 * 20),
    ],
)
def test_dense_flops_counts_two_flops_per_term_of_each_product(
    shape: tuple[int, int, int], trained: int | None, input_grad: bool, flops: int
) -> None:
    assert dense_flops(*shape, trained, input_grad=input_grad) == flops  # shape: (batch, n_in, n_out)


@pytest.mark.parametrize(("k", "n"), [(300, 1000), (1, 3), (0, 10), (10, 10)])
def test_freezing_k_of_n_neurons_saves_k_over_3n_of_the_layers_flops(k: int, n: int) -> None:
    full, frozen = dense_flops(32, n, n), dense_flops(32, n, n, n - k)
    assert 1 - frozen / full == pytest.approx(k / (3 * n))
    first_full = dense_flops(32, n, n, input_grad=False)
    first_frozen = dense_flops(32, n, n, n - k, input_grad=False)
    assert 1 - first_frozen / first_full == pytest.approx(k / (2 * n))  # no dX: backward is dW alone


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-4, atol=1e-4))


@pytest.mark.parametrize("library", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_every_way_computes_the_baselines_forward_dx_and_trained_rows_of_dw(library: str) -> None:
    if library == "torch" and not HAS_TORCH:
        pytest.skip("torch is not installed")
    steps = dense_steps(library=library, batch=6, width=10, frozen=3, seed=1)
    (Y, dX, dW), *others = [tuple(np.asarray(a) if a is not None else None for a in way()) for way in steps]
    assert Y.shape == (6, 10) and dX.shape == (6, 10) and dW.shape == (10, 10)
    trained = [row for row in dW if np.abs(row).sum() > 0]  # the baseline's dW: every row
    assert len(trained) == 10
    rows_of_ways = []
    for name, (y, dx, dw) in zip(DENSE_WAYS[1:], others):
        assert _close(dx, dX), name  # the layers below still get their gradient, every way
        # Two blocks stores the active neurons first: the same outputs, in another column order.
        assert _close(np.sort(y, axis=1), np.sort(Y, axis=1)), name
        if name == "whole layer frozen":
            assert dw is None
            continue
        assert dw.shape == (7, 10), name
        assert all(any(_close(row, full) for full in dW) for row in dw), name
        rows_of_ways.append(dw)
    assert all(_close(rows, rows_of_ways[0]) for rows in rows_of_ways)  # the same 7 rows, same order


def test_dense_layer_freezing_prints_each_way_with_its_flops_and_time() -> None:
    result = dense_layer_freezing(batch=8, width=30, frozen=6, repeats=2)
    assert isinstance(result, DenseFreezing)
    assert [w.name for w in result.ways] == list(DENSE_WAYS)
    assert result.baseline is result.ways[0] and result.way("two blocks") is result.ways[3]
    assert [w.flops / result.baseline.flops for w in result.ways] == pytest.approx(
        [1, 1, 1 - 6 / 90, 1 - 6 / 90, 2 / 3]
    )
    assert all(w.seconds > 0 or w.seconds == 0 for w in result.ways)
    assert result.baseline.saving(result.baseline) == 0
    text = str(result)
    assert text.startswith("One dense 30x30 layer, batch 8, numpy float32, 6 of 30 neurons frozen")
    assert "best of 2" in text
    for name in DENSE_WAYS:
        assert name in text


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_dense_layer_freezing_in_torch_leaves_torchs_thread_count_as_it_was() -> None:
    import torch  # noqa: PLC0415 (optional)

    before = torch.get_num_threads()
    result = dense_layer_freezing(batch=4, width=10, frozen=2, repeats=1, library="torch", dtype="float64")
    assert torch.get_num_threads() == before
    assert result.threads == "1" and "torch float64" in str(result)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dense_flops(0, 1, 1), "dense_flops: batch must be a positive int, got 0"),
        (lambda: dense_flops(1, 2, 3, 4), "dense_flops: trained must be an int from 0 to 3, got 4"),
        (lambda: dense_layer_freezing(frozen=1001), "frozen must be an int from 0 to 1000, got 1001"),
        (lambda: dense_layer_freezing(dtype="float16"), "unknown dtype 'float16'"),
        (lambda: dense_layer_freezing(library="jax"), "unknown library 'jax'; choose one of 'numpy' or"),
        (lambda: dense_layer_freezing(repeats=0), "repeats must be a positive int, got 0"),
    ],
)
def test_the_matrix_views_arguments_are_checked(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


def test_tape_step_parts_times_fits_step_and_trains_only_what_is_not_frozen() -> None:
    X, labels = nn.make_moons(20, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], seed=0)
    sgd = nn.SGD(model.parameters(), lr=0.1)
    frozen = nn.freezing.freeze_neuron(model, sgd, 0, 3)
    before = [p.data for p in model.parameters()]
    frozen_before = [p.data for p in (*frozen.w, frozen.b)]
    tape, parts = tape_step_parts(model, sgd, X, labels * 2 - 1, nn.hinge_loss, tries=3)
    assert list(parts) == ["tape forward", "loss and its backward", "tape backward", "optimizer step"]
    assert all(0 <= s < 10 for s in parts.values())
    assert "Tape(2 feeds" in repr(tape)
    assert [p.data for p in (*frozen.w, frozen.b)] == frozen_before
    assert [p.data for p in model.parameters()] != before
    # The same three steps through fit give the same weights.
    again = nn.MLP(2, [8, 1], seed=0)
    sgd2 = nn.SGD(again.parameters(), lr=0.1)
    nn.freezing.freeze_neuron(again, sgd2, 0, 3)
    nn.fit(again, X, labels * 2 - 1, nn.hinge_loss, sgd2, steps=3, progress=False)
    assert [p.data for p in again.parameters()] == pytest.approx([p.data for p in model.parameters()])
    with pytest.raises(ValueError, match="tape_step_parts: tries must be a positive int, got 0"):
        tape_step_parts(model, sgd, X, labels, nn.hinge_loss, tries=0)
