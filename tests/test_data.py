"""nn.data: shapes, labels, determinism, the noise-free geometry of each dataset, standardize."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nn.data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize

# Each maker with its default call's size and number of classes.
MAKERS = [
    pytest.param(make_moons, 100, 2, id="moons"),
    pytest.param(make_circles, 100, 2, id="circles"),
    pytest.param(make_spiral, 300, 3, id="spiral"),
    pytest.param(make_xor, 200, 2, id="xor"),
    pytest.param(make_blobs, 100, 3, id="blobs"),
]
ALL = [make_moons, make_circles, make_spiral, make_xor, make_blobs]


@pytest.mark.parametrize(("make", "n", "k"), MAKERS)
def test_shapes_dtypes_and_balanced_labels(make, n, k) -> None:
    X, y = make()
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    counts = np.bincount(y)
    assert len(counts) == k and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("n", [7, 13])
def test_odd_sizes_give_every_class_its_share(make, n) -> None:
    X, y = make(n=n)
    counts = np.bincount(y)
    assert X.shape == (n, 2) and counts.sum() == n and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("make", ALL)
def test_same_seed_same_arrays_other_seed_other_arrays(make) -> None:
    X1, y1 = make(seed=5)
    X2, y2 = make(seed=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(seed=6)
    assert not np.array_equal(X1, X3)
    np.testing.assert_array_equal(make()[0], make(seed=0)[0])  # the default seed is 0


@pytest.mark.parametrize("make", ALL)
def test_rows_are_shuffled(make) -> None:
    _, y = make()
    assert not (np.diff(y) >= 0).all()  # not sorted by class: a slice of the data has every class


def test_moons_without_noise_lie_on_their_arcs() -> None:
    X, y = make_moons(n=101, noise=0.0)
    outer, inner = X[y == 0], X[y == 1]
    assert len(outer) == 50 and len(inner) == 51  # n // 2 outer, the rest inner, as sklearn
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert (outer[:, 1] >= -1e-15).all()  # the upper half circle
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)  # centred (1, 0.5)
    assert (inner[:, 1] <= 0.5 + 1e-15).all()  # the lower half circle
    # The ends of both arcs are there: t runs over [0, π] inclusive.
    for end in ([1.0, 0.0], [-1.0, 0.0]):
        assert np.isclose(outer, end).all(axis=1).any()
    for end in ([0.0, 0.5], [2.0, 0.5]):
        assert np.isclose(inner, end).all(axis=1).any()


def test_moons_noise_has_the_given_std() -> None:
    clean, y_clean = make_moons(n=4000, noise=0.0, seed=3)
    noisy, y_noisy = make_moons(n=4000, noise=0.3, seed=3)
    np.testing.assert_array_equal(y_clean, y_noisy)  # same shuffle: the noise is drawn after it
    assert np.std(noisy - clean) == pytest.approx(0.3, rel=0.05)


def test_circles_without_noise_have_radii_one_and_factor() -> None:
    X, y = make_circles(n=60, noise=0.0, factor=0.3)
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii[y == 0], 1.0)
    np.testing.assert_allclose(radii[y == 1], 0.3)
    # Evenly spaced, and no point twice (the angle stops short of 2π).
    assert len(np.unique(np.round(X[y == 0], 12), axis=0)) == 30


def test_spiral_arms_without_noise_follow_their_angle() -> None:
    X, y = make_spiral(n=60, classes=3, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() == 0.0 and r.max() == pytest.approx(1.0)
    for j in range(3):
        arm = X[y == j]
        ra = np.hypot(arm[:, 0], arm[:, 1])
        order = np.argsort(ra)
        t = np.arctan2(arm[order, 0], arm[order, 1])[1:]  # x = r sin t, y = r cos t; skip r = 0
        expected = np.linspace(2 * math.pi * j / 3, 2 * math.pi * j / 3 + 4.0, 20)[1:]
        np.testing.assert_allclose(np.angle(np.exp(1j * (t - expected))), 0.0, atol=1e-9)


def test_xor_labels_are_the_xor_of_the_signs() -> None:
    X, y = make_xor(n=400, noise=0.1)
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64))
    clean, _ = make_xor(n=8, noise=0.0)
    assert {tuple(p) for p in clean} == {(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)}


def test_blobs_centres_from_the_seed_or_given() -> None:
    X, y = make_blobs(n=9, centers=3, std=0.0, seed=1)
    centres = np.array([X[y == i][0] for i in range(3)])
    assert (np.abs(centres) <= 10).all()
    for i in range(3):
        np.testing.assert_array_equal(X[y == i], np.repeat(centres[i : i + 1], 3, axis=0))
    np.testing.assert_array_equal(make_blobs(n=9, centers=3, std=0.0, seed=1)[0], X)
    assert not np.array_equal(make_blobs(n=9, centers=3, std=0.0, seed=2)[0], X)
    given = np.array([[0.0, 0.0], [5.0, -5.0]])
    X, y = make_blobs(n=10, centers=given, std=0.0)
    np.testing.assert_array_equal(X, given[y])
    X, y = make_blobs(n=5000, centers=[[1.0, 2.0]], std=2.0)
    assert (y == 0).all()
    np.testing.assert_allclose(X.mean(axis=0), [1.0, 2.0], atol=0.1)
    np.testing.assert_allclose(X.std(axis=0), [2.0, 2.0], rtol=0.05)


# -- standardize -------------------------------------------------------------------------------


def test_standardize_gives_mean_zero_std_one() -> None:
    X, _ = make_blobs(n=200, centers=[[10.0, -3.0]], std=4.0)
    Xs, mean, std = standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), 1.0)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(std, X.std(axis=0))
    assert Xs.dtype == np.float64


def test_standardize_applies_given_statistics() -> None:
    train = np.array([[0.0, 10.0], [2.0, 30.0]])
    test = np.array([[4.0, 20.0], [1.0, 50.0]])
    _, mean, std = standardize(train)
    np.testing.assert_array_equal(mean, [1.0, 20.0])
    np.testing.assert_array_equal(std, [1.0, 10.0])
    scaled, mean2, std2 = standardize(test, mean, std)
    np.testing.assert_array_equal(scaled, [[3.0, 0.0], [0.0, 3.0]])  # the training statistics, not test's
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)


def test_standardize_leaves_a_constant_column_centred_not_divided() -> None:
    X = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    Xs, _, std = standardize(X)
    assert std[1] == 0.0
    np.testing.assert_array_equal(Xs[:, 1], 0.0)
    assert np.isfinite(Xs).all()
    # Given a zero std, another value in that column is shifted only.
    shifted, _, _ = standardize([[3.0, 9.0]], [3.0, 7.0], [1.0, 0.0])
    np.testing.assert_array_equal(shifted, [[0.0, 2.0]])


def test_standardize_does_not_touch_its_input() -> None:
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    before = X.copy()
    standardize(X)
    np.testing.assert_array_equal(X, before)


# -- errors ------------------------------------------------------------------------------------

ERRORS = [
    (make_moons, {"n": 0}, "make_moons: n must be an int ≥ 2 .a point per class.", "0"),
    (make_moons, {"n": 1}, "make_moons: n", "1"),
    (make_moons, {"n": 10.0}, "make_moons: n", "10.0"),
    (make_moons, {"noise": -0.1}, "make_moons: noise must be a finite number ≥ 0", "-0.1"),
    (make_moons, {"noise": math.nan}, "make_moons: noise", "nan"),
    (make_circles, {"factor": 1.0}, "make_circles: factor", "1.0"),
    (make_circles, {"factor": -0.5}, "make_circles: factor", "-0.5"),
    (make_circles, {"noise": -1.0}, "make_circles: noise", "-1.0"),
    (make_spiral, {"classes": 1}, "make_spiral: classes must be an int ≥ 2", "1"),
    (make_spiral, {"n": 2, "classes": 3}, "make_spiral: n must be an int ≥ 3", "2"),
    (make_spiral, {"noise": -0.2}, "make_spiral: noise", "-0.2"),
    (make_xor, {"n": 3}, "make_xor: n must be an int ≥ 4", "3"),
    (make_xor, {"noise": math.inf}, "make_xor: noise", "inf"),
    (make_blobs, {"centers": 0}, "make_blobs: centers must be a positive int", "0"),
    (make_blobs, {"centers": [1.0, 2.0]}, "make_blobs: centers must be", "shape (2,)"),
    (make_blobs, {"centers": [[1.0, 2.0, 3.0]]}, "make_blobs: centers", "shape (1, 3)"),
    (make_blobs, {"n": 2, "centers": 3}, "make_blobs: n must be an int ≥ 3", "2"),
    # A bool or a str is not a count, a seed or a scale.
    (make_moons, {"n": True}, "make_moons: n must be an int ≥ 2", "True"),
    (make_circles, {"n": "10"}, "make_circles: n must be an int ≥ 2", "'10'"),
    (make_spiral, {"classes": np.bool_(True)}, "make_spiral: classes must be an int ≥ 2", "True"),
    (make_blobs, {"centers": True}, "make_blobs: centers must be a number of centres", "shape ()"),
    (make_blobs, {"centers": [[1.0, 2.0], [3.0]]}, "make_blobs: centers must be", "[[1.0, 2.0], [3.0]]"),
    (make_moons, {"seed": "0"}, "make_moons: seed must be None or an int ≥ 0", "'0'"),
    (make_xor, {"seed": True}, "make_xor: seed must be None or an int ≥ 0", "True"),
    (make_spiral, {"seed": -1}, "make_spiral: seed must be None or an int ≥ 0", "-1"),
    (make_blobs, {"seed": 1.5}, "make_blobs: seed must be None or an int ≥ 0", "1.5"),
    (make_xor, {"noise": True}, "make_xor: noise must be a finite number ≥ 0", "True"),
    (make_circles, {"factor": "0.5"}, "make_circles: factor", "'0.5'"),
    (make_blobs, {"std": -1.0}, "make_blobs: std must be a finite number ≥ 0", "-1.0"),
]


@pytest.mark.parametrize(("make", "kwargs", "start", "value"), ERRORS)
def test_bad_arguments_name_the_function_and_the_value(make, kwargs, start, value) -> None:
    with pytest.raises(ValueError, match="^" + start) as err:
        make(**kwargs)
    assert value in str(err.value)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0],), r"X must be a non-empty 2-d array .examples × features., got shape \(2,\)"),
        ((np.zeros((0, 2)),), r"non-empty 2-d array .*got shape \(0, 2\)"),
        (([[1.0, math.nan]],), "X must hold finite numbers, got nan at row 0, column 1"),
        (([[1.0, 2.0], [3.0]],), "X must be rectangular"),
        (([[1.0, "2"]],), r"X\[0\]\[1\] must be a number, got str '2'"),
        (([[1.0, 2.0]], [0.0, "0"], [1.0, 1.0]), r"mean\[1\] must be a number, got str '0'"),
        (([[1.0, 2.0]], [0.0, 0.0], [1.0, math.inf]), r"std must hold finite numbers, got inf at row 1"),
        (([[1.0, 2.0]], [0.0, 0.0], None), "both mean and std"),
        (([[1.0, 2.0]], [0.0], [1.0]), r"mean must hold one finite number per column \(2\)"),
        (([[1.0, 2.0]], [0.0, 0.0], [1.0, -1.0]), "std must be ≥ 0"),
    ],
)
def test_standardize_errors(args, match) -> None:
    with pytest.raises((ValueError, TypeError), match="standardize: .*" + match):
        standardize(*args)


@pytest.mark.parametrize("make", ALL)
def test_numpy_ints_are_sizes_and_seeds(make) -> None:
    X, y = make(n=np.int64(12), seed=np.int64(3))
    expected_X, expected_y = make(n=12, seed=3)
    np.testing.assert_array_equal(X, expected_X)
    np.testing.assert_array_equal(y, expected_y)


def test_numpy_numbers_are_settings_of_the_makers() -> None:
    np.testing.assert_array_equal(
        make_spiral(n=np.int32(30), classes=np.int64(3), noise=np.float32(0.25))[0],
        make_spiral(n=30, classes=3, noise=float(np.float32(0.25)))[0],
    )
    np.testing.assert_array_equal(make_blobs(n=9, centers=np.int64(3))[0], make_blobs(n=9, centers=3)[0])
    np.testing.assert_array_equal(
        make_circles(factor=np.float32(0.5), noise=np.float64(0.1))[0], make_circles(factor=0.5, noise=0.1)[0]
    )
