"""``aelab train CONFIG --out DIR [--resume] [--device cpu|cuda]``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        ctx: typer.Context,
        config: Path = typer.Argument(..., help="Configuration file (TOML, YAML or JSON); see docs/train.md."),
        out: Path = typer.Option(..., "--out", "-o", help="Run folder (history, checkpoints, figures)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its latest checkpoint."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run that --out holds."),
        ignore_memory: bool = typer.Option(False, "--ignore-memory", help="Run although the memory estimate "
                                           "exceeds the free memory."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto (cuda when present)."),
        set_: list[str] = typer.Option([], "--set", help="Override a key: --set train.lr=0.01 (repeatable)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Train a deep autoencoder: weight-tied or untied, any initialiser, SGD or Adam, with checkpoints."""
        from aelab.cli import is_quiet
        from aelab.config import load_config
        from aelab.errors import ConfigError
        from aelab.train.config import TrainConfig
        from aelab.train.training import run_training

        cfg = load_config(TrainConfig, config, set_)
        loud = not is_quiet(ctx, quiet)
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite exclude each other")
        outcome = run_training(cfg, out, resume=resume, device=device, quiet=not loud, overwrite=overwrite,
                               ignore_memory=ignore_memory)
        if loud:
            obs = outcome.observables
            typer.echo(f"step {obs['steps']}: train loss {obs['train_loss']:.4g}, test loss {obs['test_loss']:.4g} "
                       f"({obs['seconds']:.1f} s); wrote {out}")
