"""Engine benchmark: backprop-lab's Value against micrograd 0.1.0, in the same process.

Run by hand (never by pytest): `.venv/bin/python tests/perf/bench_engine.py` (add `--quick` for a
short run). It needs `pip install micrograd==0.1.0` (in the `dev` extra). Machines are shared and
noisy, so quote the ratios; the absolute times drift.

Measures, with the interpreter's defaults (the garbage collector stays on):
1. micrograd's demo step: MLP(2, [16, 16, 1]) (ReLU hidden, linear out) on 100 two-moons points,
   loss mean(relu(1 - y*score)) + 1e-4 * sum(p*p), forward + backward + SGD update. One function
   builds and trains the net for either Value class from the same weights, and the two runs' losses
   are compared step by step, so both engines do exactly the same arithmetic.
2. Bytes per node (tracemalloc) of a 100,000-node graph, built and after backward.
3. Backward time per node for 100,000- and 1,000,000-op chains, and the depth at which micrograd's
   recursive topological sort fails.
4. Reference cycles: objects only the cyclic garbage collector can free once a loss is dropped.
5. Lanes: micrograd's demo step with the graph of one example built once over all 100 points (a
   lane per point), forward + backward + update, against micrograd's loop (1.) and PyTorch batched
   float64 in the same process; its gradients are checked equal to the scalar engine's (to 1e-12).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine import Value, topo_order

try:
    from micrograd.engine import Value as MicroValue
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("this benchmark compares against micrograd: pip install micrograd==0.1.0")

ValueClass = Callable[..., Any]


def make_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles, labels ±1 (as sklearn's make_moons, generated here)."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n - n_out)
    x = np.concatenate([np.cos(t_out), 1 - np.cos(t_in)])
    y = np.concatenate([np.sin(t_out), 1 - np.sin(t_in) - 0.5])
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([np.ones(n_out), -np.ones(n - n_out)])
    return points.tolist(), [int(v) for v in labels]


def initial_weights(sizes: Sequence[int], seed: int) -> list[list[tuple[list[float], float]]]:
    """micrograd's init: weights U(-1, 1), biases 0; per layer, per neuron (w, b)."""
    rng = np.random.default_rng(seed)
    return [
        [(rng.uniform(-1, 1, nin).tolist(), 0.0) for _ in range(nout)]
        for nin, nout in itertools.pairwise(sizes)
    ]


class DemoNet:
    """micrograd's demo MLP and training step, written once for any Value class."""

    def __init__(self, value: ValueClass, weights: list[list[tuple[list[float], float]]]) -> None:
        self.value = value
        self.layers = [[([value(w) for w in ws], value(b)) for ws, b in layer] for layer in weights]
        self.params = [p for layer in self.layers for ws, b in layer for p in [*ws, b]]

    def __call__(self, x: list[Any]) -> Any:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            # micrograd's Neuron.__call__: sum((wi*xi for wi, xi in zip(w, x)), b), relu if hidden
            acts = [sum((wi * xi for wi, xi in zip(ws, x, strict=True)), b) for ws, b in layer]
            x = [a.relu() for a in acts] if i < last else acts
        return x[0]

    def loss(self, X: list[list[float]], y: list[int]) -> Any:
        scores = [self([self.value(v) for v in row]) for row in X]
        losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in self.params)
        return data_loss + reg_loss

    def step(self, X: list[list[float]], y: list[int], k: int) -> float:
        total = self.loss(X, y)
        for p in self.params:  # micrograd's model.zero_grad()
            p.grad = 0.0
        total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in self.params:
            p.data -= lr * p.grad
        return float(total.data)


def bench_demo_step(steps: int, warmup: int) -> dict[str, Any]:
    X, y = make_moons(100, noise=0.1, seed=0)
    weights = initial_weights([2, 16, 16, 1], seed=1)
    result: dict[str, Any] = {}
    for name, cls in (("micrograd", MicroValue), ("backprop-lab", Value)):
        net = DemoNet(cls, weights)
        gc.collect()  # start each engine from a clean heap: micrograd leaves cyclic garbage
        times, losses = [], []
        # Untimed steps first: the first few graph walks of a process run slower while the
        # allocator grows to their size (2x for topo_order's first ~7 calls on CPython 3.11).
        for k in range(warmup):
            net.step(X, y, k)
        for k in range(warmup, warmup + steps):
            t = time.perf_counter()
            losses.append(net.step(X, y, k))
            times.append(time.perf_counter() - t)
        result[name] = (times, losses)
    mg_times, mg_losses = result["micrograd"]
    our_times, our_losses = result["backprop-lab"]
    nodes = len(topo_order(DemoNet(Value, weights).loss(X, y)))
    return {
        "nodes": nodes,
        "micrograd_s": statistics.median(mg_times),
        "ours_s": statistics.median(our_times),
        "max_loss_diff": max(abs(a - b) for a, b in zip(mg_losses, our_losses, strict=True)),
        "final_loss": our_losses[-1],
    }


def lane_loss(net: DemoNet, X: list[list[float]], y: list[int]) -> Any:
    """DemoNet.loss over lanes: one graph, each input a lane value of every example's coordinate."""
    columns = np.array(X).T
    score = net([Value(column) for column in columns])
    losses = (1 + -np.array(y, dtype=float) * score).relu()
    return losses.sum() * (1.0 / len(y)) + 1e-4 * sum(p * p for p in net.params)


def torch_step(torch: Any, weights: list[list[tuple[list[float], float]]]) -> Callable[..., float]:
    """micrograd's demo step in PyTorch, batched, float64: the reference for speed."""
    params = []
    for layer in weights:
        params.append(torch.tensor([w for w, _ in layer], dtype=torch.float64, requires_grad=True))
        params.append(torch.tensor([b for _, b in layer], dtype=torch.float64, requires_grad=True))

    def step(X: Any, y: Any, k: int) -> float:
        h = X
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        loss = (1 - y * h[:, 0]).relu().mean() + 1e-4 * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_((1.0 - 0.9 * k / 100) * p.grad)
        return float(loss.item())

    return step


def bench_lanes(steps: int, warmup: int) -> dict[str, Any]:
    """Seconds per demo step with lanes (and PyTorch batched, if installed); the gradients' max difference."""
    X, y = make_moons(100, noise=0.1, seed=0)
    weights = initial_weights([2, 16, 16, 1], seed=1)
    scalar, lanes = DemoNet(Value, weights), DemoNet(Value, weights)
    scalar.loss(X, y).backward()
    lane_loss(lanes, X, y).backward()
    worst = max(
        abs(a.grad - b.grad) / max(abs(a.grad), 1e-300)
        for a, b in zip(scalar.params, lanes.params, strict=True)
    )

    def lane_step(k: int) -> float:
        total = lane_loss(lanes, X, y)
        for p in lanes.params:
            p.grad = 0.0
        total.backward()
        for p in lanes.params:
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        return float(total.data)

    def timed(step: Callable[[int], float]) -> float:
        gc.collect()
        for k in range(warmup):
            step(k)
        times = []
        for k in range(warmup, warmup + steps):
            t = time.perf_counter()
            step(k)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    result = {"max_rel_grad_diff": worst, "lanes_s": timed(lane_step), "torch_s": None}
    try:
        import torch  # noqa: PLC0415  # optional: the comparison is skipped without it
    except ImportError:
        return result
    tstep, tX, ty = (
        torch_step(torch, weights),
        torch.tensor(X, dtype=torch.float64),
        torch.tensor(y, dtype=torch.float64),
    )
    result["torch_s"] = timed(lambda k: tstep(tX, ty, k))
    return result


def balanced_graph(value: ValueClass, pairs: int) -> Any:
    """sum of a_i * b_i, added as a balanced tree: 4·pairs − 1 nodes, depth ~log2(pairs)."""
    level = [value(0.001 * i) * value(1.0 - 0.001 * i) for i in range(pairs)]
    while len(level) > 1:
        level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


def count_nodes(root: Any) -> int:
    seen, stack = {id(root)}, [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def bench_memory(pairs: int) -> dict[str, tuple[float, float]]:
    """Bytes per node of the built graph, and after backward has filled every .grad."""
    out = {}
    for name, cls in (("micrograd", MicroValue), ("backprop-lab", Value)):
        gc.collect()
        tracemalloc.start()
        root = balanced_graph(cls, pairs)
        built = tracemalloc.get_traced_memory()[0]
        root.backward()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        n = count_nodes(root)
        out[name] = (built / n, after / n)
        del root
    return out


def chain(n: int) -> tuple[Value, Value]:
    x = Value(1.0, label="x")
    y = x
    for _ in range(n):
        y = y + x
    return x, y


def bench_chain(n: int, repeats: int) -> float:
    """Seconds per node of backward (ordering + chain rule) on an n-op chain y = x + x + ... + x."""
    x, y = chain(n)
    times = []
    for _ in range(repeats):
        x.grad = 0.0
        t = time.perf_counter()
        y.backward()
        times.append(time.perf_counter() - t)
    assert x.grad == n + 1, "wrong gradient on the chain"
    return statistics.median(times) / (n + 1)


def micrograd_max_depth() -> int:
    """The longest chain micrograd 0.1.0 can backpropagate (its topological sort recurses)."""
    for depth in (250, 500, 1000, 2000, 5000):
        x = MicroValue(1.0)
        y = x
        for _ in range(depth):
            y = y + x
        try:
            y.backward()
        except RecursionError:
            return depth
    return -1


def cyclic_garbage(cls: ValueClass) -> int:
    """Objects the cyclic collector must free after a demo loss is dropped (0: refcounting did it)."""
    X, y = make_moons(100, noise=0.1, seed=0)
    net = DemoNet(cls, initial_weights([2, 16, 16, 1], seed=1))
    gc.collect()
    gc.disable()  # only to count: what refcounting alone leaves behind
    try:
        net.step(X, y, 0)
        return gc.collect()
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="demo steps per engine (default 10)")
    parser.add_argument("--warmup", type=int, default=8, help="untimed demo steps first (default 8)")
    parser.add_argument("--quick", action="store_true", help="fewer steps, 100k chain only")
    args = parser.parse_args()
    steps = 3 if args.quick else args.steps
    print(f"python {sys.version.split()[0]}, gc enabled: {gc.isenabled()}, thresholds {gc.get_threshold()}")

    warmup = 2 if args.quick else args.warmup
    demo = bench_demo_step(steps, warmup)
    ratio = demo["micrograd_s"] / demo["ours_s"]
    nodes = demo["nodes"]
    print(f"\n1. micrograd demo step ({nodes} nodes, median of {steps} steps after {warmup} untimed, gc on)")
    print(f"   micrograd     {demo['micrograd_s'] * 1e3:8.1f} ms")
    print(f"   backprop-lab  {demo['ours_s'] * 1e3:8.1f} ms   -> {ratio:.1f}x faster")
    diff, final = demo["max_loss_diff"], demo["final_loss"]
    print(f"   same losses: max |difference| {diff:.2e} (final loss {final:.4f})")

    mem = bench_memory(25_000)
    print("\n2. bytes per node, 100,000-node graph (tracemalloc): built / after backward")
    for name, (built, after) in mem.items():
        print(f"   {name:<13} {built:6.0f} / {after:6.0f}")

    print("\n3. backward of a chain, time per node")
    per_100k = bench_chain(100_000, repeats=5)
    print(f"   100,000 ops    {per_100k * 1e9:6.0f} ns/node")
    if not args.quick:
        per_1m = bench_chain(1_000_000, repeats=5)
        print(f"   1,000,000 ops  {per_1m * 1e9:6.0f} ns/node   -> {per_1m / per_100k:.2f}x the 100k chain's")
    print(f"   micrograd: RecursionError at a chain of {micrograd_max_depth()} ops")

    print("\n4. objects left for the cyclic collector after one demo step")
    for name, cls in (("micrograd", MicroValue), ("backprop-lab", Value)):
        print(f"   {name:<13} {cyclic_garbage(cls)}")

    lanes = bench_lanes(steps * 5, warmup)
    print(f"\n5. lanes: the demo step as one graph over 100 lanes (median of {steps * 5} steps, gc on)")
    print(f"   micrograd (1.)          {demo['micrograd_s'] * 1e3:8.2f} ms")
    print(f"   backprop-lab, scalar    {demo['ours_s'] * 1e3:8.2f} ms")
    speedup = demo["micrograd_s"] / lanes["lanes_s"]
    print(f"   backprop-lab, lanes     {lanes['lanes_s'] * 1e3:8.2f} ms   -> {speedup:.0f}x micrograd")
    if lanes["torch_s"] is not None:
        ratio = lanes["lanes_s"] / lanes["torch_s"]
        print(f"   PyTorch batched float64 {lanes['torch_s'] * 1e3:8.2f} ms   (lanes: {ratio:.1f}x its time)")
    print(f"   gradients vs the scalar engine: max relative difference {lanes['max_rel_grad_diff']:.1e}")
    assert lanes["max_rel_grad_diff"] <= 1e-12, "lanes disagree with the scalar engine"


if __name__ == "__main__":
    main()
