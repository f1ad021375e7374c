"""The practitioners' comparison: depth x activation x {Xavier, He, orthogonal, theory advisor,
layer-wise pretraining, batch norm, residual} x {SGD, Adam} on MNIST and Fashion-MNIST at a fixed
budget, over seeds (docs/train.md answers "do deep autoencoders still need layer-wise
pretraining?" with its numbers).
"""

from __future__ import annotations

from pathlib import Path

from aelab.experiments import reproduction


@reproduction("pretraining-question", paper="practitioners' comparison",
              description="deep AEs: init x activation x optimiser x pretraining/batch norm/residual, fixed budget")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.train.practice import run_comparison

    run_comparison("quick" if quick else "full", out_dir, seed=seed, quiet=quiet)
