"""Long-time analysis (Refinetti & Goldt 2022, sec. 3.2): fixed points of the ODE and their stability
for tied and untied erf, linear and ReLU autoencoders; the algebraic approach of untied erf
networks to the PCA error.

Run folder: ``curves.csv`` (pmse - PCA error, Q_11 and tr T0 against t, ODE and SGD),
``fixed_points.csv`` (per network: converged, pmse, excess over PCA, unstable / zero eigenvalue
counts), ``eigenvalues.csv`` (the Jacobian spectra), ``meta.json`` (fitted exponents against
-2/3, -1/3, +1/3) and ``figure.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aelab.experiments import reproduction

SPIKES = [1.0, 0.5]

#: name -> model section; the tied erf network starts from larger weights (its decoder is its encoder)
NETWORKS = {
    "untied erf": {"activation": "erf", "tied": False, "init_std": 0.1},
    "tied erf": {"activation": "erf", "tied": True, "init_std": 1.0},
    "untied linear": {"activation": "linear", "tied": False, "init_std": 0.1},
    "untied relu": {"activation": "relu", "tied": False, "init_std": 0.1},
}


def _config(D: int, model: dict, time: float, seeds: list[int], points: int):
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig

    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": SPIKES, "bulk": 0.0},
        "model": {"K": len(SPIKES), **model},
        "train": {"lr": 1.0, "time": time, "seeds": seeds},
        "output": {"points": points, "spacing": "log", "pcs": 2},
    })


@reproduction("shallow-long-time", paper="Refinetti & Goldt 2022",
              description="fixed points and Jacobian spectra; tied erf stuck above PCA, untied erf ~ t^(-2/3)")
def run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.results import RunFolder
    from aelab.shallow.fixed_points import find_fixed_point, power_law_exponent, untied_erf_asymptote
    from aelab.shallow.ode import integrate
    from aelab.shallow.simulation import simulate
    from aelab.shallow.state import order_parameters
    from aelab.shallow.theory import initial_state, ode_system

    D = 300 if quick else 1000
    t_ode = 1e4 if quick else 1e6
    t_sgd = 60.0 if quick else 1000.0
    seeds = [seed + i for i in range(2 if quick else 4)]
    folder = RunFolder(out_dir)
    folder.write_config({"D": D, "spikes": SPIKES, "bulk": 0.0, "lr": 1.0, "networks": NETWORKS, "ode_time": t_ode,
                         "sgd_time": t_sgd, "seeds": seeds, "quick": quick})

    curves, fp_rows, eig_rows = [], [], []
    exponents: dict[str, float] = {}
    for name, model in NETWORKS.items():
        cfg = _config(D, model, t_ode, seeds, 80)
        system = ode_system(cfg)
        cov = system.cov
        pca = cov.pca_error(len(SPIKES))
        times = np.concatenate([[0.0], np.geomspace(0.1, t_ode, 120)])
        states = integrate(system, initial_state(cfg), times, rtol=1e-10, atol=1e-12)
        ops = [order_parameters(s, cov, system.act) for s in states]
        curves.append(pd.DataFrame({"network": name, "side": "theory", "t": times,
                                    "excess": [op.pmse - pca for op in ops], "excess_sem": np.nan,
                                    "Q_1_1": [op.Q[0, 0] for op in ops], "trT0": [np.trace(op.T0) for op in ops]}))
        if name in ("untied erf", "tied erf"):
            sgd_cfg = _config(D, model, t_sgd, seeds, 30)
            sim, _, _ = simulate(sgd_cfg, sgd_cfg.time_grid(), quiet=quiet)
            curves.append(pd.DataFrame({"network": name, "side": "sgd", "t": sim["t"], "excess": sim["pmse"] - pca,
                                        "excess_sem": sim["pmse_sem"], "Q_1_1": sim["Q_1_1"],
                                        "trT0": sum(sim[f"T0_{k}_{k}"] for k in range(1, len(SPIKES) + 1))}))
        fp = find_fixed_point(system, states[-1])
        fp_rows.append({"network": name, "converged": fp.converged, "pmse": fp.pmse, "pca_error": pca,
                        "excess": fp.pmse - pca, "residual": fp.residual, "n_unstable": fp.n_unstable,
                        "n_zero": fp.n_zero, "max_eigenvalue": fp.max_eigenvalue, "ode_final_pmse": ops[-1].pmse})
        for i, ev in enumerate(fp.eigenvalues):
            eig_rows.append({"network": name, "kind": "network", "index": i, "real": ev.real, "imag": ev.imag})
        for i, ev in enumerate(fp.bulk_eigenvalues):
            eig_rows.append({"network": name, "kind": "bulk", "index": i, "real": ev.real, "imag": ev.imag})
        if name == "untied erf":
            late = times > t_ode / 30
            exponents = {"excess": power_law_exponent(times[late], [ops[i].pmse - pca for i in np.flatnonzero(late)]),
                         "Q_1_1": power_law_exponent(times[late], [ops[i].Q[0, 0] for i in np.flatnonzero(late)]),
                         "trT0": power_law_exponent(times[late], [np.trace(ops[i].T0) for i in np.flatnonzero(late)])}
            Qp, T0p, exp_excess = untied_erf_asymptote(times[-1:], 1.0, cov.eigenvalues / D)
            amplitude = {"excess_ratio": float((ops[-1].pmse - pca) / exp_excess[0]),
                         "Q_ratio": float(ops[-1].Q[0, 0] / Qp[0]), "trT0_ratio": float(np.trace(ops[-1].T0) / T0p[0])}

    curves_df = pd.concat(curves, ignore_index=True)
    fps = pd.DataFrame(fp_rows)
    folder.write_table("curves.csv", curves_df)
    folder.write_table("fixed_points.csv", fps)
    folder.write_table("eigenvalues.csv", pd.DataFrame(eig_rows))
    _figure(curves_df, fps, pd.DataFrame(eig_rows), D, folder.file("figure.png"))
    folder.finish(seeds=seeds, untied_erf_exponents=exponents,
                  predicted_exponents={"excess": -2 / 3, "Q_1_1": -1 / 3, "trT0": 1 / 3},
                  untied_erf_amplitude=amplitude,
                  fixed_points=fps.to_dict(orient="records"))


def _figure(curves, fps, eigs, D, path) -> None:
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation
    from aelab.shallow.fixed_points import untied_erf_asymptote

    fig, axes = new_figure(3, 1, width=4.6, height=3.6)
    ax = axes[0, 0]
    for i, name in enumerate(NETWORKS):
        th = curves[(curves.network == name) & (curves.side == "theory") & (curves.t > 0)]
        sg = curves[(curves.network == name) & (curves.side == "sgd") & (curves.t > 0)]
        y = np.maximum(th["excess"], 1e-12)
        theory_and_simulation(ax, th["t"], y, sg["t"] if len(sg) else None,
                              np.maximum(sg["excess"], 1e-12) if len(sg) else None, None, label=name,
                              color=COLORS[i])
    t = np.geomspace(100, curves["t"].max(), 20)
    _, _, ex = untied_erf_asymptote(t, 1.0, np.array(SPIKES))
    ax.plot(t, ex, ":", color="k", label="(Σρ̃/6)(4ηt/π)^(-2/3)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 3)
    ax.set_xlabel("t")
    ax.set_ylabel("pmse − PCA error")
    ax.legend(fontsize=6)
    ax.set_title("approach to the PCA error", fontsize=9)

    ax = axes[0, 1]
    th = curves[(curves.network == "untied erf") & (curves.side == "theory") & (curves.t > 0)]
    sg = curves[(curves.network == "untied erf") & (curves.side == "sgd") & (curves.t > 0)]
    theory_and_simulation(ax, th["t"], th["Q_1_1"], sg["t"], sg["Q_1_1"], label="Q₁₁", color=COLORS[0])
    theory_and_simulation(ax, th["t"], th["trT0"], sg["t"], sg["trT0"], label="tr T0", color=COLORS[1])
    Q, T0, _ = untied_erf_asymptote(t, 1.0, np.array(SPIKES))
    ax.plot(t, Q, ":", color=COLORS[0])
    ax.plot(t, T0, ":", color=COLORS[1])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_title("untied erf: encoder shrinks, decoder grows (dotted: t^∓1/3)", fontsize=8)
    ax.legend(fontsize=7)

    ax = axes[0, 2]
    for i, name in enumerate(NETWORKS):
        e = eigs[(eigs.network == name) & (eigs.kind == "network")]
        fp = fps[fps.network == name].iloc[0]
        label = f"{name}: {'fixed point' if fp.converged else 'no fixed point'}"
        ax.plot(np.full(len(e), i) + np.linspace(-0.2, 0.2, len(e)), e["real"], "o", color=COLORS[i], ms=4,
                label=label)
    ax.axhline(0, color="0.5", lw=0.7)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xticks(range(len(NETWORKS)))
    ax.set_xticklabels([n.replace(" ", "\n") for n in NETWORKS], fontsize=7)
    ax.set_ylabel("Jacobian eigenvalues (real part)")
    ax.set_title("stability of the long-time state", fontsize=9)
    ax.legend(fontsize=6)
    save_figure(fig, path)
