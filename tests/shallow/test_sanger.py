"""Exact principal components: Sanger's rule (kernel, ODE, SGD) and truncated SGD converge to the
identity overlap matrix (up to signs, no permutation); vanilla SGD only to the span."""

import numpy as np
import pytest

from aelab.config import load_config
from aelab.data.synthetic import spiked_covariance
from aelab.errors import ConfigError
from aelab.shallow.config import ShallowConfig
from aelab.shallow.ode import integrate
from aelab.shallow.sanger import SangerSystem, identity_distance, overlap_matrix, sanger_steps, sanger_steps_numpy
from aelab.shallow.simulation import simulate
from aelab.shallow.state import State, order_parameters, state_from_weights
from aelab.shallow.theory import run_theory

SPIKES = [1.0, 0.5, 0.25]


def test_kernel_equals_the_numpy_reference():
    rng = np.random.default_rng(0)
    D, K = 64, 3
    V = rng.normal(size=(K, D))
    Z = rng.normal(size=(40, D))
    std = rng.uniform(0.5, 2.0, size=D)
    a, b = V.copy(), V.copy()
    sanger_steps(a, Z, std, lr=0.7)
    sanger_steps_numpy(b, Z, std, lr=0.7)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_principal_components_are_a_fixed_point_of_the_ode():
    cov = spiked_covariance(100, SPIKES, 0.1)
    system = SangerSystem(cov=cov, lr=1.0, K=3)
    B = np.zeros((3, 3))
    B[np.arange(3), np.arange(3)] = [1.0, -1.0, 1.0]
    state = State(A=B, B=B, S=np.zeros((6, 6)), bias=np.zeros(3))
    d = system.derivative(state)
    np.testing.assert_allclose(d.B, 0.0, atol=1e-14)
    # ... and the network there is the PCA projector
    assert order_parameters(state, cov, system.act).pmse == pytest.approx(cov.pca_error(3), abs=1e-12)


def test_sanger_ode_matches_sgd_and_reaches_the_identity():
    D, K = 1000, 3
    cov = spiked_covariance(D, SPIKES, 0.05)
    rng = np.random.default_rng(3)
    V0 = 0.1 * rng.standard_normal((K, D))
    system = SangerSystem(cov=cov, lr=1.0, K=K)
    times = np.array([0.0, 10.0, 20.0, 40.0, 60.0])
    states = integrate(system, state_from_weights(V0, V0, np.zeros(K), cov, tied=True), times)
    std = cov.eigenbasis_std()
    errs, V, done = [], V0.copy(), 0
    for t, s in zip(times, states):
        n = int(t * D) - done
        if n:
            sanger_steps(V, rng.standard_normal((n, D)).astype(np.float32), std, lr=1.0)
            done += n
        sgd_state = state_from_weights(V, V, np.zeros(K), cov, tied=True)
        errs.append((order_parameters(s, cov, system.act).pmse, order_parameters(sgd_state, cov, system.act).pmse))
    errs = np.array(errs)
    np.testing.assert_allclose(errs[:, 1], errs[:, 0], rtol=0.06)
    assert identity_distance(overlap_matrix(states[-1])) < 1e-3
    assert identity_distance(overlap_matrix(sgd_state)) < 0.1


def _final_overlaps(act, rule, D=600, seeds=(0, 1)):
    c = load_config(ShallowConfig, {
        "data": {"D": D, "spikes": SPIKES, "bulk": 0.05},
        "model": {"K": 3, "activation": act, "init_std": 0.1},
        "train": {"lr": 1.0, "time": 80.0, "seeds": list(seeds), "rule": rule},
        "output": {"points": 3, "spacing": "linear", "pcs": 3},
    })
    times = c.time_grid()
    th, _ = run_theory(c, times)
    _, frames, _ = simulate(c, times)

    def O(row):
        return np.array([[abs(row[f"overlap_v{k}_pc{m}"]) / np.sqrt(row[f"T0_{k}_{k}"]) for m in (1, 2, 3)]
                         for k in (1, 2, 3)])

    return O(th.iloc[-1]), [O(f.iloc[-1]) for f in frames]


@pytest.mark.parametrize("act", ["linear", "erf"])
def test_truncated_sgd_learns_each_principal_component_vanilla_only_the_span(act):
    O_th, O_sgd = _final_overlaps(act, "truncated")
    assert identity_distance(O_th) < 0.02
    for O in O_sgd:  # every seed, unit k on PC k itself: no permutation, signs aside
        assert identity_distance(O) < 0.1
    V_th, V_sgd = _final_overlaps(act, "vanilla")
    assert identity_distance(V_th) > 0.3
    assert all(identity_distance(O) > 0.3 for O in V_sgd)


def test_a_tied_linear_truncated_config_runs_sangers_rule():
    c = load_config(ShallowConfig, {"data": {"D": 400, "spikes": SPIKES, "bulk": 0.05},
                                    "model": {"K": 3, "activation": "linear", "tied": True},
                                    "train": {"time": 60.0, "seeds": [0], "rule": "truncated"},
                                    "output": {"points": 3, "spacing": "linear", "pcs": 3}})
    assert c.sanger_rule
    times = c.time_grid()
    th, _ = run_theory(c, times)
    sim, _, _ = simulate(c, times)
    assert sim["pmse"].iloc[-1] == pytest.approx(th["pmse"].iloc[-1], rel=0.06)
    assert th["pmse"].iloc[-1] == pytest.approx(c.data.covariance().pca_error(3), rel=1e-6)
    for k in (1, 2, 3):
        assert abs(th[f"overlap_v{k}_pc{k}"].iloc[-1]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("extra", [{"model.activation": "erf"}, {"model.bias": True}, {"train.weight_decay": 0.1}])
def test_truncated_tied_without_a_defined_rule_is_a_config_error(extra):
    overrides = ["model.tied=true", "train.rule=truncated", "model.activation=linear"]
    overrides += [f"{k}={v}" for k, v in extra.items()]
    with pytest.raises(ConfigError, match=r"train\.rule"):
        load_config(ShallowConfig, None, overrides)
