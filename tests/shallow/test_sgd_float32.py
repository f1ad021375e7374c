"""Single-precision SGD (float32 weights) against float64 SGD and the ODE: its error is far below the
finite-D fluctuations that separate SGD from the ODE."""

import numpy as np
import pytest

from aelab.activations import get_activation
from aelab.config import load_config
from aelab.shallow.config import ShallowConfig
from aelab.shallow.ode import integrate
from aelab.shallow.sgd import sgd_steps
from aelab.shallow.simulation import CHUNK, SAMPLE_DTYPE, initial_weights, sample_stream
from aelab.shallow.state import order_parameters, state_from_weights
from aelab.shallow.theory import initial_state, ode_system


@pytest.mark.parametrize("tied", [False, True])
def test_float32_sgd_tracks_float64_sgd_and_the_ode(tied):
    cfg = load_config(ShallowConfig, {"data": {"D": 1000, "spikes": [0.6, 0.3], "bulk": 0.1},
                                      "model": {"K": 2, "activation": "erf", "tied": tied},
                                      "train": {"lr": 1.0, "time": 20.0, "seeds": [0]}})
    cov, act, D = cfg.data.covariance(), get_activation("erf"), cfg.data.D
    W, V, b = initial_weights(cfg, 0)
    runs = {np.float64: [W.copy(), V.copy(), b.copy()], np.float32: [W.astype(np.float32), V.astype(np.float32),
                                                                     b.copy()]}
    std = cov.eigenbasis_std()
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    samples = sample_stream(0)
    for _ in range(int(cfg.train.time * D) // CHUNK):  # the same samples for both precisions
        Z = samples.fill(buf)
        for w in runs.values():
            sgd_steps(*w, Z, std, lr=1.0, act=act, tied=tied)
    assert runs[np.float32][1].dtype == np.float32

    def R(w):
        s = state_from_weights(w[0].astype(float), w[1].astype(float), w[2], cov, tied=tied)
        return order_parameters(s, cov, act).R

    system = ode_system(cfg)
    ode = integrate(system, initial_state(cfg), np.array([0.0, cfg.train.time]))[-1]
    R_ode = order_parameters(ode, cov, act).R
    r64, r32 = R(runs[np.float64]), R(runs[np.float32])
    sgd_gap = np.max(np.abs(r64 - R_ode))  # finite-D fluctuations, O(1/sqrt(D))
    assert sgd_gap > 0
    assert np.max(np.abs(r32 - r64)) < 1e-3 * sgd_gap  # measured: ~5e-5 of it
    assert np.max(np.abs(r32 - r64)) > 0  # it did run in single precision


def test_mixed_precision_weights_are_refused():
    W, V = np.zeros((2, 10)), np.zeros((2, 10), dtype=np.float32)
    with pytest.raises(TypeError, match="one dtype"):
        sgd_steps(W, V, np.zeros(2), np.zeros((1, 10), np.float32), np.ones(10), lr=1.0, act=get_activation("erf"))
