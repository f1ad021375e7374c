"""Real images (Refinetti & Goldt 2022, sec. 4): the ODE over all D eigen-directions of the images'
second moment against SGD on the images themselves and on Gaussian inputs with the same second
moment; the largest gap between theory and real-image SGD as a number.

Needs the data sets (``aelab data fetch NAME``, or ``AELAB_DATA`` pointing at a folder that has
them). Quick: Fashion-MNIST, 10,000 training images. Full: CIFAR-10 grayscale (D = 1024),
Fashion-MNIST and MNIST (D = 784) with all training images, and Fashion-MNIST with per-pixel
centring. Run folder: one sub-folder per case (see :func:`aelab.shallow.real_data.run_real_data`),
``gaps.csv`` (largest gaps per case), ``meta.json`` and ``figure.png`` (one panel per case).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction


def _cases(quick: bool, seed: int) -> dict[str, dict]:
    seeds = [seed + i for i in range(2 if quick else 3)]
    base = {"model": {"K": 4, "activation": "erf", "init_std": 0.1},
            "train": {"lr": 1.0, "time": 40.0 if quick else 200.0, "seeds": seeds},
            "output": {"points": 16 if quick else 40, "spacing": "log"}}
    if quick:
        return {"fashion-mnist": {**base, "data": {"name": "fashion-mnist", "samples": 10_000,
                                                   "eval_samples": 2_000}}}
    return {
        "cifar10": {**base, "data": {"name": "cifar10"}},
        "fashion-mnist": {**base, "data": {"name": "fashion-mnist"}},
        "mnist": {**base, "data": {"name": "mnist"}},
        "fashion-mnist-pixel-centred": {**base, "data": {"name": "fashion-mnist", "centring": "pixel"}},
    }


@reproduction("shallow-real-data", paper="Refinetti & Goldt 2022",
              description="ODE vs SGD on CIFAR-10 / Fashion-MNIST / MNIST images vs Gaussian-equivalent SGD")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.config import load_config
    from aelab.results import RunFolder
    from aelab.shallow.real_data import RealDataConfig, run_real_data

    folder = RunFolder(out_dir)
    cases = _cases(quick, seed)
    folder.write_config({"cases": cases, "quick": quick})
    rows, results = [], {}
    for name, spec in cases.items():
        cfg = load_config(RealDataConfig, spec)
        res = run_real_data(cfg, folder.file(name), quiet=quiet)
        results[name] = res
        row = {"case": name, "D": cfg.D, "final_theory": res.get("theory_pmse"),
               "final_images": res.get("images_pmse"), "final_gaussian": res.get("gaussian_pmse")}
        for key, gap in res["gaps"].items():
            row[f"{key}_max_abs"] = gap["max_abs"]
            row[f"{key}_max_rel"] = gap["max_rel"]
            row[f"{key}_time"] = gap["time"]
        rows.append(row)
    gaps = pd.DataFrame(rows)
    folder.write_table("gaps.csv", gaps)
    plot_cases(folder, list(cases), folder.file("figure.png"))
    folder.finish(seeds=cases[next(iter(cases))]["train"]["seeds"], gaps=gaps.to_dict(orient="records"))


def plot_cases(folder, names, path) -> None:
    """One panel per case sub-folder: the ODE line, SGD on the images and on Gaussian inputs, the PCA errors."""
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(len(names), 1, width=4.4, height=3.6)
    for j, name in enumerate(names):
        ax = axes[0, j]
        sub = folder.file(name)
        from aelab.results import load

        result = load(sub)
        th, im, ga = (result.tables[k] for k in ("theory", "images", "gaussian"))
        meta = result.record.details
        theory_and_simulation(ax, th["t"], th["pmse"], label="ODE", color="k")
        theory_and_simulation(ax, None, None, im["t"], im["pmse_images"], im["pmse_images_sem"],
                              label="SGD, images", color=COLORS[0])
        theory_and_simulation(ax, None, None, ga["t"], ga["pmse"], ga["pmse_sem"], label="SGD, Gaussian",
                              color=COLORS[1])
        for level in meta["pca_errors"][1:]:
            ax.axhline(level, color="0.6", lw=0.6, ls="--")
        gap = meta["gaps"].get("theory_vs_images", {})
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlim(left=0.0)
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("|x − x̂|² / D")
        ax.set_title(f"{name}: max |ODE − images| = {gap.get('max_abs', np.nan):.2g}", fontsize=8)
        ax.legend(fontsize=6)
    save_figure(fig, path)
