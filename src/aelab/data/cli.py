"""``aelab data``: list, fetch, verify and inspect the registered data sets."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

_HELP = """Real data sets: list, fetch (download or copy from a mirror), verify, spectra.

The data directory is --data-dir, else $AELAB_DATA, else a per-user folder (`aelab data where`).

From the public addresses: aelab data fetch mnist

From a local mirror folder: aelab data fetch mnist --source ../shared/data/mnist

From a mirror's address: aelab data fetch cifar10 --source https://HOST/PATH/

Check: aelab data list; aelab data verify
"""

_DATA_DIR = typer.Option(None, "--data-dir", help="Data directory (default: $AELAB_DATA, else a per-user folder).")


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _list(data_dir: Path | None = _DATA_DIR) -> None:
    """Show the registered data sets and whether each is present and verified."""
    from rich.table import Table

    from aelab.data import paths
    from aelab.data.download import dataset_state, status
    from aelab.data.registry import REGISTRY

    console = _console()
    table = Table(title=f"data sets in {paths.data_dir(data_dir)}", title_justify="left")
    for column in ("name", "status", "image", "train / test"):
        table.add_column(column, no_wrap=True)
    table.add_column("what")
    for name, spec in REGISTRY.items():
        state = dataset_state(status(name, data_dir=data_dir))
        style = "green" if state.startswith("verified") else ("red" if state == "corrupt" else "")
        image = "x".join(map(str, next(iter(spec.shapes.values()))[1:]))
        counts = " / ".join(f"{shape[0]:,}" for shape in spec.shapes.values())
        table.add_row(name, f"[{style}]{state}[/]" if style else state, image, counts, spec.description)
    console.print(table)
    console.print("get one with `aelab data fetch NAME` (add --source FOLDER-OR-URL for a mirror)")


def _info(name: str = typer.Argument(..., help="A registered data set (`aelab data list`)."),
          data_dir: Path | None = _DATA_DIR) -> None:
    """Show a data set's files, checksums, addresses, licence and local state."""
    from aelab.data import paths
    from aelab.data.download import status
    from aelab.data.registry import get_spec

    spec = get_spec(name)
    states = {(s.form, s.file): s.state for s in status(spec.name, data_dir=data_dir)}
    root = paths.data_dir(data_dir)
    console = _console()
    console.print(f"[bold]{spec.name}[/]: {spec.description}")
    console.print(f"shapes: {', '.join(f'{k} {v}' for k, v in spec.shapes.items())}")
    if spec.classes:
        console.print(f"classes: {', '.join(spec.classes)}")
    console.print(f"licence: {spec.licence}\nhomepage: {spec.homepage}\ncite: {spec.citation}")
    for form in spec.forms:
        console.print(f"\nform [bold]{form.name}[/] in {spec.folder(root, form)}: {form.note}")
        for f in form.files:
            console.print(f"  {f.name}  [{states[(form.name, f.name)]}]")
            for digest in f.sha256:
                console.print(f"    sha256 {digest}")
            for url in f.urls:
                console.print(f"    {url}")


def _fetch(
    ctx: typer.Context,
    names: list[str] = typer.Argument(..., help="Data set name(s) (`aelab data list`)."),
    source: str | None = typer.Option(
        None, "--source", "-s",
        help="A mirror: URL (base address, or the address of a file) or local folder/file. A folder may hold "
             "the files or the data set's sub-folder (e.g. ../shared/data). Default: the public addresses."),
    data_dir: Path | None = _DATA_DIR,
    form: str | None = typer.Option(None, "--form", help="Distribution form to fetch (see `aelab data info NAME`)."),
    force: bool = typer.Option(False, "--force", help="Fetch again even if present and verified."),
    retries: int = typer.Option(3, "--retries", help="Extra attempts per address after a transient failure."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds without data before an attempt fails."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Download or copy data sets into the data directory, checking every sha256."""
    from aelab.cli import is_quiet
    from aelab.data.download import fetch

    quiet = is_quiet(ctx, quiet)
    console = _console()
    for name in names:
        files = fetch(name, source=source, data_dir=data_dir, form=form, force=force, retries=retries,
                      timeout=timeout, quiet=quiet)
        if not quiet:
            console.print(f"{name}: {len(files)} file(s) verified in {files[0].parent}")


def _verify(name: str | None = typer.Argument(None, help="A data set; all present ones when omitted."),
            data_dir: Path | None = _DATA_DIR) -> None:
    """Hash the files of present data sets again and compare with the registry."""
    from aelab.data.checksums import ChecksumError
    from aelab.data.datasets import fetch_hint
    from aelab.data.download import verify
    from aelab.errors import ConfigError

    results = verify(name, data_dir=data_dir)
    console = _console()
    present = [s for s in results if s.state != "missing"]
    if name is not None and not present:
        raise ConfigError(f"data set {name} is not in the data directory; get it with `{fetch_hint(name, data_dir)}`")
    for s in present:
        mark = {"ok": "[green]ok[/]", "mismatch": "[red]MISMATCH[/]"}[s.state]
        console.print(f"{mark}  {s.path}")
    if not present:
        console.print("no data sets present; `aelab data list` shows them, `aelab data fetch NAME` gets one")
    bad = [s for s in present if s.state == "mismatch"]
    if bad:
        raise ChecksumError(f"{len(bad)} file(s) do not match the registry: {', '.join(str(s.path) for s in bad)}; "
                            "fetch them again with `aelab data fetch NAME --force`")


def _spectrum(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A registered data set."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for eigenvalues.csv and spectrum.png."),
    split: str = typer.Option("train", "--split", help="train or test."),
    steps: str = typer.Option("grayscale,to_float,flatten", "--steps",
                              help="Preprocessing, comma-separated: grayscale, to_float, flatten, center[:global], "
                                   "standardize[:global], scale_global[:STD], whiten[:EPS]. The Refinetti & Goldt "
                                   "preprocessing is grayscale,to_float,flatten,scale_global:0.5."),
    uncentered: bool = typer.Option(False, "--uncentered", help="Second moment instead of covariance."),
    data_dir: Path | None = _DATA_DIR,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run that --out holds."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Eigenvalues of a data set's covariance (cached), as a CSV table and a log-log plot."""
    import numpy as np

    from aelab.cli import is_quiet
    from aelab.data.preprocess import steps_key
    from aelab.data.spectra import cached_covariance_spectrum, plot_spectrum
    from aelab.record import RunRecord
    from aelab.results import RunFolder

    canonical = steps_key(steps)
    config = {"dataset": name, "split": split, "steps": canonical, "centered": not uncentered}
    run = RunFolder.create(out, RunRecord.start("data-spectrum", config), config, overwrite=overwrite)
    w, _ = cached_covariance_spectrum(name, split, steps=canonical, centered=not uncentered, data_dir=data_dir)
    run.write_table("eigenvalues.csv", {"rank": np.arange(1, len(w) + 1), "eigenvalue": w})
    plot_spectrum(w, run.file("spectrum.png"), labels=[f"{name} {split}"], title=canonical)
    run.finish(observables={"D": len(w), "trace": float(w.sum())})
    if not is_quiet(ctx, quiet):
        _console().print(f"{name} {split}: D = {len(w)}, top eigenvalues {np.array2string(w[:5], precision=4)}, "
                         f"trace {w.sum():.4g}; wrote {run.path}")


def _where() -> None:
    """Print the data directory and the cache directory in use."""
    from aelab.data import paths

    print(f"data:  {paths.data_dir()}  (set {paths.DATA_ENV} or --data-dir to change)")
    print(f"cache: {paths.cache_dir()}  (set {paths.CACHE_ENV} to change)")


def _clean(ctx: typer.Context, quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Delete the cache of decoded arrays and spectra (the data files are kept)."""
    import shutil

    from aelab.cli import is_quiet
    from aelab.data import paths

    root = paths.cache_dir()
    freed = 0
    for sub in ("datasets", "spectra"):
        folder = root / sub
        if folder.is_dir():
            freed += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
    (root / "verified.json").unlink(missing_ok=True)
    if not is_quiet(ctx, quiet):
        print(f"removed {freed / 2**20:.1f} MiB of cached arrays from {root}")


def register(app: typer.Typer) -> None:
    """Add the ``aelab data`` commands to the root command line."""
    sub = typer.Typer(help=_HELP, no_args_is_help=True)
    sub.command("list")(_list)
    sub.command("info")(_info)
    sub.command("fetch")(_fetch)
    sub.command("verify")(_verify)
    sub.command("spectrum")(_spectrum)
    sub.command("where")(_where)
    sub.command("clean")(_clean)
    app.add_typer(sub, name="data")
