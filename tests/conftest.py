from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fake_github import FakeGitHub, FakeGitHubServer
from tests.support.gitrepo import GitRepo

if TYPE_CHECKING:
    from tests.test_action_e2e import Checkout


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch ``main`` with a fixed identity and clock."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A local HTTP server speaking the GitHub REST endpoints the Action uses."""
    with FakeGitHubServer() as fake:
        yield fake


@pytest.fixture
def checkout(tmp_path: Path, fake: FakeGitHub) -> Checkout:
    """A clone shaped like actions/checkout's pull-request merge checkout, PR #5 on ``fake``."""
    from tests.test_action_e2e import make_checkout

    checkout = make_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    return checkout


_CACHE_DIRS: list[str] = []
FIXED_CLOCK_DIR = Path(__file__).parent / "support" / "fixedclock"
TEST_NOW = "2024-01-01 12:00"  # the moment Django's migration writer sees in every test


def pytest_configure(config: pytest.Config) -> None:
    """Keep the parse cache of test runs out of the developer's home folder, and give every
    Python process the tests start Django's migration clock fixed at ``TEST_NOW``
    (tests/support/fixedclock/sitecustomize.py)."""
    import os
    import tempfile

    if "MIGRATION_CI_CACHE_DIR" not in os.environ:
        _CACHE_DIRS.append(tempfile.mkdtemp(prefix="migration-ci-test-cache-"))
        os.environ["MIGRATION_CI_CACHE_DIR"] = _CACHE_DIRS[-1]
    os.environ.setdefault("MIGRATION_CI_TEST_NOW", TEST_NOW)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(FIXED_CLOCK_DIR) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(FIXED_CLOCK_DIR), *paths])


@pytest.fixture(autouse=True)
def fixed_migration_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same fixed clock in the test process (its Django modules may be loaded already)."""
    import importlib
    import os

    from tests.support.fixedclock.sitecustomize import fixed, moment

    for name, values in fixed(moment(os.environ["MIGRATION_CI_TEST_NOW"])).items():
        module = importlib.import_module(name)
        for attribute, value in values.items():
            monkeypatch.setattr(module, attribute, value)


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    for directory in _CACHE_DIRS:
        shutil.rmtree(directory, ignore_errors=True)
