"""Synthetic-data ("shadow") training: generation, determinism, the comparison on the real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from aelab.cli import main  # noqa: E402
from aelab.reversible.shadow import (  # noqa: E402
    ReluClassifier,
    quick_config,
    shadow_inputs,
    summarise,
    train_classifier,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _toy_data(seed=0, n=300, d=20, classes=3):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (classes, d))
    y = rng.integers(0, classes, n)
    x = np.clip(centers[y] + 0.1 * rng.standard_normal((n, d)), 0, 1).astype(np.float32)
    t = {k: torch.as_tensor(v) for k, v in dict(x_train=x, y_train=y, x_test=x[:100], y_test=y[:100],
                                                 x_eval=x[:100], y_eval=y[:100]).items()}
    t["num_classes"] = classes
    return t


def test_shadow_inputs_match_norms_and_are_non_negative():
    gen = torch.Generator().manual_seed(0)
    model = ReluClassifier((20, 30, 15, 3), gen)
    x = torch.rand(8, 20, generator=gen)
    for layer in (1, 2):
        x_syn = shadow_inputs(model, x, layer=layer, keep_prob=0.7, scale="match", generator=gen)
        assert x_syn.shape == x.shape and torch.all(x_syn >= 0)
        nonzero = x_syn.norm(dim=1) > 0
        torch.testing.assert_close(x_syn.norm(dim=1)[nonzero], x.norm(dim=1)[nonzero])


def test_shadow_theory_scale_is_the_papers_alpha():
    gen = torch.Generator().manual_seed(1)
    model = ReluClassifier((20, 30, 3), gen)
    x = torch.rand(4, 20, generator=gen)
    x_syn = shadow_inputs(model, x, layer=1, keep_prob=1.0, scale="theory", generator=gen)
    w = model.layers[0].weight.detach()
    h = torch.relu(model.layers[0](x)).detach()
    alpha = 2.0 / (20 * float(w.pow(2).mean()))
    torch.testing.assert_close(x_syn, alpha * torch.relu(h @ w))


def test_training_is_deterministic_and_variants_share_initial_weights():
    data = _toy_data()
    cfg = quick_config(hidden=(16, 16), epochs=2, batch_size=32)
    a = train_classifier(cfg, data, seed=3, dropout=True, shadow=True, device="cpu", record_weights=True)
    b = train_classifier(cfg, data, seed=3, dropout=True, shadow=True, device="cpu", record_weights=True)
    c = train_classifier(cfg, data, seed=3, dropout=False, shadow=False, device="cpu", record_weights=True)
    assert a["history"] == [{**h, "seconds": a["history"][i]["seconds"]} for i, h in enumerate(b["history"])]
    for w_a, w_c in zip(a["initial_weights"], c["initial_weights"]):
        np.testing.assert_array_equal(w_a, w_c)
    assert not np.array_equal(a["weights"][0], c["weights"][0])
    assert a["test_error"] < 0.5  # three well-separated classes are learnt
    assert [h.shape[1] for h in a["codes"]] == [16, 16]


def test_summary_pairs_seeds():
    rows = []
    for seed, base in ((0, 0.10), (1, 0.12)):
        for dropout in (False, True):
            for shadow in (False, True):
                err = base + 0.01 * dropout - (0.02 if shadow else 0.0)
                rows.append(dict(dataset="d", seed=seed, dropout=dropout, shadow=shadow, test_error=err,
                                 train_error=err, shadow_test_error=err,
                                 variant=f"{'dropout' if dropout else 'plain'}{' + shadow' if shadow else ''}"))
    summary = summarise(pd.DataFrame(rows))
    assert np.allclose(summary.shadow_effect, -0.02)
    assert np.allclose(summary.shadow_effect_sem, 0.0)
    plain = summary[summary.variant == "plain"].iloc[0]
    assert plain.test_error == pytest.approx(0.11) and plain.test_error_sem == pytest.approx(0.01)


@pytest.mark.data
def test_quick_comparison_on_mnist_and_fashion_mnist(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(shared_data))
    out = tmp_path / "shadow"
    assert main(["reproduce", "reversible-shadow", "--quick", "--out", str(out), "--quiet"]) == 0
    for name in ("config.json", "meta.json", "results.csv", "summary.csv", "curves.csv", "randomness.csv",
                 "shadow.png", "randomness.png"):
        assert (out / name).is_file(), name
    results = pd.read_csv(out / "results.csv")
    assert set(results.dataset) == {"mnist", "fashion-mnist"} and len(results) == 8
    assert set(results.variant) == {"plain", "plain + shadow", "dropout", "dropout + shadow"}
    # Even a two-epoch net on 2,000 images is far better than chance (90% error).
    assert results.test_error.max() < 0.6
    rand = pd.read_csv(out / "randomness.csv")
    assert {"ks_marchenko_pastur", "random_ks_marchenko_pastur", "offdiag_std", "reverse_forward_trained",
            "reverse_forward_random", "reverse_forward_theory", "relative_change_from_init"} <= set(rand.columns)
    # Gaussian references of the same shape match their own theory (exact given the codes).
    gap = (rand.reverse_forward_random - rand.reverse_forward_theory).abs()
    assert np.all(gap < 4.5 * rand.reverse_forward_random_sem + 0.03 * rand.reverse_forward_theory)
    assert json.loads((out / "config.json").read_text())["epochs"] == 2


def test_shadow_command_rejects_bad_options(capsys):
    for args, option in ((["--shadow-keep", "0"], "--shadow-keep"), (["--hidden", "10,x"], "--hidden"),
                         (["--datasets", "cifar10"], "--datasets"), (["--shadow-layer", "3"], "--shadow-layer"),
                         (["--seeds", ""], "--seeds"), (["--device", "tpu"], "--device"),
                         (["--schedule", "linear"], "--schedule"), (["--lr", "-1"], "--lr")):
        assert main(["reversible", "shadow", "--quick", *args]) == 2
        assert option in capsys.readouterr().err
