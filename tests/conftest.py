from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch ``main`` with a fixed identity and clock."""
    return GitRepo(tmp_path / "repo")
