"""Every hook in .pre-commit-hooks.yaml works under ``pre-commit try-repo``, for real.

pre-commit installs the hooks into an environment of its own with pip: those tests need the
package index (marked ``index``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.gitrepo import GitRepo, isolated_env, migration

PROJECT = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def hook_ids() -> list[str]:
    return [hook["id"] for hook in HOOKS]


def test_hooks_are_the_documented_ones() -> None:
    assert hook_ids() == ["migration-conflicts", "migration-conflicts-base"]
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for hook in HOOKS:
        assert f"id: {hook['id']}" in readme
        assert hook["pass_filenames"] is False
    assert HOOKS[1]["stages"][0] == "pre-push"


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this project for pre-commit to install the hooks from."""
    copy = tmp_path_factory.mktemp("hooksrc") / "django-migration-ci"
    shutil.copytree(
        PROJECT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "__pycache__", "*.egg-info", ".*_cache", "build"
        ),
    )
    source = GitRepo(copy)
    source.commit("hooks")
    return copy


def try_repo(
    repo: GitRepo, source: Path, hook: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(source), hook, "--verbose", *args],
        cwd=repo.root,
        env=pre_commit_env(source),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def forked_repo(repo: GitRepo) -> None:
    repo.write("shop/__init__.py", "")
    repo.write("shop/migrations/__init__.py", "")
    repo.write("shop/migrations/0001_initial.py", migration())
    repo.commit("initial")
    repo.branch("feature")
    repo.write("shop/migrations/0002_a.py", migration([("shop", "0001_initial")]))
    repo.commit("a")
    repo.checkout("main")
    repo.write("shop/migrations/0002_b.py", migration([("shop", "0001_initial")]))
    repo.commit("b")
    repo.checkout("feature")


@pytest.mark.slow
@pytest.mark.index
def test_static_hook_fails_on_conflict_and_fix_writes_the_merge(
    repo: GitRepo, hook_source: Path
) -> None:
    forked_repo(repo)
    clean = try_repo(repo, hook_source, "migration-conflicts", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    repo.git("merge", "-q", "--no-edit", "main")
    failed = try_repo(repo, hook_source, "migration-conflicts", "--all-files")
    assert failed.returncode == 1
    assert (
        "Conflicting migrations in app 'shop': 0002_a (working tree), 0002_b (working tree)."
        in failed.stdout
    )
    assert (
        "1 app with conflicting migrations. Run: the migration-conflicts hook with args: "
        "[--fix]\n" in failed.stdout
    )
    # --fix writes the merge migration and still fails, so the user stages it.
    env = pre_commit_env(hook_source)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_source, env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()
    (repo.root / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_source}\n  rev: {rev}\n  hooks:\n"
        "  - id: migration-conflicts\n    args: [--fix]\n",
        encoding="utf-8",
    )
    repo.git("add", ".pre-commit-config.yaml")
    fixed = pre_commit_run(repo, env, "migration-conflicts")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert (repo.root / "shop/migrations/0003_merge_0002_a_0002_b.py").is_file()
    again = pre_commit_run(repo, env, "migration-conflicts")
    assert again.returncode == 0, again.stdout + again.stderr


def pre_commit_env(source: Path) -> dict[str, str]:
    env = isolated_env()
    env["PRE_COMMIT_HOME"] = str(source.parent / "pre-commit-home")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    return env


def pre_commit_run(
    repo: GitRepo, env: dict[str, str], hook: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--all-files"],
        cwd=repo.root, env=env, capture_output=True, text=True, check=False, timeout=600,
    )


@pytest.mark.slow
@pytest.mark.index
def test_base_hook_judges_the_merge_with_upstream(repo: GitRepo, hook_source: Path) -> None:
    forked_repo(repo)
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    # The base is the remote's default branch, origin/HEAD, as git clone records it.
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    failed = try_repo(
        repo, hook_source, "migration-conflicts-base", "--all-files", "--hook-stage", "pre-push"
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert (
        "Conflicting migrations in app 'shop': 0002_a (this branch), 0002_b (origin/main)."
        in failed.stdout
    )
    assert (
        "1 app with conflicting migrations. Run: git merge origin/main, then the "
        "migration-conflicts-base hook with args: [--fix]\n" in failed.stdout
    )
    repo.git("update-ref", "refs/remotes/origin/main", "feature")
    clean = try_repo(
        repo, hook_source, "migration-conflicts-base", "--all-files", "--hook-stage", "pre-push"
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
