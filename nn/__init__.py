"""backprop-lab's tiny neural-network library on top of engine: micrograd's MLP, and what training needs."""

from .data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from .init import he, uniform, xavier
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, l2_penalty, mse_loss, softmax
from .module import MLP, Layer, Module, Neuron, record
from .optim import SGD, Adam, Optimizer
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
    "cross_entropy",
    "fit",
    "he",
    "hinge_loss",
    "l2_penalty",
    "load",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "mse_loss",
    "predict",
    "record",
    "save",
    "softmax",
    "standardize",
    "uniform",
    "xavier",
]
