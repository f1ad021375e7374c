"""Closed-form bivariate ReLU moments with means: against quadrature, Monte Carlo and known limits."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from aelab.activations import GaussianMoments, ReluMoments, get_activation

NAMES = ("e_ff", "e_dfdf", "e_df1f2", "e_u1df1f2")
RELU = get_activation("relu")


def _random_cases(rng, n):
    m1, m2 = (rng.normal(size=n) * rng.choice([0.0, 0.3, 1.0, 3.0], size=n) for _ in range(2))
    scale = rng.choice([1e-3, 1.0, 5.0], size=n)
    v1, v2 = rng.exponential(size=n) * scale, rng.exponential(size=n) * scale
    c = rng.uniform(-0.95, 0.95, size=n) * np.sqrt(v1 * v2)
    # a unit with itself, with its negative, and perfectly correlated units of different scales
    same = np.arange(n) % 7 == 0
    m2[same], v2[same], c[same] = m1[same], v1[same], v1[same]
    anti = np.arange(n) % 11 == 0
    m2[anti], v2[anti], c[anti] = m1[anti], v1[anti], -v1[anti]
    perfect = np.arange(n) % 13 == 0
    c[perfect] = np.sqrt(v1[perfect] * v2[perfect])
    return m1, m2, v1, v2, c


def test_closed_forms_equal_the_quadrature_they_replace():
    rng = np.random.default_rng(0)
    args = _random_cases(rng, 600)
    quad = GaussianMoments(RELU, n2=128)
    for name in NAMES:
        closed = getattr(RELU.moments, name)(*args)
        reference = np.array([getattr(quad, name)(*(a[i] for a in args)) for i in range(len(args[0]))])
        np.testing.assert_allclose(closed, reference, rtol=0, atol=1e-9, err_msg=name)


def test_closed_forms_equal_monte_carlo():
    rng = np.random.default_rng(1)
    n = 2_000_000
    for m1, m2, v1, v2, c in [(0.4, -0.7, 1.3, 0.6, 0.5), (-1.2, 0.3, 0.5, 2.0, -0.8), (0.0, 0.0, 1.0, 1.0, 0.2)]:
        L = np.linalg.cholesky(np.array([[v1, c], [c, v2]]))
        z = rng.standard_normal((n, 2)) @ L.T
        x1, x2 = z[:, 0] + m1, z[:, 1] + m2
        f1, f2 = np.maximum(x1, 0), np.maximum(x2, 0)
        d1, d2 = (x1 > 0).astype(float), (x2 > 0).astype(float)
        samples = {"e_ff": f1 * f2, "e_dfdf": d1 * d2, "e_df1f2": d1 * f2, "e_u1df1f2": (x1 - m1) * d1 * f2}
        for name, s in samples.items():
            value = getattr(RELU.moments, name)(m1, m2, v1, v2, c)
            assert abs(value - s.mean()) < 5 * s.std() / np.sqrt(n), (name, value, s.mean())


def test_zero_means_give_the_arc_cosine_kernel():
    rng = np.random.default_rng(2)
    v1, v2 = rng.exponential(size=50), rng.exponential(size=50)
    r = rng.uniform(-1, 1, size=50)
    c = r * np.sqrt(v1 * v2)
    z = np.zeros(50)
    mom = RELU.moments
    kernel = np.sqrt(v1 * v2) / (2 * np.pi) * (np.sqrt(1 - r**2) + (np.pi - np.arccos(r)) * r)
    np.testing.assert_allclose(mom.e_ff(z, z, v1, v2, c), kernel, atol=1e-13)
    np.testing.assert_allclose(mom.e_dfdf(z, z, v1, v2, c), 0.25 + np.arcsin(r) / (2 * np.pi), atol=1e-13)
    np.testing.assert_allclose(mom.e_u1df1f2(z, z, v1, v2, c), kernel, atol=1e-13)


def test_perfect_correlation_is_exact():
    """A unit with itself: E[relu(x)^2], P(x > 0), E[1(x>0) relu(x)] of one variable."""
    mom = RELU.moments
    for m, v in [(0.3, 0.7), (-1.1, 2.0), (0.0, 1e-4), (2.0, 1e-6)]:
        assert mom.e_ff(m, m, v, v, v) == pytest.approx(mom.e_f2(m, v), abs=1e-14)
        assert mom.e_dfdf(m, m, v, v, v) == pytest.approx(mom.e_df(m, v), abs=1e-14)
        assert mom.e_df1f2(m, m, v, v, v) == pytest.approx(mom.e_f(m, v), abs=1e-14)
        # anti-correlated copy: relu(x) relu(2m - x)... here x2 = m - (x1 - m) with x2's mean m
        assert mom.e_dfdf(m, m, v, v, -v) == pytest.approx(
            max(0.0, 2 * mom.e_df(m, v) - 1.0), abs=1e-14)


def test_bivariate_distribution_function():
    _bivariate_cdf = ReluMoments._bivariate_cdf

    rng = np.random.default_rng(3)
    for _ in range(40):
        x, y = rng.normal(size=2) * 1.5
        r = rng.uniform(-0.99, 0.99)
        ref = multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([x, y])
        got = _bivariate_cdf(np.array(x), np.array(y), np.array(r), np.array(np.sqrt(1 - r * r)))
        assert got == pytest.approx(ref, abs=1e-7)
    # the axes: x = 0 and/or y = 0
    for r in (-0.6, 0.0, 0.8):
        s = np.sqrt(1 - r * r)
        assert _bivariate_cdf(np.array(0.0), np.array(0.0), np.array(r), np.array(s)) == pytest.approx(
            0.25 + np.arcsin(r) / (2 * np.pi), abs=1e-15)
        for y in (-1.3, 0.7):
            ref = multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([0.0, y])
            assert _bivariate_cdf(np.array(0.0), np.array(y), np.array(r), np.array(s)) == pytest.approx(ref, abs=1e-7)


def test_broadcasting_like_the_ode_calls_it():
    rng = np.random.default_rng(4)
    K = 3
    X = rng.normal(size=(K, 20))
    Q = X @ X.T / 20
    q = np.diag(Q)
    m = rng.normal(size=K)
    quad = GaussianMoments(RELU, n2=96)
    for name in NAMES:
        got = getattr(RELU.moments, name)(m[:, None], m[None, :], q[:, None], q[None, :], Q)
        ref = getattr(quad, name)(m[:, None], m[None, :], q[:, None], q[None, :], Q)
        assert got.shape == (K, K)
        np.testing.assert_allclose(got, ref, atol=1e-9)
    assert isinstance(RELU.moments, ReluMoments)
