"""Compiled code of the project's modules, cached by content: for the worker process.

The worker loads the project from a fresh temporary copy, with ``PYTHONDONTWRITEBYTECODE`` so
that nothing is written into the user's tree; every run would compile every module again
(on a long history, thousands of migration files: half a second or more). This cache keeps
the compiled code keyed by the source's bytes, the Python bytecode version and the
optimization level, in one file beside the parse cache (``cachedir.cache_dir``; off with
``MIGRATION_CI_NO_CACHE=1``), and gives each module its own file name as a ``.pyc`` file
would (``co_filename`` is fixed up the way the import system does it).

Only modules found in directories outside the Python installation and its ``site-packages``
go through it: the project's own code. A cache that cannot be read is a miss; one that cannot
be written is skipped.
"""

from __future__ import annotations

import _imp
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

from migration_ci.cachedir import load_entries, save_entries

FORMAT = "bytecode-cache-1"
MAX_BYTES = 64 << 20  # past this, keep only what the last run used
FILE_NAME = f"bytecode-{importlib.util.MAGIC_NUMBER.hex()}.marshal"
# What the import system calls on code read from a .pyc; without it (another Python), no cache.
FIX_FILENAME: Callable[[CodeType, str], None] | None = getattr(_imp, "_fix_co_filename", None)


class CodeCache:
    """Load once, look up many, save once if anything new was compiled."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / FILE_NAME if directory else None
        self._entries: dict[str, bytes] = load_entries(self.path, FORMAT)
        self._used: dict[str, bytes] = {}
        self._dirty = False

    def compile(self, data: Any, path: str, compile_source: Callable[[], CodeType]) -> CodeType:
        """The code of ``data`` (a module's source) for the file ``path``."""
        if not isinstance(data, bytes):
            return compile_source()
        key = f"{sys.flags.optimize}:{hashlib.sha256(data).hexdigest()}"
        stored = self._entries.get(key)
        if stored is not None:
            try:
                code = marshal.loads(stored)
            except Exception:
                code = None
            if isinstance(code, CodeType) and FIX_FILENAME is not None:
                FIX_FILENAME(code, path)
                self._used[key] = stored
                return code
        code = compile_source()
        self._entries[key] = self._used[key] = marshal.dumps(code)
        self._dirty = True
        return code

    def save(self) -> None:
        """Keep what this run used plus older entries (up to ``MAX_BYTES``), atomically."""
        if self.path is None or not self._dirty:
            return
        size = sum(map(len, self._entries.values()))
        entries = self._entries if size <= MAX_BYTES else self._used
        save_entries(self.path, FORMAT, entries)


def install(cache: CodeCache) -> None:
    """Import the project's modules through ``cache`` from now on."""
    if FIX_FILENAME is None or cache.path is None:
        return

    class CachedSourceLoader(importlib.machinery.SourceFileLoader):
        def source_to_code(  # type: ignore[override]
            self, data: Any, path: str, *, _optimize: int = -1
        ) -> CodeType:
            def compile_source() -> CodeType:
                code: CodeType = super(CachedSourceLoader, self).source_to_code(
                    data, path, _optimize=_optimize)
                return code

            if _optimize != -1:
                return compile_source()
            return cache.compile(data, path, compile_source)

    project_finder = importlib.machinery.FileFinder.path_hook(
        (CachedSourceLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    )
    installation = installation_dirs()

    def hook(entry: str) -> Any:
        if is_installed(entry or os.getcwd(), installation):
            raise ImportError("not the project's code")  # the next hook takes it
        return project_finder(entry)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def installation_dirs() -> tuple[str, ...]:
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return tuple(os.path.realpath(p) + os.sep for p in prefixes)


def is_installed(entry: str, installation: tuple[str, ...]) -> bool:
    path = os.path.realpath(entry) + os.sep
    parts = path.split(os.sep)
    return path.startswith(installation) or "site-packages" in parts or "dist-packages" in parts
