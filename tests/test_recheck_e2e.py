"""entrypoint.py on a push to main: the open pull requests into main are judged again against the
new base, with real git (a bare origin serving refs/pull/N/head, a fork's included, and a depth-1
push checkout) and tests/fake_github.py as the API."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.gitrepo import GitRepo, isolated_env, migration
from tests.test_action_e2e import Checkout, Run, pull_event, run_action

pytestmark = pytest.mark.slow
MARK = marker(".")
STATUSES = r"/repos/acme/shop/(commits/[0-9a-f]+/status|statuses/[0-9a-f]+)"


@dataclass
class Pushed:
    """A push to main (``before`` -> ``after``) with open pull requests into main."""

    checkout: Checkout
    before: str
    after: str
    heads: dict[int, str]  # pull request number -> head sha
    blog_leaf_commit: str  # the commit on main that added blog/migrations/0002_a.py


def _app(repo: GitRepo, app: str) -> None:
    repo.write(f"{app}/__init__.py", "")
    repo.write(f"{app}/migrations/__init__.py", "")
    repo.write(f"{app}/migrations/0001_initial.py", migration())


def _pull(author: GitRepo, name: str, start: str, files: dict[str, str]) -> str:
    author.branch(name, start)
    for path, content in files.items():
        author.write(path, content)
    head = author.commit(f"{name}: change migrations")
    author.checkout("main")
    return head


def fork_code(tmp_path: Path) -> str:
    """Lines a fork puts in its migration: they leave a mark if anything imports the file."""
    return f"__import__('pathlib').Path({str(tmp_path / 'FORK_CODE_RAN')!r}).touch()\n"


def make_push(tmp_path: Path) -> Pushed:
    """main had blog/0002_a (so #4, which adds blog/0002_b, conflicted); the push adds
    shop/0002_price_index (so #1 and the fork's #2, which add shop/0002_*, now conflict) and
    removes blog/0002_a (so #4's conflict is resolved). #3 edits shop/0001 and stays clean;
    #5 only touches users, which the push did not; #6 is into another branch.

        main    initial ── blog/0002_a (before) ── push: +shop/0002_price_index -blog/0002_a
    """
    author = GitRepo(tmp_path / "author")
    for app in ("shop", "blog", "users"):
        _app(author, app)
    initial = author.commit("initial")
    author.write("blog/migrations/0002_a.py", migration([("blog", "0001_initial")]))
    blog_leaf = author.commit("blog: 0002_a")
    dep = {app: migration([(app, "0001_initial")]) for app in ("shop", "blog", "users")}
    heads = {
        1: _pull(author, "sku", initial, {"shop/migrations/0002_add_sku.py": dep["shop"]}),
        2: _pull(author, "fork-tags", initial, {"shop/migrations/0002_tags.py": fork_code(
            tmp_path) + dep["shop"]}),
        3: _pull(author, "tidy", initial, {"shop/migrations/0001_initial.py":
                                           migration(extra="    initial = True\n\n")}),
        4: _pull(author, "blog-b", blog_leaf, {"blog/migrations/0002_b.py": dep["blog"]}),
        5: _pull(author, "users", initial, {"users/migrations/0002_x.py": dep["users"]}),
        6: _pull(author, "elsewhere", initial, {"shop/migrations/0002_other.py": dep["shop"]}),
    }
    before = author.git("rev-parse", "HEAD")
    author.write("shop/migrations/0002_price_index.py", dep["shop"])
    author.remove("blog/migrations/0002_a.py")
    after = author.commit("shop: 0002_price_index; blog: revert 0002_a")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(author.root), str(origin)],
                   check=True, env=isolated_env())
    bare = GitRepo.__new__(GitRepo)
    bare.root = origin
    bare.git("config", "uploadpack.allowAnySHA1InWant", "true")
    for number, head in heads.items():
        bare.git("update-ref", f"refs/pull/{number}/head", head)
    bare.git("branch", "-D", "fork-tags")  # a fork's commit is on refs/pull/2/head only
    workspace = GitRepo(tmp_path / "workspace")
    workspace.git("remote", "add", "origin", origin.as_uri())
    workspace.git("fetch", "-q", "--no-tags", "--depth=1", "origin", after)
    workspace.git("checkout", "-q", "--detach", after)
    checkout = Checkout(workspace.root, origin, before, after, after)
    return Pushed(checkout, before, after, heads, blog_leaf)


def open_pulls(fake: FakeGitHub, pushed: Pushed) -> None:
    """The pull requests on the fake, with what their own runs left: statuses, #4's comment."""
    refs = {1: "sku", 2: "fork-tags", 3: "tidy", 4: "blog-b", 5: "users", 6: "elsewhere"}
    for number, head in pushed.heads.items():
        fake.add_pull(number, head_sha=head, base_sha=pushed.before, head_ref=refs[number],
                      base_ref="develop" if number == 6 else "main",
                      head_repo="fork/shop" if number == 2 else None)
    for number in (1, 3, 5):
        fake.add_status(pushed.heads[number], "success", "No conflicting migrations")
    fake.add_status(pushed.heads[4], "failure", "Conflicting migrations in blog: 0002_b vs "
                                                "0002_a from main")
    fake.add_comment(4, f"{MARK}\n## Django migrations: conflicting migrations in 1 app",
                     "github-actions[bot]")
    fake.per_page_max = 2  # five pull requests into main: three pages


def push_again(pushed: Pushed, files: dict[str, str]) -> Pushed:
    """Another push to main on top of ``pushed``, checked out at depth 1 as on a push."""
    author = GitRepo.__new__(GitRepo)
    author.root = pushed.checkout.origin.parent / "author"
    for path, content in files.items():
        author.write(path, content)
    after = author.commit("another push")
    author.git("push", "-q", str(pushed.checkout.origin), "main")
    workspace = GitRepo.__new__(GitRepo)
    workspace.root = pushed.checkout.workspace
    workspace.git("fetch", "-q", "--no-tags", "--depth=1", "origin", after)
    workspace.git("checkout", "-q", "--detach", after)
    checkout = Checkout(workspace.root, pushed.checkout.origin, pushed.after, after, after)
    return Pushed(checkout, pushed.after, after, pushed.heads, pushed.blog_leaf_commit)


def push_event(pushed: Pushed) -> dict[str, Any]:
    return {"ref": "refs/heads/main", "before": pushed.before, "after": pushed.after,
            "forced": False, "created": False, "deleted": False,
            "repository": {"full_name": "acme/shop"}}


def run_push(tmp_path: Path, pushed: Pushed, fake: FakeGitHub, **inputs: str) -> Run:
    return run_action(tmp_path, pushed.checkout, fake, push_event(pushed), event_name="push",
                      environ={"GITHUB_SHA": pushed.after}, **inputs)


@pytest.fixture
def pushed(tmp_path: Path, fake: FakeGitHub) -> Pushed:
    pushed = make_push(tmp_path)
    open_pulls(fake, pushed)
    return pushed


def test_a_push_rechecks_the_open_pull_requests_it_may_have_changed(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    run = run_push(tmp_path, pushed, fake)
    assert run.code == 0, run.stderr + run.stdout
    pages = [r.query.get("page", "1") for r in fake.requests if r.path.endswith("/pulls")]
    assert pages == ["1", "2", "3"]
    assert {r.query.get("base") for r in fake.requests if r.path.endswith("/pulls")} == {"main"}
    short = pushed.after[:12]
    price_index = f"0002_price_index from main {short}"
    assert fake.latest_status(pushed.heads[1]) | {"id": 0} == {
        "id": 0, "state": "failure", "context": "django-migration-ci",
        "description": f"Conflicting migrations in shop: 0002_add_sku vs {price_index}",
        "target_url": "https://github.test/acme/shop/actions/runs/77",
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
    assert fake.latest_status(pushed.heads[2])["description"] == \
        f"Conflicting migrations in shop: 0002_tags vs {price_index}"
    assert fake.latest_status(pushed.heads[4])["state"] == "success"
    assert fake.latest_status(pushed.heads[4])["description"] == \
        f"No conflicting migrations when merged with main at {short}"
    assert len(fake.statuses[pushed.heads[3]]) == len(fake.statuses[pushed.heads[5]]) == 1

    [sku] = fake.comments[1]
    assert sku["body"].startswith(MARK + "\n")
    assert "### App `shop`: 2 leaf migrations" in sku["body"]
    assert "- `0002_add_sku` from this pull request (`shop/migrations/0002_add_sku.py`)" \
        in sku["body"]
    assert "- `0002_price_index` from the base branch (`shop/migrations/0002_price_index.py`)" \
        in sku["body"]
    assert f"Checked head `{pushed.heads[1][:12]}` against base `main` at `{short}`." \
        in sku["body"]
    assert "git fetch origin -- main\ngit merge --no-edit -- origin/main\nmigration-ci fix " \
           "--no-header\ngit add -- shop/migrations/0003_merge_0002_add_sku_0002_price_index.py\n" \
        in sku["body"]
    assert (f"The base branch `main` moved to `{short}`: this pull request was judged again, "
            "merged with it, statically (nothing of the pull request was checked out or run). "
            f"`0002_price_index` came to `main` with {pushed.after}.") in sku["body"]
    [fork] = fake.comments[2]
    assert "- `0002_tags` from this pull request" in fork["body"]
    assert not (tmp_path / "FORK_CODE_RAN").exists()  # judged from git objects, never imported
    [resolved] = fake.comments[4]
    assert resolved["body"].startswith(MARK + "\n\n## Django migrations: resolved ✅")
    assert fake.comments[3] == fake.comments[5] == fake.comments[6] == []

    assert "## Pull requests rechecked after the push to `main`" in run.summary
    assert ("4 of 5 open pull requests into `main` change migrations folders this push "
            f"changed; they were judged again, merged with `{short}`, statically.") in run.summary
    assert f"| #1 | conflicting migrations in `shop` | set: failure | [comment]" \
           f"({sku['html_url']}) |" in run.summary
    assert "| #3 | as before the push | unchanged by this push | — |" in run.summary
    assert f"| #4 | no conflicts | set: success | [comment]({resolved['html_url']}) |" \
        in run.summary
    assert "Not judged, as this push changed none of their migrations folders: #5." \
        in run.summary
    assert "::warning" not in run.stdout


def test_a_second_run_with_nothing_new_changes_nothing(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    first = run_push(tmp_path, pushed, fake)
    assert first.code == 0, first.stderr + first.stdout
    writes = len(fake.writes()) + len(fake.status_writes())
    assert writes == 3 + 3  # comments on #1, #2, #4; statuses of #1, #2, #4
    second = run_push(tmp_path, pushed, fake)
    assert second.code == 0, second.stderr + second.stdout
    assert len(fake.writes()) + len(fake.status_writes()) == writes
    assert "| #1 | conflicting migrations in `shop` | already said so | — |" in second.summary
    assert "| #4 | no conflicts | already said so | — |" in second.summary


def test_without_statuses_write_a_warning_and_the_comments_still_follow(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    fake.fail("GET", STATUSES, 403)
    fake.fail("POST", STATUSES, 403)
    run = run_push(tmp_path, pushed, fake)
    assert run.code == 0, run.stderr + run.stdout
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert warnings == [
        "::warning title=django-migration-ci::The commit status was not set: GitHub API refused "
        f"to read the commit status of {pushed.heads[1][:12]}: HTTP 403 'Resource not "
        "accessible by integration'. Give the job 'permissions: statuses: write' (README: "
        "\"Commit status\"); the report, the comment and the outputs do not depend on it."]
    assert len([r for r in fake.requests if "status" in r.path]) == 1  # asked once, not again
    assert [len(fake.comments[n]) for n in (1, 2, 4)] == [1, 1, 1]
    assert "## Django migrations: resolved ✅" in fake.comments[4][0]["body"]
    assert "| #1 | conflicting migrations in `shop` | not set | [comment]" in run.summary


def test_a_push_that_changes_no_migrations_asks_github_nothing(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    pushed = push_again(pushed, {"README.md": "The shop.\n"})
    run = run_push(tmp_path, pushed, fake)
    assert run.code == 0, run.stderr + run.stdout
    assert fake.requests == []
    assert "The push changed no migration files, so no pull request's merge can have " \
           "changed: nothing to recheck." in run.summary


def test_the_limit_says_what_it_left_out(tmp_path: Path, fake: FakeGitHub,
                                         pushed: Pushed) -> None:
    run = run_push(tmp_path, pushed, fake, **{"recheck-limit": "1"})
    assert run.code == 0, run.stderr + run.stdout
    assert "::warning title=django-migration-ci::Rechecked 1 of 4 pull requests; not " \
           "rechecked, over 'recheck-limit' (1): #2, #3, #4." in run.stdout
    assert [n for n in (1, 2, 3, 4) if fake.comments[n]] == [1, 4]  # #4: its old comment
    assert fake.comments[4][0]["body"].endswith("conflicting migrations in 1 app")


def test_recheck_pull_requests_false_leaves_them_alone(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    run = run_push(tmp_path, pushed, fake, **{"recheck-pull-requests": "false"})
    assert run.code == 0, run.stderr + run.stdout
    assert fake.requests == []
    assert "rechecked" not in run.summary


def test_the_pull_requests_own_run_sets_the_same_context(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    """So the context can be a required check: the recheck keeps up to date what it set."""
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    assert [(s["context"], s["state"], s["description"], s["target_url"])
            for s in fake.statuses[checkout.head_sha]] == [
        ("django-migration-ci", "failure", "Conflicting migrations in shop: 0002_add_sku vs "
         f"0002_price_index from main {checkout.base_sha[:12]}",
         "https://github.test/acme/shop/actions/runs/77")]
    again = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert again.code == 1, again.stderr + again.stdout
    assert len(fake.statuses[checkout.head_sha]) == 1


def test_github_failing_stops_the_writing_and_says_what_was_left(
    tmp_path: Path, fake: FakeGitHub, pushed: Pushed
) -> None:
    """Not the permission: GitHub itself. The rest would fail the same way."""
    fake.fail("POST", r"/repos/acme/shop/issues/1/comments", 502)
    run = run_push(tmp_path, pushed, fake)
    assert run.code == 0, run.stderr + run.stdout
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert warnings == [
        "::warning title=django-migration-ci::Stopped writing: GitHub API refused to comment on "
        "pull request #1: HTTP 502 'Bad Gateway'. GitHub failed; retries are exhausted. Run the "
        "job again. Left as they were: #1, #2, #4."]
    assert [fake.latest_status(pushed.heads[n])["state"] for n in (1, 4)] == ["success",
                                                                             "failure"]
    # Posted once, looked for, posted again (GitHub may have made it before the 502): no more.
    assert [(w.method, w.path) for w in fake.writes() + fake.status_writes()] == [
        ("POST", "/api/v3/repos/acme/shop/issues/1/comments")] * 2
    assert "| #2 | conflicting migrations in `shop` | not set | not posted |" in run.summary
