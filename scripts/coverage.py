#!/usr/bin/env python3
"""Line coverage of every module, child processes included; fails when one is under 90 %.

    .venv/bin/python scripts/coverage.py                     # the whole suite
    .venv/bin/python scripts/coverage.py -- -m "not slow"    # pytest arguments after --

Runs the tests under coverage.py with ``patch = subprocess, fork, _exit``: every Python process
the tests start is measured too, so the worker (``python -m migration_ci.worker``, where the
user's project runs), the command line run as a program, the Action's entry point and the
forked parsers count. Abstract methods (``raise NotImplementedError``) are not counted. The data
of all processes is combined, and the per-module table is printed. Niced; pytest runs with
``-n 2`` unless told otherwise. Needs coverage.py 7.10 or newer (pip install -e '.[test]').
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 90.0
CONFIG = """\
[run]
source = migration_ci
omit = migration_ci/example/*
patch =
    subprocess
    fork
    _exit
parallel = true
data_file = {data}
relative_files = true

[report]
precision = 1
exclude_also =
    raise NotImplementedError
    if TYPE_CHECKING:
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pytest_args = args[args.index("--") + 1:] if "--" in args else []
    if not any(a == "-n" or a.startswith("-n") for a in pytest_args):
        pytest_args = ["-n", "2", *pytest_args]
    with tempfile.TemporaryDirectory(prefix="migration-ci-coverage-") as scratch:
        rc = Path(scratch) / "coveragerc"
        rc.write_text(CONFIG.format(data=Path(scratch) / ".coverage"), encoding="utf-8")
        tests = run(["nice", "-n", "10", sys.executable, "-m", "coverage", "run",
                     f"--rcfile={rc}", "-m", "pytest", "-p", "no:cacheprovider", "-q",
                     *pytest_args])
        run([sys.executable, "-m", "coverage", "combine", f"--rcfile={rc}", "-q"])
        report = Path(scratch) / "coverage.json"
        run([sys.executable, "-m", "coverage", "json", f"--rcfile={rc}", "-q", "-o", str(report)])
        low = print_table(json.loads(report.read_text(encoding="utf-8")))
    if tests != 0:
        print(f"\nThe tests failed (pytest exit code {tests}): the table is of a broken run.")
        return 1
    if low:
        print(f"\n{len(low)} module(s) under {THRESHOLD:.0f} %: {', '.join(low)}.")
        return 1
    print(f"\nEvery module has at least {THRESHOLD:.0f} % of its lines covered.")
    return 0


def run(command: list[str]) -> int:
    return subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                          check=False).returncode


def print_table(data: dict[str, object]) -> list[str]:
    """The per-module table, lowest first; returns the modules under the threshold."""
    files = data["files"]
    assert isinstance(files, dict)
    rows = sorted(
        (summary["percent_covered"], path, summary["num_statements"], summary["missing_lines"])
        for path, info in files.items() for summary in [info["summary"]]
    )
    print(f"\n{'module':<48}{'lines':>7}{'missed':>8}{'cover':>8}")
    for percent, path, lines, missed in rows:
        mark = "  <" if percent < THRESHOLD else ""
        print(f"{path:<48}{lines:>7}{missed:>8}{percent:>7.1f}%{mark}")
    totals = data["totals"]
    assert isinstance(totals, dict)
    print(f"{'total':<48}{totals['num_statements']:>7}{totals['missing_lines']:>8}"
          f"{totals['percent_covered']:>7.1f}%")
    low = [path for percent, path, _, _ in rows if percent < THRESHOLD]
    for path in low:
        print(f"  {path} misses lines {ranges(files[path]['missing_lines'])}")
    return low


def ranges(lines: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``."""
    spans: list[list[int]] = []
    for line in sorted(lines):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


if __name__ == "__main__":
    raise SystemExit(main())
