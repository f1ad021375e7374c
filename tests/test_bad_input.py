"""Malformed input of every kind, thrown at the command line: each case must exit with code 2,
print exactly one line on stderr (``error: ...``) that names the field, option or file, show no
traceback, and write nothing into ``--out``.

The cases are hand-written and generated with a seeded generator (binary files, non-UTF-8
text, duplicate keys, booleans for integers, sizes beyond the limits, unknown options, bad
option values); they run in-process through :func:`aelab.cli.main`, a few in a subprocess.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
import typer

from aelab.cli import app, main
from aelab.shallow.config import ShallowConfig
from aelab.sweep.store import SweepStore

SEED = 20260314
DEMO = Path(__file__).resolve().parents[1] / "examples" / "shallow_demo.toml"
SUFFIXES = (".toml", ".yaml", ".json")


# ---- the check made for every case ------------------------------------------------------------

def run_cli(capsys, argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(capsys, argv, *names, out: Path | None = None) -> str:
    """Run ``argv``; check exit 2, one line on stderr naming each of ``names``, no traceback and
    an untouched ``out``. Returns the line."""
    before = _snapshot(out)
    code, stdout, err = run_cli(capsys, argv)
    assert code == 2, f"exit {code} for {argv}: {err}"
    assert "Traceback" not in err and "Traceback" not in stdout, err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"{len(lines)} lines for {argv}: {err!r}"
    line = lines[0]
    assert line.startswith("error: ") and len(line) > len("error: "), line
    for name in names:
        assert str(name) in line, f"{name!r} not named in: {line}"
    assert _snapshot(out) == before, f"{argv} wrote into {out}"
    return line


def _snapshot(out: Path | None):
    if out is None or not out.exists():
        return None
    if out.is_file():
        return ("file", out.stat().st_mtime_ns, out.stat().st_size)
    return sorted((str(p.relative_to(out)), p.stat().st_mtime_ns) for p in out.rglob("*"))


@pytest.fixture(autouse=True)
def _memory_checks_on(monkeypatch):
    monkeypatch.delenv("AELAB_IGNORE_MEMORY", raising=False)


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out"  # never created by a refused command


# ---- generated inputs -------------------------------------------------------------------------

def _non_utf8_blobs(n: int) -> list[bytes]:
    """Byte strings that are not UTF-8: random bytes with an invalid lead byte somewhere."""
    rng = random.Random(SEED)
    blobs = [bytes(range(256)), b"\xff\xfe" + "[model]\nK = 2\n".encode("utf-16-le"),
             "[model]\nactivation = \"erf\"\n".encode("utf-8") + b"\xc3\x28",
             "model:\n  activation: caf\xe9\n".encode("latin-1")]
    while len(blobs) < n:
        size = rng.randint(1, 300)
        data = bytearray(rng.getrandbits(8) for _ in range(size))
        data[rng.randrange(size)] = rng.choice([0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF])
        blobs.append(bytes(data))
    for blob in blobs:
        with pytest.raises(UnicodeDecodeError):
            blob.decode("utf-8")
    return blobs


BLOBS = _non_utf8_blobs(8)


def _scalar_fields(model) -> list[tuple[str, type]]:
    """(dotted field, int | bool | float) of every plain scalar field of a two-level config."""
    out = []
    for section, info in model.model_fields.items():
        sub = info.annotation
        for name, field in getattr(sub, "model_fields", {}).items():
            if field.annotation in (int, bool, float) and not _has_before_validator(sub, name):
                out.append((f"{section}.{name}", field.annotation))
    return out


def _has_before_validator(model, name: str) -> bool:
    decorators = model.__pydantic_decorators__.field_validators.values()
    return any(name in d.info.fields and d.info.mode in ("before", "wrap", "plain") for d in decorators)


WRONG = {
    int: [True, False, 2.5, 3.0, "3", [1]],
    bool: [0, 1, -0.0, 1.0, "true", "yes"],
    float: [True, False, "0.1", "fast"],
}
SHALLOW_FIELDS = _scalar_fields(ShallowConfig)
TYPE_CASES = [(f, v) for f, kind in SHALLOW_FIELDS for v in WRONG[kind]]


def _write_config(path: Path, data: dict) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(data))
    elif path.suffix == ".yaml":
        import yaml

        path.write_text(yaml.safe_dump(data))
    else:
        lines = []
        for section, table in data.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        path.write_text("\n".join(lines) + "\n")
    return path


def _nested(field: str, value) -> dict:
    section, name = field.split(".")
    return {section: {name: value}}


def test_the_generated_cases_cover_every_kind_of_scalar_field():
    kinds = {kind for _, kind in SHALLOW_FIELDS}
    assert kinds == {int, bool, float} and len(SHALLOW_FIELDS) >= 12


# ---- files that are not text ------------------------------------------------------------------

@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("blob", range(len(BLOBS)))
def test_non_utf8_config_file(capsys, tmp_path, out, suffix, blob):
    path = tmp_path / f"config{suffix}"
    path.write_bytes(BLOBS[blob])
    line = assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, out=out)
    assert "UTF-8" in line


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("blob", range(0, len(BLOBS), 2))
def test_non_utf8_grid_file(capsys, tmp_path, out, suffix, blob):
    path = tmp_path / f"grid{suffix}"
    path.write_bytes(BLOBS[blob])
    assert_bad_input(capsys, ["sweep", "run", path, "--out", out], path, "UTF-8", out=out)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_non_utf8_base_file_of_a_grid(capsys, tmp_path, out, suffix):
    base = tmp_path / f"base{suffix}"
    base.write_bytes(BLOBS[1])
    grid = tmp_path / "grid.toml"
    grid.write_text(f'experiment = "shallow"\nbase = "{base.name}"\n')
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out], base, out=out)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("command", ["shallow-run", "sweep-run"])
def test_text_with_nul_bytes(capsys, tmp_path, out, suffix, command):
    path = tmp_path / f"file{suffix}"
    path.write_bytes(b"[model]\nK = 2\n\x00\x00\x00\n")
    argv = ["shallow", "run", path] if command == "shallow-run" else ["sweep", "run", path]
    assert_bad_input(capsys, [*argv, "--out", out], path, "NUL", out=out)


def test_a_folder_or_a_missing_file_as_config(capsys, tmp_path, out):
    assert_bad_input(capsys, ["shallow", "run", tmp_path, "--out", out], tmp_path, out=out)
    assert_bad_input(capsys, ["shallow", "run", tmp_path / "nope.toml", "--out", out], "nope.toml", out=out)
    assert_bad_input(capsys, ["sweep", "run", tmp_path / "nope.yaml", "--out", out], "nope.yaml", out=out)


def test_unreadable_config_file(capsys, tmp_path, out):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "secret.toml"
    path.write_text("[model]\nK = 2\n")
    path.chmod(0)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, out=out)


def test_unknown_config_format(capsys, tmp_path, out):
    path = tmp_path / "config.ini"
    path.write_text("[model]\nK = 2\n")
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, ".ini", out=out)


# ---- duplicate keys and parse errors ----------------------------------------------------------

DUPLICATE_YAML = [
    ("model:\n  K: 2\n  K: 3\n", "line 3", "'K'"),
    ("model:\n  K: 2\nmodel:\n  K: 3\n", "line 3", "'model'"),
    ("data:\n  D: 100\ntrain:\n  lr: 0.5\n  time: 2.0\n  lr: 0.1\n", "line 6", "'lr'"),
    ("model: {K: 2, K: 3}\n", "line 1", "'K'"),
    ("train:\n  seeds: [0, 1]\n  seeds: [2]\n", "line 3", "'seeds'"),
    ("model:\n  activation: erf\n  tied: true\n  activation: relu\n", "line 4", "'activation'"),
]


@pytest.mark.parametrize("text, line, key", DUPLICATE_YAML)
def test_duplicate_yaml_keys_in_a_config(capsys, tmp_path, out, text, line, key):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, line, key, "duplicate", out=out)


@pytest.mark.parametrize("text, line, key", [
    ('experiment: shallow\naxes:\n  "model.K": [1, 2]\n  "model.K": [3]\n', "line 4", "'model.K'"),
    ("experiment: shallow\nexperiment: deep\n", "line 2", "'experiment'"),
    ("experiment: shallow\nbase:\n  model:\n    K: 2\n    K: 4\n", "line 5", "'K'"),
])
def test_duplicate_yaml_keys_in_a_grid(capsys, tmp_path, out, text, line, key):
    path = tmp_path / "grid.yml"
    path.write_text(text)
    assert_bad_input(capsys, ["sweep", "run", path, "--out", out], path, line, key, out=out)


def _random_yaml_with_duplicate(rng: random.Random) -> tuple[str, int, str]:
    """A random nested YAML mapping in which one key is given twice: (text, line, key)."""
    def tree(depth: int) -> dict:
        keys = rng.sample(string.ascii_lowercase, rng.randint(1, 4))
        return {k: tree(depth + 1) if depth < 2 and rng.random() < 0.4 else
                rng.choice(["1", "2.5", "true", "x", "[1, 2]", "{a: 1}"]) for k in keys}

    root = tree(0)
    mappings = []

    def collect(node: dict) -> None:
        mappings.append(node)
        for value in node.values():
            if isinstance(value, dict):
                collect(value)
    collect(root)
    target = rng.choice(mappings)
    key = rng.choice(list(target))
    lines: list[str] = []
    found = []

    def render(node: dict, indent: str) -> None:
        for k, value in node.items():
            if isinstance(value, dict):
                lines.append(f"{indent}{k}:")
                render(value, indent + "  ")
            else:
                lines.append(f"{indent}{k}: {value}")
        if node is target:
            lines.append(f"{indent}{key}: 0")
            found.append(len(lines))
    render(root, "")
    return "\n".join(lines) + "\n", found[0], key


@pytest.mark.parametrize("case", range(12))
def test_fuzzed_yaml_with_a_duplicate_key(capsys, tmp_path, out, case):
    text, line, key = _random_yaml_with_duplicate(random.Random(SEED + case))
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "config", path], path, f"line {line}:", f"duplicate key '{key}'")


@pytest.mark.parametrize("text, names", [
    ('{"model": {"K": 2, "K": 3}}', ["'K'"]),
    ('{"model": {"K": 2}, "model": {"K": 3}}', ["'model'"]),
    ('{"train": {"lr": 1, "time": 2, "lr": 3}}', ["'lr'"]),
])
def test_duplicate_json_keys(capsys, tmp_path, out, text, names):
    path = tmp_path / "config.json"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, "duplicate", *names, out=out)


@pytest.mark.parametrize("text, where", [
    ("[model]\nK = 2\nK = 3\n", "line 3"),
    ("[model]\nK = 2\n[model]\nK = 3\n", "line 3"),
    ("[train]\nlr = 1.0\n\n\nlr = 0.5\n", "line 5"),
])
def test_duplicate_toml_keys(capsys, tmp_path, out, text, where):
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, where, out=out)


@pytest.mark.parametrize("suffix, text, where", [
    (".yaml", "model:\n  K: [1, 2\n", "line "),
    (".yaml", "model:\n  K: 2\n    tied: true\n", "line 3"),
    (".yaml", "model:\n\tK: 2\n", "line 2"),
    (".yaml", "model: {K: 2\n", "line "),
    (".yaml", "- a\nb: 1\n", "line 2"),
    (".yaml", 'model:\n  activation: "erf\n', "line "),
    (".yaml", "model: &a\n  K: *b\n", "line 2"),
    (".toml", "[model\nK = 2\n", "line 1"),
    (".toml", "[model]\nK = \n", "line 2"),
    (".toml", "[model]\nK = 2 3\n", "line 2"),
    (".toml", 'a = "unterminated\n', "line 1"),
    (".json", '{"model": {"K": 2,}}', "line 1"),
    (".json", '{"model": ', "line 1"),
    (".json", "{'model': 1}", "line 1"),
    (".json", '{"model": {"K": 2}}\n{}', "line 2"),
])
def test_parse_errors_in_one_line(capsys, tmp_path, out, suffix, text, where):
    path = tmp_path / f"config{suffix}"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, "cannot parse", where, out=out)


@pytest.mark.parametrize("text", ["- 1\n- 2\n", "42\n", '"just a string"\n'])
def test_top_level_that_is_not_a_table(capsys, tmp_path, out, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], path, "top level", out=out)


# ---- strict types: booleans for integers and the like -----------------------------------------

@pytest.mark.parametrize("case", range(len(TYPE_CASES)), ids=[f"{f}={v!r}" for f, v in TYPE_CASES])
def test_wrong_scalar_type_in_a_config_file(capsys, tmp_path, out, case):
    field, value = TYPE_CASES[case]
    suffix = SUFFIXES[case % len(SUFFIXES)]  # each format in turn
    path = _write_config(tmp_path / f"config{suffix}", _nested(field, value))
    assert_bad_input(capsys, ["shallow", "run", path, "--out", out], field, out=out)


SET_CASES = [("data.D", "true"), ("data.D", "2.5"), ("data.D", "1e3"), ("model.K", "false"), ("model.K", "3.0"),
             ("model.tied", "-0.0"), ("model.tied", "0"), ("model.bias", "1"), ("train.shared_init", "2"),
             ("train.workers", "yes"), ("output.points", "60.0"), ("output.pcs", "true"), ("train.lr", "true"),
             ("train.lr", "fast"), ("ode.rtol", "false"), ("train.seeds", "[0, true]"), ("train.seeds", "[1.5]"),
             ("data.spikes", "[0.8, true]")]


@pytest.mark.parametrize("field, value", SET_CASES)
def test_wrong_scalar_type_through_set(capsys, out, field, value):
    assert_bad_input(capsys, ["shallow", "run", DEMO, "--set", f"{field}={value}", "--out", out], field, out=out)


def test_the_documented_lax_cases_are_refused(capsys, tmp_path, out):
    """`D = true`, `model.tied = -0.0` and `train.seed = false` used to be accepted."""
    for text, field in [("[data]\nD = true\n", "data.D"), ("[model]\ntied = -0.0\n", "model.tied")]:
        path = tmp_path / "c.toml"
        path.write_text(text)
        assert_bad_input(capsys, ["shallow", "run", path, "--out", out], field, out=out)
    path = tmp_path / "t.toml"
    path.write_text("[train]\nseed = false\n")
    assert_bad_input(capsys, ["train", path, "--out", out], "train.seed", out=out)


def test_yaml_merge_keys_may_be_overridden(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("defaults: &d {K: 1, activation: erf}\nmodel:\n  <<: *d\n  K: 3\n")
    import yaml

    from aelab.config import read_config_file
    from aelab.errors import ConfigError

    assert read_config_file(path)["model"] == {"K": 3, "activation": "erf"} == yaml.safe_load(path.read_text())["model"]
    path.write_text("defaults: &d {K: 1}\nmodel:\n  <<: *d\n  K: 3\n  K: 4\n")
    with pytest.raises(ConfigError, match="line 5: duplicate key 'K'"):
        read_config_file(path)


def test_floats_still_take_integers_and_yaml_exponents(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 1\node:\n  rtol: 1e-6\n")
    code, stdout, err = run_cli(capsys, ["shallow", "config", path, "--format", "json",
                                         "--set", "ode.atol=1e-9", "--set", "model.K=3"])
    assert code == 0, err
    data = json.loads(stdout)
    assert data["train"]["lr"] == 1.0 and data["ode"]["rtol"] == 1e-6 and data["ode"]["atol"] == 1e-9
    assert data["model"]["K"] == 3


@pytest.mark.parametrize("axis, values", [("model.K", "[true]"), ("model.K", "[1.5]"), ("model.tied", "[0, 1]"),
                                          ("train.workers", '["2"]'), ("train.lr", "[false]")])
def test_wrong_scalar_type_on_a_sweep_axis(capsys, tmp_path, out, axis, values):
    grid = tmp_path / "grid.toml"
    grid.write_text(f'experiment = "shallow"\n[axes]\n"{axis}" = {values}\n')
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out], f"axis {axis}", out=out)


@pytest.mark.parametrize("item, names", [
    ("model.K", ["--set 'model.K'", "section.key=value"]),
    ("=3", ["--set '=3'"]),
    ("model..K=3", ["--set 'model..K=3'"]),
    (".K=2", ["--set '.K=2'"]),
    ("model.K.x=1", ["--set model.K.x", "model.K is not a section"]),
    ("data.D.y=3", ["--set data.D.y", "data.D is not a section"]),
    ("model.KK=3", ["model.KK", "unknown key"]),
    ("nosuchsection.x=1", ["nosuchsection", "unknown key"]),
])
def test_malformed_set(capsys, out, item, names):
    assert_bad_input(capsys, ["shallow", "run", DEMO, "--set", item, "--out", out], *names, out=out)


# ---- sizes beyond the limits ------------------------------------------------------------------

@pytest.mark.parametrize("axes, names", [
    ('"train.lr" = {linspace = [0, 1, 100000000]}', ["train.lr", "linspace", "--max-points"]),
    ('"train.lr" = {logspace = [-3, 0, 1e12]}', ["train.lr", "logspace", "--max-points"]),
    ('"model.K" = {range = [1, 1000000000000]}', ["model.K", "range", "--max-points"]),
    ('"train.lr" = {linspace = [0.1, 1, 200]}\n"model.K" = {range = [1, 101]}', ["20,000 points", "--max-points"]),
])
def test_huge_grids_are_refused_at_once(capsys, tmp_path, out, axes, names):
    grid = tmp_path / "grid.toml"
    grid.write_text(f'experiment = "shallow"\n[axes]\n{axes}\n')
    start = time.perf_counter()
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out], *names, out=out)
    assert time.perf_counter() - start < 1.0


def test_huge_seeds_and_max_points(capsys, tmp_path, out):
    grid = tmp_path / "grid.toml"
    grid.write_text('experiment = "shallow"\nseeds = 1000000000\n')
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out], "seeds", "--max-points", out=out)
    grid.write_text('experiment = "shallow"\n[axes]\n"model.K" = [1, 2, 3]\n')
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out, "--max-points", "2"], "3 points", "2", out=out)
    assert_bad_input(capsys, ["sweep", "run", grid, "--out", out, "--max-points", "0"], "--max-points", out=out)
    code, stdout, _ = run_cli(capsys, ["sweep", "run", grid, "--out", out, "--max-points", "3", "--dry-run"])
    assert code == 0 and "3 points" in stdout and not out.exists()


MEMORY_CASES = [
    (["deep", "evolve", "--depth", "1000000000000"], ["aelab deep evolve", "--depth"]),
    (["deep", "simulate", "--width", "10000000", "--depth", "3"], ["aelab deep simulate", "--width"]),
    (["deep", "simulate", "--width", "1000000", "--depth", "1000000000"], ["aelab deep simulate"]),
    (["deep", "phase-diagram", "--points", "10000000"], ["aelab deep phase-diagram", "--points"]),
    (["deep", "phase-diagram", "--points", "1000", "--depth", "1000000000"], ["phase-diagram", "--depth"]),
    (["reversible", "error", "--hidden", "2000000", "--visible", "2000000"], ["aelab reversible error", "--hidden"]),
    (["reversible", "error", "--trials", "1000000000000"], ["aelab reversible error", "--trials"]),
]


@pytest.mark.parametrize("argv, names", MEMORY_CASES, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in
                                                           enumerate(MEMORY_CASES)])
def test_memory_beyond_this_machine_is_refused_before_allocating(capsys, tmp_path, argv, names):
    out = tmp_path / "pd"
    extra = ["--out", out] if "phase-diagram" in argv else []
    run_cli(capsys, [*argv, *extra])  # imports warm
    start = time.perf_counter()
    line = assert_bad_input(capsys, [*argv, *extra], *names, "free", "--ignore-memory", out=out)
    assert time.perf_counter() - start < 1.0
    assert "needs about" in line and "TiB" in line


# ---- output folders that cannot be written ----------------------------------------------------

@pytest.fixture
def grid_file(tmp_path) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text('experiment = "shallow"\n[base.data]\nD = 20\n[axes]\n"model.K" = [1, 2]\n')
    return path


def test_out_under_a_regular_file(capsys, tmp_path, grid_file):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out in (blocker / "sweep", blocker / "deeper" / "still"):
        assert_bad_input(capsys, ["sweep", "run", grid_file, "--out", out], "--out", out, blocker, out=blocker)
        assert_bad_input(capsys, ["sweep", "status", out], out)
        assert_bad_input(capsys, ["reproduce", "deep-maps", "--quick", "--out", out], "--out", out, out=blocker)
    assert blocker.read_text() == "not a folder"


def test_out_that_is_a_regular_file(capsys, tmp_path, grid_file):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_bad_input(capsys, ["sweep", "run", grid_file, "--out", blocker], "--out", blocker, "not a folder",
                     out=blocker)
    assert_bad_input(capsys, ["sweep", "status", blocker], blocker)
    assert_bad_input(capsys, ["reproduce", "deep-maps", "--out", blocker], blocker, out=blocker)


def test_read_only_out(capsys, tmp_path, grid_file):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_bad_input(capsys, ["sweep", "run", grid_file, "--out", ro / "s"], "--out", "not writable", out=ro)
        assert_bad_input(capsys, ["sweep", "run", grid_file, "--out", ro], "--out", "not writable", out=ro)
        assert_bad_input(capsys, ["reproduce", "deep-maps", "--out", ro / "r"], "not writable", out=ro)
    finally:
        ro.chmod(0o755)


def test_check_writable_dir_creates_nothing(tmp_path):
    from aelab.errors import ConfigError
    from aelab.limits import check_writable_dir

    target = tmp_path / "a" / "b" / "c"
    assert check_writable_dir(target) == target and not (tmp_path / "a").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match=r"--figure .*f is not a folder"):
        check_writable_dir(tmp_path / "f" / "x", option="--figure")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(ConfigError, match="broken symbolic link"):
        check_writable_dir(tmp_path / "dangling" / "y")


def test_a_folder_in_use_by_another_sweep(capsys, tmp_path, grid_file):
    out = tmp_path / "busy"
    with SweepStore(out).lock():
        assert_bad_input(capsys, ["sweep", "run", grid_file, "--out", out, "-e", "serial"], "--out", out, "in use",
                         out=out)


def test_sweep_status_of_what_is_not_a_sweep(capsys, tmp_path):
    assert_bad_input(capsys, ["sweep", "status", tmp_path / "nothing"], "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "sweep.json").write_bytes(BLOBS[0])
    assert_bad_input(capsys, ["sweep", "status", tmp_path / "junk"], "sweep.json")
    (tmp_path / "junk" / "sweep.json").write_text('{"format": 1, "points": 3}')
    assert_bad_input(capsys, ["sweep", "status", tmp_path / "junk"], "sweep.json")


# ---- unknown options and bad option values, on every command ----------------------------------

def _commands():
    """(path, click command) of every leaf command."""
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, [*path, name])
        else:
            out.append((path, cmd))
    walk(root, [])
    return out


COMMANDS = _commands()


def _annotation(param):
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is None:  # click's own parameter types
        name = getattr(getattr(param, "type", None), "name", "")
        annotation = {"integer": int, "float": float}.get(name)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _numeric_options():
    out = []
    for path, cmd in COMMANDS:
        for param in cmd.params:
            opts = getattr(param, "opts", None) or []
            kind = _annotation(param)
            if opts and opts[0].startswith("--") and kind in (int, float) and not getattr(param, "is_flag", False):
                out.append((path, opts[0], kind))
    return out


NUMERIC = _numeric_options()


def _bad_numbers(kind, rng: random.Random) -> list[str]:
    word = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 8)))
    values = [word, "", "1,5", "--", "0x1g"]
    if kind is int:
        values += ["2.5", "1e3", "true"]
    return values


NUMERIC_CASES = [(path, opt, value) for i, (path, opt, kind) in enumerate(NUMERIC)
                 for value in _bad_numbers(kind, random.Random(SEED + i))]


def test_every_command_is_covered():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"sweep run", "deep evolve", "reversible error", "reproduce", "shallow run", "data verify"} <= names
    assert len(NUMERIC) >= 40


UNKNOWN = ["--bogus", "--frobnicate=3", "-Z"]
UNKNOWN += ["--" + "".join(random.Random(SEED + k).choice(string.ascii_lowercase) for _ in range(9)) for k in range(2)]


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
@pytest.mark.parametrize("option", UNKNOWN)
def test_unknown_option(capsys, path, option):
    line = assert_bad_input(capsys, [*path, option], option.partition("=")[0], " ".join(["aelab", *path]))
    assert "No such option" in line


@pytest.mark.parametrize("path, option, value", NUMERIC_CASES,
                         ids=[f"{' '.join(p)} {o}={v!r}" for p, o, v in NUMERIC_CASES])
def test_bad_numeric_option_value(capsys, path, option, value):
    assert_bad_input(capsys, [*path, option, value], option)


@pytest.mark.parametrize("argv, names", [
    (["sweep", "run", "GRID", "--out", "OUT", "--executor", "threads"], ["--executor"]),
    (["sweep", "run", "GRID", "--out", "OUT", "--max-workers", "0"], ["--max-workers"]),
    (["sweep", "run", "GRID", "--out", "OUT", "-e", "serial", "--scheduler", "tcp://x:1"], ["--scheduler"]),
    (["sweep", "run", "GRID"], ["--out"]),
    (["sweep", "run"], ["grid"]),
    (["deep", "advise", "--encoder", "tanh"], ["--decoder"]),
    (["deep", "evolve", "--depth", "0"], ["--depth"]),
    (["deep", "evolve", "--encoder", "nope"], ["--encoder"]),
    (["deep", "evolve", "--sigma-w-sq", "-1"], ["--sigma-w-sq"]),
    (["deep", "evolve", "--sigma-w-sq", "a,b"], ["--sigma-w-sq"]),
    (["deep", "evolve", "--csv", "--json"], ["--csv", "--json"]),
    (["deep", "simulate", "--width", "1"], ["--width"]),
    (["deep", "simulate", "--samples", "0"], ["--samples"]),
    (["deep", "phase-diagram", "--x-range", "1"], ["--x-range"]),
    (["deep", "phase-diagram", "--points", "1", "--out", "OUT"], ["--points"]),
    (["reversible", "error", "--sparsity", "2000"], ["sparsity"]),
    (["reversible", "error", "--precision", "half"], ["--precision"]),
    (["reversible", "error", "--widths", "a,b", "--layers", "3"], ["--widths"]),
    (["reproduce", "deep-maps", "--seed", "abc"], ["--seed"]),
    (["reproduce", "no-such-figure", "--out", "OUT"], ["no-such-figure"]),
    (["shallow", "run", "DEMO", "--theory-only", "--simulation-only", "--out", "OUT"], ["--theory-only"]),
])
def test_bad_option_values(capsys, tmp_path, grid_file, argv, names):
    out = tmp_path / "out"
    argv = [{"GRID": grid_file, "OUT": out, "DEMO": DEMO}.get(a, a) for a in argv]
    assert_bad_input(capsys, argv, *names, out=out)


# ---- in a real process: the same, as a user sees it -------------------------------------------

@pytest.mark.parametrize("case", ["binary", "duplicate", "usage", "memory"])
def test_in_a_subprocess(tmp_path, case):
    if case == "binary":
        path = tmp_path / "c.toml"
        path.write_bytes(BLOBS[0])
        argv, names = ["shallow", "run", str(path), "--out", str(tmp_path / "out")], [str(path)]
    elif case == "duplicate":
        path = tmp_path / "c.yaml"
        path.write_text(DUPLICATE_YAML[0][0])
        argv, names = ["shallow", "run", str(path), "--out", str(tmp_path / "out")], [str(path), "line 3"]
    elif case == "usage":
        argv, names = ["shallow", "run", str(DEMO), "--bogus"], ["--bogus"]
    else:
        argv, names = ["deep", "evolve", "--depth", "10000000000000"], ["--depth"]
    env = {k: v for k, v in os.environ.items() if k != "AELAB_IGNORE_MEMORY"}
    proc = subprocess.run([sys.executable, "-m", "aelab", *argv], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    assert all(n in lines[0] for n in names)
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_help_and_version_still_exit_0(capsys):
    for argv in (["--help"], ["--version"], ["sweep", "run", "--help"], ["deep", "evolve", "-h"]):
        code, stdout, err = run_cli(capsys, argv)
        assert code == 0 and stdout and not err, argv


# ---- the memory check itself ------------------------------------------------------------------

def test_check_memory_message_and_overrides(monkeypatch):
    from aelab import limits
    from aelab.errors import ConfigError

    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 23 * 2**30)
    with pytest.raises(ConfigError) as err:
        limits.check_memory(30 * 2**30, what="aelab x", hint="lower data.D")
    assert str(err.value) == ("aelab x needs about 30 GiB, this machine has 23 GiB free; lower data.D "
                              "(or --ignore-memory)")
    assert err.value.exit_code == 2
    limits.check_memory(30 * 2**30, what="aelab x", hint="h", allow=True)
    limits.check_memory(20 * 2**30, what="aelab x", hint="h")
    monkeypatch.setenv("AELAB_IGNORE_MEMORY", "1")
    limits.check_memory(30 * 2**30, what="aelab x", hint="h")
    monkeypatch.setenv("AELAB_IGNORE_MEMORY", "0")
    with pytest.raises(ConfigError):
        limits.check_memory(30 * 2**30, what="aelab x", hint="h")
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: None)
    limits.check_memory(1e30, what="aelab x", hint="h")  # unknown: no check


def test_available_memory_reads_meminfo():
    from aelab.limits import available_memory_bytes

    free = available_memory_bytes()
    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc/meminfo")
    assert isinstance(free, int) and 2**20 < free < 2**50


def test_ignore_memory_lets_a_large_estimate_through(capsys, monkeypatch):
    from aelab import limits

    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 1)  # nothing fits
    assert_bad_input(capsys, ["deep", "evolve", "--depth", "3"], "--ignore-memory")
    code, stdout, err = run_cli(capsys, ["deep", "evolve", "--depth", "3", "--csv", "--ignore-memory"])
    assert code == 0 and len(stdout.splitlines()) == 4, err
    monkeypatch.setenv("AELAB_IGNORE_MEMORY", "1")
    code, stdout, err = run_cli(capsys, ["deep", "evolve", "--depth", "3", "--csv"])
    assert code == 0, err
