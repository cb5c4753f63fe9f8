"""Generate a large, real Django project for benchmarks: N apps x M migrations.

    python benchmarks/generate.py OUTDIR --apps 200 --migrations 50 [--seed 1]
        [--fork] [--branch-migrations 5] [--git]

The same arguments give the same files byte for byte (and with --git the same commits). Without
--fork the tree is one project whose models match its migrations. --fork adds a fork: a feature
side adding --branch-migrations migrations to a few apps, and one migration on main added after the
fork to one of those apps, so the two sides have two leaves in that app. With --git the fork is two
branches, ``main`` and ``feature`` (checked out); without --git both sides are written into the
tree, as on the merge checkout of a pull request.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import django
from history import Field, Migration, Operation, apply
from planner import SQUASH_EVERY, Planner
from render import MANAGE_PY, apps_source, migration_source, models_source, settings_source

PROJECT = "benchproject"
FEATURE = "feature"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Benchmark Generator",
    "GIT_AUTHOR_EMAIL": "generator@example.com",
    "GIT_COMMITTER_NAME": "Benchmark Generator",
    "GIT_COMMITTER_EMAIL": "generator@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}

Files = dict[str, str]


@dataclass(frozen=True)
class Fork:
    conflict_app: str  # the app with a leaf on each side
    feature: Files  # files added or changed on the feature side
    main: Files  # files added or changed on main after the fork
    merged: Files  # both sides together, models.py of the conflicting app merged


@dataclass(frozen=True)
class Project:
    base: Files
    fork: Fork | None


def plan_base(apps: int, migrations: int, seed: int) -> Planner:
    planner = Planner(apps, seed)
    planner.last_number = migrations
    if migrations >= 4:
        planner.squash_at = {i: migrations // 2 for i in range(apps)
                             if i % SQUASH_EVERY == 3}
    for number in range(1, migrations + 1):
        planner.plan_round(number)
    return planner


def app_files(planner: Planner, index: int, migrations: Sequence[Migration]) -> Files:
    version = django.get_version()
    label = planner.apps[index].label
    files = {f"{label}/models.py": models_source(planner.apps[index])}
    for migration in migrations:
        files[f"{label}/migrations/{migration.name}.py"] = migration_source(migration, version)
    return files


def base_files(planner: Planner) -> Files:
    labels = [app.label for app in planner.apps]
    files: Files = {
        ".gitignore": "__pycache__/\n*.sqlite3\n",
        "manage.py": MANAGE_PY,
        f"{PROJECT}/__init__.py": "",
        f"{PROJECT}/settings.py": settings_source(labels),
    }
    for index, label in enumerate(labels):
        files[f"{label}/__init__.py"] = ""
        files[f"{label}/apps.py"] = apps_source(label)
        files[f"{label}/migrations/__init__.py"] = ""
        migrations = list(planner.apps[index].migrations)
        if index in planner.squash_at:
            migrations.append(planner.squash(index))
        files.update(app_files(planner, index, migrations))
    return files


def plan_fork(base: Planner, migrations: int, branch_migrations: int, base_files: Files) -> Fork:
    rng = base.rng
    count = min(max(1, (branch_migrations + 1) // 2), len(base.apps))
    indexes = sorted(rng.sample(range(len(base.apps)), count))
    conflict = rng.choice(indexes)
    first_model = next(iter(base.apps[conflict].models))

    feature = base.copy()
    added: dict[int, list[Migration]] = {i: [] for i in indexes}
    for step in range(branch_migrations):
        index = indexes[step % count]
        avoid = frozenset({first_model}) if index == conflict else frozenset()
        number = migrations + 1 + len(added[index])
        added[index].append(feature.add_migration(index, number, avoid, allow_run_python=False))

    main = base.copy()
    state = main.apps[conflict]
    new_field = Field(f"code_{state.next_number()}", "char", max_length=100, default="")
    operation = Operation("AddField", first_model, (new_field,))
    name = f"{first_model.lower()}_{new_field.name}"
    on_main = main.commit(conflict, migrations + 1, (operation,), name)

    merged_state = feature.copy().apps[conflict]
    apply(merged_state, operation)
    feature_files: Files = {}
    for index in indexes:
        feature_files.update(app_files(feature, index, added[index]))
    main_files = app_files(main, conflict, [on_main])
    merged = {**base_files, **feature_files, **main_files,
              f"{state.label}/models.py": models_source(merged_state)}
    return Fork(state.label, feature_files, main_files, merged)


def plan_project(apps: int, migrations: int, seed: int, branch_migrations: int | None) -> Project:
    planner = plan_base(apps, migrations, seed)
    files = base_files(planner)
    if branch_migrations is None:
        return Project(files, None)
    return Project(files, plan_fork(planner, migrations, branch_migrations, files))


def write_files(root: Path, files: Files) -> None:
    made: set[Path] = set()
    for path, text in sorted(files.items()):
        target = root / path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(text.encode("utf-8"))


def git(root: Path, *args: str, hour: int = 0) -> None:
    date = f"2024-01-01T{hour:02d}:00:00+00:00"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_IDENTITY, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    command = ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args]
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}:\n"
                         f"{proc.stdout}{proc.stderr}")


def commit_all(root: Path, message: str, hour: int) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, hour=hour)


def write_project(root: Path, project: Project, use_git: bool) -> None:
    if not use_git:
        write_files(root, project.fork.merged if project.fork else project.base)
        return
    write_files(root, project.base)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "Add the project", hour=0)
    if project.fork is None:
        return
    git(root, "checkout", "-q", "-b", FEATURE)
    write_files(root, project.fork.feature)
    commit_all(root, "Add migrations on the feature branch", hour=1)
    git(root, "checkout", "-q", "main")
    write_files(root, project.fork.main)
    commit_all(root, f"Add a migration to {project.fork.conflict_app} on main", hour=2)
    git(root, "checkout", "-q", FEATURE)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="directory to create (must be empty)")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--migrations", type=int, default=50, help="migrations per app")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fork", action="store_true", help="add a feature side and a main side")
    parser.add_argument("--branch-migrations", type=int, default=5,
                        help="migrations the feature side adds (with --fork)")
    parser.add_argument("--git", action="store_true", help="commit into a git repository")
    args = parser.parse_args(argv)
    if args.apps < 1 or args.migrations < 1 or args.branch_migrations < 1:
        parser.error("--apps, --migrations and --branch-migrations must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root: Path = args.outdir
    if root.exists() and any(root.iterdir()):
        print(f"Output directory '{root}' is not empty. Pass a new or empty directory.",
              file=sys.stderr)
        return 2
    project = plan_project(args.apps, args.migrations, args.seed,
                           args.branch_migrations if args.fork else None)
    root.mkdir(parents=True, exist_ok=True)
    write_project(root, project, args.git)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
