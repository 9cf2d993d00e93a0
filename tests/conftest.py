"""Shared fixtures for the engine tests."""

import pytest


@pytest.fixture(scope="session")
def torch():
    """The torch module, or a skip without PyTorch. Session-scoped: Hypothesis tests can use it."""
    return pytest.importorskip("torch")
