"""Copies of graphs: pickle and copy.deepcopy at any depth, keeping shared nodes shared; copy.copy."""

from __future__ import annotations

import copy
import math
import pickle
import sys
from collections.abc import Callable
from typing import Any

import pytest

from engine import Value, backward_work, scope, scope_of, tag_scopes, topo_order

# Each takes any object holding Values and gives back an independent copy of it.
ROUND_TRIPS = [
    pytest.param(lambda obj: pickle.loads(pickle.dumps(obj, protocol=2)), id="pickle-2"),
    pytest.param(lambda obj: pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)), id="pickle"),
    pytest.param(copy.deepcopy, id="deepcopy"),
]
RoundTrip = Callable[[Any], Any]

# One step of a long chain; together they use every kind of node: a plain-number power (its n
# must survive), a Value exponent, a reused input, constants on both sides, a frozen leaf.
STEPS: list[Callable[[Value, Value, Value], Value]] = [
    lambda y, x, c: y + x,
    lambda y, x, c: y * 0.999,
    lambda y, x, c: (y**2) ** 0.5,
    lambda y, x, c: y / 1.001,
    lambda y, x, c: 1.0 - (-y),
    lambda y, x, c: (y * c).relu() / c,
    lambda y, x, c: y + (x ** x.tanh()) * 0.0,
    lambda y, x, c: y.tanh() * 0.0 + y,
]


def chain(ops: int) -> Value:
    """A chain of at least `ops` ops (STEPS again and again) on a leaf x and a frozen c, after a backward."""
    x, c = Value(0.5, label="x"), Value(2.0, label="c", requires_grad=False)
    y = x
    for i in range(ops // 18 + 1):  # 18 ops per round of STEPS
        for step in STEPS:
            y = step(y, x, c)
        if i % 100 == 0:
            y.label = f"y{i}"
    y.backward()
    return y


def shape(roots: list[Value]) -> list[tuple[Any, ...]]:
    """Every node reachable from the roots, in order, with its fields and its inputs' positions."""
    order = [node for root in roots for node in topo_order(root)]
    position: dict[int, int] = {}
    for node in order:
        position.setdefault(id(node), len(position))
    seen: set[int] = set()
    rows = []
    for node in order:
        if id(node) in seen:
            continue
        seen.add(id(node))
        inputs = tuple(position[id(x)] for x in node._prev)
        rows.append((node.data, node.grad, node.label, node.requires_grad, node._op, inputs, scope_of(node)))
    return rows


@pytest.mark.slow  # a 100,000-op graph, three round trips
@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
def test_a_100k_op_chain_round_trips_whole(round_trip: RoundTrip) -> None:
    limit = sys.getrecursionlimit()
    y = chain(100_000)
    assert backward_work(y).ops >= 100_000
    twin = round_trip(y)
    assert shape([twin]) == shape([y])  # same numbers, labels, ops, and the same sharing
    assert not {id(n) for n in topo_order(twin)} & {id(n) for n in topo_order(y)}  # nothing shared
    twin.backward()
    y.backward()
    assert shape([twin]) == shape([y])  # backward works on the copy, leaves accumulate alike
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)], ids=["x-first", "root-first", "mixed"])
def test_values_copied_together_share_their_nodes(round_trip: RoundTrip, order: tuple[int, ...]) -> None:
    x = Value(1.5, label="x")
    y1 = x * 2.0
    y2 = (y1 + x).tanh()
    values = [(x, y1, y2)[i] for i in order]
    twins = dict(zip(order, round_trip(values)))
    x_, y1_, y2_ = twins[0], twins[1], twins[2]
    assert y1_._prev[0] is x_ and y2_._prev[0]._prev == (y1_, x_)
    assert shape([y2_]) == shape([y2])
    y2_.backward()
    assert x_.grad == pytest.approx(3 * (1 - math.tanh(4.5) ** 2)) and x.grad == 0.0


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
def test_a_node_used_twice_stays_one_node(round_trip: RoundTrip) -> None:
    a = Value(3.0, label="a")
    twin = round_trip(a + a)
    assert twin._prev[0] is twin._prev[1]
    twin.backward()
    assert twin._prev[0].grad == 2.0


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
@pytest.mark.parametrize("n", [2, 3, -1, 2.5, 0])
def test_a_plain_number_power_keeps_its_exponent(round_trip: RoundTrip, n: float) -> None:
    x = Value(1.7, label="x")
    twin = round_trip(x**n)
    twin.backward()
    assert twin.data == 1.7**n and twin._op == (x**n)._op
    assert twin._prev[0].grad == pytest.approx(n * 1.7 ** (n - 1) if n else 0.0, rel=1e-15)


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
def test_scopes_survive_a_copy(round_trip: RoundTrip) -> None:
    with tag_scopes(), scope("layer 1"):
        y = Value(2.0) * 3.0
    assert scope_of(round_trip(y)) == ("layer 1",)


def test_copy_copy_is_a_new_node_on_the_same_inputs() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    y = a * b
    y.label = "y"
    twin = copy.copy(y)
    assert twin is not y
    assert (twin.data, twin.label, twin._op, twin._prev) == (6.0, "y", "*", (a, b))
    twin.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
