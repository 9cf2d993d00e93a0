"""Shared fixtures and settings for the tests."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

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
