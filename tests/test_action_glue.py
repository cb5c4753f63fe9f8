"""run_pr_report with small recording doubles for the API and the report source."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities import action
from migration_ci.activities.action import Event, Services, run_pr_report
from migration_ci.errors import ConfigError, GitError
from migration_ci.github.api import Comment, GitHubAPIError, PullRequest
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.github.workflow import Workflow
from migration_ci.report import comment
from migration_ci.report.status import Status
from tests.support import sample_report
from tests.test_comment import assert_structure_is_ours


class RecordingGitHub:
    """Answers like the API and records writes (commit statuses apart, in ``statuses``)."""

    def __init__(self, comments: list[Comment] | None = None, refuse: int = 0,
                 refuse_statuses: int = 0) -> None:
        self.comments = comments or []
        self.writes: list[tuple[str, int, str]] = []
        self.refuse = refuse
        self.refuse_statuses = refuse_statuses
        self.statuses: list[tuple[str, Status]] = []

    def get_status(self, sha: str, context: str) -> Status | None:
        if self.refuse_statuses:
            raise GitHubAPIError("refused", "grant it", self.refuse_statuses)
        return next((s for at, s in reversed(self.statuses)
                     if at == sha and s.context == context), None)

    def set_status(self, sha: str, status: Status, target_url: str = "") -> None:
        self.statuses.append((sha, status))

    def identity(self) -> str | None:
        return None  # GITHUB_TOKEN may not GET /user

    def get_pull(self, number: int) -> PullRequest:
        return PullRequest(number, "h" * 40, "feature", "acme/shop", "main", "b" * 40,
                           "acme/shop", "open")

    def list_comments(self, number: int) -> list[Comment]:
        return self.comments

    def create_comment(self, number: int, body: str) -> Comment:
        if self.refuse:
            raise GitHubAPIError("refused", "grant it", self.refuse)
        self.writes.append(("create", number, body))
        return Comment(1, "github-actions[bot]", body, "https://c/1", "Bot")

    def edit_comment(self, comment: Comment, body: str) -> Comment:
        self.writes.append(("edit", comment.id, body))
        return Comment(comment.id, comment.author, body, comment.url, comment.author_type)


PR_EVENT = Event("pull_request", 5, "h" * 40, "feature", "acme/shop", "b" * 40, "main",
                 "acme/shop")


def committed(event: Event, report: dict[str, Any]) -> str:
    return "fix: committed abc"


def run(tmp_path: Path, report: dict[str, Any], github: RecordingGitHub,
        event: Event = PR_EVENT, commit_fix: Any = committed, connect: Any = None,
        **inputs: Any) -> tuple[int, str, str]:
    stream, summary = io.StringIO(), tmp_path / "summary"
    services = Services(
        workflow=Workflow(str(tmp_path / "output"), str(summary), stream),
        build_report=lambda e: report, connect=connect or (lambda: github),
        commit_fix=commit_fix,
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
    github.comments = [Comment(1, "github-actions[bot]", body, "https://c/1", "Bot")]
    run(tmp_path, sample_report.conflicted(), github)
    assert len(github.writes) == 1


def test_another_working_directory_gets_its_own_comment(tmp_path: Path) -> None:
    github = RecordingGitHub()
    run(tmp_path, sample_report.conflicted(), github)
    github.comments = [Comment(1, "github-actions[bot]", github.writes[0][2], "https://c/1",
                               "Bot")]
    backend = {**sample_report.conflicted(), "working_directory": "backend"}
    (tmp_path / "backend").mkdir()
    run(tmp_path, backend, github, working_directory="backend")
    assert [w[0] for w in github.writes] == ["create", "create"]


def test_commit_is_only_tried_on_same_repository_pull_requests(tmp_path: Path) -> None:
    fork = Event("pull_request", 5, "h" * 40, "feature", "fork/shop", "b" * 40, "main",
                 "acme/shop")
    deleted = Event.from_payload("pull_request", {"pull_request": {
        "number": 5, "head": {"sha": "h" * 40, "ref": "feature", "repo": None},
        "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": "acme/shop"}}}})
    tried: list[Event] = []

    def commit_fix(event: Event, report: dict[str, Any]) -> str:
        tried.append(event)
        return "fix: committed abc"

    for event in (PR_EVENT, fork, deleted):
        github = RecordingGitHub()
        run(tmp_path, sample_report.conflicted(), github, event=event, commit_fix=commit_fix,
            fix="commit")
        [(_, _, body)] = github.writes
        note = {PR_EVENT: "fix: committed abc",
                fork: "fix: commit never pushes to a fork (`fork/shop`)",
                deleted: "fix: commit never pushes to a fork (`deleted`)"}[event]
        assert note in body
    assert tried == [PR_EVENT]


@pytest.mark.parametrize(
    ("head", "base", "repository", "trusted"),
    [
        pytest.param("acme/shop", "acme/shop", "acme/shop", True, id="same repository"),
        pytest.param("fork/shop", "acme/shop", "acme/shop", False, id="fork"),
        pytest.param("", "acme/shop", "acme/shop", False, id="deleted fork"),
        pytest.param("acme/shop", "acme/shop", "", False, id="no GITHUB_REPOSITORY"),
        pytest.param("other/shop", "other/shop", "acme/shop", False,
                     id="event of another repository"),
    ],
)
def test_only_the_repository_itself_is_trusted(head: str, base: str, repository: str,
                                               trusted: bool) -> None:
    event = Event("pull_request_target", 5, head_repository=head, base_repository=base)
    assert event.is_same_repository(repository) is trusted


def test_a_failed_commit_note_keeps_git_output_in_a_code_span(tmp_path: Path) -> None:
    def commit_fix(event: Event, report: dict[str, Any]) -> str:
        raise GitError("`git push` failed.", "stderr: ! [remote rejected] feature "
                       "<script>alert(1)</script> @octocat\n# Owned")

    github = RecordingGitHub()
    run(tmp_path, sample_report.conflicted(), github, commit_fix=commit_fix, fix="commit")
    [(_, _, body)] = github.writes
    assert "fix: commit failed, nothing was pushed: `` `git push` failed. stderr: ! [remote " \
           "rejected] feature <script>alert(1)</script> @octocat # Owned ``" in body
    assert_structure_is_ours(body)


def test_any_failure_of_the_comment_is_a_warning_after_the_outputs(tmp_path: Path) -> None:
    """An old PyGithub, say, whose GithubRetry lacks a keyword: the report stands."""
    def connect() -> RecordingGitHub:
        raise TypeError("__init__() got an unexpected keyword argument 'max_rate_limit_wait'")

    code, log, summary = run(tmp_path, sample_report.conflicted(), RecordingGitHub(),
                             connect=connect)
    assert code == 1
    assert "::warning title=django-migration-ci::The pull request comment was not posted: " \
           "unexpected TypeError: __init__() got an unexpected keyword argument " \
           "'max_rate_limit_wait'" in log
    assert (tmp_path / "output").read_text().splitlines() == [
        "conflicts=1", "conflicted-apps=shop",
        "merge-migrations=shop/migrations/0008_merge_0007_add_sku_0007_price_index.py",
        "plan-changed=true", 'risks={"high": 0, "medium": 0, "low": 1, "accepted": 0}',
        "comment-url="]
    assert summary.startswith("## Django migrations: conflicting migrations in 1 app")
    assert "> `The pull request comment was not posted: unexpected TypeError:" in summary


@pytest.mark.parametrize(
    ("comments", "found"),
    [
        pytest.param([Comment(1, "github-actions[bot]", "x\n" + comment.marker("."), "u", "Bot")],
                     None, id="marker not at the start"),
        pytest.param([Comment(1, "octocat", comment.marker(".") + "\n", "u", "User")],
                     None, id="a person's copy"),
        pytest.param([Comment(1, "migrations-bot[bot]", comment.marker("."), "u", "Bot")],
                     1, id="an app's comment"),
        pytest.param([Comment(1, "github-actions[bot]", comment.marker("backend"), "u", "Bot")],
                     None, id="another working directory"),
    ],
)
def test_find_sticky_without_an_identity(comments: list[Comment], found: int | None) -> None:
    sticky = action.find_sticky(comments, comment.marker("."), None)
    assert (sticky.id if sticky else None) == found


def test_find_sticky_with_an_identity_wants_that_author() -> None:
    mine = Comment(2, "octocat", comment.marker("."), "u", "User")
    app = Comment(1, "migrations-bot[bot]", comment.marker("."), "u", "Bot")
    assert action.find_sticky([app, mine], comment.marker("."), "octocat") == mine


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
        pytest.param("[" * 200_000 + "]" * 200_000, "is nested too deeply to be a report.",
                     id="nested deeper than the recursion limit"),
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


def test_workflow_run_uses_the_api_and_the_input_not_the_artifact(tmp_path: Path) -> None:
    report = sample_report.conflicted()
    report.update(working_directory="../elsewhere", base={"ref": "--upload-pack=x", "sha": "0"},
                  head={"sha": "0"})
    envelope = {"kind": action.ARTIFACT_KIND, "pull_request": 5, "report": report}
    (tmp_path / action.ARTIFACT_FILE).write_text(json.dumps(envelope))
    event = Event("workflow_run", run_head_sha="h" * 40, run_head_repository="acme/shop")
    github = RecordingGitHub()
    code, _, summary = run(tmp_path, {}, github, event=event)
    assert code == 0
    [(_, _, body)] = github.writes
    assert body.startswith(comment.marker(".") + "\n")
    assert f"Checked head `{'h' * 12}` against base `main` at `{'b' * 12}`." in body
    assert "upload-pack" not in body
    assert action.FROM_RUN_NOTE in body and action.FROM_RUN_NOTE in summary


def test_workflow_run_cannot_reach_the_api_and_warns(tmp_path: Path) -> None:
    envelope = {"kind": action.ARTIFACT_KIND, "pull_request": 5,
                "report": sample_report.conflicted()}
    (tmp_path / action.ARTIFACT_FILE).write_text(json.dumps(envelope))
    event = Event("workflow_run", run_head_sha="h" * 40, run_head_repository="acme/shop")

    def connect() -> RecordingGitHub:
        raise TypeError("__init__() got an unexpected keyword argument 'max_rate_limit_wait'")

    code, log, _ = run(tmp_path, {}, RecordingGitHub(), event=event, connect=connect)
    assert code == 0
    assert log == ("::warning title=django-migration-ci::Cannot read pull request #5: unexpected "
                   "TypeError: __init__() got an unexpected keyword argument "
                   "'max_rate_limit_wait'\n")
