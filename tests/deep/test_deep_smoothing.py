"""Gaussian smoothing E g(m + b z), E g(m + b z)^2: composite quadrature against closed forms,
the tables of the kernels against the quadrature, and the kernels' step against its two forms."""

import numpy as np
import pytest
from scipy import integrate

from aelab.activations import get_activation
from aelab.deep import _kernels as K
from aelab.deep import engine, reference
from aelab.deep.smoothing import TABLE_KINDS, packed_tables, smoothed, smoothed_fn


def test_quadrature_against_closed_forms():
    rng = np.random.default_rng(0)
    m = rng.normal(0, 3, 400)
    b = np.exp(rng.uniform(-6, 4, 400))
    for name in ("relu", "linear"):
        act = get_activation(name)
        h1, h2 = smoothed(act, m, b)
        np.testing.assert_allclose(h1, act.moments.e_f(m, b**2), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h2, act.moments.e_f2(m, b**2), rtol=1e-12, atol=1e-14)
    h1, _ = smoothed("erf", m, b)
    np.testing.assert_allclose(h1, get_activation("erf").moments.e_f(m, b**2), rtol=1e-12, atol=1e-14)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_quadrature_of_a_sharp_tanh():
    # a wide Gaussian makes tanh a sharp step in z-units: Gauss-Hermite fails, the split rule does not
    for m, b in [(0.0, 3.0), (0.7, 10.0), (-2.0, 100.0), (0.3, 0.01)]:
        ref = integrate.quad(lambda z: np.tanh(m + b * z) ** 2 * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
                             -12, 12, points=[-m / b], epsabs=1e-15, epsrel=1e-14, limit=2000)[0]
        assert float(smoothed("tanh", m, b)[1]) == pytest.approx(ref, abs=1e-14)


@pytest.mark.parametrize("kind", ["tanh", "erf"])
def test_tables_against_quadrature(kind):
    data, metas = packed_tables(frozenset({kind}))
    k = {"tanh": K.TANH_T, "erf": K.ERF_T}[kind]
    rng = np.random.default_rng(1)
    m = rng.normal(0, 1, 2000) * rng.choice([1.0, 5.0, 30.0], 2000)
    b = np.exp(rng.uniform(-6, 6, 2000))
    r1, r2 = smoothed_fn(list(TABLE_KINDS[kind].funcs), m, b, n=12)
    got = np.array([K.table_at(data, metas, k, mm, K.table_prep(metas, k, bb)) for mm, bb in zip(m, b)])
    assert np.max(np.abs(got[:, 0] - r1)) < 5e-9
    assert np.max(np.abs(got[:, 1] - r2)) < 5e-9


@pytest.mark.parametrize("name", ["tanh", "erf", "sigmoid", "relu", "leaky_relu(0.2)", "hardtanh", "linear"])
def test_kernel_smoothing_and_slope(name):
    # H1, H2 and the slope D = E phi'(m + b z) (Stein: dH1/dm) against quadrature; small arguments
    # (the trivial phase) must keep their relative accuracy
    act = get_activation(name)
    code, p = engine.kernel_code(act)
    data, metas = packed_tables(frozenset({"tanh", "erf"}))
    rng = np.random.default_rng(2)
    m = np.r_[rng.normal(0, 2, 200), 1e-3 * rng.normal(0, 1, 50)]
    b = np.r_[np.exp(rng.uniform(-4, 3, 200)), 1e-3 * np.exp(rng.uniform(-2, 0, 50))]
    h1, h2 = smoothed(act, m, b, n=16)
    d = smoothed_fn([act.df], m, b, kinks=act.kinks, n=16)[0]
    for i in range(m.size):
        if m[i] / b[i] < -8:  # the quadrature is truncated at 10 standard deviations
            continue
        k1, k2 = K.smooth_h(code, p, m[i], b[i], data, metas)
        kd, kh2 = K.smooth_dh(code, p, m[i], b[i], K.smooth_prep(code, b[i], metas), data, metas)
        assert k1 == pytest.approx(h1[i], rel=1e-7, abs=max(5e-9 * (abs(m[i]) > 0.01), 1e-30))
        assert k2 == pytest.approx(h2[i], rel=1e-7, abs=max(5e-9 * (abs(m[i]) > 0.01), 1e-30))
        assert kh2 == pytest.approx(k2, rel=1e-13, abs=1e-30)
        assert kd == pytest.approx(d[i], rel=1e-7, abs=5e-9)


def test_step_stein_form_equals_direct_form():
    # the kernels use gamma = a E[sigma'(t z) phi'(U)] (Remark 3), the reference E[z phi(U)] / t
    for enc, dec in [("tanh", "tanh"), ("relu", "relu"), ("tanh", "relu"), ("erf", "sigmoid")]:
        s, p = get_activation(enc), get_activation(dec)
        t, a, b = np.array([0.3, 1.0, 2.5]), np.array([0.5, 2.0, 7.0]), np.array([0.0, 0.4, 1.5])
        gk, rk = engine.layer_maps(s, p, t, a, b, method="kernel")
        gr, rr = reference.step(s, p, t, a, b)
        np.testing.assert_allclose(gk, gr, rtol=1e-8)
        np.testing.assert_allclose(rk, rr, rtol=1e-8)


def test_step_against_two_dimensional_gauss_hermite():
    # the direct 2-D integral E[z1 phi(a sigma(t z1) + b z2)] / t by the registry's Gauss-Hermite rule
    # (expect_2d with independent z1, z2); smooth integrands of moderate scale, where Hermite converges
    from aelab.gaussian import expect_2d

    for enc, dec, t, a, b in [("tanh", "tanh", 0.8, 0.7, 0.5), ("erf", "tanh", 1.0, 1.2, 0.3),
                              ("tanh", "erf", 0.6, 0.9, 0.8), ("sigmoid", "tanh", 0.9, 0.8, 0.4)]:
        s, p = get_activation(enc), get_activation(dec)
        g = expect_2d(lambda z1, z2: z1 * p.f(a * s.f(t * z1) + b * z2), 0, 0, 1, 1, 0, n=80) / t
        r = expect_2d(lambda z1, z2: p.f(a * s.f(t * z1) + b * z2) ** 2, 0, 0, 1, 1, 0, n=80)
        gk, rk = engine.layer_maps(s, p, t, a, b, method="kernel")
        assert float(gk) == pytest.approx(float(g), rel=1e-8)
        assert float(rk) == pytest.approx(float(r), rel=1e-8)
