"""Where the caches kept outside the repository live (parse cache, compiled code).

``$MIGRATION_CI_CACHE_DIR``, else ``$XDG_CACHE_HOME/django-migration-ci``, else
``~/.cache/django-migration-ci``; ``MIGRATION_CI_NO_CACHE=1`` turns them off. A module of its
own so that the worker process can find them without importing the parser; with the file
format both caches share.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    if environ.get("MIGRATION_CI_NO_CACHE"):
        return None
    if environ.get("MIGRATION_CI_CACHE_DIR"):
        return Path(environ["MIGRATION_CI_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "django-migration-ci"


def load_entries(path: Path | None, fmt: str) -> dict[Any, Any]:
    """The entries saved by ``save_entries`` with the format tag ``fmt``; {} when there are none.

    marshal: the entries are plain tuples, strings and bytes, which it reads several times
    faster than pickle; the format tag guards against another layout. A corrupt or foreign
    file is only a cache miss.
    """
    if path is None or not path.is_file():
        return {}
    try:
        tag, entries = marshal.loads(path.read_bytes())
    except Exception:
        return {}
    return entries if tag == fmt and isinstance(entries, dict) else {}


def save_entries(path: Path, fmt: str, entries: dict[Any, Any]) -> None:
    """Write atomically (a temporary file, then a rename); a cache never fails the run."""
    try:
        data = marshal.dumps((fmt, entries))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    except (OSError, ValueError):  # ValueError: an entry marshal cannot write
        return
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; actions/cache runs as another user
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
