"""The benchmark project generator writes a real Django project: checked by Django itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitrepo import isolated_env

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SMALL = ["--apps", "4", "--migrations", "6"]

# Re-serializes every loaded migration with Django's MigrationWriter and prints the files that
# differ: generated files must be what makemigrations/squashmigrations write (RunPython
# migrations are written by hand, as Django's docs show, so they are left out).
WRITER_SCRIPT = """
import os, sys, django
from pathlib import Path
os.environ["DJANGO_SETTINGS_MODULE"] = "benchproject.settings"
sys.path.insert(0, os.getcwd())
django.setup()
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import MigrationWriter
loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False)
checked = 0
for (app, name), migration in sorted(loader.disk_migrations.items()):
    if not app.startswith("app_") or "RunPython" in repr(migration.operations):
        continue
    # The loader holds a swappable dependency as ("auth", "__first__"); the autodetector hands
    # the writer ("__setting__", "AUTH_USER_MODEL").
    migration.dependencies = [
        ("__setting__", "AUTH_USER_MODEL") if hasattr(d, "setting") else d
        for d in migration.dependencies
    ]
    path = Path(app, "migrations", name + ".py")
    written = MigrationWriter(migration, include_header=False).as_string()
    on_disk = path.read_text().split("\\n", 2)[2]
    if written != on_disk:
        print("differs:", path)
    checked += 1
print("checked", checked)
"""


def generate(outdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "generate.py"), str(outdir), *args],
        capture_output=True, text=True, check=False,
    )


def generated(outdir: Path, *args: str) -> Path:
    proc = generate(outdir, *SMALL, *args)
    assert proc.returncode == 0, proc.stderr
    return outdir


def run(project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([*argv], cwd=project, env=env, capture_output=True, text=True,
                          check=False)


def manage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(project, sys.executable, "manage.py", *args)


def git(project: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=project, env=isolated_env(), capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def conflict_leaves(project: Path) -> tuple[str, str, str]:
    """The app that main changed after the fork, and its leaf on main and on feature."""
    (main_file,) = git(project, "diff", "--name-only", "--diff-filter=A", "feature...main",
                       "--", "*/migrations/*.py").splitlines()
    app = main_file.split("/")[0]
    feature_file = sorted(git(project, "ls-files", f"{app}/migrations/0*.py").splitlines())[-1]
    return app, Path(main_file).stem, Path(feature_file).stem


def test_same_arguments_give_the_same_files_and_commits(tmp_path: Path) -> None:
    first = generated(tmp_path / "first", "--fork", "--git", "--seed", "7")
    second = generated(tmp_path / "second", "--fork", "--git", "--seed", "7")
    other_seed = generated(tmp_path / "other", "--fork", "--git", "--seed", "8")

    assert tree(first) == tree(second)
    assert git(first, "rev-parse", "main", "feature") == git(second, "rev-parse", "main", "feature")
    assert tree(first) != tree(other_seed)


def test_fork_without_git_is_the_merge_of_feature_and_main(tmp_path: Path) -> None:
    merged = generated(tmp_path / "merged", "--fork")
    repo = generated(tmp_path / "repo", "--fork", "--git")

    git(repo, "merge", "-q", "--no-edit", "main")

    assert tree(merged) == tree(repo)


def test_git_history_forks_after_the_base_commit(tmp_path: Path) -> None:
    project = generated(tmp_path / "project", "--fork", "--git", "--branch-migrations", "5")

    added_on_feature = git(project, "diff", "--name-only", "--diff-filter=A", "main...feature")
    app, main_leaf, feature_leaf = conflict_leaves(project)

    assert git(project, "branch", "--show-current") == "feature"
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-list", "--count", "main") == "2"
    assert git(project, "rev-list", "--count", "feature") == "2"
    assert len(added_on_feature.splitlines()) == 5
    assert f"{app}/migrations/{feature_leaf}.py" in added_on_feature.splitlines()
    assert main_leaf.startswith("0007_")
    assert feature_leaf[:4] in ("0007", "0008")
    assert main_leaf != feature_leaf


def test_squashes_swappable_dependencies_and_run_python_are_present(tmp_path: Path) -> None:
    project = generated(tmp_path / "project")
    files = {str(p.relative_to(project)): p.read_text() for p in project.glob("*/migrations/0*.py")}

    squashes = sorted(path for path, text in files.items() if "\n    replaces = [" in text)
    replaced = files[squashes[0]].split("replaces = [", 1)[1].split("]", 1)[0].split("'")[3::4]

    assert [path.split("/")[0] for path in squashes] == ["app_003"]
    assert squashes[0].startswith("app_003/migrations/0001_squashed_0003_")
    assert [name[:5] for name in replaced] == ["0001_", "0002_", "0003_"]
    assert all(f"app_003/migrations/{name}.py" in files for name in replaced)
    assert any("migrations.swappable_dependency(settings.AUTH_USER_MODEL)," in text
               for text in files.values())
    assert any("migrations.RunPython(forwards, backwards)," in text for text in files.values())
    assert any(f"to='app_00{i}." in files[path] for path in files for i in range(3)
               if not path.startswith(f"app_00{i}/"))


@pytest.mark.slow
def test_migration_files_are_what_django_writes(tmp_path: Path) -> None:
    project = generated(tmp_path / "project", "--apps", "12", "--migrations", "10")

    proc = run(project, sys.executable, "-c", WRITER_SCRIPT)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("checked "), proc.stdout
    assert int(proc.stdout.split()[1]) > 100


@pytest.mark.slow
@pytest.mark.parametrize("branch", ["main", "feature"])
def test_models_match_migrations_and_migrate_succeeds(tmp_path: Path, branch: str) -> None:
    project = generated(tmp_path / "project", "--fork", "--git")
    git(project, "checkout", "-q", branch)

    check = manage(project, "makemigrations", "--check", "--dry-run")
    migrate = manage(project, "migrate", "--noinput")

    assert (check.returncode, check.stdout, check.stderr) == (0, "No changes detected\n", "")
    assert migrate.returncode == 0, migrate.stderr
    assert re.search(r"Applying app_003\.0001_squashed_0003_\w+\.\.\. OK", migrate.stdout)


@pytest.mark.slow
def test_django_sees_the_leaf_conflict_once_feature_and_main_merge(tmp_path: Path) -> None:
    project = generated(tmp_path / "project", "--fork", "--git")
    app, *leaves = conflict_leaves(project)
    assert manage(project, "makemigrations", "--check", "--dry-run").returncode == 0

    git(project, "merge", "-q", "--no-edit", "main")
    conflicted = manage(project, "makemigrations", "--check", "--dry-run")
    merge = manage(project, "makemigrations", "--merge", "--noinput")
    after_merge = manage(project, "makemigrations", "--check", "--dry-run")

    assert conflicted.returncode == 1
    assert conflicted.stderr == (
        "CommandError: Conflicting migrations detected; multiple leaf nodes in the migration "
        f"graph: ({', '.join(sorted(leaves))} in {app}).\n"
        "To fix them run 'python manage.py makemigrations --merge'\n")
    assert merge.returncode == 0, merge.stderr
    assert (after_merge.returncode, after_merge.stdout) == (0, "No changes detected\n")
    assert manage(project, "migrate", "--noinput").returncode == 0


def test_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")

    proc = generate(tmp_path, *SMALL)

    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (f"Output directory '{tmp_path}' is not empty. "
                           "Pass a new or empty directory.\n")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_bench_check_quick_prints_both_times_and_the_ratio() -> None:
    proc = run(BENCHMARKS, sys.executable, "bench_check.py", "--quick", "--runs", "1",
               "--django-runs", "1")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:7]] == [
        "command", "migration-ci", "manage.py", "migration-ci", "migration-ci"]
    assert "(cold: parse cache off)" in lines[6]
    assert lines[9].split()[:2] == ["Django", "/"]
    assert lines[-1] == ("Targets apply to 200 apps x 50 migrations; "
                         "--quick only shows that the benchmark runs.")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param(None, "The 'migration-ci' command is not installed for '{python}'. "
                     "Install the package first: pip install -e .", id="not installed"),
        pytest.param("echo 'ModuleNotFoundError: migration_ci.cli' >&2; exit 1",
                     "'{bin}/migration-ci check --help' exited 1: ModuleNotFoundError: "
                     "migration_ci.cli. The benchmark needs a working 'migration-ci check' "
                     "command.", id="does not start"),
    ],
)
def test_bench_check_says_when_the_cli_cannot_run(
    tmp_path: Path, script: str | None, message: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.symlink_to(sys.executable)
    if script is not None:
        (bin_dir / "migration-ci").write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / "migration-ci").chmod(0o755)
    env = {**os.environ, "PATH": str(bin_dir)}

    proc = subprocess.run([str(python), str(BENCHMARKS / "bench_check.py"), "--quick"],
                          env=env, capture_output=True, text=True, check=False)

    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == message.format(python=python, bin=bin_dir) + "\n"
