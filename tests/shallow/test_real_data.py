"""Real images: the ODE over all D eigen-directions against SGD on the images and on Gaussian inputs."""

import json

import numpy as np
import pytest

from aelab.activations import get_activation
from aelab.cli import main
from aelab.config import load_config
from aelab.errors import ConfigError
from aelab.shallow.real_data import (RealData, RealDataConfig, gaussian_sgd, image_error, images_sgd, largest_gap,
                                     load_real_data, ode_theory, real_data_covariance, run_real_data)


def _synthetic_images(D=80, N=8000, n_test=4000, seed=0) -> RealData:
    """Gaussian 'images' with a few strong, non-axis-aligned directions (pixel basis != eigenbasis)."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.normal(size=(D, D)))[0]
    spec = np.concatenate([[0.8 * D, 0.3 * D, 0.1 * D], np.full(D - 3, 0.2)])
    X = (rng.normal(size=(N + n_test, D)) * np.sqrt(spec)) @ U.T
    X = X.astype(np.float32)
    w, E = real_data_covariance(X[:N])
    return RealData(name="synthetic", train=np.ascontiguousarray(X[:N]), test=np.ascontiguousarray(X[N:]),
                    eigenvalues=w, eigenvectors=E)


def test_image_error_equals_the_direct_sum():
    data = _synthetic_images(D=50, N=200, n_test=300)
    rng = np.random.default_rng(1)
    W, V, b = rng.normal(size=(3, 50)), rng.normal(size=(3, 50)) * 5, rng.normal(size=3)
    X = data.test.astype(np.float64)
    for act_name, tied in (("erf", False), ("relu", True)):
        act = get_activation(act_name)
        lam = X @ V.T / 50 + b if tied else X @ W.T / np.sqrt(50) + b
        direct = np.mean(np.sum((X - act.f(lam) @ V) ** 2, axis=1)) / 50
        assert image_error(W, V, b, X, act, tied=tied) == pytest.approx(direct, rel=1e-12)
        assert image_error(W, V, b, data.test, act, tied=tied) == pytest.approx(direct, rel=1e-5)


def test_three_sides_agree_on_gaussian_images():
    """Gaussian 'images' are the theory's own model: real-image SGD (multi-pass, pixel basis),
    Gaussian SGD (eigenbasis) and the ODE all agree, which checks the rotations between bases."""
    data = _synthetic_images()
    cfg = load_config(RealDataConfig, {"model": {"K": 3, "init_std": 0.1},
                                       "train": {"lr": 1.0, "time": 20.0, "seeds": [0, 1, 2]},
                                       "output": {"points": 6, "spacing": "linear"}})
    times = cfg.output.time_grid(data.D, cfg.train.time)
    th = ode_theory(cfg, data, times)
    im = [images_sgd(cfg, data, s, times) for s in cfg.train.seeds]
    ga = [gaussian_sgd(cfg, data, s, times) for s in cfg.train.seeds]
    assert th["pmse"].iloc[0] == pytest.approx(im[0]["pmse"].iloc[0], rel=1e-10)  # one initial point
    assert th["pmse"].iloc[0] == pytest.approx(ga[0]["pmse"].iloc[0], rel=1e-10)
    for frames in (im, ga):
        mean = np.mean([f["pmse"] for f in frames], axis=0)
        np.testing.assert_allclose(mean, th["pmse"], rtol=0.08)
    # the error on held-out images estimates the population error of the same weights
    np.testing.assert_allclose(im[0]["pmse_images"], im[0]["pmse"], rtol=0.05)
    assert th["pmse"].iloc[-1] < 0.5 * th["pmse"].iloc[0]


@pytest.mark.parametrize("override,field", [
    ("data.D=1024", "data.D"),
    ("data.samples=100", "data.samples"),
    ("output.times=[0, 3, 2]", "output.times"),
    ("model.K=900", "model.K"),
])
def test_bad_input_is_a_config_error_naming_the_field(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(RealDataConfig, None, [override])


def test_truncated_tied_nonlinear_is_rejected():
    with pytest.raises(ConfigError, match=r"train\.rule"):
        load_config(RealDataConfig, None, ["model.tied=true", "train.rule=truncated"])


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    for override, field in (("data.samples=100", "data.samples"), ("data.D=100", "data.D"),
                            ("model.tied=true", "train.rule"), ("output.times=[0,2,1]", "output.times")):
        args = ["shallow", "real-data", "-o", str(out), "--set", override]
        if override == "model.tied=true":
            args += ["--set", "train.rule=truncated"]
        assert main(args) == 2, override
        assert field in capsys.readouterr().err
        assert not out.exists()


@pytest.fixture(scope="module")
def data_env(shared_data, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("AELAB_DATA", str(shared_data))
    mp.setenv("AELAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield shared_data
    mp.undo()


@pytest.mark.data
def test_fashion_mnist_ode_matches_gaussian_equivalent_sgd(data_env, tmp_path):
    """D = 784: the ODE and SGD on Gaussian inputs with the images' second moment agree within 1 %
    (two seeds, t <= 30); SGD on the images themselves stays within 3 % of the ODE."""
    cfg = load_config(RealDataConfig, {"data": {"name": "fashion-mnist", "samples": 20_000, "eval_samples": 5000},
                                       "model": {"K": 4, "init_std": 0.1},
                                       "train": {"lr": 1.0, "time": 30.0, "seeds": [0, 1]},
                                       "output": {"points": 8}})
    res = run_real_data(cfg, tmp_path / "run")
    assert res["gaps"]["theory_vs_gaussian"]["max_rel"] < 0.01
    assert res["gaps"]["theory_vs_images"]["max_rel"] < 0.03
    assert res["theory_pmse"] < 0.8 * res["pca_errors"][0]  # it learned
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["details"]["data"]["D"] == 784 and meta["status"] == "complete"
    assert (tmp_path / "run" / "figure.png").stat().st_size > 10_000


@pytest.mark.data
def test_mnist_zero_variance_pixels_are_frozen_directions(data_env):
    data = load_real_data(load_config(RealDataConfig, {"data": {"name": "mnist", "samples": 1000,
                                                                "eval_samples": 100}}).data)
    assert data.D == 784 and data.zero_directions > 20
    cov = data.covariance()
    assert cov.pca_error(0) == pytest.approx(0.25, rel=1e-3)  # entries have std 0.5 after the global scaling


def test_largest_gap():
    import pandas as pd

    a = pd.DataFrame({"t": [0.0, 1.0, 2.0], "pmse": [1.0, 0.5, 0.25]})
    b = pd.DataFrame({"t": [0.0, 1.0, 2.0], "pmse_images": [1.0, 0.6, 0.2]})
    gap = largest_gap(a, b, "pmse_images")
    assert gap["max_abs"] == pytest.approx(0.1) and gap["time"] == 1.0 and gap["max_rel"] == pytest.approx(0.2)
