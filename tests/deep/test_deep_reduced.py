"""Reduced Gauss rules of the layer step (aelab.deep._reduced) and the recursions that use them.

Oracles: the Golub-Welsch rule against a dense eigensolver; the rules' exactness on polynomials of
the discrete measure; the truncation error against adaptive quadrature (with the smoothed decoder
from accurate NumPy quadrature, not the tables) at every node count's threshold, and its
geometric decay with the node count; the reduced step against the composite step; deep
recursions (where the forward anchors and the one-node reuse act) against the NumPy reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from aelab.deep import _kernels as K
from aelab.deep import _reduced as Rd
from aelab.deep import engine
from aelab.deep.config import Setting
from aelab.deep.smoothing import smoothed
from aelab.deep.state_evolution import evolve, evolve_many

XF, WF, _, _ = engine._rule(Rd.FINE_POINTS)


def test_golub_welsch_against_dense_eigensolver():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 12):
        alpha = rng.uniform(0, 1, n)
        beta = np.r_[rng.uniform(0.5, 2.0), rng.uniform(1e-3, 0.3, n - 1)]
        x, w = np.zeros(n), np.zeros(n)
        Rd.gauss_from_recurrence(alpha, beta, n, x, w)
        J = np.diag(alpha) + np.diag(np.sqrt(beta[1:]), 1) + np.diag(np.sqrt(beta[1:]), -1)
        ev, vec = np.linalg.eigh(J)
        order = np.argsort(x)
        np.testing.assert_allclose(x[order], ev, atol=1e-14)
        np.testing.assert_allclose(w[order], beta[0] * vec[0] ** 2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("code", [K.TANH, K.ERF])
@pytest.mark.parametrize("t", [1e-3, 0.7, 2.5, 40.0])
def test_rules_integrate_polynomials_of_the_measure(code, t):
    # an n-point Gauss rule is exact for v^k, k < 2n: against the moments by the composite rule itself
    z, w = [], []
    edges = [0.0, *sorted(b for b in _breaks(code, t) if b > 0), K.Z_MAX]
    for lo, hi in zip(edges[:-1], edges[1:]):
        zz = 0.5 * (hi + lo) + 0.5 * (hi - lo) * XF
        z.append(zz)
        w.append(0.5 * (hi - lo) * WF * np.exp(-zz * zz / 2) / math.sqrt(2 * math.pi))
    z, w = np.concatenate(z), 2 * np.concatenate(w)
    s = np.array([K.act_fdf(code, 0.0, t * x) for x in z])
    v, w_nu = s[:, 0] ** 2, w * s[:, 1]
    for n in (1, 3, 6):
        rule = Rd.rules_at(code, 0.0, t, n, XF, WF)
        for which, weights in ((0, w), (1, w_nu)):
            for k in range(2 * n):
                exact = np.sum(weights * v ** k)
                got = np.sum(rule[which, 1] * rule[which, 0] ** k)
                assert got == pytest.approx(exact, rel=1e-10, abs=1e-300)


def _breaks(code, t):
    brk = np.empty(K._MAX_BREAKS)
    return brk[:K._base_breaks(brk, code, t)].copy()


def _exact(code, t, f):
    """2 int_0^inf f(sigma(t z)) phi(z) dz by adaptive quadrature."""
    pts = [c / t for c in (0.25, 0.5, 1.0, 2.0, 4.0) if c / t < 12]
    val = integrate.quad(lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), 0, 12, points=pts,
                         limit=500, epsabs=0, epsrel=1e-13)[0]
    return 2 * val


def _reduced_error(code, t, b, a, n):
    """Relative error of the n-point rules for rho = E H2(a sigma, b) and gamma / a = E sigma' D(a sigma, b),
    tanh decoder with H2 from accurate quadrature (so the tables' own error does not enter)."""
    def h2(m):
        m = np.atleast_1d(np.asarray(m, float))
        return smoothed("tanh", m, b, n=16)[1] if b > 0 else np.tanh(m) ** 2

    rule = Rd.rules_at(code, 0.0, t, n, XF, WF)
    rho = np.sum(rule[0, 1] * h2(a * np.sqrt(np.maximum(rule[0, 0], 0.0))))
    gam = np.sum(rule[1, 1] * (1.0 - h2(a * np.sqrt(np.maximum(rule[1, 0], 0.0)))))
    if code == K.TANH:
        act, dact = np.tanh, (lambda x: 1 - np.tanh(x) ** 2)
    else:
        act, dact = (lambda x: math.erf(x / math.sqrt(2))), (lambda x: math.sqrt(2 / math.pi) * math.exp(-x * x / 2))
    rho_x = _exact(code, t, lambda z: float(h2(a * act(t * z))[0]))
    gam_x = _exact(code, t, lambda z: dact(t * z) * (1.0 - float(h2(a * act(t * z))[0])))
    return max(abs(rho / rho_x - 1), abs(gam / gam_x - 1))


@pytest.mark.parametrize("code", [K.TANH, K.ERF])
@pytest.mark.parametrize("t, b", [(0.3, 0.0), (1.0, 0.05), (2.0, 0.5), (6.0, 0.0)])
def test_each_node_count_is_accurate_to_its_threshold(code, t, b):
    for n in range(1, Rd.MAX_NODES + 1):
        a = Rd.NODES_FOR_A[n]
        if a > 0:
            assert _reduced_error(code, t, b, a, n) < 1e-11, (n, a)


def test_truncation_error_falls_geometrically_with_the_nodes():
    # at fixed |a| the error of n nodes falls like r(a)^-(2n-1): the rate is set by the analyticity of
    # f(v) = F(a sqrt(v)) on [0, 1], with F's singularities at Im m = +-pi/2 (tanh)
    a = 2.0
    x = np.linspace(-60, 60, 200001)
    s = 2 * ((x + 0.5j * np.pi) / a) ** 2 - 1
    q = np.sqrt(s * s - 1 + 0j)
    r = np.min(np.maximum(np.abs(s + q), np.abs(s - q)))
    errs = np.array([_reduced_error(K.TANH, 1.0, 0.0, a, n) for n in range(2, 9)])
    rate = -np.polyfit(2 * np.arange(2, 9) - 1, np.log(errs), 1)[0]
    assert rate == pytest.approx(math.log(r), rel=0.25)
    assert np.all(np.diff(np.log(errs)) < 0)


@pytest.mark.parametrize("enc, dec", [(K.TANH, K.TANH), (K.ERF, K.TANH), (K.TANH, K.ERF), (K.ERF, K.ERF)])
def test_reduced_step_matches_composite_step(enc, dec):
    tabs, metas = engine._tables(np.array([dec]))
    xg, wg, zb, wb = engine._rule(8)
    x24, w24, z24, b24 = engine._rule(24)
    brk, rows = np.empty(K._MAX_BREAKS), np.empty(tabs.shape[2])
    rs = Rd.scratch(xg.shape[0])
    used = 0
    for t in (1e-40, 0.05, 0.8, 1.7, 3.0, 30.0):
        for b in (0.0, 1e-3, 0.2, 1.0, 3.0):
            for a in (1e-9, 1e-4, 0.01, 0.2, 0.9, 2.0, -0.5):
                ok, g, r = Rd.reduced_step(enc, 0.0, dec, 0.0, t, a, b, tabs, metas, xg, wg, XF, WF, zb, wb, brk, rs)
                if not ok:
                    continue
                used += 1
                g0, r0 = K.step(enc, 0.0, dec, 0.0, t, a, b, tabs, metas, x24, w24, brk, z24, b24, rows)
                # both read the same tables (absolute accuracy ~5e-9) at different points
                assert g == pytest.approx(g0, rel=2e-7, abs=1e-9 * abs(a)), (t, a, b)
                assert r == pytest.approx(r0, rel=2e-7, abs=1e-300), (t, a, b)
    assert used > 150


def test_one_node_near_its_t_to_first_order():
    tabs, metas = engine._tables(np.array([K.TANH]))
    xg, wg, zb, wb = engine._rule(8)
    brk = np.empty(K._MAX_BREAKS)
    for t in (0.4, 1.3, 2.2):
        cached = Rd.scratch(xg.shape[0])
        Rd.reduced_step(K.TANH, 0.0, K.TANH, 0.0, t, 1e-7, 0.3, tabs, metas, xg, wg, XF, WF, zb, wb, brk, cached)
        for d in (1e-9, -5e-8, 1e-7):
            near = Rd.reduced_step(K.TANH, 0.0, K.TANH, 0.0, t * (1 + d), 1e-7, 0.3, tabs, metas, xg, wg, XF, WF,
                                   zb, wb, brk, cached)
            fresh = Rd.reduced_step(K.TANH, 0.0, K.TANH, 0.0, t * (1 + d), 1e-7, 0.3, tabs, metas, xg, wg, XF, WF,
                                    zb, wb, brk, Rd.scratch(xg.shape[0]))
            assert near[1] == pytest.approx(fresh[1], rel=1e-13)
            assert near[2] == pytest.approx(fresh[2], rel=1e-13)


@pytest.mark.parametrize("enc, dec", [("tanh", "tanh"), ("erf", "tanh"), ("tanh", "erf")])
def test_deep_recursions_match_the_reference(enc, dec):
    # depth 40: the forward recursion converges (the anchors act), gamma decays (one-node rules),
    # including sigma_b^2 = 0 where taubar -> 0 geometrically; the kernels' smoothing tables are
    # accurate to ~5e-9 absolute, which sets the tolerance of small S and V
    for sw, sb in ((0.9, 0.0), (1.6, 0.3), (3.5, 0.05)):
        s = Setting.make(enc, dec, 40, sigma_w_sq=sw, sigma_b_sq=sb)
        k, r = evolve(s, method="kernel"), evolve(s, method="reference")
        np.testing.assert_allclose(k.tau_bar_sq, r.tau_bar_sq, rtol=1e-9)  # 8 against 12 points a piece
        np.testing.assert_allclose(k.S, r.S, rtol=1e-6, atol=2e-8)
        np.testing.assert_allclose(k.V, r.V, rtol=1e-6, atol=2e-8)


def test_parallel_and_serial_drivers_agree():
    w = np.linspace(0.2, 3.8, 40)
    b = np.linspace(0.0, 0.9, 40)
    W, B = np.meshgrid(w, b)
    many = evolve_many("tanh", "tanh", 60, sigma_w_sq=W.ravel(), sigma_b_sq=B.ravel(), points=6)  # parallel
    for i in (0, 17, 801, 1599):
        one = evolve_many("tanh", "tanh", 60, sigma_w_sq=W.ravel()[i:i + 1], sigma_b_sq=B.ravel()[i:i + 1], points=6)
        np.testing.assert_array_equal(many.gamma[i], one.gamma[0])
        np.testing.assert_array_equal(many.rho[i], one.rho[0])
        np.testing.assert_array_equal(many.tau_bar_sq[i], one.tau_bar_sq[0])


@pytest.mark.parametrize("q, p", [(0.0, 0.0), (0.2, 0.0), (0.0, 0.1), (0.3, 0.05)])
def test_relu_family_step_in_closed_form_against_quadrature(q, p):
    # a leaky-ReLU encoder (slope q) with a leaky-ReLU decoder (slope p): gamma = a E[sigma' phi'(U)] and
    # rho = E[phi(U)^2], U = a sigma(t z1) + b z2, against adaptive quadrature over z1 with z2 in closed form
    rng = np.random.default_rng(3)
    for _ in range(25):
        t, a, b = math.exp(rng.uniform(-3, 3)), rng.normal(0, 2) * math.exp(rng.uniform(-4, 1)), rng.choice(
            [0.0, math.exp(rng.uniform(-5, 2))])
        g, r = K.relu_relu_step(q, p, t, a, b)

        def outer(fz):
            return sum(integrate.quad(lambda z: fz(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), lo, hi,
                                      epsabs=1e-300, epsrel=1e-13, limit=500)[0] for lo, hi in ((-12, 0), (0, 12)))

        def inner(z1):  # sigma'(t z1) E phi'(m + b z2) and E phi(m + b z2)^2 at m = a sigma(t z1)
            m = a * t * z1 * (1.0 if z1 > 0 else q)
            if b == 0:
                return (1.0 if z1 > 0 else q) * (1.0 if m > 0 else p), m * m * (1.0 if m > 0 else p * p)
            u = m / b
            P, d = 0.5 * math.erfc(-u / math.sqrt(2)), math.exp(-u * u / 2) / math.sqrt(2 * math.pi)
            pos = (m * m + b * b) * P + m * b * d  # E relu(m + b z)^2
            neg = (m * m + b * b) * (1 - P) - m * b * d
            return (1.0 if z1 > 0 else q) * (p + (1 - p) * P), pos + p * p * neg

        g_x = a * outer(lambda z: inner(z)[0])
        r_x = outer(lambda z: inner(z)[1])
        assert g == pytest.approx(g_x, rel=1e-11, abs=1e-300)
        assert r == pytest.approx(r_x, rel=1e-11, abs=1e-300)
