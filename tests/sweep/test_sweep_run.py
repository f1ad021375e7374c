"""Running sweeps: run folders, resume, failure recording, aggregation round trip, executors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sweep_testkinds  # noqa: F401  (registers the toy kinds)
import xarray as xr
from sweep_testkinds import toy_value

from aelab.cli import main
from aelab.errors import AelabError
from aelab.sweep import load_grid, run_sweep, sweep_status
from aelab.sweep.store import COMPLETE, FAILED, PointTask, SweepStore, execute_point

TOY = "sweep_testkinds:toy"
FLAT = "sweep_testkinds:flat"
GRID = {
    "experiment": TOY,
    "base": {"train": {"time": 2.0}},
    "axes": {"model.K": [1, 3], "train.lr": {"logspace": [-2, 0, 3]}},
    "zip": [{"model.activation": ["erf", "relu"], "model.tied": [True, False]}],
    "seeds": 2,
}


def tree(root: Path) -> dict[str, float]:
    """Every file under ``root`` with its modification time (to prove nothing was rewritten)."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_serial_sweep_writes_one_run_folder_per_point_named_by_hash(tmp_path):
    grid = load_grid(GRID)
    report = run_sweep(grid, tmp_path, executor="serial", quiet=True)
    assert (report.total, report.ran, report.skipped, report.failed) == (24, 24, 0, [])
    folders = sorted(p.name for p in (tmp_path / "points").iterdir())
    assert folders == sorted(p.id for p in grid.points)
    for point in grid.points:
        folder = tmp_path / "points" / point.id
        assert json.loads((folder / "config.json").read_text()) == point.config_data()
        assert json.loads((folder / "meta.json").read_text())["status"] == "complete"
        result = json.loads((folder / "result.json").read_text())
        assert result["status"] == COMPLETE and result["coords"] == point.coords
        c = point.config
        assert result["observables"]["y"] == pytest.approx(toy_value(c.train.lr, c.model.K, c.train.time,
                                                                     c.train.seed), rel=1e-15)
        assert pd.read_csv(folder / "data.csv")["y"].iloc[-1] == pytest.approx(result["observables"]["y"])


def test_aggregation_round_trip_csv_and_netcdf(tmp_path):
    grid = load_grid(GRID)
    run_sweep(grid, tmp_path, executor="serial", quiet=True)
    table = pd.read_csv(tmp_path / "results.csv")
    assert len(table) == 24 and table["point"].is_unique and set(table["status"]) == {COMPLETE}
    assert list(table.columns[:7]) == ["point", "status", "model.K", "train.lr", "model.activation",
                                       "model.tied", "train.seed"]
    assert {"train.time", "train.sleep", "y", "K2", "label", "error", "elapsed_s"} <= set(table.columns)
    expected = [toy_value(r["train.lr"], r["model.K"], r["train.time"], r["train.seed"]) for _, r in table.iterrows()]
    np.testing.assert_allclose(table["y"], expected, rtol=1e-9)
    np.testing.assert_array_equal(table["K2"], table["model.K"] ** 2)

    ds = xr.open_dataset(tmp_path / "results.nc", engine="scipy")
    assert ds["y"].dims == ("model.K", "train.lr", "model.activation", "train.seed")
    assert ds.sizes == {"model.K": 2, "train.lr": 3, "model.activation": 2, "train.seed": 2}
    np.testing.assert_array_equal(ds["train.lr"], [0.01, 0.1, 1.0])
    np.testing.assert_array_equal(ds["model.tied"], [True, False])  # zipped: a coordinate along its partner
    for k, lr, act, seed in np.ndindex(*ds["y"].shape):
        cell = ds.isel({"model.K": k, "train.lr": lr, "model.activation": act, "train.seed": seed})
        want = toy_value(float(cell["train.lr"]), int(cell["model.K"]), 2.0, int(cell["train.seed"]))
        assert float(cell["y"]) == pytest.approx(want, rel=1e-12)
        assert str(cell["status"].values) == COMPLETE
    assert "label" not in ds  # text observables stay in the table
    assert ds.attrs["experiment"] == "toy" and ds.attrs["seed_field"] == "train.seed"
    ds.close()


def test_resume_skips_finished_points_and_runs_new_ones(tmp_path):
    run_sweep(load_grid(GRID), tmp_path, executor="serial", quiet=True)
    before = {k: v for k, v in tree(tmp_path / "points").items()}
    again = run_sweep(load_grid(GRID), tmp_path, executor="serial", quiet=True)
    assert (again.ran, again.skipped) == (0, 24)
    assert tree(tmp_path / "points") == before  # nothing rewritten

    bigger = dict(GRID, axes={"model.K": [1, 3, 5], "train.lr": {"logspace": [-2, 0, 3]}})
    more = run_sweep(load_grid(bigger), tmp_path, executor="serial", quiet=True)
    assert (more.ran, more.skipped, more.total) == (12, 24, 36)
    assert {k: v for k, v in tree(tmp_path / "points").items() if k in before} == before
    assert len(pd.read_csv(tmp_path / "results.csv")) == 36


def test_failures_are_recorded_and_the_others_go_on(tmp_path, capsys):
    flag = tmp_path / "broken"
    flag.write_text("")
    grid = {"experiment": TOY, "base": {"train": {"fail_above": 0.5, "diverge_above": 5.0}},
            "axes": {"train.lr": [0.1, 0.2, 1.0, 10.0]}}
    out = tmp_path / "sweep"
    report = run_sweep(load_grid(grid), out, executor="serial", quiet=True)
    assert report.ran == 4 and len(report.failed) == 2
    table = pd.read_csv(out / "results.csv").set_index("train.lr")
    assert list(table["status"]) == [COMPLETE, COMPLETE, FAILED, FAILED]
    assert table.loc[1.0, "error"] == "ValueError: toy failure at lr=1.0"
    assert math.isnan(table.loc[1.0, "y"]) and table.loc[0.2, "y"] == pytest.approx(toy_value(0.2, 1, 1.0, 0))
    failed = {json.loads(p.read_text())["coords"]["train.lr"]: p.parent for p in (out / "points").glob("*/result.json")
              if json.loads(p.read_text())["status"] == FAILED}
    assert set(failed) == {1.0, 10.0}
    assert "raise ValueError" in (failed[1.0] / "traceback.txt").read_text()
    assert json.loads((failed[1.0] / "meta.json").read_text())["status"] == FAILED
    failure = json.loads((failed[1.0] / "meta.json").read_text())["failure"]
    assert failure["kind"] == "error" and failure["cause"] == "ValueError"
    assert json.loads((failed[10.0] / "meta.json").read_text())["failure"]["where"] == {"time": 0.5}
    diverged = json.loads((failed[10.0] / "result.json").read_text())["error"]
    assert (diverged["type"], diverged["cause"], diverged["divergence_time"]) == ("DivergenceError", "overflow", 0.5)
    ds = xr.open_dataset(out / "results.nc", engine="scipy")
    assert np.isnan(ds["y"].sel({"train.lr": 10.0})) and str(ds["status"].sel({"train.lr": 10.0}).values) == FAILED
    ds.close()

    assert main(["sweep", "status", str(out)]) == 1
    text = capsys.readouterr().out
    assert "4 points: 2 done, 2 failed, 0 pending" in text and "ValueError: toy failure at lr=1.0" in text


def test_failed_points_run_again_unless_skipped(tmp_path, capsys):
    flag = tmp_path / "broken"
    flag.write_text("")
    grid_file = tmp_path / "g.toml"
    grid_file.write_text(f'experiment = "{FLAT}"\n[base]\nfail_if_exists = "{flag}"\n[axes]\nx = [1.0, 2.0]\n')
    out = tmp_path / "sweep"
    assert main(["sweep", "run", str(grid_file), "--out", str(out), "-e", "serial", "-q"]) == 1
    assert "2 of 2 points failed" in capsys.readouterr().err
    flag.unlink()  # the cause is fixed
    assert main(["sweep", "run", str(grid_file), "--out", str(out), "-e", "serial", "-q", "--skip-failed"]) == 1
    assert sweep_status(out).failed == 2
    assert main(["sweep", "run", str(grid_file), "--out", str(out), "-e", "serial", "-q"]) == 0
    st = sweep_status(out)
    assert (st.complete, st.failed, st.pending) == (2, 0, 0)
    assert not any(p.name.startswith(".") for p in (out / "points").iterdir())
    assert sorted(pd.read_csv(out / "results.csv")["x2"]) == [1.0, 4.0]
    assert main(["sweep", "status", str(out), "-q"]) == 0


def test_status_counts_pending_points(tmp_path, capsys):
    grid = load_grid({"experiment": FLAT, "axes": {"x": [1.0, 2.0, 3.0]}})
    run_sweep(grid, tmp_path, executor="serial", quiet=True)
    import shutil

    shutil.rmtree(tmp_path / "points" / grid.points[1].id)
    st = sweep_status(tmp_path)
    assert (st.total, st.complete, st.failed, st.pending) == (3, 2, 0, 1)
    assert main(["sweep", "status", str(tmp_path)]) == 0
    assert "1 pending" in capsys.readouterr().out
    assert main(["sweep", "status", str(tmp_path / "nothing")]) == 2


def test_each_point_is_stored_once_when_two_workers_finish_it(tmp_path):
    grid = load_grid({"experiment": FLAT, "axes": {"x": [1.5]}})
    point = grid.points[0]
    store = SweepStore(tmp_path)
    store.prepare()
    task = PointTask("flat", grid.provider, point.config_data(), point.id, point.coords, str(tmp_path))
    # a second worker that started before the first one finished: its finished copy is discarded
    tmp = store.new_tmp(point.id)
    (tmp / "result.json").write_text(json.dumps({"status": COMPLETE, "observables": {"x2": -1}}))
    first = execute_point(task)
    assert first.stored and first.observables == {"x2": 2.25}
    assert store.commit(tmp, point.id) is False
    assert execute_point(task).stored is False  # already complete: nothing runs
    assert [p.name for p in (tmp_path / "points").iterdir()] == [point.id]
    assert json.loads((tmp_path / "points" / point.id / "result.json").read_text())["observables"] == {"x2": 2.25}


def test_leftovers_of_a_killed_sweep_are_removed_and_the_folder_is_locked(tmp_path):
    grid = load_grid({"experiment": FLAT, "axes": {"x": [1.0, 2.0]}})
    (tmp_path / "points" / ".tmp-abc-123").mkdir(parents=True)
    (tmp_path / "points" / ".tmp-abc-123" / "result.json").write_text("{\"status\": \"comp")
    (tmp_path / ".results.csv.x1y2.tmp").write_text("point,sta")
    run_sweep(grid, tmp_path, executor="serial", quiet=True)
    assert sorted(p.name for p in (tmp_path / "points").iterdir()) == sorted(p.id for p in grid.points)
    assert not list(tmp_path.glob(".*.tmp"))
    with SweepStore(tmp_path).lock():
        with pytest.raises(AelabError, match="another sweep is running"):
            run_sweep(grid, tmp_path, executor="serial", quiet=True)


def test_process_pool_gives_the_serial_results(tmp_path):
    grid = load_grid(dict(GRID, seeds=1))
    serial = run_sweep(grid, tmp_path / "serial", executor="serial", quiet=True)
    pool = run_sweep(grid, tmp_path / "pool", executor="processes", max_workers=2, quiet=True)
    assert pool.ran == serial.ran == 12 and not pool.failed
    a = pd.read_csv(tmp_path / "serial" / "results.csv").drop(columns="elapsed_s")
    b = pd.read_csv(tmp_path / "pool" / "results.csv").drop(columns="elapsed_s")
    pd.testing.assert_frame_equal(a, b)
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "pool" / "points").glob("*/result.json")}
    assert len(pids) >= 1 and all(pid != __import__("os").getpid() for pid in pids)


def test_dask_local_cluster_sweep(tmp_path):
    pytest.importorskip("distributed")
    flag = tmp_path / "broken"
    flag.write_text("")
    grid = load_grid({"experiment": TOY, "base": {"train": {"fail_above": 0.5}},
                      "axes": {"model.K": [1, 2], "train.lr": [0.1, 0.2, 0.9]}})
    report = run_sweep(grid, tmp_path / "dask", executor="dask", max_workers=2, quiet=True)
    assert (report.ran, len(report.failed)) == (6, 2)
    table = pd.read_csv(tmp_path / "dask" / "results.csv")
    done = table[table["status"] == COMPLETE]
    np.testing.assert_allclose(done["y"], [toy_value(r["train.lr"], r["model.K"], 1.0, 0) for _, r in done.iterrows()])
    assert set(table.loc[table["status"] == FAILED, "train.lr"]) == {0.9}
    again = run_sweep(grid, tmp_path / "dask", executor="serial", quiet=True, retry_failed=False)
    assert (again.ran, again.skipped) == (0, 6)


def test_a_dying_worker_process_stops_the_sweep_and_leaves_points_pending(tmp_path):
    grid = load_grid({"experiment": FLAT, "base": {"crash_at": 3.0}, "axes": {"x": [1.0, 2.0, 3.0]}})
    with pytest.raises(AelabError, match="a worker process died"):
        run_sweep(grid, tmp_path, executor="processes", max_workers=1, quiet=True)
    st = sweep_status(tmp_path)
    assert (st.complete, st.failed, st.pending) == (2, 0, 1)


def test_dask_with_a_scheduler_address(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid_file = tmp_path / "g.toml"
    grid_file.write_text(f'experiment = "{FLAT}"\n[axes]\nx = {{linspace = [0, 1, 5]}}\n')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert main(["sweep", "run", str(grid_file), "--out", str(tmp_path / "o"), "--scheduler", address,
                     "-q"]) == 0
    table = pd.read_csv(tmp_path / "o" / "results.csv")
    np.testing.assert_allclose(table["x2"], np.linspace(0, 1, 5) ** 2)
    from aelab.errors import ConfigError
    from aelab.sweep import DaskExecutor

    with pytest.raises(ConfigError, match="--scheduler tcp://127.0.0.1:9: cannot connect"):
        run_sweep(load_grid(grid_file), tmp_path / "p", executor=DaskExecutor("tcp://127.0.0.1:9", timeout=1),
                  quiet=True)
    assert not (tmp_path / "p").exists()  # nothing written


@pytest.mark.slow
def test_dask_records_a_point_that_kills_its_workers(tmp_path):
    pytest.importorskip("distributed")
    grid = load_grid({"experiment": FLAT, "base": {"crash_at": 2.0}, "axes": {"x": [1.0, 2.0]}})
    report = run_sweep(grid, tmp_path, executor="dask", max_workers=1, quiet=True)
    assert len(report.failed) == 1
    table = pd.read_csv(tmp_path / "results.csv").set_index("x")
    assert table.loc[2.0, "status"] == FAILED and "KilledWorker" in table.loc[2.0, "error"]
    assert table.loc[1.0, "x2"] == 1.0


def test_a_torn_result_file_makes_the_point_pending_and_it_runs_again(tmp_path):
    grid = load_grid({"experiment": FLAT, "axes": {"x": [1.0, 2.0]}})
    run_sweep(grid, tmp_path, executor="serial", quiet=True)
    torn = tmp_path / "points" / grid.points[0].id / "result.json"
    torn.write_text(torn.read_text()[:20])  # as after a power cut
    assert sweep_status(tmp_path).pending == 1
    again = run_sweep(grid, tmp_path, executor="serial", quiet=True)
    assert (again.ran, again.skipped) == (1, 1)
    assert json.loads(torn.read_text())["observables"] == {"x2": 1.0}
    assert sorted(p.name for p in (tmp_path / "points").iterdir()) == sorted(p.id for p in grid.points)
