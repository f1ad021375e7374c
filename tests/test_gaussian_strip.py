"""The strip rule (trapezoidal, for integrands analytic in a strip) against adaptive quadrature, and its
compiled twin against the NumPy rule."""

import numpy as np
import pytest
from scipy.integrate import quad

from aelab.activations import get_activation
from aelab.gaussian import STRIP_MAX_STD, rule_1d, rule_2d, rule_kind, strip_rule
from aelab.shallow._quadrature_kernel import strip_nodes, strip_size

STRIPPED = ["tanh", "sigmoid", "softplus"]


def _normal(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _adaptive_1d(fn, m, s):
    """E fn(m + s z) by adaptive quadrature, split where the argument crosses 0 and +-1."""
    points = sorted({(c - m) / s for c in (-1.0, 0.0, 1.0) if abs((c - m) / s) < 12})
    return quad(lambda z: fn(m + s * z) * _normal(z), -12, 12, points=points, epsabs=1e-14, epsrel=1e-13,
                limit=500)[0]


@pytest.mark.parametrize("name", STRIPPED)
def test_one_variable_moments_against_adaptive_quadrature(name):
    act = get_activation(name)
    for s in (0.05, 0.3, 0.75, 1.2, 2.0, 3.0):
        for m in (0.0, 0.4, -1.7):
            x, w = rule_1d(m, s * s, graded=None, strip=act.strip)
            assert rule_kind(None, act.strip, (), np.array(s)) == "strip"
            for fn in (act.f, lambda x: act.f(x) ** 2, act.df, lambda x: act.df(x) * (x - m),
                       lambda x: act.df(x) * (x - m) ** 2):
                scale = max(1.0, abs(_adaptive_1d(lambda x: np.abs(fn(x)), m, s)))
                assert np.sum(w * fn(x)) == pytest.approx(_adaptive_1d(fn, m, s), abs=1e-13 * scale)


@pytest.mark.parametrize("setting", [(0.0, 0.0, 1.25, 0.8, -0.35), (0.3, -0.5, 2.5, 1.0, 0.6),
                                     (0.0, 0.2, 0.4, 3.0, 0.999), (-1.0, 1.0, 3.0, 3.0, -0.3)])
def test_two_variable_moments_against_adaptive_quadrature(setting):
    """E g1 g2, E g1' g2', E u1 g1' g2, E g1' g2 of tanh by nested adaptive quadrature (x2 given x1)."""
    act = get_activation("tanh")
    m1, m2, s1, s2, r = setting
    beta, s21 = r * s2, s2 * np.sqrt(1.0 - r * r)
    x1, x2, w = rule_2d(m1, m2, s1 * s1, s2 * s2, r * s1 * s2, graded=None, strip=act.strip)
    f1, d1, f2, d2 = act.f(x1), act.df(x1), act.f(x2), act.df(x2)
    got = [np.sum(w * f1 * f2), np.sum(w * d1 * d2), np.sum(w * (x1 - m1) * d1 * f2), np.sum(w * d1 * f2)]

    def inner(fn, z1):
        return _adaptive_1d(fn, m2 + beta * z1, s21)

    outer = [lambda z, y: act.f(y) * inner(act.f, z), lambda z, y: act.df(y) * inner(act.df, z),
             lambda z, y: (y - m1) * act.df(y) * inner(act.f, z), lambda z, y: act.df(y) * inner(act.f, z)]
    for value, fn in zip(got, outer):
        ref = quad(lambda z: fn(z, m1 + s1 * z) * _normal(z), -9.5, 9.5, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        assert value == pytest.approx(ref, abs=1e-12)


def test_the_compiled_nodes_are_the_numpy_rule():
    stds = np.array([0.0, 1e-9, 0.1, 0.75, 1.3, 2.9, 3.0])
    for strip in (0.5 * np.pi, np.pi):
        z, w = strip_rule(stds, strip)
        for k, s in enumerate(stds):
            cz, cw = np.empty(strip_size(s, strip)), np.empty(strip_size(s, strip))
            n = strip_nodes(s, strip, cz, cw)
            keep = w[k] > 0
            assert n == cz.size == np.count_nonzero(keep)
            np.testing.assert_allclose(cz, z[k][keep], rtol=1e-15, atol=0)
            np.testing.assert_allclose(cw, w[k][keep], rtol=1e-14, atol=0)


def test_the_rule_is_chosen_per_call():
    strip = 0.5 * np.pi
    assert rule_kind(None, strip, (), np.array([0.1, STRIP_MAX_STD])) == "strip"
    assert rule_kind(None, strip, (), np.array([0.1, 1.01 * STRIP_MAX_STD])) == "graded"
    assert rule_kind(None, None, (), np.array([0.5])) == "plain"
    assert rule_kind(None, strip, (0.0,), np.array([0.5])) == "plain"  # kinks: no strip
    assert rule_kind(True, strip, (), np.array([0.5])) == "graded"
    assert rule_kind(False, strip, (), np.array([2.0])) == "plain"
