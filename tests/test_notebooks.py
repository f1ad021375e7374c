"""The example notebooks run from top to bottom at their quick sizes (``AELAB_QUICK=1``).

Each notebook executes with nbclient in a kernel of this interpreter (a kernel spec written to a
temporary folder, so that nothing depends on the kernels installed on the machine), in an empty
working directory, with ``PYTHONPATH`` pointing at the package under test. A cell error fails the
test with the cell's traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import aelab  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: notebooks run by the suite; each must finish in well under a minute at its quick size
NOTEBOOKS = ["01_shallow_power_law.ipynb", "02_deep_advisor.ipynb", "03_sweep_to_xarray.ipynb"]
#: notebooks whose API is still changing: run only with AELAB_TEST_PENDING_NOTEBOOKS=1
PENDING: list[str] = []
KERNEL = "python3"
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> Path:
    """A folder of kernel specs holding ``python3``: this interpreter running ipykernel."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (aelab tests)",
        "language": "python",
        "metadata": {"debugger": False},
    }))
    return root


def _kernel_env() -> dict[str, str]:
    package_root = str(Path(aelab.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {
        "PYTHONPATH": package_root if not path else os.pathsep.join([package_root, path]),
        "AELAB_QUICK": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def execute(path: Path, workdir: Path, kernel_specs: Path, monkeypatch) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` in ``workdir``; return the executed notebook."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    for key, value in _kernel_env().items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_specs)]))
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute(cwd=str(workdir))
    return nb


@pytest.mark.parametrize("name", NOTEBOOKS + PENDING)
def test_notebook_runs(name, tmp_path, kernel_specs, monkeypatch):
    if name in PENDING and os.environ.get("AELAB_TEST_PENDING_NOTEBOOKS") != "1":
        pytest.skip(f"{name}: its API (aelab.deep) is changing; AELAB_TEST_PENDING_NOTEBOOKS=1 runs it")
    nb = execute(EXAMPLES / name, tmp_path, kernel_specs, monkeypatch)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "every code cell ran"
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.ipynb")))
def test_notebook_is_stored_clean(name):
    """Stored notebooks: valid, without outputs, with a first code cell that reads AELAB_QUICK."""
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{name}: clear the outputs"
    assert 'os.environ.get("AELAB_QUICK", "1") == "1"' in code[0].source, f"{name}: first cell reads AELAB_QUICK"
    assert (EXAMPLES / name).stat().st_size < 64_000
