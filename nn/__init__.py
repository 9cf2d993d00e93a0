"""backprop-lab's tiny neural-network library on top of engine: micrograd's MLP, and what training needs.

The top level holds what a model is built and trained with. The instruments are submodules, as
in torch.nn.init: nn.init (weight schemes), nn.diagnostics (gradient flow, activation statistics,
blame), nn.plots (drawing those), nn.pruning (dead neurons, pruning, lottery-ticket masks),
nn.freezing (freezing converged neurons), and nn.draw (the network view).
"""

# nn.experiments is built on nn and never imported by it: `from nn.experiments import ...`.
from . import diagnostics, draw, freezing, init, plots, pruning
from .data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from .interop import to_torch
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, l1_penalty, l2_penalty, mse_loss, softmax
from .module import MLP, Layer, Module, Neuron, record
from .optim import SGD, Adam, Optimizer, clip_grad_norm
from .serialize import load, save
from .train import History, accuracy, fit, predict

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "Optimizer",
    "accuracy",
    "binary_cross_entropy",
    "clip_grad_norm",
    "cross_entropy",
    "diagnostics",
    "draw",
    "fit",
    "freezing",
    "hinge_loss",
    "init",
    "l1_penalty",
    "l2_penalty",
    "load",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "mse_loss",
    "plots",
    "predict",
    "pruning",
    "record",
    "save",
    "softmax",
    "standardize",
    "to_torch",
]
