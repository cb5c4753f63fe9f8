from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch ``main`` with a fixed identity and clock."""
    return GitRepo(tmp_path / "repo")


def pytest_configure(config: pytest.Config) -> None:
    """Keep the parse cache of test runs out of the developer's home folder."""
    import os
    import tempfile

    os.environ.setdefault(
        "MIGRATION_CI_CACHE_DIR", tempfile.mkdtemp(prefix="migration-ci-test-cache-")
    )
