"""Benchmark: verify and plan against ``migrate`` and ``migrate --plan`` on a real project's shape.

    python benchmarks/bench_real_project.py [--database-url URL] [--apps 10] [--migrations 10]
                                            [--runs 3]

The project is ``tests/support/realproject.py``: settings completed by a git-ignored file CI
writes, an optional plugin with migrations that is not installed, a pull request adding a
``blank=True`` CharField and an ArrayField while the base adds a field (a conflict whose merge
name holds a timestamp), plus ``--apps`` apps of ``--migrations`` migrations each. Everything
runs on the PostgreSQL server of ``--database-url`` (default: $MIGRATION_CI_TEST_POSTGRES_URL),
which the project's own settings name, so migration-ci uses it without ``--database-url``:

(a) ``manage.py migrate`` of the merged tree on a fresh database, against ``migration-ci verify
    --base main`` (the whole command: the merged copy with the merge migration, the throwaway
    database, every migration forward, the round trip, the model check), without a snapshot
    and with a warm snapshot cache;
(b) ``manage.py migrate --plan`` on a database at the base state, against ``migration-ci plan
    --base main`` (which needs no database at the base state, and prints the SQL too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import BenchmarkError, Timing, find_cli, manage_py, print_timings, time_once

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.gitrepo import GitRepo, isolated_env
from tests.support.realproject import CONFIGURATION, TEMPLATE, build_history

SETTINGS = ["--settings", "mysite.settings"]
NAME_VARIABLE = "BENCH_DATABASE_NAME"
# The configuration CI would write, with the database name the benchmark chooses per run.
CONFIGURATION_SUFFIX = (
    '\nimport os\nDATABASES["default"]["NAME"] = os.environ.get('
    f'"{NAME_VARIABLE}", DATABASES["default"]["NAME"])\n'
)


def server_settings(url: str) -> dict[str, object]:
    import dj_database_url

    return {**dj_database_url.parse(url), "NAME": "bench_configured_never_created"}


def admin(url: str, sql: str) -> None:
    import psycopg

    settings = server_settings(url)
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                         user=settings["USER"], password=settings["PASSWORD"] or None,
                         dbname="postgres", autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def clone(author: Path, target: Path, branch: str) -> Path:
    env = isolated_env()
    subprocess.run(["git", "clone", "-q", "--branch", branch, str(author), str(target)],
                   env=env, check=True)
    return target


def complete_settings(project: Path) -> None:
    (project / CONFIGURATION).write_text(
        (project / TEMPLATE).read_text(encoding="utf-8") + CONFIGURATION_SUFFIX, encoding="utf-8")


def prepare(directory: Path, url: str, apps: int, migrations: int) -> tuple[Path, Path, Path]:
    """The pull request's branch (what migration-ci judges), the merged tree with its merge
    migration (what ``migrate`` runs) and the base."""
    for key, value in isolated_env().items():
        if key.startswith("GIT_"):
            os.environ[key] = value
    author = GitRepo(directory / "author")
    build_history(author, server_settings(url), extra_apps=apps, migrations_per_app=migrations)
    author.checkout("feature")
    merged = clone(author.root, directory / "merged", "feature")
    base = clone(author.root, directory / "base", "main")
    for project in (author.root, merged, base):
        complete_settings(project)
    subprocess.run(["git", "merge", "-q", "--no-edit", "origin/main"], cwd=merged,
                   env=isolated_env(), capture_output=True, check=True)
    time_once(manage_py("makemigrations", "--merge", "--noinput", "-v", "0"), merged, (0,))
    return author.root, merged, base


def on_fresh_database(url: str, name: str, argv: Sequence[str], cwd: Path) -> float:
    admin(url, f'CREATE DATABASE "{name}"')
    os.environ[NAME_VARIABLE] = name
    try:
        return time_once(argv, cwd, (0,))
    finally:
        del os.environ[NAME_VARIABLE]
        admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench(directory: Path, url: str, apps: int, migrations: int, runs: int) -> None:
    branch, merged, base = prepare(directory, url, apps, migrations)
    cli = find_cli()
    cache = directory / "cache"
    migrate = Timing("manage.py migrate (merged tree, fresh database)", tuple(
        on_fresh_database(url, f"bench_migrate_{i}", manage_py("migrate", "-v", "0"), merged)
        for i in range(runs)))
    verify = [*cli, "verify", *SETTINGS, "--base", "main"]
    cold = Timing("migration-ci verify --base main --no-cache", tuple(
        time_once([*verify, "--no-cache"], branch, (0,)) for _ in range(runs)))
    time_once([*verify, "--cache", str(cache)], branch, (0,))  # builds the snapshot
    warm = Timing("migration-ci verify --base main --cache (warm)", tuple(
        time_once([*verify, "--cache", str(cache)], branch, (0,)) for _ in range(runs)))
    admin(url, 'CREATE DATABASE "bench_plan_base"')
    os.environ[NAME_VARIABLE] = "bench_plan_base"
    try:
        time_once(manage_py("migrate", "-v", "0"), base, (0,))
        migrate_plan = Timing("manage.py migrate --plan (database at the base)", tuple(
            time_once(manage_py("migrate", "--plan"), merged, (0,)) for _ in range(runs)))
    finally:
        del os.environ[NAME_VARIABLE]
        admin(url, 'DROP DATABASE IF EXISTS "bench_plan_base" WITH (FORCE)')
    plan = Timing("migration-ci plan --base main", tuple(
        time_once([*cli, "plan", *SETTINGS, "--base", "main"], branch, (0,))
        for _ in range(runs)))
    total = len(list(merged.glob("*/migrations/0*.py")))
    print_timings(f"Real project shape: {2 + apps} apps + a plugin, {total} migration files, "
                  "PostgreSQL", [migrate, cold, warm, migrate_plan, plan])
    print(f"  verify (no cache) / migrate: {cold.median / migrate.median:.2f}x")
    print(f"  verify (warm) / migrate:     {warm.median / migrate.median:.2f}x")
    print(f"  plan / migrate --plan:       {plan.median / migrate_plan.median:.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("MIGRATION_CI_TEST_POSTGRES_URL"))
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--migrations", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.database_url:
        print("Pass --database-url postgres://... (or set MIGRATION_CI_TEST_POSTGRES_URL).",
              file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="bench-real-"))
    try:
        bench(directory, args.database_url, args.apps, args.migrations, args.runs)
    except BenchmarkError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
