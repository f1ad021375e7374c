"""A sweep killed with SIGKILL mid-way and started again ends with every point stored exactly
once and no corrupt or temporary file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_testkinds

from aelab.sweep import load_grid
from aelab.sweep.store import COMPLETE

HERE = Path(sweep_testkinds.__file__).parent
N_POINTS = 40


def grid_file(tmp_path: Path, sleep: float) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text('experiment = "sweep_testkinds:toy"\n'
                    f"seeds = 4\n[base]\ntrain.sleep = {sleep}\n"
                    '[axes]\n"train.lr" = {linspace = [0.1, 1.0, 10]}\n')
    return path


def start(grid: Path, out: Path, executor: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    args = [sys.executable, "-m", "aelab", "sweep", "run", str(grid), "--out", str(out), "-e", executor, "-q"]
    if executor != "serial":
        args += ["--max-workers", "2"]
    # a session of its own, so the kill takes the workers too, as a batch system's would
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stored(out: Path) -> list[Path]:
    points = out / "points"
    return [p for p in points.iterdir() if not p.name.startswith(".")] if points.is_dir() else []


def kill_after(proc: subprocess.Popen, out: Path, n_done: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(stored(out)) < n_done:
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended before it was killed: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise AssertionError("the sweep made no progress")
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def snapshot(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for d in stored(out) for p in d.rglob("*") if p.is_file()}


def check_complete_and_clean(out: Path, grid: Path) -> None:
    expected = sorted(p.id for p in load_grid(grid).points)
    assert sorted(p.name for p in stored(out)) == expected  # every point, once
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") and p.name != ".lock"]
    assert leftovers == []
    for path in out.rglob("*.json"):
        json.loads(path.read_text())  # no truncated file
    for path in out.rglob("*.csv"):
        pd.read_csv(path)
    for folder in stored(out):
        assert json.loads((folder / "result.json").read_text())["status"] == COMPLETE
        assert {"config.json", "meta.json", "data.csv", "result.json"} <= {p.name for p in folder.iterdir()}
    table = pd.read_csv(out / "results.csv")
    assert len(table) == N_POINTS and sorted(table["point"]) == expected and set(table["status"]) == {COMPLETE}


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_sigkill_mid_sweep_then_resume(tmp_path, executor):
    grid = grid_file(tmp_path, sleep=0.03)
    out = tmp_path / "out"
    proc = start(grid, out, executor)
    kill_after(proc, out, n_done=8)
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = snapshot(out)
    n_killed = len(stored(out))
    assert 8 <= n_killed < N_POINTS  # killed mid-way

    proc = start(grid, out, executor)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    check_complete_and_clean(out, grid)
    after = snapshot(out)
    assert {k: after[k] for k in done_at_kill} == done_at_kill  # finished points were skipped, not rewritten


@pytest.mark.slow
def test_repeated_sigkills_at_many_moments(tmp_path):
    grid = grid_file(tmp_path, sleep=0.0)
    out = tmp_path / "out"
    for n_done in range(1, N_POINTS, 5):
        proc = start(grid, out, "processes")
        kill_after(proc, out, n_done=min(n_done, len(stored(out)) + 1))
    proc = start(grid, out, "processes")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    check_complete_and_clean(out, grid)
