"""Work that cannot fit in memory is refused from the configuration alone, before anything is
allocated or written: exit code 2, one line naming the sizes, nothing in --out."""

from __future__ import annotations

import pytest

from aelab.cli import main
from aelab.shallow import ShallowConfig


@pytest.mark.parametrize("overrides", [
    ["data.D=1000000000"],
    ["data.D=1000000", "model.K=1000"],
    ["data.eigenvalues=null", "data.D=2000000", "data.samples=100000"],
])
def test_huge_shallow_runs_are_refused(tmp_path, capsys, overrides):
    out = tmp_path / "run"
    args = ["shallow", "run", "--out", str(out)]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs about" in err[0] and "free" in err[0] and "data.D" in err[0]
    assert not out.exists()


def test_the_estimate_grows_with_the_sizes_and_can_be_overridden(monkeypatch):
    small = ShallowConfig()
    assert small.memory_estimate() < 50 * 2**20
    big = small.with_overrides({"data.D": 10**7})
    assert big.memory_estimate() > 100 * small.memory_estimate()
    monkeypatch.setattr("aelab.limits.available_memory_bytes", lambda: 2**30)
    with pytest.raises(Exception, match="needs about"):
        big.check_memory()
    big.check_memory(allow=True)
    monkeypatch.setenv("AELAB_IGNORE_MEMORY", "1")
    big.check_memory()
