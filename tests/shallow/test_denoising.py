"""Denoising autoencoders (docs/shallow-denoising.md): Delta = 0 is the autoencoder's ODE, a linear
denoiser reaches the truncated Wiener filter (theory and SGD), theory meets averaged SGD better as D
grows, the learning rate only rescales time, and bad input names its field."""

from __future__ import annotations

import numpy as np
import pytest

import aelab
from aelab.activations import get_activation
from aelab.config import load_config
from aelab.data.synthetic import spiked_covariance
from aelab.errors import ConfigError
from aelab.shallow import ShallowConfig
from aelab.shallow.denoising import wiener_optimum
from aelab.shallow.ode import OdeSystem
from aelab.shallow.state import state_from_weights


def _config(D=200, *, act="erf", noise=0.3, skip=True, tied=False, bias=False, time=20.0, seeds=2, lr=1.0,
            init=0.1, points=12, K=2, spacing="log"):
    return ShallowConfig.model_validate({
        "data": {"D": D, "spikes": [1.0, 0.5], "bulk": 0.3},
        "model": {"K": K, "activation": act, "skip": skip, "tied": tied, "bias": bias, "init_std": init},
        "train": {"time": time, "lr": lr, "input_noise": noise, "seeds": seeds},
        "output": {"points": points, "spacing": spacing}})


@pytest.mark.parametrize("act,tied,bias", [("erf", False, False), ("linear", True, False), ("relu", False, True),
                                           ("tanh", False, True)])
def test_no_noise_and_a_zero_skip_is_the_autoencoder_ode(act, tied, bias):
    rng = np.random.default_rng(5)
    cov = spiked_covariance(60, [0.8, 0.3], bulk=0.2)
    K = 3
    V = rng.normal(size=(K, 60)) * (4.0 if tied else 0.7)
    W = V.copy() if tied else rng.normal(size=(K, 60)) * 0.7
    b = rng.normal(size=K) * 0.2 if bias else np.zeros(K)
    state = state_from_weights(W, V, b, cov, tied=tied)
    kw = dict(cov=cov, act=get_activation(act), lr=0.7, K=K, tied=tied, train_bias=bias, weight_decay=0.05)
    autoencoder = OdeSystem(**kw, compiled=False)
    for denoising in (OdeSystem(**kw, compiled=False, noise=0.0, train_skip=True), OdeSystem(**kw, noise=1e-300)):
        d_ae, d_de = autoencoder.derivative(state), denoising.derivative(state)
        for name in ("A", "B", "S", "bias"):
            np.testing.assert_allclose(getattr(d_de, name), getattr(d_ae, name), rtol=1e-12, atol=1e-15)
    y = autoencoder.pack(state)
    np.testing.assert_allclose(OdeSystem(**kw).rhs(0.0, y), autoencoder.rhs(0.0, y), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("skip", [False, True])
def test_a_linear_denoiser_reaches_the_truncated_wiener_filter(skip):
    cfg = _config(act="linear", skip=skip, noise=0.4, time=3000.0, init=0.01, lr=0.5, points=8)
    theory = aelab.shallow.run(cfg, simulation=False).theory
    optimum = wiener_optimum(cfg.data.covariance(), 2, 0.4, skip=skip)
    assert theory["pmse"].iloc[-1] == pytest.approx(optimum.pmse, rel=1e-5)
    if skip:
        assert theory["s"].iloc[-1] == pytest.approx(optimum.skip, rel=1e-5)
        assert optimum.pmse < wiener_optimum(cfg.data.covariance(), 2, 0.4, skip=False).pmse


def test_linear_denoising_sgd_reaches_the_wiener_filter():
    cfg = _config(D=300, act="linear", skip=True, noise=0.4, time=300.0, init=0.01, lr=0.5, seeds=3, points=6)
    sim = aelab.shallow.run(cfg, theory=False).simulation
    optimum = wiener_optimum(cfg.data.covariance(), 2, 0.4, skip=True)
    assert sim["pmse"].iloc[-1] == pytest.approx(optimum.pmse, rel=0.03)
    assert sim["s"].iloc[-1] == pytest.approx(optimum.skip, rel=0.03)


def _gap(D, act, **model):
    cfg = _config(D, act=act, seeds=6, time=10.0, points=9, spacing="linear", **model)
    result = aelab.shallow.run(cfg)
    cols = ["pmse", "s"] + [k for k in result.theory.columns if k.startswith(("Q_", "R_", "T0_"))]
    cols = [c for c in cols if c in result.theory]
    return float(np.sqrt(np.mean((result.simulation[cols].to_numpy() - result.theory[cols].to_numpy()) ** 2)))


@pytest.mark.parametrize("act,model", [("erf", {"skip": True}), ("relu", {"skip": True, "bias": True}),
                                       ("tanh", {"skip": True})])
def test_theory_meets_averaged_sgd_better_as_d_grows(act, model):
    gaps = {D: _gap(D, act, **model) for D in (250, 1000)}
    assert gaps[1000] < 0.75 * gaps[250], gaps
    assert gaps[1000] < 0.05, gaps


@pytest.mark.slow
def test_theory_meets_averaged_sgd_at_4000():
    gaps = {D: _gap(D, "erf", skip=True) for D in (250, 1000, 4000)}
    assert gaps[4000] < 0.5 * gaps[250] and gaps[4000] < 0.02, gaps


def test_the_learning_rate_only_rescales_time():
    one = aelab.shallow.run(_config(lr=1.0, time=10.0, points=6, spacing="linear"), simulation=False).theory
    two = aelab.shallow.run(_config(lr=2.0, time=5.0, points=6, spacing="linear"), simulation=False).theory
    for col in ("pmse", "s", "Q_1_1", "R_1_1"):
        np.testing.assert_allclose(one[col].to_numpy(), two[col].to_numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("override,field", [
    ("train.input_noise=-0.1", "train.input_noise"),
    ("train.input_noise=.nan", "train.input_noise"),
    ("model.skip_init=0.5", "model.skip_init"),
])
def test_bad_denoising_input_names_the_field(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(ShallowConfig, None, [override])


def test_a_skip_on_sangers_rule_is_refused():
    for extra in (["model.skip=true"], ["train.input_noise=0.1"]):
        with pytest.raises(ConfigError, match="Sanger"):
            load_config(ShallowConfig, None, ["model.tied=true", "model.activation=linear", "train.rule=truncated",
                                              *extra])


def test_the_cli_refuses_bad_noise_in_one_line(tmp_path, capsys):
    from aelab.cli import main

    out = tmp_path / "run"
    assert main(["shallow", "run", "--out", str(out), "--set", "train.input_noise=-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.input_noise" in err[0] and not out.exists()


def test_the_fixed_point_of_a_linear_denoiser_is_the_wiener_filter():
    from aelab.shallow.fixed_points import find_fixed_point, long_time_state
    from aelab.shallow.theory import initial_state, ode_system

    cfg = _config(act="linear", skip=True, noise=0.4, init=0.01, lr=0.5)
    system = ode_system(cfg)
    fp = find_fixed_point(system, long_time_state(system, initial_state(cfg), 500.0))
    optimum = wiener_optimum(cfg.data.covariance(), 2, 0.4, skip=True)
    assert fp.converged and fp.n_unstable == 0
    assert fp.pmse == pytest.approx(optimum.pmse, rel=1e-6)
    assert fp.state.skip == pytest.approx(optimum.skip, rel=1e-6)
