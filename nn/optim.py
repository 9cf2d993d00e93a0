"""Optimizers: SGD (with momentum and weight decay) and Adam, with torch.optim's update rules.

An optimizer holds a list of parameters and, in lists aligned with it (tinygrad's layout), its
per-parameter state. `step()` moves each parameter's `.data` using its `.grad`; `zero_grad()`
clears the gradients. A frozen parameter, or one with requires_grad=False, is left alone, and its
state does not advance: unfrozen later, it carries on as if the frozen steps had not happened
(as a PyTorch parameter whose .grad is None is skipped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Set

from engine import Value

from ._checks import check_real, described, non_negative, ordered, positive, show

__all__ = ["SGD", "Adam", "Optimizer", "clip_grad_norm"]

Params = Iterable[Value] | Value


class Optimizer:
    """The shared part: the parameter list, lr, zero_grad, freezing, and an all-or-nothing step."""

    def __init__(self, params: Iterable[Value], lr: float, *, frozen: Params = ()) -> None:
        # Values hash by identity, so a dict finds a parameter's position (for freeze/unfreeze).
        self._position = _positions_of(type(self).__name__, params)
        self.params: list[Value] = list(self._position)
        self.lr = lr
        self._frozen = [False] * len(self.params)
        self.freeze(frozen)

    @property
    def lr(self) -> float:
        """The learning rate; set it between steps for a schedule."""
        return self._lr

    @lr.setter
    def lr(self, lr: float) -> None:
        self._lr = non_negative(type(self).__name__, "lr", lr)

    @property
    def frozen(self) -> list[Value]:
        """The parameters step() currently leaves untouched by freeze(), in parameter order."""
        return [p for p, f in zip(self.params, self._frozen) if f]

    def freeze(self, params: Params) -> None:
        """Leave these parameters (each one of this optimizer's) untouched, their state paused."""
        for i in self._positions("freeze", params):
            self._frozen[i] = True

    def unfreeze(self, params: Params) -> None:
        """Update these parameters again, from the state they had when frozen."""
        for i in self._positions("unfreeze", params):
            self._frozen[i] = False

    def zero_grad(self) -> None:
        """p.grad = 0 for every parameter, frozen ones included."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every trainable parameter from its .grad; a NaN or ±inf gradient raises first."""
        active = [i for i, p in enumerate(self.params) if p.requires_grad and not self._frozen[i]]
        # All checked before any is changed: a failed step leaves parameters and state as they were.
        for i in active:
            p = self.params[i]
            if not math.isfinite(p.grad):
                label = f" (label {p.label!r})" if p.label else ""
                raise FloatingPointError(
                    f"{type(self).__name__}.step: parameter {i}{label} has gradient {p.grad}; nothing "
                    "was updated (detect_anomaly() names the op that produced it)"
                )
        for i in active:
            p = self.params[i]
            p.data = self._update(i, p.data, p.grad)  # plain floats: no graph is recorded

    def _update(self, i: int, x: float, g: float) -> float:
        """Parameter i's new value from its value x and gradient g; advances its state."""
        raise NotImplementedError

    def _positions(self, method: str, params: Params) -> list[int]:
        if isinstance(params, Value):
            params = [params]
        positions = []
        for p in params:
            i = self._position.get(p) if isinstance(p, Value) else None
            if i is None:
                raise ValueError(
                    f"{type(self).__name__}.{method}: {p!r:.80} is not one of this optimizer's parameters"
                )
            positions.append(i)
        return positions


class SGD(Optimizer):
    """Stochastic gradient descent: g = ∇ + λ·p, v = μ·v + g, p ← p − lr·v (plain SGD: μ = 0)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        frozen: Params = (),
    ) -> None:
        super().__init__(params, lr, frozen=frozen)
        self.momentum = non_negative("SGD", "momentum", momentum)
        self.weight_decay = non_negative("SGD", "weight_decay", weight_decay)
        self.velocity = [0.0] * len(self.params)  # v, aligned with params

    def _update(self, i: int, x: float, g: float) -> float:
        """v = μ·v + (g + λ·x); x − lr·v."""
        g += self.weight_decay * x
        # With v starting at 0 the first step sets v = g, as PyTorch's momentum buffer does; with
        # μ = 0, v is g on every step: plain SGD.
        self.velocity[i] = v = self.momentum * self.velocity[i] + g
        return x - self.lr * v


class Adam(Optimizer):
    """Adam (torch.optim.Adam): moving averages m, v of g and g², bias-corrected; λ adds λ·p to g."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        frozen: Params = (),
    ) -> None:
        super().__init__(params, lr, frozen=frozen)
        pair = (
            list(betas) if isinstance(betas, Iterable) and not isinstance(betas, (str, Set, Mapping)) else []
        )
        if len(pair) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {show(betas)}")
        self.betas = (
            check_real("Adam", "beta1", pair[0], "in [0, 1)", lambda b: 0.0 <= b < 1.0),
            check_real("Adam", "beta2", pair[1], "in [0, 1)", lambda b: 0.0 <= b < 1.0),
        )
        self.eps = check_real("Adam", "eps", eps, "> 0", lambda x: x > 0.0)
        self.weight_decay = non_negative("Adam", "weight_decay", weight_decay)
        # Aligned with params. Each parameter counts its own steps: a frozen one's do not advance,
        # so its bias correction carries on where it stopped.
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.steps = [0] * len(self.params)

    def _update(self, i: int, x: float, g: float) -> float:
        """m = β₁m + (1 − β₁)g, v = β₂v + (1 − β₂)g²; x − lr·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)."""
        beta1, beta2 = self.betas
        g += self.weight_decay * x  # L2 in the gradient, as torch.optim.Adam (AdamW decays p itself)
        self.steps[i] = t = self.steps[i] + 1
        self.m[i] = m = beta1 * self.m[i] + (1.0 - beta1) * g
        self.v[i] = v = beta2 * self.v[i] + (1.0 - beta2) * g * g
        # m and v start at 0, so early averages are too small: dividing by 1 − βᵗ undoes that.
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        return x - self.lr * m_hat / (math.sqrt(v_hat) + self.eps)


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """g ← g·min(1, max_norm/‖g‖), ‖g‖ the 2-norm of every parameter's .grad together; returns ‖g‖ before.

    torch.nn.utils.clip_grad_norm_'s rule: the step keeps its direction and only loses length. Call it
    between backward and the optimizer's step. A non-finite ‖g‖ is refused, every .grad left as it was.
    """
    fn = "clip_grad_norm"
    max_norm = positive(fn, "max_norm", max_norm)
    ps = list(_positions_of(fn, params))
    grads = [float(p.grad) for p in ps]
    for i, g in enumerate(grads):
        if not math.isfinite(g):
            raise ValueError(f"{fn}: parameter {i}'s .grad is {show(g)}; the norm is not finite")
    # Scaled by the largest |g| first, so gradients of 1e200 do not overflow when squared.
    top = max(map(abs, grads))
    total = top * math.sqrt(math.fsum((g / top) ** 2 for g in grads)) if top > 0.0 else 0.0
    if total > max_norm:
        scale = max_norm / total
        for p, g in zip(ps, grads):
            p.grad = g * scale
    return total


def _positions_of(optimizer: str, params: Iterable[Value]) -> dict[Value, int]:
    """Each parameter's position, in order; params must be distinct Values (a generator is read once)."""
    if isinstance(params, Value):
        raise TypeError(
            f"{optimizer}: params must be a list of Values (e.g. model.parameters()), got one Value"
        )
    positions: dict[Value, int] = {}
    # In order: each parameter's state is found by its position (a set's order changes between runs).
    for i, p in enumerate(ordered(optimizer, "params", params)):
        if not isinstance(p, Value):
            raise TypeError(f"{optimizer}: parameter {i} must be a Value, got {described(p)}")
        if p in positions:
            raise ValueError(
                f"{optimizer}: parameter {i} is parameter {positions[p]} again; each must appear once"
            )
        positions[p] = i
    if not positions:
        raise ValueError(f"{optimizer}: got an empty parameter list (a generator that was already read?)")
    return positions
