"""The commit status: its description from a report (pure), and the pull request's own run
setting it through a recording double of the API."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.action import Event, Services, run_pr_report
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.github.workflow import Workflow
from migration_ci.report.status import Status, context_for, describe
from tests.support import sample_report
from tests.test_action_glue import PR_EVENT, RecordingGitHub

A, B = "a" * 40, "b" * 40
CONTEXT = "django-migration-ci"


def leaf(name: str, side: str, app: str = "shop") -> dict[str, str]:
    return {"name": name, "path": f"{app}/migrations/{name}.py", "side": side}


def report(*conflicts: dict[str, Any], working_directory: str = ".") -> dict[str, Any]:
    return {"base": {"ref": "main", "sha": A}, "head": {"sha": B},
            "working_directory": working_directory, "check": {"conflicts": list(conflicts)}}


@pytest.mark.parametrize(
    ("document", "commits", "description"),
    [
        pytest.param(report(), {}, "No conflicting migrations when merged with main at "
                                   "aaaaaaaaaaaa", id="clean"),
        pytest.param({"check": {"conflicts": []}}, {}, "No conflicting migrations",
                     id="clean, no base"),
        pytest.param(report({"app_label": "shop", "leaves": [
            leaf("0002_add_sku", "branch"), leaf("0002_price_index", "base")]}),
            {"shop/migrations/0002_price_index.py": "c" * 40},
            "Conflicting migrations in shop: 0002_add_sku vs 0002_price_index from main "
            "cccccccccccc", id="the base commit that added the base's leaf"),
        pytest.param(report({"app_label": "shop", "leaves": [
            leaf("0002_add_sku", "branch"), leaf("0002_price_index", "base")]}), {},
            "Conflicting migrations in shop: 0002_add_sku vs 0002_price_index from main",
            id="that commit unknown"),
        pytest.param(report({"app_label": "shop", "leaves": [
            leaf("0002_a", "branch"), leaf("0002_b", "branch")]}), {},
            "Conflicting migrations in shop: 0002_a and 0002_b", id="both in the pull request"),
        pytest.param(report(
            {"app_label": "blog", "leaves": [leaf("0009_x", "both", "blog"),
                                             leaf("0009_y", "base", "blog")]},
            {"app_label": "shop", "leaves": [leaf("0002_add_sku", "branch"),
                                             leaf("0002_price_index", "base")]}),
            {"blog/migrations/0009_y.py": "d" * 40},
            "Conflicting migrations in blog: 0009_x vs 0009_y from main dddddddddddd; shop: "
            "0002_add_sku vs 0002_price_index from main", id="two apps"),
        pytest.param(report({"app_label": "shop\n::error::x", "leaves": [
            leaf("0002_\x1b[31mred", "branch"), leaf("0002_" + "y" * 200, "base")]}), {},
            "Conflicting migrations in shop ::error::x: 0002_ [31mred vs 0002_"
            + "y" * 54 + "… from main", id="untrusted names: one printable line, cut"),
    ],
)
def test_describe(document: dict[str, Any], commits: dict[str, str], description: str) -> None:
    status = describe(document, commits)
    assert status == Status(CONTEXT, "success" if "No " in description else "failure",
                            description)


def test_a_description_never_exceeds_githubs_limit() -> None:
    conflicts = [{"app_label": f"app{i}", "leaves": [leaf("0002_mine", "branch", f"app{i}"),
                                                      leaf("0002_theirs", "base", f"app{i}")]}
                 for i in range(5)]
    description = describe(report(*conflicts), {}).description
    assert description == ("Conflicting migrations in app0: 0002_mine vs 0002_theirs from main; "
                           "app1: 0002_mine vs 0002_theirs from main; app2: 0002_mine vs "
                           "0002_their…")
    assert len(description) == 140


@pytest.mark.parametrize(("where", "context"), [
    pytest.param(".", CONTEXT, id="the repository root"),
    pytest.param("backend", f"{CONTEXT} (backend)", id="a project folder"),
])
def test_one_context_per_working_directory(where: str, context: str) -> None:
    assert context_for(where) == context
    assert describe(report(working_directory=where), {}).context == context


@pytest.mark.parametrize(
    ("current", "same"),
    [
        pytest.param(None, False, id="none yet"),
        pytest.param(Status(CONTEXT, "success", "No conflicting migrations when merged with main "
                                                "at 000000000000"), True,
                     id="a success judged on another base commit"),
        pytest.param(Status(CONTEXT, "failure", "Conflicting migrations in shop: 0002_x"), False,
                     id="a failure"),
        pytest.param(Status(f"{CONTEXT} (backend)", "success", ""), False,
                     id="another context"),
    ],
)
def test_a_success_is_not_written_again_for_a_new_base_commit(current: Status | None,
                                                             same: bool) -> None:
    assert describe(report(), {}).says_the_same(current) is same


def own_run(tmp_path: Path, github: RecordingGitHub, document: dict[str, Any],
            event: Event = PR_EVENT) -> str:
    stream = io.StringIO()
    services = Services(
        workflow=Workflow(str(tmp_path / "output"), str(tmp_path / "summary"), stream),
        build_report=lambda e: document, connect=lambda: github,
        commit_fix=lambda e, r: "", find_base_commits=lambda r: {
            "shop/migrations/0007_price_index.py": "c" * 40})
    context = RunContext(workspace=str(tmp_path), repository="acme/shop", run_id="9")
    run_pr_report(Inputs(), context, event, services)
    return stream.getvalue()


def test_the_pull_requests_own_run_sets_the_status_on_its_head(tmp_path: Path) -> None:
    github = RecordingGitHub()
    own_run(tmp_path, github, sample_report.conflicted())
    assert github.statuses == [(PR_EVENT.head_sha, Status(
        CONTEXT, "failure", "Conflicting migrations in shop: 0007_add_sku vs 0007_price_index "
                            "from main cccccccccccc"))]
    own_run(tmp_path, github, sample_report.conflicted())
    assert len(github.statuses) == 1  # it already says so


def test_a_merge_queue_gets_the_status_on_its_own_commit(tmp_path: Path) -> None:
    github = RecordingGitHub()
    group = Event("merge_group", head_sha="e" * 40, base_sha=A, base_ref="main")
    own_run(tmp_path, github, sample_report.clean(), event=group)
    assert [(sha, status.state) for sha, status in github.statuses] == [("e" * 40, "success")]


def test_a_forks_run_leaves_the_status_to_the_recheck(tmp_path: Path) -> None:
    github = RecordingGitHub()
    fork = Event("pull_request", 5, "h" * 40, "feature", "fork/shop", B, "main", "acme/shop")
    log = own_run(tmp_path, github, sample_report.conflicted(), event=fork)
    assert github.statuses == []
    assert "The commit status is left to the recheck after pushes to the base: a pull request " \
           "from a fork runs with a read-only token.\n" in log


def test_without_statuses_write_a_warning_and_nothing_else_lost(tmp_path: Path) -> None:
    github = RecordingGitHub(refuse_statuses=403)
    log = own_run(tmp_path, github, sample_report.conflicted())
    assert "::warning title=django-migration-ci::The commit status was not set: refused Give " \
           "the job 'permissions%3A statuses%3A write' " not in log  # a message, not a property
    assert "::warning title=django-migration-ci::The commit status was not set: refused Give " \
           "the job 'permissions: statuses: write' (README: \"Commit status\"); the report, the " \
           "comment and the outputs do not depend on it.\n" in log
    assert [kind for kind, _, _ in github.writes] == ["create"]
    assert "comment-url=https://c/1" in (tmp_path / "output").read_text()
