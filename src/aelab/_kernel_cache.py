"""Numba's on-disk cache of compiled kernels, kept consistent across the modules of a group.

Numba checks a cached function against the source file that defines it only. A kernel that calls
(and inlines) functions or constants of another module keeps its old machine code when only that
other module changed, and silently computes with the old code. :func:`guard` keeps a fingerprint
of the sources of a group of kernel modules and drops the group's cached code whenever any of them
changed, so that numba compiles afresh. Each kernel module calls it for its group when imported
(reading the sources costs about a millisecond, once per process); where the cache folders cannot
be written (an installed, read-only package, whose files change together), it does nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["GROUPS", "guard"]

_ROOT = Path(__file__).parent
#: The kernel modules whose compiled code inlines one another's, by group (paths under aelab/).
GROUPS = {
    "deep": ("deep/_kernels.py", "deep/_reduced.py", "deep/_recursions.py", "compiled_activations.py"),
    "shallow": ("shallow/sgd.py", "shallow/_ode_kernel.py", "shallow/_quadrature_kernel.py",
                "compiled_activations.py", "gaussian.py"),
}
_checked: set[tuple[str, Path]] = set()


def guard(group: str, root: Path = _ROOT) -> bool:
    """Drop the numba cache files of ``group``'s modules if any of their texts changed since the last check.

    Returns:
        True where cached code was dropped (the fingerprint was missing or differed).
    """
    if (group, root) in _checked:
        return False
    _checked.add((group, root))
    paths = [root / p for p in GROUPS[group]]
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.name.encode())
        digest.update(p.read_bytes())
    fingerprint = digest.hexdigest()
    stamp = root / "__pycache__" / f"kernel-sources-{group}.sha256"
    try:
        if stamp.read_text() == fingerprint:
            return False
    except OSError:
        pass
    try:
        for p in paths:
            cache = p.parent / "__pycache__"
            for f in cache.glob(f"{p.stem}.*.nb[ic]") if cache.is_dir() else ():
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(fingerprint)
        os.replace(tmp, stamp)
    except OSError:  # a read-only installation: its files change together, numba's own check holds
        return False
    return True
