"""``aelab shallow``: theory and simulation of shallow autoencoders."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    shallow = typer.Typer(help="Shallow autoencoders trained by online SGD (Refinetti & Goldt 2022): exact ODEs "
                               "next to simulation.", no_args_is_help=True)
    app.add_typer(shallow, name="shallow")

    @shallow.command("run")
    def run(
        ctx: typer.Context,
        config: Path = typer.Argument(None, help="Config file (TOML, YAML or JSON); default: the built-in demo.",
                                      exists=False),
        out: Path = typer.Option(Path("runs/shallow"), "--out", "-o", help="Run folder to write."),
        set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: section.key=value (repeatable)."),
        theory_only: bool = typer.Option(False, "--theory-only", help="Integrate the ODE only."),
        simulation_only: bool = typer.Option(False, "--simulation-only", help="Run the SGD simulation only."),
        workers: int = typer.Option(1, "--workers", "-j", min=0,
                                    help="Processes over seeds, 0: one per core (the same results)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run that --out holds."),
        ignore_memory: bool = typer.Option(False, "--ignore-memory", help="Run although the memory estimate "
                                           "exceeds the free memory."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Integrate the exact ODE and run online SGD over seeds; write CSVs, metadata and a figure."""
        from aelab.cli import is_quiet
        from aelab.config import load_config
        from aelab.errors import ConfigError
        from aelab.shallow.config import ShallowConfig

        if theory_only and simulation_only:
            raise ConfigError("--theory-only and --simulation-only exclude each other")
        cfg = load_config(ShallowConfig, config, set_)
        cfg.check_memory(theory=not simulation_only, simulation=not theory_only, workers=workers,
                         allow=ignore_memory)  # before the simulators are imported
        from aelab.shallow.result import run_shallow

        q = is_quiet(ctx, quiet)
        final = run_shallow(cfg, out, quiet=q, theory=not simulation_only, simulation=not theory_only,
                            overwrite=overwrite, workers=workers, ignore_memory=ignore_memory)
        if not q:
            parts = [f"{k} = {v:.6g}" for k, v in final.items() if k != "pmse" and v is not None]
            typer.echo(f"wrote {out}  ({', '.join(parts)})")

    @shallow.command("config")
    def show_config(
        config: Path = typer.Argument(None, help="Config file to resolve; default: the built-in demo."),
        set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: section.key=value."),
        fmt: str = typer.Option("toml", "--format", help="toml, yaml or json."),
    ) -> None:
        """Print the resolved configuration (defaults filled in), a starting point for your own."""
        import json

        from aelab.config import load_config
        from aelab.errors import ConfigError
        from aelab.shallow.config import ShallowConfig

        data = load_config(ShallowConfig, config, set_).model_dump(mode="json")
        if fmt == "json":
            typer.echo(json.dumps(data, indent=2))
        elif fmt == "yaml":
            import yaml

            typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
        elif fmt == "toml":
            typer.echo(_to_toml(data))
        else:
            raise ConfigError(f"--format: expected toml, yaml or json, got {fmt!r}")

    from aelab.shallow.analysis_cli import register_analysis

    register_analysis(shallow)


def _to_toml(data: dict) -> str:
    """A two-level mapping of sections as TOML text."""
    import json

    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            text = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines).rstrip()
