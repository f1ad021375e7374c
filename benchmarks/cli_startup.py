"""Start-up time of the command line, against the interpreter's own start measured in the same run.

    python benchmarks/cli_startup.py [--repeats 7]

Prints, ratios first and wall seconds second (best of ``--repeats`` fresh processes each), with the
machine load: ``aelab --help``, ``aelab --version`` and ``aelab shallow --help`` (target for
``aelab --help``: <= 0.3 s), against ``python -c pass`` (the floor of any Python command) and
``python -c "import numpy"``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

TARGET_S = 0.3


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def best(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="fresh processes per command (the best counts)")
    args = ap.parse_args()
    py = sys.executable
    script = os.path.join(os.path.dirname(py), "aelab")  # the installed command, as a user runs it
    print(f"machine load (1 min) at start: {load()}")
    floor = best([py, "-c", "pass"], args.repeats)
    numpy = best([py, "-c", "import numpy"], args.repeats)
    print(f"start-up, best of {args.repeats} fresh processes (baselines in the same run)")
    for label, extra, target in [("aelab --help", ["--help"], TARGET_S), ("aelab --version", ["--version"], None),
                                 ("aelab shallow --help", ["shallow", "--help"], None)]:
        cmd = [script, *extra] if os.path.exists(script) else [
            py, "-c", f"import sys; from aelab.cli import main; sys.exit(main({extra!r}))"]
        t = best(cmd, args.repeats)
        status = "" if target is None else f"   target <= {target} s: {'ok' if t <= target else 'MISSED'}"
        print(f"  {label:22s} {t / floor:5.1f} x python -c pass, {t / numpy:4.1f} x import numpy   "
              f"{t:6.3f} s{status}")
    print(f"    python -c pass: {floor:.3f} s; python -c 'import numpy': {numpy:.3f} s")
    print(f"machine load (1 min) at end: {load()}")


if __name__ == "__main__":
    main()
