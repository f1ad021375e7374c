"""Infinite depth: fixed points of T, G, R and their stability, the transitions found numerically,
the phases, and Table 1's classification computed from the theory."""

import numpy as np
import pytest

from aelab.deep import infinite_depth as I
from aelab.deep.phases import classify_scheme, classify_schemes, classify_trajectory, setting_phase
from aelab.deep.smoothing import smoothed
from aelab.gaussian import expect_1d


def test_forward_fixed_point_and_interpretation_two():
    # tanh, taubar^2 = 1.2: taubar_0^2 = E tanh(taubar z)^2 = 0.4276, sigma_{W,max}^2 = 2.8066
    assert float(I.input_variance_for("tanh", 1.2)) == pytest.approx(0.42756130, abs=1e-8)
    assert float(I.sigma_w_max_sq("tanh", 1.2)) == pytest.approx(2.8066151, abs=1e-6)
    sb = float(I.bias_for("tanh", 2.312, 1.2))
    fp = I.forward_fixed_point("tanh", 2.312, sb, start=2.312 * 0.42756130 + sb)
    assert float(fp.tau_bar_sq) == pytest.approx(1.2, rel=1e-10) and float(fp.slope) < 1
    # ReLU: T(q) = sigma_W^2 q / 2 + sigma_b^2: q* = sigma_b^2 / (1 - sigma_W^2 / 2), none above 2
    fp = I.forward_fixed_point("relu", [1.0, 2.5, 2.0], [0.1, 0.0, 0.0], start=[1.0, 1.0, 0.7])
    np.testing.assert_allclose(fp.tau_bar_sq[[0, 2]], [0.2, 0.7], rtol=1e-10)
    assert np.isinf(fp.tau_bar_sq[1])


def test_decoder_maps_identities():
    # Prop. 10(a): with ReLU phi, R(0, rho) = beta rho / 2 exactly; G(0, rho) = 0
    g, r = I.decoder_maps("tanh", "relu", 2.7, 1.0, 0.0, np.array([0.1, 0.5, 1.0]))
    np.testing.assert_allclose(r, 2.7 * np.array([0.1, 0.5, 1.0]) / 2, rtol=1e-12)
    assert np.all(g == 0)
    # Prop. 10(d): odd sigma and ReLU phi: G is linear in gamma with slope beta E sigma'(taubar z) / 2
    gam = np.array([0.05, 0.3, 1.7])
    g, _ = I.decoder_maps("tanh", "relu", 3.0, 1.0, gam, 0.4)
    e_d = float(expect_1d(lambda x: 1 - np.tanh(x) ** 2, 0.0, 1.0, n=200))
    np.testing.assert_allclose(g, 3.0 * e_d / 2 * gam, rtol=1e-9)


def test_relu_relu_transitions_found_numerically():
    # iterate the depth recursion: beta < 2 -> (0, 0); 2 < beta < 4 -> rho -> inf and gamma -> 0 (from a
    # small gamma); beta > 4 -> both -> inf from any start
    betas = np.array([1.9, 2.1, 3.9, 4.2])
    gam, rho, _ = I.iterate_maps("relu", "relu", betas, 1.0, 1500, init=(0.01, 1.0))
    assert list(classify_trajectory(gam, rho)) == ["trivial", "noise-explosive", "noise-explosive", "explosive"]
    gam, rho, _ = I.iterate_maps("relu", "relu", 4.2, 1.0, 1500, init=(1.0, 1e-4))
    assert list(classify_trajectory(gam, rho)) == ["explosive"]
    tr = I.transitions("relu", "relu", 1.0)
    assert tr.rho == pytest.approx(2.0, abs=1e-9)
    assert tr.gamma == pytest.approx([4.0], abs=1e-6)


@pytest.mark.parametrize("enc, dec, t2, beta0", [
    ("tanh", "relu", 1.2, None),  # 2 / E tanh'(taubar z)
    ("tanh", "tanh", 1.2, 3.3927),
    ("tanh", "tanh", 0.0259, 1.0516),
    ("relu", "tanh", 0.2, 4.6097),
])
def test_gamma_and_rho_transitions(enc, dec, t2, beta0):
    tr = I.transitions(enc, dec, t2)
    assert tr.rho == pytest.approx(2.0 if dec == "relu" else 1.0, rel=1e-9)  # 1 / phi'(0)^2, or 2 for ReLU
    if beta0 is None:
        beta0 = 2.0 / float(expect_1d(lambda x: 1 - np.tanh(x) ** 2, 0.0, t2, n=200))
        assert tr.gamma[0] == pytest.approx(beta0, rel=1e-8)
    else:
        assert tr.gamma[0] == pytest.approx(beta0, abs=2e-4)


def test_fixed_points_and_stability():
    # App. B setting: tanh everywhere, beta = 2.312 at taubar^2 = 1.2: the stable point is (0, 0.3623)
    fps = I.fixed_points("tanh", "tanh", 2.312, 1.2)
    kinds = {fp.kind: fp for fp in fps}
    assert not kinds["trivial"].stable
    noise = kinds["noise"]
    assert noise.stable and noise.rho == pytest.approx(0.36230, abs=1e-5)
    # the noise point is where R(0, rho) = rho
    assert float(smoothed("tanh", 0.0, np.sqrt(2.312 * noise.rho))[1]) == pytest.approx(noise.rho, rel=1e-9)
    # above beta_0 a stable signal point appears (gamma > 0), found by Newton from the recursion
    fps = I.fixed_points("tanh", "tanh", 4.5, 1.2)
    signal = [fp for fp in fps if fp.kind == "signal"]
    assert signal and signal[0].stable and signal[0].gamma > 0.01
    g, r = I.decoder_maps("tanh", "tanh", 4.5, 1.2, signal[0].gamma, signal[0].rho)
    assert (float(g), float(r)) == pytest.approx((signal[0].gamma, signal[0].rho), rel=1e-9)


def test_convergence_in_depth_is_exponential():
    # Fig. 1's claim: gamma_2 and rho_2 approach the infinite-depth values exponentially in L
    gam, rho, _ = I.iterate_maps("tanh", "tanh", 2.312, 1.2, 80)
    err = np.abs(rho[0] - 0.3622988)
    slope = np.polyfit(np.arange(20, 60), np.log(err[20:60]), 1)[0]
    assert slope < -0.05
    assert err[-1] < 1e-3 * err[5]


TABLE1 = [  # No., phi, sigma, sigma_W^2, sigma_b^2, the paper's class
    (1, "relu", "relu", 2.0, 0.0, "trainable"), (2, "relu", "relu", 1.0, 0.1, "slowed"),
    (3, "relu", "relu", 2.5, 0.0, "infinities"), (4, "relu", "tanh", 2.0, 0.0, "trainable"),
    (5, "relu", "tanh", 1.05, 2.01e-5, "slowed"), (6, "relu", "tanh", 2.505, 0.3, "infinities"),
    (7, "tanh", "tanh", 1.05, 2.01e-5, "trainable"), (8, "tanh", "tanh", 0.5, 0.0136, "slowed"),
    (9, "tanh", "tanh", 2.312, 0.211, "trainable"), (10, "tanh", "tanh", 0.5, 0.986, "slowed"),
    (11, "tanh", "tanh", 1.0, 0.771, "trainable"), (12, "tanh", "relu", 2.0, 0.0, "trainable"),
    (13, "tanh", "relu", 1.0, 0.1, "trainable"), (14, "tanh", "relu", 0.5, 0.15, "slowed"),
]


def test_table1_classification_from_the_theory():
    for pair in {(phi, sig) for _, phi, sig, *_ in TABLE1}:
        rows = [r for r in TABLE1 if (r[1], r[2]) == pair]
        got = classify_schemes(pair[1], pair[0], [r[3] for r in rows], [r[4] for r in rows], bottleneck="relu")
        assert got == [r[5] for r in rows], pair
    # the finite taubar^2 listed in the table are the fixed points of T
    res = setting_phase("tanh", "tanh", [1.05, 0.5, 2.312, 0.5, 1.0], [2.01e-5, 0.0136, 0.211, 0.986, 0.771])
    np.testing.assert_allclose(res.tau_bar_sq, [0.0259, 0.0259, 1.2, 1.2, 1.2], atol=2e-3)  # sigma_b^2 to 3 digits


def test_classify_scheme_single_and_infinite_forward():
    assert classify_scheme("relu", "relu", 2.5, 0.0) == "infinities"
    res = setting_phase("relu", "relu", 2.5, 0.0)
    assert res.phase[()] == "infinite" and np.isinf(res.tau_bar_sq)
