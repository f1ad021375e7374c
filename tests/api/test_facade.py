"""The public API: every exported name resolves to a function or a class (never a module), the
packages import lazily, and the command line starts without numba, SciPy or torch."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import types

import pytest

import aelab

AREAS = ("shallow", "deep", "reversible", "train", "sweep", "data")


def _all_modules():
    """Every module of the package, imported (so that a submodule that shadows a name would show)."""
    names = []
    for info in pkgutil.walk_packages(aelab.__path__, "aelab."):
        if info.name.endswith("__main__") or ".torch_bridge" in info.name:
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("area", AREAS)
def test_every_public_name_is_a_function_or_class_even_after_all_modules_are_imported(area):
    for name in _all_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an optional dependency (torch, dask) that is absent
            if exc.name.split(".")[0] == "aelab":
                raise
    package = importlib.import_module(f"aelab.{area}")
    assert package.__all__, area
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), f"aelab.{area}.{name} is a module"
        assert inspect.isclass(value) or callable(value) or isinstance(value, (dict, tuple, frozenset)), \
            f"aelab.{area}.{name}: {type(value).__name__}"
        exec(f"from aelab.{area} import {name} as _v", (ns := {}))
        assert ns["_v"] is value
    assert sorted(package.__all__) == sorted(set(package.__all__))
    assert set(package.__all__) <= set(dir(package))


def test_the_run_functions_are_the_documented_ones():
    from aelab.results import load
    from aelab.shallow.result import run as shallow_run
    from aelab.sweep.api import run as sweep_run
    from aelab.train.training import run as train_run

    assert aelab.shallow.run is shallow_run and aelab.sweep.run is sweep_run and aelab.train.run is train_run
    assert aelab.load is load
    for area in AREAS:
        assert getattr(aelab, area).__name__ == f"aelab.{area}"
    with pytest.raises(AttributeError):
        aelab.shallow.no_such_name  # noqa: B018


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


HEAVY = ("numba", "scipy", "torch", "matplotlib", "pandas")


@pytest.mark.parametrize("code", [
    "import aelab",
    "import aelab.shallow, aelab.deep, aelab.reversible, aelab.train, aelab.sweep, aelab.data",
    "from aelab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from aelab.cli import main\nmain(['--version'])",
    "from aelab.cli import main\nmain(['shallow', '--help'])",
])
def test_imports_and_help_load_no_heavy_library(code):
    loaded = _imported_after(code)
    assert not [m for m in HEAVY if m in loaded], code
