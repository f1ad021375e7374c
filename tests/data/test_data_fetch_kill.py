"""`aelab data fetch` killed with SIGKILL at random moments: a file under its final name is always
whole (its checksum holds), nothing partial looks fetched, and a rerun finishes the data set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from aelab.data.checksums import sha256_file
from aelab.data.registry import get_spec

pytestmark = pytest.mark.data
DIGESTS = {d for name in ("cifar10", "mnist") for form in get_spec(name).forms for f in form.files for d in f.sha256}


def _fetch(target, shared_data, env):
    return subprocess.Popen([sys.executable, "-m", "aelab", "--quiet", "data", "fetch", "cifar10", "mnist",
                             "--source", str(shared_data), "--data-dir", str(target)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _verified(target, env) -> int:
    return subprocess.run([sys.executable, "-m", "aelab", "--quiet", "data", "verify", "--data-dir", str(target)],
                          env=env, capture_output=True, text=True).returncode


def test_kills_leave_only_whole_files_and_a_rerun_finishes(shared_data, tmp_path):
    env = {**os.environ, "AELAB_CACHE": str(tmp_path / "cache")}
    target = tmp_path / "data"
    rng = np.random.default_rng(3)
    for delay in rng.uniform(0.3, 2.0, size=3):
        proc = _fetch(target, shared_data, env)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        # every file under its final name is whole (a registered digest); partial ones are hidden .part files
        for path in target.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                assert sha256_file(path) in DIGESTS, path
    assert _fetch(target, shared_data, env).wait(timeout=600) == 0
    assert _verified(target, env) == 0
