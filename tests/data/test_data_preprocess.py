"""Preprocessing steps: oracles (Pillow's luma conversion, moments, whiteness), determinism of subsets/splits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aelab.data import preprocess as P
from aelab.errors import ConfigError


def test_grayscale_uint8_is_pillow_exact(rng):
    images = rng.integers(0, 256, (50, 7, 6, 3), dtype=np.uint8)
    images[0] = 255  # extremes
    images[1] = 0
    ours = P.grayscale(images)
    pillow = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in images])
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, pillow)


def test_grayscale_float_weights(rng):
    images = rng.random((4, 3, 2, 3))
    expected = 0.299 * images[..., 0] + 0.587 * images[..., 1] + 0.114 * images[..., 2]
    np.testing.assert_allclose(P.grayscale(images), expected, rtol=1e-12)
    assert sum(P.LUMA_601) == pytest.approx(1.0)
    gray = rng.random((4, 3, 2))
    assert P.grayscale(gray) is gray  # idempotent on grayscale
    np.testing.assert_array_equal(P.grayscale(gray[..., None]), gray)
    with pytest.raises(ConfigError, match=r"grayscale: expects images .* got shape \(4, 3, 2, 4\)"):
        P.grayscale(rng.random((4, 3, 2, 4)))


def test_to_float_and_flatten(rng):
    images = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    x = P.to_float(images)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(x * 255, images, atol=1e-4)
    assert P.to_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    flat = P.flatten(x)
    assert flat.shape == (5, 12)
    np.testing.assert_array_equal(flat[2], x[2].ravel())
    with pytest.raises(ConfigError, match="to_float: expects uint8"):
        P.to_float(x)


def test_center_and_standardize(rng):
    X = (rng.standard_normal((400, 6)) * [1, 2, 3, 4, 5, 6] + [1, -1, 2, 0, 3, 9]).astype(np.float32)
    X[:, 5] = 7.0  # a constant pixel
    c = P.center(X)
    assert c.dtype == np.float32
    np.testing.assert_allclose(c.mean(axis=0), 0, atol=1e-5)
    g = P.center(X, per_pixel=False)
    assert abs(g.mean(dtype=np.float64)) < 1e-5
    np.testing.assert_allclose(g - c, np.broadcast_to(X.mean(axis=0) - X.mean(), X.shape), atol=1e-4)  # mean image
    s = P.standardize(X)
    np.testing.assert_allclose(s[:, :5].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(s[:, 5], 0)  # constant pixel: centred, not divided by zero
    sg = P.standardize(X, per_pixel=False)
    assert sg.std(dtype=np.float64) == pytest.approx(1, abs=1e-5)
    # statistics of another split can be reused
    test = X[:10]
    mean, std = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
    np.testing.assert_allclose(P.standardize(test, mean=mean, std=std)[:, :5], (test - mean)[:, :5] / std[:5],
                               atol=1e-5)
    np.testing.assert_allclose(P.center(test, mean=mean), test - mean, atol=1e-5)
    with pytest.raises(ConfigError, match="center: expects floating-point data, got uint8"):
        P.center(np.zeros((2, 2), np.uint8))


def test_statistics_over_chunks_equal_direct(rng, monkeypatch):
    X = rng.random((1000, 5)).astype(np.float32)
    monkeypatch.setattr(P, "_ROWS", 64)
    np.testing.assert_allclose(P.standardize(X), (X - X.mean(0)) / X.std(0), atol=1e-5)


def test_scale_global_is_refinetti_goldt(rng):
    X = (rng.random((300, 20)) * 3 + 1).astype(np.float32)
    Y = P.scale_global(X)
    assert Y.dtype == np.float32
    assert Y.mean(dtype=np.float64) == pytest.approx(0, abs=1e-6)
    assert Y.std(dtype=np.float64) == pytest.approx(0.5, rel=1e-5)
    # the code of Refinetti & Goldt: (X - mean) / (2 std), one scalar each
    np.testing.assert_allclose(Y, (X - X.mean()) / (2 * X.std()), atol=1e-5)
    assert P.scale_global(X, 2.0).std(dtype=np.float64) == pytest.approx(2.0, rel=1e-5)
    # per-pixel means are NOT removed: pixel means keep their spread
    assert np.ptp(Y.mean(axis=0)) > 0.01
    with pytest.raises(ConfigError, match="data are constant"):
        P.scale_global(np.ones((3, 3)))


@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whitening_gives_identity_covariance(rng, method):
    A = rng.standard_normal((8, 8))
    X = rng.standard_normal((5000, 8)) @ A + 3.0
    W = P.whiten(X, eps=0.0, method=method)
    np.testing.assert_allclose(np.cov(W.T, bias=True), np.eye(8), atol=1e-8)
    np.testing.assert_allclose(W.mean(axis=0), 0, atol=1e-10)
    mean, M = P.whitening_matrix(X, eps=0.0, method=method)
    if method == "zca":
        np.testing.assert_allclose(M, M.T, atol=1e-10)  # ZCA: symmetric
    # eps shrinks the variance of each direction to lam / (lam + eps)
    lam = np.linalg.eigvalsh(np.cov(X.T, bias=True))
    shrunk = np.linalg.eigvalsh(np.cov(P.whiten(X, eps=1.0, method=method).T, bias=True))
    np.testing.assert_allclose(np.sort(shrunk), np.sort(lam / (lam + 1.0)), rtol=1e-8)


def test_subset_and_split_are_deterministic_and_disjoint(rng):
    X = np.arange(100)[:, None] * np.ones((1, 3))
    y = np.arange(100) % 4
    a = P.subset(X, y, 30, np.random.default_rng(7))
    b = P.subset(X, y, 30, np.random.default_rng(7))
    c = P.subset(X, y, 30, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert len(np.unique(a[0][:, 0])) == 30 and np.all(np.diff(a[0][:, 0]) > 0)  # no repeats, original order
    strat = P.subset(X, y, 10, np.random.default_rng(0), stratified=True)[1]
    assert np.bincount(strat).tolist() == [3, 3, 2, 2]
    (Xa, ya), (Xb, yb) = P.split(X, y, 0.2, np.random.default_rng(1))
    assert len(Xb) == 20 and len(Xa) == 80
    assert set(Xa[:, 0]) | set(Xb[:, 0]) == set(range(100)) and not set(Xa[:, 0]) & set(Xb[:, 0])
    np.testing.assert_array_equal(ya, Xa[:, 0].astype(int) % 4)
    (_, _), (_, yb2) = P.split(X, y, 0.2, np.random.default_rng(1), stratified=True)
    assert np.bincount(yb2).tolist() == [5, 5, 5, 5]
    (_, none), _ = P.split(X, None, 0.5, np.random.default_rng(1))
    assert none is None


def test_subset_split_bad_input(rng):
    X, y = np.zeros((10, 2)), np.zeros(10, int)
    with pytest.raises(ConfigError, match="subset: n = 11"):
        P.subset(X, y, 11, rng)
    with pytest.raises(ConfigError, match="rng must be a numpy.random.Generator"):
        P.subset(X, y, 3, 42)
    with pytest.raises(ConfigError, match="split: fraction = 1.5"):
        P.split(X, y, 1.5, rng)
    with pytest.raises(ConfigError, match="10 samples but 9 labels"):
        P.split(X, y[:9], 0.5, rng)
    with pytest.raises(ConfigError, match="too few samples"):
        P.subset(X, np.r_[np.zeros(9, int), 1], 4, rng, stratified=True)


def test_pipelines(rng):
    images = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    X = P.apply_steps(images, P.REFINETTI_GOLDT)
    manual = P.scale_global(P.flatten(P.to_float(P.grayscale(images))), 0.5)
    np.testing.assert_array_equal(X, manual)
    canonical = "grayscale,to_float,flatten,scale_global:0.5"
    assert P.steps_key(" grayscale, to_float ,flatten,scale_global:0.5") == canonical
    assert P.apply_steps(images, "to_float,flatten,center:global").shape == (20, 48)
    with pytest.raises(ConfigError, match=r"--steps: unknown step 'blur' \(known: grayscale"):
        P.apply_steps(images, "blur")
    with pytest.raises(ConfigError, match="expected center:pixel or center:global"):
        P.apply_steps(images, "to_float,center:row")
    with pytest.raises(ConfigError, match="scale_global:x: expected a number"):
        P.apply_steps(images, "to_float,scale_global:x")
    assert set(P.STEP_HELP) >= {"grayscale", "to_float", "flatten", "center", "standardize", "scale_global", "whiten"}
