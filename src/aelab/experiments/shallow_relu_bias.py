"""ReLU autoencoders need a trained bias (Refinetti & Goldt 2022, sec. 3.2): the floor without a bias
in theory and SGD, why a lone unit cannot use a bias, and the bias removing the floor once the
network has a unit to spare.

Run folder: ``curves.csv`` (pmse against t, ODE and SGD, four networks), ``summary.csv`` (final
errors, the derived floor, residual variance fractions per principal direction, fixed points and
the number of escape directions a trained bias opens), ``ratio.csv`` (r(mu)), ``meta.json`` and
``figure.png``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

#: name -> (spikes, K, trained bias)
NETWORKS = {
    "1 unit, 1 spike, no bias": ([1.0], 1, False),
    "1 unit, 1 spike, bias": ([1.0], 1, True),
    "3 units, 2 spikes, no bias": ([1.0, 0.5], 3, False),
    "3 units, 2 spikes, bias": ([1.0, 0.5], 3, True),
}
BULK = 0.01


def _config(D: int, spikes, K: int, bias: bool, time: float, seeds: list[int], points: int):
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig

    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": spikes, "bulk": BULK},
        "model": {"K": K, "activation": "relu", "bias": bias, "init_std": 0.1},
        "train": {"lr": 1.0, "time": time, "seeds": seeds},
        "output": {"points": points, "spacing": "log", "pcs": 2},
    })


@reproduction("shallow-relu-bias", paper="Refinetti & Goldt 2022",
              description="ReLU floor without bias (half of each PC's variance) and its removal by a trained bias")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.results import RunFolder
    from aelab.shallow.fixed_points import find_fixed_point, jacobian
    from aelab.shallow.ode import integrate
    from aelab.shallow.relu_bias import bias_free_floor, relu_variance_ratio, residual_fractions
    from aelab.shallow.simulation import simulate
    from aelab.shallow.theory import initial_state, ode_system
    from aelab.shallow.state import order_parameters

    D = 300 if quick else 1000
    t_ode = 1000.0 if quick else 3000.0
    t_sgd = 100.0 if quick else 300.0
    seeds = [seed + i for i in range(2 if quick else 4)]
    folder = RunFolder(out_dir)
    folder.write_config({"D": D, "bulk": BULK, "networks": {k: list(v) for k, v in NETWORKS.items()},
                         "ode_time": t_ode, "sgd_time": t_sgd, "seeds": seeds, "quick": quick})
    curves, summary = [], []
    for name, (spikes, K, bias) in NETWORKS.items():
        cfg = _config(D, spikes, K, bias, t_ode, seeds, 60)
        system = ode_system(cfg)
        cov = system.cov
        times = np.concatenate([[0.0], np.geomspace(0.1, t_ode, 80)])
        states = integrate(system, initial_state(cfg), times)
        ops = [order_parameters(s, cov, system.act) for s in states]
        curves.append(pd.DataFrame({"network": name, "side": "theory", "t": times, "pmse": [o.pmse for o in ops],
                                    "pmse_sem": np.nan}))
        sgd_cfg = _config(D, spikes, K, bias, t_sgd, seeds, 25)
        sim, frames, _ = simulate(sgd_cfg, sgd_cfg.time_grid(), quiet=quiet)
        curves.append(pd.DataFrame({"network": name, "side": "sgd", "t": sim["t"], "pmse": sim["pmse"],
                                    "pmse_sem": sim["pmse_sem"]}))
        fp = find_fixed_point(system, states[-1])
        row = {"network": name, "K": K, "spikes": len(spikes), "bias": bias, "pca_error": cov.pca_error(len(spikes)),
               "floor": bias_free_floor(cov, min(K, len(spikes))), "ode_final": ops[-1].pmse,
               "sgd_final": float(sim["pmse"].iloc[-1]), "sgd_final_sem": float(sim["pmse_sem"].iloc[-1]),
               "ode_at_sgd_end": float(np.interp(t_sgd, times, [o.pmse for o in ops])),
               "fixed_point_converged": fp.converged, "fixed_point_pmse": fp.pmse, "n_unstable": fp.n_unstable,
               "n_zero": fp.n_zero}
        for tau, f in enumerate(residual_fractions(states[-1], cov, system.act)):
            row[f"residual_pc{tau + 1}"] = float(f)
        if not bias and fp.converged:
            # the same fixed point when the biases are trained too (biases at 0)
            J = jacobian(dataclasses.replace(system, train_bias=True), fp.state)
            ev = np.linalg.eigvals(J).real
            row["escape_directions_with_bias"] = int(np.sum(ev > 1e-6 * np.abs(ev).max()))
            row["largest_eigenvalue_with_bias"] = float(ev.max())
        summary.append(row)
    mu = np.linspace(-3, 3, 121)
    ratio = pd.DataFrame({"mu": mu, "ratio": relu_variance_ratio(mu)})
    curves_df, summary_df = pd.concat(curves, ignore_index=True), pd.DataFrame(summary)
    folder.write_table("curves.csv", curves_df)
    folder.write_table("summary.csv", summary_df)
    folder.write_table("ratio.csv", ratio)
    _figure(curves_df, summary_df, ratio, folder.file("figure.png"))
    folder.finish(seeds=seeds, summary=summary_df.to_dict(orient="records"))


def _figure(curves, summary, ratio, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(3, 1, width=4.4, height=3.5)
    ax = axes[0, 0]
    ax.plot(ratio["mu"], ratio["ratio"], color=COLORS[0])
    ax.axhline(0.5, color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("standardised bias μ = m / β")
    ax.set_ylabel("variance fraction recovered")
    ax.set_title("a lone ReLU unit: r(μ) ≤ 1/2", fontsize=9)
    for j, group in enumerate((list(NETWORKS)[:2], list(NETWORKS)[2:])):
        ax = axes[0, j + 1]
        for i, name in enumerate(group):
            th = curves[(curves.network == name) & (curves.side == "theory") & (curves.t > 0)]
            sg = curves[(curves.network == name) & (curves.side == "sgd") & (curves.t > 0)]
            theory_and_simulation(ax, th["t"], th["pmse"], sg["t"], sg["pmse"], sg["pmse_sem"], label=name,
                                  color=COLORS[i])
        row = summary[summary.network == group[0]].iloc[0]
        ax.axhline(row["pca_error"], color="0.5", ls="--", lw=0.8)
        ax.text(0.12, row["pca_error"], "PCA", fontsize=7, color="0.4", va="bottom")
        if j == 0:
            ax.axhline(row["floor"], color="k", ls=":", lw=0.8)
            ax.text(0.12, row["floor"], "PCA + ρ/(2D): half the PC's variance", fontsize=7, va="bottom")
        else:
            n = int(row.get("escape_directions_with_bias", 0) or 0)
            ax.text(0.12, row["ode_final"] * 1.15, f"no bias: stable fixed point; a trained bias opens {n} "
                    "escape directions", fontsize=6, va="bottom")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("pmse")
        ax.legend(fontsize=6, loc="lower left")
    axes[0, 1].set_title("lone unit: stuck at half the variance", fontsize=9)
    axes[0, 2].set_title("a spare unit: the bias removes the floor", fontsize=9)
    save_figure(fig, path)
