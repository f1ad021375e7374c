"""A quick figure of a sweep: one observable against one axis, a line per value of the others.

Points that differ only in the seeds axis are averaged; the error bars are standard errors
over seeds (std with ddof=1 divided by sqrt(n)).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aelab.errors import AelabError, ConfigError
from aelab.sweep.aggregate import collect
from aelab.sweep.store import COMPLETE

__all__ = ["plot_sweep", "summarise"]

SCALES = ("auto", "linear", "log")


def _auto_scale(values: list[float], scale: str) -> str:
    if scale != "auto":
        return scale
    if values and all(isinstance(v, (int, float)) and v > 0 for v in values) and max(values) >= 10 * min(values):
        return "log"
    return "linear"


Series = tuple[tuple[Any, ...], list[Any], list[float], list[float]]


def summarise(frame, x: str, y: str, groups: list[str]) -> list[Series]:
    """Mean and standard error of ``y`` at each ``x``, for each combination of ``groups``.

    Returns a list of ``(group values, xs, means, sems)``.
    """
    import numpy as np

    out = []
    keyed = frame.groupby(groups, sort=True, dropna=False) if groups else [((), frame)]
    for key, part in keyed:
        key = key if isinstance(key, tuple) else (key,)
        xs, means, sems = [], [], []
        for xv, cell in part.groupby(x, sort=True, dropna=False):
            vals = np.asarray(cell[y], dtype=float)
            xs.append(xv)
            means.append(float(vals.mean()))
            sems.append(float(vals.std(ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0)
        out.append((key, xs, means, sems))
    return out


def plot_sweep(root: str | Path, x: str, y: str, *, hue: str | None = None, out: str | Path | None = None,
               xscale: str = "auto", yscale: str = "auto", save: bool = True):
    """Draw ``y`` (an observable) against ``x`` (an axis or config field) and save the figure
    (returns its path; with ``save=False`` the matplotlib Figure).

    Args:
        root: the sweep folder.
        x: column on the horizontal axis, e.g. "train.lr".
        y: observable on the vertical axis, e.g. "pmse".
        hue: the field that tells lines apart (default: every other axis but the seeds).
        out: the figure file (default ``DIR/<y>_vs_<x>.png``).
        xscale, yscale: "auto" (log when positive and spanning a decade or more), "linear" or "log".
    """
    from aelab.plots import new_figure, save_figure

    for option, scale in (("--xscale", xscale), ("--yscale", yscale)):
        if scale not in SCALES:
            raise ConfigError(f"{option} {scale!r}: expected one of {', '.join(SCALES)}")
    frame, manifest = collect(root)
    observables = frame.attrs["observables"]
    if x not in frame.columns or x in ("point", "status", "error", "elapsed_s") or x in observables:
        raise ConfigError(f"--x {x!r}: not a field of this sweep (axes: {', '.join(frame.attrs['axes']) or 'none'})")
    if y not in observables:
        raise ConfigError(f"--y {y!r}: not an observable of this sweep "
                          f"(observables: {', '.join(observables) or 'none yet'})")
    if hue is not None and (hue not in frame.columns or hue == x):
        raise ConfigError(f"--hue {hue!r}: not another field of this sweep")
    done = frame[frame["status"] == COMPLETE]
    if done.empty:
        raise AelabError(f"{root}: no complete point to plot yet")
    if not all(isinstance(v, (int, float)) for v in done[y]):
        raise ConfigError(f"--y {y!r}: not a numeric observable")

    partners = next((d["fields"] for d in manifest["dims"] if x in d["fields"]), [x])
    seed_field = manifest.get("seed_field")
    if hue is not None:
        groups = [hue]
    else:
        groups = [f for d in manifest["dims"] if x not in d["fields"] and d["dim"] != seed_field
                  for f in d["fields"][:1]]
    series = summarise(done, x, y, groups)

    fig, axes = new_figure()
    ax = axes[0, 0]
    for key, xs, means, sems in series:
        label = ", ".join(f"{g}={v}" for g, v in zip(groups, key)) or None
        ax.errorbar(xs, means, yerr=sems if any(sems) else None, fmt="o-", ms=4, lw=1.4, capsize=2, label=label)
    all_x = [v for _, xs, _, _ in series for v in xs]
    all_y = [v for _, _, ys, _ in series for v in ys]
    if all(isinstance(v, (int, float)) for v in all_x):
        ax.set_xscale(_auto_scale(all_x, xscale))
    ax.set_yscale(_auto_scale(all_y, yscale))
    ax.set_xlabel(x if len(partners) == 1 else f"{x} (with {', '.join(p for p in partners if p != x)})")
    ax.set_ylabel(y)
    n_seeds = len(done[seed_field].unique()) if seed_field and seed_field in done else 1
    title = manifest.get("name", "")
    if n_seeds > 1:
        title += f" (mean ± s.e. over {n_seeds} seeds)"
    ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=8)
    if not save:
        return fig
    path = Path(out) if out is not None else Path(root) / f"{y}_vs_{x}.png"
    return save_figure(fig, path)
