"""Benchmark: migration-ci's risk rules against the field's linters, on the same migrations.

    python benchmarks/bench_risk.py [--linters-venv DIR] [--details]

The migrations are the single-operation cases of tests/test_risk_sql.py, on PostgreSQL
(``MIGRATION_CI_TEST_POSTGRES_URL``): one app per case, migrated to the base state, then one
branch migration holding the case's operation. Each case is labelled below as a real risk on
a populated production table (``TRUTH``, with the measurement or the Django behaviour behind
it) or not. A tool *catches* a real risk when it reports anything (warning or error) on that
case's migration, and raises a *false alarm* when it reports anything on a case that is not
one. migration-ci counts medium and high risks (low is information).

The linters are installed from PyPI into their own virtualenv (``--linters-venv``, made on
first use) with this Django; one that cannot be installed is reported as such, never guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

from migration_ci.plan.facts import OperationFacts  # noqa: E402
from migration_ci.plan.risk import assess  # noqa: E402
from tests.test_plan_collect import Project, scratch_database  # noqa: E402
from tests.test_risk_sql import BASE_OPS, CASES, PG, app_label, branch_migration  # noqa: E402

URL_VARIABLE = "MIGRATION_CI_TEST_POSTGRES_URL"
LINTERS = {
    "django-migration-linter 6.0": ("django-migration-linter==6.0.0", "django_migration_linter"),
    "django-safe-migrations 0.7": ("django-safe-migrations==0.7.1", "django_safe_migrations"),
    "django-migration-doctor 0.1": ("django-migration-doctor==0.1.0", "drmigrate"),
}

# Is each case a real risk on a populated PostgreSQL table, and why. "Measured" points at what
# tests/test_risk_sql.py checks on the server (rewrite, lock, SQL).
TRUTH: dict[str, tuple[bool, str]] = {
    "default": (True, "DROP DEFAULT after the fill: the old code's INSERTs fail (NOT NULL)"),
    "blank CharField": (True, "'' filled, then DROP DEFAULT: the old code's INSERTs fail"),
    "auto_now": (True, "now() filled, then DROP DEFAULT: the old code's INSERTs fail"),
    "db_default": (False, "the column keeps DEFAULT: old INSERTs work"),
    "nullable": (False, "a nullable column, catalog only"),
    "NOT NULL without default": (True, "fails on a table with rows"),
    "unique nullable": (True, "unique index built inside ALTER TABLE (measured: ACCESS "
                              "EXCLUSIVE)"),
    "db_index nullable": (True, "CREATE INDEX without CONCURRENTLY blocks writes"),
    "foreign key": (True, "FK validated under lock; index built without CONCURRENTLY"),
    "check constraint": (True, "every row checked under ACCESS EXCLUSIVE (measured)"),
    "check constraint NOT VALID": (False, "NOT VALID: no scan"),
    "unique constraint": (True, "unique index built under ACCESS EXCLUSIVE (measured)"),
    "unique_together": (True, "unique index built under ACCESS EXCLUSIVE (measured)"),
    "add index": (True, "CREATE INDEX without CONCURRENTLY (measured: SHARE lock)"),
    "AddIndexConcurrently": (False, "CONCURRENTLY: writes continue"),
    "RemoveIndexConcurrently": (False, "CONCURRENTLY: writes continue"),
    "widen varchar": (False, "catalog only (measured: no rewrite)"),
    "widen a short varchar past 255 bytes": (False, "catalog only on PostgreSQL (measured)"),
    "widen varchar past 255 bytes": (False, "catalog only on PostgreSQL (measured)"),
    "narrow varchar": (True, "table rewrite under ACCESS EXCLUSIVE (measured)"),
    "more digits": (False, "catalog only (measured: no rewrite)"),
    "integer to bigint": (True, "table rewrite under ACCESS EXCLUSIVE (measured)"),
    "tighten null": (True, "full scan under ACCESS EXCLUSIVE; fails on NULLs"),
    "tighten null with a default": (True, "UPDATE of the NULL rows, then the scan"),
    "loosen null": (False, "catalog only"),
    "help_text only": (False, "no SQL at all"),
    "remove field": (True, "data lost; old code selects the column"),
    "rename field": (True, "old code uses the old column name"),
    "rename model": (True, "old code uses the old table name"),
    "delete model": (True, "data lost; old code queries the table"),
    "state-only SeparateDatabaseAndState": (False, "no SQL at all"),
    "SeparateDatabaseAndState with SQL": (True, "its RunSQL drops a column"),
    "RunPython without reverse": (True, "cannot be rolled back"),
    "RunSQL without reverse": (True, "cannot be rolled back"),
    "non-atomic migration of one operation": (False, "one statement: nothing half-applied"),
    "new model": (False, "a new table"),
    "many-to-many": (False, "a new table"),
}


@dataclass(frozen=True)
class Tally:
    caught: int
    real: int
    false_alarms: int
    safe: int

    def row(self, tool: str) -> str:
        return (f"| {tool} | {self.caught} of {self.real} | {self.real - self.caught} | "
                f"{self.false_alarms} of {self.safe} |")


def benchmark_cases() -> list[tuple[int, str]]:
    """Single-operation cases that run on PostgreSQL, as (index, name)."""
    return [(i, c.name) for i, c in enumerate(CASES)
            if c.runs_on(PG) and len(re.findall(r"^        \S", c.ops, re.M)) == 1]


def build(root: Path, database: dict[str, Any]) -> Project:
    project = Project(root, databases={"default": database})
    cases = benchmark_cases()
    for index, _ in cases:
        project.add_app(app_label(index))
        project.add_migration(app_label(index), "0001_initial",
                              ops=BASE_OPS.replace("{app}", app_label(index)))
    project.write_settings(
        "import os\nINSTALLED_APPS.append('django.contrib.postgres')\n"
        "INSTALLED_APPS += [a for a in os.environ.get('BENCH_APPS', '').split(',') if a]\n")
    project.manage("migrate", "-v", "0")
    for index, _ in cases:
        project.write(f"{app_label(index)}/migrations/0002_case.py",
                      branch_migration(index, CASES[index]))
    return project


def ours(project: Project) -> set[str]:
    """Apps whose case migration-ci flags medium or high."""
    base = project.nodes_of([app_label(i) for i, _ in benchmark_cases()])
    base = [key for key in base if key[1] == "0001_initial"]
    collected = project.collect(base)
    flagged = set()
    for entry in collected["migrations"]:
        for op in entry["operations"]:
            risk = assess(OperationFacts.from_dict(op["facts"]))
            if risk is not None and risk.level in ("high", "medium"):
                flagged.add(entry["app_label"])
    return flagged


def ensure_linters(venv: Path) -> dict[str, str | None]:
    """Each linter's app label, or None (with the pip error printed) when it cannot install."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    base = [f"Django=={django.get_version()}", "psycopg[binary]"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *base], check=True)
    installed: dict[str, str | None] = {}
    for tool, (requirement, app) in LINTERS.items():
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", requirement],
                              capture_output=True, text=True, check=False)
        installed[tool] = app if done.returncode == 0 else None
        if done.returncode:
            print(f"{tool}: cannot be installed: {done.stderr.strip()[-500:]}", file=sys.stderr)
    return installed


def manage(venv: Path, project: Project, app: str, *args: str) -> str:
    env = {**os.environ, "BENCH_APPS": app, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([str(venv / "bin" / "python"), "manage.py", *args], cwd=project.root,
                          env=env, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def flagged_by_migration_linter(venv: Path, project: Project) -> set[str]:
    out = manage(venv, project, "django_migration_linter", "lintmigrations", "--no-cache")
    # "(case07, 0002_case)... ERR" / "... WARNING"; OK cases end with "OK".
    return {m[1] for m in re.finditer(r"\((case\d+), 0002_case\)\.\.\. (ERR|WARNING)", out)}


def flagged_by_safe_migrations(venv: Path, project: Project) -> set[str]:
    out = manage(venv, project, "django_safe_migrations", "check_migrations", "--format", "json")
    data = json.loads(out[out.index("{"):out.rindex("}") + 1])
    issues = data.get("issues", data) if isinstance(data, dict) else data
    return {str(i.get("app_label")) for i in issues
            if str(i.get("migration_name", "")).startswith("0002")}


def flagged_by_migration_doctor(venv: Path, project: Project) -> set[str]:
    out = manage(venv, project, "drmigrate", "drmigrate", "check")
    return {m[1] for m in re.finditer(r"\[(?:ERROR|WARN) *\].*?\b(case\d+)\.0002_case", out)}


RUNNERS: dict[str, Callable[[Path, Project], set[str]]] = {
    "django-migration-linter 6.0": flagged_by_migration_linter,
    "django-safe-migrations 0.7": flagged_by_safe_migrations,
    "django-migration-doctor 0.1": flagged_by_migration_doctor,
}


def tally(flagged: set[str]) -> Tally:
    cases = benchmark_cases()
    real = [app_label(i) for i, name in cases if TRUTH[name][0]]
    safe = [app_label(i) for i, name in cases if not TRUTH[name][0]]
    return Tally(len(flagged & set(real)), len(real), len(flagged & set(safe)), len(safe))


def details(results: dict[str, set[str] | None]) -> list[str]:
    tools = list(results)
    lines = ["| case | real risk | " + " | ".join(tools) + " |",
             "| --- | --- |" + " --- |" * len(tools)]
    for index, name in benchmark_cases():
        marks = ["n/a" if found is None else ("flagged" if app_label(index) in found else "-")
                 for found in results.values()]
        lines.append(f"| {name} | {'yes' if TRUTH[name][0] else 'no'} | " + " | ".join(marks)
                     + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linters-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "migration-ci-bench-linters")
    parser.add_argument("--details", action="store_true", help="print the per-case table too")
    args = parser.parse_args(argv)
    if not os.environ.get(URL_VARIABLE):
        print(f"Set {URL_VARIABLE} to a PostgreSQL server.", file=sys.stderr)
        return 2
    installed = ensure_linters(args.linters_venv)
    results: dict[str, set[str] | None] = {}
    with tempfile.TemporaryDirectory() as tmp, scratch_database(URL_VARIABLE) as database:
        project = build(Path(tmp) / "proj", database)
        results["migration-ci"] = ours(project)
        for tool, runner in RUNNERS.items():
            results[tool] = runner(args.linters_venv, project) if installed[tool] else None
    print(f"{len(benchmark_cases())} single-operation migrations on PostgreSQL "
          f"(Django {django.get_version()}):\n")
    print("| tool | real risks caught | missed | false alarms |")
    print("| --- | --- | --- | --- |")
    for tool, found in results.items():
        print(tally(found).row(tool) if found is not None else f"| {tool} | not installed | | |")
    if args.details:
        print("\n" + "\n".join(details(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
