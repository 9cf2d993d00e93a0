"""Hypothesis properties of backward on random expression graphs with reused nodes.

A program is a few leaf values and a list of ops; each op takes its operands from any earlier
node (leaf or op result), so nodes are reused and diamonds appear. Every op is defined for every
real input, so no drawn program can hit a domain error. The same program runs on Values, on
plain numbers through engine.numerical_grad, and on float64 torch tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import engine
from engine import Value

# name -> (arity, fn); fn uses only operators and methods that Value and torch.Tensor share.
OPS: dict[str, tuple[int, Callable[..., Any]]] = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (1 + b.sigmoid())),  # divisor in (1, 2)
    "square": (1, lambda a: a**2),
    "neg": (1, lambda a: -a),
    "tanh": (1, lambda a: a.tanh()),
    "sigmoid": (1, lambda a: a.sigmoid()),
    "exp_tanh": (1, lambda a: a.tanh().exp()),
    "log_1p_sq": (1, lambda a: (a * a + 1).log()),  # argument ≥ 1
    "sqrt_1p_sq": (1, lambda a: (1 + a * a).sqrt()),
    "pow_value": (2, lambda a, b: (1.5 + a.tanh()) ** b.sigmoid()),  # base in (0.5, 2.5)
    "rpow": (1, lambda a: 2 ** a.tanh()),
}
MAX_MAGNITUDE = 100.0  # beyond this, central differences lose too many digits to compare


@dataclass(frozen=True)
class Program:
    leaves: tuple[float, ...]
    ops: tuple[tuple[str, tuple[int, ...]], ...]  # (op name, indices of earlier nodes)

    def run(self, inputs: Sequence[Any]) -> list[Any]:
        """Every node of the program, leaves first, on Values or tensors (one per leaf)."""
        nodes = list(inputs)
        for name, args in self.ops:
            nodes.append(OPS[name][1](*(nodes[i] for i in args)))
        return nodes

    def root(self, *inputs: Any) -> Any:
        return self.run(inputs)[-1]

    def build(self) -> tuple[list[Value], Value]:
        leaves = [Value(x, label=f"x{i}") for i, x in enumerate(self.leaves)]
        return leaves, self.root(*leaves)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    n_leaves = draw(st.integers(2, 4))
    leaf = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    leaves = tuple(draw(st.lists(leaf, min_size=n_leaves, max_size=n_leaves)))
    ops = []
    for k in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(sorted(OPS)))
        earlier = st.integers(0, n_leaves + k - 1)
        ops.append((name, tuple(draw(earlier) for _ in range(OPS[name][0]))))
    program = Program(leaves, tuple(ops))
    with engine.no_grad():
        assume(all(abs(node.data) <= MAX_MAGNITUDE for node in program.run(map(Value, leaves))))
    return program


# a·b + a·c at a = 1, b = 0.2, c = 0.1: leaf a gets 0.2 and 0.1 along two edges.
TWO_EDGES = Program((1.0, 0.2, 0.1), (("mul", (0, 1)), ("mul", (0, 2)), ("add", (3, 4))))
# every op once, each on the two latest nodes
ALL_OPS = Program((0.7, -1.3), tuple((op, (k + 1, k)[: OPS[op][0]]) for k, op in enumerate(OPS)))

SETTINGS = settings(deadline=None)  # how many examples: the profile in conftest.py (300 in CI)


def grads(leaves: Sequence[Value]) -> list[float]:
    return [leaf.grad for leaf in leaves]


@SETTINGS
@given(program=programs())
@example(program=TWO_EDGES)
@example(program=ALL_OPS)
def test_backward_matches_central_differences(program: Program) -> None:
    leaves, root = program.build()
    root.backward()
    numerical = engine.numerical_grad(program.root, program.leaves)
    assert grads(leaves) == pytest.approx(numerical, rel=1e-4, abs=1e-6)


@pytest.mark.torch
@SETTINGS
@given(program=programs())
@example(program=TWO_EDGES)
@example(program=ALL_OPS)
def test_backward_matches_torch(program: Program, torch: Any) -> None:
    leaves, root = program.build()
    root.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in program.leaves]
    torch_root = program.root(*tensors)
    torch_root.backward()
    expected = [0.0 if t.grad is None else t.grad.item() for t in tensors]
    assert root.data == pytest.approx(torch_root.item(), rel=1e-9, abs=1e-12)
    assert grads(leaves) == pytest.approx(expected, rel=1e-7, abs=1e-10)


@SETTINGS
@given(program=programs())
@example(program=TWO_EDGES)
def test_second_backward_doubles_leaf_gradients_exactly(program: Program) -> None:
    leaves, root = program.build()
    root.backward()
    once = grads(leaves)
    root.backward()
    assert grads(leaves) == [2 * g for g in once]


def reachable(root: Value) -> dict[int, Value]:
    """Every node root depends on, by id, found independently of engine.topo_order."""
    found = {id(root): root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in found:
                found[id(child)] = child
                stack.append(child)
    return found


@SETTINGS
@given(program=programs())
@example(program=ALL_OPS)
def test_topo_order_lists_every_node_once_after_its_inputs(program: Program) -> None:
    _, root = program.build()
    order = engine.topo_order(root)
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node is listed twice"
    assert position.keys() == reachable(root).keys()
    assert order[-1] is root
    for node in order:
        for child in node._prev:
            assert position[id(child)] < position[id(node)], f"{child} after its user {node}"
