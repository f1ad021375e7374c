"""``aelab reproduce``: one command per published figure or table."""

from __future__ import annotations

from pathlib import Path

import typer

from aelab.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce(
        ctx: typer.Context,
        name: str = typer.Argument(None, help="Figure or table to reproduce (see --list)."),
        out: Path = typer.Option(None, "--out", "-o", help="Run folder (default runs/reproduce/NAME)."),
        quick: bool = typer.Option(False, "--quick", help="A CI-sized version that finishes in about a minute."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
        list_: bool = typer.Option(False, "--list", help="List the available figures and tables."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run that --out holds."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run that --out holds (reuses finished runs)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Reproduce a published figure or table into a run folder (data, config, figure)."""
        from aelab.cli import is_quiet
        from aelab.experiments import all_reproductions, run_reproduction

        if list_:
            for entry in all_reproductions():
                typer.echo(f"{entry.name:32s} {entry.paper:22s} {entry.description}")
            return
        if not name:
            raise ConfigError("give a figure name, or --list to see them")
        from aelab.limits import check_writable_dir

        folder = check_writable_dir(out if out is not None else Path("runs") / "reproduce" / name, "--out")
        run_reproduction(name, folder, quick=quick, seed=seed, quiet=is_quiet(ctx, quiet), overwrite=overwrite,
                         resume=resume)
        if not is_quiet(ctx, quiet):
            typer.echo(f"wrote {folder}")
