"""to_torch: the same network as a torch.nn.Sequential, for the step from scalars to tensors.

PyTorch is optional: it is imported when to_torch is called, by name and typed Any, so that this
module (and mypy) works whether or not torch is installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine import Value

from ._checks import check_instance
from .activations import ACTIVATIONS
from .module import MLP, Layer, Neuron

__all__ = ["to_torch"]

INSTALL_HINT = "to_torch needs PyTorch: pip install torch==2.13.0"


def to_torch(model: MLP | Layer | Neuron, dtype: Any = None) -> Any:
    """Sequential of Linear(nin, nout) + activation per layer: weight[j][k] = neurons[j].w[k], bias[j] = .b.

    The numbers are copied (float64 unless dtype says otherwise; nothing is shared with the model),
    each tensor's requires_grad is its Values'. Torch works on batches: rows of X in, an (n, nout)
    tensor out, so an MLP with one output neuron gives shape (n, 1) where ours gives one lane value
    of n lanes (and k lane values for k outputs, the tensor's columns).
    """
    check_instance("to_torch", model, (MLP, Layer, Neuron), "an MLP, Layer or Neuron")
    layers = _layers(model)
    try:
        torch: Any = importlib.import_module("torch")
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    dtype = torch.float64 if dtype is None else dtype  # float64, as our Values: gradients agree to the bit
    modules: list[Any] = []
    for i, neurons in enumerate(layers):
        nin, nout = len(neurons[0].w), len(neurons)
        # Made on the "meta" device: shapes only, so its random initialization draws nothing from (and
        # does not move) torch's global generator; the parameters are then replaced by ours. New
        # tensors made from the floats: nothing is shared with the model.
        linear = torch.nn.Linear(nin, nout, device="meta", dtype=dtype)
        linear.weight = torch.nn.Parameter(
            torch.tensor([[w.data for w in n.w] for n in neurons], dtype=dtype),
            requires_grad=_one_flag([w for n in neurons for w in n.w], i, "weights"),
        )
        linear.bias = torch.nn.Parameter(
            torch.tensor([n.b.data for n in neurons], dtype=dtype),
            requires_grad=_one_flag([n.b for n in neurons], i, "biases"),
        )
        modules.append(linear)
        activation = ACTIVATIONS[neurons[0].activation].torch
        if activation is not None:
            modules.append(getattr(torch.nn, activation)())
    return torch.nn.Sequential(*modules)


def _layers(model: MLP | Layer | Neuron) -> list[list[Neuron]]:
    """The model's neurons, layer by layer, checked to chain as dense layers with one activation each."""
    if isinstance(model, Neuron):
        layers = [[model]]
    elif isinstance(model, Layer):
        layers = [model.neurons]
    else:
        layers = [layer.neurons for layer in model.layers]
    width = len(layers[0][0].w)
    for i, neurons in enumerate(layers):
        if any(len(n.w) != width for n in neurons):
            raise ValueError(f"to_torch: layer {i}'s neurons should each have {width} inputs")
        if len({n.activation for n in neurons}) != 1:
            raise ValueError(f"to_torch: layer {i}'s neurons mix activations; a torch layer applies one")
        width = len(neurons)
    return layers


def _one_flag(params: list[Value], layer: int, what: str) -> bool:
    """The requires_grad shared by params: one tensor holds them all, and a tensor has one flag."""
    flags = {p.requires_grad for p in params}
    if len(flags) != 1:
        raise ValueError(
            f"to_torch: layer {layer}'s {what} mix requires_grad True and False (frozen neurons?), and one "
            "torch tensor has one flag: unfreeze them first, or mask the gradient in torch with a hook"
        )
    return flags.pop()
