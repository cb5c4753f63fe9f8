"""The pr-report activity of the GitHub Action: report, outputs, summary, annotations, comment.

One function, ``run_pr_report``; everything it touches (git, the project, the GitHub API, the
runner's files) comes in through ``Services`` so tests can hand in real or small fakes.
The report document is the interface: everything GitHub-facing is rendered from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from migration_ci.activities import statuses
from migration_ci.activities.action_risks import failing_risks, risk_annotations, risk_counts
from migration_ci.activities.action_risks import repo_path as repo_path  # fix: commit uses it
from migration_ci.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    ConfigError,
    GitHubError,
    MigrationCIError,
)
from migration_ci.github.api import Comment, GitHubAPIError, PullRequest
from migration_ci.github.event import Event, as_mapping
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.github.workflow import Annotation, Workflow
from migration_ci.report import comment
from migration_ci.report.fix_section import fix_hint
from migration_ci.report.status import describe

ARTIFACT_FILE = "migration-ci-report.json"
ARTIFACT_KIND = "django-migration-ci/pr-report"
MAX_ARTIFACT_BYTES = 5_000_000
FORK_PATTERN = 'README: "Pull requests from forks"'
FROM_RUN_NOTE = (
    "This report was made by the pull request's own `pull_request` run and posted by a "
    "`workflow_run` workflow; the base, head and working directory shown were read from the "
    "API and this workflow, not from the report.")
TOKEN_PUSH_NOTE = (
    "Pushes made with the default GITHUB_TOKEN do not start new workflow runs, so checks will "
    "not run on this commit: push a new commit, or pass a GitHub App or personal access token "
    "as 'github-token' (and to actions/checkout) to have them run.")


class GitHubPort(statuses.StatusPort, Protocol):
    def identity(self) -> str | None: ...
    def get_pull(self, number: int) -> PullRequest: ...
    def list_comments(self, number: int) -> list[Comment]: ...
    def create_comment(self, number: int, body: str) -> Comment: ...
    def edit_comment(self, comment: Comment, body: str) -> Comment: ...


@dataclass(frozen=True)
class Services:
    workflow: Workflow
    build_report: Callable[[Event], dict[str, Any]]  # fetches what it needs, runs the tool
    connect: Callable[[], GitHubPort]  # the API client; may raise GitHubError
    commit_fix: Callable[[Event, dict[str, Any]], str]  # pushes the fix; returns a note
    # The base commit that added each conflicting leaf from the base, by path (git log).
    find_base_commits: Callable[[Mapping[str, Any]], dict[str, str]] = lambda report: {}


def run_pr_report(inputs: Inputs, context: RunContext, event: Event, services: Services) -> int:
    """The whole Action; returns the step's exit code (README: "Exit status")."""
    if event.name == "workflow_run":
        return post_from_artifact(inputs, context, event, services)
    workflow = services.workflow
    if event.name == "pull_request_target" and not event.is_same_repository(context.repository):
        message = (f"Refusing to load the project: on pull_request_target the code of "
                   f"{event.head_owner} would run with a token that can write to "
                   f"'{context.repository or event.base_repository}'. Run "
                   f"django-migration-ci on pull_request and post its report from a "
                   f"workflow_run workflow ({FORK_PATTERN}).")
        workflow.annotate(Annotation("error", message, title="django-migration-ci"))
        workflow.write_summary(f"## Django migrations: not checked\n\n{message}\n")
        return EXIT_BAD_INPUT
    report = services.build_report(event)
    notes = [n for n in [deliver_fix(inputs, context, event, report, services)] if n]
    publish(inputs, context, report, notes, workflow)
    if event.pull_number is not None:
        write_artifact(Path(context.workspace, inputs.working_directory), event, report)
    finish(inputs, context, event.pull_number, report, notes, services)
    if event.name in STATUS_EVENTS and event.head_sha:
        set_status(context, event, report, services)
    return exit_code(inputs, report)


STATUS_EVENTS = ("pull_request", "pull_request_target", "merge_group")


def set_status(context: RunContext, event: Event, report: dict[str, Any],
               services: Services) -> None:
    """The commit status on the head (a merge queue requires it on the queue's commit), as the
    recheck sets it after a push to the base."""
    if event.name == "pull_request" and not event.is_same_repository(context.repository):
        services.workflow.print("The commit status is left to the recheck after pushes to the "
                                "base: a pull request from a fork runs with a read-only token.")
        return
    wanted = describe(report, services.find_base_commits(report))
    statuses.publish(services.connect, services.workflow, event.head_sha, wanted, context.run_url)


def finish(inputs: Inputs, context: RunContext, number: int | None, report: dict[str, Any],
           notes: list[str], services: Services) -> None:
    """Outputs first, so nothing the API does can cost them; then the comment and its URL."""
    results = outputs(report, "")
    services.workflow.set_outputs({k: v for k, v in results.items() if k != "comment-url"})
    url = ""
    if inputs.comment and number is not None:
        url = post_comment(services, number, report, context, notes=notes,
                           strategy=inputs.strategy)
    services.workflow.set_outputs({"comment-url": url})


def deliver_fix(inputs: Inputs, context: RunContext, event: Event, report: dict[str, Any],
                services: Services) -> str:
    """A note (Markdown, values in code spans) on what ``fix: commit`` did; "" when nothing."""
    if inputs.fix != "commit" or not comment.conflicts(report):
        return ""
    if event.name != "pull_request" or event.pull_number is None:
        return f"fix: commit works on pull_request events only, not {comment.code(event.name)}; " \
               "see the suggested merge migration below."
    if not event.is_same_repository(context.repository):
        return (f"fix: commit never pushes to a fork "
                f"({comment.code(event.head_repository or 'deleted')}); apply the suggested "
                "merge migration below.")
    try:
        return services.commit_fix(event, report)
    except MigrationCIError as exc:  # git conflicts, a refused push: report, keep the report
        return f"fix: commit failed, nothing was pushed: {comment.code(exc, 1000)}"


def exit_code(inputs: Inputs, report: Mapping[str, Any]) -> int:
    if comment.verify_failed(report):
        return EXIT_FINDINGS
    if inputs.fail_on_conflict and comment.conflicts(report):
        return EXIT_FINDINGS
    if failing_risks(inputs, report):
        return EXIT_FINDINGS
    return EXIT_OK


def outputs(report: Mapping[str, Any], comment_url: str) -> dict[str, str]:
    conflicts = comment.conflicts(report)
    merges = [str(comment.as_dict(c.get("merge_file")).get("path") or "") for c in conflicts]
    plan = comment.as_dict(report.get("plan"))
    return {
        "conflicts": str(len(conflicts)),
        "conflicted-apps": ",".join(comment.conflicted_apps(report)),
        "merge-migrations": "\n".join(p for p in merges if p),
        "plan-changed": "true" if comment.as_list(plan.get("entries")) else "false",
        "comment-url": comment_url,
        "risks": json.dumps(risk_counts(report)),
    }


def find_annotations(report: Mapping[str, Any], working_directory: str) -> list[Annotation]:
    def at(path: object) -> str:
        return repo_path(working_directory, path)

    found = []
    base = comment.as_dict(report.get("base"))
    for conflict in comment.conflicts(report):
        names = [comment.as_text(comment.as_dict(leaf).get("name"))
                 for leaf in comment.as_list(conflict.get("leaves"))]
        for leaf in map(comment.as_dict, comment.as_list(conflict.get("leaves"))):
            found.append(Annotation(
                "error", f"Conflicting migrations in app '{conflict.get('app_label')}': "
                         f"{', '.join(names)}. {fix_hint(conflict, base)}",
                file=at(leaf.get("path")), line=1, title="Conflicting migration leaf"))
    failure = comment.as_dict(comment.as_dict(report.get("verify")).get("failure"))
    if failure:
        found.append(Annotation("error", f"Migration failed ({failure.get('direction')}): "
                                         f"{failure.get('error')}",
                                file=at(failure.get("path")), line=1, title="Verify failed"))
    return found


def publish(inputs: Inputs, context: RunContext, report: dict[str, Any], notes: list[str],
            workflow: Workflow) -> None:
    """Job summary, annotations and the log: they never depend on the API."""
    summary = comment.render_summary(report, notes=notes, base_ref=_base_ref(report),
                                     strategy=inputs.strategy)
    workflow.write_summary(summary)
    for annotation in find_annotations(report, inputs.working_directory):
        workflow.annotate(annotation)
    for annotation in risk_annotations(inputs, report):
        workflow.annotate(annotation)
    workflow.print_untrusted(summary)


def _base_ref(report: Mapping[str, Any]) -> str:
    return comment.as_text(comment.as_dict(report.get("base")).get("ref"))


def find_sticky(comments: list[Comment], mark: str, login: str | None) -> Comment | None:
    """Our comment: it opens with the marker and is written by this token's identity, or, when
    the token may not read its user (an installation token), by a bot: GITHUB_TOKEN writes as
    github-actions[bot], a GitHub App as <slug>[bot]."""
    def ours(c: Comment) -> bool:
        return c.author == login if login else c.author_type == "Bot"

    return next((c for c in comments if c.body.startswith(mark) and ours(c)), None)


def post_comment(services: Services, number: int, report: dict[str, Any],
                 context: RunContext, *, notes: list[str], strategy: str) -> str:
    """Create, update or resolve the sticky comment. This is the step's boundary with the API:
    whatever fails here becomes a warning, and the report, outputs and exit status stand."""
    try:
        return sync_comment(services.connect(), number, report, context, notes, strategy)
    except GitHubError as exc:
        message = f"The pull request comment was not posted: {exc}"
    except Exception as exc:  # the boundary (see the docstring): a bug here must not cost more
        message = (f"The pull request comment was not posted: unexpected "
                   f"{type(exc).__name__}: {exc}")
    services.workflow.annotate(Annotation("warning", message, title="django-migration-ci"))
    services.workflow.write_summary(f"> [!WARNING]\n> {comment.code(message, 2000)}\n")
    return ""


def sync_comment(github: GitHubPort, number: int, report: dict[str, Any], context: RunContext,
                 notes: list[str], strategy: str) -> str:
    login = github.identity()
    mark = comment.marker(report.get("working_directory"))
    sticky = find_sticky(github.list_comments(number), mark, login)
    if comment.has_findings(report):
        body = comment.render_comment(report, notes=notes, summary_url=context.run_url,
                                      base_ref=_base_ref(report), strategy=strategy)
    elif sticky is not None:
        body = comment.render_resolved(report, summary_url=context.run_url)
    else:
        return ""
    if sticky is None:
        sticky = _create(github, number, body, mark, login)
    if comment.same_report(sticky.body, body):
        return sticky.url  # unchanged but for the link to this run: no edit, no "edited" mark
    return github.edit_comment(sticky, body).url


def _create(github: GitHubPort, number: int, body: str, mark: str, login: str | None) -> Comment:
    """POST once; after a 5xx or no answer GitHub may still have created it, so look first."""
    try:
        return github.create_comment(number, body)
    except GitHubAPIError as exc:
        if not exc.is_transient:
            raise
        found = find_sticky(github.list_comments(number), mark, login)
        return found if found is not None else github.create_comment(number, body)


def write_artifact(directory: Path, event: Event, report: dict[str, Any]) -> Path:
    """The report for a workflow_run workflow to post (README: "Pull requests from forks")."""
    path = directory / ARTIFACT_FILE
    envelope = {"kind": ARTIFACT_KIND, "pull_request": event.pull_number,
                "head_sha": event.head_sha, "report": report}
    path.write_text(json.dumps(envelope, indent=1) + "\n", encoding="utf-8")
    return path


def read_artifact(path: Path) -> tuple[int, dict[str, Any]]:
    """The PR number and report from an untrusted artifact: size-capped, shape-checked, data."""
    if not path.is_file():
        raise ConfigError(f"No report artifact at '{path}'.", "Download the 'migration-ci-report' "
                          "artifact of the triggering run into the working directory first.")
    if path.stat().st_size > MAX_ARTIFACT_BYTES:
        raise ConfigError(f"Report artifact '{path}' is over {MAX_ARTIFACT_BYTES} bytes.",
                          "Refusing to read it.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Report artifact '{path}' is not JSON: {exc}.") from exc
    except RecursionError as exc:
        raise ConfigError(f"Report artifact '{path}' is nested too deeply to be a report.",
                          "Upload the file the Action wrote on the pull_request run.") from exc
    number = as_mapping(data).get("pull_request")
    report = as_mapping(data).get("report")
    if (as_mapping(data).get("kind") != ARTIFACT_KIND or not isinstance(number, int) or number <= 0
            or isinstance(number, bool) or not isinstance(report, dict)
            or report.get("version") != 1):
        raise ConfigError(f"Report artifact '{path}' is not a django-migration-ci report.",
                          "Upload the file the Action wrote on the pull_request run.")
    return number, report


def adopt_pull(report: dict[str, Any], working_directory: str,
               pull: PullRequest) -> dict[str, Any]:
    """The artifact's word on where and what was checked is replaced by this workflow's input and
    the API's pull request: a marker or base named by the untrusted run is never used."""
    return {**report, "working_directory": working_directory,
            "base": {**comment.as_dict(report.get("base")), "ref": pull.base_ref,
                     "sha": pull.base_sha},
            "head": {**comment.as_dict(report.get("head")), "sha": pull.head_sha}}


def post_from_artifact(inputs: Inputs, context: RunContext, event: Event,
                       services: Services) -> int:
    """workflow_run mode: post a report made by an untrusted run, as data only."""
    workflow = services.workflow
    number, untrusted = read_artifact(Path(context.workspace, inputs.working_directory,
                                           ARTIFACT_FILE))
    try:
        pull = services.connect().get_pull(number)
    except Exception as exc:  # the API boundary, as in post_comment: nothing to post, no failure
        said = exc if isinstance(exc, GitHubError) else f"unexpected {type(exc).__name__}: {exc}"
        workflow.annotate(Annotation("warning", f"Cannot read pull request #{number}: {said}",
                                     title="django-migration-ci"))
        return EXIT_OK
    if pull.head_sha != event.run_head_sha or (
            event.run_head_repository and pull.head_repository != event.run_head_repository):
        workflow.annotate(Annotation(
            "warning", f"Not posting: pull request #{number} is at {pull.head_sha[:12]} of "
                       f"'{pull.head_repository}', but the report is for "
                       f"{event.run_head_sha[:12]} of '{event.run_head_repository}'."))
        return EXIT_OK
    report = adopt_pull(untrusted, inputs.working_directory, pull)
    publish(inputs, context, report, [FROM_RUN_NOTE], workflow)
    finish(inputs, context, number, report, [FROM_RUN_NOTE], services)
    return EXIT_OK
