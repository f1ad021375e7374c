"""Arora, Liang & Ma (2015): the recovery error of reversible random-like nets against rho n, k, tau and depth.

The paper proves ||h^ - h||^2 <= O~(k/(rho n)) ||h||^2 for one layer; the figure puts the exact
expected error (theory lines, docs/reversible.md) next to simulation (markers) for the three
inference rules (no ReLU, ReLU with b = 0, ReLU with b = -tau ||x||), exact support recovery, the
error against the threshold and against depth.
"""

from __future__ import annotations

from pathlib import Path

from aelab.experiments import reproduction


@reproduction("reversible-error-scan", paper="Arora, Liang & Ma 2015",
              description="recovery error vs rho n, k, tau, depth: exact theory and simulation")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.results import RunFolder
    from aelab.reversible import ErrorConfig, ScanConfig, scan

    if quick:
        base = ErrorConfig(hidden=100, sparsity=4, visible=500, trials=100, matrices=10, seed=seed)
        config = ScanConfig(base=base, points=4, theory_points=24, max_layers=3)
    else:
        # 25 weight draws per point: the standard errors (batch means over weight draws) are reliable.
        base = ErrorConfig(hidden=1000, sparsity=10, visible=5000, trials=1000, matrices=25, seed=seed)
        config = ScanConfig(base=base, points=8, theory_points=60, max_layers=4)
    scan(config, progress=not quiet).save(RunFolder(out_dir))  # the folder's record becomes the scan's
