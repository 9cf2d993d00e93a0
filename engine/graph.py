"""Graph algorithms over computation-graph nodes: ordering, the backward pass, zeroing.

Everything here sees only the node interface (`Node`) and knows nothing of the arithmetic: each
node carries its inputs and its op's backward rule; the chain rule (visit every op once, after all
of its users, and add what its rule gives into its inputs) lives here.

A node's data and grad are floats, or for a lane node (one entry per example) 1-d arrays of the
same length. The one thing lanes add here: a scalar input of a lane op (a parameter used by every
example) gets the sum over the lanes of what the op's rule gives it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from .modes import check_backward, describe, mode

__all__ = [
    "BackwardStep",
    "BackwardWork",
    "Node",
    "PerExampleGrads",
    "backward",
    "backward_steps",
    "backward_work",
    "per_example_grads",
    "require_node",
    "topo_order",
    "zero_grad",
]


class Node(Protocol):
    """What the graph algorithms need of a node.

    Nodes hash by identity (no value equality). A node made by an op has one or two inputs in
    `_prev` and a backward rule: `_backward(node, g)` is what each input's grad gets when node.grad
    is g (∂node/∂input · g), and `_backward(node)`, with g = 1, the local derivatives ∂node/∂input.
    A leaf has neither.
    """

    # Typed as the scalar path's floats: a lane node holds 1-d float64 arrays of one length in both.
    grad: float
    requires_grad: bool

    @property
    def data(self) -> float: ...

    @property
    def label(self) -> str: ...

    @property
    def _prev(self) -> Sequence[Node]: ...

    @property
    def _op(self) -> str: ...

    @property
    def _backward(self) -> Callable[..., Sequence[float]] | None: ...


N = TypeVar("N", bound=Node)


def require_node(caller: str, root: object) -> None:
    """Raise TypeError unless root is a graph node (a Value), saying what caller needs instead."""
    if all(hasattr(root, name) for name in ("_prev", "_backward", "grad", "data")):
        return
    need = f"{caller}: needs one Value (the output of a computation)"
    if root is None:
        raise TypeError(f"{need}, got None: did a function forget to return its result?")
    if isinstance(root, numbers.Number):
        raise TypeError(f"{need}, got the plain number {root!r}, which has no graph: compute it from Values")
    if isinstance(root, (list, tuple)):
        raise TypeError(
            f"{need}, got a {type(root).__name__} of {len(root)}: use one output at a time, "
            "or combine them into one loss (e.g. their sum) first"
        )
    if hasattr(root, "parameters"):
        raise TypeError(
            f"{need}, got a {type(root).__name__} (a model): call it on an input, or build a loss "
            "from its output, and pass that Value"
        )
    raise TypeError(f"{need}, got {type(root).__name__} {root!r:.60}")


def topo_order(root: N) -> list[N]:
    """Every node reachable from root, each after all of its inputs (root last)."""
    require_node("topo_order", root)
    return _post_order(root, set())


def _post_order(root: N, done: set[Any]) -> list[N]:
    """The nodes reachable from root not through one in `done` (which grows), each after its inputs."""
    # Iterative depth-first post-order, so a million-op chain needs no recursion. A node is
    # expanded once; _EMIT above it on the stack means "its inputs are all done: emit it".
    # An input already expanded is already emitted: in a DAG it cannot be an unfinished ancestor,
    # so it is not pushed (pushing every input with one extend is a fifth faster once warm, but
    # twice as slow for a process's first few walks, while the allocator grows to the longer stack).
    # The stack holds only nodes, no per-node tuples or iterators for the collector to chase.
    # Typed loosely inside: the inputs of an N are N's, which Sequence[Node] cannot say.
    order: list[Any] = []
    expanded = done  # nodes in `done` count as emitted already: not listed, not looked behind
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())
        elif node not in expanded:
            expanded.add(node)
            stack.append(node)
            stack.append(_EMIT)
            for child in node._prev:
                if child not in expanded:
                    stack.append(child)
    return order


_EMIT = object()


@dataclass(frozen=True)
class BackwardWork:
    """What backward(root) would do, counted on the graph without running it."""

    ops: int  # nodes with a local backward: backward visits each once
    edges: int  # (op, input) pairs whose input requires grad: one `input.grad += ∂·g` each
    nodes: int  # len(topo_order(root)): every recorded node, constant leaves included


def backward_work(root: Node) -> BackwardWork:
    """ops = nodes with a _backward, edges = their inputs that get a gradient, nodes = all in the graph."""
    require_node("backward_work", root)
    order = topo_order(root)
    ops = edges = 0
    for node in order:
        if node._backward is not None:
            ops += 1
            edges += sum(1 for child in node._prev if child.requires_grad)
    return BackwardWork(ops, edges, len(order))


def backward(root: Node, grad: Any = None) -> None:
    """Set node.grad = ∂root/∂node for every node: the chain rule, in reverse topological order."""
    # backward_steps() below is this loop one op at a time, for diagrams: change them together.
    seed = _seed("backward", root, grad)
    order = topo_order(root)
    earlier: list[tuple[Node, float]] = []
    zeroed = False
    check = mode.anomaly
    # A pass that stops part-way (detect_anomaly, Ctrl-C, an error in a rule) leaves every leaf as
    # it was: a half-summed gradient must never reach an optimizer step. (PyTorch never hands a
    # leaf a partial sum either, but keeps the sums it finished; here a failed pass changes no
    # leaf at all.) The try is entered once per pass, not per node.
    try:
        _start_pass(order, earlier)
        zeroed = True
        root.grad = seed
        for node in reversed(order):
            rule = node._backward
            if rule is None:  # a leaf
                continue
            inputs = node._prev
            g = node.grad
            added = rule(node, g)  # ∂node/∂input · ∂root/∂node, for each input
            if type(g) is not float:  # a lane node: its inputs may be scalars, which sum the lanes
                _add_lanes(inputs, added)
                if check:
                    check_backward(node)
                continue
            # Once per edge, so `a + a` adds twice. Unrolled for the one or two inputs every op
            # has: twice as fast as a zip() loop here.
            first = inputs[0]
            if first.requires_grad:
                first.grad += added[0]
            if len(inputs) == 2:
                second = inputs[1]
                if second.requires_grad:
                    second.grad += added[1]
            if check:
                check_backward(node)
        _finish_pass(earlier)
    except BaseException:
        _undo_pass(order if zeroed else (), earlier)
        raise


def _add_lanes(inputs: Sequence[Node], added: Sequence[Any]) -> None:
    """Add a lane op's per-lane gradients into its inputs: a scalar input gets their sum over lanes."""
    for child, amount in zip(inputs, added):
        if child.requires_grad:
            if type(child.data) is float:  # a scalar (a parameter): the sum over the lanes
                child.grad += float(amount.sum())  # the method: a third the cost of np.sum's wrapper
            else:  # the pass starts it at 0.0: the first += makes its own array, later ones add in place
                child.grad += amount


@dataclass(frozen=True)
class BackwardStep(Generic[N]):
    """One op's local backward: its gradient ∂root/∂node, and (input, ∂node/∂input, amount added)."""

    node: N
    upstream: Any  # a float, or for a lane node an array of one gradient per lane
    # One entry per edge that carries gradient, in input order (`a + a`: two entries for a);
    # inputs with requires_grad=False get nothing, as in backward(). For a lane node the
    # derivatives and amounts are per lane (arrays): a scalar input gets the amounts' sum.
    edges: tuple[tuple[N, Any, Any], ...]


def backward_steps(root: N, grad: Any = None) -> Iterator[BackwardStep[N]]:
    """backward(root, grad) one op at a time: each step is yielded after it has added its gradients."""
    seed = _seed("backward_steps", root, grad)  # now, not at the first next()
    return _steps(root, seed)


def _steps(root: Any, grad: Any) -> Generator[BackwardStep[Any], None, None]:
    # backward()'s loop, the same arithmetic in the same order, so the grads end up identical.
    order = topo_order(root)
    earlier: list[tuple[Node, float]] = []
    zeroed = finished = False
    check = mode.anomaly
    try:
        _start_pass(order, earlier)
        zeroed = True
        root.grad = grad
        ops = [node for node in reversed(order) if node._backward is not None]
        for node in ops:
            g = node.grad
            lanes = type(g) is not float
            # g = 1 (in every lane): ∂node/∂input, for the diagram
            local = node._backward(node, np.ones(len(_lanes(node)))) if lanes else node._backward(node)
            amounts = node._backward(node, g)  # what backward() adds
            edges = []
            for child, d, added in zip(node._prev, local, amounts):
                if child.requires_grad:
                    if lanes:
                        _add_lanes((child,), (added,))
                    else:
                        child.grad += added
                    edges.append((child, d, added))
            if check:
                check_backward(node)
            if node is ops[-1]:  # the last step shows the finished pass: leaves get what they held
                _finish_pass(earlier)
                finished = True
            yield BackwardStep(node, g, tuple(edges))
        if not finished:  # no ops: root is a leaf
            _finish_pass(earlier)
    except BaseException:  # an error, or stopped early (close(), GeneratorExit): as backward()
        if not finished:
            _undo_pass(order if zeroed else (), earlier)
        raise


@dataclass(frozen=True)
class PerExampleGrads:
    """One backward pass's gradients of some scalar leaves, split into each example's share and the rest."""

    # (n_lanes, len(params)): row i is what example i's lanes added to each parameter's gradient.
    per_example: np.ndarray
    # (len(params),): what reached each parameter through scalar ops only (an L2 penalty, say).
    shared: np.ndarray


def per_example_grads(root: N, params: Sequence[N]) -> PerExampleGrads:
    """backward(root), split by example: ∂root/∂p = Σᵢ per_example[i, p] + shared[p], lane i's share in row i.

    A lane op hands a scalar input one amount per lane, which backward sums; here lane i's amount
    is example i's, followed through any scalar ops down to the parameters. What reaches them
    through scalar ops alone is `shared`. For a loss that is a sum or mean of per-example terms,
    row i is the gradient of example i's term alone (divided by n for a mean). The pass is
    backward_steps(root)'s, so every .grad ends as backward(root) leaves it (leaves accumulate).
    """
    caller = "per_example_grads"
    require_node(caller, root)
    if type(root.data) is not float:
        raise ValueError(
            f"{caller}: the root must be a scalar loss, got a lane value ({describe(root)}): "
            "reduce it over the examples first with .sum() or .mean()"
        )
    columns = _scalar_leaves(caller, params)
    steps = _steps(root, _seed(caller, root, None))  # nothing runs before the first next()
    n = _lane_count(topo_order(root))
    if n is None:
        raise ValueError(
            f"{caller}: the graph of {describe(root)} has no lanes, so there are no examples to split "
            "the gradient by: build it from lane values (a model called on a 2-d X), or use backward()"
        )
    try:
        by_lane, shared = _split_by_lane(root, steps)
    finally:
        steps.close()  # stopped part-way by an error: the pass is undone, as backward's would be
    per_example = np.zeros((n, len(columns)))
    rest = np.zeros(len(columns))
    for j, param in enumerate(columns):
        per_example[:, j] = by_lane.get(param, 0.0)
        rest[j] = shared.get(param, 0.0)
    return PerExampleGrads(per_example, rest)


def _split_by_lane(root: Node, steps: Iterator[BackwardStep[Any]]) -> tuple[dict[Node, Any], dict[Node, Any]]:
    """Run the steps; each scalar node's gradient in two parts: per lane (an array), and the rest."""
    # A lane op hands a scalar input one amount per lane: lane i's is example i's. A scalar node
    # that got such amounts passes both parts through its op's rule (linear in g), to its scalar
    # inputs; for a node that got none, the step's own amounts (what backward adds) are the rest.
    by_lane: dict[Node, Any] = {}
    shared: dict[Node, Any] = {root: 1.0}  # the seed: a scalar root's gradient is 1
    for step in steps:
        node = step.node
        if type(step.upstream) is not float:  # a lane op
            for child, _, added in step.edges:
                if type(child.data) is float:
                    by_lane[child] = by_lane.get(child, 0.0) + added
            continue
        split = by_lane.pop(node, None)
        rest = shared.pop(node, 0.0)
        if split is None:
            for child, _, added in step.edges:
                if type(child.data) is float:
                    shared[child] = shared.get(child, 0.0) + added
            continue
        rule: Any = node._backward
        for child, lane_part, rest_part in zip(node._prev, rule(node, split), rule(node, rest)):
            if child.requires_grad and type(child.data) is float:
                by_lane[child] = by_lane.get(child, 0.0) + lane_part
                shared[child] = shared.get(child, 0.0) + rest_part
    return by_lane, shared


def _scalar_leaves(caller: str, params: object) -> list[Any]:
    """params as a list of scalar leaves (Values made by the user, not by an op), or a clear error."""
    if hasattr(params, "parameters") and not hasattr(params, "_prev"):
        raise TypeError(
            f"{caller}: params must be a list of Values, got a {type(params).__name__}: "
            "pass its .parameters()"
        )
    if hasattr(params, "_prev") or not isinstance(params, (list, tuple)):
        raise TypeError(f"{caller}: params must be a list or tuple of Values, got {type(params).__name__}")
    for i, param in enumerate(params):
        if not all(hasattr(param, name) for name in ("_prev", "_backward", "grad", "data")):
            raise TypeError(
                f"{caller}: params[{i}] must be a Value, got {type(param).__name__} {param!r:.60}"
            )
        if type(param.data) is not float:
            raise ValueError(
                f"{caller}: params[{i}] must be a scalar leaf, got a lane value ({describe(param)})"
            )
        if param._prev:
            raise ValueError(
                f"{caller}: params[{i}] must be a leaf (a parameter), got the result of {param._op!r} "
                f"({describe(param)})"
            )
    return list(params)


def _lane_count(order: Sequence[Node]) -> int | None:
    """The number of lanes of the graph's lane values (ops keep them all one length), None if it has none."""
    for node in order:
        if type(node.data) is not float:
            return len(_lanes(node))
    return None


def _seed(caller: str, root: Node, grad: Any) -> Any:
    """root's gradient to start from: grad (1.0 if None) as a float, or for a lane root, one per lane."""
    require_node(caller, root)
    if not root.requires_grad:
        raise RuntimeError(
            f"{caller}: {describe(root)} does not require grad (it was computed under no_grad() "
            "or only from values with requires_grad=False), so there is nothing to differentiate"
        )
    if type(root.data) is float:
        if grad is None:
            return 1.0
        if not (isinstance(grad, numbers.Real) and math.isfinite(grad)):
            raise ValueError(f"{caller}: the seed gradient must be a finite real number, got {grad!r}")
        return float(grad)
    n = len(_lanes(root))
    if grad is None:  # PyTorch's rule: "grad can be implicitly created only for scalar outputs"
        raise RuntimeError(
            f"{caller}: the root is a lane value ({describe(root)}), and a gradient can be implicitly "
            "created only for a scalar output: reduce it first with .sum() or .mean(), or pass grad= "
            f"an array of {n} numbers (one per lane)"
        )
    seed = np.array(grad, dtype=np.float64) if isinstance(grad, np.ndarray) else None
    if seed is None or seed.shape != (n,) or not np.isfinite(seed).all():
        raise ValueError(
            f"{caller}: the seed gradient of a lane value of {n} lanes must be a numpy array of {n} "
            f"finite numbers, got {grad!r:.80}"
        )
    return seed


def _start_pass(order: Sequence[Node], earlier: list[tuple[Node, float]]) -> None:
    """Zero every gradient; each leaf's earlier gradient goes to `earlier` first, to add back."""
    # Interior nodes hold this call's gradient only. Leaves (parameters, inputs) accumulate across
    # calls like PyTorch: this call's gradient is summed from zero, then added to what they held,
    # so two backward() calls give leaves exactly twice the gradient, not a rounding away from it.
    # A leaf is recorded before it is zeroed, so an interruption anywhere can be undone.
    # A lane node starts from 0.0 as well: its first `+=` makes a new array, which later ones add
    # into in place, so no array held before (a leaf's, kept in `earlier`) is ever written.
    for node in order:
        if node._prev:
            node.grad = 0.0
        elif type(node.grad) is not float or node.grad:  # a lane leaf's array, or a nonzero number
            earlier.append((node, node.grad))
            node.grad = 0.0


def _finish_pass(earlier: list[tuple[Node, float]]) -> None:
    for node, previous in earlier:
        node.grad += previous


def _undo_pass(order: Sequence[Node], earlier: list[tuple[Node, float]]) -> None:
    """A pass that did not finish: every leaf gets back exactly the gradient it held before it."""
    # `order` is empty if zeroing was interrupted: the leaves not reached yet were never touched.
    for node in order:
        if not node._prev:
            node.grad = _zero(node)
    for node, previous in earlier:
        node.grad = previous


def zero_grad(root: Node) -> None:
    """Set grad = 0 on every node reachable from root."""
    require_node("zero_grad", root)
    for node in topo_order(root):
        node.grad = _zero(node)


def _zero(node: Node) -> Any:
    """A zero gradient for node: 0.0, or for a lane node a new array of zeros."""
    return 0.0 if type(node.data) is float else np.zeros(len(_lanes(node)))


def _lanes(node: Node) -> Any:
    """A lane node's data, typed as what it is (Node types data as the scalar path's float)."""
    return node.data
