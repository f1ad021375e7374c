"""Finite training sets: SGD cycling over N samples against the online theory, as a function of
N and of alpha = N / D (an extension of Refinetti & Goldt 2022, whose equations are for online SGD).

Run folder: ``curves.csv`` (online ODE, and population / training error of finite-data SGD
against t), ``final.csv`` (final gaps over N at every D, with the prediction
:func:`aelab.shallow.finite_data.finite_sample_excess`), ``parting.csv`` (where the curves part),
``meta.json`` and ``figure.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

SPIKES = [1.0, 0.5]
BULK = 0.5


def _config(D: int, act: str, time: float, seeds: list[int]):
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig

    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": SPIKES, "bulk": BULK},
        "model": {"K": len(SPIKES), "activation": act, "init_std": 0.1},
        "train": {"lr": 1.0, "time": time, "seeds": seeds},
        "output": {"points": 21, "spacing": "linear", "pcs": 2},
    })


@reproduction("shallow-finite-data", paper="Refinetti & Goldt 2022",
              description="extension: SGD cycling over N samples vs the online ODE; gap ~ K bulk / N, not N/D")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.results import RunFolder
    from aelab.shallow.finite_data import finite_data_sgd, finite_sample_excess, parting_time
    from aelab.shallow.theory import run_theory

    Ds = [100, 400] if quick else [250, 1000, 4000]
    Ns = [4, 16, 64, 256] if quick else [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    T = 30.0 if quick else 60.0
    seeds = [seed + i for i in range(2 if quick else 4)]
    acts = ["linear"] if quick else ["linear", "erf"]
    folder = RunFolder(out_dir)
    folder.write_config({"D": Ds, "N": Ns, "spikes": SPIKES, "bulk": BULK, "time": T, "seeds": seeds,
                         "activations": acts, "quick": quick})
    curves, final, parting = [], [], []
    for act in acts:
        for D in Ds:
            cfg = _config(D, act, T, seeds)
            times = cfg.time_grid()
            online, _ = run_theory(cfg, times)
            curves.append(pd.DataFrame({"activation": act, "D": D, "N": 0, "t": times, "pmse": online["pmse"],
                                        "train_pmse": np.nan}))
            for N in Ns:
                frames = [finite_data_sgd(cfg, N, s, times) for s in seeds]
                pop = np.mean([f["pmse"] for f in frames], axis=0)
                train = np.mean([f["train_pmse"] for f in frames], axis=0)
                curves.append(pd.DataFrame({"activation": act, "D": D, "N": N, "t": times, "pmse": pop,
                                            "train_pmse": train}))
                delta = finite_sample_excess(cfg.data.covariance(), len(SPIKES), N)
                final.append({"activation": act, "D": D, "N": N, "alpha": N / D,
                              "population_gap": float(pop[-1] - online["pmse"].iloc[-1]),
                              "population_gap_sem": float(np.std([f["pmse"].iloc[-1] for f in frames], ddof=1)
                                                          / np.sqrt(len(frames))),
                              "training_gap": float(train[-1] - online["pmse"].iloc[-1]),
                              "predicted": delta, "online_final": float(online["pmse"].iloc[-1])})
                p = parting_time(times, pop, online["pmse"].to_numpy(), N / D)
                parting.append({"activation": act, "D": D, "N": N, "alpha": N / D, "time": p.time,
                                "passes": p.passes, "final_relative_gap": p.final_gap})
    curves_df, final_df, parting_df = pd.concat(curves, ignore_index=True), pd.DataFrame(final), pd.DataFrame(parting)
    folder.write_table("curves.csv", curves_df)
    folder.write_table("final.csv", final_df)
    folder.write_table("parting.csv", parting_df)
    _figure(curves_df, final_df, Ds, folder.file("figure.png"))
    folder.finish(seeds=seeds,
                  parting_N={f"{a}_D{D}": _smallest_joined(parting_df, a, D) for a in acts for D in Ds})


def _smallest_joined(parting: pd.DataFrame, act: str, D: int) -> float | None:
    """The smallest N from which on the finite-data curve never parts from the online one (5%)."""
    sub = parting[(parting.activation == act) & (parting.D == D)].sort_values("N")
    never = np.isinf(sub["time"].to_numpy())
    for i in range(len(sub)):
        if never[i:].all():
            return float(sub["N"].iloc[i])
    return None


def _figure(curves, final, Ds, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure

    fig, axes = new_figure(3, 1, width=4.4, height=3.5)
    ax = axes[0, 0]
    act = "linear"
    D = Ds[-1]
    sub = curves[(curves.activation == act) & (curves.D == D)]
    on = sub[sub.N == 0]
    ax.plot(on["t"], on["pmse"], "k-", label="online ODE")
    for i, N in enumerate(sorted(n for n in sub.N.unique() if n > 0)[::2]):
        c = sub[sub.N == N]
        ax.plot(c["t"], c["pmse"], "o", mfc="none", ms=3.5, color=COLORS[i], label=f"N = {N}: test")
        ax.plot(c["t"], c["train_pmse"], "x", ms=3.5, color=COLORS[i], label=f"N = {N}: train")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("pmse")
    ax.set_title(f"{act}, D = {D}", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    for j, x in enumerate(("N", "alpha")):
        ax = axes[0, j + 1]
        for i, D in enumerate(Ds):
            f = final[(final.activation == act) & (final.D == D)]
            ax.plot(f[x], f["population_gap"], "o", color=COLORS[i], label=f"D = {D}: test − online")
            ax.plot(f[x], -f["training_gap"], "x", color=COLORS[i], label=f"D = {D}: online − train")
            ax.plot(f[x], f["predicted"], "-", color=COLORS[i], lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (training samples)" if x == "N" else "α = N / D")
        ax.set_ylabel("final gap to the online theory")
        ax.legend(fontsize=6)
    axes[0, 1].set_title("lines: Δ ≈ K·bulk / N (first order in 1/N)", fontsize=9)
    axes[0, 2].set_title("no collapse in α = N/D", fontsize=9)
    save_figure(fig, path)
