"""The layer step's table lookups from rows combined once per step = the direct lookups."""

import numpy as np
import pytest

from aelab.deep import _kernels as K
from aelab.deep.smoothing import packed_tables


@pytest.mark.parametrize("code", [K.TANH, K.ERF])
def test_combined_rows_equal_the_direct_lookup(code):
    tabs, metas = packed_tables(frozenset({"tanh", "erf"}))
    rows = np.empty(tabs.shape[2])
    rng = np.random.default_rng(0)
    for b in np.exp(rng.uniform(-3, 2, 20)):
        prep = K.smooth_prep(code, b, metas)
        lo, hi = sorted(rng.normal(0, 3, 2))
        i0, i1 = K.h2_rows(code, tabs, metas, prep, lo, hi, rows, 10_000)
        assert i1 > i0
        for m in np.r_[rng.uniform(lo, hi, 50), lo, hi, lo - 5.0, hi + 5.0]:  # outside: the direct lookup
            got = K.smooth_dh_rows(code, 0.0, m, b, prep, tabs, metas, rows, i0, i1)
            want = K.smooth_dh(code, 0.0, m, b, prep, tabs, metas)
            assert got == pytest.approx(want, rel=1e-13, abs=1e-15)


def test_rows_are_combined_only_where_they_pay():
    tabs, metas = packed_tables(frozenset({"tanh"}))
    rows = np.empty(tabs.shape[2])
    prep = K.smooth_prep(K.TANH, 0.5, metas)
    assert K.h2_rows(K.TANH, tabs, metas, prep, -30.0, 30.0, rows, 100) == (0, 0)  # too many rows
    relu = K.smooth_prep(K.RELU, 0.5, metas)
    assert K.h2_rows(K.RELU, tabs, metas, relu, -1.0, 1.0, rows, 10_000) == (0, 0)  # no table

