"""Closed forms of the reversible-net theory against independent quadrature (aelab.gaussian)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import roots_genlaguerre

from aelab.gaussian import expect_1d, expect_2d
from aelab.reversible import theory
from aelab.reversible.closed_forms import (
    gauss_rule_for_sum,
    quadrant_moments,
    relu_squared_error,
    tail_first_moment,
    tail_second_moment,
)
from aelab.reversible.codes import get_law


@pytest.mark.parametrize("a,b,sigma", [(1.0, -0.5, 0.7), (0.3, 0.8, 1.5), (2.0, -3.0, 0.2), (0.0, 0.1, 1.0),
                                       (5.0, 0.4, 0.05), (0.7, -0.1, 3.0)])
def test_quadrant_moments_match_quadrature(a, b, sigma):
    # (z, w) with w = a z + b + sigma g: E[f(z, w)] by iterated Gauss-Legendre split at the kinks.
    var_w = a * a + sigma * sigma
    ind = lambda z, w: (z > 0) & (w > 0)  # noqa: E731
    p = expect_2d(lambda z, w: ind(z, w) * 1.0, 0.0, b, 1.0, var_w, a, kinks1=(0.0,), kinks2=(0.0,), n=80)
    ezw = expect_2d(lambda z, w: ind(z, w) * z * w, 0.0, b, 1.0, var_w, a, kinks1=(0.0,), kinks2=(0.0,), n=80)
    eww = expect_2d(lambda z, w: ind(z, w) * w * w, 0.0, b, 1.0, var_w, a, kinks1=(0.0,), kinks2=(0.0,), n=80)
    np.testing.assert_allclose(quadrant_moments(a, b, sigma), (p, ezw, eww), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("mu,s,h", [(0.3, 1.0, 1.2), (-2.0, 0.5, 0.0), (1.5, 0.01, 1.5), (0.0, 2.0, 0.7)])
def test_relu_squared_error_matches_quadrature(mu, s, h):
    ref = expect_1d(lambda x: (np.maximum(x, 0.0) - h) ** 2, mu, s * s, kinks=(0.0,), n=64)
    assert relu_squared_error(mu, s, h) == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_relu_squared_error_without_noise_is_deterministic():
    assert relu_squared_error(0.7, 0.0, 1.0) == pytest.approx(0.09)
    assert relu_squared_error(-0.7, 0.0, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("tau", [-1.0, 0.0, 0.5, 2.0, 4.0])
def test_tail_moments(tau):
    ref2 = expect_1d(lambda g: np.maximum(g - tau, 0.0) ** 2, 0.0, 1.0, kinks=(tau,), n=64)
    ref1 = expect_1d(lambda g: np.maximum(g - tau, 0.0), 0.0, 1.0, kinks=(tau,), n=64)
    assert tail_second_moment(tau) == pytest.approx(ref2, rel=1e-9, abs=1e-14)
    assert tail_first_moment(tau) == pytest.approx(ref1, rel=1e-9, abs=1e-14)
    h = 1e-5  # d psi/d tau = -2 E[(g - tau)_+]
    deriv = (tail_second_moment(tau + h) - tail_second_moment(tau - h)) / (2 * h)
    assert deriv == pytest.approx(-2.0 * tail_first_moment(tau), rel=1e-6, abs=1e-10)


def test_gauss_rule_for_sum_of_exponentials_is_generalised_laguerre():
    # A sum of 5 Exp(1) is Gamma(5): its Gauss rule is the generalised Laguerre rule with alpha = 4.
    nodes, weights = gauss_rule_for_sum([math.factorial(r) for r in range(1, 17)], 5, 8)
    ref_x, ref_w = roots_genlaguerre(8, 4.0)
    np.testing.assert_allclose(nodes, ref_x, rtol=1e-8)
    np.testing.assert_allclose(weights, ref_w / ref_w.sum(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("n,rho", [(3, 1.0), (50, 0.5), (5000, 0.9)])
def test_scale_rule_moments(n, rho):
    # c = alpha chi^2_N, N ~ Bin(n, rho/2): E c = 1, Var c = (6 - rho)/(rho n), third central moment
    # from the cumulants of alpha * s relu(g)^2: n alpha^3 kappa_3(Y).
    c, w = theory.scale_rule(n, rho)
    alpha = 2.0 / (rho * n)
    ey = [0.5 * rho * v for v in (1.0, 3.0, 15.0)]
    k3 = ey[2] - 3 * ey[1] * ey[0] + 2 * ey[0] ** 3
    assert w.sum() == pytest.approx(1.0)
    assert w @ c == pytest.approx(1.0, rel=1e-12)
    assert w @ (c - 1) ** 2 == pytest.approx((6.0 - rho) / (rho * n), rel=1e-10)
    assert w @ (c - 1) ** 3 == pytest.approx(n * alpha**3 * k3, rel=1e-8)
    assert np.all(c > 0)


@pytest.mark.parametrize("law", ["uniform", "constant", "exponential"])
@pytest.mark.parametrize("count", [1, 3, 40, 400])
def test_sum_of_squares_rule_moments(law, count):
    nodes, weights = theory.sum_of_squares_rule(law, count)
    lw = get_law(law)
    mean = count * lw.moment(2)
    var = count * (lw.moment(4) - lw.moment(2) ** 2)
    assert weights.sum() == pytest.approx(1.0)
    tol = 1e-9 if law != "exponential" or count > 256 else 0.02  # quasi-random sample for the heavy tail
    assert weights @ nodes == pytest.approx(mean, rel=tol)
    assert weights @ (nodes - mean) ** 2 == pytest.approx(var, rel=10 * tol, abs=1e-12)


@pytest.mark.parametrize("law", ["uniform", "constant", "exponential"])
def test_law_rules_and_samples_agree(law, rng):
    lw = get_law(law)
    v, w = lw.rule(48)
    for p in (1, 2, 3):
        assert w @ v**p == pytest.approx(lw.moment(p), rel=1e-10)
    sample = lw.sample(rng, 200_000)
    assert sample.mean() == pytest.approx(lw.moment(1), rel=0.01)
    np.testing.assert_allclose(lw.quantile(np.array([0.0, 0.5])), {"uniform": [1.0, 1.5], "constant": [1.0, 1.0],
                                                                   "exponential": [0.0, math.log(2)]}[law])
