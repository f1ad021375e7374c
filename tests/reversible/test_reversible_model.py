"""The generative model, the inference and the batched simulation."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.reversible.codes import draw_codes
from aelab.reversible.config import NetSpec, default_widths
from aelab.reversible.model import draw_network, generate, infer
from aelab.reversible.simulate import simulate, simulate_loop, simulate_rules, standard_error


def test_codes_are_k_sparse_non_negative(rng):
    for width, k in [(50, 3), (10, 8), (7, 7), (1000, 300)]:
        codes = draw_codes(rng, width, k, "uniform", (20, 5))
        assert codes.indices.shape == (20, 5, k)
        srt = np.sort(codes.indices, axis=-1)
        assert np.all(np.diff(srt, axis=-1) > 0) and srt.min() >= 0 and srt.max() < width
        dense = codes.dense()
        assert np.all(np.count_nonzero(dense, axis=-1) == k)
        assert np.all((dense == 0) | ((dense >= 1) & (dense <= 2)))
    # Every unit is in the support with probability k/m, for both ways of drawing supports.
    for width, k in [(40, 5), (40, 20)]:
        hits = np.count_nonzero(draw_codes(rng, width, k, "constant", (20_000,)).dense(), axis=0)
        assert np.allclose(hits / 20_000, k / width, atol=5 * np.sqrt(k / width / 20_000))


def test_batched_model_equals_per_draw_products(rng):
    # Without dropout the model is deterministic given W and h: compare the batched path with
    # plain matrix-vector products written out here.
    spec = NetSpec(widths=(30, 20, 8), sparsity=3, threshold=0.7, bias=-0.01)
    net = draw_network(spec, rng, count=2)
    codes = draw_codes(rng, 8, 3, "exponential", (2, 4))
    layers = generate(net, spec, codes, rng)
    estimates = infer(net, spec, layers[0])
    for g in range(2):
        w1, w2 = net.forward[0][g].T, net.forward[1][g].T  # W_l of shape (n_{l-1}, n_l)
        for p in range(4):
            h2 = codes.dense()[g, p]
            h1 = np.maximum(spec.alpha(2) * w2 @ h2, 0.0)
            x = np.maximum(spec.alpha(1) * w1 @ h1, 0.0)
            np.testing.assert_allclose(layers[1][g, p], h1, rtol=1e-12)
            np.testing.assert_allclose(layers[0][g, p], x, rtol=1e-12)
            e1 = np.maximum(w1.T @ x - 0.7 * np.linalg.norm(x) - 0.01, 0.0)
            e2 = np.maximum(w2.T @ e1 - 0.7 * np.linalg.norm(e1) - 0.01, 0.0)
            np.testing.assert_allclose(estimates[0][g, p], e1, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(estimates[1][g, p], e2, rtol=1e-10, atol=1e-14)


def test_dense_and_sparse_top_products_agree(rng):
    # k > m/16 takes the dense product, k <= m/16 the gathered rows: same numbers.
    for k in (2, 12):
        spec = NetSpec(widths=(30, 64), sparsity=k)
        net = draw_network(spec, rng, count=2)
        codes = draw_codes(rng, 64, k, "uniform", (2, 3))
        x = generate(net, spec, codes, rng)[0]
        ref = np.maximum(spec.alpha(1) * np.einsum("gpm,gmn->gpn", codes.dense(), net.forward[0]), 0.0)
        np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-15)


def test_dropout_keeps_a_fraction_rho(rng):
    spec = NetSpec(widths=(4000, 50), sparsity=5, keep_prob=0.3)
    net = draw_network(spec, rng)
    codes = draw_codes(rng, 50, 5, "constant", (1, 50))
    x = generate(net, spec, codes, rng)[0]
    # A unit is non-zero when the pre-activation is positive (prob 1/2) and it is kept (prob rho).
    assert np.mean(x > 0) == pytest.approx(0.15, abs=0.01)


def test_simulation_is_deterministic_given_the_seed():
    spec = NetSpec(widths=(100, 30), sparsity=3, keep_prob=0.5, threshold=1.0)
    a = simulate(spec, trials=50, rng=np.random.default_rng(3), per_matrix=7)
    b = simulate(spec, trials=50, rng=np.random.default_rng(3), per_matrix=7)
    np.testing.assert_array_equal(a.relative_error, b.relative_error)
    assert a.trials == 50 and a.group.max() == 7  # ceil(50/7) = 8 weight draws
    c = simulate(spec, trials=50, rng=np.random.default_rng(4), per_matrix=7)
    assert not np.array_equal(a.relative_error, c.relative_error)


def test_float32_and_float64_agree_statistically():
    spec = NetSpec(widths=(400, 100), sparsity=4, threshold=1.5)
    a = simulate(spec, trials=400, rng=np.random.default_rng(0), per_matrix=20, dtype=np.float32)
    b = simulate(spec, trials=400, rng=np.random.default_rng(0), per_matrix=20, dtype=np.float64)
    # Same random stream except for the precision of the Gaussian draws: very close.
    assert abs(a.mean() - b.mean()) < 0.5 * (a.sem() + b.sem())


def test_loop_baseline_agrees_with_batched(rng):
    spec = NetSpec(widths=(300, 60), sparsity=3, threshold=1.2)
    loop = simulate_loop(spec, trials=150, rng=rng)
    batched = simulate(spec, trials=600, rng=rng, per_matrix=30)
    assert loop.trials == 150 and loop.layer_errors.shape == (150, 1)
    assert abs(loop.mean() - batched.mean()) < 4.5 * np.hypot(loop.sem(), batched.sem()) + 0.02 * batched.mean()


def test_standard_error_uses_batch_means():
    values = np.array([1.0, 1.0, 3.0, 3.0])
    assert standard_error(values, np.array([0, 0, 1, 1])) == pytest.approx(1.0)  # sd of (1, 3) / sqrt 2
    assert standard_error(values, np.zeros(4, int)) == pytest.approx(np.std(values, ddof=1) / 2)


def test_default_widths_interpolate_geometrically():
    assert default_widths(5000, 1000, 1) == (5000, 1000)
    assert default_widths(10000, 100, 2) == (10000, 1000, 100)


def test_netspec_rejects_impossible_settings():
    with pytest.raises(ValueError, match="sparsity"):
        NetSpec(widths=(100, 10), sparsity=11)
    with pytest.raises(ValueError, match="keep_prob"):
        NetSpec(widths=(100, 10), sparsity=1, keep_prob=0.0)
    with pytest.raises(ValueError, match="widths"):
        NetSpec(widths=(100,), sparsity=1)


def test_rules_share_the_generated_draws():
    a = NetSpec(widths=(200, 40), sparsity=3, keep_prob=0.6, threshold=1.5)
    b = a.model_copy(update={"threshold": 0.0})
    c = a.model_copy(update={"relu": False})
    sims = simulate_rules([a, b, c], trials=60, rng=np.random.default_rng(9), per_matrix=12)
    alone = simulate(a, trials=60, rng=np.random.default_rng(9), per_matrix=12)
    np.testing.assert_array_equal(sims[0].relative_error, alone.relative_error)
    np.testing.assert_array_equal(sims[1].values, alone.values)  # the same codes for every rule
    assert sims[2].mean() > sims[1].mean() > sims[0].mean()  # (a) > (b) > (c) on common draws
    with pytest.raises(ValueError, match="share"):
        simulate_rules([a, a.model_copy(update={"keep_prob": 1.0})], trials=4, rng=np.random.default_rng(0))
