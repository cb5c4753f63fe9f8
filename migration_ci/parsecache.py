"""A persistent cache of parsed migration files, keyed by their content.

Parsing (``ast``) is most of a static check's time; a file whose bytes, path and app are
unchanged parses to the same spec, so warm runs skip it. The cache lives outside the
repository (``$MIGRATION_CI_CACHE_DIR``, else ``$XDG_CACHE_HOME/django-migration-ci``, else
``~/.cache/django-migration-ci``); ``MIGRATION_CI_NO_CACHE=1`` turns it off. A cache that
cannot be read is ignored and rebuilt; one that cannot be written is skipped silently.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from migration_ci import __version__
from migration_ci.cachedir import cache_dir, load_entries, save_entries
from migration_ci.graph.parse import spec_from_tuple, spec_to_tuple
from migration_ci.graph.specs import MigrationSpec

# The Python version is part of it: what a file needs from a newer Python depends on it.
FORMAT = f"parse-cache-3-{__version__}-py{sys.version_info[0]}.{sys.version_info[1]}"
MAX_ENTRIES = 200_000  # drop the cache rather than let it grow without bound

CacheKey = tuple[str, str, str, str, str]
__all__ = ["CacheKey", "ParseCache", "cache_dir"]


class ParseCache:
    """Load once, look up many, save once if anything new was parsed."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / "parse.marshal" if directory else None
        self._entries: dict[CacheKey, tuple[Any, ...]] = load_entries(self.path, FORMAT)
        self._used: dict[CacheKey, tuple[Any, ...]] = {}
        self._dirty = False

    @staticmethod
    def key(source: bytes, path: str, app_label: str, name: str, auth_user_model: str) -> CacheKey:
        return (hashlib.sha1(source).hexdigest(), path, app_label, name, auth_user_model)

    def get(self, key: CacheKey) -> MigrationSpec | None:
        values = self._entries.get(key)
        if values is None:
            return None
        self._used[key] = values
        try:
            return spec_from_tuple(values)
        except (TypeError, ValueError):  # an entry of another layout: parse again
            return None

    def put(self, key: CacheKey, spec: MigrationSpec) -> None:
        self._entries[key] = self._used[key] = spec_to_tuple(spec)
        self._dirty = True

    def save(self) -> None:
        """Keep what this run used plus older entries, atomically; never fail the check."""
        if self.path is None or not self._dirty:
            return
        entries = self._entries if len(self._entries) <= MAX_ENTRIES else self._used
        save_entries(self.path, FORMAT, entries)
