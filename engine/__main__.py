"""`python -m engine`: backpropagate through one small expression and check it numerically."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import Value, gradcheck, topo_order


def neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    """o = tanh(x1·w1 + x2·w2 + b): one neuron, as in micrograd's lecture."""
    return (x1 * w1 + x2 * w2 + b).tanh()


def main(argv: Sequence[str] | None = None) -> None:
    """Print o, each input's gradient do/dinput, and the numerical check; --help says so."""
    # No options: argparse gives --help, and refuses anything else with its usage and exit status 2.
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description="Backpropagate through micrograd's lecture neuron, o = tanh(x1*w1 + x2*w2 + b): print "
        "each input's gradient do/dinput and check it against central differences.",
    )
    parser.parse_args(argv)
    inputs = [
        Value(2.0, label="x1"),
        Value(0.0, label="x2"),
        Value(-3.0, label="w1"),
        Value(1.0, label="w2"),
        Value(6.8813735870195432, label="b"),
    ]
    o = neuron(*inputs)
    o.backward()
    print(f"o = tanh(x1*w1 + x2*w2 + b) = {o.data:.4f}   ({len(topo_order(o))} nodes in its graph)\n")
    print("Each gradient is that input's share of the blame for o: do/dinput.")
    for v in inputs:
        print(f"  {v.label:>2} = {v.data:8.4f}   grad = {v.grad:8.4f}")
    print("\nChecked against central differences (f(x+h) - f(x-h)) / 2h:")
    print(gradcheck(neuron, inputs))


if __name__ == "__main__":
    main()
