"""nn.experiments.scaling_causes: input scaling's two causes, isolated, small (and once at full size)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nn.experiments import ScalingCauses, scaling_causes

SMALL = {"steps": 5, "control": 20, "hidden": 4, "n": 20, "lrs": (1.0, 1e-2, 1e-4, 1e-6)}


@pytest.fixture(scope="module")
def small() -> ScalingCauses:
    return scaling_causes(**SMALL)  # type: ignore[arg-type]


def test_every_run_starts_from_the_same_function(small: ScalingCauses) -> None:
    standardized, scaled, offset = small.runs
    assert [r.inputs for r in small.runs] == ["standardized", "feature 1 × 100", "offset + 100"]
    assert (scaled.scale, scaled.offset, offset.scale, offset.offset) == (
        (1, 100),
        (0, 0),
        (1, 1),
        (100, 100),
    )
    assert scaled.first_loss == pytest.approx(standardized.first_loss, rel=1e-12)
    assert offset.first_loss == pytest.approx(standardized.first_loss, rel=1e-12)
    # the same δ at step 0, so the gradient on the scaled feature's weights is exactly 100 times larger
    assert scaled.grad[0] == pytest.approx(standardized.grad[0], rel=1e-9)
    assert scaled.grad[1] == pytest.approx(100 * standardized.grad[1], rel=1e-9)
    assert scaled.one_sign == standardized.one_sign  # multiplying by 100 changes no sign


def test_an_offset_gives_every_per_example_weight_gradient_one_sign(small: ScalingCauses) -> None:
    standardized, _, offset = small.runs
    live = [f for f in offset.one_sign if f is not None]
    assert live and all(f == 1.0 for f in live)
    assert offset.one_sign_fraction == 1.0 and offset.one_sign_batch == offset.live
    assert 0.0 < standardized.one_sign_fraction < 1.0  # standardized moons have both signs


def test_the_sweep_stops_at_the_largest_stable_lr(small: ScalingCauses) -> None:
    for run in small.runs:
        lrs = [t.lr for t in run.trials]
        assert lrs == sorted(lrs, reverse=True) and lrs == list(SMALL["lrs"])[: len(lrs)]  # type: ignore[call-overload]
        assert not any(t.stable for t in run.trials[:-1])
        assert run.lr is not None and run.trials[-1].stable and run.trials[-1].lr == run.lr
        assert max(run.history.loss[: small.steps + 1]) <= run.history.loss[0]  # the definition
        assert run.loss == run.history.loss[small.steps] and run.trials[-1].loss == run.loss
    standardized, scaled, offset = small.runs
    assert scaled.lr < standardized.lr and offset.lr < standardized.lr  # type: ignore[operator]
    assert len(standardized.history.loss) == small.steps + 1
    assert len(scaled.history.loss) == len(offset.history.loss) == small.control + 1
    for unstable in scaled.trials[:-1]:
        assert unstable.steps <= small.steps + 1 and unstable.loss > scaled.first_loss


def test_the_control_reports_where_a_transformed_run_reaches_the_standardized_loss(
    small: ScalingCauses,
) -> None:
    _, scaled, offset = small.runs
    for run in (scaled, offset):
        k = small.reached(run)
        if k is None:
            assert min(run.history.loss) > small.target
        else:
            assert run.history.loss[k] <= small.target < min(run.history.loss[:k], default=math.inf)


def test_the_tables_read(small: ScalingCauses) -> None:
    text = str(small)
    assert text.count("\n\n") == 2
    gradients, training, control = text.split("\n\n")
    assert gradients.startswith("Layer 0's weight gradients at step 0, MLP(2, [4, 1])")
    assert gradients.splitlines()[-1].split()[:3] == ["offset", "+", "100"]
    assert "one-sign δ·x" in gradients and "100%" in gradients.splitlines()[-1]
    assert training.startswith("SGD at the largest stable lr, 5 steps") and "largest stable lr" in training
    assert control.splitlines()[0].startswith("The control: a stable lr, 20 steps")
    assert len(control.splitlines()) == 4  # the title, the header, the two transforms


def test_moved_is_layer_0s_change_in_units_of_z(small: ScalingCauses) -> None:
    for run in small.runs:
        assert len(run.moved) == 2 and all(m >= 0 for m in run.moved)
    none = scaling_causes(steps=2, control=2, hidden=2, n=10, lrs=(1e6,))
    assert all(r.lr is None and math.isnan(r.loss) and all(math.isnan(m) for m in r.moved) for r in none.runs)
    assert "none" in none.training_table() and none.reached(none.runs[1]) is None
    assert all(line.split()[-1] == "-" for line in none.control_table().splitlines()[-2:])  # nothing to reach


@pytest.mark.slow  # about 2,000 SGD steps
def test_at_full_size_the_stable_lr_falls_by_about_100_squared_and_the_small_lr_does_not_catch_up() -> None:
    result = scaling_causes()
    standardized, scaled, offset = result.runs
    assert standardized.lr is not None and scaled.lr is not None and offset.lr is not None
    assert 1e3 <= standardized.lr / scaled.lr <= 1e5
    assert standardized.lr / offset.lr >= 1e2
    assert result.reached(scaled) is None and result.reached(offset) is None
    assert scaled.loss > 2 * standardized.loss and offset.loss > 2 * standardized.loss
    assert scaled.moved[0] < 1e-2 * standardized.moved[0]  # the small feature barely moved


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: scaling_causes(scale=0), "scaling_causes: scale must be a finite number > 0, got 0"),
        (lambda: scaling_causes(offset=-1), "scaling_causes: offset must be a finite number ≥ 0, got -1"),
        (lambda: scaling_causes(steps=0), "scaling_causes: steps must be a positive int, got 0"),
        (lambda: scaling_causes(control=True), "scaling_causes: control must be a positive int, got True"),
        (lambda: scaling_causes(lrs=()), "scaling_causes: lrs must hold at least one learning rate, got ()"),
        (lambda: scaling_causes(lrs=(0.1, 0)), "scaling_causes: lrs must be a finite number > 0, got 0"),
        (lambda: scaling_causes(hidden=0), "scaling_causes: hidden must be a positive int, got 0"),
        (lambda: scaling_causes(n=1), "scaling_causes: n must be an int ≥ 2, got 1"),
        (
            lambda: scaling_causes(seed=None),
            "scaling_causes: seed must be a non-negative int (every run starts",
        ),
        (
            lambda: scaling_causes(data_seed=-1),
            "scaling_causes: data_seed must be None or an int ≥ 0, got -1",
        ),
    ],
)
def test_bad_settings_are_refused_in_one_line(call, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        call()
    assert str(caught.value).startswith(message)


def test_lrs_must_be_ordered() -> None:
    with pytest.raises(TypeError, match="scaling_causes: lrs must be an ordered sequence"):
        scaling_causes(lrs={0.1, 0.01})  # type: ignore[arg-type]


def test_scaling_causes_is_deterministic() -> None:
    a = scaling_causes(steps=3, control=6, hidden=3, n=12, lrs=(1e-2, 1e-4))
    b = scaling_causes(steps=3, control=6, hidden=3, n=12, lrs=(1e-2, 1e-4))
    assert str(a) == str(b) and [r.history.loss for r in a.runs] == [r.history.loss for r in b.runs]
    assert np.isfinite(a.target)
