"""The compiled normal sampler: the ziggurat's geometry, the law of its draws, determinism."""

import math

import numpy as np
import pytest
from scipy import stats

from aelab.normal_draws import ZIGGURAT_R, NormalStream, ziggurat_tables


def _f(x):
    return math.exp(-0.5 * x * x)


def test_every_layer_has_the_same_area():
    k, w, f = ziggurat_tables()
    x = w * 2.0**52  # right edges; x[0] is the base layer's pseudo-width
    v = ZIGGURAT_R * _f(ZIGGURAT_R) + math.sqrt(math.pi / 2) * math.erfc(ZIGGURAT_R / math.sqrt(2))
    assert x[0] * _f(ZIGGURAT_R) == pytest.approx(v, rel=1e-12)  # base strip + tail
    for i in range(2, 256):  # strip i lies between heights f(x_i) and f(x_{i-1})
        assert x[i] * (f[i - 1] - f[i]) == pytest.approx(v, rel=1e-9)
    assert x[1] * (1.0 - f[1]) == pytest.approx(v, rel=1e-9)  # the top strip closes the recursion
    assert np.all(np.diff(x[1:]) > 0) and x[-1] == pytest.approx(ZIGGURAT_R)
    # the sure-acceptance thresholds are the ratios of neighbouring edges
    assert k[1] == 0 and k[5] == np.uint64(int(x[4] / x[5] * 2.0**52))


@pytest.fixture(scope="module")
def draws():
    return NormalStream(np.random.default_rng(11)).fill(np.empty(4_000_000))


def test_moments_and_kolmogorov_distance(draws):
    n = draws.size
    assert abs(draws.mean()) < 4.5 / math.sqrt(n)
    assert abs(draws.var() - 1.0) < 4.5 * math.sqrt(2.0 / n)
    assert abs(stats.skew(draws)) < 4.5 * math.sqrt(6.0 / n)
    assert abs(stats.kurtosis(draws)) < 4.5 * math.sqrt(24.0 / n)
    assert stats.kstest(draws, "norm").pvalue > 1e-4


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0, 3.0, ZIGGURAT_R, 4.0, 4.5])
def test_tail_probabilities(draws, c):
    """Both sides, inside the layers and in the tail beyond r (sampled by its own method)."""
    n = draws.size
    for side in (draws > c, draws < -c):
        p = 0.5 * math.erfc(c / math.sqrt(2))
        assert abs(side.mean() - p) < 4.5 * math.sqrt(p * (1 - p) / n) + 1e-7


def test_deterministic_given_the_generator_and_float32():
    a = NormalStream(np.random.default_rng(3)).fill(np.empty((64, 50), dtype=np.float32))
    b = NormalStream(np.random.default_rng(3)).fill(np.empty((64, 50), dtype=np.float32))
    c = NormalStream(np.random.default_rng(4)).fill(np.empty((64, 50), dtype=np.float32))
    assert a.dtype == np.float32 and np.array_equal(a, b) and not np.array_equal(a, c)
    stream = NormalStream(np.random.default_rng(3))
    first, second = stream.fill(np.empty(100)), stream.fill(np.empty(100))
    assert not np.array_equal(first, second)  # the stream moves on
    assert np.allclose(first[:10], a.ravel()[:10], atol=1e-6)  # the same numbers in either precision


def test_consecutive_draws_are_uncorrelated(draws):
    n = draws.size - 1
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < 4.5 / math.sqrt(n)
    assert abs(np.corrcoef(draws[:-1] ** 2, draws[1:] ** 2)[0, 1]) < 4.5 / math.sqrt(n)


def test_buffer_must_be_contiguous():
    with pytest.raises(ValueError, match="contiguous"):
        NormalStream(np.random.default_rng(0)).fill(np.empty((10, 10))[:, ::2])


def _reference_draws(state: list[int], n: int) -> tuple[list[float], list[int]]:
    """The sampler in plain Python: xoshiro256** on Python integers (Blackman & Vigna's C code,
    transcribed) and the ziggurat of the module docstring."""
    mask = (1 << 64) - 1
    s = list(state)
    k, w, f = ziggurat_tables()

    def nxt() -> int:
        rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & mask  # noqa: E731
        result = (rotl((s[1] * 5) & mask, 7) * 9) & mask
        t = (s[1] << 17) & mask
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    unit = lambda: (nxt() >> 11) / 2.0**53  # noqa: E731
    out = []
    while len(out) < n:
        bits = nxt()
        idx, negative, rabs = bits & 0xFF, (bits >> 8) & 1, (bits >> 9) & ((1 << 52) - 1)
        x = float(rabs) * float(w[idx])
        x = -x if negative else x
        if rabs < int(k[idx]):
            out.append(x)
            continue
        if idx == 0:
            while True:
                xx = -math.log1p(-unit()) / ZIGGURAT_R
                yy = -math.log1p(-unit())
                if yy + yy > xx * xx:
                    break
            out.append(-(ZIGGURAT_R + xx) if negative else ZIGGURAT_R + xx)
            continue
        if (f[idx - 1] - f[idx]) * unit() + f[idx] < math.exp(-0.5 * x * x):
            out.append(x)
    return out, s


def test_compiled_stream_equals_the_plain_python_sampler():
    """Bit for bit over 60,000 draws (about 700 wedge tests and 20 tail draws), and the same state after."""
    stream = NormalStream(np.random.default_rng(11))
    state = [int(v) for v in stream._state]
    got = stream.fill(np.empty(60_000))
    want, state_after = _reference_draws(state, got.size)
    want = np.array(want)
    assert np.array_equal(got, want)
    assert [int(v) for v in stream._state] == state_after
    assert np.sum(np.abs(want) > ZIGGURAT_R) > 5  # the tail branch ran
