"""A training run from a configuration: data, model, initialisation, loop, files (kind ``train``).

>>> from aelab.train import TrainConfig, run
>>> result = run(TrainConfig(), out="runs/ae")        # doctest: +SKIP
>>> result.history.tail(); result.model; result.plot()  # doctest: +SKIP

:func:`run` (and :func:`run_training`, what ``aelab train`` calls) check everything that can be
wrong with the input (the configuration, the data, the widths, the batch size, the device, a
resume from another configuration's checkpoint) before anything is written. Training writes as
it goes; the run folder holds::

    config.json  meta.json  history.csv  loss_curve.png  reconstructions.png
    checkpoints/step_XXXXXXXX.pt     (the latest ``train.keep_checkpoints``)

A diverging run stops with the step, the first layer affected and a hint; it keeps its last
good checkpoint and writes ``history.csv``, the loss curves and ``meta.json`` (status
``failed``, failure kind ``divergence`` at its step).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from aelab.devices import resolve_device
from aelab.errors import ConfigError, DivergenceError
from aelab.kinds import register_kind
from aelab.record import RunRecord
from aelab.results import RunFolder, RunResult
from aelab.train.config import TrainConfig, config_differences, config_fingerprint
from aelab.train.data import ImageArrays, load_arrays

__all__ = ["run", "run_training", "TrainResult", "build_model", "resolve_device", "divergence_hint"]


class TrainResult(RunResult):
    """What a training run produced.

    Attributes:
        config: the :class:`~aelab.train.config.TrainConfig`.
        history: the history table (``history.csv``, :data:`~aelab.train.loop.HISTORY_COLUMNS`).
        observables: final values (``train_loss``, ``test_loss``, ``steps``, ``seconds``, ...).
        init_info: what the initialisation chose (variances, LSUV scales, pretraining losses).
        model: the trained model (on its device); None for a result loaded from a folder (its
            weights are in the folder's checkpoints).
    """

    kind = "train"
    config_model = TrainConfig
    tables_order = ("history",)
    figure_file = None  # the run writes loss_curve.png and reconstructions.png as it goes

    def __init__(self, config, tables, record, model=None):
        super().__init__(config, tables, record)
        self.model = model

    @property
    def history(self):
        return self.tables.get("history")

    @property
    def init_info(self) -> dict[str, Any]:
        return dict(self.record.details.get("init", {}))

    def to_xarray(self):
        """The history on the ``step`` axis."""
        return self.history.set_index("step").to_xarray()

    def plot(self):
        """Training and test loss against the step (a Figure)."""
        from aelab.train.figures import plot_loss_curves

        return plot_loss_curves(self.history, None, title=f"{self.config.data.name}: L={self.config.model.depth}",
                                loss_name=f"{self.config.train.loss} loss")


def _widths(config: TrainConfig, arrays: ImageArrays) -> list[int]:
    m = config.model
    n0 = arrays.dim
    declared = m.declared_input_width()
    if declared is not None and declared != n0:
        shape = "x".join(str(s) for s in arrays.image_shape)
        raise ConfigError(f"model.width: the input width n_0 = {declared} does not match the data "
                          f"({arrays.name} images have {shape} = {n0} entries)")
    return [n0, *m.hidden_widths()]


def build_model(config: TrainConfig, n0: int):
    """The :class:`~aelab.train.models.DeepAutoencoder` a configuration describes (on the CPU)."""
    from aelab.train.models import DeepAutoencoder

    m = config.model
    widths = [n0, *m.hidden_widths()]
    return DeepAutoencoder(widths, encoder=m.encoder, bottleneck=m.bottleneck, decoder=m.decoder, output=m.output,
                           tied=m.tied, bias=m.bias, batch_norm=m.batch_norm, residual=m.residual,
                           residual_scale=m.residual_scale, dropout=m.dropout)


def divergence_hint(config: TrainConfig, init_info: dict[str, Any]) -> str:
    """What to try after a divergence, with Li & Nguyen's criterion for a ReLU decoder."""
    parts = [f"lower train.lr (now {config.train.lr:g})"]
    sigma_w_sq = init_info.get("sigma_w_sq")
    if sigma_w_sq is not None:
        parts.append(f"a smaller init.sigma_w_sq (now {sigma_w_sq:g})")
        if config.model.decoder == "relu" and sigma_w_sq > 2.0:
            parts.append("Li & Nguyen's theory: with a ReLU decoder, sigma_w_sq > 2 (alpha = 1) sends the "
                         "decoder's signal and variation to infinity; sigma_w_sq = 2, sigma_b_sq = 0 is the trainable "
                         "choice")
    if config.train.optimizer == "sgd":
        parts.append("train.optimizer=adam")
    if not config.model.batch_norm:
        parts.append("model.batch_norm=true")
    return "hint: try " + "; ".join(parts)


def memory_estimate(config: TrainConfig, widths: list[int]) -> int:
    """Bytes a training run needs at its peak (float32): the weights, their gradients and the
    optimiser's state, the activations of a batch kept for the backward pass, and the data on the device."""
    m, tr = config.model, config.train
    weights = sum(a * b + b for a, b in zip(widths, widths[1:])) * (1 if m.tied else 2)
    copies = 2 + (2 if tr.optimizer == "adam" else 1)  # weights, gradients, optimiser state
    activations = tr.batch_size * 2 * sum(widths) * (3 if m.batch_norm else 2)
    return int(4 * (weights * copies + activations))


def _check_inputs(config: TrainConfig, arrays: ImageArrays, *, ignore_memory: bool = False) -> list[int]:
    from aelab.limits import check_memory

    widths = _widths(config, arrays)
    check_memory(memory_estimate(config, widths) + 4 * (arrays.train.size + arrays.test.size),
                 what=f"this model (depth {config.model.depth}, widths up to {max(widths)})",
                 hint="lower model.width or model.depth", allow=ignore_memory)
    if config.train.batch_size > len(arrays.train):
        raise ConfigError(f"train.batch_size: {config.train.batch_size} is larger than the data set "
                          f"({len(arrays.train)} training images)")
    return widths


def _prepare_folder(config: TrainConfig, out_dir: Path, resume: bool, overwrite: bool = False):
    """Check the run folder before anything is written; returns (folder, checkpoint store, latest
    checkpoint or None). A folder whose run was killed before its first checkpoint resumes from the start."""
    from aelab.limits import check_writable_dir
    from aelab.train.checkpoint import CheckpointStore

    out_dir = Path(out_dir)
    check_writable_dir(out_dir)
    store = CheckpointStore(out_dir / "checkpoints", keep=config.train.keep_checkpoints)
    if not resume:
        if not overwrite and ((out_dir / RunFolder.META).exists() or (out_dir / RunFolder.CONFIG).exists()):
            raise ConfigError(f"--out {out_dir}: holds a run already (use --resume to continue it, --overwrite "
                              "to replace it, or choose another folder)")
        return out_dir, store, None
    config_file = out_dir / RunFolder.CONFIG
    if not config_file.is_file():
        raise ConfigError(f"--resume: {out_dir} holds no run (no {RunFolder.CONFIG})")
    try:
        stored = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--resume: cannot read {config_file}: {exc}") from None
    diff = config_differences(stored, config)
    if diff:
        raise ConfigError(f"--resume: {out_dir} holds a run of another configuration ({'; '.join(diff)}); "
                          "only train.steps, train.checkpoint_every and train.keep_checkpoints may change")
    return out_dir, store, store.latest()  # no checkpoint yet: the run starts again from the beginning


def run(config: TrainConfig | dict | str | Path, *, out: str | Path | None = None, resume: bool = False,
        device: str = "cpu", progress: bool = False, overwrite: bool = False, arrays: ImageArrays | None = None,
        figures: bool = True, ignore_memory: bool = False) -> TrainResult:
    """Train the deep autoencoder ``config`` describes (a config, a dict of sections or a file).

    Training writes the run folder ``out`` as it goes (history, checkpoints, figures, the run
    record); ``out=None`` keeps everything in memory. See :func:`run_training` for the rest.
    """
    from aelab.config import as_config

    config = as_config(TrainConfig, config)
    return run_training(config, out, resume=resume, device=device, quiet=not progress, arrays=arrays,
                        figures=figures, overwrite=overwrite, ignore_memory=ignore_memory)


def run_training(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    device: str = "cpu",
    quiet: bool = False,
    arrays: ImageArrays | None = None,
    figures: bool = True,
    overwrite: bool = False,
    ignore_memory: bool = False,
) -> TrainResult:
    """Train the autoencoder ``config`` describes; write the run folder ``out_dir`` (None: no files).

    Args:
        config: the run's configuration.
        out_dir: run folder; None keeps everything in memory (no checkpoints, no figures).
        resume: continue from the latest checkpoint in ``out_dir`` (same configuration except
            :data:`~aelab.train.config.RESUMABLE_KEYS`); bit-identical to an uninterrupted run. A run
            killed before its first checkpoint starts again from the beginning.
        device: ``cpu``, ``cuda[:N]`` or ``auto`` (:func:`aelab.devices.resolve_device`; a runtime option, not
            part of the configuration's hash).
        quiet: no progress bar.
        arrays: the data (default: loaded from ``config.data``).
        figures: write ``loss_curve.png`` and ``reconstructions.png``.
        overwrite: replace the run that ``out_dir`` holds.
        ignore_memory: go ahead although the memory estimate exceeds the free memory.

    Raises:
        ConfigError: bad input (nothing is written).
        DivergenceError: the run diverged (the last good checkpoint is kept).
    """
    import pandas as pd
    import torch

    from aelab.progress import progress_bar
    from aelab.train.checkpoint import CheckpointStore
    from aelab.train.init import initialise
    from aelab.train.loop import HISTORY_COLUMNS, Trainer, make_optimizer
    from aelab.train.pretraining import pretrain

    dev = resolve_device(device)
    if resume and out_dir is None:
        raise ConfigError("--resume: needs --out, the folder of the run to continue")
    arrays = arrays if arrays is not None else load_arrays(config.data)
    _check_inputs(config, arrays, ignore_memory=ignore_memory)
    store: CheckpointStore | None = None
    latest = None
    state = None
    if out_dir is not None:
        out_dir, store, latest = _prepare_folder(config, Path(out_dir), resume, overwrite)
    if latest is not None:
        state = CheckpointStore.load(latest, map_location=dev)
        if state.get("fingerprint") != config_fingerprint(config):
            raise ConfigError(f"--resume: checkpoint {latest} was made with another configuration")
        if int(state["step"]) > config.train.steps:
            raise ConfigError(f"train.steps: {config.train.steps} is fewer than the {state['step']} steps the "
                              f"checkpoint {latest} has done already")

    t0 = time.perf_counter()
    tr, ini = config.train, config.init
    model = build_model(config, arrays.dim)
    model.set_dropout_seed(tr.seed + 7919)  # a stream apart from the initialisation's
    x_train = torch.tensor(arrays.train, device=dev)
    x_test = torch.tensor(arrays.test, device=dev)
    init_info: dict[str, Any] = {}
    generator = torch.Generator().manual_seed(tr.seed)
    details = {"fingerprint": config_fingerprint(config), "n_parameters": sum(p.numel() for p in model.parameters())}
    record = RunRecord.start("train", config, seeds=[tr.seed], options={"device": str(dev)})
    folder = None
    if out_dir is not None:
        if resume and (Path(out_dir) / RunFolder.META).exists():
            folder = RunFolder.resume(out_dir, record, config, same_hash=False)  # checked by _prepare_folder
        else:
            folder = RunFolder.create(out_dir, record, config, overwrite=True)  # refusals: _prepare_folder

    if state is None:  # a fresh start: initialise (possibly pretrain) here
        scheme = "xavier" if ini.scheme == "pretrain" else ini.scheme
        init_info = initialise(model, scheme, generator=generator, sigma_w_sq=ini.sigma_w_sq,
                               sigma_b_sq=ini.sigma_b_sq, data=torch.tensor(arrays.train[: ini.lsuv_batch]),
                               lsuv_tol=ini.lsuv_tol, lsuv_iters=ini.lsuv_iters)
        model.to(dev)
        if ini.scheme == "pretrain":
            with progress_bar("pretrain", total=model.depth * ini.pretrain_steps, quiet=quiet) as bar:
                init_info.update(pretrain(
                    model, x_train, steps_per_layer=ini.pretrain_steps, batch_size=tr.batch_size,
                    optimizer=tr.optimizer, lr=ini.pretrain_lr or tr.lr, momentum=tr.momentum, loss=tr.loss,
                    seed=tr.seed, progress=bar))
    else:
        model.to(dev)
    init_seconds = time.perf_counter() - t0

    optimizer = make_optimizer(model.parameters(), tr.optimizer, tr.lr, tr.momentum)

    def write_history(trainer: Trainer) -> Any:
        frame = pd.DataFrame(trainer.history, columns=list(HISTORY_COLUMNS))
        if folder is not None:
            folder.write_table("history.csv", frame)
        return frame

    def checkpoint(trainer: Trainer) -> None:
        state = trainer.state_dict()
        state.update({"fingerprint": config_fingerprint(config), "config": config.model_dump(mode="json"),
                      "init_info": init_info})
        store.save(state)
        write_history(trainer)

    trainer = Trainer(model, optimizer, x_train, x_test, loss=tr.loss, batch_size=tr.batch_size, seed=(tr.seed, 0),
                      log_every=tr.log_every, checkpoint=checkpoint if store is not None else None,
                      checkpoint_every=tr.checkpoint_every)
    if state is not None:
        trainer.load_state_dict(state)
        init_info = dict(state.get("init_info", {}))
    elif store is not None:
        checkpoint(trainer)  # step 0: the initialised (or pretrained) model

    try:
        with progress_bar("train", total=tr.steps, quiet=quiet) as bar:
            bar.update(min(trainer.step, tr.steps))
            trainer.run(tr.steps, progress=bar)
    except DivergenceError as exc:
        last = store.latest() if store is not None else None
        where = f"; last good checkpoint: {last}" if last is not None else ""
        message = f"{exc}{where}; {divergence_hint(config, init_info)}"
        history = write_history(trainer)
        failure = DivergenceError(message, time=exc.time, step=exc.time, cause=exc.cause, partial=history,
                                  side="history")
        if folder is not None:
            if figures and len(history):
                from aelab.train.figures import plot_loss_curves

                plot_loss_curves(history, folder.file("loss_curve.png"), title=f"diverged at step {exc.time}",
                                 loss_name=f"{tr.loss} loss")
            failure.partial = None  # history.csv holds it already
            folder.fail(failure, timings_s={"init": init_seconds, "train": trainer.seconds},
                        details={**details, "init": init_info, "layer": exc.cause,
                                 "checkpoint": str(last) if last is not None else None})
            failure.partial = history
        raise failure from None

    history = write_history(trainer)
    last = history.iloc[-1]
    observables = {
        "train_loss": float(last["train_loss"]),
        "test_loss": float(last["test_loss"]),
        "min_test_loss": float(history["test_loss"].min()),
        "initial_test_loss": float(history["test_loss"].iloc[0]),
        "steps": int(trainer.step),
        "seconds": float(trainer.seconds),
        "init_seconds": float(init_seconds),
    }
    timings = {"init": init_seconds, "train": trainer.seconds}
    if folder is not None:
        if figures:
            _write_figures(folder, config, history, model, x_test, arrays)
        record = folder.finish(observables=observables, timings_s=timings, init=init_info, **details)
    else:
        record = record.finish(observables=observables, timings_s=timings, details={**details, "init": init_info})
    return TrainResult(config, {"history": history}, record, model=model)


def _write_figures(folder, config: TrainConfig, history, model, x_test, arrays: ImageArrays) -> None:
    import torch

    from aelab.train.figures import plot_loss_curves, plot_reconstructions

    m = config.model
    title = (f"{arrays.name}: L={m.depth}, {m.encoder}/{m.decoder}, {'tied' if m.tied else 'untied'}, "
             f"init {config.init.scheme}, {config.train.optimizer} lr {config.train.lr:g}")
    plot_loss_curves(history, folder.file("loss_curve.png"), title=title, loss_name=f"{config.train.loss} loss")
    model.eval()
    with torch.no_grad():
        x = x_test[:8]
        recon = model(x).cpu().numpy()
    plot_reconstructions(x.cpu().numpy(), recon, arrays.image_shape, folder.file("reconstructions.png"),
                         scale=arrays.scale, title=title)


def _run_kind(config: TrainConfig, out_dir: Path, *, quiet: bool = True, device: str = "cpu") -> dict[str, Any]:
    return dict(run_training(config, out_dir, quiet=quiet, device=device).observables)


register_kind("train", TrainConfig, _run_kind, "deep autoencoder training (aelab train)", options=("device",))
