"""Theorem 1 (finite depth) against closed forms: linear (Wishart moments), ReLU/ReLU (arcsine
kernel), ReLU decoder with an odd encoder (exact 1-D reduction), depth 1; kernels against the
NumPy reference (Stein form against the direct form of gamma)."""

import math

import numpy as np
import pytest

from aelab.deep.config import Setting
from aelab.deep.state_evolution import COLUMNS, evolve, evolve_many
from aelab.gaussian import expect_1d

METHODS = ["kernel", "reference"]


def linear_closed_form(L, alpha, sw, sb, sv, t0):
    """Linear network: gamma_l = beta gamma_{l+1}, rho_l = beta^2 gamma_{l+1}^2 t_{l-1}^2 + beta rho_{l+1} + sv."""
    t = [t0, sw * t0 + sb]
    for _ in range(2, L + 1):
        t.append(sw * t[-1] + sb)
    beta = alpha * sw
    g, r = 1.0, t[L]
    for l in range(L, 1, -1):
        g, r = beta * g, beta**2 * g**2 * t[l - 1] + beta * r + sv
    return beta * g, beta * r + sv


@pytest.mark.parametrize("method", METHODS)
def test_linear_network_is_a_product_of_wishart_moments(method):
    # S = prod beta_l; with alpha = sigma_W^2 = 1 the noise variance is L taubar_0^2, the second
    # Fuss-Catalan moment of a product of L square Ginibre matrices minus one.
    tol = 1e-10 if method == "kernel" else 1e-12
    for L in (1, 4, 9):
        ev = evolve(Setting.make("linear", "linear", L, input_variance=1.7), method=method)
        assert ev.s_sig == pytest.approx(1.0, rel=tol)
        assert ev.V[0] == pytest.approx(L * 1.7, rel=tol)
    ev = evolve(Setting.make("linear", "linear", 3, alpha=1.5, sigma_w_sq=0.8), method=method)
    assert ev.s_sig == pytest.approx(1.728, rel=tol)
    assert ev.V[0] == pytest.approx(4.202496, rel=tol)
    S, V = linear_closed_form(5, 1.3, 0.7, 0.2, 0.1, 0.9)
    ev = evolve(Setting.make("linear", "linear", 5, alpha=1.3, sigma_w_sq=0.7, sigma_b_sq=0.2, sigma_v_sq=0.1,
                             input_variance=0.9), method=method)
    assert (ev.s_sig, ev.V[0]) == pytest.approx((S, V), rel=tol)


def relu_closed_form(L, alpha, sw, t0):
    """ReLU encoder and decoder without biases, by the arcsine formulas of the bivariate normal."""
    t = [t0, sw * t0]
    for _ in range(2, L + 1):
        t.append(sw * t[-1] / 2)
    beta = alpha * sw
    g, r = 0.5, t[L] / 2
    for l in range(L, 1, -1):
        a, b2 = beta * g, beta * r
        s2 = a * a * t[l - 1] + b2
        c = a * math.sqrt(t[l - 1] / s2)
        p = 0.25 + math.asin(c) / (2 * math.pi)
        g, r = a * p, b2 / 4 + s2 * (p + c * math.sqrt(1 - c * c) / (2 * math.pi))
    return beta * g, beta * r


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("L, alpha, sw, t0", [(3, 1.0, 2.0, 1.3), (5, 1.0, 2.0, 1.3), (4, 1.5, 1.6, 1.3),
                                              (3, 0.7, 3.0, 1.3), (25, 1.0, 2.3, 0.6)])
def test_relu_relu_against_arcsine_closed_form(method, L, alpha, sw, t0):
    S, V = relu_closed_form(L, alpha, sw, t0)
    ev = evolve(Setting.make("relu", "relu", L, alpha=alpha, sigma_w_sq=sw, input_variance=t0), method=method)
    tol = 1e-10 if method == "kernel" else 1e-12
    assert ev.s_sig == pytest.approx(S, rel=tol)
    assert ev.V[0] == pytest.approx(V, rel=tol)


def test_relu_relu_homogeneity():
    # bias-free ReLU/ReLU: S does not depend on taubar_0, V is proportional to taubar_0^2
    a = evolve(Setting.make("relu", "relu", 6, sigma_w_sq=2.2, input_variance=1.0))
    b = evolve(Setting.make("relu", "relu", 6, sigma_w_sq=2.2, input_variance=3.0))
    assert b.s_sig == pytest.approx(a.s_sig, rel=1e-11)
    assert b.V[0] == pytest.approx(3.0 * a.V[0], rel=1e-11)


def relu_decoder_odd_encoder(L, alpha, sw, sb, sv, t0, sigma="tanh"):
    """ReLU phi with an odd sigma: relu(u) = (u + |u|) / 2 and the symmetry (z1, z2) -> -(z1, z2) give
    gamma_l = (beta/2) E sigma'(t z) gamma_{l+1}, rho_l = (beta^2 gamma^2 E sigma(t z)^2 + beta rho + sv) / 2."""
    f = np.tanh
    df = lambda x: 1 - np.tanh(x) ** 2  # noqa: E731
    t = [t0, sw * t0 + sb]
    for _ in range(2, L + 1):
        t.append(sw * float(expect_1d(lambda x: f(x) ** 2, 0.0, t[-1], n=200)) + sb)
    beta = alpha * sw
    g, r = 0.5, t[L] / 2
    for l in range(L, 1, -1):
        e_d = float(expect_1d(df, 0.0, t[l - 1], n=200))
        e_s2 = float(expect_1d(lambda x: f(x) ** 2, 0.0, t[l - 1], n=200))
        g, r = beta / 2 * e_d * g, 0.5 * (beta**2 * g**2 * e_s2 + beta * r + sv)
    return beta * g, beta * r + sv


@pytest.mark.parametrize("method", METHODS)
def test_relu_decoder_tanh_encoder_reduces_to_one_dimension(method):
    for L, alpha, sw in [(3, 1.0, 2.0), (5, 1.3, 1.5), (12, 0.8, 2.6)]:
        S, V = relu_decoder_odd_encoder(L, alpha, sw, 0.1, 0.2, 1.0)
        ev = evolve(Setting.make("tanh", "relu", L, alpha=alpha, sigma_w_sq=sw, sigma_b_sq=0.1, sigma_v_sq=0.2),
                    method=method)
        assert ev.s_sig == pytest.approx(S, rel=1e-9)
        assert ev.V[0] == pytest.approx(V, rel=1e-9)
    # the values written in the paper notes (6 digits)
    ev = evolve(Setting.make("tanh", "relu", 3, sigma_w_sq=2.0, sigma_b_sq=0.1, sigma_v_sq=0.2), method=method)
    assert (ev.s_sig, ev.V[0]) == pytest.approx((0.272991, 2.140002), abs=1e-6)


def test_depth_one():
    # S = alpha sigma_W^2 E phi'(t z), V = alpha sigma_W^2 E phi(t z)^2 + sigma_v^2
    ev = evolve(Setting.make("tanh", "tanh", 1))
    assert ev.s_sig + ev.V[0] == pytest.approx(1.0, rel=1e-12)  # tanh' = 1 - tanh^2
    assert ev.s_sig == pytest.approx(0.6057055, abs=1e-7)
    ev = evolve(Setting.make("relu", "relu", 1, sigma_w_sq=2.0, input_variance=0.8))  # He: S = 1, V = 2 taubar_0^2
    assert (ev.s_sig, ev.V[0]) == pytest.approx((1.0, 1.6), rel=1e-12)


def test_table_columns_and_layers():
    ev = evolve(Setting.make("tanh", "relu", 4, sigma_w_sq=[1.0, 1.5, 2.0, 2.5], sigma_b_sq=0.1, alpha=1.2))
    table = ev.table()
    assert tuple(table.columns) == COLUMNS
    assert list(table["layer"]) == [1, 2, 3, 4]
    # row l: tau_bar_sq = taubar_l^2, S = beta_l gamma_{l+1}
    assert table["tau_bar_sq"][0] == pytest.approx(1.0 * 1.0 + 0.1)
    assert np.allclose(table["S"], 1.2 * np.array([1.0, 1.5, 2.0, 2.5]) * table["gamma"])
    assert table["gamma"].iloc[-1] == pytest.approx(0.5)  # gamma_{L+1} = E relu'(t z) = 1/2


@pytest.mark.parametrize("enc, dec", [("tanh", "tanh"), ("relu", "tanh"), ("erf", "erf"),
                                      pytest.param("sigmoid", "softplus", marks=pytest.mark.slow),  # builds a table
                                      ("leaky_relu(0.2)", "hardtanh"), ("softplus", "sigmoid"), ("tanh", "relu")])
def test_kernel_matches_reference(enc, dec):
    s = Setting.make(enc, dec, 6, sigma_w_sq=1.7, sigma_b_sq=0.15, sigma_v_sq=0.05, alpha=1.1, input_variance=0.8)
    k, r = evolve(s, method="kernel"), evolve(s, method="reference")
    assert k.method == "kernel" and r.method == "reference"
    np.testing.assert_allclose(k.tau_bar_sq, r.tau_bar_sq, rtol=1e-10)
    np.testing.assert_allclose(k.S, r.S, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(k.V, r.V, rtol=1e-7)


def test_many_settings_match_single():
    w = np.array([0.5, 1.2, 2.312])
    b = np.array([0.0, 0.05, 0.211])
    many = evolve_many("tanh", "tanh", 20, sigma_w_sq=w, sigma_b_sq=b, input_variance=0.4276)
    for i in range(3):
        one = evolve(Setting.make("tanh", "tanh", 20, sigma_w_sq=w[i], sigma_b_sq=b[i], input_variance=0.4276))
        np.testing.assert_allclose(many.S[i], one.S, rtol=1e-14)
        np.testing.assert_allclose(many.V[i], one.V, rtol=1e-14)


def test_overflow_is_reported_with_its_layer():
    ev = evolve(Setting.make("relu", "relu", 2000, sigma_w_sq=3.0))
    assert not ev.finite and ev.infinite_layer is not None
    ev = evolve(Setting.make("relu", "relu", 30, sigma_w_sq=3.0))
    assert ev.finite


def test_user_activation_uses_the_reference():
    from aelab.activations import Activation

    soft_sign = Activation("soft_sign_test", lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2)
    s = Setting.make("tanh", "tanh", 3)
    s = Setting(s.depth, (s.encoder[0], soft_sign, soft_sign), (s.decoder[0], soft_sign, soft_sign, soft_sign),
                s.sigma_w_sq, s.sigma_b_sq, s.sigma_v_sq, s.alpha, s.input_variance)
    ev = evolve(s)
    assert ev.method == "reference" and np.all(np.isfinite(ev.S)) and ev.s_sig > 0
