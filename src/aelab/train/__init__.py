"""Deep autoencoders in torch: models, initialisers, layer-wise pretraining, the training loop.

>>> from aelab.train import TrainConfig, run
>>> config = TrainConfig().with_overrides({"model.depth": 20, "init.scheme": "advisor"})
>>> result = run(config, out="runs/ae20")            # doctest: +SKIP
>>> result.history.tail(); result.model              # doctest: +SKIP

Importing this package is cheap (no torch); names load from their modules on first use:
:class:`TrainConfig` (:mod:`~aelab.train.config`), :func:`run` and :class:`TrainResult`
(:mod:`~aelab.train.training`), :class:`DeepAutoencoder` (:mod:`~aelab.train.models`), the
initialisers (:mod:`~aelab.train.init`: :func:`init_autoencoder_` and :func:`li_nguyen_` fill any
``torch.nn.Sequential`` autoencoder in place, in the style of ``torch.nn.init``), :func:`pretrain`
(:mod:`~aelab.train.pretraining`) and :class:`Trainer`.
"""

from aelab._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config",
    "TrainResult": "training",
    "run": "training",
    "run_training": "training",
    "DeepAutoencoder": "models",
    "initialise": "init",
    "init_autoencoder_": "init",
    "li_nguyen_": "init",
    "autoencoder_layers": "init",
    "pretrain": "pretraining",
    "Trainer": "loop",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
