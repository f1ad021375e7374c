"""Denoising autoencoders trained by online SGD (docs/shallow-denoising.md): the exact dynamics next
to SGD for several noise levels, what the skip connection does, and real images with noise.

* ``denoising-dynamics``: theory lines through SGD markers for several Delta, tied and untied,
  with and without a skip; and the largest theory-SGD gap of one setting at growing D.
* ``denoising-skip``: the long-time error with and without a skip against the truncated Wiener
  filter (linear) and for erf, the learned skip against s*, and which principal directions the
  hidden units learn as Delta grows, and when (escape times).
* ``denoising-real-data``: Fashion-MNIST and CIFAR-10 grayscale with Gaussian noise: the ODE of the
  Gaussian model with the images' covariance, SGD on the noisy images and Gaussian-equivalent SGD.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

PAPER = "Cui & Zdeborova 2023"
SPIKES, BULK = [1.0, 0.5], 0.3


def _config(*, D: int, noise: float, skip: bool, tied: bool = False, act: str = "erf", K: int = 2,
            spikes=SPIKES, time: float, seeds: list[int], points: int, spacing: str = "log", init: float = 0.1,
            lr: float = 1.0):
    from aelab.config import validate_config
    from aelab.shallow.config import ShallowConfig

    return validate_config(ShallowConfig, {
        "data": {"D": D, "spikes": list(spikes), "bulk": BULK},
        "model": {"K": K, "activation": act, "tied": tied, "skip": skip, "init_std": init},
        "train": {"lr": lr, "time": time, "seeds": seeds, "input_noise": noise},
        "output": {"points": points, "spacing": spacing, "pcs": len(spikes)},
    })


def _gap(theory: pd.DataFrame, simulation: pd.DataFrame) -> float:
    return float(np.max(np.abs(theory["pmse"].to_numpy() - simulation["pmse"].to_numpy())))


@reproduction("denoising-dynamics", paper=PAPER,
              description="denoising autoencoders: ODE vs SGD for several noise levels, tied/untied, with/without skip")
def run_dynamics(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import aelab
    from aelab.results import RunFolder

    D = 300 if quick else 1000
    noises = [0.0, 0.3, 1.0] if quick else [0.0, 0.1, 0.3, 1.0, 3.0]
    seeds = [seed + i for i in range(3 if quick else 8)]
    time = 20.0 if quick else 60.0
    folder = RunFolder(out_dir)
    folder.write_config({"D": D, "spikes": SPIKES, "bulk": BULK, "noises": noises, "seeds": seeds, "time": time,
                         "quick": quick})
    rows, finals = [], []
    for tied in (False, True):
        for skip in (False, True):
            for noise in noises:
                cfg = _config(D=D, noise=noise, skip=skip, tied=tied, time=time, seeds=seeds, points=14)
                r = aelab.shallow.run(cfg, progress=not quiet)
                for side, table in (("theory", r.theory), ("simulation", r.simulation)):
                    part = table[["t", "pmse"] + (["s"] if skip else [])].copy()
                    part["pmse_sem"] = table["pmse_sem"] if "pmse_sem" in table else np.nan
                    rows.append(part.assign(tied=tied, skip=skip, noise=noise, side=side))
                finals.append({"tied": tied, "skip": skip, "noise": noise, "theory": r.theory["pmse"].iloc[-1],
                               "simulation": r.simulation["pmse"].iloc[-1],
                               "simulation_sem": r.simulation["pmse_sem"].iloc[-1],
                               "max_gap": _gap(r.theory, r.simulation)})
    curves, final = pd.concat(rows, ignore_index=True), pd.DataFrame(finals)
    gaps = []
    for Dg in ([250, 1000] if quick else [250, 1000, 4000]):
        cfg = _config(D=Dg, noise=0.3, skip=True, time=10.0, seeds=[seed + i for i in range(6)], points=9,
                      spacing="linear")
        r = aelab.shallow.run(cfg, progress=not quiet)
        gaps.append({"D": Dg, "max_gap": _gap(r.theory, r.simulation),
                     "rms_gap": float(np.sqrt(np.mean((r.theory["pmse"] - r.simulation["pmse"]) ** 2))),
                     "sem": float(r.simulation["pmse_sem"].max())})
    gaps = pd.DataFrame(gaps)
    folder.write_table("curves.csv", curves)
    folder.write_table("final.csv", final)
    folder.write_table("gaps.csv", gaps)
    _dynamics_figure(curves, noises, folder.file("figure.png"))
    folder.finish(seeds=seeds, gaps=gaps.to_dict(orient="records"), largest_gap=float(final["max_gap"].max()))


def _dynamics_figure(curves: pd.DataFrame, noises, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(2, 2, width=4.4, height=3.3)
    for i, tied in enumerate((False, True)):
        for j, skip in enumerate((False, True)):
            ax = axes[i, j]
            for c, noise in enumerate(noises):
                sel = curves[(curves.tied == tied) & (curves.skip == skip) & (curves.noise == noise)]
                th, si = sel[sel.side == "theory"], sel[sel.side == "simulation"]
                theory_and_simulation(ax, th["t"], th["pmse"], si["t"], si["pmse"], si["pmse_sem"],
                                      color=COLORS[c % len(COLORS)], label=f"Δ = {noise:g}")
            ax.set_xscale("symlog", linthresh=0.05)
            ax.set_xlim(left=0.0)
            ax.set_yscale("log")
            ax.set_xlabel("t (SGD steps / D)")
            ax.set_ylabel("pmse (clean target)")
            ax.set_title(f"{'tied' if tied else 'untied'}, {'skip' if skip else 'no skip'}", fontsize=9)
            ax.legend(fontsize=6)
    save_figure(fig, path)


@reproduction("denoising-skip", paper=PAPER,
              description="what the skip does: error vs the truncated Wiener filter, the learned skip, the order "
                          "in which the units learn the principal directions as the noise grows")
def run_skip(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import aelab
    from aelab.results import RunFolder
    from aelab.shallow.denoising import wiener_optimum

    D = 200 if quick else 500
    noises = list(np.geomspace(0.05, 5.0, 5 if quick else 11))
    spikes = [1.0, 0.6, 0.3]
    time_long = 1500.0 if quick else 5000.0
    folder = RunFolder(out_dir)
    folder.write_config({"D": D, "spikes": spikes, "bulk": BULK, "noises": noises, "time": time_long,
                         "quick": quick})
    rows, escapes = [], []
    for noise in noises:
        for act in ("linear", "erf"):
            for skip in (False, True):
                cfg = _config(D=D, noise=float(noise), skip=skip, act=act, K=2, spikes=spikes, time=time_long,
                              seeds=[seed], points=40, init=0.01, lr=1.0)
                th = aelab.shallow.run(cfg, simulation=False, progress=not quiet).theory
                cov = cfg.data.covariance()
                opt = wiener_optimum(cov, 2, float(noise), skip=skip)
                rows.append({"noise": noise, "activation": act, "skip": skip, "pmse": th["pmse"].iloc[-1],
                             "wiener": opt.pmse, "s": th["s"].iloc[-1] if skip else 0.0, "s_optimal": opt.skip,
                             "wiener_directions": " ".join(str(d + 1) for d in opt.directions)})
                if act == "erf":
                    for k in (1, 2):
                        for m in (1, 2, 3):
                            overlap = np.abs(th[f"overlap_v{k}_pc{m}"].to_numpy())
                            learned = overlap[-1] > 0.1  # the unit ends with this direction
                            reached = np.flatnonzero(overlap >= 0.5 * overlap[-1])
                            escapes.append({"noise": noise, "skip": skip, "unit": k, "pc": m,
                                            "final_overlap": float(overlap[-1]),
                                            "escape_time": float(th["t"].iloc[reached[0]]) if learned else np.inf})
    summary, escape = pd.DataFrame(rows), pd.DataFrame(escapes)
    folder.write_table("summary.csv", summary)
    folder.write_table("escapes.csv", escape)
    _skip_figure(summary, escape, folder.file("figure.png"))
    linear = summary[summary.activation == "linear"]
    folder.finish(seeds=[seed], linear_max_relative_gap=float(np.max(np.abs(linear.pmse / linear.wiener - 1))))


def _skip_figure(summary: pd.DataFrame, escape: pd.DataFrame, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure

    fig, axes = new_figure(3, 1, width=4.2, height=3.3)  # errors, the skip, escape times
    ax = axes[0, 0]
    for c, (act, skip) in enumerate([("linear", False), ("linear", True), ("erf", False), ("erf", True)]):
        sel = summary[(summary.activation == act) & (summary.skip == skip)]
        ax.plot(sel.noise, sel.pmse, "o" if act == "linear" else "x", color=COLORS[c], ms=6 if act == "linear" else 5,
                mfc="none", label=f"{act}, {'skip' if skip else 'no skip'}")
    for skip, ls in ((False, "--"), (True, "-")):
        sel = summary[(summary.activation == "linear") & (summary.skip == skip)]
        ax.plot(sel.noise, sel.wiener, ls, color="k", lw=0.9, label=f"Wiener, {'skip' if skip else 'no skip'}")
    ax.set_xscale("log")
    ax.set_xlabel("Δ")
    ax.set_ylabel("long-time pmse")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    for c, act in enumerate(("linear", "erf")):
        sel = summary[(summary.activation == act) & summary.skip]
        ax.plot(sel.noise, sel.s, "o" if act == "linear" else "x", color=COLORS[2 * c + 1], ms=6 if act == "linear" else 5,
                mfc="none", label=f"s, {act}")
    sel = summary[(summary.activation == "linear") & summary.skip]
    ax.plot(sel.noise, sel.s_optimal, "-", color="k", lw=0.9, label="s* (Wiener)")
    ax.set_xscale("log")
    ax.set_xlabel("Δ")
    ax.set_ylabel("learned skip s")
    ax.legend(fontsize=6)
    ax = axes[0, 2]
    for c, m in enumerate((1, 2, 3)):
        sel = escape[(escape.pc == m) & escape.skip].groupby("noise")["escape_time"].min()
        ax.plot(sel.index, sel.values, "o-", color=COLORS[c], ms=4, label=f"PC {m}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Δ")
    ax.set_ylabel("escape time (erf, skip)")
    ax.legend(fontsize=6)
    save_figure(fig, path)


@reproduction("denoising-real-data", paper=PAPER,
              description="noisy Fashion-MNIST and CIFAR-10 grayscale: ODE vs SGD on the images vs Gaussian SGD")
def run_real_data(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.config import load_config
    from aelab.experiments.shallow_real_data import plot_cases
    from aelab.results import RunFolder
    from aelab.shallow.real_data import RealDataConfig, run_real_data as run_case

    seeds = [seed + i for i in range(2 if quick else 3)]
    names = ["fashion-mnist"] if quick else ["fashion-mnist", "cifar10"]
    noise = 0.5
    folder = RunFolder(out_dir)
    folder.write_config({"data": names, "noise": noise, "seeds": seeds, "quick": quick})
    rows = []
    for name in names:
        data = {"name": name, **({"samples": 10_000, "eval_samples": 2_000} if quick else {})}
        cfg = load_config(RealDataConfig, {
            "data": data, "model": {"K": 4, "activation": "erf", "skip": True, "init_std": 0.1},
            "train": {"lr": 1.0, "time": 30.0 if quick else 150.0, "seeds": seeds, "input_noise": noise},
            "output": {"points": 14 if quick else 30}})
        res = run_case(cfg, folder.file(name), quiet=quiet)
        rows.append({"case": name, **{f"{k}_{m}": v for k, g in res["gaps"].items() for m, v in g.items()},
                     "final_theory": res.get("theory_pmse"), "final_images": res.get("images_pmse"),
                     "final_gaussian": res.get("gaussian_pmse")})
    gaps = pd.DataFrame(rows)
    folder.write_table("gaps.csv", gaps)
    plot_cases(folder, names, folder.file("figure.png"))
    folder.finish(seeds=seeds, largest_relative_gap_theory_vs_images=float(gaps["theory_vs_images_max_rel"].max()),
                  gaps=gaps.to_dict(orient="records"))
