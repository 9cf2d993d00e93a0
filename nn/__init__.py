"""backprop-lab's tiny neural-network library on top of engine: micrograd's MLP, and what training needs."""

from .data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from .diagnostics import (
    activation_stats,
    blame,
    flag_gradients,
    gradient_flow,
    layer_outputs,
    plot_activations,
    plot_gradient_flow,
)
from .freezing import (
    FreezePolicy,
    Freezer,
    freeze_neuron,
    frozen_neurons,
    neuron_grad,
    unfreeze_neuron,
)
from .init import he, uniform, xavier
from .interop import to_torch
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, l2_penalty, mse_loss, softmax
from .module import MLP, Layer, Module, Neuron, record
from .optim import SGD, Adam, Optimizer
from .pruning import (
    dead_neurons,
    full_mask,
    magnitude_mask,
    prune,
    rewind,
    train_masked,
)
from .serialize import load, save
from .train import History, accuracy, fit, predict

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "FreezePolicy",
    "Freezer",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "Optimizer",
    "accuracy",
    "activation_stats",
    "binary_cross_entropy",
    "blame",
    "cross_entropy",
    "dead_neurons",
    "fit",
    "flag_gradients",
    "freeze_neuron",
    "frozen_neurons",
    "full_mask",
    "gradient_flow",
    "he",
    "hinge_loss",
    "l2_penalty",
    "layer_outputs",
    "load",
    "magnitude_mask",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "mse_loss",
    "neuron_grad",
    "plot_activations",
    "plot_gradient_flow",
    "predict",
    "prune",
    "record",
    "rewind",
    "save",
    "softmax",
    "standardize",
    "to_torch",
    "train_masked",
    "unfreeze_neuron",
    "uniform",
    "xavier",
]
