"""scikit-learn's handwritten digits: a seeded train/test split, scaled with the training set's numbers.

The data are `sklearn.datasets.load_digits`: 1,797 images of 8x8 pixels, each pixel 0..16, labels
0..9. They ship inside scikit-learn's wheel, so nothing is downloaded; scikit-learn is imported
when the digits are first loaded (the `dev` and `notebooks` extras install it).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass

import numpy as np

from .._checks import check_choice, check_int, check_seed
from ..data import standardize

__all__ = ["SCALINGS", "Digits", "load_digits"]

PIXEL_MAX = 16.0  # load_digits' pixels run from 0 (white) to 16 (black)
SCALINGS = ("standardize", "unit")


@dataclass(frozen=True)
class Digits:
    """A split of the digits: scaled inputs (examples × 64), class labels, and the raw 8x8 images."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images_train: np.ndarray  # (n_train, 8, 8), pixels 0..16 as loaded: for drawing
    images_test: np.ndarray
    scaling: str  # "standardize" (z-scores from the training set) or "unit" (pixels / 16)
    mean: np.ndarray  # what was subtracted from each pixel column (the training set's mean, or 0)
    std: np.ndarray  # what each column was divided by (the training set's σ, or 16; σ = 0 columns: 1)

    def __str__(self) -> str:
        return (
            f"Digits: {len(self.X_train)} training and {len(self.X_test)} test examples of "
            f"{self.X_train.shape[1]} pixels, scaled by {self.scaling!r}"
        )


@functools.cache
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as loaded: pixels (1797 × 64, 0..16) and labels, read once per process."""
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError as err:
        raise ImportError(
            "load_digits: needs scikit-learn, whose wheel holds the digits: "
            ".venv/bin/pip install scikit-learn (the dev and notebooks extras include it)"
        ) from err
    X, y = datasets.load_digits(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def load_digits(*, n_test: int = 450, data_seed: int = 0, scaling: str = "standardize") -> Digits:
    """The 1,797 digits shuffled by data_seed, the last n_test held out; X scaled with training numbers only.

    scaling="standardize": each pixel to z = (x − μ) / σ with μ, σ of the training rows, the test
    rows scaled with those same μ, σ (a pixel that is 0 in every training image is only centred).
    scaling="unit": x / 16, each pixel into [0, 1], as Nielsen feeds MNIST (no statistics at all).
    """
    X, y = _raw()
    n_test = check_int("load_digits", "n_test", n_test, 1, most=len(X) - 1)
    order = np.random.default_rng(check_seed("load_digits", data_seed, "data_seed")).permutation(len(X))
    train, test = order[: len(X) - n_test], order[len(X) - n_test :]
    how = check_choice("load_digits", "scaling", scaling, SCALINGS)
    if how == "standardize":
        X_train, mean, std = standardize(X[train])
        X_test, _, _ = standardize(X[test], mean, std)
        std = np.where(std > 0.0, std, 1.0)
    else:
        mean, std = np.zeros(X.shape[1]), np.full(X.shape[1], PIXEL_MAX)
        X_train, X_test = X[train] / PIXEL_MAX, X[test] / PIXEL_MAX
    return Digits(
        X_train=X_train,
        y_train=y[train],
        X_test=X_test,
        y_test=y[test],
        images_train=X[train].reshape(-1, 8, 8),
        images_test=X[test].reshape(-1, 8, 8),
        scaling=how,
        mean=mean,
        std=std,
    )
