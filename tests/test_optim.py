"""nn.optim: SGD and Adam against hand-computed steps and against torch.optim; freezing; errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from engine import Value
from nn.optim import SGD, Adam, Optimizer, clip_grad_norm

OPTIMIZERS = {"SGD": SGD, "Adam": Adam}


def params(*xs: float) -> list[Value]:
    return [Value(x, label=f"p{i}") for i, x in enumerate(xs)]


def state(opt: Optimizer) -> list[list[float]]:
    """The optimizer's per-parameter state lists."""
    if isinstance(opt, SGD):
        return [opt.velocity]
    assert isinstance(opt, Adam)
    return [opt.m, opt.v, opt.steps]


def step_with(opt: Optimizer, grads: list[float]) -> list[float]:
    for p, g in zip(opt.params, grads):
        p.grad = g
    opt.step()
    return [p.data for p in opt.params]


# -- hand-computed steps -----------------------------------------------------------------------


def test_sgd_one_step() -> None:
    opt = SGD(params(1.0, -2.0), lr=0.1)
    assert step_with(opt, [0.5, -3.0]) == pytest.approx([1.0 - 0.05, -2.0 + 0.3], rel=1e-15)


def test_sgd_momentum_two_steps() -> None:
    opt = SGD(params(1.0), lr=0.1, momentum=0.9)
    assert step_with(opt, [0.5]) == pytest.approx([0.95])  # v = g = 0.5
    # v = 0.9 · 0.5 + 0.2 = 0.65: the first gradient still pushes.
    assert step_with(opt, [0.2]) == pytest.approx([0.95 - 0.1 * 0.65], rel=1e-15)
    assert opt.velocity == pytest.approx([0.65])


def test_sgd_weight_decay_adds_to_the_gradient() -> None:
    opt = SGD(params(2.0), lr=0.1, weight_decay=0.1)
    assert step_with(opt, [0.5]) == pytest.approx([2.0 - 0.1 * (0.5 + 0.1 * 2.0)], rel=1e-15)
    # With a zero gradient, the decay alone shrinks p by the factor 1 − lr·λ.
    assert step_with(opt, [0.0]) == pytest.approx([1.93 * (1 - 0.01)], rel=1e-15)


def test_adam_three_steps_by_hand() -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = Adam(params(1.0), lr=lr)
    x, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate([0.5, -0.2, 0.3], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        assert step_with(opt, [g]) == pytest.approx([x], rel=1e-14)
    # Step 1 moves by lr·sign(g) whatever the gradient's size: m̂ / √v̂ = g / |g|.
    assert Adam(params(1.0), lr=lr).params[0].data == 1.0
    first = Adam(params(1.0), lr=lr)
    assert step_with(first, [1234.5]) == pytest.approx([1.0 - lr], rel=1e-9)
    assert (opt.m, opt.v, opt.steps) == (pytest.approx([m]), pytest.approx([v]), [3])


def test_adam_weight_decay_is_l2_in_the_gradient_not_adamw() -> None:
    opt = Adam(params(2.0), lr=0.1, weight_decay=0.5)
    step_with(opt, [0.0])
    # g = 0 + 0.5 · 2 = 1; the first Adam step moves by lr in the direction of g.
    assert opt.params[0].data == pytest.approx(2.0 - 0.1, rel=1e-9)
    assert opt.m == pytest.approx([0.1])  # the decay is in m: Adam, not AdamW's direct decay


def test_lr_set_between_steps_is_used() -> None:
    opt = SGD(params(1.0), lr=0.1)
    step_with(opt, [1.0])
    opt.lr = 0.01
    assert step_with(opt, [1.0]) == pytest.approx([0.89])
    adam = Adam(params(1.0), lr=0.1)
    step_with(adam, [1.0])
    adam.lr = 0.0
    assert step_with(adam, [1.0]) == [pytest.approx(0.9)]  # lr 0: moments advance, p does not move
    assert adam.steps == [2]


def test_step_writes_plain_floats_and_builds_no_graph() -> None:
    p = Value(1.0)
    loss = p * p
    loss.backward()
    opt = Adam([p], lr=np.float64(0.1))
    opt.step()
    assert type(p.data) is float and p._prev == () and p.grad == 2.0  # step leaves the grad


def test_zero_grad_clears_every_parameter() -> None:
    ps = params(1.0, 2.0, 3.0)
    opt = SGD(ps, lr=0.1, frozen=[ps[1]])
    for p in ps:
        p.grad = 5.0
    opt.zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0, 0.0]


# -- freezing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_frozen_parameter_is_untouched_and_its_state_paused(kind) -> None:
    ps = params(1.0, 2.0)
    opt = OPTIMIZERS[kind](ps, lr=0.1, frozen=[ps[1]])
    assert opt.frozen == [ps[1]]
    after_one = step_with(opt, [0.5, 0.5])
    assert after_one[1] == 2.0 and after_one[0] < 1.0
    before = repr(state(opt))
    opt.freeze(ps[0])  # a single Value is accepted
    step_with(opt, [0.3, 0.7])
    assert [p.data for p in ps] == after_one
    assert repr(state(opt)) == before  # nothing advanced: no momentum, moments or step count
    assert opt.frozen == ps


def test_unfreeze_resumes_from_the_paused_state() -> None:
    ps = params(1.0)
    opt = SGD(ps, lr=0.1, momentum=0.9)
    step_with(opt, [1.0])  # v = 1, p = 0.9
    opt.freeze(ps)
    step_with(opt, [100.0])  # ignored
    opt.unfreeze(ps)
    assert opt.frozen == []
    step_with(opt, [0.5])  # v = 0.9 · 1 + 0.5
    assert ps[0].data == pytest.approx(0.9 - 0.1 * 1.4, rel=1e-15)


def test_freeze_and_unfreeze_are_idempotent() -> None:
    ps = params(1.0, 2.0)
    opt = SGD(ps, lr=0.1)
    opt.freeze([ps[0], ps[0]])
    opt.freeze(ps[0])
    assert opt.frozen == [ps[0]]
    opt.unfreeze(ps)
    opt.unfreeze(ps)
    assert opt.frozen == []


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_requires_grad_false_parameters_are_skipped(kind) -> None:
    fixed = Value(3.0, requires_grad=False)
    free = Value(1.0)
    opt = OPTIMIZERS[kind]([fixed, free], lr=0.1)
    step_with(opt, [1.0, 1.0])
    assert fixed.data == 3.0 and free.data < 1.0
    if kind == "Adam":
        assert opt.steps == [0, 1]


# -- non-finite gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_gradient_raises_and_changes_nothing(kind, bad) -> None:
    ps = params(1.0, 2.0, 3.0)
    opt = OPTIMIZERS[kind](ps, lr=0.1, momentum=0.9) if kind == "SGD" else Adam(ps, lr=0.1)
    step_with(opt, [0.1, 0.2, 0.3])
    data, before = [p.data for p in ps], repr(state(opt))
    with pytest.raises(
        FloatingPointError, match=rf"{kind}\.step: parameter 1 \(label 'p1'\) has gradient {bad}"
    ):
        step_with(opt, [0.5, bad, 0.5])
    assert [p.data for p in ps] == data  # parameter 0, before the bad one, is untouched too
    assert repr(state(opt)) == before and opt.frozen == []


def test_a_non_finite_gradient_of_a_frozen_parameter_is_ignored() -> None:
    ps = params(1.0, 2.0)
    opt = SGD(ps, lr=0.1, frozen=[ps[1]])
    step_with(opt, [1.0, math.nan])
    assert [p.data for p in ps] == [0.9, 2.0]


# -- PyTorch -------------------------------------------------------------------------------------

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
]
CONFIG_IDS = [f"{kind}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for kind, kw in CONFIGS]

START = [1.0, -2.0, 0.5]
# Gradients for three parameters over four steps; None: frozen in ours, .grad = None in torch.
GRADS = [[0.5, -1.0, 2.0], [0.2, None, -0.7], [-0.3, 0.4, None], [1.5, -0.1, 0.05]]


def run_ours(kind: str, kwargs: dict, grads: list, lrs: list[float]) -> list[list[float]]:
    ps = params(*START)
    opt = OPTIMIZERS[kind](ps, **kwargs)
    trace = []
    for row, lr in zip(grads, lrs):
        opt.lr = lr
        opt.unfreeze(ps)
        opt.freeze([p for p, g in zip(ps, row) if g is None])
        step_with(opt, [0.0 if g is None else g for g in row])
        trace.append([p.data for p in ps])
    return trace


def run_torch(torch, kind: str, kwargs: dict, grads: list, lrs: list[float]) -> list[list[float]]:
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = getattr(torch.optim, kind)(ts, **kwargs)
    trace = []
    for row, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        for t, g in zip(ts, row):
            t.grad = None if g is None else torch.tensor(g, dtype=torch.float64)
        opt.step()
        trace.append([t.item() for t in ts])
    return trace


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_optim(kind, kwargs, torch) -> None:
    lrs = [kwargs["lr"]] * len(GRADS)
    all_grads = [[g if g is not None else 0.1 for g in row] for row in GRADS]
    np.testing.assert_allclose(
        run_ours(kind, kwargs, all_grads, lrs), run_torch(torch, kind, kwargs, all_grads, lrs), rtol=1e-13
    )


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_freezing_matches_torch_skipping_params_without_grad(kind, kwargs, torch) -> None:
    lrs = [kwargs["lr"], kwargs["lr"] / 2, kwargs["lr"] * 3, kwargs["lr"]]  # and a schedule
    ours = run_ours(kind, kwargs, GRADS, lrs)
    np.testing.assert_allclose(ours, run_torch(torch, kind, kwargs, GRADS, lrs), rtol=1e-13)
    assert ours[1][1] == ours[0][1] and ours[2][2] == ours[1][2]  # frozen: unchanged


# -- errors --------------------------------------------------------------------------------------

a, b = Value(1.0, label="a"), Value(2.0)

ERRORS = [
    ("lr", lambda: SGD([a], lr=-0.1), ValueError, "SGD: lr must be a finite number ≥ 0, got -0.1"),
    ("lr_nan", lambda: Adam([a], lr=math.nan), ValueError, "Adam: lr must be a finite number ≥ 0, got nan"),
    ("lr_str", lambda: SGD([a], lr="0.1"), ValueError, "SGD: lr must be a finite number ≥ 0, got '0.1'"),
    (
        "momentum",
        lambda: SGD([a], lr=0.1, momentum=-0.5),
        ValueError,
        "SGD: momentum must be a finite number ≥ 0",
    ),
    ("sgd_decay", lambda: SGD([a], lr=0.1, weight_decay=-1), ValueError, "SGD: weight_decay must be"),
    (
        "beta1",
        lambda: Adam([a], betas=(1.0, 0.999)),
        ValueError,
        "Adam: beta1 must be a finite number in [0, 1)",
    ),
    (
        "beta2",
        lambda: Adam([a], betas=(0.9, -0.1)),
        ValueError,
        "Adam: beta2 must be a finite number in [0, 1), got -0.1",
    ),
    ("betas", lambda: Adam([a], betas=(0.9,)), ValueError, "Adam: betas must be a pair"),
    ("eps", lambda: Adam([a], eps=0.0), ValueError, "Adam: eps must be a finite number > 0, got 0.0"),
    ("adam_decay", lambda: Adam([a], weight_decay=-0.1), ValueError, "Adam: weight_decay must be"),
    ("empty", lambda: SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
    ("generator_used", lambda: Adam(iter([])), ValueError, "Adam: got an empty parameter list"),
    ("duplicate", lambda: SGD([a, b, a], lr=0.1), ValueError, "SGD: parameter 2 is parameter 0 again"),
    ("not_value", lambda: SGD([a, 1.0], lr=0.1), TypeError, "SGD: parameter 1 must be a Value, got float"),
    ("one_value", lambda: SGD(a, lr=0.1), TypeError, "SGD: params must be a list of Values"),
    ("frozen_unknown", lambda: SGD([a], lr=0.1, frozen=[b]), ValueError, "SGD.freeze: Value(data=2.0"),
    # Each parameter's state is kept by position: a set has no stable order, a dict gives its keys.
    ("set", lambda: SGD({a, b}, lr=0.1), TypeError, "SGD: params must be an ordered sequence"),
    ("dict", lambda: Adam({"a": a, "b": b}), TypeError, "Adam: params must be an ordered sequence"),
    ("lr_bool", lambda: SGD([a], lr=True), ValueError, "SGD: lr must be a finite number ≥ 0, got True"),
    ("betas_set", lambda: Adam([a], betas={0.9, 0.999}), ValueError, "Adam: betas must be a pair"),
    ("beta_bool", lambda: Adam([a], betas=(False, 0.9)), ValueError, "Adam: beta1 must be a finite number"),
]


@pytest.mark.parametrize(("name", "call", "exc", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_arguments(name, call, exc, message) -> None:
    with pytest.raises(exc) as err:
        call()
    assert message in str(err.value)


def test_numpy_numbers_are_settings() -> None:
    def run(**settings: object) -> list[float]:
        ps = params(1.0, -2.0)
        opt = Adam(ps, **settings) if "betas" in settings else SGD(ps, **settings)  # type: ignore[arg-type]
        return step_with(opt, [0.5, -0.25]) + step_with(opt, [0.1, 0.2])

    assert run(lr=np.float32(0.5), momentum=np.float64(0.9), weight_decay=np.int64(0)) == run(
        lr=float(np.float32(0.5)), momentum=0.9, weight_decay=0.0
    )
    adam = {"lr": np.float64(0.1), "betas": np.array([0.9, 0.99]), "eps": np.float32(1e-8)}
    assert run(**adam) == run(lr=0.1, betas=(0.9, 0.99), eps=float(np.float32(1e-8)))
    opt = SGD(params(1.0), lr=0.1)
    opt.lr = np.float32(0.25)
    assert opt.lr == 0.25 and type(opt.lr) is float


def test_bad_lr_set_later_is_refused_and_the_old_one_kept() -> None:
    opt = SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="SGD: lr must be a finite number ≥ 0, got -1"):
        opt.lr = -1
    assert opt.lr == 0.1


def test_unfreeze_of_a_stranger_names_the_method() -> None:
    opt = Adam([a])
    with pytest.raises(ValueError, match=r"Adam\.unfreeze: .* is not one of this optimizer's parameters"):
        opt.unfreeze([b])


def test_the_base_class_has_no_update_rule() -> None:
    opt = Optimizer([Value(1.0)], lr=0.1)
    with pytest.raises(NotImplementedError):
        opt.step()


# -- clip_grad_norm -------------------------------------------------------------------------------

CLIPS = [  # the gradients, max_norm, the gradients after, the norm returned (before clipping)
    ([3.0, 4.0], 1.0, [0.6, 0.8], 5.0),  # too long: scaled down to max_norm, the same direction
    ([3.0, 4.0], 5.0, [3.0, 4.0], 5.0),  # exactly at the limit: untouched
    ([0.3, -0.4], 1.0, [0.3, -0.4], 0.5),  # short enough: untouched
    ([0.0, 0.0], 1.0, [0.0, 0.0], 0.0),
    ([-6.0], 2.0, [-2.0], 6.0),
    ([3e200, 4e200], 1.0, [0.6, 0.8], 5e200),  # squares beyond the float range: no overflow
    ([3e-200, 4e-200], 1.0, [3e-200, 4e-200], 5e-200),  # squares below it: no underflow to 0
]


@pytest.mark.parametrize(("grads", "max_norm", "after", "norm"), CLIPS)
def test_clip_grad_norm_scales_every_grad_by_one_factor(grads, max_norm, after, norm) -> None:
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    assert clip_grad_norm(params, max_norm) == pytest.approx(norm, rel=1e-15)
    assert [p.grad for p in params] == pytest.approx(after, rel=1e-15)
    assert [p.data for p in params] == [1.0] * len(grads)  # the step is the optimizer's


@pytest.mark.torch
@pytest.mark.parametrize(("grads", "max_norm", "after", "norm"), CLIPS[:5])
def test_clip_grad_norm_matches_torch(grads, max_norm, after, norm, torch) -> None:
    params = [Value(1.0) for _ in grads]
    tensors = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, t, g in zip(params, tensors, grads):
        p.grad, t.grad = g, torch.tensor(g, dtype=torch.float64)
    theirs = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    assert clip_grad_norm(params, max_norm) == pytest.approx(float(theirs), rel=1e-15)
    # torch divides by ‖g‖ + 1e-6, ours by ‖g‖ exactly
    np.testing.assert_allclose([p.grad for p in params], [float(t.grad) for t in tensors], rtol=1e-5)


@pytest.mark.parametrize(
    ("grads", "max_norm", "message"),
    [
        ([1.0], 0.0, "clip_grad_norm: max_norm must be a finite number > 0, got 0.0"),
        ([1.0], math.inf, "clip_grad_norm: max_norm must be a finite number > 0, got inf"),
        ([1.0, math.nan], 1.0, "clip_grad_norm: parameter 1's .grad is nan; the norm is not finite"),
        ([math.inf], 1.0, "clip_grad_norm: parameter 0's .grad is inf; the norm is not finite"),
        ([], 1.0, "clip_grad_norm: got an empty parameter list"),
    ],
)
def test_clip_grad_norm_refuses_and_changes_nothing(grads, max_norm, message) -> None:
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    with pytest.raises(ValueError, match=re.escape(message)):
        clip_grad_norm(params, max_norm)
    assert [p.grad for p in params] == pytest.approx(grads, nan_ok=True)


def test_clip_grad_norm_refuses_a_value_for_a_list() -> None:
    with pytest.raises(TypeError, match="clip_grad_norm: params must be a list of Values"):
        clip_grad_norm(Value(1.0), 1.0)  # type: ignore[arg-type]
