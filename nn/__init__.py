"""backprop-lab's neural-network library (Neuron, Layer, MLP), built on engine: arriving with its issue."""

__all__: list[str] = []
