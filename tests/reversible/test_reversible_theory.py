"""The exact error theory against simulation of the model, at growing sizes.

Single-layer formulas are exact for every size, so simulation must agree within a few standard
errors, and the standard errors shrink as the sizes grow. The multi-layer state evolution is
exact in the wide limit: there the allowed discrepancy is a few standard errors plus A/n.
"""

from __future__ import annotations

import numpy as np
import pytest

from aelab.reversible import theory
from aelab.reversible.codes import draw_codes, get_law
from aelab.reversible.config import NetSpec
from aelab.reversible.model import draw_network, generate
from aelab.reversible.simulate import simulate

Z = 4.5  # allowed standard errors


def _wtx_given_h(h, n, rho, draws, rng):
    """Samples of W^T x for a fixed h, a fresh W and mask per draw (m small)."""
    m = h.size
    w = rng.standard_normal((draws, n, m))
    x = np.maximum(2.0 / (rho * n) * (w @ h), 0.0) * (rng.random((draws, n)) < rho)
    return np.einsum("dnm,dn->dm", w, x), x


@pytest.mark.parametrize("n,rho", [(8, 1.0), (60, 0.5)])
def test_conditional_moments_by_steins_lemma(n, rho, rng):
    h = np.array([1.5, 0.0, 1.0, 0.0, 2.0])
    draws = 40_000
    y, _ = _wtx_given_h(h, n, rho, draws, rng)
    mean, cov = theory.conditional_moments(h, n, rho)
    sem = y.std(0) / np.sqrt(draws)
    assert np.all(np.abs(y.mean(0) - mean) < Z * sem)
    emp = np.cov(y.T)
    # Standard error of a covariance entry: sqrt(Var((y_i - mu_i)(y_j - mu_j)) / draws).
    prod = (y - y.mean(0))[:, :, None] * (y - y.mean(0))[:, None, :]
    cov_sem = prod.std(0) / np.sqrt(draws)
    assert np.all(np.abs(emp - cov) < Z * cov_sem + 1e-12)


def test_exact_representation_off_support_is_gaussian_even_for_tiny_n(rng):
    # Off the support (W^T x)_i / ||x|| ~ N(0, 1) exactly, and c = ||x||^2/(alpha H^2) has the law of
    # alpha chi^2_N: check variance, kurtosis and the moments of c at n = 4 (no asymptotics).
    h = np.array([1.0, 2.0, 0.0, 0.0])
    n, rho = 4, 0.8
    y, x = _wtx_given_h(h, n, rho, 200_000, rng)
    norm = np.linalg.norm(x, axis=1)
    keep = norm > 0
    t = y[keep][:, 2:] / norm[keep, None]
    assert t.var() == pytest.approx(1.0, abs=0.01)
    assert np.mean(t**4) == pytest.approx(3.0, abs=0.06)
    alpha = 2.0 / (rho * n)
    c_emp = norm**2 / (alpha * (h @ h))
    c, w = theory.scale_rule(n, rho)
    assert c_emp.mean() == pytest.approx(w @ c, abs=0.01)
    assert c_emp.var() == pytest.approx(w @ (c - 1) ** 2, rel=0.03)


@pytest.mark.parametrize("n,m,rho", [(20, 5, 1.0), (200, 50, 0.5), (1600, 200, 0.8)])
def test_linear_error_exact_at_every_size(n, m, rho, rng):
    spec = NetSpec(widths=(n, m), sparsity=3, keep_prob=rho, relu=False)
    sim = simulate(spec, trials=1500, rng=rng, per_matrix=30)
    expected = theory.linear_error(m, n, rho)
    assert abs(sim.mean() - expected) < Z * sim.sem()
    assert theory.predict(spec).relative_error == pytest.approx(expected, rel=1e-6)


CASES = [
    dict(threshold=0.0),  # (b) ReLU, b = 0
    dict(threshold=1.8),  # (c) ReLU, b = -tau ||x||
    dict(threshold=1.0, nonzero="exponential", keep_prob=0.6),
    pytest.param(dict(threshold=2.5, nonzero="constant"), marks=pytest.mark.slow),
    pytest.param(dict(bias=-0.05, keep_prob=0.7), marks=pytest.mark.slow),  # a fixed bias
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_error_given_codes_against_simulation_at_growing_size(case, rng):
    sems = []
    for n, m, k in [(150, 40, 3), (600, 120, 6), (2400, 240, 12)]:
        spec = NetSpec(widths=(n, m), sparsity=k, **case)
        sim = simulate(spec, trials=600, rng=rng, per_matrix=20)
        given = theory.error_given_codes(sim.values, spec)["relative_error"]
        diff = sim.relative_error - given
        sem = sim.sem()
        assert abs(diff.mean()) < Z * sem, (n, diff.mean(), sem)
        assert abs(sim.mean() - theory.predict(spec).relative_error) < Z * sem
        sems.append(sem / given.mean())
    assert sems[-1] < sems[0]  # the relative tolerance shrinks with the size


@pytest.mark.parametrize("law", ["uniform", "exponential", "constant"])
@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_population_average_equals_average_of_conditional(law, k):
    # predict() integrates the law of the code by quadrature; compare with a large sample of codes.
    rng = np.random.default_rng(k)
    spec = NetSpec(widths=(400, 100), sparsity=k, keep_prob=0.5, threshold=1.5, nonzero=law)
    values = get_law(law).sample(rng, (200_000 // k, k))
    given = theory.error_given_codes(values, spec)
    pred = theory.predict(spec)
    for name in ("relative_error", "false_positives", "misses"):
        sample = given[name]
        sem = sample.std() / np.sqrt(sample.size)
        assert abs(sample.mean() - getattr(pred, name)) < Z * sem + 2e-4 * abs(sample.mean()) + 1e-12, name


def test_exact_support_probability_against_simulation(rng):
    for law, n, k in [("uniform", 150, 4), ("uniform", 400, 4), ("exponential", 300, 2), ("constant", 200, 4)]:
        spec = NetSpec(widths=(n, 100), sparsity=k, nonzero=law)
        spec = spec.with_threshold(theory.support_threshold(spec))
        sim = simulate(spec, trials=1500, rng=rng, per_matrix=30)
        p = theory.predict(spec).exact_support
        assert 0.02 < p < 0.999
        assert abs(sim.mean("exact_support") - p) < Z * max(sim.sem("exact_support"), 0.005), (law, n, k)


def test_support_units_are_negatively_correlated(rng):
    # The support noise is orthogonal to h: treating the k units as independent overestimates P(all fire).
    # The marginal miss probabilities are exact; their product is not P(no miss).
    spec = NetSpec(widths=(80, 100), sparsity=4, threshold=2.4)
    pred = theory.predict(spec)
    c, w = theory.scale_rule(80, 1.0)
    values = get_law("uniform").sample(rng, (20_000, 4))
    miss = theory._top_terms(values[:, None, :], np.sum(values**2, 1)[:, None], 96, c, spec.alpha(1) * c,
                             spec.threshold, 0.0, True)[2]
    independent = np.mean(np.prod(1.0 - miss, axis=-1) @ w)
    p_no_fp = float(np.exp(96 * np.log(1 - theory.ndtr(-2.4))))
    assert pred.exact_support < 0.9 * independent * p_no_fp
    sim = simulate(spec, trials=1000, rng=rng, per_matrix=20)
    assert abs(sim.mean("exact_support") - pred.exact_support) < Z * sim.sem("exact_support") + 0.01


MULTI = [((1000, 200, 25), 3, 1.0, True),
         pytest.param((1200, 400, 120, 25), 3, 1.5, True, marks=pytest.mark.slow),
         pytest.param((1000, 200, 25), 3, 0.0, False, marks=pytest.mark.slow)]


@pytest.mark.parametrize("widths,k,tau,relu", MULTI)
def test_multilayer_state_evolution_against_simulation(widths, k, tau, relu, rng):
    A = 5.0  # finite-width allowance: A / (smallest width below the top)
    for scale in (1, 3):
        spec = NetSpec(widths=tuple(w * scale for w in widths), sparsity=k * scale, threshold=tau, relu=relu)
        sim = simulate(spec, trials=240 // scale, rng=rng, per_matrix=8 // scale)
        pred = theory.predict(spec)
        errs, sems = sim.mean("layer_errors"), sim.sem("layer_errors")
        allowance = A / min(spec.widths[:-1])
        assert np.all(np.abs(errs - pred.layer_errors) < Z * sems + allowance), (scale, errs, pred.layer_errors)
        assert pred.relative_error == pytest.approx(pred.layer_errors[-1])


def test_state_evolution_reduces_to_one_layer_limit():
    # One layer: (c, sigma) = (1, ||x||) neglects the fluctuation of c, Var c = (6 - rho)/(rho n):
    # the gap to the exact formula is of order 1/(rho n).
    gaps = []
    for n in (2 * 10**4, 2 * 10**5):
        spec = NetSpec(widths=(n, 500), sparsity=5, threshold=2.0)
        states = theory.state_evolution(spec)
        assert len(states) == 1 and states[0].c == 1.0
        gaps.append(theory.predict(spec).relative_error - states[0].relative_error)
        assert 0 < gaps[-1] < 2 * 5.0 / n
    assert gaps[0] / gaps[1] == pytest.approx(10.0, rel=0.05)


def test_perfect_intermediate_recovery_keeps_c_at_one():
    # With huge ratios between widths the intermediate layer is recovered almost perfectly and the
    # state evolution carries c_l -> 1, sigma_l -> ||h^(l-1)||.
    spec = NetSpec(widths=(10**8, 10**4, 40), sparsity=4, threshold=0.0)
    states = theory.state_evolution(spec)
    assert states[0].relative_error < 0.01
    assert states[1].c == pytest.approx(1.0, abs=0.02)
    assert states[1].sigma == pytest.approx(states[0].norm, rel=0.01)


def test_optimal_threshold_and_high_snr_limit():
    spec = NetSpec(widths=(5000, 1000), sparsity=10)
    tau = theory.optimal_threshold(spec)
    best = theory.predict(spec.with_threshold(tau)).relative_error
    for shifted in (tau - 0.1, tau + 0.1):
        assert theory.predict(spec.with_threshold(shifted)).relative_error > best
    # High SNR: the error tends to (2/(rho n)) [(m - k) psi(tau) + k (1 + tau^2)] as rho n grows.
    gaps = []
    for n in (10**4, 10**5, 10**6):
        s = spec.model_copy(update={"widths": (n, 1000)}).with_threshold(2.5)
        exact = theory.predict(s).relative_error
        gaps.append(abs(exact / theory.high_snr_error(1000, 10, n, 1.0, 2.5) - 1.0))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01
    t_star = theory.high_snr_threshold(1000, 10)
    assert (1000 - 10) * theory.tail_first_moment(t_star) == pytest.approx(10 * t_star, rel=1e-8)
    n_big = spec.model_copy(update={"widths": (10**7, 1000)})
    assert theory.optimal_threshold(n_big) == pytest.approx(t_star, abs=0.02)


def test_support_recovery_onset_is_where_probability_crosses_half(rng):
    spec = NetSpec(widths=(1000, 100), sparsity=4)
    rho_n = theory.support_recovery_onset(spec)
    at = spec.model_copy(update={"widths": (int(round(rho_n)), 100)})
    at = at.with_threshold(theory.support_threshold(at))
    assert theory.predict(at).exact_support == pytest.approx(0.5, abs=0.01)
    sim = simulate(at, trials=1500, rng=rng, per_matrix=30)
    assert abs(sim.mean("exact_support") - 0.5) < Z * sim.sem("exact_support") + 0.01


@pytest.mark.slow
def test_support_recovery_onset_is_late_for_exponential_law():
    # The exponential law has non-zeros near 0: the onset is much later.
    spec = NetSpec(widths=(1000, 100), sparsity=4)
    expo = theory.support_recovery_onset(spec.model_copy(update={"nonzero": "exponential"}))
    assert expo > 5 * theory.support_recovery_onset(spec)


def test_predict_matches_given_codes_draws_on_average_with_generative_model(rng):
    # Draw codes, generate x through the model functions directly, check E||x||^2 = 2 H^2/(rho n).
    spec = NetSpec(widths=(300, 60), sparsity=4, keep_prob=0.5)
    net = draw_network(spec, rng, count=200)
    codes = draw_codes(rng, 60, 4, "uniform", (200, 10))
    x = generate(net, spec, codes, rng)[0]
    ratio = np.sum(x**2, -1) / np.sum(codes.values**2, -1)
    assert ratio.mean() == pytest.approx(2.0 / (0.5 * 300), rel=0.03)
