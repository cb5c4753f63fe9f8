"""Atomic file writes: each file whole or not at all, and a set of files all or none.

A file is written to a temporary sibling, flushed to disk, then moved into place with
``os.replace`` so readers never see half a file. A set of writes (and removals) stages
every file first and rolls back what was already moved if one step fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from migration_ci.errors import FixError

Content = str | bytes


def write_atomic(path: Path, text: Content) -> None:
    """Replace ``path`` with ``text`` atomically, keeping an existing file's mode."""
    write_files_atomically({path: text})


def write_files_atomically(
    mapping: Mapping[Path, Content], *, remove: Iterable[Path] = (), exclusive: bool = False
) -> None:
    """Write every file in ``mapping`` and remove every path in ``remove``, or change nothing.

    ``exclusive`` refuses to overwrite a file that exists (also one created meanwhile)
    unless it is in ``remove``. Raises FixError naming the path that could not be written.
    """
    removals = [Path(p) for p in remove]
    staged: dict[Path, Path] = {}
    try:
        for path, text in mapping.items():
            if exclusive and os.path.lexists(path) and path not in removals:
                raise exists_error(path)
            staged[path] = stage(path, text)
        commit(staged, removals, exclusive=exclusive)
    finally:
        for temp in staged.values():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def stage(path: Path, text: Content) -> Path:
    """Write ``text`` to a flushed temporary file next to ``path`` with ``path``'s mode."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise write_error(path, error) from error
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, get_mode(path))
    except OSError as error:
        temp.unlink()
        raise write_error(path, error) from error
    return temp


def commit(staged: Mapping[Path, Path], remove: list[Path], *, exclusive: bool) -> None:
    """Move staged files into place and removed files aside; undo everything on failure."""
    done: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
    try:
        for target in remove:
            moved_aside = backup_path(target)
            os.replace(target, moved_aside)
            done.append((target, moved_aside))
        for target, temp in staged.items():
            backup = keep_copy(target) if os.path.lexists(target) else None
            place(temp, target, exclusive=exclusive)
            done.append((target, backup))
    except OSError as error:
        rollback(done)
        if isinstance(error, FileExistsError):
            raise exists_error(target) from error
        raise write_error(target, error) from error
    for _, leftover in done:
        if leftover is not None:
            leftover.unlink()
    for directory in {target.parent for target, _ in done}:
        fsync_dir(directory)


def place(temp: Path, target: Path, *, exclusive: bool) -> None:
    if exclusive:
        # link() fails if the target appeared meanwhile; replace() would clobber it.
        os.link(temp, target)
        temp.unlink()
    else:
        os.replace(temp, target)


def rollback(done: list[tuple[Path, Path | None]]) -> None:
    for target, backup in reversed(done):
        if backup is None:
            target.unlink()
        else:
            os.replace(backup, target)


def keep_copy(target: Path) -> Path:
    """A hard link (or, where links are not supported, a copy) of ``target`` to restore."""
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    backup = backup_path(target)
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup


def backup_path(target: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".bak")
    os.close(fd)
    os.unlink(name)
    return Path(name)


def get_mode(path: Path) -> int:
    """The mode of the file being replaced, else what ``open()`` would create."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def exists_error(path: Path) -> FixError:
    return FixError(f"Refusing to overwrite existing file '{path}'.",
                    "Delete or rename it, then run the fix again.")


def write_error(path: Path, error: OSError) -> FixError:
    reason = error.strerror or str(error)
    return FixError(f"Cannot write '{path}': {reason}.",
                    "Check that the folder exists and is writable, then run the fix again.")
