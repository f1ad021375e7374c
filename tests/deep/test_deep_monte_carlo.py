"""Monte Carlo with real random weight-tied networks against Theorem 1: the discrepancy shrinks like
1/sqrt(n) as the width grows, for tanh/tanh, ReLU/ReLU, tanh/ReLU and ReLU/tanh, with and without
biases; non-Gaussian weights agree too (Remark 2); batching and storage do not change the draws."""

import numpy as np
import pytest

from aelab.deep.config import Setting
from aelab.deep.monte_carlo import ESTIMATORS, simulate, widths_for
from aelab.deep.state_evolution import evolve

PAIRS = [("tanh", "tanh", 2.0), ("relu", "relu", 2.0), ("tanh", "relu", 2.0), ("relu", "tanh", 1.6)]


def _errors(setting, width, samples, seed, **kw):
    """Per-draw relative errors of every estimator against the theory, shape (samples, 5 L)."""
    th = evolve(setting).columns()
    sim = simulate(setting, width=width, samples=samples, seed=seed, **kw)
    errs = [(sim.values[k] - th[k]) / np.abs(th[k]) for k in ESTIMATORS]
    return np.concatenate(errs, axis=1), sim, th


@pytest.mark.parametrize("enc, dec, sw", PAIRS)
@pytest.mark.parametrize("biases", [False, True], ids=["no-bias", "bias"])
def test_discrepancy_shrinks_like_one_over_sqrt_width(enc, dec, sw, biases):
    kw = {"sigma_b_sq": 0.1, "sigma_v_sq": 0.05} if biases else {}
    s = Setting.make(enc, dec, 3, sigma_w_sq=sw, alpha=1.0, input_variance=1.0, **kw)
    rms, scaled = {}, []
    for n, r in [(64, 24), (256, 12), (1024, 6)]:
        e, sim, th = _errors(s, n, r, seed=n)
        rms[n] = float(np.sqrt(np.mean(e**2)))
        scaled.append(e * np.sqrt(n))
    # 16 times the width: a quarter of the error (1/sqrt(n)), with room for the sampling noise of the rms
    ratio = rms[1024] / rms[64]
    assert 0.12 < ratio < 0.45, rms
    # at the largest width the means agree with the theory: per-draw errors are c / sqrt(n) with c
    # estimated from all 42 draws, so the standard error of the mean of the 6 draws at n = 1024 is
    c = np.sqrt(np.mean(np.concatenate(scaled) ** 2, axis=0))
    mean_err = e.mean(axis=0)
    z = np.abs(mean_err) / (c / np.sqrt(1024) / np.sqrt(6) + 1e-3)
    assert np.all(z < 4.5), z


@pytest.mark.parametrize("weights", ["bernoulli", "uniform", "laplace"])
def test_universality_of_non_gaussian_weights(weights):
    s = Setting.make("tanh", "tanh", 4, sigma_w_sq=2.312, sigma_b_sq=0.211, input_variance=0.4276)
    e, sim, th = _errors(s, 1000, 8, seed=3, weights=weights)
    assert float(np.sqrt(np.mean(e**2))) < 0.06
    for k in ESTIMATORS:
        assert np.all(np.abs(sim.mean(k) - th[k]) < 4.5 * sim.sem(k) + 5e-3 * np.abs(th[k])), k


def test_linear_network_and_reconstruction_error():
    s = Setting.make("linear", "linear", 4, input_variance=1.5)
    sim = simulate(s, width=800, samples=10, seed=5)
    assert sim.mean("S")[0] == pytest.approx(1.0, abs=4 * sim.sem("S")[0] + 0.01)
    assert sim.mean("V")[0] == pytest.approx(4 * 1.5, rel=0.05)
    # E ||x - xhat||^2 / n_0 = (S - 1)^2 taubar_0^2 + V (Sec. 3.3)
    th = evolve(s)
    assert sim.reconstruction_error.mean() == pytest.approx(th.reconstruction_error(), rel=0.05)


def test_batching_and_storage_do_not_change_the_draws():
    s = Setting.make("tanh", "relu", 3, sigma_w_sq=1.8, sigma_b_sq=0.1, sigma_v_sq=0.1, alpha=[1.0, 0.8, 1.2])
    a = simulate(s, width=120, samples=5, seed=11, batch=1)
    b = simulate(s, width=120, samples=5, seed=11, batch=5)
    c = simulate(s, width=120, samples=5, seed=11, max_memory=1000)  # weights drawn again in the decoder
    assert not c.info["weights_stored"] and a.info["weights_stored"]
    for k in ESTIMATORS:
        np.testing.assert_allclose(a.values[k], b.values[k], rtol=1e-12)
        np.testing.assert_array_equal(a.values[k], c.values[k])
    assert widths_for(s, 120) == [120, 120, 96, 115]
    d = simulate(s, width=120, samples=5, seed=12)
    assert not np.allclose(a.values["S"], d.values["S"])


def test_float32_and_torch_backends():
    s = Setting.make("relu", "tanh", 3, sigma_w_sq=1.6, sigma_b_sq=0.05)
    th = evolve(s).columns()
    for kw in ({"dtype": "float32"}, {"backend": "torch", "dtype": "float32"}, {"backend": "torch"}):
        sim = simulate(s, width=1000, samples=6, seed=2, **kw)
        for k in ESTIMATORS:
            assert np.all(np.abs(sim.mean(k) - th[k]) < 4.5 * sim.sem(k) + 5e-3 * np.abs(th[k])), (kw, k)


def test_sign_input_and_depth_one():
    s = Setting.make("tanh", "tanh", 1, sigma_w_sq=1.0, input_variance=1.0)
    sim = simulate(s, width=2000, samples=6, seed=9, input="sign")
    # depth 1: S = E tanh'(z), V = E tanh(z)^2 with S + V = 1
    assert sim.mean("S")[0] == pytest.approx(0.6057, abs=4 * sim.sem("S")[0] + 3e-3)
    assert sim.mean("V")[0] == pytest.approx(0.3943, abs=4 * sim.sem("V")[0] + 3e-3)
    assert np.all(sim.values["tau_bar_sq"][:, 0] > 0)


@pytest.mark.slow
def test_appendix_b_setting_at_depth_50():
    # App. B: tanh everywhere, sigma_W^2 = 2.312, sigma_b^2 = 0.211, alpha = 1, +-1 input, n_0 = 2000
    s = Setting.make("tanh", "tanh", 50, sigma_w_sq=2.312, sigma_b_sq=0.211, input_variance=1.0)
    th = evolve(s).columns()
    for weights in ("gaussian", "bernoulli", "uniform", "laplace"):
        sim = simulate(s, width=2000, samples=4, seed=1, input="sign", weights=weights, dtype="float32")
        for k in ("gamma", "rho", "S", "V"):
            assert np.all(np.abs(sim.mean(k) - th[k]) < 5 * sim.sem(k) + 0.02 * np.abs(th[k]) + 2e-3), (weights, k)


def test_nonlinear_input_activation_and_unreachable_input_variance():
    from aelab.errors import ConfigError

    s = Setting.make("tanh", "tanh", 2, input_activation="tanh", input_variance=0.5)
    sim = simulate(s, width=300, samples=2, seed=0)
    assert np.all(np.isfinite(sim.values["S"]))
    with pytest.raises(ConfigError, match="--input-variance"):
        simulate(Setting.make("tanh", "tanh", 2, input_activation="tanh", input_variance=2.0), width=50, samples=1,
                 seed=0)


def test_experiment_kinds(tmp_path):
    from aelab.kinds import get_kind

    kind = get_kind("deep-simulate")
    cfg = kind.config_model.model_validate({"network": {"depth": 2, "encoder": "relu", "decoder": "relu",
                                                        "sigma_w_sq": 2.0},
                                            "monte_carlo": {"width": 200, "samples": 3, "seed": 1}})
    out = kind.run(cfg, tmp_path / "sim", quiet=True)
    assert out["S_theory"] == pytest.approx(0.75) and abs(out["S"] - 0.75) < 5 * out["S_se"] + 0.05
    assert {p.name for p in (tmp_path / "sim").iterdir()} >= {"config.json", "meta.json", "simulation.csv",
                                                             "samples.csv", "theory.csv"}
    out = get_kind("deep-evolve").run(get_kind("deep-evolve").config_model.model_validate({}), tmp_path / "ev")
    assert (tmp_path / "ev" / "evolution.csv").exists() and np.isfinite(out["S"])
