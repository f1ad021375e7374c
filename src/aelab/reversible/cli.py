"""``aelab reversible``: recovery error of reversible random-like nets (Arora, Liang & Ma 2015).

Commands ``error``, ``scan`` and ``shadow``: each builds its configuration, calls
:func:`aelab.reversible.error`, :func:`aelab.reversible.scan` or
:func:`aelab.reversible.shadow.run_shadow`, and prints the result or saves it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from aelab.errors import ConfigError

_HIDDEN = typer.Option(1000, "--hidden", help="m: width of the sparse top code h.")
_SPARSITY = typer.Option(10, "--sparsity", help="k: number of non-zeros of h (k <= m).")
_VISIBLE = typer.Option(5000, "--visible", help="n: width of the visible layer x.")
_KEEP = typer.Option(1.0, "--keep-prob", help="rho: dropout keep-probability on every generated layer, in (0, 1].")
_THRESHOLD = typer.Option(None, "--threshold", help="tau: inference bias b = -tau ||x|| (per layer: -tau times "
                          "the norm of the layer below), or 'opt' for the minimiser of the predicted error "
                          "(the default).")
_BIAS = typer.Option(None, "--bias", help="A fixed inference bias b instead of the threshold.")
_NONZERO = typer.Option("uniform", "--nonzero", help="Law of the non-zeros of h: uniform (on [1, 2]), constant "
                        "(1) or exponential (mean 1).")
_LAYERS = typer.Option(1, "--layers", help="L: number of layers (widths interpolate geometrically from n to m).")
_WIDTHS = typer.Option(None, "--widths", help="Intermediate widths n_1,...,n_{L-1}, comma-separated, bottom up.")
_TRIALS = typer.Option(1000, "--trials", help="Number of draws of (W, h, dropout masks).")
_MATRICES = typer.Option(10, "--matrices", help="Independent weight draws the trials are split over.")
_PRECISION = typer.Option("single", "--precision", help="Floating point of the simulation: single or double.")
_SEED = typer.Option(0, "--seed", help="Seed of every random draw.")
_NO_RELU = typer.Option(False, "--no-relu", help="Linear inference h^ = W^T x + b (case (a) with b = 0).")
_IGNORE_MEMORY = typer.Option(False, "--ignore-memory", help="Run even when the memory estimate exceeds the "
                              "free memory (also AELAB_IGNORE_MEMORY=1).")
_PER_TRIAL = 256  # bytes of per-draw results (errors per layer, support counts) kept until the end
_ARRAYS = 6  # layer-sized arrays alive at once per layer: generated, masks, inferred, differences


def error_bytes(config) -> float:
    """Memory of ``aelab reversible error``, from the options: the weights of one net (hidden x
    visible x the precision's size, per layer), the batched activations of every layer, and the
    per-draw results (trials)."""
    from aelab.reversible.simulate import _BUDGET  # elements of one batched layer array

    widths = config.all_widths()
    itemsize = 4 if config.precision == "single" else 8
    weights = float(sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1)))
    batch = float(min(_BUDGET, config.trials * max(widths)))  # one batch of draws, per layer
    activations = _ARRAYS * len(widths) * batch + config.sparsity * batch
    return itemsize * (weights + activations) + _PER_TRIAL * float(config.trials) * len(widths)


def _widths(text: str | None) -> tuple[int, ...] | None:
    if text is None or not text.strip():
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--widths: expected comma-separated integers, got {text!r}") from None


def _threshold(text: str | None) -> float | str:
    """``--threshold``: a number, or ``opt`` (also the default)."""
    if text is None or text.strip().lower() in ("opt", "optimal", "auto"):
        return "opt"
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--threshold: expected a finite number or 'opt', got {text!r}") from None


_FLAGS = {"relu": "--no-relu", "max_layers": "--layers"}  # the fields whose option is not --<field>


def _validated(model, data: dict):
    """``data`` validated as ``model``; an error names the options (``base.sparsity`` -> ``--sparsity``)."""
    from aelab.deep.cli import validated

    return validated(model, data, _FLAGS)


def _error_fields(*, hidden, sparsity, visible, keep_prob, threshold, bias, nonzero, trials, matrices, precision,
                  seed, **more) -> dict:
    """The fields of an :class:`~aelab.reversible.config.ErrorConfig` from the shared options."""
    return {"hidden": hidden, "sparsity": sparsity, "visible": visible, "keep_prob": keep_prob,
            "threshold": _threshold(threshold), "bias": bias, "nonzero": nonzero, "trials": trials,
            "matrices": matrices, "precision": precision, "seed": seed, **more}


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.5g}"


def _started(kind: str, config, out: Path, overwrite: bool, seeds: list[int]):
    """The run folder of a command, started (``running``) before any work."""
    from aelab.record import RunRecord
    from aelab.results import RunFolder

    return RunFolder.create(out, RunRecord.start(kind, config, seeds=seeds), config, overwrite=overwrite)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Reversible random-like nets (Arora, Liang & Ma 2015): generative model x = s * "
                      "relu(alpha W h), inference h^ = relu(W^T x + b), exact error theory.", no_args_is_help=True)
    app.add_typer(sub, name="reversible")
    _register_shadow(sub)

    @sub.command("error")
    def error(
        hidden: int = _HIDDEN, sparsity: int = _SPARSITY, visible: int = _VISIBLE, keep_prob: float = _KEEP,
        threshold: str = _THRESHOLD, bias: float = _BIAS, nonzero: str = _NONZERO, layers: int = _LAYERS,
        widths: str = _WIDTHS, trials: int = _TRIALS, matrices: int = _MATRICES, precision: str = _PRECISION,
        seed: int = _SEED, no_relu: bool = _NO_RELU,
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object (relative_error, "
                                      "relative_error_sem, theory, ...)."),
        ignore_memory: bool = _IGNORE_MEMORY,
    ) -> None:
        """Measured recovery error of one setting, its standard error and the closed-form prediction."""
        import json

        from aelab.reversible.config import ErrorConfig
        from aelab.reversible.results import error as measured_error

        config = _validated(ErrorConfig, _error_fields(
            hidden=hidden, sparsity=sparsity, visible=visible, keep_prob=keep_prob, threshold=threshold, bias=bias,
            nonzero=nonzero, trials=trials, matrices=matrices, precision=precision, seed=seed, layers=layers,
            widths=_widths(widths), relu=not no_relu))
        from aelab.limits import check_memory

        check_memory(error_bytes(config), what="aelab reversible error",
                     hint="lower --hidden, --visible or --trials", allow=ignore_memory)
        result = measured_error(config).measurement
        if json_out:
            typer.echo(json.dumps(result, indent=2))
            return
        widths_text = " -> ".join(str(w) for w in reversed(result["widths"]))
        inference = "linear" if no_relu else "relu"
        bias_text = (f"b = {result['bias']:g}" if config.bias is not None
                     else f"b = -tau |x|, tau = {result['threshold']:.4g} ({result['threshold_source']})")
        lines = [
            f"reversible net {widths_text} (top to visible), k = {sparsity}, rho = {keep_prob:g}, "
            f"{nonzero} non-zeros, {inference} inference, {bias_text}",
            f"  measured  E|h^-h|^2/|h|^2 = {result['relative_error']:.5g} +- {result['relative_error_sem']:.2g}"
            f"  ({result['trials']} draws, {result['matrices']} weight draws, "
            f"{result['seconds_simulation']:.2f} s)",
            f"  theory ({result['theory_kind']}) = {result['theory']:.5g}",
            f"  paper scale k/(rho n)       = {result['paper_scale']:.5g}",
        ]
        if result["exact_support_rate"] is not None:
            lines.append(f"  exact support recovery: {result['exact_support_rate']:.3f} measured, "
                         f"{_fmt(result['exact_support_theory'])} predicted; false positives "
                         f"{result['false_positives']:.3g} ({_fmt(result['false_positives_theory'])}), misses "
                         f"{result['misses']:.3g} ({_fmt(result['misses_theory'])})")
        if layers > 1:
            for ell, (m_err, t_err) in enumerate(zip(result["layer_errors"], result["layer_errors_theory"]), 1):
                lines.append(f"  layer {ell}: measured {m_err:.4g}, state evolution {t_err:.4g}")
        typer.echo("\n".join(lines))

    @sub.command("scan")
    def scan(
        ctx: typer.Context,
        hidden: int = typer.Option(400, "--hidden", help="m of the base setting."),
        sparsity: int = typer.Option(5, "--sparsity", help="k of the base setting."),
        visible: int = typer.Option(2000, "--visible", help="n of the base setting."),
        keep_prob: float = _KEEP, threshold: str = _THRESHOLD, bias: float = _BIAS, nonzero: str = _NONZERO,
        layers: int = typer.Option(4, "--layers", help="Deepest net of the depth panel."),
        trials: int = typer.Option(400, "--trials", help="Draws per simulation point."),
        matrices: int = _MATRICES, precision: str = _PRECISION, seed: int = _SEED,
        points: int = typer.Option(7, "--points", help="Simulation points per panel."),
        theory_points: int = typer.Option(60, "--theory-points", help="Points of each theory curve."),
        out: Path = typer.Option(Path("runs/reversible-scan"), "--out", "-o", help="Run folder."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Error against rho n, k, tau and depth: a run folder with scan.csv, theory.csv and scan.png."""
        from aelab.cli import is_quiet
        from aelab.reversible.results import ScanResult, scan
        from aelab.reversible.scans import ScanConfig
        from aelab.results import run_in_folder

        base = _error_fields(hidden=hidden, sparsity=sparsity, visible=visible, keep_prob=keep_prob,
                             threshold=threshold, bias=bias, nonzero=nonzero, trials=trials, matrices=matrices,
                             precision=precision, seed=seed)
        config = _validated(ScanConfig, {"base": base, "points": points, "max_layers": layers,
                                         "theory_points": theory_points})
        folder = _started(ScanResult.kind, config, out, overwrite, [config.base.seed])
        result = run_in_folder(folder, lambda: scan(config, progress=not is_quiet(ctx, quiet)))
        if not is_quiet(ctx, quiet):
            obs = result.observables
            typer.echo(f"wrote {out} ({obs['points']} simulation points; largest |sim - theory|/sem "
                       f"{obs['max_abs_z']:.2f})")


def _int_list(option: str, text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{option}: expected at least one integer")
    return values


def shadow_config(*, quick: bool, **options):
    """Build the ShadowConfig from command-line options (None: not given); errors name the option."""
    from aelab.reversible.shadow import ShadowConfig, quick_config

    base = quick_config().model_dump() if quick else ShadowConfig().model_dump()
    base.update({k: v for k, v in options.items() if v is not None})
    return _validated(ShadowConfig, base)


def _register_shadow(sub: typer.Typer) -> None:
    @sub.command("shadow")
    def shadow(
        ctx: typer.Context,
        quick: bool = typer.Option(False, "--quick", help="CI-sized: 2,000 training images, a 128-128 net, "
                                   "2 epochs, one seed."),
        datasets: str = typer.Option(None, "--datasets", help="Comma-separated: mnist, fashion-mnist (default both)."),
        hidden: str = typer.Option(None, "--hidden", help="Hidden widths, comma-separated (default 1000,1000)."),
        epochs: int = typer.Option(None, "--epochs", help="Training epochs (default 30)."),
        batch_size: int = typer.Option(None, "--batch-size", help="Real examples per minibatch (default 128)."),
        lr: float = typer.Option(None, "--lr", help="SGD learning rate (default 0.05, momentum 0.9)."),
        schedule: str = typer.Option(None, "--schedule", help="Learning-rate schedule: cosine (default, "
                                     "annealed to 0 over the run) or constant."),
        dropout_keep: float = typer.Option(None, "--dropout-keep", help="Keep-probability of the classifier's "
                                           "dropout in the dropout variants (default 0.5)."),
        shadow_keep: float = typer.Option(None, "--shadow-keep", help="rho of the dropout in the generative pass "
                                          "(default 0.8)."),
        shadow_ratio: float = typer.Option(None, "--shadow-ratio", help="Synthetic examples per real one (default 1)."),
        shadow_layer: int = typer.Option(None, "--shadow-layer", help="Hidden layer the generation starts from "
                                         "(default: the top hidden layer)."),
        shadow_scale: str = typer.Option(None, "--shadow-scale", help="match (norm of the real layer, default) or "
                                         "theory (alpha = 2/(rho n sigma^2))."),
        train_size: int = typer.Option(None, "--train-size", help="Training images (stratified subset; default all)."),
        test_size: int = typer.Option(None, "--test-size", help="Test images (default all)."),
        seeds: str = typer.Option(None, "--seeds", help="Comma-separated seeds (default 0,1,2)."),
        data_dir: str = typer.Option(None, "--data-dir", help="Data directory (default $AELAB_DATA)."),
        device: str = typer.Option(None, "--device", help="auto, cpu or cuda."),
        threads: int = typer.Option(None, "--threads", help="torch CPU threads."),
        out: Path = typer.Option(Path("runs/reversible-shadow"), "--out", "-o", help="Run folder."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Train a ReLU classifier with and without synthetic data from the reversed net, with and
        without dropout, over seeds; measure how random-like the trained weights are."""
        from aelab.cli import is_quiet
        from aelab.reversible.shadow import run_shadow

        names = None if datasets is None else tuple(p.strip() for p in datasets.split(",") if p.strip())
        config = shadow_config(quick=quick, datasets=names, hidden=_int_list("--hidden", hidden), epochs=epochs,
                               batch_size=batch_size, lr=lr, schedule=schedule, dropout_keep=dropout_keep,
                               shadow_keep=shadow_keep,
                               shadow_ratio=shadow_ratio, shadow_layer=shadow_layer, shadow_scale=shadow_scale,
                               train_size=train_size, test_size=test_size, seeds=_int_list("--seeds", seeds),
                               data_dir=data_dir, device=device, threads=threads)
        folder = _started("reversible-shadow", config, out, overwrite, list(config.seeds))
        summary = run_shadow(config, folder, quiet=is_quiet(ctx, quiet))
        if not is_quiet(ctx, quiet):
            typer.echo(f"wrote {out} ({summary['runs']} training runs, {summary['seconds']:.0f} s)")
