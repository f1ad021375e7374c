"""Arora, Liang & Ma (2015): training with synthetic ("shadow") data from the reversed net, and how
random-like the trained weights are.

A fully-connected ReLU classifier on MNIST and Fashion-MNIST, with and without synthetic data,
with and without dropout, over seeds (table and figure), and the random-likeness statistics of its
weights against Gaussian matrices of the same shape. The data directory is ``$AELAB_DATA``.
"""

from __future__ import annotations

from pathlib import Path

from aelab.experiments import reproduction


@reproduction("reversible-shadow", paper="Arora, Liang & Ma 2015",
              description="shadow-data training of a ReLU classifier (MNIST, Fashion-MNIST); random-like weights")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.reversible.shadow import ShadowConfig, quick_config, run_shadow

    config = quick_config(seeds=(seed,)) if quick else ShadowConfig(seeds=(seed, seed + 1, seed + 2))
    run_shadow(config, out_dir, quiet=quiet)
