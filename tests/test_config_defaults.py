"""Strict types hold for every configuration in the package: each StrictModel loads its own
defaults and its own dump, and the example files load."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import aelab
from aelab.config import StrictModel, load_config, validate_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _all_models() -> list[type[StrictModel]]:
    for info in pkgutil.walk_packages(aelab.__path__, "aelab."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional area (torch, dask) that is not installed
                continue
    found, todo = [], list(StrictModel.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


MODELS = [m for m in _all_models() if not any(f.is_required() for f in m.model_fields.values())]


def test_models_were_found():
    names = {m.__name__ for m in MODELS}
    assert {"ShallowConfig", "DeepConfig", "ErrorConfig", "TrainConfig", "MonteCarloConfig"} <= names


@pytest.mark.parametrize("model", MODELS, ids=[f"{m.__module__}.{m.__qualname__}" for m in MODELS])
def test_defaults_and_their_dump_validate(model):
    default = model()
    again = validate_config(model, default.model_dump(mode="json"))
    assert again == default


def test_the_example_files_load():
    from aelab.shallow.config import ShallowConfig
    from aelab.sweep import load_grid

    assert load_config(ShallowConfig, EXAMPLES / "shallow_demo.toml").model.K == 2
    assert load_grid(EXAMPLES / "sweep_shallow_lr_K.toml").size > 1


def test_strict_scalars_reach_nested_and_list_fields():
    from aelab.errors import ConfigError
    from aelab.shallow.config import ShallowConfig

    import numpy as np

    for data, field in [({"model": {"K": True}}, "model.K"), ({"train": {"seeds": [0, False]}}, "train.seeds.1"),
                        ({"data": {"spikes": [0.5, True]}}, "data.spikes.1"), ({"model": {"tied": 0}}, "model.tied")]:
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            validate_config(ShallowConfig, data)
    cfg = validate_config(ShallowConfig, {"model": {"K": np.int64(3)}, "train": {"lr": np.float32(0.5), "time": 2}})
    assert type(cfg.model.K) is int and cfg.model.K == 3 and type(cfg.train.time) is float
