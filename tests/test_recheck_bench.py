"""benchmarks/bench_recheck.py runs end to end on a small project (the timings are its output,
never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
def test_bench_recheck_quick_runs_and_the_second_run_writes_nothing() -> None:
    proc = subprocess.run([sys.executable, "bench_recheck.py", "--quick"], cwd=BENCHMARKS,
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "6 apps x 8 migrations, 6 open pull requests, 2 now conflicting"
    assert lines[1].startswith("  the recheck after the push (median of 1)")
    assert lines[1].endswith("(11 API requests, 4 writes; 2 statuses now failure)")
    assert lines[2].endswith("(0 writes)")
    assert lines[-2].split() == ["second", "run", "writes", "0", "0", "yes"]
    assert lines[-1] == ("Targets apply to 50 apps x 40 migrations with 50 pull requests; "
                         "--quick only shows that the benchmark runs.")
