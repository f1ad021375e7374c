"""Covariance spectra: against NumPy's dense computation, against the population spectrum (Monte Carlo), cache, plot."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.data import spectra
from aelab.data.preprocess import REFINETTI_GOLDT
from aelab.data.spectra import cached_covariance_spectrum, covariance_spectrum, plot_spectrum, second_moment
from aelab.errors import ConfigError


def _data(rng, n=500, d=12):
    A = rng.standard_normal((d, d)) * np.linspace(0.2, 2.0, d)
    return rng.standard_normal((n, d)) @ A.T + rng.standard_normal(d)


@pytest.mark.parametrize("centered", [True, False])
def test_against_numpy_dense(rng, centered):
    X = _data(rng)
    w, V = covariance_spectrum(X, centered=centered)
    C = np.cov(X.T, bias=True) if centered else X.T @ X / len(X)
    w_np, V_np = np.linalg.eigh(C)
    np.testing.assert_allclose(w, w_np[::-1], rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(w) <= 0)  # descending
    np.testing.assert_allclose(np.abs(np.sum(V * V_np[:, ::-1], axis=0)), 1.0, atol=1e-8)  # same directions
    np.testing.assert_allclose(C @ V, V * w, atol=1e-9)
    np.testing.assert_allclose(V.T @ V, np.eye(len(w)), atol=1e-10)
    assert np.all(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])] > 0)  # sign convention


def test_top_k_and_uncentred_relation(rng):
    X = _data(rng)
    w, V = covariance_spectrum(X)
    wk, Vk = covariance_spectrum(X, k=4)
    np.testing.assert_allclose(wk, w[:4], rtol=1e-10)
    np.testing.assert_allclose(Vk, V[:, :4], atol=1e-8)
    C, m = second_moment(X)
    S, m2 = second_moment(X, centered=False)
    np.testing.assert_allclose(S, C + np.outer(m, m), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m, X.mean(axis=0))


def test_chunked_accumulation_float32_and_memmap(rng, tmp_path, monkeypatch):
    X = _data(rng, n=1000).astype(np.float32)
    reference = np.cov(X.astype(np.float64).T, bias=True)
    monkeypatch.setattr(spectra, "_CHUNK_BYTES", 8 * 12 * 70)  # 70-row chunks
    C, _ = second_moment(X)
    np.testing.assert_allclose(C, reference, rtol=1e-12, atol=1e-13)  # float64 accumulation of float32 data
    np.save(tmp_path / "x.npy", X)
    C2, _ = second_moment(np.load(tmp_path / "x.npy", mmap_mode="r"))
    np.testing.assert_allclose(C2, reference, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("n", [2000, 32000])
def test_sample_spectrum_converges_to_the_population_spectrum(n):
    """Monte Carlo: Gaussian data with covariance U diag(lam) U^T; the sample top eigenvalues
    approach lam with errors of order lam sqrt(2/N), and the eigenvectors approach U."""
    rng = np.random.default_rng(n)
    d = 20
    lam = np.r_[10.0, 5.0, 2.5, np.ones(d - 3)]
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = (rng.standard_normal((n, d)) * np.sqrt(lam)) @ U.T
    w, V = covariance_spectrum(X, k=3)
    tolerance = 5 * lam[:3] * np.sqrt(2 / n) + lam[:3] * d / n
    assert np.all(np.abs(w - lam[:3]) < tolerance), (w, lam[:3], tolerance)
    overlaps = np.abs(np.sum(V * U[:, :3], axis=0))
    assert np.all(1 - overlaps < 20 * d / n), overlaps


def test_bad_input():
    with pytest.raises(ConfigError, match=r"X: expected a 2-D array \(N, D\)"):
        covariance_spectrum(np.zeros(5))
    with pytest.raises(ConfigError, match="k: 9, expected 1 <= k <= D = 3"):
        covariance_spectrum(np.ones((4, 3)), k=9)
    X = np.ones((4, 3))
    X[1, 1] = np.nan
    with pytest.raises(ConfigError, match="NaN or infinite"):
        with np.errstate(invalid="ignore"):
            covariance_spectrum(X)


def test_plot(tmp_path, rng):
    w = covariance_spectrum(_data(rng))[0]
    plot_spectrum(w, tmp_path / "one.png")
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"
    fig = plot_spectrum([w, w / 2], tmp_path / "two.svg", labels=["a", "b"], title="t")
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ConfigError, match="2 labels for 1 spectra"):
        plot_spectrum(w, labels=["a", "b"])


def test_cached_spectrum(toy, tmp_path, monkeypatch):
    folder = toy.write(tmp_path / "data" / "toy")
    kwargs = {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}
    w, V = cached_covariance_spectrum("toy", "train", steps="to_float,flatten", **kwargs)
    X = toy.images["train"].reshape(60, -1) / 255.0
    np.testing.assert_allclose(w, np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1], rtol=1e-6, atol=1e-10)

    import aelab.data.datasets as datasets

    def no_loading(*args, **kw):
        raise AssertionError("the spectrum should come from the cache")

    with monkeypatch.context() as m:
        m.setattr(datasets, "load_dataset", no_loading)
        w2, V2 = cached_covariance_spectrum("toy", "train", steps=" to_float, flatten", **kwargs)
        np.testing.assert_array_equal(w2, w)
        np.testing.assert_array_equal(V2, V)
        with pytest.raises(AssertionError):  # other preprocessing: another entry
            cached_covariance_spectrum("toy", "train", steps="to_float,flatten,scale_global", **kwargs)
    assert len(list((tmp_path / "cache" / "spectra").iterdir())) == 1
    with pytest.raises(ConfigError, match="end the pipeline with flatten"):
        cached_covariance_spectrum("toy", "test", steps="to_float", **kwargs)
    (folder / "train-images-idx3-ubyte.gz").touch()  # the source changed: recomputed, not reused
    cached_covariance_spectrum("toy", "train", steps="to_float,flatten", **kwargs)
    assert len(list((tmp_path / "cache" / "spectra").iterdir())) == 2


@pytest.mark.data
def test_refinetti_goldt_spectrum_of_cifar10(cifar, shared_data, session_cache):
    """The uncentred second moment of globally rescaled data has trace D * 0.5^2 exactly."""
    w, V = cached_covariance_spectrum("cifar10", "test", steps=REFINETTI_GOLDT, centered=False, data_dir=shared_data,
                                      cache_dir=session_cache)
    assert w.shape == (1024,) and V.shape == (1024, 1024)
    assert w.sum() == pytest.approx(1024 * 0.25, rel=1e-5)
    assert w[-1] > 0 and w[0] / w.sum() > 0.2  # the mean image gives a large top eigenvalue
