"""The parse cache gives the same specs as a fresh parse, and never a stale one."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_ci.graph import scan
from migration_ci.parsecache import ParseCache, cache_dir
from tests.support.gitrepo import migration

FILES = {
    "shop/__init__.py": b"",
    "shop/migrations/__init__.py": b"",
    "shop/migrations/0001_initial.py": migration().encode(),
    "shop/migrations/0002_b.py": migration([("shop", "0001_initial")]).encode(),
}


class CountingReader:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def __call__(self, paths: object) -> dict[str, bytes]:
        return {p: self.files[p] for p in paths}  # type: ignore[attr-defined]


def load(files: dict[str, bytes], cache: ParseCache | None) -> list[object]:
    read = CountingReader(files)
    packages = scan.find_packages(list(files), read)
    return list(scan.load_specs(packages, read, "auth.User", cache))


def test_warm_run_equals_cold_run_and_parses_nothing(tmp_path: Path) -> None:
    cold = load(FILES, None)
    first = ParseCache(tmp_path)
    assert load(FILES, first) == cold
    first.save()
    warm = ParseCache(tmp_path)
    assert load(FILES, warm) == cold
    assert len(warm._used) == 2  # both files served from the cache...
    assert warm._dirty is False  # ...and nothing parsed or stored again


def test_changed_file_is_parsed_again(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    load(FILES, cache)
    cache.save()
    changed = {**FILES, "shop/migrations/0002_b.py": migration([]).encode()}
    specs = load(changed, ParseCache(tmp_path))
    assert [s.dependencies for s in specs] == [(), ()]  # type: ignore[attr-defined]


def test_corrupt_cache_is_a_miss(tmp_path: Path) -> None:
    (tmp_path / "parse.marshal").write_bytes(b"\xffnot marshal data")
    assert load(FILES, ParseCache(tmp_path)) == load(FILES, None)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"MIGRATION_CI_NO_CACHE": "1", "MIGRATION_CI_CACHE_DIR": "/x"}, None, id="off"
        ),
        pytest.param({"MIGRATION_CI_CACHE_DIR": "/x"}, Path("/x"), id="explicit"),
        pytest.param({"XDG_CACHE_HOME": "/c"}, Path("/c/django-migration-ci"), id="xdg"),
    ],
)
def test_cache_dir(environ: dict[str, str], expected: Path | None) -> None:
    assert cache_dir(environ) == expected
