"""ReLU needs a trained bias: the floor without it (half of each principal direction's variance), in
theory and SGD, and its removal by a trained bias when the network has a unit to spare."""

import numpy as np
import pytest

from aelab.config import load_config
from aelab.shallow.config import ShallowConfig
from aelab.shallow.ode import integrate
from aelab.shallow.relu_bias import (bias_free_floor, bulk_error, direction_errors, relu_variance_ratio,
                                     residual_fractions)
from aelab.shallow.simulation import simulate
from aelab.shallow.state import State, order_parameters
from aelab.shallow.theory import initial_state, ode_system


def cfg(K, spikes, bias, *, D=300, time=60.0, seeds=(0,), bulk=0.01):
    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": spikes, "bulk": bulk},
        "model": {"K": K, "activation": "relu", "bias": bias, "init_std": 0.1},
        "train": {"lr": 1.0, "time": time, "seeds": list(seeds)},
        "output": {"points": 8, "pcs": 2},
    })


def test_a_lone_relu_unit_recovers_at_most_half_the_variance():
    mu = np.linspace(-4, 4, 801)
    r = relu_variance_ratio(mu)
    assert r[400] == pytest.approx(0.5, abs=1e-15)
    assert np.all(r <= 0.5 + 1e-15) and np.argmax(r) == 400
    # Monte Carlo of E[z relu(z + mu)]^2 / E[relu(z + mu)^2]
    z = np.random.default_rng(0).standard_normal(2_000_000)
    for m in (-1.0, 0.7):
        g = np.maximum(z + m, 0.0)
        assert relu_variance_ratio(m) == pytest.approx(np.mean(z * g) ** 2 / np.mean(g * g), rel=5e-3)


def test_direction_errors_add_up_to_the_population_error():
    c = cfg(3, [1.0, 0.5], True, bulk=0.2)
    system = ode_system(c)
    s = initial_state(c)
    rng = np.random.default_rng(1)
    s = State(A=s.A + rng.normal(size=s.A.shape), B=s.B + rng.normal(size=s.B.shape), S=s.S,
              bias=rng.normal(size=3) * 0.3)
    total = order_parameters(s, system.cov, system.act).pmse
    parts = direction_errors(s, system.cov, system.act).sum() + bulk_error(s, system.cov, system.act)
    assert parts == pytest.approx(total, rel=1e-12)
    assert bulk_error(s, system.cov, system.act) > 0.1  # the bulk is not negligible here: the check has teeth


@pytest.mark.parametrize("bias", [False, True])
def test_lone_unit_floor_in_theory_and_sgd(bias):
    """One unit, one spike: pmse -> PCA error + rho/(2D) with or without a bias; half the PC is left."""
    c = cfg(1, [1.0], bias, seeds=(0, 1))
    system = ode_system(c)
    floor = bias_free_floor(system.cov, 1)
    assert floor == pytest.approx(system.cov.pca_error(1) + 0.5 * system.cov.eigenvalues[0] / 300)
    final = integrate(system, initial_state(c), np.array([0.0, 300.0]))[-1]
    assert order_parameters(final, system.cov, system.act).pmse == pytest.approx(floor, rel=1e-3)
    assert residual_fractions(final, system.cov, system.act)[0] == pytest.approx(0.5, abs=1e-3)
    sim, _, _ = simulate(c, np.array([0.0, 60.0]))
    assert sim["pmse"].iloc[-1] == pytest.approx(floor, rel=0.01)


def test_a_spare_unit_and_a_trained_bias_remove_the_floor():
    """Two spikes, three units: without a bias the error stays far above PCA (theory and SGD); with a
    trained bias it goes to the PCA error and both directions are fully reconstructed."""
    finals = {}
    for bias in (False, True):
        c = cfg(3, [1.0, 0.5], bias, seeds=(0, 1), time=100.0)
        system = ode_system(c)
        pca = system.cov.pca_error(2)
        end = integrate(system, initial_state(c), np.array([0.0, 1000.0]))[-1]
        th = order_parameters(end, system.cov, system.act).pmse
        sim, _, _ = simulate(c, np.array([0.0, 100.0]))
        finals[bias] = (th, float(sim["pmse"].iloc[-1]), residual_fractions(end, system.cov, system.act))
    th0, sgd0, res0 = finals[False]
    th1, sgd1, res1 = finals[True]
    assert th0 > pca + 0.15 and sgd0 > pca + 0.15
    assert res0.max() > 0.3
    assert th1 < pca * 1.1 and sgd1 < pca * 1.3
    assert res1.max() < 0.01
