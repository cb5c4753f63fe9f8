"""The commit status on a pull request's head: which base commits caused a conflict, and
setting the status only when it would say something new.

A pull request's own run and the recheck after a push (``recheck``) set the same context, so a
repository can make it a required check (README: "Commit status").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from migration_ci.errors import GitError, GitHubError
from migration_ci.github.api import GitHubAPIError
from migration_ci.github.workflow import Annotation, Workflow
from migration_ci.report import comment
from migration_ci.report.status import Status
from migration_ci.repository import git

PERMISSION_HINT = ("Give the job 'permissions: statuses: write' (README: \"Commit status\"); "
                   "the report, the comment and the outputs do not depend on it.")


class StatusPort(Protocol):
    def get_status(self, sha: str, context: str) -> Status | None: ...
    def set_status(self, sha: str, status: Status, target_url: str = "") -> None: ...


def sync_status(github: StatusPort, sha: str, wanted: Status, target_url: str) -> bool:
    """Set ``wanted`` on ``sha`` unless the latest status of its context already says the same
    (README: "Commit status"); whether it was set."""
    if wanted.says_the_same(github.get_status(sha, wanted.context)):
        return False
    github.set_status(sha, wanted, target_url)
    return True


def publish(connect: Callable[[], StatusPort], workflow: Workflow, sha: str, wanted: Status,
            target_url: str) -> None:
    """``sync_status`` at the step's boundary with the API: whatever fails is a warning, and
    the report, outputs and exit status stand."""
    try:
        sync_status(connect(), sha, wanted, target_url)
        return
    except GitHubError as exc:
        message = status_warning(exc)
    except Exception as exc:  # the boundary, as for the comment: a bug here must not cost more
        message = f"The commit status was not set: unexpected {type(exc).__name__}: {exc}"
    workflow.annotate(Annotation("warning", message, title="django-migration-ci"))


def is_permission_error(exc: GitHubError) -> bool:
    """A refusal for want of a permission (not the rate limit): asking again will not help."""
    return isinstance(exc, GitHubAPIError) and exc.status in (403, 404) and not exc.rate_limited


def status_warning(exc: GitHubError) -> str:
    if is_permission_error(exc):
        return f"The commit status was not set: {exc.message} {PERMISSION_HINT}"
    return f"The commit status was not set: {exc}"


def leaves_from_base(report: Mapping[str, Any]) -> list[str]:
    """Paths of the conflicting leaves that came from the base, sorted."""
    return sorted({comment.as_text(comment.as_dict(leaf).get("path"))
                   for conflict in comment.conflicts(report)
                   for leaf in comment.as_list(conflict.get("leaves"))
                   if comment.as_dict(leaf).get("side") == "base"} - {""})


def find_base_commits(root: Path, report: Mapping[str, Any],
                      since: str | None = None) -> dict[str, str]:
    """For each conflicting leaf that came from the base: the base commit that added it.

    ``since`` (the merge base) bounds the search; without it the report's head and base give
    it. Git failing (history not fetched, not a repository) leaves the commit unnamed.
    """
    paths = leaves_from_base(report)
    base = comment.as_text(comment.as_dict(report.get("base")).get("sha"))
    if not paths or not base:
        return {}
    try:
        if since is None:
            head = comment.as_text(comment.as_dict(report.get("head")).get("sha"))
            since = git.merge_base(root, head, base) if head else None
        found = {path: git.adding_commit(root, base, path, since) for path in paths}
    except GitError:
        return {}
    return {path: sha for path, sha in found.items() if sha}
