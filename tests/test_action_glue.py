"""run_pr_report with small recording doubles for the API and the report source."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from migration_ci import action
from migration_ci.action import Event, Services, run_pr_report
from migration_ci.errors import ConfigError
from migration_ci.github import Comment, GitHubAPIError, PullRequest
from migration_ci.inputs import Inputs, RunContext
from migration_ci.workflow import Workflow
from tests.support import sample_report


class RecordingGitHub:
    """Answers like the API and records writes."""

    def __init__(self, comments: list[Comment] | None = None, refuse: int = 0) -> None:
        self.comments = comments or []
        self.writes: list[tuple[str, int, str]] = []
        self.refuse = refuse

    def identity(self) -> str:
        return "github-actions[bot]"

    def get_pull(self, number: int) -> PullRequest:
        return PullRequest(number, "h" * 40, "feature", "acme/shop", "main", "b" * 40,
                           "acme/shop", "open")

    def list_comments(self, number: int) -> list[Comment]:
        return self.comments

    def create_comment(self, number: int, body: str) -> Comment:
        if self.refuse:
            raise GitHubAPIError("refused", "grant it", self.refuse)
        self.writes.append(("create", number, body))
        return Comment(1, "github-actions[bot]", body, "https://c/1")

    def edit_comment(self, comment: Comment, body: str) -> Comment:
        self.writes.append(("edit", comment.id, body))
        return Comment(comment.id, comment.author, body, comment.url)


PR_EVENT = Event("pull_request", 5, "h" * 40, "feature", "acme/shop", "b" * 40, "main",
                 "acme/shop")


def run(tmp_path: Path, report: dict[str, Any], github: RecordingGitHub,
        event: Event = PR_EVENT, **inputs: Any) -> tuple[int, str, str]:
    stream, summary = io.StringIO(), tmp_path / "summary"
    services = Services(
        workflow=Workflow(str(tmp_path / "output"), str(summary), stream),
        build_report=lambda e: report, connect=lambda: github,
        commit_fix=lambda e, r: "fix: committed abc",
    )
    context = RunContext(workspace=str(tmp_path), repository="acme/shop", run_id="9")
    code = run_pr_report(Inputs(**inputs), context, event, services)
    return code, stream.getvalue(), summary.read_text() if summary.exists() else ""


@pytest.mark.parametrize(
    ("report", "fail_on_conflict", "expected"),
    [
        pytest.param(sample_report.conflicted(), True, 1, id="conflict fails"),
        pytest.param(sample_report.conflicted(), False, 0, id="conflict allowed"),
        pytest.param(sample_report.clean(), True, 0, id="clean"),
        pytest.param({**sample_report.clean(), "verify": {"ok": False}}, False, 1,
                     id="verify failure always fails"),
    ],
)
def test_exit_status(report: dict[str, Any], fail_on_conflict: bool, expected: int) -> None:
    assert action.exit_code(Inputs(fail_on_conflict=fail_on_conflict), report) == expected


def test_refused_comment_does_not_change_the_exit_status(tmp_path: Path) -> None:
    code, log, summary = run(tmp_path, sample_report.clean(), RecordingGitHub(refuse=403))
    assert code == 0
    code, log, summary = run(tmp_path, sample_report.conflicted(), RecordingGitHub(refuse=403))
    assert code == 1
    assert "::warning title=django-migration-ci::The pull request comment was not posted: " \
           "refused grant it" in log
    assert "## Django migrations: conflicting migrations in 1 app" in summary


def test_clean_pull_request_without_a_comment_posts_nothing(tmp_path: Path) -> None:
    github = RecordingGitHub()
    run(tmp_path, sample_report.clean(), github)
    assert github.writes == []


def test_unchanged_comment_is_not_edited_again(tmp_path: Path) -> None:
    github = RecordingGitHub()
    run(tmp_path, sample_report.conflicted(), github)
    [(_, _, body)] = github.writes
    github.comments = [Comment(1, "github-actions[bot]", body, "https://c/1")]
    run(tmp_path, sample_report.conflicted(), github)
    assert len(github.writes) == 1


def test_another_working_directory_gets_its_own_comment(tmp_path: Path) -> None:
    github = RecordingGitHub()
    run(tmp_path, sample_report.conflicted(), github)
    github.comments = [Comment(1, "github-actions[bot]", github.writes[0][2], "https://c/1")]
    backend = {**sample_report.conflicted(), "working_directory": "backend"}
    (tmp_path / "backend").mkdir()
    run(tmp_path, backend, github, working_directory="backend")
    assert [w[0] for w in github.writes] == ["create", "create"]


def test_commit_is_only_tried_on_same_repository_pull_requests(tmp_path: Path) -> None:
    fork = Event("pull_request", 5, "h" * 40, "feature", "fork/shop", "b" * 40, "main",
                 "acme/shop")
    github = RecordingGitHub()
    run(tmp_path, sample_report.conflicted(), github, fix="commit")
    run(tmp_path, sample_report.conflicted(), github, event=fork, fix="commit")
    assert "fix: committed abc" in github.writes[0][2]
    assert "fix: commit never pushes to a fork ('fork/shop')" in github.writes[1][2]


def test_merge_group_event() -> None:
    payload = {"merge_group": {"head_sha": "h" * 40, "head_ref": "gh-readonly-queue/main/pr-5",
                               "base_sha": "b" * 40, "base_ref": "refs/heads/main"}}
    event = Event.from_payload("merge_group", payload)
    assert (event.pull_number, event.base_ref, event.base_sha) == (None, "main", "b" * 40)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("[]", "is not a django-migration-ci report.", id="not an object"),
        pytest.param(json.dumps({"kind": action.ARTIFACT_KIND, "pull_request": True,
                                 "report": {"version": 1}}),
                     "is not a django-migration-ci report.", id="boolean PR number"),
        pytest.param(json.dumps({"kind": action.ARTIFACT_KIND, "pull_request": 5,
                                 "report": {"version": 2}}),
                     "is not a django-migration-ci report.", id="unknown version"),
        pytest.param("{", "is not JSON", id="not JSON"),
        pytest.param(" " * (action.MAX_ARTIFACT_BYTES + 1), "is over 5000000 bytes.",
                     id="oversize"),
    ],
)
def test_untrusted_artifacts_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / action.ARTIFACT_FILE
    path.write_text(content)
    with pytest.raises(ConfigError) as excinfo:
        action.read_artifact(path)
    assert message in excinfo.value.message
