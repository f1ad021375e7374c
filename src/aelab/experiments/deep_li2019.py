"""Li & Nguyen (2019), random deep weight-tied autoencoders: the paper's figures and Table 1.

``deep-convergence`` (Fig. 1), ``deep-maps`` (Fig. 2), ``deep-gamma-rho`` (Fig. 3),
``deep-reversibility`` (Sec. 3.3), ``deep-sensitivity`` (Sec. 3.4), ``deep-table1`` (Table 1),
``deep-phase-diagram`` (Sec. 3.2) and ``deep-universality`` (App. B, Remark 2). Every number is
computed (theory: :mod:`aelab.deep`; simulation: random networks); ``--quick`` shrinks the sizes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from aelab.experiments import reproduction

PAPER = "Li & Nguyen 2019"


def _folder(out_dir: Path, config: dict):
    """The run folder of an entry: the one ``aelab reproduce`` started, or a new one (a direct call)."""
    from aelab.record import RunRecord
    from aelab.results import RunFolder

    folder = RunFolder(out_dir)
    if folder.record is None or folder.record.status != "running":
        folder = RunFolder.create(out_dir, RunRecord.start("reproduce", config), option="out_dir")
    folder.write_config(config)
    return folder


@reproduction("deep-convergence", paper=PAPER,
              description="Fig. 1: |gamma_2 - gamma|, |rho_2 - rho| decay exponentially with the depth L")
def convergence(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep import infinite_depth as I
    from aelab.deep.state_evolution import evolve_many
    from aelab.plots import new_figure, save_figure

    t0 = time.perf_counter()
    t2, sw = 1.2, 2.312
    sb = float(I.bias_for("tanh", sw, t2))
    tau0 = float(I.input_variance_for("tanh", t2))  # Interpretation 2: every taubar_l^2 = 1.2
    alphas = [0.9, 1.0, 1.5]
    depths = np.arange(1, 31 if quick else 61)
    cfg = {"activations": "tanh", "tau_bar_sq": t2, "sigma_w_sq": sw, "sigma_b_sq": sb, "input_variance": tau0,
           "alpha": alphas, "depths": [int(depths[0]), int(depths[-1])]}
    folder = _folder(out_dir, cfg)
    rows = []
    for a in alphas:
        gam, rho, _ = I.iterate_maps("tanh", "tanh", a * sw, t2, 4000)  # the infinite-depth limit
        g_inf, r_inf = gam[0, -1], rho[0, -1]
        for L in depths:
            m = evolve_many("tanh", "tanh", int(L), sigma_w_sq=sw, sigma_b_sq=sb, alpha=a, input_variance=tau0)
            rows.append({"alpha": a, "depth": int(L), "gamma_2": m.gamma[0, 2], "rho_2": m.rho[0, 2],
                         "gamma_inf": g_inf, "rho_inf": r_inf,
                         "gamma_err": abs(m.gamma[0, 2] - g_inf), "rho_err": abs(m.rho[0, 2] - r_inf)})
    df = pd.DataFrame(rows)
    folder.write_table("convergence.csv", df)
    fig, axs = new_figure(2)
    for a in alphas:
        d = df[df.alpha == a]
        for ax, k in zip(axs[0], ("gamma_err", "rho_err")):
            ax.semilogy(d.depth, np.maximum(d[k], 1e-17), "-o", ms=2.5, label=rf"$\alpha$ = {a}")
    for ax, name in zip(axs[0], (r"$|\gamma_2 - \gamma|$", r"$|\rho_2 - \rho|$")):
        ax.set_xlabel("depth L")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.suptitle(r"tanh, $\bar\tau^2$ = 1.2, $\sigma_W^2$ = 2.312 (Fig. 1)", fontsize=10)
    save_figure(fig, folder.file("convergence.png"))
    folder.finish(timings_s={"total_s": time.perf_counter() - t0})


@reproduction("deep-maps", paper=PAPER,
              description="Fig. 2: the map gamma -> G(gamma, rho) at taubar^2 = 1 for four activation pairs")
def maps(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep import infinite_depth as I
    from aelab.plots import new_figure, save_figure

    t0 = time.perf_counter()
    pairs = [("relu", "relu"), ("relu", "tanh"), ("tanh", "relu"), ("tanh", "tanh")]  # (phi, sigma)
    betas = [5.0, 2.7, 0.8]
    rhos = np.linspace(0.1, 1.0, 4 if quick else 10)
    gam = np.linspace(0.0, 2.0, 41 if quick else 201)
    folder = _folder(out_dir, {"tau_bar_sq": 1.0, "pairs_phi_sigma": pairs, "beta": betas, "rho": list(rhos)})
    rows = []
    fig, axs = new_figure(len(betas), len(pairs), width=3.2, height=2.6)
    for i, (phi, sig) in enumerate(pairs):
        for j, b in enumerate(betas):
            ax = axs[i, j]
            for r in rhos:
                G, _ = I.decoder_maps(sig, phi, b, 1.0, gam, r)
                rows += [{"phi": phi, "sigma": sig, "beta": b, "rho": r, "gamma": g, "G": v} for g, v in zip(gam, G)]
                ax.plot(gam, G, lw=1.0, color=(r, 0.3, 1 - r))
            ax.plot(gam, gam, "k--", lw=0.8)
            ax.set_title(rf"$\varphi$={phi}, $\sigma$={sig}, $\beta$={b}", fontsize=8)
            ax.set_ylim(0, 2.0 * max(1.0, b / 2))
    for ax in axs[-1]:
        ax.set_xlabel(r"$\gamma$")
    for ax in axs[:, 0]:
        ax.set_ylabel(r"$G(\gamma, \rho)$")
    folder.write_table("maps.csv", pd.DataFrame(rows))
    save_figure(fig, folder.file("maps.png"))
    folder.finish(timings_s={"total_s": time.perf_counter() - t0})


@reproduction("deep-gamma-rho", paper=PAPER,
              description="Fig. 3: the stable gamma, rho against beta, with the transitions and sigma_W,max^2")
def gamma_rho(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep import infinite_depth as I
    from aelab.deep.phases import bulk_phase
    from aelab.plots import new_figure, save_figure

    t0 = time.perf_counter()
    panels = [("tanh", "tanh", 0.0259), ("tanh", "tanh", 1.2), ("tanh", "relu", 0.2)]  # (phi, sigma, taubar^2)
    betas = np.linspace(0.2, 6.0, 30 if quick else 200)
    steps = 1000 if quick else 4000
    folder = _folder(out_dir, {"panels_phi_sigma_tau_bar_sq": panels, "beta": [0.2, 6.0, len(betas)], "steps": steps})
    rows = []
    fig, axs = new_figure(3, 2, width=4.0, height=2.8)
    for j, (phi, sig, t2) in enumerate(panels):
        res = bulk_phase(sig, phi, betas, t2, steps=steps)
        gam, rho, _ = I.iterate_maps(sig, phi, betas, t2, steps)
        tr = I.transitions(sig, phi, t2)
        for b, g, r, ph in zip(betas, gam[:, -1], rho[:, -1], res.phase):
            rows.append({"phi": phi, "sigma": sig, "tau_bar_sq": t2, "beta": b, "gamma": g, "rho": r, "phase": ph})
        for i, (vals, name) in enumerate(((gam[:, -1], r"$\gamma$"), (rho[:, -1], r"$\rho$"))):
            ax = axs[i, j]
            ax.plot(betas, vals, "-", lw=1.5)
            for k, b0 in enumerate(tr.gamma):
                ax.axvline(b0, color="g", ls="-.", lw=0.8, label=r"$\gamma$ transition $\beta_0(\bar\tau)$" if k == 0 else None)
            if tr.rho is not None:
                ax.axvline(tr.rho, color="k", ls="--", lw=0.8, label=r"$\rho$ transition $1/\varphi'(0)^2$")
            ax.axvline(tr.sigma_w_max_sq, color="r", ls=":", lw=1.0, label=r"$\sigma^2_{W,\max}$")
            ax.set_ylabel(name)
            ax.set_xlabel(r"$\beta$")
        axs[0, j].set_title(rf"$\varphi$={phi}, $\sigma$={sig}, $\bar\tau^2$={t2}", fontsize=9)
    axs[1, 0].legend(fontsize=7, frameon=False, loc="lower right")
    folder.write_table("gamma_rho.csv", pd.DataFrame(rows))
    save_figure(fig, folder.file("gamma_rho.png"))
    folder.finish(timings_s={"total_s": time.perf_counter() - t0})


@reproduction("deep-reversibility", paper=PAPER,
              description="Sec. 3.3: reversibility error (S-1)^2 taubar_0^2 + V vs depth, random networks as markers")
def reversibility(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep import infinite_depth as I
    from aelab.deep.config import Setting
    from aelab.deep.monte_carlo import simulate
    from aelab.deep.state_evolution import evolve
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    t0 = time.perf_counter()
    tau0 = float(I.input_variance_for("tanh", 1.2))
    settings = {"tanh/tanh": dict(encoder="tanh", decoder="tanh", sigma_w_sq=2.312,
                                  sigma_b_sq=float(I.bias_for("tanh", 2.312, 1.2)), input_variance=tau0),
                "relu/relu": dict(encoder="relu", decoder="relu", sigma_w_sq=2.0, input_variance=1.0),
                "tanh enc., relu dec.": dict(encoder="tanh", decoder="relu", sigma_w_sq=2.0, input_variance=1.0)}
    depths = np.arange(1, 21 if quick else 41)
    mc_depths = [1, 3, 6] if quick else [1, 2, 4, 8, 16, 32]
    width, samples = (300, 4) if quick else (2000, 8)
    folder = _folder(out_dir, {"settings": settings, "depths": [1, int(depths[-1])], "mc_depths": mc_depths,
                               "width": width, "samples": samples, "seed": seed})
    rows, mrows = [], []
    fig, axs = new_figure(1)
    ax = axs[0, 0]
    for k, (name, kw) in enumerate(settings.items()):
        E = []
        for L in depths:
            ev = evolve(Setting.make(depth=int(L), **kw))
            E.append(ev.reconstruction_error())
            rows.append({"setting": name, "depth": int(L), "S": ev.s_sig, "V": ev.V[0], "E": E[-1]})
        em, es = [], []
        for L in mc_depths:
            sim = simulate(Setting.make(depth=L, **kw), width=width, samples=samples, seed=seed + L)
            r = sim.reconstruction_error
            em.append(r.mean())
            es.append(r.std(ddof=1) / np.sqrt(r.size))
            mrows.append({"setting": name, "depth": L, "E_mean": em[-1], "E_se": es[-1], "width": width})
        theory_and_simulation(ax, depths, E, mc_depths, em, es, label=name, color=COLORS[k])
    ax.set_yscale("log")
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$E = \|x - \hat x\|^2 / n_0$")
    ax.legend(fontsize=7)
    folder.write_table("reversibility_theory.csv", pd.DataFrame(rows))
    folder.write_table("reversibility_simulation.csv", pd.DataFrame(mrows))
    save_figure(fig, folder.file("reversibility.png"))
    folder.finish(seeds=[seed], timings_s={"total_s": time.perf_counter() - t0})


@reproduction("deep-sensitivity", paper=PAPER,
              description="Sec. 3.4: S_sig, S_var and their ratio against beta, deep (transitions) versus shallow")
def sensitivity(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep import infinite_depth as I
    from aelab.plots import new_figure, save_figure

    t0 = time.perf_counter()
    panels = [("tanh", "tanh", 1.2), ("relu", "tanh", 0.2)]  # (sigma, phi, taubar^2)
    betas = np.geomspace(0.3, 10.0, 30 if quick else 150)
    steps = 50 if quick else 200
    folder = _folder(out_dir, {"panels_sigma_phi_tau_bar_sq": panels, "beta": [0.3, 10.0, len(betas)],
                               "deep_depth": steps})
    rows = []
    fig, axs = new_figure(3, 2, width=3.8, height=2.8)
    for i, (sig, phi, t2) in enumerate(panels):
        # shallow: gamma, rho of one layer do not depend on beta at fixed taubar
        g1, r1, _ = I.iterate_maps(sig, phi, betas, t2, 0)
        gd, rd, _ = I.iterate_maps(sig, phi, betas, t2, steps)
        out = {}
        for tag, g, r in (("shallow", g1[:, -1], r1[:, -1]), (f"deep (L={steps})", gd[:, -1], rd[:, -1])):
            with np.errstate(divide="ignore", invalid="ignore"):
                s_sig, s_var = betas * g, np.sqrt(betas * r)
                out[tag] = (s_sig, s_var, s_sig / s_var)
            for b, a, v in zip(betas, s_sig, s_var):
                rows.append({"sigma": sig, "phi": phi, "tau_bar_sq": t2, "model": tag, "beta": b, "S_sig": a,
                             "S_var": v})
        for j, name in enumerate((r"$S_{sig}$", r"$S_{var}$", r"$S_{sig}/S_{var}$")):
            ax = axs[i, j]
            for tag, vals in out.items():
                ax.loglog(betas, np.where(vals[j] > 0, vals[j], np.nan), label=tag)
            ax.set_xlabel(r"$\beta$")
            ax.set_ylabel(name)
            ax.set_title(rf"$\sigma$={sig}, $\varphi$={phi}, $\bar\tau^2$={t2}", fontsize=8)
        axs[i, 0].legend(fontsize=7)
    folder.write_table("sensitivity.csv", pd.DataFrame(rows))
    save_figure(fig, folder.file("sensitivity.png"))
    folder.finish(timings_s={"total_s": time.perf_counter() - t0})


def table1_frame(*, bottleneck: str = "relu", input_variance: float = 1.0):
    """Table 1 computed: for each scheme its taubar^2, phase, gamma, rho, S_sig, S_var and class."""
    import pandas as pd

    from aelab.deep.phases import classify_schemes, setting_phase
    from aelab.deep.table1 import SCHEMES

    rows = []
    for scheme in SCHEMES:
        no, phi, sig, paper = scheme.number, scheme.decoder, scheme.encoder, scheme.paper_class
        sw, sb = scheme.sigma_w_sq, scheme.sigma_b_sq
        res = setting_phase(sig, phi, sw, sb, bottleneck=bottleneck, input_variance=input_variance)
        klass = classify_schemes(sig, phi, sw, sb, bottleneck=bottleneck, input_variance=input_variance)[0]
        rows.append({"no": no, "phi": phi, "sigma": sig, "sigma_w_sq": sw, "sigma_b_sq": sb,
                     "tau_bar_sq": float(res.tau_bar_sq), "phase": str(res.phase[()]), "gamma": float(res.gamma),
                     "rho": float(res.rho), "s_sig": float(res.s_sig), "s_var": float(res.s_var),
                     "theory": klass, "paper": paper})
    return pd.DataFrame(rows)


@reproduction("deep-table1", paper=PAPER,
              description="Table 1: the theory's class (trainable / slowed / infinities) of the 14 schemes, computed")
def table1(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    t0 = time.perf_counter()
    folder = _folder(out_dir, {"bottleneck": "relu", "alpha": 1.0, "input_variance": 1.0,
                               "rule": "infinities if taubar, gamma or rho is infinite; slowed if gamma = rho = 0 "
                                       "at the setting and its neighbours; trainable otherwise"})
    df = table1_frame()
    folder.write_table("table1.csv", df)
    text = _markdown(df)
    from aelab.results import atomic_write_text

    atomic_write_text(folder.file("table1.md"), text + "\n")
    if not quiet:
        print(text)
    agree = int((df.theory == df.paper).sum())
    folder.finish(timings_s={"total_s": time.perf_counter() - t0},
                  agreement=f"{agree}/{len(df)}")


def _markdown(df) -> str:
    cols = ["no", "phi", "sigma", "sigma_w_sq", "sigma_b_sq", "tau_bar_sq", "phase", "gamma", "rho", "theory",
            "paper"]

    def fmt(v):
        if isinstance(v, float):
            return "inf" if np.isinf(v) else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for _, r in df.iterrows()]
    return "\n".join(lines)


@reproduction("deep-phase-diagram", paper=PAPER,
              description="Sec. 3.2: phase diagrams over (sigma_W^2, sigma_b^2) and (beta, taubar^2), four pairs")
def phase_diagrams(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    from aelab.deep.diagram import phase_diagram, plot_phase_diagram

    t0 = time.perf_counter()
    points, depth = (30, 30) if quick else (200, 100)
    pairs = [("tanh", "tanh"), ("relu", "relu"), ("tanh", "relu"), ("relu", "tanh")]  # (sigma, phi)
    folder = _folder(out_dir, {"pairs_sigma_phi": pairs, "points": points, "depth": depth,
                               "w-b": {"x": [0.1, 4.0], "y": [0.0, 1.0]},
                               "beta-tau": {"x": [0.2, 6.0], "y": [0.01, 2.0]}})
    timings = {}
    for sig, phi in pairs:
        for axes, xr, yr in (("w-b", (0.1, 4.0), (0.0, 1.0)), ("beta-tau", (0.2, 6.0), (0.01, 2.0))):
            t = time.perf_counter()
            d = phase_diagram(sig, phi, depth, axes=axes, x_range=xr, y_range=yr, points=points)
            tag = f"{axes}_{sig}_{phi}"
            timings[tag] = time.perf_counter() - t
            folder.write_table(f"phase_{tag}.csv", d.frame())
            plot_phase_diagram(d, folder.file(f"phase_{tag}.png"))
    folder.finish(timings_s={"total_s": time.perf_counter() - t0, **timings})


@reproduction("deep-universality", paper=PAPER,
              description="App. B: gamma_l, rho_l of random networks (Gaussian, Bernoulli, uniform, Laplace) vs theory")
def universality(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None:
    import pandas as pd

    from aelab.deep.config import Setting
    from aelab.deep.monte_carlo import ESTIMATORS, simulate
    from aelab.deep.state_evolution import evolve
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    t0 = time.perf_counter()
    depth, width, samples = (10, 400, 3) if quick else (50, 2000, 4)
    s = Setting.make("tanh", "tanh", depth, sigma_w_sq=2.312, sigma_b_sq=0.211, input_variance=1.0)
    laws = ["gaussian", "bernoulli", "uniform", "laplace"]
    folder = _folder(out_dir, {"activations": "tanh", "depth": depth, "sigma_w_sq": 2.312, "sigma_b_sq": 0.211,
                               "input": "sign", "width": width, "samples": samples, "weights": laws, "seed": seed})
    th = evolve(s).columns()
    rows = []
    fig, axs = new_figure(2)
    layers = th["layer"] + 1  # row l holds gamma_{l+1}, rho_{l+1}
    for ax, n in zip(axs[0], ("gamma", "rho")):
        theory_and_simulation(ax, layers, th[n], label="", color="k")
    for k, law in enumerate(laws):
        sim = simulate(s, width=width, samples=samples, seed=seed, weights=law, input="sign", dtype="float32",
                       quiet=quiet)
        c = sim.columns()
        for i in range(depth):
            rows.append({"weights": law, "l": int(layers[i]), **{n: c[n][i] for n in ESTIMATORS},
                         **{f"{n}_se": c[f"{n}_se"][i] for n in ESTIMATORS}})
        for ax, n in zip(axs[0], ("gamma", "rho")):
            theory_and_simulation(ax, None, None, layers + 0.15 * k, c[n], c[f"{n}_se"], label=law, color=COLORS[k])
    for ax, n in zip(axs[0], (r"$\gamma_l$", r"$\rho_l$")):
        ax.set_xlabel("layer l")
        ax.set_ylabel(n)
        ax.legend(fontsize=7)
    df = pd.DataFrame(rows)
    folder.write_table("universality.csv", df)
    folder.write_table("theory.csv", pd.DataFrame(th))
    save_figure(fig, folder.file("universality.png"))
    folder.finish(seeds=[seed], timings_s={"total_s": time.perf_counter() - t0})
