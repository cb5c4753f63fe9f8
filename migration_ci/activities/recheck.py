"""The recheck activity: after a push to a branch, the open pull requests into it whose merge the
push may have changed are judged again, and their commit status and sticky comment follow.

GitHub updates a pull request's test merge when its base moves, but runs no workflow: without
this, a pull request that was green stays green while a competing migration lands on the base
(README: "Recheck after a push"). The API comes in through ``Services``; git is read, and the
pull requests judged, by ``recheck_judge``, statically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from migration_ci.activities import action, statuses
from migration_ci.activities.recheck_judge import (
    Verdict,
    changed_scope,
    fetch_heads,
    judge,
    project_config,
    push_scope,
)
from migration_ci.config import Config
from migration_ci.errors import GitHubError, MigrationCIError
from migration_ci.github.api import GitHubAPIError, PullRequest
from migration_ci.github.event import Event
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.github.workflow import Annotation, Workflow
from migration_ci.report import comment
from migration_ci.report.status import Status

TITLE = "django-migration-ci"


class RecheckPort(action.GitHubPort, Protocol):
    def list_open_pulls(self, base: str) -> list[PullRequest]: ...


@dataclass(frozen=True)
class Services:
    workflow: Workflow
    connect: Callable[[], RecheckPort]  # the API client; may raise GitHubError


@dataclass(frozen=True)
class Outcome:
    """One line of the recheck's table (Markdown; values from pull requests in code spans)."""

    number: int
    merged: str
    status: str = "—"
    comment: str = "—"


def run_recheck(inputs: Inputs, context: RunContext, event: Event, services: Services) -> None:
    """The recheck after a push; it never changes the step's exit status: every failure is a
    warning, and what was not rechecked is named."""
    if not (inputs.recheck_pull_requests and event.pushed_branch):
        return
    recheck = Recheck(inputs, context, event, services)
    try:
        recheck.run()
    except MigrationCIError as exc:
        recheck.warn(f"Pull requests were not rechecked: {exc}")
    except Exception as exc:  # the boundary, as for the comment: a bug here must not cost more
        recheck.warn(f"Pull requests were not rechecked: unexpected {type(exc).__name__}: {exc}")
    recheck.publish()


class Recheck:
    def __init__(self, inputs: Inputs, context: RunContext, event: Event,
                 services: Services) -> None:
        self.inputs, self.context, self.services = inputs, context, services
        self.root = Path(context.workspace)
        self.branch, self.after, self.before = event.pushed_branch, event.after, event.pushed_from
        self.intro = ""  # the summary: the intro, the table, then the lines
        self.lines: list[str] = []
        self.outcomes: list[Outcome] = []

    def warn(self, message: str) -> None:
        self.services.workflow.annotate(Annotation("warning", message, title=TITLE))
        self.lines.append(f"> [!WARNING]\n> {comment.code(message, 2000)}")

    def run(self) -> None:
        scope = push_scope(self.root, self.before, self.after)
        if scope.is_empty:
            self.lines.append("The push changed no migration files, so no pull request's "
                              "merge can have changed: nothing to recheck.")
            return
        github = self.services.connect()
        pulls = github.list_open_pulls(self.branch)
        if not pulls:
            self.intro = f"No pull request into {comment.code(self.branch)} is open."
            return
        merge_bases = fetch_heads(self.root, pulls, [b for b in (self.after, self.before) if b])
        affected = [p for p in pulls if p.number in merge_bases and scope.overlaps(
            changed_scope(self.root, merge_bases[p.number], p.head_sha))]
        self._say_what_is_left_out(pulls, merge_bases, affected)
        config = project_config(self.root, self.inputs.working_directory)
        publisher = Publisher(github, self)
        for index, pull in enumerate(affected[: self.inputs.recheck_limit]):
            try:
                self.outcomes.append(self._recheck(pull, config, publisher))
            except GitHubError as exc:
                rest = [p.number for p in affected[index: self.inputs.recheck_limit]]
                self.warn(f"Stopped rechecking: {exc} Not rechecked: {_numbers(rest)}.")
                return

    def _recheck(self, pull: PullRequest, config: Config, publisher: Publisher) -> Outcome:
        try:
            verdict = judge(self.root, config, pull.head_sha, self.after, self.branch,
                            self.inputs.working_directory)
        except MigrationCIError as exc:
            return Outcome(pull.number, f"not judged: {comment.code(exc, 500)}")
        merged = _merged(verdict)
        if verdict.status.says_the_same(self._previous(pull, config)):
            return Outcome(pull.number, merged, "unchanged by this push")
        status, posted = publisher.publish(pull, verdict)
        return Outcome(pull.number, merged, status, posted)

    def _previous(self, pull: PullRequest, config: Config) -> Status | None:
        """What the pull request earned merged with the branch before the push: when it is
        what it earns now, this push changed nothing for it and the API is left alone."""
        if not self.before:
            return None
        try:
            return judge(self.root, config, pull.head_sha, self.before, self.branch,
                         self.inputs.working_directory).status
        except MigrationCIError:
            return None

    def _say_what_is_left_out(self, pulls: list[PullRequest], merge_bases: dict[int, str],
                              affected: list[PullRequest]) -> None:
        judged = {p.number for p in affected}
        unaffected = [p.number for p in pulls if p.number in merge_bases and p.number not in judged]
        missing = [p.number for p in pulls if p.number not in merge_bases]
        over = [p.number for p in affected[self.inputs.recheck_limit:]]
        self.intro = (f"{len(affected)} of {len(pulls)} open pull requests into "
                      f"{comment.code(self.branch)} change migrations folders this push "
                      f"changed; they were judged again, merged with "
                      f"{comment.code(self.after[:12])}, statically." if affected else
                      f"None of the {len(pulls)} open pull requests into "
                      f"{comment.code(self.branch)} changes a migrations folder this push "
                      "changed: none can have a new conflict.")
        if unaffected:
            self.lines.append(f"Not judged, as this push changed none of their migrations "
                              f"folders: {_numbers(unaffected)}.")
        if missing:
            self.lines.append(f"Not judged, as their head moved since they were listed or its "
                              f"history could not be fetched: {_numbers(missing)}.")
        if over:
            self.warn(f"Rechecked {self.inputs.recheck_limit} of {len(affected)} pull requests; "
                      f"not rechecked, over 'recheck-limit' ({self.inputs.recheck_limit}): "
                      f"{_numbers(over)}. Their status and comment are from their own runs; "
                      "raise 'recheck-limit' to judge more per push.")

    def publish(self) -> None:
        """The job summary and the log (names from pull requests are untrusted)."""
        parts = [f"## Pull requests rechecked after the push to {comment.code(self.branch)}",
                 *([self.intro] if self.intro else [])]
        if self.outcomes:
            rows = [f"| #{o.number} | {o.merged} | {o.status} | {o.comment} |"
                    for o in self.outcomes]
            parts.append("\n".join(["| Pull request | Merged with the new base | Commit status "
                                    "| Comment |", "| --- | --- | --- | --- |", *rows]))
        text = "\n\n".join(parts + self.lines) + "\n"
        self.services.workflow.write_summary(text)
        self.services.workflow.print_untrusted(text)


class Publisher:
    """Status and comment of one pull request at a time, through the API. A permission the
    token lacks is said once and that part is left out for the rest of the run; any other
    failure (rate limit, GitHub down) stops the recheck."""

    def __init__(self, github: RecheckPort, recheck: Recheck) -> None:
        self.github, self.recheck = github, recheck
        self.statuses_allowed, self.comments_allowed = True, recheck.inputs.comment

    def publish(self, pull: PullRequest, verdict: Verdict) -> tuple[str, str]:
        current = self._read(pull.head_sha, verdict.status.context)
        if verdict.status.says_the_same(current):
            return "already said so", "—"
        # The comment first: a failure after it leaves the status to be set by the next run.
        posted = self._comment(pull, verdict)
        return self._write(pull.head_sha, verdict.status), posted

    def _read(self, sha: str, context: str) -> Status | None:
        if not self.statuses_allowed:
            return None
        try:
            return self.github.get_status(sha, context)
        except GitHubAPIError as exc:
            self._refused_status(exc)
            return None

    def _write(self, sha: str, status: Status) -> str:
        if not self.statuses_allowed:
            return "not set"
        try:
            self.github.set_status(sha, status, self.recheck.context.run_url)
        except GitHubAPIError as exc:
            self._refused_status(exc)
            return "not set"
        return f"set: {status.state}"

    def _refused_status(self, exc: GitHubAPIError) -> None:
        if not statuses.is_permission_error(exc):
            raise exc
        self.statuses_allowed = False
        self.recheck.warn(statuses.status_warning(exc))

    def _comment(self, pull: PullRequest, verdict: Verdict) -> str:
        if not self.comments_allowed:
            return "—"
        recheck = self.recheck
        try:
            url = action.sync_comment(self.github, pull.number, verdict.report, recheck.context,
                                      [recheck_note(recheck.branch, recheck.after, verdict)],
                                      recheck.inputs.strategy)
        except GitHubAPIError as exc:
            if not statuses.is_permission_error(exc):
                raise
            self.comments_allowed = False
            recheck.warn(f"The pull request comment was not posted: {exc}")
            return "not posted"
        return f"[comment]({url})" if url else "—"


def recheck_note(branch: str, after: str, verdict: Verdict) -> str:
    """The comment's note: why it changed without a push to the pull request. A commit's full
    sha is written plainly, for GitHub to link it; every other value is in a code span."""
    note = (f"The base branch {comment.code(branch)} moved to {comment.code(after[:12])}: this "
            "pull request was judged again, merged with it, statically (nothing of the pull "
            "request was checked out or run).")
    names = {comment.as_text(leaf.get("path")): comment.as_text(leaf.get("name"))
             for conflict in comment.conflicts(verdict.report)
             for leaf in map(comment.as_dict, comment.as_list(conflict.get("leaves")))}
    for path, sha in sorted(verdict.base_commits.items()):
        note += f" {comment.code(names.get(path, path))} came to {comment.code(branch)} with {sha}."
    return note


def _merged(verdict: Verdict) -> str:
    apps = comment.conflicted_apps(verdict.report)
    if not apps:
        return "no conflicts"
    return "conflicting migrations in " + ", ".join(comment.code(app) for app in apps)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)
