"""``aelab shallow real-data | fixed-points | plateaus``: the paper's analyses on the user's own settings."""

from __future__ import annotations

from pathlib import Path

import typer


def register_analysis(shallow: typer.Typer) -> None:
    """Add the analysis commands to the ``aelab shallow`` group."""

    @shallow.command("real-data")
    def real_data(
        ctx: typer.Context,
        config: Path = typer.Argument(None, help="Config file (TOML, YAML or JSON); default: Fashion-MNIST, K = 4."),
        out: Path = typer.Option(Path("runs/shallow-real-data"), "--out", "-o", help="Run folder to write."),
        set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: section.key=value (repeatable)."),
        data_dir: Path = typer.Option(None, "--data-dir", help="Folder holding the data sets (default: AELAB_DATA)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run that --out holds."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """ODE over all D eigen-directions of real images vs SGD on the images and on Gaussian inputs
        (the same as `aelab shallow run` with data.dataset set, plus the Gaussian-equivalent SGD)."""
        from aelab.cli import is_quiet
        from aelab.config import load_config
        from aelab.shallow.real_data import RealDataConfig, run_real_data

        cfg = load_config(RealDataConfig, config, set_)
        q = is_quiet(ctx, quiet)
        res = run_real_data(cfg, out, quiet=q, data_dir=data_dir, overwrite=overwrite)
        if not q:
            gap = res["gaps"].get("theory_vs_images")
            extra = f", largest |ODE - images| = {gap['max_abs']:.4g} at t = {gap['time']:.3g}" if gap else ""
            typer.echo(f"wrote {out}{extra}")

    @shallow.command("fixed-points")
    def fixed_points(
        config: Path = typer.Argument(None, help="Shallow config file; default: the built-in demo."),
        set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: section.key=value (repeatable)."),
        time: float = typer.Option(1000.0, "--time", help="Integrate the ODE this long before the root search."),
        out: Path = typer.Option(None, "--out", "-o", help="Also write the result as JSON to this file."),
    ) -> None:
        """Integrate the ODE, find the fixed point it approaches and print the Jacobian's eigenvalues."""
        import json

        import numpy as np

        from aelab.config import load_config
        from aelab.errors import ConfigError
        from aelab.results import write_json
        from aelab.shallow.config import ShallowConfig
        from aelab.shallow.fixed_points import find_fixed_point, long_time_state
        from aelab.shallow.theory import initial_state, ode_system

        if not time > 0 or not np.isfinite(time):
            raise ConfigError(f"--time: must be a positive number, got {time}")
        cfg = load_config(ShallowConfig, config, set_)
        system = ode_system(cfg)
        fp = find_fixed_point(system, long_time_state(system, initial_state(cfg), time))
        K = min(cfg.model.K, system.cov.M + system.cov.n_bulk)
        result = {
            "converged": fp.converged, "pmse": fp.pmse, "pca_error": system.cov.pca_error(K),
            "residual": fp.residual, "stable": fp.stable, "n_unstable": fp.n_unstable, "n_zero": fp.n_zero,
            "eigenvalues": [float(e.real) for e in fp.eigenvalues],
            "bulk_eigenvalues": [float(e.real) for e in fp.bulk_eigenvalues],
        }
        if out is not None:
            write_json(out, result)
        typer.echo(json.dumps(result, indent=2))

    @shallow.command("plateaus")
    def plateaus(
        run_dir: Path = typer.Argument(..., help="A run folder of `aelab shallow run` (theory.csv, simulation.csv)."),
        flatness: float = typer.Option(0.1, "--flatness", help="Flat where -dln(err)/dt < flatness x its maximum."),
        min_duration: float = typer.Option(0.02, "--min-duration", help="Minimal plateau length (fraction of t)."),
    ) -> None:
        """Detect the plateaus and escape times of a run's curves and match them with the PCA errors."""
        import pandas as pd

        from aelab.config import load_config, read_config_file
        from aelab.errors import ConfigError
        from aelab.results import write_table
        from aelab.shallow.config import ShallowConfig
        from aelab.shallow.plateaus import detect_plateaus, escape_times, match_ranks

        if not (run_dir / "config.json").is_file():
            raise ConfigError(f"RUN_DIR {run_dir}: no config.json (expected a folder of `aelab shallow run`)")
        cfg = load_config(ShallowConfig, read_config_file(run_dir / "config.json"))
        cov = cfg.data.covariance()
        pca = [cov.pca_error(r) for r in range(min(cfg.model.K, cov.D) + 1)]
        rows = []
        for side in ("theory", "simulation"):
            path = run_dir / f"{side}.csv"
            if not path.is_file():
                continue
            table = pd.read_csv(path)
            t, y = table["t"].to_numpy(), table["pmse"].to_numpy()
            found = match_ranks(detect_plateaus(t, y, flatness=flatness, min_duration=min_duration,
                                                smooth=1 if side == "theory" else 3), pca)
            escapes = escape_times(t, y, found, smooth=1 if side == "theory" else 3)
            for i, p in enumerate(found):
                esc = escapes[i].time if i < len(escapes) else float("nan")
                rows.append({"side": side, "rank": p.rank, "level": p.level, "pca_error": p.pca_level,
                             "relative_gap": p.relative_gap, "time": p.time, "escape_time": esc})
                typer.echo(f"{side:10s} plateau at {p.level:.5g} (PCA rank {p.rank}: {p.pca_level:.5g}, "
                           f"{100 * p.relative_gap:+.2f}%), t = {p.time:.4g}, escape at t = {esc:.4g}")
        if not rows:
            raise ConfigError(f"RUN_DIR {run_dir}: no theory.csv or simulation.csv")
        write_table(run_dir / "plateaus.csv", pd.DataFrame(rows))
