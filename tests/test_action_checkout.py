"""The Action's work on a real checkout (activities/action_checkout.py): which base and head it
fetches and judges, and how a failing command line is reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.action_checkout import (
    build_report,
    commit_fix,
    connect_history,
    find_base,
    find_head,
    push_config,
)
from migration_ci.errors import ConfigError
from migration_ci.github.event import Event
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.repository import git
from tests.support.gitrepo import GitRepo
from tests.test_action_e2e import Checkout, make_checkout, serve_checkout

pytestmark = pytest.mark.slow


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    return make_checkout(tmp_path)


def test_the_base_ref_input_is_fetched_and_judged_against(checkout: Checkout) -> None:
    base = find_base(checkout.workspace, Inputs(base_ref="origin/main"), Event("pull_request"))
    assert base == "origin/main"
    assert git.resolve_commit(checkout.workspace, "origin/main") == checkout.base_sha
    assert git.merge_base(checkout.workspace, "HEAD", "origin/main") == checkout.base_sha


@pytest.mark.parametrize(
    "event",
    [pytest.param(Event("workflow_dispatch"), id="another event"),
     pytest.param(Event("pull_request", head_sha="f" * 40), id="no base in the event")],
)
def test_without_a_base_the_tree_is_judged_alone(checkout: Checkout, event: Event) -> None:
    assert find_base(checkout.workspace, Inputs(), event) is None


def test_a_head_that_cannot_be_fetched_judges_the_tree(checkout: Checkout) -> None:
    event = Event("pull_request", head_sha="f" * 40, base_sha=checkout.base_sha)
    assert find_head(checkout.workspace, event) is None


def test_histories_that_never_meet_are_fetched_whole(tmp_path: Path) -> None:
    """No depth of fetching finds a merge base for an unrelated base: the clone unshallows."""
    author = GitRepo(tmp_path / "author")
    author.write("a.txt", "1")
    first = author.commit("one")
    for n in range(3):
        author.write("a.txt", str(n))
        author.commit(f"more {n}")
    author.git("checkout", "-q", "--orphan", "lonely")
    author.write("b.txt", "x")
    lonely = author.commit("unrelated")
    author.git("checkout", "-q", "main")
    tip = author.git("rev-parse", "HEAD")
    checkout = serve_checkout(tmp_path, author, first, tip, tip)
    assert git.is_shallow(checkout.workspace)
    connect_history(checkout.workspace, lonely)
    assert not git.is_shallow(checkout.workspace)
    assert git.has_commit(checkout.workspace, first)


def failing_tool(code: int = 2) -> Any:
    asked: list[list[str]] = []

    def tool(args: list[str]) -> tuple[int, str, str]:
        asked.append(list(args))
        return code, "", "migration-ci: something broke\n"

    tool.asked = asked  # type: ignore[attr-defined]
    return tool


def test_the_install_command_runs_first_and_a_failing_report_is_named(
    checkout: Checkout,
) -> None:
    inputs = Inputs(install_command="touch installed", cache=False, verify=False)
    context = RunContext(workspace=str(checkout.workspace))
    tool = failing_tool()
    with pytest.raises(ConfigError) as info:
        build_report(inputs, context, Event("workflow_dispatch"), tool)
    assert str(info.value) == (
        "migration-ci report failed (exit 2): migration-ci: something broke")
    assert (checkout.workspace / "installed").is_file()
    assert tool.asked == [["report", "--format", "json", "--root", str(checkout.workspace),
                           "--working-directory", ".", "--no-plan", "--no-verify", "--no-cache"]]


def test_a_failing_fix_is_named(checkout: Checkout) -> None:
    event = Event("pull_request", head_ref="feature", base_ref="main")
    context = RunContext(workspace=str(checkout.workspace))
    with pytest.raises(ConfigError) as info:
        commit_fix(Inputs(), context, event, {}, failing_tool(3))
    assert str(info.value) == "migration-ci fix failed (exit 3): migration-ci: something broke"


def test_no_token_keeps_the_push_configuration_as_it_is() -> None:
    assert push_config(RunContext(), "") == []
