"""Checkpoints: model, optimiser and RNG states plus the history so far, one file per step.

A checkpoint is a ``torch.save`` dictionary written atomically to
``checkpoints/step_XXXXXXXX.pt``; only plain containers, numbers, strings and tensors are
stored, so it loads with ``weights_only=True``. The configuration's fingerprint
(:func:`aelab.train.config.config_fingerprint`) is stored with it, and a resume from a
checkpoint of another configuration is refused.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import torch

from aelab.errors import ConfigError
from aelab.results import atomic_write_bytes

__all__ = ["CheckpointStore", "FORMAT"]

FORMAT = 1
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


class CheckpointStore:
    """The checkpoints of one run folder.

    Args:
        folder: the ``checkpoints`` folder (created on the first save).
        keep: how many of the latest checkpoints to keep.
    """

    def __init__(self, folder: str | Path, *, keep: int = 2):
        self.folder = Path(folder)
        self.keep = max(1, int(keep))

    def path(self, step: int) -> Path:
        return self.folder / f"step_{step:08d}.pt"

    def steps(self) -> list[int]:
        """Steps of the stored checkpoints, ascending."""
        if not self.folder.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest(self) -> Path | None:
        steps = self.steps()
        return self.path(steps[-1]) if steps else None

    def save(self, state: dict[str, Any]) -> Path:
        """Write ``state`` (which holds ``step``) atomically, then drop all but the latest ``keep``."""
        buf = io.BytesIO()
        torch.save({"format": FORMAT, **state}, buf)
        path = atomic_write_bytes(self.path(int(state["step"])), buf.getvalue())
        for step in self.steps()[: -self.keep]:
            self.path(step).unlink(missing_ok=True)
        return path

    @staticmethod
    def load(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        """Read a checkpoint; a ConfigError when it is not one."""
        try:
            state = torch.load(Path(path), map_location=map_location, weights_only=True)
        except Exception as exc:  # a damaged or foreign file
            raise ConfigError(f"--resume: cannot read checkpoint {path}: {exc}") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ConfigError(f"--resume: {path} is not an aelab training checkpoint (format {FORMAT})")
        return state
