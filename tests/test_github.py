"""PyGithub over real HTTP against tests/fake_github.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from migration_ci.activities.statuses import is_permission_error
from migration_ci.github.api import GitHub, GitHubAPIError
from migration_ci.report.status import Status
from tests.fake_github import FakeGitHub, FakeGitHubServer


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHubServer() as fake:
        fake.tokens["ghp_person"] = "octocat"
        fake.add_pull(5, head_sha="h" * 40, base_sha="b" * 40)
        yield fake


def client(fake: FakeGitHub, token: str = "ghs_app", retries: int = 2,
           max_wait: float = 120) -> GitHub:
    return GitHub(token, fake.repository, fake.base_url, retries=retries, backoff=0,
                  max_wait=max_wait, throttle=False)


def test_identity_of_a_personal_token_and_none_for_installation_tokens(
    fake: FakeGitHub,
) -> None:
    assert client(fake, "ghp_person").identity() == "octocat"
    assert client(fake).identity() is None
    assert client(fake, "ghs_custom_app").identity() is None
    assert [r.path for r in fake.requests] == ["/api/v3/user"] * 3


def test_comments_carry_the_author_type(fake: FakeGitHub) -> None:
    fake.add_comment(5, "by a person", "octocat")
    fake.add_comment(5, "by an app", "migrations-bot[bot]")
    found = client(fake).list_comments(5)
    assert [(c.author, c.author_type) for c in found] == [
        ("octocat", "User"), ("migrations-bot[bot]", "Bot")]


def test_pull_request_and_comments_across_pages(fake: FakeGitHub) -> None:
    fake.per_page_max = 2
    for i in range(5):
        fake.add_comment(5, f"comment {i}", "someone")
    gh = client(fake)
    pull = gh.get_pull(5)
    assert (pull.head_sha, pull.base_ref, pull.is_fork) == ("h" * 40, "main", False)
    assert [c.body for c in gh.list_comments(5)] == [f"comment {i}" for i in range(5)]
    pages = [r.query.get("page", "1") for r in fake.requests if r.path.endswith("/comments")]
    assert pages == ["1", "2", "3"]


def test_create_then_edit_in_place(fake: FakeGitHub) -> None:
    gh = client(fake)
    posted = gh.create_comment(5, "first")
    edited = gh.edit_comment(posted, "second")
    assert (edited.id, edited.author, edited.body) == (posted.id, "github-actions[bot]", "second")
    assert [c["body"] for c in fake.comments[5]] == ["second"]
    assert edited.url.endswith(f"#issuecomment-{posted.id}")


def test_a_502_on_patch_is_retried(fake: FakeGitHub) -> None:
    gh = client(fake)
    posted = gh.create_comment(5, "first")
    fake.fail("PATCH", rf"/repos/acme/shop/issues/comments/{posted.id}", 502, times=1)
    edited = gh.edit_comment(posted, "second")
    assert edited.body == "second"
    assert [r.method for r in fake.writes()] == ["POST", "PATCH", "PATCH"]
    assert [c["body"] for c in fake.comments[5]] == ["second"]


def test_a_502_on_post_is_not_resent(fake: FakeGitHub) -> None:
    """GitHub may have created the comment before the 502: the caller looks before posting."""
    fake.fail("POST", r"/repos/acme/shop/issues/5/comments", 502, times=1, after=True)
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake).create_comment(5, "hello")
    assert (excinfo.value.status, excinfo.value.is_transient) == (502, True)
    assert [r.method for r in fake.writes()] == ["POST"]
    assert [c["body"] for c in fake.comments[5]] == ["hello"]


def test_retry_after_is_capped(fake: FakeGitHub) -> None:
    """Uncapped, urllib3 would sleep the hour the header asks for."""
    fake.fail("GET", r"/repos/acme/shop/pulls/5", 503, times=1, headers={"Retry-After": "3600"})
    assert client(fake, max_wait=0.01).get_pull(5).number == 5
    assert len([r for r in fake.requests if r.path.endswith("/pulls/5")]) == 2


def test_retries_are_bounded(fake: FakeGitHub) -> None:
    fake.fail("GET", r"/repos/acme/shop/pulls/5", 503)
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake, retries=2).get_pull(5)
    assert excinfo.value.message.startswith(
        "GitHub API unreachable while trying to read pull request #5:")
    assert len([r for r in fake.requests if r.path.endswith("/pulls/5")]) == 3


@pytest.mark.parametrize(
    ("status", "message", "hint_start"),
    [
        pytest.param(403, "GitHub API refused to comment on pull request #5: HTTP 403 "
                          "'Resource not accessible by integration'.",
                     "The token lacks a permission: give the job 'permissions: pull-requests: "
                     "write'", id="403 read-only token"),
        pytest.param(404, "GitHub API refused to comment on pull request #5: HTTP 404 "
                          "'Not Found'.",
                     "Not found, or the token cannot see it", id="404"),
    ],
)
def test_refusals_say_what_permission_is_missing(
    fake: FakeGitHub, status: int, message: str, hint_start: str
) -> None:
    fake.fail("POST", r"/repos/acme/shop/issues/5/comments", status)
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake).create_comment(5, "x")
    assert (excinfo.value.status, excinfo.value.message) == (status, message)
    assert excinfo.value.hint.startswith(hint_start)


def test_oversize_body_is_a_422_with_githubs_reason(fake: FakeGitHub) -> None:
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake).create_comment(5, "x" * 70_000)
    assert excinfo.value.message == (
        "GitHub API refused to comment on pull request #5: HTTP 422 "
        "'Validation Failed: body is too long (maximum is 65536 characters)'.")


def test_empty_token_is_refused_before_any_request(fake: FakeGitHub) -> None:
    with pytest.raises(GitHubAPIError) as excinfo:
        GitHub("", fake.repository, fake.base_url)
    assert str(excinfo.value) == ("No GitHub token: the 'github-token' input is empty. Leave it "
                                  "at its default, ${{ github.token }}, or pass a token.")
    assert fake.requests == []


def test_open_pull_requests_into_a_branch_across_pages(fake: FakeGitHub) -> None:
    fake.per_page_max = 2
    fake.add_pull(6, head_sha="6" * 40, base_sha="b" * 40, head_repo="fork/shop")
    fake.add_pull(7, head_sha="7" * 40, base_sha="d" * 40, base_ref="develop")
    fake.add_pull(8, head_sha="8" * 40, base_sha="b" * 40)
    fake.pulls[8]["state"] = "closed"
    fake.add_pull(9, head_sha="9" * 40, base_sha="b" * 40)
    pulls = client(fake).list_open_pulls("main")
    assert [(p.number, p.head_sha[0], p.is_fork) for p in pulls] == [
        (5, "h", False), (6, "6", True), (9, "9", False)]
    listed = [r for r in fake.requests if r.path.endswith("/pulls")]
    assert [(r.query.get("page", "1"), r.query["base"], r.query["state"]) for r in listed] == [
        ("1", "main", "open"), ("2", "main", "open")]


def test_commit_status_read_and_set(fake: FakeGitHub) -> None:
    gh = client(fake)
    assert gh.get_status("c" * 40, "django-migration-ci") is None
    fake.add_status("c" * 40, "success", "other tool", context="ci/other")
    gh.set_status("c" * 40, Status("django-migration-ci", "failure", "Conflicting migrations"),
                  "https://github.test/acme/shop/actions/runs/1")
    assert gh.get_status("c" * 40, "django-migration-ci") == Status(
        "django-migration-ci", "failure", "Conflicting migrations")
    assert fake.latest_status("c" * 40)["target_url"] == \
        "https://github.test/acme/shop/actions/runs/1"
    assert [(r.method, r.path) for r in fake.status_writes()] == [
        ("POST", "/api/v3/repos/acme/shop/statuses/" + "c" * 40)]


def test_a_commit_status_goes_only_to_a_sha(fake: FakeGitHub) -> None:
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake).set_status("../../issues/5", Status("django-migration-ci", "success", ""))
    assert str(excinfo.value) == "'../../issues/5' is not a commit sha. This is a bug; report it."
    assert fake.status_writes() == []


def test_a_used_up_rate_limit_is_told_from_a_missing_permission(fake: FakeGitHub) -> None:
    """GitHub answers 403 for both; a reset beyond the allowed wait is not waited for."""
    fake.fail("GET", r"/repos/acme/shop/commits/[0-9a-f]+/status", 403,
              message="API rate limit exceeded for installation ID 1.",
              headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"})
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake, max_wait=0.01).get_status("c" * 40, "django-migration-ci")
    assert str(excinfo.value) == (
        "GitHub API refused to read the commit status of cccccccccccc: HTTP 403 'API rate limit "
        "exceeded for installation ID 1.'. The token's API rate limit is used up and did not "
        "reset within the wait allowed; run the job again later.")
    assert (excinfo.value.rate_limited, is_permission_error(excinfo.value)) == (True, False)
    fake.failures.clear()
    fake.fail("GET", r"/repos/acme/shop/commits/[0-9a-f]+/status", 403)
    with pytest.raises(GitHubAPIError) as excinfo:
        client(fake).get_status("c" * 40, "django-migration-ci")
    assert (excinfo.value.rate_limited, is_permission_error(excinfo.value)) == (False, True)
