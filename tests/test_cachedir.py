"""Where the caches live, and that a broken cache file is only a cache miss."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from migration_ci.cachedir import cache_dir, load_entries, save_entries


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"MIGRATION_CI_NO_CACHE": "1", "MIGRATION_CI_CACHE_DIR": "/c"}, None,
                     id="turned off"),
        pytest.param({"MIGRATION_CI_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}, Path("/c"),
                     id="its own variable first"),
        pytest.param({"XDG_CACHE_HOME": "/x"}, Path("/x/django-migration-ci"), id="XDG"),
        pytest.param({}, Path.home() / ".cache" / "django-migration-ci", id="home"),
    ],
)
def test_cache_dir(environ: dict[str, str], expected: Path | None) -> None:
    assert cache_dir(environ) == expected


def test_entries_round_trip_and_a_bad_file_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.bin"
    save_entries(path, "v1", {("a", 1): b"x"})
    assert load_entries(path, "v1") == {("a", 1): b"x"}
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert load_entries(path, "v2") == {}  # another format
    assert load_entries(None, "v1") == {}
    path.write_bytes(b"not marshal data")
    assert load_entries(path, "v1") == {}
    path.write_bytes(marshal.dumps(("v1", ["not", "a", "dict"])))
    assert load_entries(path, "v1") == {}


def test_a_cache_that_cannot_be_written_does_not_fail(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    save_entries(blocker / "cache.bin", "v1", {"a": 1})  # its folder is a file
    save_entries(tmp_path / "cache.bin", "v1", {"a": object()})  # marshal cannot write it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "cache.bin"
    target.mkdir()  # the rename onto a folder fails
    save_entries(target, "v1", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin"]
