"""Tape: the graph of one example, compiled once to a short list of vector ops, replayed over any batch.

A lane graph (see Value) is rebuilt for every batch: a node object, a numpy call and a small array
per op, each step. A tape records the graph once, from its feeds (the lane inputs: X's columns) to
its outputs, and groups its nodes into a few vector ops: nodes at the same depth doing the same op
(a layer's products wᵢⱼ·xᵢ, its sums, its relus) become one numpy call over a (nodes × lanes)
array, and each chain of additions, as a neuron's b + w₀x₀ + w₁x₁ + ..., one sum over its terms.
Replaying it costs a few numpy calls per layer instead of a few per node.

It is the same computation: each group runs the op's own Value method (its forward) on rows of
lanes, and backward calls the op's own rule from RULES. A scalar is a row of one lane, and what a
lane node hands a scalar input is summed over the lanes, as graph.backward does; so a tape gives
what the lane graph gives, to rounding (tests hold it to 1e-12). Only leaves get gradients: the
interior nodes are rows of arrays, not Values. A tape cannot see Python: a lane value computed from
numbers in Python (a constant lane) would not change with the batch, so it is refused.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import _post_order
from .modes import describe
from .value import LocalGrads, Value, rule_of

__all__ = ["Tape"]

Index = slice | np.ndarray  # rows of a store: a slice where they are consecutive (a view, no copy)
Stores = dict[str, np.ndarray]  # "L": a row of lanes per lane node, "S": a row of one per scalar

# The primitives' forward: a group calls the op's Value method on Values holding 2-d rows.
_METHODS: dict[str, Callable[..., Value]] = {
    "*": Value.__mul__,
    "/": Value.__truediv__,
    "**": Value.__pow__,
    "exp": Value.exp,
    "log": Value.log,
    "sqrt": Value.sqrt,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "abs": Value.abs,
}
_SUM = "Σ"  # a chain of additions, folded into one op
_REDUCTIONS = ("sum", "mean")  # over the lanes: a lane value in, a scalar out


class Tape:
    """A graph from feeds to outputs as grouped vector ops: forward(batch) runs it, backward fills leaves."""

    def __init__(self, outputs: Sequence[Value] | Value, feeds: Sequence[Value]) -> None:
        """Compile the graph of outputs, whose lane inputs are the feeds (lane Values without inputs)."""
        self.single = isinstance(outputs, Value)  # forward still returns a list
        outs: list[Any] = [outputs] if isinstance(outputs, Value) else list(outputs)
        for i, out in enumerate(outs):
            if not isinstance(out, Value):
                raise TypeError(f"Tape: outputs[{i}] must be a Value, got {type(out).__name__}")
        self.feeds = list(feeds)
        for i, x in enumerate(self.feeds):
            if not isinstance(x, Value) or x.lanes is None or x._prev:
                raise TypeError(
                    f"Tape: feeds[{i}] must be a lane Value without inputs (a column), got {x!r:.80}"
                )
        if len({id(x) for x in self.feeds}) != len(self.feeds):
            raise ValueError("Tape: a Value is given twice among the feeds: each feed is one column of X")
        with _collector_paused():
            self._program = _compile(outs, self.feeds)
        self._lanes = 0  # the batch size the stores below are made for
        self._values: Stores = {}
        self._edges: Stores = {}
        self._saved: list[Value] | None = None  # each group's output of the last forward

    @classmethod
    def trace(cls, fn: Callable[[list[Value]], Any], batch: Any) -> Tape:
        """Run fn on the batch's columns as feeds (examples × features) and compile the graph it builds."""
        array = np.asarray(batch, dtype=np.float64)
        if array.ndim != 2 or 0 in array.shape:
            raise ValueError(
                "Tape.trace: batch must be a non-empty 2-d array (examples × features), "
                f"got shape {array.shape}"
            )
        # requires_grad=True on the feeds: every op on them is recorded, even where no parameter is.
        feeds = [Value(column, label=f"x{i}") for i, column in enumerate(array.T)]
        with _collector_paused():
            outputs = fn(feeds)
        return cls(outputs, feeds)

    def forward(self, batch: Any) -> list[Any]:
        """The outputs on a batch (examples × feeds): each an array of lanes, or a number for a scalar."""
        array = np.asarray(batch, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != len(self.feeds) or len(array) == 0:
            raise ValueError(
                f"Tape.forward: batch must be a 2-d array with a column per feed ({len(self.feeds)}) and "
                f"at least one row, got shape {array.shape}"
            )
        program = self._program
        self._make_stores(len(array))
        values = self._values
        values["L"][program.feed_rows] = array.T
        leaves = program.leaves
        values["S"][program.leaf_rows, 0] = np.array([x.data for x in leaves], dtype=np.float64)
        self._saved = None  # a group that raises leaves no half-run forward to backpropagate
        saved = [group.forward(values) for group in program.groups]
        self._saved = saved
        return [
            values["L"][row].copy() if kind == "L" else float(values["S"][row, 0])
            for kind, row in program.outputs
        ]

    def backward(self, grads: Sequence[Any]) -> None:
        """Add ∂(Σₖ outputₖ·gradsₖ)/∂leaf into .grad of each leaf that requires grad (after forward)."""
        program, saved = self._program, self._saved
        if saved is None:
            raise RuntimeError("Tape.backward: run forward on a batch first")
        if len(grads) != len(program.outputs):
            raise ValueError(
                f"Tape.backward: needs a gradient per output ({len(program.outputs)}), got {len(grads)}"
            )
        edges = self._edges
        for i, ((kind, _), row, g) in enumerate(zip(program.outputs, program.seeds, grads)):
            edges[kind][row] = _seed(g, kind, self._lanes, i)
        for group, out in zip(reversed(program.groups), reversed(saved)):
            if group.needs:
                group.backward(out, edges)
        # Every leaf at once, at the end: an error above leaves every .grad as it was.
        totals = _pull(edges["S"], program.grad_pull)[:, 0].tolist()
        for leaf, total in zip(program.grad_leaves, totals):
            leaf.grad += total

    def free(self) -> None:
        """Let go of the arrays kept for the last batch (values, shares, the last forward's rows)."""
        self._lanes, self._values, self._edges, self._saved = 0, {}, {}, None

    def _make_stores(self, lanes: int) -> None:
        """The value and edge stores for batches of this many lanes, kept for the next batch of its size.

        Every replay writes the same rows, so they are made once: the edge rows no group writes (to
        inputs that need no gradient, and row 0, the padding of pulls) stay 0 for good.
        """
        if self._lanes != lanes:
            rows, edges = self._program.rows, self._program.edges
            self._values = {"L": np.empty((rows["L"], lanes)), "S": np.empty((rows["S"], 1))}
            self._edges = {"L": np.zeros((edges["L"], lanes)), "S": np.zeros((edges["S"], 1))}
            self._lanes = lanes

    def __repr__(self) -> str:
        groups = self._program.groups
        ops = sum(g.size for g in groups)
        outputs = len(self._program.outputs)
        return (
            f"Tape({len(self.feeds)} feeds, {ops} ops in {len(groups)} groups, {_count(outputs, 'output')})"
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic collector off while a graph is built or compiled, as fit does for a step.

    A graph has no reference cycles, so there is nothing for it to find; with it on, every few
    hundred new objects it would scan the whole graph built so far (a third of a large compile).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _seed(g: Any, kind: str, lanes: int, i: int) -> Any:
    """An output's gradient as an edge row: one number per lane (or one for all), or one number."""
    if kind == "S":
        return float(g)
    array = np.asarray(g, dtype=np.float64)
    if array.shape not in ((), (lanes,)):
        raise ValueError(
            f"Tape.backward: grads[{i}] must hold one number per lane ({lanes}), got shape {array.shape}"
        )
    return array


class _Group:
    """Nodes at one depth doing one op on inputs of the same kinds: one vector op per replay."""

    def __init__(self, kind: str, op: str, first: Value, kinds: tuple[str, ...]) -> None:
        self.kind = kind  # of its outputs: "L" lane nodes, "S" scalars
        self.op = op  # the op symbol, or Σ
        self.kinds = kinds  # of each input position (for Σ, each term)
        # While compiling, its nodes and their inputs (for Σ, the terms) in order; then let go, so
        # that the traced graph is freed, keeping only the count and the inputs' labels (for errors).
        self.nodes: list[int] = []
        self.inputs: list[list[int]] = []
        self.size = 0
        self.labels: list[list[str]] = []
        self.needs = False  # whether a gradient flows through it to a leaf that requires grad
        self.position_needs: list[bool] = []  # per input position: whether one of its inputs needs one
        self.rows: Index = slice(0)  # its outputs' rows in the store of its kind
        # Per run of positions [start, stop) of one kind (an op: each position; Σ: its terms by kind):
        self.runs: list[tuple[int, int]] = []
        self.gathers: list[Index] = []  # the inputs' rows, node by node
        self.blocks: list[Index | None] = []  # the edge rows its shares go to; None: none needed
        self.pull: Index = slice(0)  # the edge rows its outputs' gradients are summed from
        self.rule: LocalGrads | None = first._backward
        self.method: Callable[..., Value] | None = None
        if op in _METHODS:
            self.method = _METHODS[op]
        elif op == "**0.5":
            self.method = _sqrt_power
        elif op.startswith("**"):  # x ** n: n is bound in the rule, a functools.partial
            self.method = _Power(first._backward.args[0])  # type: ignore[union-attr]

    def forward(self, values: Stores) -> Value:
        """Compute the group's rows; return them as a Value whose inputs hold the operands (for backward)."""
        if self.op == _SUM:
            out = _carrier(_sum_terms(self, values))
        else:
            args = [
                _carrier(values[self.kinds[start]][rows]) for (start, _), rows in zip(self.runs, self.gathers)
            ]
            for arg, needs in zip(args, self.position_needs):
                arg.requires_grad = needs  # as the nodes had it: pow checks its exponent's
            if self.op in _REDUCTIONS:
                x: Any = args[0].data
                total = np.add.reduce(x, axis=1, keepdims=True)  # the ufunc: its warnings are this module's
                out = _carrier(total if self.op == "sum" else total / x.shape[1])  # as Value.mean divides
            else:
                try:
                    out = self.method(*args)  # type: ignore[misc]
                except (ArithmeticError, ValueError, IndexError):  # IndexError: a lane named in 2-d rows
                    self._raise_for_one(args)
                    raise
            out._prev = tuple(args)
        values[self.kind][self.rows] = out.data
        return out

    def _raise_for_one(self, args: list[Value]) -> None:
        """Redo the op node by node on 1-d lanes, so that its error names the node's label and the lane."""
        for r, labels in enumerate(self.labels):
            one = []
            for arg, label, kind in zip(args, labels, self.kinds):
                row: Any = arg.data[r]  # type: ignore[index]
                x = _carrier(float(row[0]) if kind == "S" else row)
                x.label, x.requires_grad = label, arg.requires_grad
                one.append(x)
            self.method(*one)  # type: ignore[misc]

    def backward(self, out: Value, edges: Stores) -> None:
        """Each input's share ∂out/∂input · g into its edge rows, g summed from the outputs' edge rows."""
        g = _pull(edges[self.kind], self.pull)
        if self.op == _SUM:  # each term of a sum gets g, as RULES["+"] gives each input of an addition
            shares: list[Any] = [g] * len(self.runs)
        else:
            shares = list(self.rule(out, g))  # type: ignore[misc, arg-type]
        k = self.size
        for share, (start, stop), block in zip(shares, self.runs, self.blocks):
            if block is None:
                continue
            store = self.kinds[start]
            # A scalar fed lanes: its lanes' shares summed, as graph.backward sums them.
            row = np.add.reduce(share, axis=-1, keepdims=True) if store == "S" else share
            target = edges[store][block]  # a slice of the store: a view, written in place
            # (k, 1, width): one row per node, given to each of its stop - start terms alike.
            target.reshape(k, stop - start, -1)[...] = np.reshape(row, (k, 1, -1))


def _sum_terms(group: _Group, values: Stores) -> np.ndarray:
    """Σ: each node's terms, in order, summed ((t₀ + t₁) + t₂)... as the chain of additions did."""
    k, m = group.size, len(group.kinds)
    width = values[group.kind].shape[1]
    if len(group.runs) == 1:  # terms of one kind: read in place where they are consecutive rows
        terms = values[group.kinds[0]][group.gathers[0]].reshape(k, m, -1)
    else:
        terms = np.empty((k, m, width))
        for (start, stop), rows in zip(group.runs, group.gathers):
            terms[:, start:stop] = values[group.kinds[start]][rows].reshape(k, stop - start, -1)
    # Reduced along the middle axis, numpy adds the terms one after another (not pairwise).
    return np.add.reduce(terms, axis=1)  # type: ignore[no-any-return]


class _Power:
    """x ** n for a plain number n: Value's own `**`, with n fixed (picklable, unlike a lambda)."""

    def __init__(self, n: float) -> None:
        self.n = n

    def __call__(self, x: Value) -> Value:
        return x**self.n


def _sqrt_power(x: Value) -> Value:
    return x**0.5


def _carrier(data: Any) -> Value:
    """A Value holding a group's rows (2-d data), outside any graph."""
    v: Value = object.__new__(Value)
    v.data, v.grad, v.label, v.requires_grad = data, 0.0, "", False
    v._prev, v._op, v._backward = (), "", None
    return v


def _pull(store: np.ndarray, rows: Index) -> np.ndarray:
    """Each node's gradient: the shares its consumers left in the edge store, summed."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:  # several consumers, padded with row 0 (stays 0)
        return np.add.reduce(store[rows], axis=1)  # type: ignore[no-any-return]
    return store[rows]


def _index(rows: Sequence[int]) -> Index:
    """Rows as a slice where they are consecutive and ascending (a view), else an index array."""
    n = len(rows)
    if n and rows[-1] - rows[0] == n - 1 and all(b == a + 1 for a, b in itertools.pairwise(rows)):
        return slice(rows[0], rows[0] + n)
    return np.array(rows, dtype=np.intp)


def _pull_index(edge_rows: list[list[int]]) -> Index:
    """The edge rows to sum per node: a slice or index if each has one, else a (nodes × most) array."""
    most = max((len(r) for r in edge_rows), default=1)
    if most <= 1:
        return _index([r[0] if r else 0 for r in edge_rows])
    return np.array([r + [0] * (most - len(r)) for r in edge_rows], dtype=np.intp)


def _op_key(node: Value) -> tuple[Any, ...]:
    """What makes two nodes the same op: the symbol and the rule (with a plain-number power's n)."""
    rule = node._backward
    return (node._op, getattr(rule, "func", rule), getattr(rule, "args", ()))


@dataclass
class _Program:
    """The compiled tape: its groups in order, and where each thing lives in the stores."""

    groups: list[_Group]
    leaves: list[Value]  # the scalar leaves (parameters, constants), read at each forward
    grad_leaves: list[Value]  # those that require grad, written at each backward
    feed_rows: Index
    leaf_rows: Index
    outputs: list[tuple[str, int]]  # (kind, row) per output
    seeds: list[int]  # per output, its seed's edge row
    grad_pull: Index  # the grad leaves' edge rows
    rows: dict[str, int] = field(default_factory=dict)  # rows per value store
    edges: dict[str, int] = field(default_factory=dict)  # rows per edge store


def _compile(outputs: list[Value], feeds: list[Value]) -> _Program:
    """Sort the graph's nodes into groups, then lay out the stores (see _layout)."""
    done: set[Value] = set()
    order: list[Value] = []
    for out in outputs:
        order += _post_order(out, done)
    # Nodes by position in `order` from here on: lists indexed by position, not dicts of nodes.
    position = {node: i for i, node in enumerate(order)}
    inputs_of = [[position[x] for x in node._prev] for node in order]
    ops = [node._op for node in order]
    # An addition used once, by an addition, is folded into that one's Σ: a neuron's chain
    # b + w₀x₀ + w₁x₁ + ... becomes one Σ of its terms. Outputs count as used twice: kept.
    uses, user = [0] * len(order), [0] * len(order)
    for i, inputs in enumerate(inputs_of):
        for j in inputs:
            uses[j] += 1
            user[j] = i
    for out in outputs:
        uses[position[out]] += 2
    folded = [op == "+" and uses[i] == 1 and ops[user[i]] == "+" for i, op in enumerate(ops)]
    fed = {position[x] for x in feeds if x in position}
    kind, depth, needs = [""] * len(order), [0] * len(order), [False] * len(order)
    groups: dict[tuple[Any, ...], _Group] = {}
    leaves: list[int] = []
    for i, node in enumerate(order):
        inputs = inputs_of[i]
        if not inputs:
            kind[i] = _leaf_kind(node, i in fed)
            if kind[i] == "S":
                needs[i] = node.requires_grad
                leaves.append(i)
            continue
        if folded[i]:
            continue
        op = ops[i]
        if op == "+":
            inputs, op = _terms(i, inputs_of, folded), _SUM
        elif rule_of(op) is None:
            raise ValueError(f"Tape: no rule for the op {op!r} of {describe(node)}")
        kinds = tuple([kind[j] for j in inputs])
        kind[i] = "S" if op in _REDUCTIONS or "L" not in kinds else "L"
        depth[i] = 1 + max([depth[j] for j in inputs])
        needs[i] = any([needs[j] for j in inputs])
        key = (depth[i], kind[i], kinds, op if op == _SUM else _op_key(node))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(kind[i], op, node, kinds)
        group.nodes.append(i)
        group.inputs.append(inputs)
        group.needs = group.needs or needs[i]
    in_order = sorted(groups.values(), key=lambda g: depth[g.nodes[0]])  # stable: a depth's groups
    program = _layout(
        order=order,
        outputs=[position[out] for out in outputs],
        feeds=[position.get(x, -1) for x in feeds],
        groups=in_order,
        leaves=leaves,
        kind=kind,
        needs=needs,
    )
    program.leaves = [order[i] for i in leaves]
    program.grad_leaves = [leaf for leaf in program.leaves if leaf.requires_grad]
    return program


def _leaf_kind(node: Value, feed: bool) -> str:
    """A leaf's kind: a feed's lanes ("L"), or a scalar ("S"); any other lane leaf is refused."""
    if feed:
        return "L"
    if node.lanes is not None:
        raise ValueError(
            f"Tape: the graph holds a lane value that is not a feed, {describe(node)}: a constant "
            "computed from lanes in Python, which a tape would not recompute for another batch "
            "(compute it from the feeds with Value ops, or pass it as a feed)"
        )
    return "S"


def _terms(node: int, inputs_of: list[list[int]], folded: list[bool]) -> list[int]:
    """The terms of a chain of additions, left to right: ((a + b) + c) + d gives [a, b, c, d]."""
    terms: list[int] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if x == node or folded[x]:
            stack.extend(reversed(inputs_of[x]))
        else:
            terms.append(x)
    return terms


def _layout(
    *,
    order: list[Value],
    outputs: list[int],
    feeds: list[int],
    groups: list[_Group],
    leaves: list[int],
    kind: list[str],
    needs: list[bool],
) -> _Program:
    """Give every node a row and every (consumer, input) pair an edge row, so that most reads are slices.

    Working down from the outputs, each group's nodes are put in the order their consumers read
    them: a layer's products in the order its sums take them as terms, so each sum reads a slice.
    Nodes are positions in order (a feed the graph does not use is -1: its row is never read).
    """
    edge_count = {"L": 1, "S": 1}  # row 0 of each edge store stays 0: the padding of pulls
    edges_of: list[list[int]] = [[] for _ in order]  # per node, its edge rows (in its kind's store)
    first_edge = [math.inf] * len(order)  # per node, its first edge row: the order consumers read it
    seeds = []
    for out in outputs:
        row = edge_count[kind[out]]
        edge_count[kind[out]] += 1
        edges_of[out].append(row)
        first_edge[out] = min(first_edge[out], row)
        seeds.append(row)
    for group in reversed(groups):
        pairs = sorted(zip(group.nodes, group.inputs), key=lambda pair: first_edge[pair[0]])
        group.nodes = [node for node, _ in pairs]
        group.inputs = [inputs for _, inputs in pairs]
        kinds, k = group.kinds, len(group.nodes)
        if group.op == _SUM:  # runs of terms of one kind
            cuts = [p for p in range(1, len(kinds)) if kinds[p] != kinds[p - 1]]
            group.runs = list(zip([0, *cuts], [*cuts, len(kinds)]))
        else:
            group.runs = [(p, p + 1) for p in range(len(kinds))]
        group.position_needs = [any([needs[inputs[p]] for inputs in group.inputs]) for p in range(len(kinds))]
        group.blocks = []
        for start, stop in group.runs:
            if not group.needs or not any(group.position_needs[start:stop]):
                group.blocks.append(None)
                continue
            store, size = kinds[start], stop - start
            first = edge_count[store]
            edge_count[store] += k * size
            row = first
            for inputs in group.inputs:
                for j in inputs[start:stop]:
                    edges_of[j].append(row)
                    first_edge[j] = min(first_edge[j], row)
                    row += 1
            group.blocks.append(slice(first, first + k * size))
    # Rows: the feeds (X's columns, one slice), the leaves, then each group's outputs, in order.
    row_count = {"L": 0, "S": 0}
    row_of = [0] * len(order)

    def place(nodes: Sequence[int], store: str) -> Index:
        first = row_count[store]
        for i, node in enumerate(nodes):
            if node >= 0:
                row_of[node] = first + i
        row_count[store] += len(nodes)
        return slice(first, first + len(nodes))

    feed_rows = place(feeds, "L")
    leaves.sort(key=first_edge.__getitem__)
    leaf_rows = place(leaves, "S")
    for group in groups:
        group.rows = place(group.nodes, group.kind)
    for group in groups:
        group.gathers = [
            _index([row_of[j] for inputs in group.inputs for j in inputs[start:stop]])
            for start, stop in group.runs
        ]
        group.pull = _pull_index([edges_of[node] for node in group.nodes])
        group.size = len(group.nodes)
        group.labels = [[order[j].label for j in inputs] for inputs in group.inputs]
        group.nodes, group.inputs = [], []  # positions in a graph the tape lets go of
    grad_leaves = [leaf for leaf in leaves if order[leaf].requires_grad]
    return _Program(
        groups=groups,
        leaves=[],  # filled in by _compile, which holds the nodes
        grad_leaves=[],
        feed_rows=feed_rows,
        leaf_rows=leaf_rows,
        outputs=[(kind[out], row_of[out]) for out in outputs],
        seeds=seeds,
        grad_pull=_pull_index([edges_of[leaf] for leaf in grad_leaves]),
        rows=row_count,
        edges=edge_count,
    )
