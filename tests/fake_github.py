"""A small real HTTP server on 127.0.0.1 speaking the GitHub REST endpoints the Action uses.

    GET   {prefix}/user                                  the token's identity (403 for app tokens)
    GET   {prefix}/repos/{o}/{r}
    GET   {prefix}/repos/{o}/{r}/pulls                    open ones, ``base`` filter, paginated
    GET   {prefix}/repos/{o}/{r}/pulls/{n}
    GET   {prefix}/repos/{o}/{r}/commits/{sha}/status     the latest status of each context
    POST  {prefix}/repos/{o}/{r}/statuses/{sha}           422 over 140 characters of description
    GET   {prefix}/repos/{o}/{r}/issues/{n}/comments     paginated with Link headers
    POST  {prefix}/repos/{o}/{r}/issues/{n}/comments     422 when the body is over 65,536 chars
    PATCH {prefix}/repos/{o}/{r}/issues/comments/{id}    422 likewise

Failures are scripted with ``fail(method, path_regex, status, times)``; ``after=True`` carries the
request out before answering the failure (a 502 from a proxy after GitHub acted). Every request is
recorded. Comments by a login ending in ``[bot]`` have ``user.type`` "Bot", as on GitHub.
Commit statuses are kept per sha, oldest first, in ``statuses``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

MAX_BODY = 65_536


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int | None  # None: for ever
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False  # carry the request out, then answer the failure
    body: Any = None  # answered instead of {"message": ...}: bytes as they are, else as JSON

    def answer(self) -> Any:
        return {"message": self.message} if self.body is None else self.body


@dataclass
class FakeGitHub:
    """State of the fake: one repository, its pull requests and their comments."""

    repository: str = "acme/shop"
    prefix: str = "/api/v3"
    tokens: dict[str, str] = field(default_factory=lambda: {
        "ghs_app": "github-actions[bot]", "ghs_custom_app": "migrations-bot[bot]"})
    app_tokens: set[str] = field(  # installation tokens: GET /user is 403
        default_factory=lambda: {"ghs_app", "ghs_custom_app"})
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    per_page_max: int = 100
    max_body: int = MAX_BODY  # GitHub's limit; lower it to provoke the 422 with small bodies
    requests: list[Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    # -- scripting ----------------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, times: int | None = None,
             message: str = "", headers: dict[str, str] | None = None,
             after: bool = False, body: Any = None) -> None:
        """``body``: answer it instead of ``{"message": ...}`` (bytes: a non-JSON answer)."""
        default = {403: "Resource not accessible by integration", 404: "Not Found",
                   502: "Bad Gateway"}.get(status, "Failure")
        self.failures.append(Failure(method, re.compile(path), status, times, message or default,
                                     headers or {}, after, body))

    def add_pull(self, number: int, *, head_sha: str, base_sha: str, head_ref: str = "feature",
                 base_ref: str = "main", head_repo: str | None = None) -> None:
        head_repo = head_repo or self.repository
        self.pulls[number] = {
            "number": number, "state": "open",
            "url": f"{self.base_url}/repos/{self.repository}/pulls/{number}",
            "html_url": f"https://github.test/{self.repository}/pull/{number}",
            "issue_url": f"{self.base_url}/repos/{self.repository}/issues/{number}",
            "comments_url": f"{self.base_url}/repos/{self.repository}/issues/{number}/comments",
            "head": {"sha": head_sha, "ref": head_ref,
                     "repo": {"full_name": head_repo, "fork": head_repo != self.repository}},
            "base": {"sha": base_sha, "ref": base_ref,
                     "repo": {"full_name": self.repository, "fork": False}},
            "user": {"login": "contributor", "id": 7, "type": "User"},
        }
        self.comments.setdefault(number, [])

    def add_comment(self, number: int, body: str, login: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id, "node_id": f"IC_{self.next_id}",
            "url": f"{self.base_url}/repos/{self.repository}/issues/comments/{self.next_id}",
            "html_url": f"https://github.test/{self.repository}/pull/{number}"
                        f"#issuecomment-{self.next_id}",
            "issue_url": f"{self.base_url}/repos/{self.repository}/issues/{number}",
            "body": body,
            "user": {"login": login, "id": 1, "type": "Bot" if login.endswith("[bot]") else "User"},
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def add_status(self, sha: str, state: str, description: str,
                   context: str = "django-migration-ci") -> dict[str, Any]:
        self.next_id += 1
        status = {"id": self.next_id, "state": state, "description": description,
                  "context": context, "target_url": None,
                  "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
        self.statuses.setdefault(sha, []).append(status)
        return status

    def latest_status(self, sha: str, context: str = "django-migration-ci") -> dict[str, Any]:
        return [s for s in self.statuses.get(sha, []) if s["context"] == context][-1]

    def writes(self) -> list[Request]:
        """Writes to comments (commit statuses are in ``status_writes``)."""
        return [r for r in self.requests if r.method in ("POST", "PATCH", "DELETE")
                and "/statuses/" not in r.path]

    def status_writes(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and "/statuses/" in r.path]

    # -- serving ------------------------------------------------------------------------------

    def scripted_failure(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and failure.path.fullmatch(path) and failure.times != 0:
                if failure.times is not None:
                    failure.times -= 1
                return failure
        return None

    def handle(self, method: str, path: str, query: dict[str, str], body: Any,
               authorization: str) -> tuple[int, Any, dict[str, str]]:
        self.requests.append(Request(method, path, query, body, authorization))
        if not path.startswith(self.prefix):
            return 404, {"message": "Not Found"}, {}
        route = path[len(self.prefix):]
        failure = self.scripted_failure(method, route)
        if failure is not None and not failure.after:
            return failure.status, failure.answer(), failure.headers
        token = authorization.removeprefix("token ").removeprefix("Bearer ")
        if token not in self.tokens:
            return 401, {"message": "Bad credentials"}, {}
        answer = self.route(method, route, query, body, token)
        if failure is not None:
            return failure.status, failure.answer(), failure.headers
        return answer

    def route(self, method: str, route: str, query: dict[str, str], body: Any,
              token: str) -> tuple[int, Any, dict[str, str]]:
        repo = re.escape(self.repository)
        if method == "GET" and route == "/user":
            if token in self.app_tokens:
                return 403, {"message": "Resource not accessible by integration"}, {}
            return 200, {"login": self.tokens[token], "id": 1, "type": "User"}, {}
        if method == "GET" and route == f"/repos/{self.repository}":
            return 200, {"full_name": self.repository, "name": self.repository.split("/")[1],
                         "url": f"{self.base_url}/repos/{self.repository}",
                         "owner": {"login": self.repository.split("/")[0]}}, {}
        if method == "GET" and route == f"/repos/{self.repository}/pulls":
            return self.page(route, self.open_pulls(query.get("base")), query)
        if m := re.fullmatch(rf"/repos/{repo}/commits/([0-9a-f]+)/status", route):
            return 200, self.combined_status(m[1]), {}
        if m := re.fullmatch(rf"/repos/{repo}/statuses/([0-9a-f]+)", route):
            return self.create_status(m[1], body) if method == "POST" else (404, {}, {})
        if m := re.fullmatch(rf"/repos/{repo}/pulls/(\d+)", route):
            pull = self.pulls.get(int(m[1]))
            if pull is None or method != "GET":
                return 404, {"message": "Not Found"}, {}
            return 200, pull, {}
        if m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", route):
            number = int(m[1])
            if number not in self.pulls:
                return 404, {"message": "Not Found"}, {}
            if method == "GET":
                return self.page(route, self.comments[number], query)
            login = self.tokens[token]
            return self.write(201, body, lambda text: self.add_comment(number, text, login))
        m = re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", route)
        if m and method == "PATCH":
            found = [c for cs in self.comments.values() for c in cs if c["id"] == int(m[1])]
            if not found:
                return 404, {"message": "Not Found"}, {}
            if found[0]["user"]["login"] != self.tokens[token]:
                return 403, {"message": "Must have admin rights to Repository."}, {}
            return self.write(200, body, lambda text: _edit(found[0], text))
        return 404, {"message": "Not Found"}, {}

    def open_pulls(self, base: str | None) -> list[dict[str, Any]]:
        return [pull for pull in self.pulls.values() if pull["state"] == "open"
                and (base is None or pull["base"]["ref"] == base)]

    def combined_status(self, sha: str) -> dict[str, Any]:
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses.get(sha, []):
            latest[status["context"]] = status
        states = {s["state"] for s in latest.values()}
        state = ("failure" if states & {"failure", "error"} else
                 "pending" if "pending" in states or not states else "success")
        return {"state": state, "sha": sha, "total_count": len(latest),
                "statuses": sorted(latest.values(), key=lambda s: -s["id"])}

    def create_status(self, sha: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        body = body if isinstance(body, dict) else {}
        if body.get("state") not in ("error", "failure", "pending", "success"):
            return 422, {"message": "Validation Failed"}, {}
        if len(body.get("description") or "") > 140:
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "Status", "code": "custom", "field": "description",
                 "message": "description is too long (maximum is 140 characters)"}]}, {}
        status = self.add_status(sha, body["state"], body.get("description") or "",
                                 body.get("context") or "default")
        status["target_url"] = body.get("target_url")
        return 201, status, {}

    def write(self, status: int, body: Any,
              apply: Callable[[str], dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        text = body.get("body", "") if isinstance(body, dict) else ""
        if len(text) > self.max_body:
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": f"body is too long (maximum is {self.max_body} characters)"}]}, {}
        return status, apply(text), {}

    def page(self, route: str, items: list[dict[str, Any]],
             query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", "30")), self.per_page_max)
        page = int(query.get("page", "1"))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        others = urlencode({k: v for k, v in query.items() if k not in ("page", "per_page")})
        url = f"{self.base_url}{route}?{others + '&' if others else ''}per_page={per_page}&page="
        if page < last:
            links += [f'<{url}{page + 1}>; rel="next"', f'<{url}{last}>; rel="last"']
        if page > 1:
            links += [f'<{url}1>; rel="first"', f'<{url}{page - 1}>; rel="prev"']
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})


def _edit(comment: dict[str, Any], text: str) -> dict[str, Any]:
    comment["body"] = text
    comment["updated_at"] = "2024-01-02T00:00:00Z"
    return comment


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        fake = self.server.fake
        with fake.lock:
            status, payload, headers = fake.handle(
                self.command, parts.path, query, body, self.headers.get("Authorization", ""))
        raw = isinstance(payload, bytes)
        data = payload if raw else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if raw else "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class FakeGitHubServer:
    """``with FakeGitHubServer() as gh: ...``; ``gh.api_url`` is what GITHUB_API_URL should be."""

    def __init__(self, fake: FakeGitHub | None = None) -> None:
        self.fake = fake or FakeGitHub()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        host, port = self._server.server_address[:2]
        self.fake.base_url = f"http://{host!s}:{port}{self.fake.prefix}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def api_url(self) -> str:
        return self.fake.base_url

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
