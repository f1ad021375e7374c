"""Matplotlib figures: theory as lines, simulation as markers with error bars.

Outside a notebook the Agg backend is chosen (files only, no window); inside IPython or Jupyter
the backend the session has (inline figures) is left alone.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

if "IPython" not in sys.modules and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from aelab.results import atomic_write_bytes  # noqa: E402

__all__ = ["plt", "new_figure", "save_figure", "theory_and_simulation", "COLORS"]

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 3.6, **kwargs):
    """A figure with ``nrows x ncols`` axes of the given size each."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                             constrained_layout=True, **kwargs)
    return fig, axes


def save_figure(fig, path: str | Path, *, dpi: int = 150) -> Path:
    """Save a figure atomically (PNG, PDF or SVG by suffix) and close it."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def theory_and_simulation(
    ax,
    x_theory: Sequence[float] | None,
    y_theory: Sequence[float] | None,
    x_sim: Sequence[float] | None = None,
    y_sim: Sequence[float] | None = None,
    y_sem: Sequence[float] | None = None,
    *,
    label: str = "",
    color: str | None = None,
) -> None:
    """Draw one observable: theory as a line, simulation as markers with standard errors."""
    if x_theory is not None and y_theory is not None:
        ax.plot(x_theory, y_theory, "-", color=color, lw=1.8, label=f"{label} theory".strip())
    if x_sim is not None and y_sim is not None:
        yerr = None if y_sem is None else np.asarray(y_sem)
        ax.errorbar(x_sim, y_sim, yerr=yerr, fmt="o", ms=3.5, mfc="none", color=color, elinewidth=0.8,
                    capsize=0, label=f"{label} simulation".strip())
