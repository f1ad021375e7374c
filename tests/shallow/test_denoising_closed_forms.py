"""Denoising autoencoders: the population error with noise and a skip against Monte Carlo (the gap
shrinking like 1/sqrt(n)), and the truncated Wiener filter against a direct minimisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from aelab.activations import get_activation
from aelab.data.synthetic import Covariance, spiked_covariance
from aelab.shallow.denoising import denoising_pmse, wiener_optimum
from aelab.shallow.state import order_parameters, state_from_weights


def _monte_carlo(W, V, b, s, cov, act, noise, tied, n, rng):
    D = cov.D
    std = cov.eigenbasis_std()
    errs = []
    for _ in range(n // 5000):
        x = rng.standard_normal((5000, D)) * std
        xt = x + np.sqrt(noise) * rng.standard_normal((5000, D))
        lam = xt @ V.T / D + b if tied else xt @ W.T / np.sqrt(D) + b
        xhat = s * xt + act.f(lam) @ V
        errs.append(np.sum((x - xhat) ** 2, axis=1) / D)
    e = np.concatenate(errs)
    return e.mean(), e.std(ddof=1) / np.sqrt(e.size)


@pytest.mark.parametrize("act_name,tied,bias", [("erf", False, False), ("relu", False, True), ("tanh", True, True),
                                                 ("linear", False, False)])
def test_pmse_with_noise_and_skip_matches_monte_carlo(act_name, tied, bias):
    rng = np.random.default_rng(3)
    D, K = 40, 3
    cov = spiked_covariance(D, [0.6, 0.25], bulk=0.3)
    act = get_activation(act_name)
    W = rng.standard_normal((K, D)) * 0.8
    V = rng.standard_normal((K, D)) * (3.0 if tied else 0.5)
    if tied:
        W = V.copy()
    b = rng.normal(size=K) * 0.3 if bias else np.zeros(K)
    noise, s = 0.5, 0.3
    state = state_from_weights(W, V, b, cov, tied=tied)
    exact = denoising_pmse(state, cov, act, noise=noise, skip=s)
    for n in (20_000, 320_000):
        mean, sem = _monte_carlo(W, V, b, s, cov, act, noise, tied, n, rng)
        assert abs(mean - exact) < 4.5 * sem, (n, mean, exact, sem)  # sem shrinks 4x: a wrong formula fails


def test_no_noise_and_no_skip_is_the_autoencoder_error():
    rng = np.random.default_rng(1)
    cov = spiked_covariance(30, [0.9, 0.2], bulk=0.1)
    W, V, b = rng.normal(size=(2, 30)), rng.normal(size=(2, 30)), rng.normal(size=2)
    for act_name in ("erf", "relu", "sigmoid"):
        act = get_activation(act_name)
        state = state_from_weights(W, V, b, cov, tied=False)
        assert denoising_pmse(state, cov, act, noise=0.0, skip=0.0) == pytest.approx(
            order_parameters(state, cov, act).pmse, rel=1e-13, abs=1e-15)


def _linear_error(params, rho, noise, K, skip):
    """E||x - M x_tilde||^2 / D for M = s I + U diag(.) ... of rank K, directly in matrix form."""
    D = rho.size
    U = params[: K * D].reshape(D, K)
    Vt = params[K * D: 2 * K * D].reshape(K, D)
    s = params[-1] if skip else 0.0
    M = s * np.eye(D) + U @ Vt
    R = np.eye(D) - M
    return float((np.sum(R * R * rho[None, :]) + noise * np.sum(M * M)) / D)


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("spectrum,noise", [([5.0, 3.0, 1.0, 0.6, 0.2, 0.05], 0.4),
                                             ([2.0, 1.9, 1.8, 1.7, 1.6, 0.1], 2.0),
                                             ([9.0, 0.3, 0.3, 0.3, 0.3, 0.3], 1.0)])
def test_the_truncated_wiener_filter_is_the_best_linear_denoiser(spectrum, noise, skip):
    rho = np.asarray(spectrum)
    cov = Covariance(D=rho.size, eigenvalues=rho, bulk=0.0)
    K = 2
    closed = wiener_optimum(cov, K, noise, skip=skip)
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(12):
        x0 = rng.normal(size=2 * K * rho.size + 1) * 0.5
        res = minimize(_linear_error, x0, args=(rho, noise, K, skip), method="BFGS", options={"gtol": 1e-10})
        best = min(best, res.fun)
    assert closed.pmse == pytest.approx(best, rel=1e-6, abs=1e-9)
    assert closed.pmse == pytest.approx(float(np.sum(rho - 2 * closed.gains * rho
                                                     + closed.gains ** 2 * (rho + noise)) / rho.size))
    if not skip:
        assert closed.skip == 0.0 and closed.directions == (0, 1)


def test_wiener_limits():
    cov = spiked_covariance(50, [0.8, 0.1], bulk=0.2)
    rho = cov.spectrum()
    none = wiener_optimum(cov, 2, 0.0, skip=False)
    assert none.pmse == pytest.approx(cov.pca_error(2))  # no noise: PCA
    assert wiener_optimum(cov, 2, 0.0, skip=True).pmse == pytest.approx(0.0, abs=1e-15)  # the identity
    big = wiener_optimum(cov, 2, 1e9, skip=True)
    assert big.pmse == pytest.approx(rho.sum() / rho.size, rel=1e-6)  # all noise: output nothing
    # the skip helps on the bulk: with it the error is below the rank-K Wiener filter's
    assert wiener_optimum(cov, 2, 0.5, skip=True).pmse < wiener_optimum(cov, 2, 0.5, skip=False).pmse


@pytest.mark.parametrize("tied", [False, True])
def test_the_error_on_given_noisy_rows_is_the_direct_sum(tied):
    from aelab.shallow.sources import image_error

    rng = np.random.default_rng(8)
    D, K, n = 30, 3, 400
    X = rng.normal(size=(n, D))
    Xt = X + 0.7 * rng.normal(size=(n, D))
    W, V, b, s = rng.normal(size=(K, D)), rng.normal(size=(K, D)), rng.normal(size=K), 0.35
    act = get_activation("tanh")
    lam = Xt @ V.T / D + b if tied else Xt @ W.T / np.sqrt(D) + b
    direct = np.mean(np.sum((X - s * Xt - act.f(lam) @ V) ** 2, axis=1)) / D
    assert image_error(W, V, b, X, act, tied=tied, inputs=Xt, skip=s) == pytest.approx(direct, rel=1e-12)
