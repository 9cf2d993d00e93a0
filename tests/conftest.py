"""Shared fixtures and settings for the tests."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from engine import Value

# Property tests: a quick profile for the inner loop, today's full count in CI (CI=true).
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture(scope="session")
def torch():
    """The torch module, or a skip without PyTorch. Session-scoped: Hypothesis tests can use it."""
    return pytest.importorskip("torch")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Executing a notebook (nbmake) is slow: `pytest -m "not slow"` leaves the notebooks out."""
    for item in items:
        if Path(str(item.fspath)).suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


def _lecture_neuron() -> Value:
    x1, x2 = Value(2.0, label="x1", requires_grad=False), Value(0.0, label="x2", requires_grad=False)
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


@pytest.fixture
def lecture_neuron() -> Callable[[], Value]:
    """Builds micrograd's lecture neuron o = tanh(x1·w1 + x2·w2 + b), labelled, before backward (5 ops)."""
    return _lecture_neuron
