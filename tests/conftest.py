from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch ``main`` with a fixed identity and clock."""
    return GitRepo(tmp_path / "repo")


_CACHE_DIRS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Keep the parse cache of test runs out of the developer's home folder."""
    import os
    import tempfile

    if "MIGRATION_CI_CACHE_DIR" not in os.environ:
        _CACHE_DIRS.append(tempfile.mkdtemp(prefix="migration-ci-test-cache-"))
        os.environ["MIGRATION_CI_CACHE_DIR"] = _CACHE_DIRS[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    for directory in _CACHE_DIRS:
        shutil.rmtree(directory, ignore_errors=True)
