"""Exact principal components (Refinetti & Goldt 2022, sec. 3.3): truncated SGD, in which unit k
reconstructs only what units 1..k leave, and Sanger's rule for tied linear networks make each unit
converge to its own principal component; vanilla SGD learns only their span.

Run folder: ``overlaps.csv`` (final |cos(v_k, e_m)|, ODE and SGD, every rule), ``curves.csv``
(pmse against t), ``summary.csv`` (distance of the overlap matrix to the identity),
``meta.json`` and ``figure.png`` (the overlap matrices, vanilla beside truncated).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

SPIKES = [1.0, 0.5, 0.25]
BULK = 0.05
#: name -> (activation, rule); "sanger": the tied linear network with the truncated rule (Sanger's rule)
RULES = {
    "linear vanilla": ("linear", "vanilla"),
    "linear truncated": ("linear", "truncated"),
    "linear tied, Sanger": ("linear", "sanger"),
    "erf vanilla": ("erf", "vanilla"),
    "erf truncated": ("erf", "truncated"),
}


def _config(D: int, act: str, rule: str, time: float, seeds: list[int], points: int):
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig

    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": SPIKES, "bulk": BULK},
        "model": {"K": len(SPIKES), "activation": act, "init_std": 0.1, "tied": rule == "sanger"},
        "train": {"lr": 1.0, "time": time, "seeds": seeds, "rule": "truncated" if rule == "sanger" else rule},
        "output": {"points": points, "spacing": "linear", "pcs": len(SPIKES)},
    })


def _overlaps_from_row(row, K: int) -> np.ndarray:
    """|cos(v_k, e_m)| from one row of observables (overlap_v{k}_pc{m} = v_k . e_m / sqrt(D))."""
    O = np.empty((K, K))
    for k in range(K):
        norm = np.sqrt(row[f"T0_{k + 1}_{k + 1}"])
        for m in range(K):
            O[k, m] = abs(row[f"overlap_v{k + 1}_pc{m + 1}"]) / norm
    return O


@reproduction("shallow-exact-pcs", paper="Refinetti & Goldt 2022",
              description="truncated SGD and Sanger's rule learn the exact PCs; overlap matrices vs vanilla")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.results import RunFolder
    from aelab.shallow.sanger import identity_distance
    from aelab.shallow.simulation import aggregate_seeds, simulate
    from aelab.shallow.theory import run_theory

    D = 400 if quick else 2000
    T = 80.0 if quick else 200.0
    seeds = [seed + i for i in range(2 if quick else 6)]
    K = len(SPIKES)
    folder = RunFolder(out_dir)
    folder.write_config({"D": D, "spikes": SPIKES, "bulk": BULK, "init_std": 0.1, "lr": 1.0, "time": T,
                         "seeds": seeds, "rules": {k: list(v) for k, v in RULES.items()}, "quick": quick})
    overlap_rows, curve_rows, summary = [], [], []
    for name, (act, rule) in RULES.items():
        cfg = _config(D, act, rule, T, seeds, 41)
        times = cfg.time_grid()
        th, _ = run_theory(cfg, times)  # a tied linear truncated network runs Sanger's rule
        _, frames, _ = simulate(cfg, times, quiet=quiet)
        sim = aggregate_seeds(frames)
        O_th = _overlaps_from_row(th.iloc[-1], K)
        O_sgd = np.mean([_overlaps_from_row(f.iloc[-1], K) for f in frames], axis=0)
        for side, O in (("theory", O_th), ("sgd", O_sgd)):
            for k in range(K):
                for m in range(K):
                    overlap_rows.append({"rule": name, "side": side, "unit": k + 1, "pc": m + 1, "overlap": O[k, m]})
        for side, tab in (("theory", th), ("sgd", sim)):
            for t, p in zip(tab["t"], tab["pmse"]):
                curve_rows.append({"rule": name, "side": side, "t": t, "pmse": p})
        summary.append({"rule": name, "identity_distance_theory": identity_distance(O_th),
                        "identity_distance_sgd": identity_distance(O_sgd),
                        "pmse_theory": float(th["pmse"].iloc[-1]), "pmse_sgd": float(sim["pmse"].iloc[-1]),
                        "pca_error": cfg.data.covariance().pca_error(K)})
    overlaps, curves, summary_df = pd.DataFrame(overlap_rows), pd.DataFrame(curve_rows), pd.DataFrame(summary)
    folder.write_table("overlaps.csv", overlaps)
    folder.write_table("curves.csv", curves)
    folder.write_table("summary.csv", summary_df)
    _figure(overlaps, curves, summary_df, folder.file("figure.png"))
    folder.finish(seeds=seeds, summary=summary_df.to_dict(orient="records"))


def _figure(overlaps, curves, summary, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    names = list(RULES)
    fig, axes = new_figure(len(names), 3, width=2.6, height=2.5)
    K = len(SPIKES)
    for j, name in enumerate(names):
        for i, side in enumerate(("theory", "sgd")):
            ax = axes[i, j]
            sub = overlaps[(overlaps.rule == name) & (overlaps.side == side)]
            O = sub.pivot(index="unit", columns="pc", values="overlap").to_numpy()
            ax.imshow(O, vmin=0, vmax=1, cmap="Blues")
            for k in range(K):
                for m in range(K):
                    ax.text(m, k, f"{O[k, m]:.2f}", ha="center", va="center", fontsize=7,
                            color="w" if O[k, m] > 0.6 else "k")
            ax.set_xticks(range(K))
            ax.set_xticklabels([f"PC{m + 1}" for m in range(K)], fontsize=7)
            ax.set_yticks(range(K))
            ax.set_yticklabels([f"unit {k + 1}" for k in range(K)], fontsize=7)
            ax.set_title(f"{name}\n({'ODE' if side == 'theory' else 'SGD'})", fontsize=8)
        ax = axes[2, j]
        th = curves[(curves.rule == name) & (curves.side == "theory")]
        sg = curves[(curves.rule == name) & (curves.side == "sgd")]
        theory_and_simulation(ax, th["t"], th["pmse"], sg["t"], sg["pmse"], None, color=COLORS[0])
        ax.axhline(summary[summary.rule == name]["pca_error"].iloc[0], color="0.5", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("t", fontsize=8)
        ax.set_ylabel("pmse", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    save_figure(fig, path)
