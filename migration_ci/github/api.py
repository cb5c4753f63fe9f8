"""The GitHub REST adapter: the only module that imports PyGithub.

Failures become ``GitHubAPIError`` carrying the HTTP status and a hint naming the missing
permission. 5xx answers and rate limits are retried by PyGithub's ``GithubRetry``, with a bound
on the count and on every wait; a POST is never resent, since GitHub may have acted on it before
answering 5xx (the caller looks before it posts again).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException

from migration_ci.errors import GitHubError
from migration_ci.report.status import Status

# Idempotent methods only: a PATCH sets the body, so sending it twice is harmless; a POST is not.
RETRIED_METHODS = frozenset(GithubRetry.DEFAULT_ALLOWED_METHODS | {"GET", "PATCH"})
RETRY_AFTER_MAX = 120.0  # seconds; GitHub may ask for far longer (urllib3's own cap is 6 hours)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # goes into a URL path: nothing else may

_HINTS = {
    401: "The token is invalid or expired: check the 'github-token' input.",
    403: "The token lacks a permission: give the job 'permissions: pull-requests: write' "
         "(comments) and 'contents: read'. Pull requests from forks get a read-only token: "
         "post the comment from a workflow_run workflow (README: \"Pull requests from forks\").",
    404: "Not found, or the token cannot see it: give the job 'permissions: pull-requests: read' "
         "and 'contents: read', and check the repository and pull request number.",
    422: "GitHub rejected the content (422 Unprocessable Entity), e.g. a body over 65,536 "
         "characters.",
}


_RATE_LIMIT_HINT = ("The token's API rate limit is used up and did not reset within the wait "
                    "allowed; run the job again later.")


class _Retry(GithubRetry):
    """``GithubRetry`` with every Retry-After wait capped: urllib3 sleeps whatever the header
    says (up to 6 hours), and its own ``retry_after_max`` is missing from older releases."""

    def __init__(self, retry_after_cap: float = RETRY_AFTER_MAX, **kwargs: Any) -> None:
        self.retry_after_cap = retry_after_cap
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> _Retry:
        return super().new(retry_after_cap=self.retry_after_cap, **kw)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(float(seconds), self.retry_after_cap)


@contextlib.contextmanager
def _quiet_retry_log() -> Iterator[None]:
    """Keep PyGithub's retry logger (which logs every 403 it sees, at INFO, to stderr) quiet
    for a request whose 403 is expected: GET /user with the default token is not a failure."""
    def unexpected(record: logging.LogRecord) -> bool:
        return " failed with 403" not in record.getMessage()

    logger = logging.getLogger("github.GithubRetry")
    logger.addFilter(unexpected)
    try:
        yield
    finally:
        logger.removeFilter(unexpected)


class GitHubAPIError(GitHubError):
    """A request to the GitHub API failed; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, hint: str = "", status: int = 0,
                 rate_limited: bool = False) -> None:
        super().__init__(message, hint)
        self.status = status
        self.rate_limited = rate_limited  # a 403/429 for the rate limit, not a permission

    @property
    def is_transient(self) -> bool:
        """No answer, or a 5xx: the request may or may not have been carried out."""
        return self.status == 0 or self.status >= 500


@dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str
    head_ref: str
    head_repository: str  # "owner/name" of the head branch; differs from the base for forks
    base_ref: str
    base_sha: str
    base_repository: str
    state: str

    @property
    def is_fork(self) -> bool:
        return self.head_repository != self.base_repository


@dataclass(frozen=True)
class Comment:
    id: int
    author: str  # the login
    body: str
    url: str  # the html_url a person opens
    author_type: str = ""  # "User", "Bot" (GitHub Apps and GITHUB_TOKEN), "Organization"


def _translate(exc: GithubException, action: str) -> GitHubAPIError:
    data: Any = exc.data
    message = data.get("message", "") if isinstance(data, dict) else str(data or "")
    errors = data.get("errors") if isinstance(data, dict) else None
    detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                       for e in errors or [])
    said = ": ".join(part for part in (message, detail) if part)
    limited = isinstance(exc, RateLimitExceededException)
    return GitHubAPIError(
        f"GitHub API refused to {action}: HTTP {exc.status} {said!r}.",
        _RATE_LIMIT_HINT if limited else
        _HINTS.get(exc.status, "GitHub failed; retries are exhausted. Run the job again."),
        exc.status, rate_limited=limited,
    )


def _checked_sha(sha: str) -> str:
    if not _SHA.fullmatch(sha):
        raise GitHubAPIError(f"{sha!r} is not a commit sha.", "This is a bug; report it.")
    return sha


class GitHub:
    """The calls the Action makes, for one repository."""

    def __init__(self, token: str, repository: str, api_url: str, *, retries: int = 4,
                 backoff: float = 1, max_wait: float = RETRY_AFTER_MAX,
                 throttle: bool = True) -> None:
        if not token:
            raise GitHubAPIError("No GitHub token: the 'github-token' input is empty.",
                                 "Leave it at its default, ${{ github.token }}, or pass a token.")
        self._github = Github(
            auth=Auth.Token(token), base_url=api_url, retry=_Retry(
                retry_after_cap=max_wait, total=retries, backoff_factor=backoff,
                secondary_rate_wait=min(30, max_wait), max_rate_limit_wait=max_wait,
                allowed_methods=RETRIED_METHODS),
            timeout=30, per_page=100,
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
        )
        self.repository = repository
        self._repository: Any = None
        self._pulls: dict[int, Any] = {}
        self._comments: dict[int, Any] = {}
        self._identity: tuple[str | None] | None = None  # asked once per client

    def _call(self, action: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except GithubException as exc:
            raise _translate(exc, action) from exc
        except OSError as exc:  # connection refused, DNS, retries exhausted (urllib3 MaxRetryError)
            raise GitHubAPIError(
                f"GitHub API unreachable while trying to {action}: {exc}.",
                "Check GITHUB_API_URL and the network; run the job again.") from exc

    def identity(self) -> str | None:
        """The login comments by this token carry; None when the token may not read its user.

        GET /user answers 403 to installation tokens ("Resource not accessible by integration"):
        GITHUB_TOKEN comments as github-actions[bot], a GitHub App's token as <slug>[bot].
        """
        if self._identity is None:
            try:
                with _quiet_retry_log():
                    login: str | None = str(self._call("read the token's user",
                                                       lambda: self._github.get_user().login))
            except GitHubAPIError as exc:
                if exc.status not in (401, 403, 404):
                    raise
                login = None
            self._identity = (login,)
        return self._identity[0]

    @property
    def _repo(self) -> Any:
        if self._repository is None:
            self._repository = self._call(
                f"read repository {self.repository}", self._github.get_repo, self.repository)
        return self._repository

    def _pull(self, number: int) -> Any:
        if number not in self._pulls:
            self._pulls[number] = self._call(
                f"read pull request #{number}", self._repo.get_pull, number)
        return self._pulls[number]

    def get_pull(self, number: int) -> PullRequest:
        return self._pull_request(self._pull(number))

    def list_open_pulls(self, base: str) -> list[PullRequest]:
        """The open pull requests into branch ``base``, across all pages, most recently
        updated first."""
        pulls = self._call(f"list the open pull requests into '{base}'", lambda: list(
            self._repo.get_pulls(state="open", base=base, sort="updated", direction="desc")))
        for pull in pulls:  # their comments are reached without reading each one again
            self._pulls.setdefault(pull.number, pull)
        return [self._pull_request(pull) for pull in pulls]

    def _pull_request(self, pull: Any) -> PullRequest:
        return PullRequest(
            number=pull.number, head_sha=pull.head.sha, head_ref=pull.head.ref,
            head_repository=pull.head.repo.full_name if pull.head.repo else "",
            base_ref=pull.base.ref, base_sha=pull.base.sha,
            base_repository=pull.base.repo.full_name if pull.base.repo else self.repository,
            state=pull.state,
        )

    def get_status(self, sha: str, context: str) -> Status | None:
        """The latest status ``context`` has on commit ``sha``, or None.

        The combined status holds the latest status of each context; PyGithub reaches it only
        through ``get_commit``, which first downloads the whole commit, so the request goes
        through PyGithub's own requester (same retries and pacing).
        """
        url = f"{self._repo.url}/commits/{_checked_sha(sha)}/status"
        _, data = self._call(f"read the commit status of {sha[:12]}",
                             self._github.requester.requestJsonAndCheck, "GET", url,
                             {"per_page": 100})
        statuses = data.get("statuses") if isinstance(data, dict) else None
        for item in statuses if isinstance(statuses, list) else []:
            if isinstance(item, dict) and item.get("context") == context:
                return Status(context, str(item.get("state") or ""),
                              str(item.get("description") or ""))
        return None

    def set_status(self, sha: str, status: Status, target_url: str = "") -> None:
        url = f"{self._repo.url}/statuses/{_checked_sha(sha)}"
        body = {"state": status.state, "context": status.context,
                "description": status.description,
                **({"target_url": target_url} if target_url else {})}
        self._call(f"set the commit status of {sha[:12]}",
                   self._github.requester.requestJsonAndCheck, "POST", url, None, None, body)

    def _remember(self, comment: Any) -> Comment:
        self._comments[comment.id] = comment
        login = comment.user.login if comment.user else ""
        kind = comment.user.type if comment.user else ""
        return Comment(comment.id, login, comment.body or "", comment.html_url, kind or "")

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment of the pull request's conversation, across all pages."""
        pull = self._pull(number)
        return [self._remember(c) for c in self._call(
            f"list the comments of pull request #{number}",
            lambda: list(pull.get_issue_comments()))]

    def create_comment(self, number: int, body: str) -> Comment:
        pull = self._pull(number)
        return self._remember(self._call(
            f"comment on pull request #{number}", pull.create_issue_comment, body))

    def edit_comment(self, comment: Comment, body: str) -> Comment:
        original = self._comments[comment.id]
        self._call(f"edit comment {comment.url}", original.edit, body)
        return self._remember(original)
