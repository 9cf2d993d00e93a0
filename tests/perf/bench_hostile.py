"""What refusing and guarding cost: bounded refusals, the step-through page, damaged model files.

Run by hand (never by pytest): `.venv/bin/python tests/perf/bench_hostile.py`. Machines are shared
and noisy: the point is the order of magnitude (milliseconds against seconds), not the digits.

1. to_dot and step_through refusing a 1,000,000-value chain (over max_nodes): they count at
   most max_nodes + 1 values, so the time does not grow with the graph; backward on the same chain
   for scale.
2. The step-through page for one example of MLP(2, [8, 7, 1]): time to build it, and its size.
3. nn.load refusing a file of a few hundred bytes that declares MLP(2, [100000, 100000, 1]) (10
   billion parameters): the architecture is checked against the parameter count before building.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import nn
from engine import Value, topo_order
from engine.draw import GraphTooLargeError, step_through, to_dot


def seconds(f: object) -> float:
    start = time.perf_counter()
    f()  # type: ignore[operator]
    return time.perf_counter() - start


def refuse(draw: object, root: Value) -> None:
    try:
        draw(root)  # type: ignore[operator]
    except GraphTooLargeError:
        return
    raise AssertionError("the graph was not refused")


def main() -> None:
    x = Value(1.0, label="x")
    chain = x
    for _ in range(500_000):  # two values per step: a million in all
        chain = chain * 1.0000001
    print("1. refusing a graph of 1,000,001 values (max_nodes=300)")
    for name, draw in (("to_dot", to_dot), ("step_through", step_through)):
        print(f"   {name:<18} {seconds(lambda d=draw: refuse(d, chain)) * 1e3:8.2f} ms")
    print(f"   for scale, backward on it: {seconds(chain.backward):.2f} s")

    model = nn.MLP(2, [8, 7, 1], seed=0)
    y = model([0.5, -1.0])
    assert isinstance(y, Value)
    values = len(topo_order(y))
    start = time.perf_counter()
    page = step_through(y).page()
    took = time.perf_counter() - start
    print(f"\n2. step-through page, one example of MLP(2, [8, 7, 1]) ({values} values)")
    print(f"   built in {took:.2f} s, {len(page.encode()) / 1e6:.2f} MB")

    small = nn.MLP(2, [2, 1], seed=0)
    document = {
        "format": "backprop-lab model",
        "version": 1,
        "model": {**small.config(), "nouts": [100_000, 100_000, 1]},
        "parameters": small.state_dict(),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        start = time.perf_counter()
        try:
            nn.load(path)
        except ValueError as err:
            took = time.perf_counter() - start
            print(f"\n3. nn.load of a {path.stat().st_size}-byte file declaring MLP(2, [100000, 100000, 1])")
            print(f"   refused in {took * 1e3:.2f} ms: {str(err)[:120]}...")
        else:
            raise AssertionError("the file was not refused")


if __name__ == "__main__":
    main()
