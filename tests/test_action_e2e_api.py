"""entrypoint.py end to end against what the API and the remote do: GitHub App tokens, 502s on
the comment's POST and PATCH, and the push of ``fix: commit`` with the ``github-token`` input."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.gitrepo import isolated_env
from tests.test_action_e2e import Checkout, pull_event, run_action

pytestmark = pytest.mark.slow
MARK = marker(".")
COMMENTS = r"/repos/acme/shop/issues/5/comments"


def test_a_github_app_token_keeps_one_comment(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    """An App's installation token may not GET /user and comments as <slug>[bot]."""
    fake.add_comment(5, MARK + "\nsomeone's copy of an old report", "octocat")
    fake.add_comment(5, "see " + MARK, "other-bot[bot]")
    token = {"github-token": "ghs_custom_app"}
    for _ in range(2):
        run = run_action(tmp_path, checkout, fake, pull_event(checkout), **token)
        assert run.code == 1, run.stderr + run.stdout
    [ours] = [c for c in fake.comments[5] if c["user"]["login"] == "migrations-bot[bot]"]
    assert [w.method for w in fake.writes()] == ["POST"]
    ours["body"] = MARK + "\nan older report"
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), **token)
    assert [w.method for w in fake.writes()] == ["POST", "PATCH"]
    assert "App `shop`" in ours["body"]
    assert len(fake.comments[5]) == 3
    assert fake.comments[5][0]["body"] == MARK + "\nsomeone's copy of an old report"
    assert run.outputs["comment-url"] == ours["html_url"]


def test_a_502_after_github_created_the_comment_does_not_post_it_twice(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.fail("POST", COMMENTS, 502, times=1, after=True)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    [posted] = fake.comments[5]
    assert posted["body"].startswith(MARK)
    assert [w.method for w in fake.writes()] == ["POST"]
    assert run.outputs["comment-url"] == posted["html_url"]


def test_a_502_before_github_created_the_comment_posts_it_once(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.fail("POST", COMMENTS, 502, times=1)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    assert len(fake.comments[5]) == 1
    assert [w.method for w in fake.writes()] == ["POST", "POST"]


def test_a_502_on_the_edit_is_retried(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    sticky = fake.add_comment(5, MARK + "\nan older report", "github-actions[bot]")
    fake.fail("PATCH", rf"/repos/acme/shop/issues/comments/{sticky['id']}", 502, times=1)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    assert [w.method for w in fake.writes()] == ["PATCH", "PATCH"]
    assert "App `shop`" in sticky["body"]
    assert run.outputs["comment-url"] == sticky["html_url"]


def git_logger(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A ``git`` first on PATH that logs its argv (one JSON list per line), then runs git."""
    bin_dir, log = tmp_path / "bin", tmp_path / "git-argv.jsonl"
    bin_dir.mkdir()
    real = shutil.which("git")
    (bin_dir / "git").write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"os.execv({real!r}, ['git', *sys.argv[1:]])\n")
    (bin_dir / "git").chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def pushes(log: Path) -> list[list[str]]:
    return [argv for argv in map(json.loads, log.read_text().splitlines()) if "push" in argv]


HEADER_KEY = "http.https://github.test/.extraheader"
BASIC = base64.b64encode(b"x-access-token:ghs_app").decode()


def test_fix_commit_pushes_with_the_github_token_input(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    environ, log = git_logger(tmp_path)
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), environ=environ,
                     fix="commit")
    assert run.code == 1, run.stderr + run.stdout
    assert pushes(log) == [["-c", f"{HEADER_KEY}=", "-c",
                            f"{HEADER_KEY}=AUTHORIZATION: basic {BASIC}",
                            "push", "-q", "origin", "HEAD:refs/heads/feature"]]
    shown = run.stdout + run.stderr + run.summary + fake.comments[5][0]["body"]
    assert "fix: committed `" in shown
    assert BASIC not in shown and "ghs_app" not in shown


def test_a_refused_push_names_no_credentials(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    hook = checkout.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = subprocess.run(["git", "-C", str(checkout.origin), "rev-parse", "feature"],
                            capture_output=True, text=True, check=True, env=isolated_env()).stdout
    run = run_action(tmp_path, checkout, fake, pull_event(checkout), fix="commit")
    assert run.code == 1, run.stderr + run.stdout
    after = subprocess.run(["git", "-C", str(checkout.origin), "rev-parse", "feature"],
                           capture_output=True, text=True, check=True, env=isolated_env()).stdout
    assert before == after
    body = fake.comments[5][0]["body"]
    assert "fix: commit failed, nothing was pushed: `" in body
    assert f"{HEADER_KEY}=AUTHORIZATION: basic ***" in body
    assert "protected branch" in body
    shown = run.stdout + run.stderr + run.summary + body
    assert BASIC not in shown and "ghs_app" not in shown
