"""Oracles for the shallow-autoencoder ODE: PCA limits, symmetries, exact population error, SGD at growing D."""

import numpy as np
import pandas as pd
import pytest

from aelab.activations import get_activation
from aelab.config import load_config
from aelab.shallow.config import ShallowConfig
from aelab.shallow.ode import integrate
from aelab.shallow.simulation import initial_weights, simulate
from aelab.shallow.state import order_parameters, state_from_weights
from aelab.shallow.theory import initial_state, ode_system, run_theory


def cfg(**sections) -> ShallowConfig:
    return load_config(ShallowConfig, sections)


def test_population_error_equals_monte_carlo():
    """pmse from the order parameters = E||x - x_hat||^2/D estimated on samples, for given weights."""
    for act_name, tied, bias in (("erf", False, 0.0), ("relu", False, 0.3), ("tanh", True, -0.2)):
        c = cfg(data={"D": 200, "spikes": [0.5, 0.2], "bulk": 0.3, "directions": "random"},
                model={"K": 3, "activation": act_name, "tied": tied, "init_std": 0.7})
        rng = np.random.default_rng(1)
        cov = c.data.covariance()
        K, D = 3, 200
        W = rng.standard_normal((K, D)) * 0.7
        V = rng.standard_normal((K, D)) * 0.7 * (np.sqrt(D) if not tied else 1.0) / 3
        b = np.full(K, bias)
        act = get_activation(act_name)
        op = order_parameters(state_from_weights(W, V, b, cov, tied=tied), cov, act)
        x = rng.standard_normal((100_000, D)) * cov.eigenbasis_std()
        lam = (x @ V.T) / D + b if tied else (x @ W.T) / np.sqrt(D) + b
        err = np.sum((x - act.f(lam) @ V) ** 2, axis=1) / D
        assert abs(op.pmse - err.mean()) < 4 * err.std() / np.sqrt(err.size), act_name


@pytest.mark.parametrize("tied", [False, True])
def test_linear_autoencoder_converges_to_pca(tied):
    """Linear AE: the ODE reaches the PCA error of rank K and the decoder spans the top-K subspace.

    The encoder's bulk component is frozen on times t << D and adds init_std^2 * bulk of error,
    so the initial weights are small here.
    """
    c = cfg(data={"D": 400, "spikes": [0.5, 0.3, 0.1], "bulk": 0.1},
            model={"K": 2, "activation": "linear", "tied": tied, "init_std": 1e-4},
            train={"lr": 1.0, "time": 400.0, "seeds": [0]})
    system = ode_system(c)
    states = integrate(system, initial_state(c), np.array([0.0, 400.0]))
    cov = system.cov
    op = order_parameters(states[-1], cov, system.act)
    assert op.pmse == pytest.approx(cov.pca_error(2), abs=1e-7)
    B = states[-1].B
    # the decoder has no weight on the third spike nor on the bulk
    assert np.abs(B[2]).max() < 1e-4
    assert np.abs(states[-1].S[2:, 2:]).max() < 1e-6
    # initial error is tr(Omega)/D minus what random initial weights already reconstruct
    assert op.pmse < cov.pca_error(1)


def test_learning_rate_only_rescales_time():
    base = {"data": {"D": 300}, "model": {"K": 2, "activation": "erf"}, "train": {"time": 20.0, "seeds": [0]}}
    c1 = cfg(**base)
    c2 = cfg(**{**base, "train": {"time": 20.0, "seeds": [0], "lr": 0.25}})
    s0 = initial_state(c1)
    t = np.linspace(0, 20, 11)
    a = integrate(ode_system(c1), s0, t)
    b = integrate(ode_system(c2), s0, t / 0.25)
    for sa, sb in zip(a, b):
        np.testing.assert_allclose(sa.A, sb.A, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(sa.B, sb.B, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("act", ["erf", "relu", "tanh", "linear"])
def test_error_never_increases_along_the_ode(act):
    """Without weight decay the ODE is a (preconditioned) gradient flow of the population error."""
    c = cfg(data={"D": 500}, model={"K": 3, "activation": act, "bias": act == "relu"},
            train={"time": 60.0, "seeds": [0]}, output={"points": 80})
    table, _ = run_theory(c, c.time_grid())
    assert np.all(np.diff(table["pmse"].to_numpy()) <= 1e-9)


def test_ode_is_permutation_equivariant():
    c = cfg(data={"D": 300}, model={"K": 3, "activation": "erf"}, train={"seeds": [0]})
    system = ode_system(c)
    s = initial_state(c)
    perm = np.array([2, 0, 1])
    pidx = np.concatenate([perm, perm + 3])
    from aelab.shallow.state import State

    sp = State(A=s.A[:, perm], B=s.B[:, perm], S=s.S[np.ix_(pidx, pidx)], bias=s.bias[perm])
    d, dp = system.derivative(s), system.derivative(sp)
    np.testing.assert_allclose(dp.A, d.A[:, perm], atol=1e-14)
    np.testing.assert_allclose(dp.S, d.S[np.ix_(pidx, pidx)], atol=1e-14)


def test_initial_condition_matches_the_simulation():
    c = cfg(data={"D": 300}, train={"seeds": [3], "time": 1.0})
    th, _ = run_theory(c, np.array([0.0]))
    W, V, b = initial_weights(c, 3)
    op = order_parameters(state_from_weights(W, V, b, c.data.covariance(), tied=False), c.data.covariance(),
                          get_activation("erf"))
    assert th["pmse"].iloc[0] == pytest.approx(op.pmse, rel=1e-12)


def _gap(D: int, seeds: int, activation: str = "erf", **model) -> float:
    c = cfg(data={"D": D, "spikes": [0.6, 0.3], "bulk": 0.1},
            model={"K": 2, "activation": activation, **model},
            train={"lr": 1.0, "time": 8.0, "seeds": list(range(seeds))},
            output={"points": 9, "spacing": "linear", "pcs": 2})
    times = c.time_grid()
    th, _ = run_theory(c, times)
    sim, _, _ = simulate(c, times)
    cols = ["pmse"] + [k for k in th.columns if k.startswith(("Q_", "R_", "T0_"))]
    return float(np.sqrt(np.mean((sim[cols].to_numpy() - th[cols].to_numpy()) ** 2)))


def test_ode_matches_sgd_better_as_D_grows():
    """Averaged SGD from one initial point approaches the ODE; the gap shrinks like D^(-1/2)."""
    gaps = {D: _gap(D, seeds=6) for D in (250, 1000, 4000)}
    assert gaps[1000] < gaps[250]
    assert gaps[4000] < 0.5 * gaps[250]
    assert gaps[4000] < 0.02


@pytest.mark.parametrize("model", [{"tied": True, "activation": "erf", "init_std": 1.0},
                                   {"bias": True, "activation": "relu"},
                                   {"activation": "tanh"}])
def test_ode_matches_sgd_tied_bias_and_quadrature_activations(model):
    """Tied weights (full gradient), trained ReLU biases and an activation integrated by quadrature."""
    act = model.pop("activation")
    assert _gap(2000, seeds=4, activation=act, **model) < 0.03


def test_truncated_rule_ode_matches_sgd():
    c = cfg(data={"D": 2000, "spikes": [0.6, 0.3], "bulk": 0.1}, model={"K": 2, "activation": "linear"},
            train={"time": 30.0, "seeds": [0, 1, 2], "rule": "truncated"}, output={"points": 7, "spacing": "linear"})
    times = c.time_grid()
    th, _ = run_theory(c, times)
    sim, _, _ = simulate(c, times)
    np.testing.assert_allclose(sim["pmse"], th["pmse"], atol=0.02)
    # unit k converges to the k-th principal direction itself
    final = th.iloc[-1]
    assert abs(final["overlap_v1_pc1"]) > 0.9 and abs(final["overlap_v1_pc2"]) < 0.05
    assert abs(final["overlap_v2_pc2"]) > 0.9 and abs(final["overlap_v2_pc1"]) < 0.05


def test_theory_average_over_initial_points():
    c = cfg(data={"D": 300}, train={"seeds": [0, 1], "time": 5.0, "shared_init": False}, output={"points": 4})
    t = c.time_grid()
    both, _ = run_theory(c, t)
    one, _ = run_theory(c, t, state0=initial_state(c, 0))
    two, _ = run_theory(c, t, state0=initial_state(c, 1))
    pd.testing.assert_frame_equal(both, (one + two) / 2)


def test_densities_sum_to_the_order_parameters():
    """Q = (1/D) sum rho q_tau + bulk, R likewise, T0 = sum t_tau + bulk (Refinetti & Goldt, sec. 2)."""
    c = cfg(data={"D": 300, "spikes": [0.5, 0.2, 0.1], "bulk": 0.2}, model={"K": 3}, train={"seeds": [0]})
    s = initial_state(c)
    cov = c.data.covariance()
    q, r, t = s.densities()
    op = order_parameters(s, cov, get_activation("erf"))
    w = cov.eigenvalues[:, None, None] / cov.D
    np.testing.assert_allclose(op.Q, (w * q).sum(0) + cov.bulk / cov.D * s.S[:3, :3], rtol=1e-12)
    np.testing.assert_allclose(op.R, (w * r).sum(0) + cov.bulk / cov.D * s.S[3:, :3], rtol=1e-12)
    np.testing.assert_allclose(op.T0, t.sum(0) + s.S[3:, 3:], rtol=1e-12)
    # rank one per direction: r^{kl} r^{lk} = q^{kl} t^{kl}
    np.testing.assert_allclose(r * r.transpose(0, 2, 1), q * t, rtol=1e-10, atol=1e-300)
