"""Random-likeness statistics: oracles on Gaussian matrices and on matrices that are not random."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from aelab.reversible import randomness
from aelab.reversible.codes import draw_codes


@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0])
def test_marchenko_pastur_density_and_cdf(ratio):
    lo, hi = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    total = integrate.quad(lambda x: randomness.marchenko_pastur_pdf(x, ratio), lo, hi, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-6)
    mid = 0.5 * (lo + hi)
    ref = integrate.quad(lambda x: randomness.marchenko_pastur_pdf(x, ratio), lo, mid, limit=200)[0]
    assert randomness.marchenko_pastur_cdf(mid, ratio) == pytest.approx(ref, abs=1e-4)
    # The mean of the law is 1 (unit-variance entries).
    mean = integrate.quad(lambda x: x * randomness.marchenko_pastur_pdf(x, ratio), lo, hi, limit=200)[0]
    assert mean == pytest.approx(1.0, abs=1e-5)


def test_gaussian_matrices_look_random_and_converge(rng):
    ks = []
    for p, q in [(50, 200), (200, 800)]:
        w = rng.standard_normal((p, q)) * 0.05
        spec = randomness.spectrum_statistics(w)
        ks.append(spec["ks_marchenko_pastur"])
        assert spec["outside_bulk"] == 0.0
        assert spec["top_singular_over_edge"] == pytest.approx(1.0, abs=0.1)
        entries = randomness.entry_statistics(w)
        assert abs(entries["excess_kurtosis"]) < 0.2 and entries["ks_normal"] < 0.03
        assert randomness.gram_offdiagonal(w).std() == pytest.approx(1.0, abs=0.05)
    assert ks[1] < ks[0]


def test_structured_matrices_are_flagged(rng):
    base = rng.standard_normal((100, 400))
    spiked = base + 3.0 * np.outer(rng.standard_normal(100), rng.standard_normal(400)) / np.sqrt(20)
    report = randomness.matrix_report(spiked, rng)
    assert report["top_singular_over_edge"] > 1.5 and report["random_top_singular_over_edge"] < 1.1
    assert report["offdiag_std"] > 1.5 and report["random_offdiag_std"] == pytest.approx(1.0, abs=0.05)
    laplace = rng.laplace(size=(100, 400))
    assert randomness.entry_statistics(laplace)["excess_kurtosis"] == pytest.approx(3.0, abs=0.4)


def test_reverse_forward_error_of_gaussian_weights_matches_theory(rng):
    measured, predicted = [], []
    for _ in range(8):
        w = rng.standard_normal((120, 600)) * 0.1  # scale does not matter: the matrix is normalised
        codes = draw_codes(rng, 120, 4, "uniform", (100,)).dense()
        m, p = randomness.reverse_forward_error(w, codes, keep_prob=0.7, threshold=1.5, rng=rng)
        measured.append(m.mean())
        predicted.append(p.mean())
    measured, predicted = np.array(measured), np.array(predicted)
    diff = measured - predicted
    assert abs(diff.mean()) < 4.5 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_reverse_forward_padding_with_zeros_is_exact(rng):
    # Codes with different numbers of non-zeros are padded with zeros: the prediction of a padded
    # code equals the prediction of the unpadded one.
    from aelab.reversible import theory
    from aelab.reversible.config import NetSpec

    values = np.array([[1.5, 1.2, 0.0, 0.0]])
    padded = theory.error_given_codes(values, NetSpec(widths=(300, 50), sparsity=4, threshold=1.0))
    plain = theory.error_given_codes(values[:, :2], NetSpec(widths=(300, 50), sparsity=2, threshold=1.0))
    assert padded["relative_error"][0] == pytest.approx(plain["relative_error"][0], rel=1e-12)
