"""Li & Nguyen (2019), Sec. 3.5, Table 1 and Fig. 4: the 14 initialisation schemes of a deep weight-tied
autoencoder trained on MNIST in the paper's two settings, next to the theory's classes.

``li-nguyen-training`` runs the paper's sizes (encoder depth 100, width 400, batch 250, 5e5 steps:
a GPU job, resumable); ``li-nguyen-training-cpu`` a preset that finishes in minutes on a CPU.
Both run a CI-sized version with ``--quick``.
"""

from __future__ import annotations

from pathlib import Path

from aelab.experiments import reproduction


@reproduction("li-nguyen-training", paper="Li & Nguyen 2019",
              description="14 init schemes, 200-layer tied tanh/ReLU AE on MNIST (GPU job); loss vs theory class")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.train.li_nguyen import run_study

    run_study("quick" if quick else "full", out_dir, seed=seed, quiet=quiet)


@reproduction("li-nguyen-training-cpu", paper="Li & Nguyen 2019",
              description="the same 14 schemes at a CPU size (L=20, width 128, 2000 steps): minutes")
def run_cpu(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.train.li_nguyen import run_study

    run_study("quick" if quick else "cpu", out_dir, seed=seed, quiet=quiet)
