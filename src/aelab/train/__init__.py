"""Deep autoencoders in torch: models, initialisers, layer-wise pretraining, the training loop.

Importing this package is cheap (no torch); names load from their modules on first use:

* :class:`TrainConfig` (:mod:`aelab.train.config`): the configuration of ``aelab train``;
* :class:`DeepAutoencoder` (:mod:`aelab.train.models`): weight-tied or untied, with batch norm,
  residual connections, dropout;
* :mod:`aelab.train.init`: ``gaussian_``, ``xavier_uniform_``, ``he_``, ``orthogonal_``, ``lsuv_``,
  :func:`initialise` by name; :func:`pretrain` (:mod:`aelab.train.pretrain`);
* :class:`Trainer` (:mod:`aelab.train.loop`) and :func:`run_training` (:mod:`aelab.train.run`).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TrainConfig", "DeepAutoencoder", "initialise", "pretrain", "Trainer", "run_training"]

_NAMES = {
    "TrainConfig": "aelab.train.config",
    "DeepAutoencoder": "aelab.train.models",
    "initialise": "aelab.train.init",
    "pretrain": "aelab.train.pretrain",
    "Trainer": "aelab.train.loop",
    "run_training": "aelab.train.run",
}


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_NAMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
