"""The training loop: resume identity, determinism, divergence detection, history, sampler, losses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from aelab.errors import ConfigError, DivergenceError
from aelab.train.checkpoint import CheckpointStore
from aelab.train.config import TrainConfig
from aelab.train.loop import HISTORY_COLUMNS, EpochSampler, normalised_loss
from aelab.train.training import run_training


def _config(**sections) -> TrainConfig:
    base = {
        "data": {"name": "lowrank"},
        "model": {"depth": 3, "width": [24, 16, 8, 4], "encoder": "tanh", "decoder": "tanh", "bottleneck": "relu"},
        "init": {"scheme": "gaussian", "sigma_w_sq": 1.05, "sigma_b_sq": 2e-5},
        "train": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 32, "steps": 40, "log_every": 10,
                  "checkpoint_every": 10, "seed": 3},
    }
    for name, values in sections.items():
        base[name] = values if name == "init" else {**base[name], **values}
    return TrainConfig.model_validate(base)


def _params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


@pytest.mark.parametrize("variant", [
    {},
    {"model": {"dropout": 0.2, "batch_norm": True, "tied": False},
     "train": {"optimizer": "adam", "lr": 1e-3, "loss": "mse"}},
    {"init": {"scheme": "pretrain", "pretrain_steps": 15}, "model": {"residual_scale": 0.5}},
    {"init": {"scheme": "lsuv", "lsuv_batch": 64}, "model": {"residual": True, "width": [24, 8, 8, 8]}},
])
def test_resume_is_bit_identical(tmp_path, low_rank_arrays, variant):
    """2N steps straight == N steps, stop, resume for N more (parameters, optimiser state, history)."""
    n = 20
    cfg_2n = _config(**{k: {**v, **({"steps": 2 * n} if k == "train" else {})} for k, v in
                        {"train": {}, **variant}.items()})
    cfg_n = cfg_2n.model_copy(update={"train": cfg_2n.train.model_copy(update={"steps": n})})
    straight = run_training(cfg_2n, tmp_path / "straight", quiet=True, arrays=low_rank_arrays, figures=False)
    run_training(cfg_n, tmp_path / "split", quiet=True, arrays=low_rank_arrays, figures=False)
    resumed = run_training(cfg_2n, tmp_path / "split", resume=True, quiet=True, arrays=low_rank_arrays,
                           figures=False)
    for a, b in zip(_params(straight.model), _params(resumed.model)):
        assert torch.equal(a, b)
    cols = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(straight.history[cols], resumed.history[cols])
    on_disk = pd.read_csv(tmp_path / "split" / "history.csv")
    assert list(on_disk.columns) == list(HISTORY_COLUMNS) and on_disk["step"].tolist() == [0, 10, 20, 30, 40]
    s1 = CheckpointStore.load(CheckpointStore(tmp_path / "straight" / "checkpoints").latest())
    s2 = CheckpointStore.load(CheckpointStore(tmp_path / "split" / "checkpoints").latest())
    assert s1["step"] == s2["step"] == 2 * n
    for key, value in s1["optimizer"]["state"].items():
        for name, t in value.items():
            assert torch.equal(torch.as_tensor(t), torch.as_tensor(s2["optimizer"]["state"][key][name]))
    assert torch.equal(s1["dropout_rng"], s2["dropout_rng"])


def test_same_seed_same_run_other_seed_other_run(low_rank_arrays):
    cfg = _config(train={"steps": 15})
    a = run_training(cfg, None, quiet=True, arrays=low_rank_arrays)
    b = run_training(cfg, None, quiet=True, arrays=low_rank_arrays)
    c = run_training(cfg.model_copy(update={"train": cfg.train.model_copy(update={"seed": 4})}), None, quiet=True,
                     arrays=low_rank_arrays)
    assert all(torch.equal(x, y) for x, y in zip(_params(a.model), _params(b.model)))
    assert not torch.equal(_params(a.model)[0], _params(c.model)[0])


def test_training_lowers_the_loss_and_writes_the_run_folder(tmp_path, low_rank_arrays):
    cfg = _config(model={"output": "sigmoid"}, train={"optimizer": "adam", "lr": 3e-3, "steps": 200,
                                                       "log_every": 50, "checkpoint_every": 100})
    out = run_training(cfg, tmp_path / "run", quiet=True, arrays=low_rank_arrays)
    h = out.history
    assert h["test_loss"].iloc[-1] < 0.5 * h["test_loss"].iloc[0]
    assert np.isnan(h["grad_norm"].iloc[0]) and (h["grad_norm"].iloc[1:] > 0).all()
    np.testing.assert_allclose(h["epoch"], h["step"] / (600 // 32))
    for name in ("config.json", "meta.json", "history.csv", "loss_curve.png", "reconstructions.png"):
        assert (tmp_path / "run" / name).is_file()
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["observables"]["steps"] == 200
    assert CheckpointStore(tmp_path / "run" / "checkpoints").steps() == [100, 200]  # keeps the latest two


def test_divergence_stops_with_step_layer_hint_and_keeps_the_last_good_checkpoint(tmp_path, low_rank_arrays):
    """ReLU decoder with sigma_w_sq = 4 (beyond Li & Nguyen's beta = 2 boundary) and a large SGD step explodes."""
    cfg = _config(model={"depth": 6, "width": 24, "encoder": "relu", "decoder": "relu", "bottleneck": "relu"},
                  init={"scheme": "gaussian", "sigma_w_sq": 4.0, "sigma_b_sq": 0.0},
                  train={"lr": 0.5, "momentum": 0.9, "steps": 200, "checkpoint_every": 5, "log_every": 5})
    with pytest.raises(DivergenceError) as info:
        run_training(cfg, tmp_path / "run", quiet=True, arrays=low_rank_arrays)
    exc = info.value
    msg = str(exc)
    assert f"diverged at step {exc.time}" in msg and "first affected: " in msg and "hint:" in msg
    assert "sigma_w_sq > 2" in msg and "last good checkpoint" in msg
    assert exc.cause.startswith(("layer", "encoder layer", "decoder layer", "the loss"))
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["failure"]["kind"] == "divergence"
    assert meta["failure"]["where"]["step"] == exc.time
    store = CheckpointStore(tmp_path / "run" / "checkpoints")
    state = store.load(store.latest())
    assert state["step"] < exc.time
    assert all(bool(torch.isfinite(t).all()) for t in state["model"].values())
    assert pd.read_csv(tmp_path / "run" / "history.csv")["step"].max() < exc.time


def test_diagnose_names_the_first_layer_with_infinite_weights(low_rank_arrays):
    from aelab.train.loop import diagnose
    from aelab.train.models import DeepAutoencoder

    model = DeepAutoencoder([24, 10, 10, 10, 5], encoder="relu")
    x = torch.from_numpy(np.array(low_rank_arrays.train[:8]))
    assert diagnose(model, x)[0] == "the loss"
    with torch.no_grad():
        model.weight[2][0, 0] = float("inf")
    assert diagnose(model, x) == ("layer 3: W_3", "non-finite weights")
    with torch.no_grad():
        model.weight[2][0, 0] = 0.0
        model.weight[2].fill_(1e38)
    assert diagnose(model, x)[0] == "encoder layer 3 (x_3)"


def test_sampler_partitions_each_epoch_and_depends_only_on_the_step():
    s = EpochSampler(103, 10, (5, 0))
    epoch0 = torch.cat([s.indices(t) for t in range(10)])
    assert len(set(epoch0.tolist())) == 100  # drop-last: 10 full batches of distinct rows
    fresh = EpochSampler(103, 10, (5, 0))
    assert torch.equal(fresh.indices(23), s.indices(23))
    assert not torch.equal(s.indices(0), s.indices(10))  # a new permutation each epoch
    assert s.epoch(20) == pytest.approx(2.0) and s.epoch(25) == pytest.approx(2.5)


def test_normalised_loss_formula():
    x = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    xh = torch.tensor([[3.0, 2.0], [0.0, 0.0]])
    assert float(normalised_loss(xh, x)) == pytest.approx((4.0 / 25.0 + 1.0) / 2)


def test_bad_run_inputs_are_config_errors_and_write_nothing(tmp_path, low_rank_arrays):
    with pytest.raises(ConfigError, match="n_0 = 700 does not match the data"):
        run_training(_config(model={"width": [700, 16, 8, 4]}), tmp_path / "a", arrays=low_rank_arrays)
    with pytest.raises(ConfigError, match="batch_size: 1000 is larger than the data set"):
        run_training(_config(train={"batch_size": 1000}), tmp_path / "b", arrays=low_rank_arrays)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="--device cuda"):
            run_training(_config(), tmp_path / "c", arrays=low_rank_arrays, device="cuda")
    with pytest.raises(ConfigError, match="--resume"):
        run_training(_config(), tmp_path / "d", arrays=low_rank_arrays, resume=True)
    assert not any((tmp_path / name).exists() for name in "abcd")
