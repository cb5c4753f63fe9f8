"""Temporary project copies: what is copied, what is written in, and the user's tree untouched."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import pytest

import migration_ci.project.tempcopy as materialize_module
from migration_ci.errors import ConfigError
from migration_ci.project.tempcopy import add_untracked, materialize
from migration_ci.repository import git
from tests.support.gitrepo import GitRepo


def write(root: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def listing(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


PROJECT = {
    "manage.py": "",
    ".env": "SECRET=1",
    "settings.py": "",
    "shop/__init__.py": "",
    "shop/migrations/__init__.py": "",
    "shop/migrations/0001_initial.py": "# 1",
    "shop/migrations/0002_old.py": "# 2",
    "shop/sql/report.sql": "SELECT 1;",
    "shop/static/__init__.py": "",  # a Python package named static: needed
    "static/app.css": "",
    "media/upload.png": "",
    "node_modules/x/index.js": "",
    ".git/HEAD": "ref: refs/heads/main",
    ".venv/pyvenv.cfg": "",
    "env2/pyvenv.cfg": "",
    "env2/lib/x.py": "",
    "shop/__pycache__/models.cpython-311.pyc": "",
    "db.sqlite3": "",
    "mci.egg-info/PKG-INFO": "",
}


def test_copies_what_python_needs_and_skips_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, PROJECT)
    with materialize(root) as copy:
        assert copy.name == "proj"
        assert sorted(listing(copy)) == [
            ".env", "manage.py", "settings.py", "shop/__init__.py",
            "shop/migrations/0001_initial.py", "shop/migrations/0002_old.py",
            "shop/migrations/__init__.py", "shop/sql/report.sql", "shop/static/__init__.py",
        ]
    assert not copy.parent.exists()


def test_writes_files_and_extra_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, PROJECT)
    before = listing(root)
    files: dict[str, bytes | None] = {
        "shop/migrations/0002_base.py": b"# base",  # only on the base
        "shop/migrations/0002_old.py": None,  # deleted in the merged result
        "shop/migrations/0001_initial.py": b"# 1 changed",
    }
    extra = {"shop/migrations/0003_merge.py": "# merge"}
    with materialize(root, files, extra) as copy:
        migrations = {
            path: content for path, content in listing(copy).items()
            if path.startswith("shop/migrations/")
        }
    assert migrations == {
        "shop/migrations/0001_initial.py": b"# 1 changed",
        "shop/migrations/0002_base.py": b"# base",
        "shop/migrations/0003_merge.py": b"# merge",
        "shop/migrations/__init__.py": b"",
    }
    assert listing(root) == before


def test_copies_are_not_links(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, {"notes.txt": "original"})
    with materialize(root) as copy:
        (copy / "notes.txt").write_text("changed by the project's code", encoding="utf-8")
    assert (root / "notes.txt").read_text(encoding="utf-8") == "original"


def test_follows_symlinks_out_of_the_project(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, {"manage.py": "", "../shared/common.py": "VALUE = 1"})
    (root / "common.py").symlink_to(tmp_path / "shared" / "common.py")
    (root / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    with materialize(root) as copy:
        assert (copy / "common.py").read_text(encoding="utf-8") == "VALUE = 1"
        assert not (copy / "common.py").is_symlink()


@pytest.mark.parametrize(
    "path",
    [pytest.param("../outside.py", id="parent"), pytest.param("/etc/passwd", id="absolute")],
)
def test_refuses_paths_outside_the_project(tmp_path: Path, path: str) -> None:
    write(tmp_path / "proj", {"manage.py": ""})
    with pytest.raises(ConfigError) as info, materialize(tmp_path / "proj", {path: b"x"}):
        pass
    assert str(info.value) == (
        f"Path {path!r} is not inside the project. "
        "Give migration file paths relative to the project directory."
    )
    assert not (tmp_path / "outside.py").exists()


@pytest.fixture
def memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /dev/shm with room, and TMPDIR unset."""
    directory = tmp_path / "shm"
    directory.mkdir()
    monkeypatch.setattr(materialize_module, "MEMORY_DIR", str(directory))
    monkeypatch.setattr(materialize_module, "MEMORY_MIN_FREE", 1)
    monkeypatch.delenv("TMPDIR", raising=False)
    return directory


def test_the_copy_is_made_in_memory_when_there_is_room(
    tmp_path: Path, memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialize_module, "MEMORY_MAX_COPY", 23)  # exactly what is copied
    write(tmp_path / "proj", PROJECT)
    with materialize(tmp_path / "proj") as copy:
        assert copy.parent.parent == memory
        assert (copy / "shop/migrations/0001_initial.py").read_text(encoding="utf-8") == "# 1"
    assert list(memory.iterdir()) == []


@pytest.mark.parametrize("reason", ["tmpdir", "no room", "directory given", "over budget"])
def test_the_copy_is_made_on_disk_otherwise(
    tmp_path: Path, memory: Path, monkeypatch: pytest.MonkeyPatch, reason: str
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    write(tmp_path / "proj", PROJECT)
    directory = None
    if reason == "tmpdir":
        monkeypatch.setenv("TMPDIR", str(disk))
        monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    elif reason == "no room":
        monkeypatch.setattr(materialize_module, "MEMORY_MIN_FREE", 1 << 62)
        monkeypatch.setattr(tempfile, "tempdir", str(disk))
    elif reason == "over budget":  # the copy holds 23 bytes of files
        monkeypatch.setattr(materialize_module, "MEMORY_MAX_COPY", 22)
        monkeypatch.setattr(tempfile, "tempdir", str(disk))
    else:
        directory = str(disk)
    with materialize(tmp_path / "proj", directory=directory) as copy:
        assert copy.parent.parent == disk
        assert (copy / ".env").read_text(encoding="utf-8") == "SECRET=1"
    assert list(memory.iterdir()) == []


def test_a_copy_that_does_not_fit_in_memory_is_made_on_disk(
    tmp_path: Path, memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(disk))
    write(tmp_path / "proj", PROJECT)
    real_copy = materialize_module.copy_project
    calls: list[Path] = []

    def full_on_first_try(project_dir: Path, copy: Path, budget: int | None = None) -> None:
        calls.append(copy)
        real_copy(project_dir, copy, budget)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(copy / "settings.py"))

    monkeypatch.setattr(materialize_module, "copy_project", full_on_first_try)
    with materialize(tmp_path / "proj", {"shop/migrations/0002_old.py": None}) as copy:
        assert copy.parent.parent == disk
        assert "shop/migrations/0002_old.py" not in listing(copy)
        assert "shop/migrations/0001_initial.py" in listing(copy)
    assert [c.parent.parent for c in calls] == [memory, disk]
    assert list(memory.iterdir()) == [] and list(disk.iterdir()) == []


def test_untracked_files_complete_an_export_but_never_with_migrations(tmp_path: Path) -> None:
    """What a CI step wrote (ignored or not) joins the files of a commit; committed files win,
    and the copy rule and the no-migrations rule still apply."""
    repo = GitRepo(tmp_path / "repo")
    write(repo.root, {
        ".gitignore": "local_settings.py\n.env\n", "settings.py": "from local_settings import *",
        "shop/__init__.py": "", "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": "# 1",
    })
    repo.commit("project")
    write(repo.root, {
        "local_settings.py": "DEBUG = True", ".env": "SECRET=1", "notes/todo.txt": "t",
        "settings.py": "edited, not committed", "shop/migrations/0002_stray.py": "# stray",
        "plugin/__init__.py": "", "plugin/migrations/0001_initial.py": "# p",
        ".venv/pyvenv.cfg": "", "shop/__pycache__/models.cpython-311.pyc": "", "db.sqlite3": "",
    })
    export = tmp_path / "export"
    write(export, {"settings.py": "from local_settings import *",
                   "shop/migrations/0001_initial.py": "# 1"})
    add_untracked(repo.root, git.untracked_paths(repo.root), export)
    assert listing(export) == {
        ".env": b"SECRET=1",
        "local_settings.py": b"DEBUG = True",
        "notes/todo.txt": b"t",
        "plugin/__init__.py": b"",
        "settings.py": b"from local_settings import *",
        "shop/migrations/0001_initial.py": b"# 1",
    }
