"""Time `migration-ci check` against Django's `makemigrations --check --dry-run` on one project.

    python benchmarks/bench_check.py [--project DIR] [--quick]

On a generated 200 apps x 50 migrations project with a forked git history (the ``feature`` branch
checked out, ``main`` with a conflicting migration), it times:

- ``migration-ci check`` (static engine; median of 5 runs after 1 warm-up),
- ``python manage.py makemigrations --check --dry-run`` (median of 3 after 1 warm-up, so that
  Django imports the migration files from cached bytecode),
- ``migration-ci check --base main`` (median of 5 after 1 warm-up),
- ``migration-ci check`` cold: with the parse cache off (``MIGRATION_CI_NO_CACHE=1``), every
  file parsed again; shown for information (the targets are for the usual, warm run: the cache
  keeps parsed files by content, as pre-commit and CI with a cached folder see them),

and prints the times, the ratio and whether the targets are met: static check <= 1.0 s and at least
10x faster than Django's command; --base check <= 1.5 s. Exit 0 when they are (or with --quick,
where the size is too small for the targets), 1 when not, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import (
    BASE_BRANCH,
    BenchmarkError,
    Size,
    Target,
    Timing,
    find_cli,
    format_seconds,
    generate_project,
    manage_py,
    print_targets,
    print_timings,
    time_runs,
)

FULL, QUICK = Size(200, 50), Size(6, 8)
STATIC_LIMIT, BASE_LIMIT, MIN_RATIO = 1.0, 1.5, 10.0


def measure(project: Path, cli: list[str], runs: int, django_runs: int) -> list[Timing]:
    # The feature branch alone has one leaf per app (exit 0); merged with main it has two
    # leaves in one app (exit 1). Any other exit code means a wrong answer, not a timing.
    static = time_runs("migration-ci check", [*cli, "check"], project, runs, 1, ok_codes=(0,))
    django = time_runs("manage.py makemigrations --check --dry-run",
                       manage_py("makemigrations", "--check", "--dry-run"),
                       project, django_runs, 1, ok_codes=(0,))
    base = time_runs(f"migration-ci check --base {BASE_BRANCH}",
                     [*cli, "check", "--base", BASE_BRANCH], project, runs, 1, ok_codes=(1,))
    os.environ["MIGRATION_CI_NO_CACHE"] = "1"
    try:
        cold = time_runs("migration-ci check (cold: parse cache off)", [*cli, "check"], project,
                         runs, 0, ok_codes=(0,))
    finally:
        del os.environ["MIGRATION_CI_NO_CACHE"]
    return [static, django, base, cold]


def judge(static: Timing, django: Timing, base: Timing, cold: Timing) -> list[Target]:
    ratio = django.median / static.median
    return [
        Target("static check", format_seconds(static.median), f"<= {STATIC_LIMIT:.1f} s",
               static.median <= STATIC_LIMIT),
        Target("Django / static", f"{ratio:.1f}x", f">= {MIN_RATIO:.0f}x", ratio >= MIN_RATIO),
        Target(f"check --base {BASE_BRANCH}", format_seconds(base.median),
               f"<= {BASE_LIMIT:.1f} s", base.median <= BASE_LIMIT),
    ]


def run(project: Path | None, size: Size, seed: int, runs: int, django_runs: int,
        quick: bool) -> int:
    cli = find_cli()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        os.environ["MIGRATION_CI_CACHE_DIR"] = str(Path(tmp) / "cache")  # starts empty
        if project is None:
            project = Path(tmp) / "project"
            seconds = generate_project(project, size, seed)
            print(f"Generated {size} into {project} in {format_seconds(seconds)}")
        migrations = sum(1 for _ in project.glob("*/migrations/0*.py"))
        timings = measure(project, cli, runs, django_runs)
        print_timings(f"{project} ({migrations} migration files)", timings)
        targets = judge(*timings)
        print_targets(targets)
    if quick:
        print(f"Targets apply to {FULL}; --quick only shows that the benchmark runs.")
        return 0
    return 0 if all(t.met for t in targets) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path,
                        help="a project made by generate.py --fork --git (default: generate one)")
    parser.add_argument("--quick", action="store_true", help=f"a small project ({QUICK})")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated project")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of migration-ci")
    parser.add_argument("--django-runs", type=int, default=3, help="timed runs of Django")
    args = parser.parse_args(argv)
    try:
        return run(args.project, QUICK if args.quick else FULL, args.seed, args.runs,
                   args.django_runs, args.quick)
    except BenchmarkError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
