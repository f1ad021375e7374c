"""Figures of a training run: loss curves and a grid of test images with their reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_loss_curves", "plot_reconstructions"]


def plot_loss_curves(history, path: str | Path | None, *, title: str = "", loss_name: str = "loss"):
    """Train and test loss against the step (log scale) from a history table (pandas DataFrame)."""
    from aelab.plots import new_figure, save_figure

    fig, axes = new_figure()
    ax = axes[0, 0]
    steps = history["step"].to_numpy()
    for column, style in (("train_loss", "-"), ("test_loss", "o-")):
        values = history[column].to_numpy(dtype=float)
        ok = np.isfinite(values) & (values > 0)
        ax.plot(steps[ok], values[ok], style, ms=3, lw=1.4, label=column.replace("_", " "))
    ax.set_xlabel("step")
    ax.set_ylabel(loss_name)
    ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(frameon=False)
    return fig if path is None else save_figure(fig, path)


def plot_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, image_shape: tuple[int, ...],
                         path: str | Path, *, scale: str = "unit", title: str = "") -> Path:
    """Originals (top row) above their reconstructions (bottom row).

    Args:
        originals, reconstructions: (n, D) arrays in the data's range.
        image_shape: (H, W) or (H, W, C) with prod = D.
        scale: ``unit`` ([0, 1]) or ``symmetric`` ([-1, 1]); pixels are clipped to the range.
    """
    from aelab.plots import new_figure, save_figure

    n = len(originals)
    fig, axes = new_figure(ncols=n, nrows=2, width=1.1, height=1.2)
    low = -1.0 if scale == "symmetric" else 0.0
    for row, images in enumerate((originals, reconstructions)):
        for col in range(n):
            ax = axes[row, col]
            img = (np.clip(np.asarray(images[col], float), low, 1.0) - low) / (1.0 - low)
            ax.imshow(img.reshape(image_shape), cmap="gray" if len(image_shape) == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel("data" if row == 0 else "recon.", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
