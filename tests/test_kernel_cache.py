"""The kernel-cache guard: a group's cached numba code is dropped when any module of the group changed."""

from __future__ import annotations

from aelab import _kernel_cache
from aelab._kernel_cache import GROUPS, guard


def _tree(tmp_path, group):
    for rel in GROUPS[group]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"# {rel}\n")
        cache = p.parent / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{p.stem}.kernel-12.py311.nbi").write_text("index")
        (cache / f"{p.stem}.kernel-12.py311.1.nbc").write_text("code")
    other = tmp_path / "deep" / "__pycache__" / "monte_carlo.f-3.py311.nbi"  # not of the group: kept
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_text("index")
    return other


def _cached(tmp_path):
    return sorted(p.name for p in tmp_path.rglob("*.nb[ic]"))


def test_a_changed_module_drops_the_group_cache_and_only_then(tmp_path, monkeypatch):
    monkeypatch.setattr(_kernel_cache, "_checked", set())
    other = _tree(tmp_path, "deep")
    assert guard("deep", tmp_path)  # no fingerprint yet: dropped
    assert _cached(tmp_path) == [other.name]
    # numba writes its cache again; an unchanged group keeps it, in this process and the next
    _tree(tmp_path, "deep")
    before = _cached(tmp_path)
    assert not guard("deep", tmp_path)
    monkeypatch.setattr(_kernel_cache, "_checked", set())
    assert not guard("deep", tmp_path) and _cached(tmp_path) == before
    # one module of the group changes (an inlined helper): every module's cache goes
    (tmp_path / "deep" / "_reduced.py").write_text("# changed\n")
    monkeypatch.setattr(_kernel_cache, "_checked", set())
    assert guard("deep", tmp_path)
    assert _cached(tmp_path) == [other.name]


def test_a_read_only_cache_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(_kernel_cache, "_checked", set())
    _tree(tmp_path, "shallow")
    monkeypatch.setattr(_kernel_cache.os, "replace", _fail)
    assert not guard("shallow", tmp_path)


def _fail(*args):
    raise PermissionError("read-only")
