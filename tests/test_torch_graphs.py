"""Random graphs against PyTorch float64, op by op, at the edges: 0, -0.0, tiny and huge, inf, NaN.

A program is a few leaves drawn from 0, -0.0, ±1, 1e-8, 1e-200 and ±3, and a list of ops, each on
earlier nodes (so nodes are reused), some with a plain-number constant on either side. It runs on
Values; the root is the sum of the outputs nothing else uses, and one backward pass gives every
op's output gradient g. Then every op is checked on its own against PyTorch, fed the engine's own
numbers: the same op on the same inputs must give the same value, and PyTorch's backward of it
with upstream g must give what the engine's pass added into each input. Comparing op by op, not
the end results, keeps an ulp of difference in one op's exp or tanh from being amplified by
later cancellation into a "mismatch" that says nothing about either engine. Together the ops
cover every node's gradient, which is the sum of what its users added.

Values agree when they are both NaN, the same infinity, or finite and within 1e-12 relative
(below the smallest normal float, within that float, times |g| for gradients: subnormals have no
relative precision to compare); ops that are the same IEEE 754 operation in both (+, −, ·, /,
neg, relu, abs) must agree exactly, to the sign of a zero. Where the engine refuses with an error
(log of x ≤ 0, division by 0, 0 ** -1, a negative base to a fractional power, exp or ** beyond
the float range), PyTorch's value or gradient there must be infinite or NaN: the engine only
refuses what has no finite answer.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import Value, backward_steps, topo_order

pytestmark = pytest.mark.torch

LEAVES = (0.0, -0.0, 1.0, -1.0, 1e-8, 1e-200, 3.0, -3.0)
CONSTANTS = (*LEAVES, 2.0, 0.5, 1e200)
POWERS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5)
REFUSALS = (ValueError, ZeroDivisionError, OverflowError)  # the engine's deliberate errors


@dataclass(frozen=True)
class Op:
    """fn(inputs..., c) on Values, and on tensors unless torch_fn is given; c is the constant or None."""

    arity: int  # node inputs
    fn: Callable[..., Any]
    constants: tuple[float, ...] = ()  # what c is drawn from (empty: the op takes none)
    exact: bool = False  # the same IEEE 754 operation in both: compared bit for bit
    torch_fn: Callable[..., Any] | None = None
    # For rules that read the op's output: PyTorch's backward kernel fed the engine's output, so
    # that an ulp between math.tanh and torch.tanh is not magnified by 1 − t near saturation.
    torch_backward: str | None = field(default=None)


OPS: dict[str, Op] = {
    "add": Op(2, lambda a, b, c: a + b, exact=True),
    "sub": Op(2, lambda a, b, c: a - b, exact=True),
    "mul": Op(2, lambda a, b, c: a * b, exact=True),
    "div": Op(2, lambda a, b, c: a / b, exact=True),
    "pow": Op(2, lambda a, b, c: a**b),
    "neg": Op(1, lambda a, c: -a, exact=True),
    "relu": Op(1, lambda a, c: a.relu(), exact=True),
    "abs": Op(1, lambda a, c: a.abs(), exact=True),
    "exp": Op(1, lambda a, c: a.exp()),
    "log": Op(1, lambda a, c: a.log()),
    "sqrt": Op(1, lambda a, c: a.sqrt()),
    "tanh": Op(1, lambda a, c: a.tanh(), torch_backward="tanh_backward"),
    "sigmoid": Op(1, lambda a, c: a.sigmoid(), torch_backward="sigmoid_backward"),
    "x ** n": Op(1, lambda a, n: a**n, POWERS),
    "x + c": Op(1, lambda a, c: a + c, CONSTANTS, exact=True),
    "c + x": Op(1, lambda a, c: c + a, CONSTANTS, exact=True),
    "x - c": Op(1, lambda a, c: a - c, CONSTANTS, exact=True),
    "c - x": Op(1, lambda a, c: c - a, CONSTANTS, exact=True),
    "x * c": Op(1, lambda a, c: a * c, CONSTANTS, exact=True),
    "c * x": Op(1, lambda a, c: c * a, CONSTANTS, exact=True),
    "x / c": Op(1, lambda a, c: a / c, CONSTANTS, exact=True),
    # PyTorch's `c / t` is t.reciprocal() * c, not a division: its division is torch.div.
    "c / x": Op(1, lambda a, c: c / a, CONSTANTS, exact=True, torch_fn=lambda a, c: _divide(c, a)),
    "c ** x": Op(1, lambda a, c: c**a, CONSTANTS),
}


def _divide(c: float, t: Any) -> Any:
    return _torch().div(_tensor(c), t)


def _torch() -> Any:
    return sys.modules["torch"]


def _tensor(x: float, requires_grad: bool = False) -> Any:
    torch = _torch()
    return torch.tensor(x, dtype=torch.float64, requires_grad=requires_grad)


@dataclass(frozen=True)
class Program:
    leaves: tuple[float, ...]
    ops: tuple[tuple[str, tuple[int, ...], float | None], ...]  # (op, earlier nodes, constant)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    leaves = tuple(draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4)))
    ops = []
    for k in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(sorted(OPS)))
        op = OPS[name]
        earlier = st.integers(0, len(leaves) + k - 1)  # modulo the nodes made so far, at run time
        args = tuple(draw(earlier) for _ in range(op.arity))
        ops.append((name, args, draw(st.sampled_from(op.constants)) if op.constants else None))
    return Program(leaves, tuple(ops))


@dataclass
class Applied:
    """One op of a program as the engine ran it."""

    op: Op
    constant: float | None
    inputs: list[Value]
    out: Value
    own: set[int]  # ids of the nodes it made: out and what it is composed of (a − b: −b, then +)
    added: dict[int, float] = field(default_factory=dict)  # what backward added into each input


def run(program: Program) -> tuple[list[Applied], list[tuple[Op, float | None, list[Value]]]]:
    """The engine's graph: the ops it ran, and the ones it refused, with their inputs."""
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(program.leaves)]
    known = {id(node) for node in nodes}
    applied, refused = [], []
    for name, args, constant in program.ops:
        op = OPS[name]
        inputs = [nodes[i % len(nodes)] for i in args]
        try:
            out = op.fn(*inputs, constant)
        except REFUSALS:
            refused.append((op, constant, inputs))
            continue
        own = {id(node) for node in topo_order(out)} - known
        known |= own
        applied.append(Applied(op, constant, inputs, out, own))
        nodes.append(out)
    return applied, refused


def backpropagate(applied: list[Applied]) -> None:
    """One pass from the sum of the unused outputs; records what each op added into its inputs."""
    used = {id(x) for a in applied for x in a.inputs}
    unused = [a.out for a in applied if id(a.out) not in used]
    root = unused[0]
    for out in unused[1:]:
        root = root + out
    owner = {node: a for a in applied for node in a.own}
    for step in backward_steps(root):
        a = owner.get(id(step.node))
        if a is None:  # one of the + that make the root
            continue
        for child, _, added in step.edges:
            if any(child is x for x in a.inputs):  # summed as PyTorch does: first, then + (keeps a -0.0)
                a.added[id(child)] = a.added[id(child)] + added if id(child) in a.added else added


def on_torch(op: Op, constant: float | None, inputs: list[Value]) -> tuple[list[Value], list[Any], Any]:
    """The op on tensors holding the engine's input numbers: (distinct inputs, their tensors, output)."""
    distinct = list({id(x): x for x in inputs}.values())  # a * a: one tensor, used twice
    tensors = {id(x): _tensor(x.data, requires_grad=True) for x in distinct}
    out = (op.torch_fn or op.fn)(*(tensors[id(x)] for x in inputs), constant)
    return distinct, [tensors[id(x)] for x in distinct], out


def torch_vjp(op: Op, tensors: list[Any], out: Any, g: float, engine_out: float) -> list[float]:
    """PyTorch's gradient of each input when the op's output has gradient g."""
    torch = _torch()
    if op.torch_backward is not None:
        kernel = getattr(torch.ops.aten, op.torch_backward)
        return [kernel(_tensor(g), _tensor(engine_out)).item()]
    grads = torch.autograd.grad(out, tensors, grad_outputs=_tensor(g), allow_unused=True)
    return [0.0 if d is None else d.item() for d in grads]


def agree(engine: float, torch: float, exact: bool, scale: float = 1.0) -> bool:
    """Both NaN, the same infinity, or finite and close (bit for bit if exact): see the docstring."""
    if math.isnan(engine) or math.isnan(torch):
        return math.isnan(engine) and math.isnan(torch)
    if exact:
        return engine == torch and math.copysign(1.0, engine) == math.copysign(1.0, torch)
    if math.isinf(engine) or math.isinf(torch):
        return engine == torch
    return abs(engine - torch) <= 1e-12 * max(abs(engine), abs(torch)) + scale * sys.float_info.min


# The cases, and every op once (each on the two latest nodes, with its third constant).
RELU_SQRT = Program((-1.0,), (("relu", (0,), None), ("sqrt", (1,), None)))
TINY_DIVISOR = Program(
    (1e-8, 1e-200), (("div", (0, 1), None), ("x * c", (2,), 1e-200), ("div", (1, 1), None))
)
SIGNED_ZERO = Program((-0.0, 0.0), (("sqrt", (0,), None), ("x ** n", (0,), 0.5), ("sqrt", (1,), None)))
EVERY_OP = Program(
    (3.0, 1e-8),
    tuple(
        (name, (k + 1, k)[: op.arity], op.constants[2] if op.constants else None)
        for k, (name, op) in enumerate(OPS.items())
    ),
)


@settings(deadline=None)  # how many examples: the profile in conftest.py (300 in CI)
@given(program=programs())
@example(program=RELU_SQRT)
@example(program=TINY_DIVISOR)
@example(program=SIGNED_ZERO)
@example(program=EVERY_OP)
def test_every_op_of_a_random_graph_matches_torch(program: Program, torch: Any) -> None:
    applied, refused = run(program)
    for op, constant, inputs in refused:
        _, tensors, out = on_torch(op, constant, inputs)
        values = [out.item()]
        if math.isfinite(values[0]):
            values += torch_vjp(op, tensors, out, 1.0, values[0])
        assert not all(map(math.isfinite, values)), (
            f"the engine refused {[x.data for x in inputs]} (constant {constant}), "
            f"but PyTorch's value and gradients there are finite: {values}"
        )
    if not applied:
        return
    backpropagate(applied)
    for a in applied:
        distinct, tensors, out = on_torch(a.op, a.constant, a.inputs)
        where = f"{a.out._op} on {[x.data for x in a.inputs]} (constant {a.constant})"
        assert agree(a.out.data, out.item(), a.op.exact), f"{where}: {a.out.data} != PyTorch's {out.item()}"
        g = a.out.grad
        expected = torch_vjp(a.op, tensors, out, g, a.out.data)
        got = [a.added[id(x)] for x in distinct]
        scale = max(1.0, abs(g)) if math.isfinite(g) else 1.0
        assert all(agree(e, t, a.op.exact, scale) for e, t in zip(got, expected, strict=True)), (
            f"{where}, upstream {g}: the engine added {got}, PyTorch {expected}"
        )
