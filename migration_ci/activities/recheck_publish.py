"""The recheck's API side: the commit status and the sticky comment of each pull request whose
verdict the push changed, written only when they would say something new.

Comments go through ``action.sync_comment``: the same marker, author rules and rendering as a
pull request's own run, with a note saying why the comment changed without a push to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from migration_ci.activities import action, statuses
from migration_ci.activities.recheck_judge import Verdict
from migration_ci.errors import GitHubError
from migration_ci.github.api import GitHubAPIError, PullRequest
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.report import comment
from migration_ci.report.status import Status


class RecheckPort(action.GitHubPort, Protocol):
    def list_open_pulls(self, base: str) -> list[PullRequest]: ...


@dataclass(frozen=True)
class Outcome:
    """One line of the recheck's table (Markdown; values from pull requests in code spans)."""

    number: int
    merged: str
    status: str = "—"
    comment: str = "—"


class Publisher:
    """Status and comment of one pull request at a time, in order. A permission the token lacks
    is said once and that part is left out for the rest of the run; any other failure (the rate
    limit, GitHub down) stops the writing, and ``stopped`` says why."""

    def __init__(self, github: RecheckPort, inputs: Inputs, context: RunContext, branch: str,
                 after: str, warn: Callable[[str], None]) -> None:
        self.github, self.inputs, self.context, self.warn = github, inputs, context, warn
        self.branch, self.after = branch, after
        self.statuses_allowed, self.comments_allowed = True, inputs.comment
        self.stopped: GitHubError | None = None
        self.unwritten: list[int] = []  # pull requests left as they were after the stop

    def publish(self, pull: PullRequest, verdict: Verdict) -> Outcome:
        merged = describe_merge(verdict)
        if self.stopped is None:
            try:
                return Outcome(pull.number, merged, *self._publish(pull, verdict))
            except GitHubError as exc:
                self.stopped = exc
        self.unwritten.append(pull.number)
        return Outcome(pull.number, merged, "not set", "not posted")

    def _publish(self, pull: PullRequest, verdict: Verdict) -> tuple[str, str]:
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
            self.github.set_status(sha, status, self.context.run_url)
        except GitHubAPIError as exc:
            self._refused_status(exc)
            return "not set"
        return f"set: {status.state}"

    def _refused_status(self, exc: GitHubAPIError) -> None:
        if not statuses.is_permission_error(exc):
            raise exc
        self.statuses_allowed = False
        self.warn(statuses.status_warning(exc))

    def _comment(self, pull: PullRequest, verdict: Verdict) -> str:
        if not self.comments_allowed:
            return "—"
        try:
            url = action.sync_comment(self.github, pull.number, verdict.report, self.context,
                                      [recheck_note(self.branch, self.after, verdict)],
                                      self.inputs.strategy)
        except GitHubAPIError as exc:
            if not statuses.is_permission_error(exc):
                raise
            self.comments_allowed = False
            self.warn(f"The pull request comment was not posted: {exc}")
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


def describe_merge(verdict: Verdict) -> str:
    apps = comment.conflicted_apps(verdict.report)
    if not apps:
        return "no conflicts"
    return "conflicting migrations in " + ", ".join(comment.code(app) for app in apps)
