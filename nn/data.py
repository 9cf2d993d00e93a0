"""Toy datasets for classifiers, made in code from a seed (nothing downloaded), and input scaling.

Every maker returns (X, y): X a float64 array of shape (n, 2), y an int64 array of class labels
0..k−1, rows shuffled. The same seed gives the same arrays, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ._checks import check_int, check_real, check_seed, is_int, matrix, non_negative, numeric_array, show

__all__ = ["make_blobs", "make_circles", "make_moons", "make_spiral", "make_xor", "standardize"]

Array = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


def make_moons(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[Array, Labels]:
    """Two interleaving half circles: (cos t, sin t) is class 0, (1 − cos t, 1 − sin t − ½) class 1."""
    n = _check_n("make_moons", n, 2)
    non_negative("make_moons", "noise", noise)
    rng = np.random.default_rng(check_seed("make_moons", seed))
    n_out = n // 2
    t_out = np.linspace(0.0, math.pi, n_out)
    t_in = np.linspace(0.0, math.pi, n - n_out)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 1.0 - np.sin(t_in) - 0.5])
    # sklearn's order: shuffle, then add the noise.
    points, y = _shuffled(rng, [outer, inner])
    return points + rng.normal(scale=noise, size=points.shape), y


def make_circles(
    n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0
) -> tuple[Array, Labels]:
    """Two concentric circles: radius 1 is class 0, radius `factor` (0 ≤ factor < 1) class 1."""
    n = _check_n("make_circles", n, 2)
    non_negative("make_circles", "noise", noise)
    factor = check_real(
        "make_circles", "factor (the inner radius)", factor, "in [0, 1)", lambda f: 0.0 <= f < 1.0
    )
    rng = np.random.default_rng(check_seed("make_circles", seed))
    n_out = n // 2

    def circle(count: int, radius: float) -> Array:
        # endpoint=False: 2π would land on 0 again.
        t = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
        return radius * np.column_stack([np.cos(t), np.sin(t)])

    points, y = _shuffled(rng, [circle(n_out, 1.0), circle(n - n_out, factor)])
    return points + rng.normal(scale=noise, size=points.shape), y


def make_spiral(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = 0
) -> tuple[Array, Labels]:
    """CS231n's spiral: arm j is r·(sin t, cos t), r from 0 to 1, t sweeping 4 radians (+ noise)."""
    classes = check_int("make_spiral", "classes", classes, 2)
    n = _check_n("make_spiral", n, classes)
    non_negative("make_spiral", "noise", noise)
    rng = np.random.default_rng(check_seed("make_spiral", seed))
    arms = []
    for j, count in enumerate(_split(n, classes)):
        r = np.linspace(0.0, 1.0, count)
        # CS231n starts arm j at 4j radians, nearly even for 3 arms but overlapping for 4 or more;
        # starting at 2πj/k keeps any number of arms apart. The noise jitters the angle.
        start = 2.0 * math.pi * j / classes
        t = np.linspace(start, start + 4.0, count) + rng.normal(scale=noise, size=count)
        arms.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    return _shuffled(rng, arms)


def make_xor(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> tuple[Array, Labels]:
    """Four clusters at (±1, ±1); the label is 1 where the signs differ: XOR of x₁ > 0 and x₂ > 0."""
    n = _check_n("make_xor", n, 4)
    non_negative("make_xor", "noise", noise)
    rng = np.random.default_rng(check_seed("make_xor", seed))
    # Clusters in the order of their labels: (−1, −1) and (1, 1) are 0, (−1, 1) and (1, −1) are 1.
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    counts = _split(n, 4)
    clusters = [np.repeat(corners[i : i + 1], c, axis=0) for i, c in enumerate(counts)]
    points, corner = _shuffled(rng, clusters)
    return points + rng.normal(scale=noise, size=points.shape), corner // 2


def make_blobs(
    n: int = 100, centers: int | npt.ArrayLike = 3, std: float = 1.0, seed: int | None = 0
) -> tuple[Array, Labels]:
    """Gaussian blobs: class i is centre cᵢ + N(0, std²) noise; k centres drawn in [−10, 10]² from seed."""
    non_negative("make_blobs", "std", std)
    rng = np.random.default_rng(check_seed("make_blobs", seed))
    if is_int(centers):
        k = check_int("make_blobs", "centers", centers, 1)
        means = rng.uniform(-10.0, 10.0, size=(k, 2))  # sklearn's default box
    else:
        try:
            means = np.asarray(centers, dtype=np.float64)
        except (TypeError, ValueError):  # ragged, or not numbers
            means = np.full((0,), math.nan)
        if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] != 2 or not np.isfinite(means).all():
            shape = f"shape {means.shape}" if means.size else show(centers)
            raise ValueError(
                "make_blobs: centers must be a number of centres or an array of shape (k, 2) "
                f"of finite numbers, got {shape}"
            )
    n = _check_n("make_blobs", n, len(means))
    counts = _split(n, len(means))
    points, y = _shuffled(rng, [np.repeat(means[i : i + 1], c, axis=0) for i, c in enumerate(counts)])
    return points + rng.normal(scale=std, size=points.shape), y


def standardize(
    X: npt.ArrayLike,
    mean: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
) -> tuple[Array, Array, Array]:
    """Column-wise z-scores (x − μ) / σ, with μ and σ from X or given; returns (X_scaled, μ, σ).

    Scale test data with the training data's statistics: `Xs, mu, sd = standardize(X_train)`, then
    `standardize(X_test, mu, sd)`. A column with σ = 0 is centred but not divided (no NaN).
    """
    data = matrix("standardize", X)  # read only: the caller's array is not touched
    if (mean is None) != (std is None):
        raise ValueError("standardize: pass both mean and std (the training statistics) or neither")
    if mean is None or std is None:
        mu, sigma = data.mean(axis=0), data.std(axis=0)  # population σ (ddof=0), as sklearn's scaler
    else:
        mu, sigma = _stat("mean", mean, data.shape[1]), _stat("std", std, data.shape[1])
        if (sigma < 0.0).any():
            raise ValueError(f"standardize: std must be ≥ 0, got {sigma}")
    divisor = np.where(sigma > 0.0, sigma, 1.0)
    return (data - mu) / divisor, mu, sigma


# -- helpers -----------------------------------------------------------------------------------


def _shuffled(rng: np.random.Generator, groups: list[Array]) -> tuple[Array, Labels]:
    """The groups' rows stacked, group i labelled i, in one random order."""
    points = np.concatenate(groups).astype(np.float64)
    y = np.concatenate([np.full(len(g), i, dtype=np.int64) for i, g in enumerate(groups)])
    order = rng.permutation(len(points))
    return points[order], y[order]


def _split(n: int, k: int) -> list[int]:
    """n as k near-equal counts, the first n mod k one larger."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _check_n(fn: str, n: object, classes: int) -> int:
    # At least one point per class, so every label 0..k−1 occurs.
    return check_int(fn, "n", n, classes, why=" (a point per class)" if classes > 1 else "")


def _stat(name: str, value: npt.ArrayLike, columns: int) -> Array:
    stat = numeric_array("standardize", name, value).astype(np.float64)
    if stat.shape != (columns,):
        raise ValueError(
            f"standardize: {name} must hold one finite number per column ({columns}), got shape {stat.shape}"
        )
    return stat
