"""benchmarks/bench_real_project.py runs end to end on a small project (the numbers are the
README's business, not a test's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_real_project.py"


@pytest.mark.slow
@pytest.mark.postgres
def test_the_benchmark_compares_verify_and_plan_with_djangos_commands() -> None:
    url = os.environ.get("MIGRATION_CI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MIGRATION_CI_TEST_POSTGRES_URL is not set")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--database-url", url, "--apps", "1", "--migrations", "2",
         "--runs", "1"],
        cwd=SCRIPT.parent, capture_output=True, text=True, check=False, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    labels = re.findall(r"^  (\S.*?)\s{2,}\d+\.\d\d s", proc.stdout, re.M)
    assert labels == [
        "manage.py migrate (merged tree, fresh database)",
        "migration-ci verify --base main --no-cache",
        "migration-ci verify --base main --cache (warm)",
        "manage.py migrate --plan (database at the base)",
        "migration-ci plan --base main",
    ]
    assert proc.stdout.startswith(
        "Real project shape: 3 apps + a plugin, 9 migration files, PostgreSQL\n")
    assert re.search(r"^  plan / migrate --plan: +\d+\.\d\dx$", proc.stdout, re.M)
