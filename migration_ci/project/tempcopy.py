"""A temporary copy of the project holding another set of migration files.

Verifying a merged result (this branch plus the base, plus merge migrations a fix would
write) needs those files on disk where Python imports them, and the user's tree must not
change. The copy is of real files, never hard links: a link would let code run during
verification (a log file opened for writing, a data file rewritten) change the user's file.

What is copied: every file except version-control and tool directories, virtualenvs,
``node_modules``, ``__pycache__``/``*.pyc`` and SQLite database files, and the ``media``,
``static``, ``staticfiles`` directories that are not Python packages. Non-Python files stay
(settings may read a ``.env``; a migration may read an ``.sql`` file next to it). Symlinks
are followed, so a link to a file outside the project still works in the copy.

Where: in ``/dev/shm`` when it has room (at least 1 GiB free) and ``TMPDIR`` is not set, else in
the temporary directory. Creating thousands of small files costs several times more on a disk
filesystem than in memory. The copy may take at most a quarter of the free memory and 256 MiB
(other programs, PostgreSQL among them, use ``/dev/shm`` too); a bigger one is made on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from migration_ci.errors import ConfigError

SKIPPED_DIRS = frozenset({
    "node_modules", "__pycache__", "site-packages", "__pypackages__", "htmlcov",
})
ASSET_DIRS = frozenset({"media", "static", "staticfiles"})  # skipped unless a Python package
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".sqlite3", ".sqlite", ".db")
MIGRATIONS = "migrations"
MEMORY_DIR = "/dev/shm"
MEMORY_MIN_FREE = 1 << 30
MEMORY_MAX_COPY = 256 << 20


@contextlib.contextmanager
def materialize(
    project_dir: Path,
    files: Mapping[str, bytes | None] | None = None,
    extra: Mapping[str, str] | None = None,
    *,
    directory: str | None = None,
) -> Iterator[Path]:
    """Yield a temporary copy of ``project_dir`` with ``files`` and ``extra`` written in.

    Paths are POSIX and relative to ``project_dir``. In ``files`` a value of None removes the
    file (a migration the merged result deletes); ``extra`` adds text files (merge migrations).
    ``directory``: where to make the copy (default: see the module). The copy is removed on exit.
    """
    budget = memory_budget() if directory is None else 0
    parent = Path(tempfile.mkdtemp(prefix="migration-ci-project-",
                                   dir=MEMORY_DIR if budget else directory))
    try:
        copy = parent / project_dir.resolve().name
        try:
            copy_project(project_dir, copy, budget or None)
        except (OverBudget, OSError, shutil.Error):
            if not budget:
                raise
            shutil.rmtree(parent, ignore_errors=True)  # too big for memory: on disk instead
            parent = Path(tempfile.mkdtemp(prefix="migration-ci-project-"))
            copy = parent / project_dir.resolve().name
            copy_project(project_dir, copy)
        write_files(copy, files or {})
        write_files(copy, {path: text.encode("utf-8") for path, text in (extra or {}).items()})
        yield copy
    finally:
        shutil.rmtree(parent, ignore_errors=True)


class OverBudget(Exception):
    """The copy would take more than its budget; not an OSError, so copytree stops at once."""


def copy_project(project_dir: Path, copy: Path, budget: int | None = None) -> None:
    """Copy by the module's rule; ``OverBudget`` when the files exceed ``budget`` bytes."""
    copy_function: Callable[[str, str], object] = shutil.copyfile
    if budget is not None:
        left = budget

        def copy_function(source: str, target: str) -> object:
            nonlocal left
            left -= os.stat(source).st_size
            if left < 0:
                raise OverBudget(target)
            return shutil.copyfile(source, target)

    shutil.copytree(project_dir, copy, ignore=ignore_unneeded, ignore_dangling_symlinks=True,
                    copy_function=copy_function)


def memory_budget() -> int:
    """The bytes the copy may take in ``/dev/shm`` (see the module); 0: make it on disk."""
    if os.environ.get("TMPDIR") or not os.access(MEMORY_DIR, os.W_OK | os.X_OK):
        return 0
    try:
        stats = os.statvfs(MEMORY_DIR)
    except OSError:
        return 0
    free = stats.f_bavail * stats.f_frsize
    return min(MEMORY_MAX_COPY, free // 4) if free >= MEMORY_MIN_FREE else 0


def ignore_unneeded(directory: str, names: list[str]) -> set[str]:
    """``shutil.copytree`` ignore function implementing the module's copy rule."""
    ignored = set()
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            if is_unneeded_dir(path, name):
                ignored.add(name)
        elif name.endswith(SKIPPED_SUFFIXES):
            ignored.add(name)
    return ignored


def is_unneeded_dir(path: str, name: str) -> bool:
    if name.startswith(".") or name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    if os.path.exists(os.path.join(path, "pyvenv.cfg")):  # a virtualenv of any name
        return True
    return name in ASSET_DIRS and not os.path.exists(os.path.join(path, "__init__.py"))


def add_untracked(source: Path, paths: Iterable[str], dest: Path) -> None:
    """Copy into ``dest`` what git does not track in ``source`` (``paths`` relative to it; a
    trailing "/" names a whole directory): settings completed by a CI step, a ``.env``.

    The module's copy rule applies, a file ``dest`` already has is kept (committed files win),
    and no ``migrations`` folder is copied: migrations come from the commits being judged.
    """
    for path in paths:
        relative = safe_relative(path.rstrip("/"))
        origin, target = source / relative, dest / relative
        if is_unneeded_path(source, relative) or target.exists() or target.is_symlink():
            continue
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=ignore_untracked,
                            ignore_dangling_symlinks=True)
        elif origin.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)


def ignore_untracked(directory: str, names: list[str]) -> set[str]:
    """``ignore_unneeded``, and every ``migrations`` folder."""
    return ignore_unneeded(directory, names) | ({MIGRATIONS} & set(names))


def is_unneeded_path(root: Path, relative: PurePosixPath) -> bool:
    """Whether the module's rule (or the no-migrations rule) leaves ``root/relative`` out."""
    folder = root
    for part in relative.parts[:-1]:
        folder = folder / part
        if part == MIGRATIONS or is_unneeded_dir(str(folder), part):
            return True
    path = root / relative
    if path.is_dir():
        return relative.name == MIGRATIONS or is_unneeded_dir(str(path), relative.name)
    return relative.name.endswith(SKIPPED_SUFFIXES)


def write_files(root: Path, files: Mapping[str, bytes | None]) -> None:
    for relative, content in sorted(files.items()):
        target = root / safe_relative(relative)
        if content is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise ConfigError(
            f"Path {path!r} is not inside the project.",
            "Give migration file paths relative to the project directory.",
        )
    return relative
