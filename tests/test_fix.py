"""Writing fixes: merge files, rebases, and the all-or-nothing file writes under them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from migration_ci.activities.fix import FixResult, fix_conflicts
from migration_ci.atomic import write_atomic, write_files_atomically
from migration_ci.errors import FixError
from migration_ci.fix.merge import describe_conflicts
from migration_ci.graph.specs import Conflict, Key, Leaf, MigrationSpec, Side
from tests.test_merge import DjangoGraph, spec, specs_of
from tests.test_rebase import base_history, write_tree


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def forked(*apps: str) -> dict[Key, MigrationSpec]:
    """Each app: 0001_initial, then 0002_a and 0002_b both after it."""
    return specs_of(*(item for app in apps for item in (
        spec("0001_initial", app=app), spec("0002_a", "0001_initial", app=app),
        spec("0002_b", "0001_initial", app=app))))


def conflicts_of(specs: dict[Key, MigrationSpec], branch: set[str] = frozenset()
                 ) -> tuple[Conflict, ...]:
    def side_of(path: str) -> Side:
        return "branch" if path.rsplit("/", 1)[-1][:-3] in branch else "base"

    apps = {app for app, _ in specs}
    return describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                              {app: f"{app}/migrations" for app in apps})


def test_merge_writes_one_file_per_app(tmp_path: Path) -> None:
    specs = forked("billing", "shop")
    write_tree(tmp_path, specs, {})
    before = files(tmp_path)

    result = fix_conflicts(tmp_path, conflicts_of(specs), specs, strategy="merge",
                           include_header=False)

    assert result == FixResult(
        written=("billing/migrations/0003_merge_0002_a_0002_b.py",
                 "shop/migrations/0003_merge_0002_a_0002_b.py"),
        messages=(
            "Created merge migration billing/migrations/0003_merge_0002_a_0002_b.py "
            "(merges 0002_a, 0002_b).",
            "Created merge migration shop/migrations/0003_merge_0002_a_0002_b.py "
            "(merges 0002_a, 0002_b).",
        ),
    )
    after = files(tmp_path)
    assert set(after) - set(before) == set(result.written)
    assert after["shop/migrations/0003_merge_0002_a_0002_b.py"].decode() == (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n\n"
        "    dependencies = [\n"
        "        ('shop', '0002_a'),\n"
        "        ('shop', '0002_b'),\n"
        "    ]\n\n"
        "    operations = [\n"
        "    ]\n"
    )


def test_merge_never_overwrites_and_writes_nothing_then(tmp_path: Path) -> None:
    specs = forked("billing", "shop")
    write_tree(tmp_path, specs, {})
    existing = tmp_path / "shop/migrations/0003_merge_0002_a_0002_b.py"
    existing.write_text("# mine\n")
    before = files(tmp_path)
    with pytest.raises(FixError) as error:
        fix_conflicts(tmp_path, conflicts_of(specs), specs, strategy="merge")
    assert str(error.value) == (
        f"Refusing to overwrite existing file '{existing.resolve()}'. "
        "Delete or rename it, then run the fix again."
    )
    assert files(tmp_path) == before


def test_merge_error_is_raised_before_anything_is_written(tmp_path: Path) -> None:
    specs = {**forked("billing"), **specs_of(spec("0001_initial"), spec("0001_other"))}
    write_tree(tmp_path, specs, {})
    before = files(tmp_path)
    with pytest.raises(FixError) as error:
        fix_conflicts(tmp_path, conflicts_of(specs), specs, strategy="merge")
    assert str(error.value) == (
        "Migrations 0001_initial and 0001_other in app 'shop' share no common ancestor, so "
        "Django cannot merge them. Make one depend on the other, or delete one and run "
        "makemigrations."
    )
    assert files(tmp_path) == before


@pytest.mark.parametrize(
    ("migrations_dir", "link"),
    [
        pytest.param("../outside/migrations", False, id="dotdot path"),
        pytest.param("shop/migrations", True, id="symlinked folder pointing outside"),
    ],
)
def test_merge_refuses_to_write_outside_the_migrations_folder(
    tmp_path: Path, migrations_dir: str, link: bool
) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside/migrations"
    outside.mkdir(parents=True)
    (root / "shop").mkdir(parents=True)
    if link:
        (root / "shop/migrations").symlink_to(outside)
    conflict = Conflict("shop", migrations_dir, (Leaf("0002_a", ""), Leaf("0002_b", "")),
                        "0003_merge_0002_a_0002_b",
                        (("shop", "0002_a"), ("shop", "0002_b")), ())
    with pytest.raises(FixError) as error:
        fix_conflicts(root, [conflict], {}, strategy="merge")
    assert str(error.value) == (
        f"Refusing to write '{outside.resolve()}/0003_merge_0002_a_0002_b.py': it is outside "
        f"the migrations folder '{migrations_dir}' of app 'shop' under '{root}'. "
        "Check the app's migrations folder (symbolic links are followed)."
    )
    assert list(outside.iterdir()) == []


def test_merge_without_formatters_leaves_black_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "black").write_text(f"#!/bin/sh\ntouch {tmp_path}/called\n")
    (bin_dir / "black").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]))
    specs = forked("shop")
    write_tree(tmp_path / "root", specs, {})
    fix_conflicts(tmp_path / "root", conflicts_of(specs), specs, strategy="merge",
                  run_formatters=False)
    assert not (tmp_path / "called").exists()
    with pytest.raises(FixError):
        fix_conflicts(tmp_path / "root", conflicts_of(forked("billing")), specs,
                      strategy="merge")
    assert not (tmp_path / "called").exists()  # billing has no folder: refused before black


def test_rebase_strategy_renames_and_reports(tmp_path: Path) -> None:
    specs = base_history(spec("0007_add_sku", "0006_x"), spec("0008_more", "0007_add_sku"))
    write_tree(tmp_path, specs, {})
    conflicts = conflicts_of(specs, {"0007_add_sku", "0008_more"})

    result = fix_conflicts(tmp_path, conflicts, specs, strategy="rebase",
                           graph=DjangoGraph.from_specs(specs))

    assert result == FixResult(
        written=("shop/migrations/0008_add_sku.py", "shop/migrations/0009_more.py"),
        renamed=(("shop/migrations/0007_add_sku.py", "shop/migrations/0008_add_sku.py"),
                 ("shop/migrations/0008_more.py", "shop/migrations/0009_more.py")),
        messages=("Rebased app 'shop' onto 0007_price_index: 0007_add_sku -> 0008_add_sku, "
                  "0008_more -> 0009_more.",),
    )
    assert not (tmp_path / "shop/migrations/0007_add_sku.py").exists()


def test_rebase_needs_one_base_leaf(tmp_path: Path) -> None:
    specs = forked("shop")
    with pytest.raises(FixError) as error:
        fix_conflicts(tmp_path, conflicts_of(specs), specs, strategy="rebase",
                      graph=DjangoGraph.from_specs(specs))
    assert str(error.value) == (
        "Cannot rebase: app 'shop' needs exactly one leaf from the base, found 0002_a, 0002_b. "
        "Use --strategy merge."
    )


# --- atomic writes ------------------------------------------------------------------------


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "0001_initial.py"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new\n", 0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["0001_initial.py"]


def test_write_atomic_new_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.py", "x = 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.py").stat().st_mode) == 0o640


def test_failure_while_staging_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FixError) as error:
        write_files_atomically({tmp_path / "a.py": "a\n", tmp_path / "missing/b.py": "b\n"})
    assert str(error.value) == (
        f"Cannot write '{tmp_path}/missing/b.py': No such file or directory. "
        "Check that the folder exists and is writable, then run the fix again."
    )
    assert list(tmp_path.iterdir()) == []


def test_failure_while_moving_into_place_rolls_back(tmp_path: Path) -> None:
    """The second target is a directory: the first file and the removal are undone."""
    (tmp_path / "kept.py").write_text("original\n")
    (tmp_path / "old.py").write_text("to remove\n")
    (tmp_path / "dir.py").mkdir()
    before = files(tmp_path)
    with pytest.raises(FixError) as error:
        write_files_atomically(
            {tmp_path / "kept.py": "changed\n", tmp_path / "new.py": "new\n",
             tmp_path / "dir.py": "cannot\n"},
            remove=[tmp_path / "old.py"],
        )
    assert str(error.value).startswith(f"Cannot write '{tmp_path}/dir.py': Is a directory.")
    assert files(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.py", "kept.py", "old.py"]
