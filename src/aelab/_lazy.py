"""The public names of a package, imported from their modules on first use and then cached.

Keeps ``import aelab`` and the command line fast (no numba, SciPy or torch until a name that
needs them is used) while every name resolves to its function or class. No public name may equal
the name of a module of its package: importing that module would replace the attribute.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, namespace: dict[str, Any], exports: Mapping[str, str],
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose ``exports`` map each public name to its module
    (relative to the package, e.g. ``"result"``, or absolute)."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(where if "." in where and where.startswith("aelab") else f"{package}.{where}")
        value = getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
