"""Answers that are not what GitHub sends: each says which endpoint answered what.

A proxy's login page, an error object where a pull request should be, a page of comments that
is not a list, an event file an earlier step overwrote: one clear message naming the endpoint
(or the file), never an "unexpected TypeError".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_ci.errors import ConfigError
from migration_ci.github.api import GitHub, GitHubAPIError
from migration_ci.github.event import Event, read_event
from tests.fake_github import FakeGitHub, FakeGitHubServer
from tests.test_action_e2e import Checkout, pull_event, run_action

HINT = ("Something other than the GitHub API may be answering at GITHUB_API_URL (a proxy or a "
        "login page); check it (GitHub Enterprise Server: https://HOST/api/v3) and run the job "
        "again.")
PULL = "/repos/acme/shop/pulls/5"
COMMENTS = "/repos/acme/shop/issues/5/comments"


def _python_says() -> str:
    """What this Python says on indexing a string by a string (3.11 added ", not 'str'")."""
    try:
        "<html>"["id"]  # type: ignore[index]  # noqa: RUF016
    except TypeError as exc:
        return f"TypeError: {exc}"
    raise AssertionError("indexing a string by a string raised nothing")


STRING_INDICES = _python_says()


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHubServer() as fake:
        fake.tokens["ghp_person"] = "octocat"
        fake.add_pull(5, head_sha="h" * 40, base_sha="b" * 40)
        fake.add_comment(5, "first", "octocat")
        yield fake


def client(fake: FakeGitHub, token: str = "ghs_app") -> GitHub:
    return GitHub(token, fake.repository, fake.base_url, retries=0, backoff=0, throttle=False)


def call(gh: GitHub, method: str, path: str) -> Any:
    if path == "/user":
        return gh.identity()
    if path == PULL:
        return gh.get_pull(5)
    if method == "GET":
        return gh.list_comments(5)
    if method == "POST":
        return gh.create_comment(5, "report")
    [comment] = gh.list_comments(5)
    return gh.edit_comment(comment, "report")


@pytest.mark.parametrize(
    ("method", "path", "body", "said"),
    [
        pytest.param(
            "GET", "/user", b"<html>Sign in</html>",
            "GitHub API answered GET /user with a non-JSON answer '<html>Sign in</html>', not a "
            "user (its 'login' is missing or of the wrong type).", id="user: HTML",
        ),
        pytest.param(
            "GET", PULL, b"<html>Sign in</html>",
            f"GitHub API answered GET {PULL} with a non-JSON answer '<html>Sign in</html>', "
            "not a pull request (its 'number' is missing or of the wrong type).",
            id="pull: HTML",
        ),
        pytest.param(
            "GET", PULL, ["a", "list"],
            f"GitHub API answered GET {PULL} with a JSON list '[\"a\", \"list\"]', not a pull "
            "request (its 'number' is missing or of the wrong type).", id="pull: a list",
        ),
        pytest.param(
            "GET", PULL, {"number": 5, "head": None},
            f"GitHub API answered GET {PULL} with a JSON object '{{\"number\": 5, \"head\": "
            "null}', not a pull request (its 'head.sha' is missing or of the wrong type).",
            id="pull: no head",
        ),
        pytest.param(
            "GET", PULL, {"number": True},
            f"GitHub API answered GET {PULL} with a JSON object '{{\"number\": true}}', not a "
            "pull request (its 'number' is missing or of the wrong type).",
            id="pull: a bool for a number",
        ),
        pytest.param(
            "GET", COMMENTS, b"<html>Sign in</html>",
            "GitHub API gave an answer of the wrong shape when asked to list the comments of "
            f"pull request #5 (GET {COMMENTS}): {STRING_INDICES}.", id="comments: HTML",
        ),
        pytest.param(
            "GET", COMMENTS, [{"id": 7, "body": "x", "html_url": "u", "user": "octocat"}],
            f"GitHub API answered GET {COMMENTS} with a JSON object '{{\"id\": 7, \"body\": "
            "\"x\", \"html_url\": \"u\", \"user\": \"octocat\"}', not a comment (its 'user' is "
            "missing or of the wrong type).", id="comments: a user that is a string",
        ),
        pytest.param(
            "POST", COMMENTS, b"created",
            f"GitHub API answered POST {COMMENTS} with a non-JSON answer 'created', not a "
            "comment (its 'id' is missing or of the wrong type).", id="post: text",
        ),
        pytest.param(
            "PATCH", r"/repos/acme/shop/issues/comments/\d+", {"message": "ok"},
            "GitHub API answered PATCH /repos/acme/shop/issues/comments/1001 with a JSON "
            "object '{\"message\": \"ok\"}', not a comment (its 'id' is missing or of the "
            "wrong type).", id="patch: an error object",
        ),
    ],
)
def test_an_answer_of_the_wrong_shape_names_the_endpoint_and_what_it_said(
    fake: FakeGitHub, method: str, path: str, body: Any, said: str
) -> None:
    fake.fail(method, path, 201 if method == "POST" else 200, body=body)
    with pytest.raises(GitHubAPIError) as info:
        call(client(fake, "ghp_person"), method, path)
    assert str(info.value) == f"{said} {HINT}"
    assert info.value.is_transient  # a POST may have been carried out: look before posting


def test_a_good_answer_still_reads(fake: FakeGitHub) -> None:
    gh = client(fake, "ghp_person")
    assert gh.identity() == "octocat"
    assert gh.get_pull(5).head_sha == "h" * 40
    [comment] = gh.list_comments(5)
    assert (comment.author, comment.body, comment.author_type) == ("octocat", "first", "User")


def test_the_action_warns_naming_the_endpoint_and_keeps_its_report(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    fake.fail("GET", COMMENTS, 200, body=b"<html>Sign in to the proxy</html>")
    run = run_action(tmp_path, checkout, fake, pull_event(checkout))
    assert run.code == 1, run.stderr + run.stdout
    assert fake.comments[5] == fake.comments[5][:1]  # only the comment the fixture made
    warning = ("The pull request comment was not posted: GitHub API gave an answer of the "
               "wrong shape when asked to list the comments of pull request #5 (GET "
               f"{COMMENTS}): {STRING_INDICES}. {HINT}")
    assert f"::warning title=django-migration-ci::{warning}" in run.stdout.splitlines()
    assert "unexpected" not in run.stdout + run.stderr
    assert run.outputs["conflicts"] == "1"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        pytest.param(b"{not json", "is not valid JSON: Expecting property name enclosed in "
                     "double quotes: line 1 column 2 (char 1).", id="not JSON"),
        pytest.param(b"", "is not valid JSON: Expecting value: line 1 column 1 (char 0).",
                     id="empty"),
        pytest.param(b"{\xff}", "is not valid JSON: 'utf-8' codec can't decode byte 0xff "
                     "in position 1: invalid start byte.", id="not UTF-8"),
        pytest.param(b"[1, 2]", "holds a JSON list, not the event object.", id="a list"),
    ],
)
def test_a_malformed_event_file_is_named(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_event("pull_request", str(path))
    assert str(info.value) == (
        f"The event file {str(path)!r} (GITHUB_EVENT_PATH) {said} The runner writes that file "
        "for every job: check that no earlier step replaced it and that GITHUB_EVENT_PATH is "
        "not set by the workflow."
    )


def test_no_event_file_is_an_empty_event(tmp_path: Path) -> None:
    assert read_event("push", str(tmp_path / "missing.json")) == Event("push")
    assert read_event("push", "") == Event("push")


def test_the_action_stops_on_a_malformed_event_file(
    tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    bad = tmp_path / "overwritten.json"
    bad.write_text("pull_request: 5\n")
    run = run_action(tmp_path, checkout, fake, pull_event(checkout),
                     environ={"GITHUB_EVENT_PATH": str(bad)})
    assert run.code == 2
    assert run.stdout == (
        f"::error title=django-migration-ci::The event file {str(bad)!r} (GITHUB_EVENT_PATH) "
        "is not valid JSON: Expecting value: line 1 column 1 (char 0). The runner writes that "
        "file for every job: check that no earlier step replaced it and that GITHUB_EVENT_PATH "
        "is not set by the workflow.\n"
    )
    assert fake.requests == []
