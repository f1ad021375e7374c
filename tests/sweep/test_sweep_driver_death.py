"""A sweep driver killed with SIGKILL takes its worker processes with it, and a rerun never
races a worker left on the same point: every point is stored once, and nothing is written
after the rerun ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sweep_testkinds

from aelab.sweep import load_grid
from aelab.sweep.store import COMPLETE, PointTask, SweepStore, execute_point

HERE = Path(sweep_testkinds.__file__).parent
N_POINTS = 24

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def grid_file(tmp_path: Path, sleep: float) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text('experiment = "sweep_testkinds:toy"\n'
                    f"seeds = 3\n[base]\ntrain.sleep = {sleep}\n"
                    '[axes]\n"train.lr" = {linspace = [0.1, 0.8, 8]}\n')
    return path


def start(grid: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    args = [sys.executable, "-m", "aelab", "sweep", "run", str(grid), "--out", str(out), "-e", "processes",
            "--max-workers", "2", *extra]
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def session_members(sid: int) -> list[int]:
    """Live processes of the session ``sid`` (the driver's: its workers and resource tracker)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def stored(out: Path) -> list[Path]:
    points = out / "points"
    return [p for p in points.iterdir() if not p.name.startswith(".")] if points.is_dir() else []


def snapshot(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in (out / "points").rglob("*")}


def test_sigkill_of_the_driver_alone_ends_its_workers_and_the_rerun_runs_each_point_once(tmp_path):
    grid = grid_file(tmp_path, sleep=0.25)
    out = tmp_path / "out"
    proc = start(grid, out, "-q")
    deadline = time.monotonic() + 60
    while len(stored(out)) < 4:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    assert len(session_members(proc.pid)) >= 3  # the driver, its two workers (and a resource tracker)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only, not its process group
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()

    deadline = time.monotonic() + 5
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session_members(proc.pid) == []  # no worker outlives its driver
    n_killed = len(stored(out))
    assert n_killed < N_POINTS
    time.sleep(0.6)
    assert len(stored(out)) == n_killed  # nobody finishes points any more

    rerun = start(grid, out)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr.decode()
    summary = stdout.decode().strip().splitlines()[-1]
    assert summary.startswith(f"{N_POINTS} points: {n_killed} already stored, {N_POINTS - n_killed} ran, 0 failed")
    expected = sorted(p.id for p in load_grid(grid).points)
    assert sorted(p.name for p in stored(out)) == expected
    assert [p.name for p in (out / "points").iterdir() if p.name.startswith(".")] == []
    after = snapshot(out)
    time.sleep(0.6)
    assert snapshot(out) == after  # nothing written after the rerun ended
    assert session_members(rerun.pid) == []


def toy_task(root: Path, lr: float = 0.3) -> PointTask:
    grid = load_grid({"experiment": "sweep_testkinds:toy", "axes": {"train.lr": [lr]}})
    point = grid.points[0]
    return PointTask(grid.kind.name, grid.provider, point.config_data(), point.id, point.coords, str(root))


def test_a_claimed_point_waits_for_its_holder_and_is_not_run_twice(tmp_path):
    store = SweepStore(tmp_path / "sweep")
    store.prepare()
    task = toy_task(store.root)
    results = []
    with store.claim(task.point_id):  # a leftover worker running the point
        waiter = threading.Thread(target=lambda: results.append(execute_point(task)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and results == []  # waits for the claim
        assert store._claimed(task.point_id)
        # the holder finishes the point meanwhile
        tmp = store.new_tmp(task.point_id)
        (tmp / "result.json").write_text(json.dumps({"status": COMPLETE, "by": "holder"}))
        assert store.commit(tmp, task.point_id)
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert results[0].stored is False and results[0].status == COMPLETE  # skipped, not run again
    assert json.loads((store.point_dir(task.point_id) / "result.json").read_text())["by"] == "holder"
    assert not store._claimed(task.point_id)
    assert [p.name for p in store.points_dir.iterdir()] == [task.point_id]  # the claim file is gone


def test_cleanup_keeps_the_temporary_folder_of_a_claimed_point_and_removes_stale_claims(tmp_path):
    store = SweepStore(tmp_path / "sweep")
    store.prepare()
    held, dead = "a" * 16, "b" * 16
    (store.points_dir / f".claim-{dead}").write_text("")  # left by a worker killed by SIGKILL
    dead_tmp = store.new_tmp(dead)
    with store.claim(held):
        held_tmp = store.new_tmp(held)
        store.prepare()  # a rerun's clean-up while a worker still runs `held`
        assert held_tmp.is_dir()
        assert not dead_tmp.exists()
        assert not (store.points_dir / f".claim-{dead}").exists()
    store.prepare()
    assert sorted(p.name for p in store.points_dir.iterdir()) == []
