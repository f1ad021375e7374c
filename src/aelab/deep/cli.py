"""``aelab deep``: random deep weight-tied autoencoders (Li & Nguyen 2019).

Commands: ``evolve`` (Theorem 1 per layer), ``simulate`` (random networks), ``phase-diagram``
and ``advise``: each builds its configuration (:mod:`aelab.deep.config`), calls its function of
:mod:`aelab.deep.results` and prints the result or saves it. Module-level imports stay light; the
numerics are imported inside the commands.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import typer

from aelab.errors import ConfigError

COLUMNS = ("layer", "gamma", "rho", "tau_bar_sq", "S", "V")

_ENC = typer.Option("tanh", "--encoder", help="Encoder activation sigma (all layers; or a comma list of L-1).")
_DEC = typer.Option("tanh", "--decoder", help="Decoder activation phi (all layers; or a comma list of L-1).")
_BOT = typer.Option(None, "--bottleneck", help="phi_L, applied to x_L (default: the decoder's).")
_DEPTH = typer.Option(10, "--depth", help="L, the number of encoder layers (2L weight layers).")
_SW = typer.Option("1.0", "--sigma-w-sq", help="sigma_W^2 (> 0), or a comma list per layer.")
_SB = typer.Option("0.0", "--sigma-b-sq", help="Encoder bias variance sigma_b^2 (>= 0), or a list.")
_SV = typer.Option("0.0", "--sigma-v-sq", help="Decoder bias variance sigma_v^2 (>= 0), or a list.")
_ALPHA = typer.Option("1.0", "--alpha", help="Width ratio alpha_l = n_l / n_{l-1} (> 0), or a list.")
_TAU0 = typer.Option(1.0, "--input-variance", help="taubar_0^2 = ||sigma_0(x)||^2 / n_0 (> 0).")
_INACT = typer.Option("linear", "--input-activation", help="sigma_0, applied to the input.")
_OUTACT = typer.Option("linear", "--output-activation", help="phi_0, applied to xhat_1.")
_CSV = typer.Option(False, "--csv", help="Print the table as CSV.")
_JSON = typer.Option(False, "--json", help="Print JSON (setting, summary, layers).")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
_IGNORE_MEMORY = typer.Option(False, "--ignore-memory", help="Run even when the memory estimate exceeds the "
                              "free memory (also AELAB_IGNORE_MEMORY=1).")

# Memory estimates, in bytes, computed from the options before anything is allocated.
_PER_LAYER = 128  # a resolved setting and its state evolution: per-layer arrays and activation lists
_PER_CELL_LAYER = 48  # a phase diagram: gamma, rho, taubar^2, S, V... per cell and layer (float64)
_PER_CELL = 640  # a phase diagram: quadrature temporaries, phases and the table, per cell
_NO_MACHINE = 2.0**50  # bytes (1 PiB): beyond this an estimate need not be summed to the end


def evolve_bytes(depth: int) -> float:
    """Memory of ``aelab deep evolve`` at depth L (the per-layer arrays of the setting and the table)."""
    return float(_PER_LAYER) * (depth + 2)


def phase_diagram_bytes(points: int, depth: int) -> float:
    """Memory of ``aelab deep phase-diagram``: points^2 cells, each with its trajectory over the layers."""
    return float(points) ** 2 * (_PER_CELL_LAYER * (depth + 2) + _PER_CELL)


def _widths(width: int, alpha, depth: int, cap: float) -> tuple[float, float, float]:
    """(sum of n_l n_(l-1), largest n_l n_(l-1), sum of n_l) for n_0 = width and n_l =
    max(1, round(n_(l-1) alpha_l)), as :func:`aelab.deep.monte_carlo.widths_for`; stops summing
    once the weights exceed ``cap`` entries, and jumps over layers of constant width."""
    total = largest = 0.0
    units = float(width)
    n_prev = int(width)
    for layer in range(depth):
        a = float(alpha[layer]) if isinstance(alpha, list) else float(alpha)
        n = max(1, int(round(n_prev * a)))
        size = float(n) * n_prev
        if n == n_prev and not isinstance(alpha, list):  # constant from here on
            rest = depth - layer
            return total + rest * size, max(largest, size), units + rest * n
        total, largest, units = total + size, max(largest, size), units + n
        if total > cap:
            break
        n_prev = n
    return total, largest, units


def simulate_bytes(cfg, width: int, samples: int, dtype: str, host_weights: bool = True) -> float:
    """Memory of ``aelab deep simulate``: the weights of a batch of draws (width^2 x depth x
    the dtype's size, when they fit in the simulation's weight budget; else the largest layer),
    the activations of every layer, and the per-layer results."""
    import inspect

    from aelab.deep.monte_carlo import simulate

    itemsize = 4 if dtype == "float32" else 8
    budget = inspect.signature(simulate).parameters["max_memory"].default
    weights, largest, units = _widths(width, cfg.alpha, cfg.depth, cap=_NO_MACHINE / itemsize)
    per_draw = weights * itemsize
    if per_draw <= budget:
        batch = max(1, min(samples, 64, int(budget // max(per_draw, 1))))
        stored = batch * per_draw
    else:
        batch, stored = 1, largest * itemsize
    host = 3.0 * batch * units * itemsize + evolve_bytes(cfg.depth) + 6.0 * samples * cfg.depth * 8
    return host + (stored if host_weights else 0.0)


def _check_memory(needed: float, command: str, hint: str, allow: bool) -> None:
    from aelab.limits import check_memory

    check_memory(needed, what=f"aelab deep {command}", hint=hint, allow=allow)


_FIELD = re.compile(r"(^|; )([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*):")


def option_message(message: str, flags: dict[str, str] | None = None) -> str:
    """A configuration error as the command line says it: each field path (``network.sigma_w_sq``,
    ``monte_carlo.width``, ``x_range``) becomes its option (``--sigma-w-sq``, ``--width``,
    ``--x-range``), or ``flags[field]`` for a field whose option has another name."""
    def flag(match: re.Match) -> str:
        name = [p for p in match.group(2).split(".") if not p.isdigit()][-1]
        return f"{match.group(1)}{(flags or {}).get(name, '--' + name.replace('_', '-'))}:"

    return _FIELD.sub(flag, message.removeprefix("invalid configuration: "))


def validated(model, data: dict, flags: dict[str, str] | None = None):
    """``data`` validated as ``model``; an error names the options (:func:`option_message`)."""
    from aelab.config import validate_config

    try:
        return validate_config(model, data)
    except ConfigError as exc:
        raise ConfigError(option_message(str(exc), flags)) from None


def parse_list(text: str, option: str, *, kind: type = float):
    """Parse a command-line value: one number, or a comma-separated list per layer."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option}: expected a number or a comma-separated list, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _acts(text: str):
    parts = [p.strip() for p in str(text).split(",")]
    return parts[0] if len(parts) == 1 else parts


def _network(encoder, decoder, bottleneck, depth, sw, sb, sv, alpha, tau0, input_activation, output_activation):
    return {"encoder": _acts(encoder), "decoder": _acts(decoder), "bottleneck": bottleneck, "depth": depth,
            "sigma_w_sq": parse_list(sw, "--sigma-w-sq"), "sigma_b_sq": parse_list(sb, "--sigma-b-sq"),
            "sigma_v_sq": parse_list(sv, "--sigma-v-sq"), "alpha": parse_list(alpha, "--alpha"),
            "input_variance": tau0, "input_activation": input_activation, "output_activation": output_activation}


def _exclusive(csv: bool, js: bool) -> None:
    if csv and js:
        raise ConfigError("--csv and --json: choose one output format")


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    v = float(v)
    return "nan" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.6g}")


def _text_table(table, names) -> str:
    cols = [[n] + [_fmt(v) for v in table[n].tolist()] for n in names]
    widths = [max(len(c) for c in col) for col in cols]
    lines = []
    for i in range(len(cols[0])):
        lines.append("  ".join(col[i].rjust(w) for col, w in zip(cols, widths)))
    return "\n".join(lines)


def _emit(table, names, summary: dict, setting: dict, *, csv: bool, js: bool, title: str) -> None:
    from aelab.record import jsonable

    if js:
        rows = table[list(names)].to_dict(orient="records")
        typer.echo(json.dumps(jsonable({"setting": setting, "summary": summary, "layers": rows}), indent=2))
    elif csv:
        import io

        buf = io.StringIO()
        table[list(names)].to_csv(buf, index=False, float_format="%.10g")
        typer.echo(buf.getvalue().rstrip("\n"))
    else:
        typer.echo(f"# {title}")
        typer.echo("# " + ", ".join(f"{k} = {_fmt(v) if not isinstance(v, str) else v}" for k, v in summary.items()
                                    if v is not None))
        typer.echo(_text_table(table, names))


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Random deep weight-tied autoencoders (Li & Nguyen 2019): state evolution, random "
                           "networks, phase diagrams, initialisation advice.", no_args_is_help=True)
    app.add_typer(sub, name="deep")

    @sub.command("evolve")
    def evolve_cmd(
        encoder: str = _ENC, decoder: str = _DEC, bottleneck: str = _BOT, depth: int = _DEPTH,
        sigma_w_sq: str = _SW, sigma_b_sq: str = _SB, sigma_v_sq: str = _SV, alpha: str = _ALPHA,
        input_variance: float = _TAU0, input_activation: str = _INACT, output_activation: str = _OUTACT,
        method: str = typer.Option("auto", "--method", help="auto, kernel or reference."),
        csv: bool = _CSV, as_json: bool = _JSON, ignore_memory: bool = _IGNORE_MEMORY,
    ) -> None:
        """Theorem 1 per layer: gamma_{l+1}, rho_{l+1}, taubar_l^2 and the law S_l, V_l of xhat_l."""
        _exclusive(csv, as_json)
        from aelab.deep.config import EvolveConfig
        from aelab.deep.results import evolve

        cfg = validated(EvolveConfig, {"network": _network(
            encoder, decoder, bottleneck, depth, sigma_w_sq, sigma_b_sq, sigma_v_sq, alpha, input_variance,
            input_activation, output_activation), "method": method})
        _check_memory(evolve_bytes(cfg.network.depth), "evolve", "lower --depth", ignore_memory)
        result = evolve(cfg)
        _emit(result.table, COLUMNS, result.summary, cfg.network.model_dump(), csv=csv, js=as_json,
              title="state evolution (Li & Nguyen 2019, Thm 1): row l has gamma_(l+1), rho_(l+1), taubar_l^2, "
                    "S_l, V_l; output xhat = phi_0(S_1 sigma_0(x) + sqrt(V_1) z)")

    @sub.command("simulate")
    def simulate_cmd(
        ctx: typer.Context,
        encoder: str = _ENC, decoder: str = _DEC, bottleneck: str = _BOT, depth: int = _DEPTH,
        sigma_w_sq: str = _SW, sigma_b_sq: str = _SB, sigma_v_sq: str = _SV, alpha: str = _ALPHA,
        input_variance: float = _TAU0, input_activation: str = _INACT, output_activation: str = _OUTACT,
        width: int = typer.Option(1000, "--width", help="n_0, the input width (n_l = round(n_{l-1} alpha_l))."),
        samples: int = typer.Option(20, "--samples", help="Independent random networks."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
        dtype: str = typer.Option("float64", "--dtype", help="float32 or float64."),
        backend: str = typer.Option("numpy", "--backend", help="numpy or torch (a GPU when present)."),
        device: str = typer.Option(None, "--device", help="torch backend's device: cpu, cuda, cuda:N or auto "
                                   "(default: auto, cuda when present)."),
        weights: str = typer.Option("gaussian", "--weights", help="gaussian, bernoulli, uniform or laplace."),
        input_kind: str = typer.Option("gaussian", "--input", help="gaussian, or sign (+1/-1 halves, as App. B)."),
        csv: bool = _CSV, as_json: bool = _JSON, quiet: bool = _QUIET, ignore_memory: bool = _IGNORE_MEMORY,
    ) -> None:
        """Random networks: the same columns as ``evolve``, averaged over draws, with standard errors."""
        _exclusive(csv, as_json)
        from aelab.cli import is_quiet
        from aelab.deep.config import SimulateConfig
        from aelab.deep.monte_carlo import ESTIMATORS
        from aelab.deep.results import simulate

        cfg = validated(SimulateConfig, {
            "network": _network(encoder, decoder, bottleneck, depth, sigma_w_sq, sigma_b_sq, sigma_v_sq, alpha,
                                input_variance, input_activation, output_activation),
            "monte_carlo": {"width": width, "samples": samples, "seed": seed, "dtype": dtype, "backend": backend,
                            "weights": weights, "input": input_kind}})
        mc = cfg.monte_carlo
        on_host = mc.backend == "numpy" or device == "cpu"  # torch on a GPU keeps the weights there
        _check_memory(simulate_bytes(cfg.network, mc.width, mc.samples, mc.dtype, host_weights=on_host), "simulate",
                      "lower --width or --depth", ignore_memory)
        result = simulate(cfg, progress=not (is_quiet(ctx, quiet) or csv or as_json), device=device)
        names = list(COLUMNS) + [f"{n}_se" for n in ESTIMATORS]
        setting = {**cfg.network.model_dump(), **cfg.monte_carlo.model_dump()}
        _emit(result.table, names, result.summary, setting, csv=csv, js=as_json,
              title=f"random networks: mean over {samples} draws and standard errors (*_se)")

    @sub.command("phase-diagram")
    def phase_diagram_cmd(
        ctx: typer.Context,
        encoder: str = typer.Option("tanh", "--encoder", help="Encoder activation sigma."),
        decoder: str = typer.Option("tanh", "--decoder", help="Decoder activation phi."),
        bottleneck: str = _BOT, depth: int = typer.Option(100, "--depth", help="Depth L."),
        axes: str = typer.Option("w-b", "--axes", help="w-b: (sigma_W^2, sigma_b^2); beta-tau: (beta, taubar^2)."),
        x_range: str = typer.Option(None, "--x-range", help="LO:HI of the x axis (default 0.1:4 or 0.2:6)."),
        y_range: str = typer.Option(None, "--y-range", help="LO:HI of the y axis (default 0:1 or 0.01:2)."),
        points: int = typer.Option(100, "--points", help="Grid points per axis."),
        alpha: float = typer.Option(1.0, "--alpha", help="Width ratio alpha (w-b)."),
        input_variance: float = _TAU0,
        sigma_v_sq: float = typer.Option(0.0, "--sigma-v-sq", help="Decoder bias variance (w-b)."),
        out: Path = typer.Option(None, "--out", "-o", help="Run folder (default runs/deep/phase-diagram)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
        quiet: bool = _QUIET, ignore_memory: bool = _IGNORE_MEMORY,
    ) -> None:
        """A phase diagram: figure (phase_diagram.png) and data (phase_diagram.csv) in a run folder."""
        from aelab.cli import is_quiet
        from aelab.deep.config import PhaseDiagramConfig
        from aelab.deep.results import PhaseDiagramResult, phase_diagram
        from aelab.record import RunRecord
        from aelab.results import RunFolder
        from aelab.results import run_in_folder

        cfg = validated(PhaseDiagramConfig, {
            "encoder": encoder, "decoder": decoder, "bottleneck": bottleneck, "depth": depth, "axes": axes,
            "x_range": None if x_range is None else _range(x_range, "--x-range"),
            "y_range": None if y_range is None else _range(y_range, "--y-range"), "points": points,
            "alpha": alpha, "input_variance": input_variance, "sigma_v_sq": sigma_v_sq})
        _check_memory(phase_diagram_bytes(cfg.points, cfg.depth), "phase-diagram", "lower --points or --depth",
                      ignore_memory)
        path = out if out is not None else Path("runs") / "deep" / "phase-diagram"
        folder = RunFolder.create(path, RunRecord.start(PhaseDiagramResult.kind, cfg), cfg, overwrite=overwrite)
        result = run_in_folder(folder, lambda: phase_diagram(cfg))
        if not is_quiet(ctx, quiet):
            typer.echo(f"wrote {folder.path} ({points}x{points} cells in "
                       f"{result.record.timings_s['phase_diagram_s']:.2f} s)")

    @sub.command("advise")
    def advise_cmd(
        encoder: str = typer.Option(..., "--encoder", help="Encoder activation sigma."),
        decoder: str = typer.Option(..., "--decoder", help="Decoder activation phi."),
        depth: int = typer.Option(..., "--depth", help="Depth L."),
        bottleneck: str = _BOT,
        alpha: float = typer.Option(1.0, "--alpha", help="Width ratio of the hidden layers."),
        sigma_w_sq: float = typer.Option(None, "--sigma-w-sq", help="A setting to judge (default: the recommended)."),
        sigma_b_sq: float = typer.Option(None, "--sigma-b-sq", help="Its sigma_b^2 (default 0 with --sigma-w-sq)."),
        input_variance: float = _TAU0,
        as_json: bool = _JSON,
    ) -> None:
        """Classify an initialisation (trainable / slowed / infinities) and recommend a safe one, with reasons."""
        from aelab.deep.config import AdviseConfig
        from aelab.deep.results import advise
        from aelab.record import jsonable

        cfg = validated(AdviseConfig, {"encoder": encoder, "decoder": decoder, "depth": depth,
                                        "bottleneck": bottleneck, "alpha": alpha, "sigma_w_sq": sigma_w_sq,
                                        "sigma_b_sq": sigma_b_sq, "input_variance": input_variance})
        a = advise(cfg).advice
        if as_json:
            typer.echo(json.dumps(jsonable(a.as_dict()), indent=2))
            return
        typer.echo(f"{encoder} encoder, {decoder} decoder, depth {depth}, alpha {alpha:g}: "
                   f"sigma_W^2 = {a.sigma_w_sq:.6g}, sigma_b^2 = {a.sigma_b_sq:.6g}")
        typer.echo(f"  classification: {a.classification}   phase: {a.phase}   "
                   f"S_sig = {_fmt(a.s_sig)}   S_var = {_fmt(a.s_var)}")
        typer.echo(f"  recommended: sigma_W^2 = {a.recommended[0]:.6g}, sigma_b^2 = {a.recommended[1]:.6g}")
        for r in a.reasons:
            typer.echo(f"  - {r}")


def _range(text: str, option: str) -> tuple[float, float]:
    parts = str(text).split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{option}: expected LO:HI (two numbers), got {text!r}") from None
    return lo, hi
