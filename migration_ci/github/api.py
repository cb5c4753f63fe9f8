"""The GitHub REST adapter: the only module that imports PyGithub.

Failures become ``GitHubAPIError`` carrying the HTTP status and a hint naming the missing
permission; an answer of the wrong shape (a proxy's HTML page, an error object where a pull
request should be) names the endpoint and quotes what it answered. 5xx answers and rate
limits are retried by PyGithub's ``GithubRetry``, with a bound
on the count and on every wait; a POST is never resent, since GitHub may have acted on it before
answering 5xx (the caller looks before it posts again).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from github import (
    Auth,
    BadAttributeException,
    Github,
    GithubException,
    GithubRetry,
    RateLimitExceededException,
)

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
_SHAPE_HINT = ("Something other than the GitHub API may be answering at GITHUB_API_URL (a proxy "
               "or a login page); check it (GitHub Enterprise Server: https://HOST/api/v3) and "
               "run the job again.")


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
def describe_answer(raw: object) -> str:
    """What an API answer was, quoted short. PyGithub keeps a body that is not JSON as
    ``{"data": text}`` (plus the ``url`` it asked, for an object it completed)."""
    if isinstance(raw, Mapping) and isinstance(raw.get("data"), str) and set(raw) <= {
        "data", "url"
    }:
        return f"a non-JSON answer {_short(str(raw['data']))}"
    if isinstance(raw, Mapping):  # without the "url" PyGithub adds to what it completes
        return f"a JSON object {_short(json.dumps({k: v for k, v in raw.items() if k != 'url'}))}"
    kind = "a JSON list" if isinstance(raw, list) else "JSON"
    return f"{kind} {_short(json.dumps(raw, default=str))}"


def _short(text: str, limit: int = 80) -> str:
    quoted = repr(text)
    return quoted if len(quoted) <= limit else quoted[: limit - 1] + "…"


def answer_field(raw: object, endpoint: str, expected: str, path: str,
                 kind: type | tuple[type, ...]) -> Any:
    """``raw``'s value at the dotted ``path``, which must be a ``kind``; else the error saying
    which endpoint answered what."""
    value: Any = raw
    for part in path.split("."):
        value = value.get(part, ...) if isinstance(value, Mapping) else ...
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise GitHubAPIError(
            f"GitHub API answered {endpoint} with {describe_answer(raw)}, not {expected} "
            f"(its {path!r} is missing or of the wrong type).", _SHAPE_HINT)
    return value


_AS_BUILT = object()


def received(obj: Any) -> object:
    """The JSON PyGithub built ``obj`` from, as received: ``raw_data`` would fetch a lazily
    listed object again."""
    return obj._rawData


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

    def _call(self, action: str, fn: Any, *args: Any, endpoint: str = "") -> Any:
        try:
            return fn(*args)
        except GithubException as exc:
            raise _translate(exc, action) from exc
        except (TypeError, AttributeError, KeyError, ValueError, BadAttributeException) as exc:
            # PyGithub read an answer of the wrong shape (a page of comments that is not a list).
            where = f" ({endpoint})" if endpoint else ""
            raise GitHubAPIError(
                f"GitHub API gave an answer of the wrong shape when asked to {action}{where}: "
                f"{type(exc).__name__}: {str(exc)[:200]}.", _SHAPE_HINT) from exc
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
                    login: str | None = self._login()
            except GitHubAPIError as exc:
                if exc.status not in (401, 403, 404):
                    raise
                login = None
            self._identity = (login,)
        return self._identity[0]

    def _login(self) -> str:
        endpoint = "GET /user"
        raw = self._call("read the token's user", lambda: self._github.get_user().raw_data,
                         endpoint=endpoint)
        return str(answer_field(raw, endpoint, "a user", "login", str))

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
        endpoint = f"GET /repos/{self.repository}/pulls/{number}"
        return self._pull_request(self._pull(number), endpoint)

    def list_open_pulls(self, base: str) -> list[PullRequest]:
        """The open pull requests into branch ``base``, across all pages, most recently
        updated first."""
        pulls = self._call(f"list the open pull requests into '{base}'", lambda: list(
            self._repo.get_pulls(state="open", base=base, sort="updated", direction="desc")),
            endpoint=f"GET /repos/{self.repository}/pulls")
        for pull in pulls:  # their comments are reached without reading each one again
            self._pulls.setdefault(pull.number, pull)
        return [self._pull_request(pull, f"GET /repos/{self.repository}/pulls")
                for pull in pulls]

    def _pull_request(self, pull: Any, endpoint: str) -> PullRequest:
        raw = received(pull)

        def field(path: str, kind: type | tuple[type, ...] = str) -> Any:
            return answer_field(raw, endpoint, "a pull request", path, kind)

        def repository(side: str) -> str | None:
            repo = field(f"{side}.repo", (Mapping, type(None)))
            return None if repo is None else str(field(f"{side}.repo.full_name"))

        return PullRequest(
            number=field("number", int), head_sha=field("head.sha"), head_ref=field("head.ref"),
            head_repository=repository("head") or "",  # a deleted fork: null
            base_ref=field("base.ref"), base_sha=field("base.sha"),
            base_repository=repository("base") or self.repository, state=field("state"),
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

    def _remember(self, comment: Any, endpoint: str, raw: object = _AS_BUILT) -> Comment:
        """The comment PyGithub built (kept for edits), read from ``raw`` (default: the JSON it
        was built from)."""
        raw = received(comment) if raw is _AS_BUILT else raw

        def field(path: str, kind: type | tuple[type, ...] = str) -> Any:
            return answer_field(raw, endpoint, "a comment", path, kind)

        number = field("id", int)
        user = field("user", (Mapping, type(None)))
        login = field("user.login") if user else ""
        kind = field("user.type", (str, type(None))) if user else ""
        self._comments[number] = comment
        return Comment(number, login, field("body", (str, type(None))) or "",
                       field("html_url"), kind or "")

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment of the pull request's conversation, across all pages."""
        pull = self._pull(number)
        endpoint = f"GET /repos/{self.repository}/issues/{number}/comments"
        comments = self._call(f"list the comments of pull request #{number}",
                              lambda: list(pull.get_issue_comments()), endpoint=endpoint)
        return [self._remember(c, endpoint) for c in comments]

    def create_comment(self, number: int, body: str) -> Comment:
        pull = self._pull(number)
        endpoint = f"POST /repos/{self.repository}/issues/{number}/comments"
        return self._remember(self._call(
            f"comment on pull request #{number}", pull.create_issue_comment, body,
            endpoint=endpoint), endpoint)

    def edit_comment(self, comment: Comment, body: str) -> Comment:
        original = self._comments[comment.id]
        endpoint = f"PATCH /repos/{self.repository}/issues/comments/{comment.id}"
        # IssueComment.edit keeps the JSON it was built from: send the PATCH here to read
        # the answer (Github.requester is PyGithub's way to any endpoint).
        _, raw = self._call(f"edit comment {comment.url}", lambda: self._github.requester
                            .requestJsonAndCheck("PATCH", original.url, input={"body": body}),
                            endpoint=endpoint)
        return self._remember(original, endpoint, raw)
