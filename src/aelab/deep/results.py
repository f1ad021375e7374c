"""Runs of the deep area as result objects (Li & Nguyen, ICLR 2019), and the experiment kinds
``deep-evolve`` and ``deep-simulate`` (:mod:`aelab.kinds`).

>>> from aelab.deep import EvolveConfig, evolve
>>> result = evolve(EvolveConfig().with_overrides({"network.depth": 50, "network.sigma_w_sq": 2.312}))
>>> result.table.tail(); result.to_xarray(); result.plot(); result.save("runs/evolve")   # doctest: +SKIP

* :func:`evolve`: Theorem 1 per layer (table ``evolution``: ``layer``, ``gamma``, ``rho``,
  ``tau_bar_sq``, ``S``, ``V``), with the infinite-depth phase and Table 1's class;
* :func:`simulate`: random networks (App. B) next to the theory (tables ``simulation`` with the
  standard errors ``<name>_se``, ``samples`` per draw and layer, ``theory``);
* :func:`phase_diagram`: the phases over (sigma_W^2, sigma_b^2) or (beta, taubar^2) (Sec. 3.2;
  table ``phase_diagram``, one row per cell);
* :func:`advise`: the verdict on an initialisation and the advisor's recommendation (Sec. 3.5,
  Table 1's rule), with the state evolution of the setting judged (table ``evolution``).

Each takes its configuration (a model of :mod:`aelab.deep.config`, a dict of its fields or a
config file) and returns a :class:`~aelab.results.RunResult`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aelab.config import as_config
from aelab.deep.config import AdviseConfig, EvolveConfig, PhaseDiagramConfig, SimulateConfig
from aelab.kinds import register_kind
from aelab.record import RunRecord
from aelab.results import RunFolder, RunResult, run_into_folder

__all__ = ["EvolveResult", "SimulateResult", "PhaseDiagramResult", "AdviceResult", "evolve", "simulate",
           "phase_diagram", "advise", "run_evolve", "run_simulate"]

EVOLUTION_COLUMNS = ("layer", "gamma", "rho", "tau_bar_sq", "S", "V")


def _per_layer_figure(panels, title: str):
    """One axis per panel ``(ylabel, [(label, theory_table, simulation_table, column)], log)`` against ``layer``."""
    from aelab.plots import COLORS, new_figure, theory_and_simulation

    fig, axes = new_figure(len(panels), 1, width=4.2, height=3.3)
    for ax, (ylabel, curves, log) in zip(axes[0], panels):
        for i, (label, theory, sim, col) in enumerate(curves):
            theory_and_simulation(ax, None if theory is None else theory["layer"],
                                  None if theory is None else theory[col],
                                  None if sim is None else sim["layer"], None if sim is None else sim[col],
                                  None if sim is None or f"{col}_se" not in sim else sim[f"{col}_se"],
                                  label=label, color=COLORS[i % len(COLORS)])
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


def _network_title(network) -> str:
    return (f"{network.encoder} encoder, {network.decoder} decoder, depth {network.depth}, "
            f"sigma_W^2 = {network.sigma_w_sq}, sigma_b^2 = {network.sigma_b_sq}")


# ---- state evolution ----------------------------------------------------------------------------------
class EvolveResult(RunResult):
    """Theorem 1 of Li & Nguyen (2019) for one network.

    Attributes:
        config: the :class:`~aelab.deep.config.EvolveConfig`.
        evolution (= ``table``): row l = 1..L: gamma_{l+1}, rho_{l+1}, taubar_l^2 and the law
            S_l, V_l of xhat_l (docs/deep.md).
        record: observables ``S`` (S_1), ``V`` (V_1), ``reconstruction_error`` ((S_1 - 1)^2
            taubar_0^2 + V_1, Sec. 3.3) and ``infinite_layer`` (0 when every scalar is finite);
            details ``phase`` (infinite-depth phase) and ``classification`` (Table 1's rule), None
            for a setting whose layers differ, and ``method``.
    """

    kind = "deep-evolve"
    config_model = EvolveConfig
    tables_order = ("evolution",)

    @property
    def evolution(self) -> pd.DataFrame:
        return self.tables["evolution"]

    @property
    def summary(self) -> dict[str, Any]:
        """What ``aelab deep evolve`` prints above the table."""
        obs, det = self.observables, self.record.details
        return {"S": obs["S"], "V": obs["V"], "reconstruction_error": obs["reconstruction_error"],
                "phase": det.get("phase"), "classification": det.get("classification"),
                "infinite_layer": obs["infinite_layer"] or None}

    def to_xarray(self):
        """A Dataset on ``layer``: gamma, rho, tau_bar_sq, S and V."""
        ds = super().to_xarray()
        ds.attrs.update(kind=self.kind, config_hash=self.record.config_hash)
        return ds

    def plot(self):
        """S_l and V_l, gamma and rho, and taubar_l^2 against the layer (a Figure)."""
        ev = self.evolution
        return _per_layer_figure([
            ("S_l, V_l (law of xhat_l)", [("S", ev, None, "S"), ("V", ev, None, "V")], False),
            ("gamma_{l+1}, rho_{l+1}", [("gamma", ev, None, "gamma"), ("rho", ev, None, "rho")], False),
            ("taubar_l^2", [("tau_bar_sq", ev, None, "tau_bar_sq")], False),
        ], "Theorem 1: " + _network_title(self.config.network))


def phase_summary(network) -> dict[str, Any]:
    """The infinite-depth phase and Table 1's class of a setting with the same parameters in every
    layer (None for both otherwise)."""
    from aelab.deep import phases

    s = network.setting()
    if s.depth < 2 or not s.homogeneous:  # the infinite-depth phase needs the same layers throughout
        return {"phase": None, "classification": None}
    enc, dec = s.encoder[1].name, s.decoder[1].name
    kw = dict(alpha=float(s.alpha[0]), input_variance=s.input_variance, bottleneck=s.decoder[-1].name)
    res = phases.setting_phase(enc, dec, float(s.sigma_w_sq[0]), float(s.sigma_b_sq[0]), **kw)
    klass = phases.classify_scheme(enc, dec, float(s.sigma_w_sq[0]), float(s.sigma_b_sq[0]), **kw)
    return {"phase": str(res.phase[()]), "classification": klass}


def evolve(config: EvolveConfig | dict | str | Path) -> EvolveResult:
    """Theorem 1 of Li & Nguyen (2019) at finite depth for ``config.network``: taubar_l^2, gamma_l,
    rho_l, S_l and V_l per layer, and the infinite-depth phase of the setting.

    An overflow of the scalars is a phase (``infinite``, ``infinite_layer`` says where), not a failure.
    """
    from aelab.deep.state_evolution import evolve as state_evolution

    config = as_config(EvolveConfig, config)
    record = RunRecord.start(EvolveResult.kind, config)
    start = time.perf_counter()
    ev = state_evolution(config.network, method=config.method)
    elapsed = time.perf_counter() - start
    details = {**phase_summary(config.network), "method": ev.method}
    if ev.infinite_layer is not None:
        details["phase"] = "infinite"
    observables = {"S": ev.s_sig, "V": float(ev.V[0]), "reconstruction_error": ev.reconstruction_error(),
                   "infinite_layer": ev.infinite_layer or 0}
    record = record.finish(observables=observables, timings_s={"evolve_s": elapsed}, details=details)
    return EvolveResult(config, {"evolution": ev.table()}, record)


# ---- random networks ------------------------------------------------------------------------------
class SimulateResult(RunResult):
    """Random weight-tied networks of one setting (Li & Nguyen 2019, App. B) next to Theorem 1.

    Attributes:
        config: the :class:`~aelab.deep.config.SimulateConfig`.
        simulation (= ``table``): per layer the means of the estimators of docs/deep.md and their
            standard errors ``<name>_se``.
        samples: every draw's estimates (``sample``, ``layer``, gamma, rho, tau_bar_sq, S, V).
        theory: Theorem 1 (the columns of :class:`EvolveResult`).
        record: observables ``S``, ``S_se``, ``V``, ``V_se`` of the output layer, ``S_theory``,
            ``V_theory`` and the mean ``reconstruction_error``; ``seeds`` = [monte_carlo.seed].
    """

    kind = "deep-simulate"
    config_model = SimulateConfig
    tables_order = ("simulation", "samples", "theory")

    @property
    def simulation(self) -> pd.DataFrame:
        return self.tables["simulation"]

    @property
    def samples(self) -> pd.DataFrame:
        return self.tables["samples"]

    @property
    def theory(self) -> pd.DataFrame:
        return self.tables["theory"]

    @property
    def summary(self) -> dict[str, Any]:
        """What ``aelab deep simulate`` prints above the table."""
        mc = self.config.monte_carlo
        return {"width": mc.width, "samples": mc.samples,
                "reconstruction_error": self.observables["reconstruction_error"]}

    def to_xarray(self):
        """A Dataset on ``layer``: each estimator over ``side`` (theory, simulation), its standard
        error ``<name>_se`` and every draw's value ``samples_<name>`` over (``sample``, ``layer``)."""
        import xarray as xr

        from aelab.deep.monte_carlo import ESTIMATORS

        sim, th, per = self.simulation, self.theory, self.samples
        layers = sim["layer"].to_numpy()
        draws = np.sort(per["sample"].unique())
        data: dict[str, Any] = {}
        for name in ESTIMATORS:
            data[name] = (("side", "layer"), np.vstack([th[name].to_numpy(), sim[name].to_numpy()]))
            data[f"{name}_se"] = ("layer", sim[f"{name}_se"].to_numpy())
            data[f"samples_{name}"] = (("sample", "layer"), per[name].to_numpy().reshape(len(draws), len(layers)))
        return xr.Dataset(data, coords={"layer": layers, "side": ["theory", "simulation"], "sample": draws},
                          attrs={"kind": self.kind, "config_hash": self.record.config_hash})

    def plot(self):
        """S, V, gamma and rho per layer: theory as lines, random networks as markers with standard errors."""
        sim, th = self.simulation, self.theory
        mc = self.config.monte_carlo
        return _per_layer_figure([
            ("S_l, V_l", [("S", th, sim, "S"), ("V", th, sim, "V")], False),
            ("gamma_{l+1}, rho_{l+1}", [("gamma", th, sim, "gamma"), ("rho", th, sim, "rho")], False),
            ("taubar_l^2", [("tau_bar_sq", th, sim, "tau_bar_sq")], False),
        ], f"{_network_title(self.config.network)}; {mc.samples} networks of width {mc.width}")


def simulate(config: SimulateConfig | dict | str | Path, *, progress: bool = False,
             device: str | None = None) -> SimulateResult:
    """Random weight-tied networks of ``config.network`` (Li & Nguyen 2019, Sec. 2.1 and App. B):
    the estimators of gamma, rho, taubar^2, S and V per layer over ``monte_carlo.samples`` draws,
    next to Theorem 1 (:func:`evolve`). ``device``: of the torch backend (``cpu``, ``cuda[:N]``,
    ``auto``: the default), a runtime option."""
    from aelab.deep.monte_carlo import ESTIMATORS
    from aelab.deep.monte_carlo import simulate as random_networks
    from aelab.deep.state_evolution import evolve as state_evolution

    config = as_config(SimulateConfig, config)
    mc = config.monte_carlo
    options = {"device": device} if mc.backend == "torch" else {}
    record = RunRecord.start(SimulateResult.kind, config, seeds=[mc.seed], options=options)
    start = time.perf_counter()
    sim = random_networks(config.network, mc, quiet=not progress, device=device)
    elapsed = time.perf_counter() - start
    depth = config.network.depth
    samples = pd.DataFrame({"sample": np.repeat(np.arange(mc.samples), depth),
                            "layer": np.tile(np.arange(1, depth + 1), mc.samples),
                            **{n: sim.values[n].ravel() for n in ESTIMATORS}})
    ev = state_evolution(config.network)
    observables = {"S": float(sim.mean("S")[0]), "S_se": float(sim.sem("S")[0]), "V": float(sim.mean("V")[0]),
                   "V_se": float(sim.sem("V")[0]), "S_theory": ev.s_sig, "V_theory": float(ev.V[0]),
                   "reconstruction_error": float(sim.reconstruction_error.mean())}
    details = {"widths": sim.info["widths"], "batch": sim.info["batch"], "weights_stored": sim.info["weights_stored"]}
    record = record.finish(observables=observables, timings_s={"simulate_s": elapsed}, details=details)
    return SimulateResult(config, {"simulation": sim.table(), "samples": samples, "theory": ev.table()}, record)


# ---- phase diagrams -------------------------------------------------------------------------------
class PhaseDiagramResult(RunResult):
    """A phase diagram of random deep weight-tied autoencoders (Li & Nguyen 2019, Sec. 3.2).

    Attributes:
        config: the :class:`~aelab.deep.config.PhaseDiagramConfig`.
        phase_diagram (= ``table``): one row per cell: the two axis values (``sigma_w_sq``,
            ``sigma_b_sq`` or ``beta``, ``tau_bar_sq``), ``phase``, ``phase_code``,
            ``phase_at_depth``, ``s_sig``, ``s_var`` and ``tau_bar_sq`` (see
            :class:`aelab.deep.diagram.PhaseDiagram`).
        diagram: the grid as a :class:`~aelab.deep.diagram.PhaseDiagram`.
        record: observables ``cells`` and the fraction of cells in each phase ``fraction_<phase>``.

    The saved figure is ``phase_diagram.png``.
    """

    kind = "deep-phase-diagram"
    config_model = PhaseDiagramConfig
    tables_order = ("phase_diagram",)
    figure_file = None  # phase_diagram.png, written by write_files

    def __init__(self, config, tables, record, diagram=None):
        super().__init__(config, tables, record)
        self._diagram = diagram

    @property
    def phase_diagram(self) -> pd.DataFrame:
        return self.tables["phase_diagram"]

    @property
    def axis_names(self) -> tuple[str, str]:
        from aelab.deep.diagram import AXES

        return AXES[self.config.axes]

    @property
    def diagram(self):
        """The :class:`~aelab.deep.diagram.PhaseDiagram` (rebuilt from the table after :func:`aelab.results.load`)."""
        if self._diagram is None:
            from aelab.deep.diagram import PhaseDiagram

            c, frame = self.config, self.phase_diagram
            xn, yn = self.axis_names
            x, y = np.unique(frame[xn].to_numpy()), np.unique(frame[yn].to_numpy())
            grid = {k: frame[k].to_numpy().reshape(len(y), len(x)) for k in
                    ("phase", "phase_at_depth", "s_sig", "s_var", "tau_bar_sq")}
            meta = {"encoder": c.encoder, "decoder": c.decoder, "bottleneck": c.bottleneck or c.decoder,
                    "depth": c.depth, "alpha": c.alpha, "input_variance": c.input_variance,
                    "sigma_v_sq": c.sigma_v_sq}
            self._diagram = PhaseDiagram(c.axes, x, y, grid["phase"].astype(object),
                                         grid["phase_at_depth"].astype(object), grid["s_sig"], grid["s_var"],
                                         grid["tau_bar_sq"], meta)
        return self._diagram

    def to_xarray(self):
        """A Dataset on the grid (y, x), e.g. (``sigma_b_sq``, ``sigma_w_sq``): phase, phase_code,
        phase_at_depth, s_sig, s_var and (for w-b) the top layer's tau_bar_sq."""
        xn, yn = self.axis_names
        ds = self.phase_diagram.set_index([yn, xn]).to_xarray()
        ds.attrs.update(kind=self.kind, axes=self.config.axes, config_hash=self.record.config_hash)
        return ds

    def write_files(self, folder: RunFolder) -> None:
        from aelab.deep.diagram import plot_phase_diagram

        plot_phase_diagram(self.diagram, folder.file("phase_diagram.png"))

    def plot(self):
        """The phases with the transition lines and the output's signal fraction (a Figure)."""
        from aelab.deep.diagram import plot_phase_diagram

        return plot_phase_diagram(self.diagram)


def phase_diagram(config: PhaseDiagramConfig | dict | str | Path) -> PhaseDiagramResult:
    """The phase diagram of ``config`` (Li & Nguyen 2019, Sec. 3.2): in the plane w-b, Theorem 1 at
    the given depth in every cell and the infinite-depth phase at its forward fixed point; in the
    plane beta-tau, the maps G, R iterated ``depth`` times (:mod:`aelab.deep.diagram`)."""
    from aelab.deep.diagram import phase_diagram as compute
    from aelab.deep.phases import PHASES

    config = as_config(PhaseDiagramConfig, config)
    record = RunRecord.start(PhaseDiagramResult.kind, config)
    start = time.perf_counter()
    d = compute(config.encoder, config.decoder, config.depth, axes=config.axes, x_range=config.x_range,
                y_range=config.y_range, points=config.points, alpha=config.alpha,
                input_variance=config.input_variance, bottleneck=config.bottleneck, sigma_v_sq=config.sigma_v_sq)
    elapsed = time.perf_counter() - start
    observables: dict[str, Any] = {"cells": int(d.phase.size)}
    observables.update({f"fraction_{p}": float(np.mean(d.phase == p)) for p in PHASES})
    record = record.finish(observables=observables, timings_s={"phase_diagram_s": elapsed})
    return PhaseDiagramResult(config, {"phase_diagram": d.frame()}, record, diagram=d)


# ---- the advisor ------------------------------------------------------------------------------------
class AdviceResult(RunResult):
    """The theory's verdict on an initialisation, and the advisor's recommendation (Li & Nguyen 2019,
    Secs. 3.2 and 3.5, Table 1's rule; :mod:`aelab.deep.advisor`).

    Attributes:
        config: the :class:`~aelab.deep.config.AdviseConfig`.
        advice: the :class:`~aelab.deep.advisor.Advice` (classification, phase, signal and noise
            strengths, nearest transition, recommendation, reasons).
        evolution (= ``table``): Theorem 1 per layer at the setting judged.
        record: observables ``classification``, ``phase``, ``sigma_w_sq``, ``sigma_b_sq``,
            ``s_sig``, ``s_var``, ``recommended_sigma_w_sq``, ``recommended_sigma_b_sq``; details
            ``advice`` (every field of :class:`~aelab.deep.advisor.Advice`).
    """

    kind = "deep-advise"
    config_model = AdviseConfig
    tables_order = ("evolution",)

    def __init__(self, config, tables, record, advice=None):
        super().__init__(config, tables, record)
        self._advice = advice

    @property
    def evolution(self) -> pd.DataFrame:
        return self.tables["evolution"]

    @property
    def advice(self):
        """The :class:`~aelab.deep.advisor.Advice` (rebuilt from the record after :func:`aelab.results.load`;
        values that were infinite read back as inf)."""
        if self._advice is None:
            from aelab.deep.advisor import Advice

            data = dict(self.record.details["advice"])
            for key in ("s_sig", "s_var", "s_sig_bulk", "s_var_bulk", "tau_bar_sq"):
                if data[key] is None:
                    data[key] = math.inf
            data["recommended"] = tuple(data["recommended"])
            self._advice = Advice(**data)
        return self._advice

    def to_xarray(self):
        """The state evolution on ``layer``, with the verdict's scalars as attributes."""
        ds = super().to_xarray()
        ds.attrs.update({k: v for k, v in self.observables.items() if v is not None})
        ds.attrs.update(kind=self.kind, config_hash=self.record.config_hash)
        return ds

    def plot(self):
        """S_l and V_l, gamma and rho, taubar_l^2 per layer at the setting judged, titled with the verdict."""
        a, ev = self.advice, self.evolution
        return _per_layer_figure([
            ("S_l, V_l (law of xhat_l)", [("S", ev, None, "S"), ("V", ev, None, "V")], False),
            ("gamma_{l+1}, rho_{l+1}", [("gamma", ev, None, "gamma"), ("rho", ev, None, "rho")], False),
            ("taubar_l^2", [("tau_bar_sq", ev, None, "tau_bar_sq")], False),
        ], f"{a.encoder} encoder, {a.decoder} decoder, depth {a.depth}: sigma_W^2 = {a.sigma_w_sq:.4g}, "
           f"sigma_b^2 = {a.sigma_b_sq:.4g} is {a.classification} (phase {a.phase}); recommended "
           f"({a.recommended[0]:.4g}, {a.recommended[1]:.4g})")


def advise(config: AdviseConfig | dict | str | Path) -> AdviceResult:
    """Classify an initialisation (the recommended one when ``config.sigma_w_sq`` and
    ``config.sigma_b_sq`` are None) with reasons: :func:`aelab.deep.advisor.advise`, as a result
    with the state evolution (Theorem 1) of the setting judged."""
    from aelab.deep.advisor import advise as advisor
    from aelab.deep.state_evolution import evolve as state_evolution

    config = as_config(AdviseConfig, config)
    record = RunRecord.start(AdviceResult.kind, config)
    start = time.perf_counter()
    a = advisor(config.encoder, config.decoder, config.depth, bottleneck=config.bottleneck, alpha=config.alpha,
                sigma_w_sq=config.sigma_w_sq, sigma_b_sq=config.sigma_b_sq, input_variance=config.input_variance)
    ev = state_evolution(config.network(a.sigma_w_sq, a.sigma_b_sq))
    elapsed = time.perf_counter() - start
    observables = {"classification": a.classification, "phase": a.phase, "sigma_w_sq": a.sigma_w_sq,
                   "sigma_b_sq": a.sigma_b_sq, "s_sig": a.s_sig, "s_var": a.s_var,
                   "recommended_sigma_w_sq": a.recommended[0], "recommended_sigma_b_sq": a.recommended[1]}
    record = record.finish(observables=observables, timings_s={"advise_s": elapsed},
                           details={"advice": a.as_dict()})
    return AdviceResult(config, {"evolution": ev.table()}, record, advice=a)


# ---- experiment kinds -------------------------------------------------------------------------------
def run_evolve(config: EvolveConfig, out_dir: str | Path, *, quiet: bool = True, overwrite: bool = False) -> dict:
    """Kind ``deep-evolve``: :func:`evolve` into a run folder (``evolution.csv``, ``figure.png``); the observables."""
    config = as_config(EvolveConfig, config)
    return run_into_folder(EvolveResult.kind, config, out_dir, lambda: evolve(config), overwrite=overwrite)


def run_simulate(config: SimulateConfig, out_dir: str | Path, *, quiet: bool = True, overwrite: bool = False,
                 device: str | None = None) -> dict:
    """Kind ``deep-simulate``: :func:`simulate` into a run folder (``simulation.csv``, ``samples.csv``,
    ``theory.csv``, ``figure.png``); the observables."""
    config = as_config(SimulateConfig, config)
    return run_into_folder(SimulateResult.kind, config, out_dir,
                           lambda: simulate(config, progress=not quiet, device=device),
                           seeds=[config.monte_carlo.seed], options={"device": device}, overwrite=overwrite)


register_kind("deep-evolve", EvolveConfig, run_evolve, "Li & Nguyen 2019 state evolution (Theorem 1)")
register_kind("deep-simulate", SimulateConfig, run_simulate, "random weight-tied networks next to Theorem 1",
              options=("device",))
