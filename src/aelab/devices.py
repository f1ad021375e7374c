"""The ``--device`` of every command and sweep: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (cuda when
present, else cpu). A runtime option: it changes no configuration and no hash."""

from __future__ import annotations

import os

from aelab.errors import ConfigError

__all__ = ["DEVICE_HELP", "resolve_device"]

DEVICE_HELP = "cpu, cuda, cuda:N or auto (cuda when present)"


def resolve_device(device: str | None, *, default: str = "cpu"):
    """The torch device ``device`` names (``default`` when None); a ConfigError when it is not available.

    For CUDA, cuBLAS is asked for deterministic kernels (``CUBLAS_WORKSPACE_CONFIG``, set before
    CUDA starts in this process, and ``torch.use_deterministic_algorithms(True, warn_only=True)``).
    """
    import torch

    name = (device or default).strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: no CUDA device is available (use --device cpu)")
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise ConfigError(f"--device {device}: expected {DEVICE_HELP}") from None
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        return dev
    raise ConfigError(f"--device {device}: expected {DEVICE_HELP}")
