"""entrypoint.py end to end on checkouts other than the default one: a project in a subfolder,
pull_request_target (HEAD is the base tip), a head that is itself a merge commit, a deleted
fork, and push to the default branch (which builds the base-state snapshot)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migration_ci.databases.snapshots import read_manifest
from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.gitrepo import GitRepo, isolated_env, migration
from tests.test_action_e2e import (
    Checkout,
    make_checkout,
    make_example_checkout,
    pull_event,
    run_action,
    serve_checkout,
)

pytestmark = pytest.mark.slow


def detach_at(checkout: Checkout, sha: str) -> None:
    """Move the workspace to ``sha`` at depth 1, as actions/checkout with ``ref:`` leaves it."""
    for args in (["fetch", "-q", "--no-tags", "--depth=1", "origin", sha],
                 ["checkout", "-q", "--detach", sha]):
        subprocess.run(["git", *args], cwd=checkout.workspace, env=isolated_env(), check=True,
                       capture_output=True)


def test_project_in_a_subfolder_keeps_one_comment_per_working_directory(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    checkout = make_checkout(tmp_path, folders=("backend", "admin"))
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    backend = run_action(tmp_path, checkout, fake, pull_event(checkout),
                         working_directory="backend")
    assert backend.code == 1, backend.stderr + backend.stdout
    [posted] = fake.comments[5]
    assert posted["body"].startswith(marker("backend") + "\n")
    assert f"against base `main` at `{checkout.base_sha[:12]}` in `backend`." in posted["body"]
    assert "::error file=backend/shop/migrations/0002_add_sku.py,line=1," in backend.stdout

    admin = run_action(tmp_path, checkout, fake, pull_event(checkout), working_directory="admin")
    assert admin.code == 1, admin.stderr + admin.stdout
    assert [c["body"].partition("\n")[0] for c in fake.comments[5]] == [
        marker("backend"), marker("admin")]
    assert "in `admin`." in fake.comments[5][1]["body"]

    posted["body"] = marker("backend") + "\nan older report"
    again = run_action(tmp_path, checkout, fake, pull_event(checkout),
                       working_directory="backend")
    assert again.code == 1, again.stderr
    assert len(fake.comments[5]) == 2
    assert "in `backend`." in posted["body"]
    assert [w.method for w in fake.writes()] == ["POST", "POST", "PATCH"]


def test_pull_request_target_judges_the_event_head_against_the_event_base(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    """pull_request_target checks out the base tip: HEAD is not the pull request."""
    checkout = make_checkout(tmp_path)
    detach_at(checkout, checkout.base_sha)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout),
                     event_name="pull_request_target")
    assert run.code == 1, run.stderr + run.stdout
    [posted] = fake.comments[5]
    assert "- `0002_add_sku` from this pull request" in posted["body"]
    assert "- `0002_price_index` from the base branch" in posted["body"]
    assert f"Checked head `{checkout.head_sha[:12]}` against base `main` at " \
           f"`{checkout.base_sha[:12]}`." in posted["body"]


def test_a_head_that_is_a_merge_commit_is_not_taken_for_the_test_merge(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    """The branch merged main in; the workflow checks out the head commit itself.

    main     0001 ── 0002_price_index ──────────┐
    feature  0001 ── 0002_add_sku ── merge main ┘  ← HEAD: two parents, not GitHub's test merge
    """
    author = GitRepo(tmp_path / "author")
    author.write("shop/__init__.py", "")
    author.write("shop/migrations/__init__.py", "")
    author.write("shop/migrations/0001_initial.py", migration())
    author.commit("initial")
    author.branch("feature")
    author.write("shop/migrations/0002_add_sku.py", migration([("shop", "0001_initial")]))
    author.commit("add sku")
    author.checkout("main")
    author.write("shop/migrations/0002_price_index.py", migration([("shop", "0001_initial")]))
    base = author.commit("price index")
    author.checkout("feature")
    author.git("merge", "--no-ff", "-q", "-m", "Merge main into feature", "main")
    head = author.git("rev-parse", "HEAD")
    checkout = serve_checkout(tmp_path, author, base, head, head)
    fake.add_pull(5, head_sha=head, base_sha=base)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    [posted] = fake.comments[5]
    assert "- `0002_add_sku` from this pull request" in posted["body"]
    assert "- `0002_price_index` from both sides" in posted["body"]  # merged in from main
    assert f"Checked head `{head[:12]}` against base `main` at `{base[:12]}`." in posted["body"]


@pytest.mark.parametrize(
    ("head_repo", "who"),
    [
        pytest.param("", "a deleted fork (the event names no head repository)",
                     id="deleted fork: head.repo is null"),
        pytest.param("fork/shop", "'fork/shop'", id="fork"),
    ],
)
def test_pull_request_target_trusts_only_the_repository_itself(
    tmp_path: Path, fake: FakeGitHub, head_repo: str, who: str
) -> None:
    checkout = make_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout, head_repo=head_repo),
                     event_name="pull_request_target",
                     **{"install-command": "touch INSTALLED"})
    assert run.code == 2
    assert not (checkout.workspace / "INSTALLED").exists()
    assert f"Refusing to load the project: on pull_request_target the code of {who} would run " \
           "with a token that can write to 'acme/shop'." in run.summary
    assert fake.requests == []


def test_push_to_the_default_branch_builds_the_snapshot_pull_requests_restore(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    """Two pushes to main: the first builds the snapshot from zero, the second (the folder
    carried over, as the restore step does) builds on it and applies main's new migration."""
    checkout = make_example_checkout(tmp_path)
    origin = GitRepo.__new__(GitRepo)
    origin.root = checkout.origin
    earlier = origin.git("merge-base", checkout.base_sha, checkout.head_sha)
    inputs = {"verify": "true", "settings_module": "bookshop.settings", "cache": "true"}
    runs = []
    for sha in (earlier, checkout.base_sha):
        detach_at(checkout, sha)
        push = {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": "acme/shop"}}
        runs.append(run_action(tmp_path, checkout, fake, push, event_name="push",
                               environ={"GITHUB_SHA": sha}, **inputs))
    first, second = runs
    assert first.code == 0, first.stderr + first.stdout
    assert "Base state built from zero: `no snapshot for key " in first.summary
    assert "### Verify on a fresh database: ✅ passed" in first.summary
    assert second.code == 0, second.stderr + second.stdout
    cache = checkout.workspace / ".migration-ci-cache"
    assert [p.suffix for p in cache.iterdir() if p.is_file()] == [".snapshot"] * 2
    by_base = {read_manifest(p)["base"]: p.stem for p in cache.glob("*.snapshot")}
    old, new = by_base[earlier], by_base[checkout.base_sha]
    assert (f"Base state built on an earlier snapshot: `no snapshot for key {new}; built on "
            f"snapshot {old}.snapshot (base {earlier[:12]}): applied 1 migration and saved a "
            "snapshot`.") in second.summary
    # The pushes name no earlier commit, so each recheck lists the open pull requests: none.
    assert [r.path for r in fake.requests] == ["/api/v3/repos/acme/shop",
                                               "/api/v3/repos/acme/shop/pulls"] * 2
