"""Sequential learning of principal components (Refinetti & Goldt 2022, sec. 3.1): plateaus at the
PCA errors in both theory and SGD, and how the escape times move with the initial weight scale,
the learning rate and the spike strengths.

Run folder: ``curves.csv`` (theory and SGD pmse, linear and erf), ``plateaus.csv`` (detected
plateaus with their nearest PCA rank), ``escapes.csv`` (escape times, theory and SGD),
``sweeps.csv`` (theory escape times over init_std, lr and the second spike), ``meta.json``
(fitted slopes against the linear-regime prediction) and ``figure.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

SPIKES = [2.0, 0.6, 0.18]
BULK = 0.05


def _config(D: int, act: str, init: float, lr: float, spikes: list[float], time: float, points: int,
            seeds: list[int]):
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig

    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": spikes, "bulk": BULK},
        "model": {"K": len(spikes), "activation": act, "init_std": init},
        "train": {"lr": lr, "time": time, "seeds": seeds},
        "output": {"points": points, "spacing": "linear", "pcs": 3},
    })


def _escape_horizon(init: float, lr: float, lam_min: float, dg0: float) -> float:
    """A time safely after the last predicted escape, ln(10/init) / (lr g'(0) lambda_min), times 2.5."""
    return 2.5 * np.log(10.0 / init) / (lr * dg0 * lam_min)


@reproduction("shallow-sequential-pcs", paper="Refinetti & Goldt 2022",
              description="plateaus at the PCA errors and escape times vs init, lr, spike gap (ODE and SGD)")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.activations import get_activation
    from aelab.results import RunFolder
    from aelab.shallow.plateaus import (crossing_times, detect_plateaus, escape_times, fit_log_slope,
                                        linear_escape_rate, match_ranks)
    from aelab.shallow.simulation import simulate
    from aelab.shallow.theory import run_theory

    D = 500 if quick else 2000
    seeds = [seed + i for i in range(2 if quick else 8)]
    init, lr = 1e-3, 1.0
    folder = RunFolder(out_dir)
    settings = {"D": D, "spikes": SPIKES, "bulk": BULK, "init_std": init, "lr": lr, "seeds": seeds, "quick": quick}
    folder.write_config(settings)

    curves, plateau_rows, escape_rows = [], [], []
    pca = None
    for act in ("linear", "erf"):
        dg0 = float(get_activation(act).df(np.array(0.0)))
        T = float(np.ceil(_escape_horizon(init, lr, SPIKES[-1], dg0)))
        cfg = _config(D, act, init, lr, SPIKES, T, 201 if quick else 401, seeds)
        times = cfg.time_grid()
        cov = cfg.data.covariance()
        pca = [cov.pca_error(r) for r in range(len(SPIKES) + 1)]
        th, _ = run_theory(cfg, times)
        sim, _, _ = simulate(cfg, times, quiet=quiet)
        curves.append(pd.DataFrame({"activation": act, "t": times, "theory": th["pmse"], "sgd": sim["pmse"],
                                    "sgd_sem": sim["pmse_sem"]}))
        for side, y, smooth in (("theory", th["pmse"].to_numpy(), 1), ("sgd", sim["pmse"].to_numpy(), 3)):
            found = match_ranks(detect_plateaus(times, y, min_duration=0.02, smooth=smooth), pca)
            for p in found:
                plateau_rows.append({"activation": act, "side": side, "rank": p.rank, "level": p.level,
                                     "pca_error": p.pca_level, "relative_gap": p.relative_gap, "time": p.time,
                                     "start": p.start, "end": p.end})
            for e, (a, b) in zip(escape_times(times, y, found, smooth=smooth), zip(found, found[1:])):
                escape_rows.append({"activation": act, "side": side, "from_rank": a.rank, "to_rank": b.rank,
                                    "time": e.time})

    # sweeps of the escape times (theory): init_std, learning rate, second spike
    sweep_rows = []
    inits = np.geomspace(1e-4, 1e-1, 4 if quick else 10)
    lrs = [0.25, 0.5, 1.0, 2.0]
    lam2s = [0.3, 0.6, 1.2] if quick else [0.3, 0.45, 0.6, 0.9, 1.2]
    for act in ("linear", "erf"):
        dg0 = float(get_activation(act).df(np.array(0.0)))
        for kind, values in (("init_std", inits), ("lr", lrs), ("lambda2", lam2s)):
            for v in values:
                i0 = float(v) if kind == "init_std" else init
                eta = float(v) if kind == "lr" else lr
                spikes = [SPIKES[0], float(v), SPIKES[2]] if kind == "lambda2" else SPIKES
                T = float(np.ceil(_escape_horizon(i0, eta, min(spikes), dg0)))
                cfg = _config(D, act, i0, eta, spikes, T, 1201 if quick else 3001, [seed])
                times = cfg.time_grid()
                cov = cfg.data.covariance()
                th, _ = run_theory(cfg, times)
                esc = crossing_times(times, th["pmse"].to_numpy(), [cov.pca_error(r) for r in range(4)])
                for m, te in enumerate(esc):
                    sweep_rows.append({"activation": act, "parameter": kind, "value": float(v), "escape": m + 1,
                                       "time": te, "rate": linear_escape_rate(eta, cov.eigenvalues[m] / D, dg0)})
    sweeps = pd.DataFrame(sweep_rows)

    # slopes d t_escape / d ln(1/init) against the prediction 1 / (lr g'(0) rho_m / D)
    slopes = {}
    for act in ("linear", "erf"):
        sub = sweeps[(sweeps.activation == act) & (sweeps.parameter == "init_std")]
        for m in (1, 2, 3):
            s = sub[sub.escape == m]
            slope, _ = fit_log_slope(1.0 / s["value"].to_numpy(), s["time"].to_numpy())
            slopes[f"{act}_escape{m}"] = {"fitted": slope, "predicted": float(1.0 / s["rate"].iloc[0])}

    curves_df = pd.concat(curves, ignore_index=True)
    plateaus_df, escapes_df = pd.DataFrame(plateau_rows), pd.DataFrame(escape_rows)
    folder.write_table("curves.csv", curves_df)
    folder.write_table("plateaus.csv", plateaus_df)
    folder.write_table("escapes.csv", escapes_df)
    folder.write_table("sweeps.csv", sweeps)
    _figure(curves_df, plateaus_df, sweeps, pca, slopes, folder.file("figure.png"))
    folder.finish(seeds=seeds, pca_errors=pca, escape_slopes=slopes,
                  plateau_relative_gaps={f"{r.activation}_{r.side}_rank{r.rank}": r.relative_gap
                                         for r in plateaus_df.itertuples()})


def _figure(curves, plateaus, sweeps, pca, slopes, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(2, 2, width=4.8, height=3.5)
    ax = axes[0, 0]
    for i, act in enumerate(("linear", "erf")):
        c = curves[curves.activation == act]
        step = max(1, len(c) // 60)
        theory_and_simulation(ax, c["t"], c["theory"], c["t"][::step], c["sgd"][::step], c["sgd_sem"][::step],
                              label=act, color=COLORS[i])
        p = plateaus[(plateaus.activation == act) & (plateaus.side == "theory")]
        ax.plot(p["time"], p["level"], "x", color=COLORS[i], ms=7)
    for r, level in enumerate(pca):
        ax.axhline(level, color="0.6", lw=0.7, ls="--")
        ax.text(0, level, f"PCA {r}", fontsize=7, color="0.4", va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("pmse")
    ax.set_title("plateaus at the PCA errors (x: detected)", fontsize=9)
    ax.legend(fontsize=6)

    ax = axes[0, 1]
    for i, act in enumerate(("linear", "erf")):
        s = sweeps[(sweeps.activation == act) & (sweeps.parameter == "init_std")]
        for m in (1, 2, 3):
            e = s[s.escape == m]
            x = np.log(1.0 / e["value"])
            ax.plot(x, e["time"], "o" if act == "linear" else "s", color=COLORS[m - 1], mfc="none" if i else None,
                    label=f"{act}, escape {m}")
            slope = slopes[f"{act}_escape{m}"]["predicted"]
            ax.plot(x, e["time"].iloc[0] + slope * (x - x.iloc[0]), "-", color=COLORS[m - 1], lw=0.8)
    ax.set_xlabel("ln(1 / init_std)")
    ax.set_ylabel("escape time")
    ax.set_title("lines: slope 1 / (η g'(0) ρ_m / D)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)

    ax = axes[1, 0]
    for act in ("linear", "erf"):
        s = sweeps[(sweeps.activation == act) & (sweeps.parameter == "lr")]
        for m in (1, 2, 3):
            e = s[s.escape == m]
            ax.plot(e["value"], e["time"] * e["value"], "o-" if act == "linear" else "s--", color=COLORS[m - 1],
                    label=f"{act}, escape {m}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lrs = sorted(sweeps[sweeps.parameter == "lr"]["value"].unique())
    ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
    ax.minorticks_off()
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("η × escape time")
    ax.set_title("η only rescales time", fontsize=9)
    ax.legend(fontsize=6, ncol=2)

    ax = axes[1, 1]
    for i, act in enumerate(("linear", "erf")):
        s = sweeps[(sweeps.activation == act) & (sweeps.parameter == "lambda2") & (sweeps.escape == 2)]
        ax.plot(1.0 / s["value"], s["time"], "o-" if act == "linear" else "s--", color=COLORS[i], label=act)
    ax.set_xlabel("1 / λ₂ (second spike)")
    ax.set_ylabel("escape time from PCA rank 1")
    ax.set_title("escape ∝ 1/λ₂", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path)
