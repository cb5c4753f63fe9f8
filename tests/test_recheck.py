"""The recheck's git side: which pull requests a push may have changed, the heads fetched in one
call, and a pull request judged exactly as its own run judges it."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from migration_ci.activities.recheck_judge import (
    EVERYTHING,
    Judge,
    Scope,
    fetch_heads,
    judge,
    project_config,
    pull_ref,
    scope_of,
)
from migration_ci.activities.statuses import find_base_commits
from migration_ci.cli import main as cli
from migration_ci.github.api import PullRequest
from migration_ci.github.event import Event
from migration_ci.repository import git
from migration_ci.repository.folders import CommitFiles, FolderMerge
from migration_ci.repository.trees import GitTree, MergedTree
from tests.support.gitrepo import GitRepo, isolated_env, migration
from tests.test_action_e2e_api import git_logger


@pytest.mark.parametrize(
    ("paths", "scope"),
    [
        pytest.param(["README.md", "shop/models.py"], Scope(), id="no migration file"),
        pytest.param(["shop/migrations/0002_a.py", "shop/migrations/__init__.py",
                      "src/blog/migrations/0003_b.py"],
                     Scope(frozenset({"shop/migrations", "src/blog/migrations"})),
                     id="migrations folders"),
        pytest.param(["shop/models.py", "shop/apps.py"], EVERYTHING,
                     id="an app's label may change"),
        pytest.param(["backend/.migration-ci.yml"], EVERYTHING, id="what is scanned may change"),
    ],
)
def test_scope_of_changed_paths(paths: list[str], scope: Scope) -> None:
    assert scope_of(paths) == scope


SHOP, BLOG = Scope(frozenset({"shop/migrations"})), Scope(frozenset({"blog/migrations"}))


@pytest.mark.parametrize(
    ("push", "pull", "overlaps"),
    [
        pytest.param(SHOP, SHOP, True, id="the same folder"),
        pytest.param(SHOP, BLOG, False, id="another app's folder"),
        pytest.param(EVERYTHING, BLOG, True, id="a push that changes everything"),
        pytest.param(SHOP, EVERYTHING, True, id="a pull request that changes everything"),
        pytest.param(EVERYTHING, Scope(), False, id="a pull request without migrations"),
    ],
)
def test_a_pull_request_is_judged_when_its_scope_overlaps_the_pushs(
    push: Scope, pull: Scope, overlaps: bool
) -> None:
    assert push.overlaps(pull) is overlaps


def forked(repo: GitRepo) -> tuple[str, str]:
    """main and feature each add shop/0002_*; returns (feature, main)."""
    repo.write("backend/shop/__init__.py", "")
    repo.write("backend/shop/migrations/__init__.py", "")
    repo.write("backend/shop/migrations/0001_initial.py", migration())
    repo.commit("initial")
    repo.branch("feature")
    repo.write("backend/shop/migrations/0002_add_sku.py", migration([("shop", "0001_initial")]))
    feature = repo.commit("add sku")
    repo.checkout("main")
    repo.write("backend/shop/migrations/0002_price_index.py",
               migration([("shop", "0001_initial")]))
    return feature, repo.commit("price index")


def test_a_pull_request_is_judged_as_its_own_run_judges_it(repo: GitRepo) -> None:
    """The same check document as `migration-ci report --base --head`, and the base commit."""
    feature, main = forked(repo)
    verdict = judge(repo.root, project_config(repo.root, "backend"), feature, main, "main",
                    "backend")
    out = io.StringIO()
    code = cli.main(["report", "--format", "json", "--root", str(repo.root / "backend"),
                     "--base", main, "--head", feature, "--working-directory", "backend"],
                    stdout=out)
    assert code == 1
    own_run = json.loads(out.getvalue())
    assert verdict.report == {**own_run, "base": {"ref": "main", "sha": main}}
    assert verdict.base_commits == {"backend/shop/migrations/0002_price_index.py": main}
    assert verdict.status.description == ("Conflicting migrations in shop: 0002_add_sku vs "
                                          f"0002_price_index from main {main[:12]}")
    assert verdict.status.context == "django-migration-ci (backend)"


def test_heads_are_fetched_in_one_call_forks_included(
    tmp_path: Path, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    feature, main = forked(repo)
    repo.branch("fork-only", feature)
    repo.write("backend/shop/migrations/0003_tags.py", migration([("shop", "0002_add_sku")]))
    fork_head = repo.commit("a fork's commit")
    repo.checkout("main")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.root), str(origin)], check=True,
                   env=isolated_env())
    subprocess.run(["git", "-C", str(origin), "branch", "-D", "fork-only"], check=True,
                   env=isolated_env(), capture_output=True)
    for number, head in ((1, feature), (2, fork_head), (3, feature)):
        subprocess.run(["git", "-C", str(origin), "update-ref", f"refs/pull/{number}/head", head],
                       check=True, env=isolated_env())
    workspace = tmp_path / "workspace"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--no-tags", origin.as_uri(),
                    str(workspace)], check=True, env=isolated_env())
    environ, log = git_logger(tmp_path)
    monkeypatch.setenv("PATH", environ["PATH"])
    pulls = [PullRequest(1, feature, "feature", "acme/shop", "main", main, "acme/shop", "open"),
             PullRequest(2, fork_head, "tags", "fork/shop", "main", main, "acme/shop", "open"),
             PullRequest(3, "f" * 40, "moved", "acme/shop", "main", main, "acme/shop", "open")]
    merge_bases = fetch_heads(workspace, pulls, [main])
    initial = git.merge_base(repo.root, feature, main)
    assert merge_bases == {1: initial, 2: initial}  # #3 moved on since it was listed
    fetches = [argv for argv in map(json.loads, log.read_text().splitlines()) if "fetch" in argv]
    assert fetches == [["fetch", "-q", "--no-tags", "--depth=50", "origin",
                        *[f"+refs/pull/{n}/head:{pull_ref(n)}" for n in (1, 2, 3)], main]]
    assert git.find_commit(workspace, pull_ref(2)) == fork_head


def three_way(repo: GitRepo) -> tuple[str, str, str]:
    """Every case of the merge rule in shop/migrations, and blog/ beside it; (feature, main,
    their merge base)."""
    shop = "shop/migrations"
    apps = ("from django.apps import AppConfig\n\n\nclass ShopConfig(AppConfig):\n"
            "    name = 'shop'\n    label = 'store'\n")
    repo.write("shop/apps.py", apps)
    repo.write(f"{shop}/__init__.py", "")
    repo.write(f"{shop}/0001_initial.py", migration())
    repo.write(f"{shop}/0002_shared.py", migration([("store", "0001_initial")]))
    repo.write(f"{shop}/0004_gone.py", migration([("store", "0002_shared")]))
    repo.write("blog/migrations/__init__.py", "")
    repo.write("blog/migrations/0001_initial.py", migration())
    base = repo.commit("initial")
    repo.branch("feature")
    repo.write(f"{shop}/0003_feat.py", migration([("store", "0002_shared")]))
    repo.write(f"{shop}/0002_shared.py", migration([("store", "0001_initial")], extra="# f\n"))
    repo.write("blog/migrations/0002_b.py", migration([("blog", "0001_initial")]))
    feature = repo.commit("feature")
    repo.checkout("main")
    repo.write(f"{shop}/0003_main.py", migration([("store", "0002_shared")]))
    repo.write(f"{shop}/0001_initial.py", migration(extra="    # main\n"))
    repo.write(f"{shop}/0002_shared.py", migration([("store", "0001_initial")], extra="# m\n"))
    repo.remove(f"{shop}/0004_gone.py")
    repo.write("shop/apps.py", apps + "    verbose_name = 'Shop'\n")
    return feature, repo.commit("main"), base


@pytest.mark.parametrize("derived", [False, True], ids=["listed head", "head from its changes"])
def test_a_folder_merge_is_the_merged_tree_in_those_folders(repo: GitRepo, derived: bool) -> None:
    feature, main, merge_base = three_way(repo)
    files = CommitFiles(repo.root)
    if derived:
        files.derive(feature, merge_base, git.diff_trees(repo.root, merge_base, feature))
    folders = FolderMerge(files, feature, main, merge_base, ["shop/migrations"])
    with GitTree(repo.root, feature) as head:
        merged = MergedTree(repo.root, main, head=head)
        expected = [p for p in merged.list_paths()
                    if p.startswith("shop/migrations/") or p == "shop/apps.py"]
        assert folders.list_paths() == expected == [
            "shop/apps.py", "shop/migrations/0001_initial.py", "shop/migrations/0002_shared.py",
            "shop/migrations/0003_feat.py", "shop/migrations/0003_main.py",
            "shop/migrations/__init__.py"]
        assert folders.read_many(expected) == merged.read_many(expected)
        assert [folders.side_of(p) for p in expected] == [merged.side_of(p) for p in expected]
    files.close()


def test_the_leaves_of_a_few_apps_are_those_of_the_whole_judgement(repo: GitRepo) -> None:
    feature, main, merge_base = three_way(repo)
    judge = Judge(repo.root, ".", "main", main, "")
    judge.scope_of_pull(feature, merge_base)
    assert judge.leaves(feature, main, merge_base, frozenset({"shop/migrations"})) == (
        ("store", (("0003_feat", "branch"), ("0003_main", "base"))),)
    full = judge.verdict(feature).report["check"]["conflicts"]
    assert [(c["app_label"], [(leaf["name"], leaf["side"]) for leaf in c["leaves"]])
            for c in full] == [("store", [("0003_feat", "branch"), ("0003_main", "base")])]
    judge.close()


def test_a_push_that_changes_nothing_for_a_pull_request_is_told_apart(repo: GitRepo) -> None:
    """main moves twice: a comment in shop's migration, then a new shop leaf."""
    feature, main = forked(repo)
    merge_base = git.merge_base(repo.root, feature, main)
    assert merge_base is not None
    repo.write("backend/shop/migrations/0001_initial.py", migration(extra="    # tidy\n"))
    tidy = repo.commit("tidy")
    repo.write("backend/shop/migrations/0003_more.py",
               migration([("shop", "0002_price_index")]))
    more = repo.commit("more")
    folders = frozenset({"backend/shop/migrations"})
    for before, after, unchanged in ((main, tidy, True), (tidy, more, False)):
        judge = Judge(repo.root, "backend", "main", after, before)
        assert judge.is_unchanged(feature, merge_base, folders) is unchanged
        assert judge.is_unchanged(feature, merge_base, None) is unchanged
        judge.close()


@pytest.mark.parametrize(
    ("payload", "branch", "since"),
    [
        pytest.param({"ref": "refs/heads/main", "before": "b" * 40, "after": "a" * 40},
                     "main", "b" * 40, id="a push to a branch"),
        pytest.param({"ref": "refs/heads/main", "before": "0" * 40, "after": "a" * 40,
                      "created": True}, "main", "", id="the branch was created"),
        pytest.param({"ref": "refs/heads/main", "before": "b" * 40, "after": "a" * 40,
                      "forced": True}, "main", "", id="its history was rewritten"),
        pytest.param({"ref": "refs/heads/main", "before": "b" * 40, "after": "0" * 40,
                      "deleted": True}, "", "b" * 40, id="the branch was deleted"),
        pytest.param({"ref": "refs/tags/v1", "before": "0" * 40, "after": "a" * 40}, "", "",
                     id="a tag"),
    ],
)
def test_what_a_push_moved(payload: dict[str, object], branch: str, since: str) -> None:
    event = Event.from_payload("push", payload)
    assert (event.pushed_branch, event.pushed_from) == (branch, since)
    assert Event.from_payload("pull_request", payload).pushed_branch == ""


def test_the_base_commit_that_added_a_leaf_is_found_from_the_report(repo: GitRepo) -> None:
    """As a pull request's own run finds it: from the report's head and base."""
    repo.write("shop/migrations/__init__.py", "")
    repo.write("shop/migrations/0001_initial.py", migration())
    repo.commit("initial")
    repo.branch("feature")
    repo.write("shop/migrations/0002_a.py", migration([("shop", "0001_initial")]))
    feature = repo.commit("a")
    repo.checkout("main")
    odd = "shop/migrations/:(glob)*.py"  # pathspec magic, if it were not taken literally
    repo.write(odd, migration([("shop", "0001_initial")]))
    added = repo.commit("odd")
    repo.write("README.md", "later\n")
    main = repo.commit("later")
    leaves = [{"name": "0002_a", "path": "shop/migrations/0002_a.py", "side": "branch"},
              {"name": ":(glob)*", "path": odd, "side": "base"}]
    report = {"base": {"ref": "main", "sha": main}, "head": {"sha": feature},
              "check": {"conflicts": [{"app_label": "shop", "leaves": leaves}]}}
    assert find_base_commits(repo.root, report) == {odd: added}
    assert find_base_commits(repo.root / "shop", {**report, "head": {"sha": "f" * 40}}) == {}
