"""``aelab sweep run | status | plot``: grids of runs, resumable, on processes or a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import typer

from aelab.errors import AelabError, ConfigError
from aelab.limits import MAX_POINTS


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Sweeps: grids over any config field, run on local processes or a Dask cluster, "
                      "resumable.", no_args_is_help=True)
    app.add_typer(sub, name="sweep")

    @sub.command("run")
    def run(
        ctx: typer.Context,
        grid: Path = typer.Argument(..., help="Grid file (TOML, YAML or JSON): experiment, base, axes, zip, seeds."),
        out: Path = typer.Option(..., "--out", "-o", help="Sweep folder; run again to resume."),
        executor: str = typer.Option(None, "--executor", "-e",
                                     help="serial, processes or dask (default: processes, or dask with --scheduler)."),
        max_workers: int = typer.Option(None, "--max-workers", "-j",
                                        help="Worker processes (default: all available cores)."),
        scheduler: str = typer.Option(None, "--scheduler",
                                      help="Dask scheduler address (tcp://host:8786) or scheduler file."),
        skip_failed: bool = typer.Option(False, "--skip-failed", help="Keep failed points as they are; "
                                         "by default they run again."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate the grid and list the points; run nothing."),
        max_points: int = typer.Option(MAX_POINTS, "--max-points", help="Refuse a larger grid (its size is "
                                       "known from the axes before any point is computed)."),
        device: str = typer.Option(None, "--device", help="torch device for the points of kinds that use one "
                                   "(train, deep-simulate): cpu, cuda or auto; changes no point's hash."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    ) -> None:
        """Run every unfinished point of GRID into DIR, then write DIR/results.csv and DIR/results.nc."""
        from aelab.cli import is_quiet
        from aelab.limits import check_writable_dir
        from aelab.sweep.driver import run_sweep
        from aelab.sweep.executors import make_executor
        from aelab.sweep.grid import load_grid
        from aelab.sweep.store import SweepStore

        quiet = is_quiet(ctx, quiet)
        name = executor or ("dask" if scheduler else "processes")
        pool = make_executor(name, max_workers=max_workers, scheduler=scheduler)
        if not dry_run:
            check_writable_dir(out, "--out")
        spec = load_grid(grid, max_points=max_points)
        if dry_run:
            store = SweepStore(out)
            for point in spec.points:
                state = store.status(point.id) if store.points_dir.is_dir() else "pending"
                coords = ", ".join(f"{k}={v!r}" for k, v in point.coords.items())
                typer.echo(f"{point.id}  {state:8s}  {coords}")
            dims = ", ".join(f"{g.dim} ({len(g)})" for g in spec.groups) or "none"
            typer.echo(f"{spec.size} points of {spec.kind.name!r}; dimensions: {dims}")
            return
        if not quiet:
            typer.echo(f"sweep {spec.name}: {spec.size} points of {spec.kind.name!r} into {out}")
        try:
            report = run_sweep(spec, out, executor=pool, retry_failed=not skip_failed, quiet=quiet, device=device)
        finally:
            pool.close()
        if not quiet:
            typer.echo(f"{report.total} points: {report.skipped} already stored, {report.ran} ran, "
                       f"{len(report.failed)} failed ({report.elapsed_s:.1f} s); wrote {out / 'results.csv'} "
                       f"and {out / 'results.nc'}")
        if report.failed:
            raise AelabError(f"{len(report.failed)} of {report.total} points failed; "
                             f"`aelab sweep status {out}` lists them")

    @sub.command("status")
    def status(
        ctx: typer.Context,
        out: Path = typer.Argument(..., help="Sweep folder."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing; the exit code tells."),
    ) -> None:
        """Count done / failed / pending points; exit 1 while any point failed."""
        from aelab.cli import is_quiet
        from aelab.sweep.driver import sweep_status

        st = sweep_status(out)
        if not is_quiet(ctx, quiet):
            typer.echo(f"{st.total} points: {st.complete} done, {st.failed} failed, {st.pending} pending")
            for coords, message in st.errors:
                where = ", ".join(f"{k}={v!r}" for k, v in coords.items())
                typer.echo(f"  failed {{{where}}}: {message.splitlines()[0] if message else ''}")
        if st.failed:
            raise AelabError(f"{st.failed} of {st.total} points failed")

    @sub.command("plot")
    def plot(
        ctx: typer.Context,
        out: Path = typer.Argument(..., help="Sweep folder."),
        x: str = typer.Option(..., "--x", help="Field on the horizontal axis, e.g. train.lr."),
        y: str = typer.Option(..., "--y", help="Observable on the vertical axis, e.g. pmse."),
        hue: str = typer.Option(None, "--hue", help="Field that tells lines apart (default: the other axes)."),
        figure: Path = typer.Option(None, "--figure", "-f", help="Figure file (default DIR/<y>_vs_<x>.png)."),
        xscale: str = typer.Option("auto", "--xscale", help="auto, linear or log."),
        yscale: str = typer.Option("auto", "--yscale", help="auto, linear or log."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing."),
    ) -> None:
        """Draw an observable against an axis (mean and standard error over seeds)."""
        from aelab.cli import is_quiet
        from aelab.sweep.plot import plot_sweep

        if not out.is_dir():
            raise ConfigError(f"{out}: no such sweep folder")
        path = plot_sweep(out, x, y, hue=hue, out=figure, xscale=xscale, yscale=yscale)
        if not is_quiet(ctx, quiet):
            typer.echo(f"wrote {path}")
