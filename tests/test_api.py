"""The public API: nn's top level is what a student builds with; instruments are submodules."""

from __future__ import annotations

import inspect
import types

import pytest

import nn

NAMES = {
    *("Module", "Neuron", "Layer", "MLP", "record"),
    *("mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy", "softmax"),
    *("l1_penalty", "l2_penalty"),
    *("SGD", "Adam", "Optimizer", "clip_grad_norm"),
    *("make_moons", "make_circles", "make_spiral", "make_xor", "make_blobs", "standardize"),
    *("fit", "predict", "accuracy", "History"),
    *("save", "load", "to_torch"),
}
SUBMODULES = {"init", "diagnostics", "plots", "pruning", "freezing", "draw"}
SUBMODULE_NAMES = {
    "init": {"uniform", "xavier", "he"},
    "diagnostics": {"gradient_flow", "flag_gradients", "activation_stats", "blame"},
    "plots": {"plot_gradient_flow", "plot_activations"},
    "pruning": {"dead_neurons", "prune", "full_mask", "magnitude_mask", "rewind", "train_masked"},
    "draw": {"mlp_to_dot", "draw_mlp"},
    "freezing": {
        "FreezePolicy",
        "Freezer",
        "freeze_neuron",
        "unfreeze_neuron",
        "frozen_neurons",
        "neuron_grad",
    },
}


def test_nn_exports_the_29_names_and_the_instrument_submodules() -> None:
    assert "experiments" not in nn.__all__  # built on nn, never imported by it
    assert len(NAMES) == 29
    assert set(nn.__all__) == NAMES | SUBMODULES
    assert len(nn.__all__) == len(set(nn.__all__))
    for name in SUBMODULES:
        assert isinstance(getattr(nn, name), types.ModuleType)


@pytest.mark.parametrize("name", sorted(nn.__all__))
def test_every_public_name_is_documented(name: str) -> None:
    doc = inspect.getdoc(getattr(nn, name))
    assert doc and doc.strip(), f"nn.{name} has no docstring"


@pytest.mark.parametrize(
    ("module", "name"), [(m, n) for m, names in SUBMODULE_NAMES.items() for n in sorted(names)]
)
def test_the_instruments_are_reached_through_their_submodules(module: str, name: str) -> None:
    submodule = getattr(nn, module)
    assert name in submodule.__all__
    assert inspect.getdoc(getattr(submodule, name))
    assert not hasattr(nn, name)  # not at the top level
