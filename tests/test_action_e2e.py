"""entrypoint.py end to end: a subprocess with the runner's variables, a PR merge checkout, and
tests/fake_github.py as the API (through GITHUB_API_URL)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.action import ARTIFACT_FILE, ARTIFACT_KIND
from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.gitrepo import GitRepo, isolated_env, migration

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = REPO_ROOT / "entrypoint.py"
MARK = marker(".")


@dataclass
class Checkout:
    """A clone shaped like actions/checkout on pull_request: refs/pull/5/merge at depth 1."""

    workspace: Path
    origin: Path
    base_sha: str
    head_sha: str
    merge_sha: str


def make_checkout(tmp_path: Path, *, conflict: bool = True, clash: bool = False,
                  folders: tuple[str, ...] = (".",)) -> Checkout:
    """The shop app in each of ``folders`` (relative to the repository root): 0002_add_sku on
    the feature branch, 0002_price_index on main (with ``conflict``)."""
    author = GitRepo(tmp_path / "author")
    at = [("" if folder == "." else f"{folder}/") for folder in folders]
    for prefix in at:
        author.write(f"{prefix}shop/__init__.py", "")
        author.write(f"{prefix}shop/migrations/__init__.py", "")
        author.write(f"{prefix}shop/migrations/0001_initial.py", migration())
    author.commit("initial")
    author.branch("feature")
    for prefix in at:
        author.write(f"{prefix}shop/migrations/0002_add_sku.py",
                     migration([("shop", "0001_initial")]))
    if clash:
        author.write("VERSION", "feature\n")
    head = author.commit("add sku")
    author.checkout("main")
    for prefix in at:
        if conflict:
            author.write(f"{prefix}shop/migrations/0002_price_index.py",
                         migration([("shop", "0001_initial")]))
        else:
            author.write("README.md", "base moved on\n")
    if clash:
        author.write("VERSION", "main\n")
    base = author.commit("base moves on")
    if clash:  # a test merge whose text conflict was resolved by hand
        subprocess.run(["git", "merge", "-q", "feature"], cwd=author.root, env=isolated_env(),
                       capture_output=True, check=False)
        author.write("VERSION", "resolved\n")
        author.commit("Merge feature into main")
    else:
        author.git("merge", "--no-ff", "-q", "-m", "Merge feature into main", "feature")
    merge = author.git("rev-parse", "HEAD")
    author.git("reset", "-q", "--hard", base)
    return serve_checkout(tmp_path, author, base, head, merge)


def serve_checkout(tmp_path: Path, author: GitRepo, base: str, head: str, merge: str) -> Checkout:
    """Publish ``author`` as origin with refs/pull/5/merge, and check that out at depth 1."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(author.root), str(origin)],
                   check=True, env=isolated_env())
    bare = GitRepo.__new__(GitRepo)
    bare.root = origin
    bare.git("config", "uploadpack.allowAnySHA1InWant", "true")
    bare.git("update-ref", "refs/pull/5/merge", merge)
    workspace = GitRepo(tmp_path / "workspace")
    workspace.git("remote", "add", "origin", origin.as_uri())
    workspace.git("fetch", "-q", "--no-tags", "--depth=1", "origin",
                  "+refs/pull/5/merge:refs/remotes/pull/5/merge")
    workspace.git("checkout", "-q", "--detach", "refs/remotes/pull/5/merge")
    return Checkout(workspace.root, origin, base, head, merge)


def pull_event(checkout: Checkout, *, head_repo: str = "acme/shop",
               name: str = "pull_request") -> dict[str, Any]:
    repo = {"full_name": head_repo} if head_repo else None  # null: the fork was deleted
    return {"action": "synchronize", "number": 5, "pull_request": {
        "number": 5,
        "head": {"sha": checkout.head_sha, "ref": "feature", "repo": repo},
        "base": {"sha": checkout.base_sha, "ref": "main", "repo": {"full_name": "acme/shop"}},
    }, "repository": {"full_name": "acme/shop"}}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def run_action(tmp_path: Path, checkout: Checkout, fake: FakeGitHub, event: dict[str, Any],
               event_name: str = "pull_request", environ: dict[str, str] | None = None,
               **inputs: str) -> Run:
    event_path, output, summary = (tmp_path / n for n in ("event.json", "output", "summary"))
    event_path.write_text(json.dumps(event))
    for path in (output, summary):
        path.write_text("")
    env = {k: v for k, v in isolated_env().items()
           if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    env.update({
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_WORKSPACE": str(checkout.workspace), "GITHUB_SHA": checkout.merge_sha,
        "GITHUB_API_URL": fake.base_url, "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": "77", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_GITHUB-TOKEN": "ghs_app", "INPUT_WORKING-DIRECTORY": ".", "INPUT_FIX": "suggest",
        "INPUT_VERIFY": "false", "INPUT_COMMENT": "true", "INPUT_FAIL-ON-CONFLICT": "true",
        "INPUT_CACHE": "true", "INPUT_SETTINGS-MODULE": "", "INPUT_BASE-REF": "",
        "INPUT_DATABASE-URL": "", "INPUT_INSTALL-COMMAND": "", "INPUT_STRATEGY": "merge",
    })
    env.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
    env.update(environ or {})
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], cwd=checkout.workspace, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr, parse_outputs(output.read_text()),
               summary.read_text())


def parse_outputs(text: str) -> dict[str, str]:
    found, lines = {}, iter(text.splitlines())
    for line in lines:
        if m := re.fullmatch(r"([\w-]+)<<(\S+)", line):
            value = []
            for inner in lines:
                if inner == m[2]:
                    break
                value.append(inner)
            found[m[1]] = "\n".join(value)
        elif "=" in line:
            key, _, value = line.partition("=")
            found[key] = value
    return found


def make_example_checkout(tmp_path: Path) -> Checkout:
    """The bundled bookshop example as a pull request: feature (0007_add_sku) onto main."""
    from migration_ci.cli.demo import build_example_repo

    author = GitRepo.__new__(GitRepo)
    author.root = build_example_repo(tmp_path / "author")
    head = author.git("rev-parse", "feature")
    base = author.git("rev-parse", "main")
    author.checkout("main")
    author.git("merge", "--no-ff", "-q", "-m", "Merge feature into main", "feature")
    merge = author.git("rev-parse", "HEAD")
    author.git("reset", "-q", "--hard", base)
    return serve_checkout(tmp_path, author, base, head, merge)


def test_conflict_on_a_depth_1_merge_checkout_posts_one_comment(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    # GET /user answers 403 to the default token, as expected: nothing is logged for it.
    assert [r.path for r in fake.requests][:1] == ["/api/v3/user"]
    assert run.stderr == ""
    [posted] = fake.comments[5]
    assert posted["body"].startswith(MARK)
    assert "### App `shop`: 2 leaf migrations" in posted["body"]
    assert "- `0002_add_sku` from this pull request" in posted["body"]
    assert "- `0002_price_index` from the base branch" in posted["body"]
    assert f"against base `main` at `{checkout.base_sha[:12]}`" in posted["body"]
    assert "git add -- shop/migrations/0003_merge_0002_add_sku_0002_price_index.py" \
        in posted["body"]
    assert run.outputs == {
        "conflicts": "1", "conflicted-apps": "shop",
        "merge-migrations": "shop/migrations/0003_merge_0002_add_sku_0002_price_index.py",
        "plan-changed": "false", "comment-url": posted["html_url"],
        "risks": '{"high": 0, "medium": 0, "low": 0, "accepted": 0}',
    }
    assert "## Django migrations: conflicting migrations in 1 app" in run.summary
    assert "::error file=shop/migrations/0002_add_sku.py,line=1,title=Conflicting migration " \
           "leaf::Conflicting migrations in app 'shop': 0002_add_sku, 0002_price_index. Fix on " \
           "the pull request's branch: git merge origin/main && migration-ci fix\n" in run.stdout
    assert re.search(r"^::stop-commands::[0-9a-f]{32}$", run.stdout, re.M)
    envelope = json.loads((checkout.workspace / ARTIFACT_FILE).read_text())
    assert (envelope["kind"], envelope["pull_request"]) == (ARTIFACT_KIND, 5)
    assert all(r.path.startswith("/api/v3/") for r in fake.requests)


def test_sticky_comment_on_page_2_is_edited_and_a_quoting_comment_is_ignored(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    quoting = fake.add_comment(5, f"Why does the bot say {MARK}?", "octocat")
    for i in range(120):
        fake.add_comment(5, f"chatter {i}", "someone")
    sticky = fake.add_comment(5, f"{MARK}\nold report", "github-actions[bot]")
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr
    pages = [r.query.get("page", "1") for r in fake.requests if r.path.endswith("/comments")]
    assert pages == ["1", "2"]
    [write] = fake.writes()
    assert (write.method, write.path) == ("PATCH", f"/api/v3/repos/acme/shop/issues/comments/"
                                                   f"{sticky['id']}")
    assert quoting["body"] == f"Why does the bot say {MARK}?"
    assert "App `shop`" in sticky["body"]
    assert run.outputs["comment-url"] == sticky["html_url"]


def test_resolved_when_a_later_push_removes_the_conflict(tmp_path: Path, fake: FakeGitHub) -> None:
    checkout = make_checkout(tmp_path, conflict=False)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    sticky = fake.add_comment(5, f"{MARK}\nconflict!", "github-actions[bot]")
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 0, run.stderr
    assert "## Django migrations: resolved ✅" in sticky["body"]
    assert len(fake.comments[5]) == 1


def test_fork_with_a_read_only_token_keeps_the_report(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.fail("POST", r"/repos/acme/shop/issues/5/comments", 403)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout, head_repo="fork/shop"),
                     fix="commit")
    assert run.code == 1
    assert fake.comments[5] == []
    assert run.outputs["conflicts"] == "1"
    assert run.outputs["comment-url"] == ""
    assert "## Django migrations: conflicting migrations in 1 app" in run.summary
    assert "fix: commit never pushes to a fork (`fork/shop`)" in run.summary
    assert "::warning title=django-migration-ci::The pull request comment was not posted: " \
           "GitHub API refused to comment on pull request #5: HTTP 403 'Resource not " \
           "accessible by integration'. The token lacks a permission: give the job " \
           "'permissions%3A pull-requests%3A write'" not in run.stdout  # properties only
    assert "The token lacks a permission: give the job 'permissions: pull-requests: write'" \
        in run.stdout


def test_oversize_comment_is_refused_and_the_step_goes_on(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.max_body = 200
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1
    assert fake.comments[5] == []
    assert "HTTP 422 'Validation Failed: body is too long (maximum is 200 characters)'" \
        in run.stdout
    assert run.outputs["conflicted-apps"] == "shop"


def test_one_502_then_success_posts_once(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.fail("POST", r"/repos/acme/shop/issues/5/comments", 502, times=1)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr
    assert len(fake.comments[5]) == 1
    assert [w.method for w in fake.writes()] == ["POST", "POST"]


def test_fail_on_conflict_false_exits_0(tmp_path: Path, fake: FakeGitHub,
                                        checkout: Checkout) -> None:
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), **{"fail-on-conflict": "false",
                                                                        "comment": "false"})
    assert run.code == 0, run.stderr
    assert [r for r in fake.requests if "/issues/" in r.path or r.path.endswith("/user")] == []
    assert fake.latest_status(checkout.head_sha)["state"] == "failure"  # not a comment input


def test_pull_request_target_from_a_fork_refuses_to_load_the_project(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    (checkout.workspace / "shop" / "evil.py").write_text("raise SystemExit('ran fork code')\n")
    run = run_action(tmp_path, checkout, fake, pull_event(checkout, head_repo="fork/shop"),
                     event_name="pull_request_target",
                     **{"install-command": "touch INSTALLED"})
    assert run.code == 2
    assert not (checkout.workspace / "INSTALLED").exists()
    assert "Refusing to load the project: on pull_request_target the code of 'fork/shop' " \
           "would run with a token that can write to 'acme/shop'." in run.summary
    assert fake.requests == []


def test_bad_input_names_the_input(tmp_path: Path, fake: FakeGitHub, checkout: Checkout) -> None:
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), fix="push")
    assert run.code == 2
    assert "::error title=django-migration-ci::Input 'fix' is 'push', which is not allowed. " \
           "Use one of: suggest, commit, off." in run.stdout


def _workflow_run_event(head_sha: str, head_repo: str = "fork/shop") -> dict[str, Any]:
    return {"workflow_run": {"id": 99, "event": "pull_request", "head_sha": head_sha,
                             "head_repository": {"full_name": head_repo}, "pull_requests": []}}


def test_workflow_run_posts_the_artifact_as_data(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    first = run_action(tmp_path, checkout, fake, pull_event(checkout),
                       **{"comment": "false"})
    assert first.code == 1
    envelope = json.loads((checkout.workspace / ARTIFACT_FILE).read_text())
    envelope["report"]["check"]["conflicts"][0]["app_label"] = "shop`<img src=x>@octocat"
    (checkout.workspace / ARTIFACT_FILE).write_text(json.dumps(envelope))
    fake.pulls[5]["head"]["repo"]["full_name"] = "fork/shop"
    run = run_action(tmp_path, checkout, fake, _workflow_run_event(checkout.head_sha),
                     event_name="workflow_run")
    assert run.code == 0, run.stderr
    [posted] = fake.comments[5]
    assert "### App ``shop`<img src=x>@octocat``: 2 leaf migrations" in posted["body"]


def test_workflow_run_refuses_a_report_for_another_commit(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    run_action(tmp_path, checkout, fake, pull_event(checkout), **{"comment": "false"})
    run = run_action(tmp_path, checkout, fake, _workflow_run_event("f" * 40, "acme/shop"),
                     event_name="workflow_run")
    assert run.code == 0
    assert fake.comments[5] == []
    assert "Not posting: pull request #5 is at" in run.stdout


def test_fix_commit_merges_the_base_writes_the_merge_migration_and_pushes(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), fix="commit")
    assert run.code == 1, run.stderr
    pushed = subprocess.run(["git", "-C", str(checkout.origin), "ls-tree", "-r", "--name-only",
                             "feature", "shop/migrations"], capture_output=True, text=True,
                            check=True, env=isolated_env()).stdout.split()
    assert "shop/migrations/0003_merge_0002_add_sku_0002_price_index.py" in pushed
    assert "shop/migrations/0002_price_index.py" in pushed  # the base was merged in first
    body = fake.comments[5][0]["body"]
    assert "fix: committed" in body
    committed = subprocess.run(
        ["git", "-C", str(checkout.origin), "show",
         "feature:shop/migrations/0003_merge_0002_add_sku_0002_price_index.py"],
        capture_output=True, text=True, check=True, env=isolated_env()).stdout
    assert committed == body.split("```python\n")[1].split("```")[0]  # the file shown
    assert "Pushes made with the default GITHUB_TOKEN do not start new workflow runs" \
        in run.summary


def test_fix_commit_aborts_cleanly_on_git_conflicts(tmp_path: Path, fake: FakeGitHub) -> None:
    checkout = make_checkout(tmp_path, clash=True)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    before = subprocess.run(["git", "-C", str(checkout.origin), "rev-parse", "feature"],
                            capture_output=True, text=True, check=True).stdout
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), fix="commit")
    assert run.code == 1, run.stderr
    after = subprocess.run(["git", "-C", str(checkout.origin), "rev-parse", "feature"],
                           capture_output=True, text=True, check=True).stdout
    assert before == after
    assert "fix: commit stopped: merging `main` into `feature` has git conflicts, so the merge " \
           "was aborted and nothing was pushed." in run.summary
    status = subprocess.run(["git", "status", "--porcelain"], cwd=checkout.workspace,
                            capture_output=True, text=True, check=True).stdout
    assert status.split("\n") == [f"?? {ARTIFACT_FILE}", ""]


def test_comment_carries_verify_plan_sql_and_risk_of_a_real_project(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    checkout = make_example_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    before = sorted(p.name for p in checkout.workspace.rglob("*") if ".git" not in p.parts)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout),
                     verify="true", settings_module="bookshop.settings", cache="false")
    assert run.code == 1, run.stderr + run.stdout
    [posted] = fake.comments[5]
    body = posted["body"]
    assert "- `0007_add_sku` from this pull request" in body
    assert "- `0007_price_index` from the base branch" in body
    assert "### Verify on a fresh database: ✅ passed" in body
    assert "Database `sqlite " in body
    assert "### Migration plan on `sqlite`" in body
    assert ("+ shop.0007_add_sku\n"
            "+     Add field sku to product  [low risk: new-nullable-field]\n") in body
    assert "+ shop.0008_merge_0007_add_sku_0007_price_index" in body
    assert "SQL for <code>shop.0007_add_sku</code>" in body
    assert 'ALTER TABLE "shop_product" ADD COLUMN "sku" varchar(32) NULL;' in body
    assert run.outputs["plan-changed"] == "true"
    assert run.outputs["risks"] == '{"high": 0, "medium": 0, "low": 1, "accepted": 0}'
    after = sorted(p.name for p in checkout.workspace.rglob("*") if ".git" not in p.parts)
    assert [n for n in after if n not in before] == ["migration-ci-report.json"]


def test_without_a_settings_module_nothing_of_the_project_is_imported(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    """The example has a manage.py naming its settings, and the job sets DJANGO_SETTINGS_MODULE:
    with the input empty, the check is static and neither verify nor the plan runs."""
    checkout = make_example_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), verify="true",
                     environ={"DJANGO_SETTINGS_MODULE": "bookshop.settings"})
    assert run.code == 1, run.stderr + run.stdout
    report = json.loads((checkout.workspace / "migration-ci-report.json").read_text())["report"]
    assert (report["check"]["engine"], report["verify"], report["plan"]) == ("static", None, None)
    assert run.outputs["plan-changed"] == "false"
    assert "Verify on a fresh database" not in run.summary


def test_cache_input_restores_the_base_state_on_the_next_run(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    checkout = make_example_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    inputs = {"verify": "true", "settings_module": "bookshop.settings", "cache": "true"}
    environ = {"MIGRATION_CI_CACHE_DIR": ""}  # the Action's own choice, not the tests' folder
    first = run_action(tmp_path, checkout, fake, pull_event(checkout), environ=environ, **inputs)
    assert first.code == 1, first.stderr + first.stdout
    assert "Base state built from zero: `no snapshot for key " in first.summary
    first_body = fake.comments[5][0]["body"]
    cached = checkout.workspace / ".migration-ci-cache"
    assert [p.suffix for p in cached.iterdir() if p.is_file()] == [".snapshot"]
    # The parse and compiled-code caches travel in the same folder, readable by the runner.
    tool_caches = sorted(p.name.partition("-")[0] for p in (cached / "tool").iterdir())
    assert tool_caches == ["bytecode", "parse.marshal"]
    for path in [*cached.iterdir(), *(cached / "tool").iterdir()]:
        assert path.is_dir() or path.stat().st_mode & 0o777 == 0o644, path
    second = run_action(tmp_path, checkout, fake, pull_event(checkout), environ=environ, **inputs)
    assert second.code == 1, second.stderr + second.stdout
    # The snapshot and the phase times are the job summary's; the comment, which says only what
    # the commits decide, is not edited.
    [sticky] = fake.comments[5]
    assert sticky["body"] == first_body
    assert [w.method for w in fake.writes()] == ["POST"]
    assert "Base state restored from a snapshot: `restored from cache`." in second.summary
    assert "restore_base" in second.summary
    assert "restore_base" not in sticky["body"]


@pytest.mark.parametrize("workflow_sets_it", [False, True], ids=["default", "workflow's own"])
def test_tool_caches_go_where_the_cache_input_and_the_workflow_say(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout, workflow_sets_it: bool
) -> None:
    own = tmp_path / "own-cache"
    environ = {"MIGRATION_CI_CACHE_DIR": str(own) if workflow_sets_it else ""}
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), environ=environ)
    assert run.code == 1, run.stderr + run.stdout
    in_workspace = checkout.workspace / ".migration-ci-cache" / "tool" / "parse.marshal"
    assert in_workspace.is_file() is not workflow_sets_it
    assert (own / "parse.marshal").is_file() is workflow_sets_it
