"""Snapshot files: a database at the base's migrations, kept as one file per key.

Each file is ``<key>.snapshot``: a magic line, a JSON manifest line (format, key, database,
base commit, tool, size and SHA-256 of the payload, and the ``record`` the caller keeps with
it), then the payload (a database dump). A file must read back whole to be used; its manifest
alone can be read without the payload. Files are written to a temporary name and renamed, so
concurrent runs never see half a file, and only the newest few per database vendor are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci import __version__
from migration_ci.databases.throwaway import DatabaseInfo
from migration_ci.errors import MigrationCIError

FORMAT = 2
"""2: the manifest holds a ``record`` (what a later base state can be built on). Files of
format 1 are refused by ``load`` and pruned like any other."""
MAGIC = b"django-migration-ci snapshot\n"
SUFFIX = ".snapshot"
STALE_TEMPORARY_SECONDS = 3600
SNAPSHOT_MODE = 0o644
"""Readable by every user: the Action writes as root, ``actions/cache`` reads as the runner."""
KEEP_PER_VENDOR = 3
"""Snapshots kept per database vendor: the base's newest state and a few earlier ones to build
on, so a cache folder that is carried from run to run stays bounded."""


class SnapshotUnusable(MigrationCIError):
    """A snapshot cannot be used; the message is the note the result carries."""


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot file and its manifest (its payload is read only by ``load``)."""

    path: Path
    manifest: Mapping[str, Any]

    @property
    def key(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    @property
    def vendor(self) -> Any:
        database = self.manifest.get("database")
        return database.get("vendor") if isinstance(database, dict) else None


class SnapshotStore:
    """Snapshot files ``<key>.snapshot`` in ``directory``: magic line, manifest line, payload."""

    def __init__(self, directory: Path, keep: int = KEEP_PER_VENDOR) -> None:
        self.directory = Path(directory)
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load(self, key: str, info: DatabaseInfo) -> bytes:
        """The payload saved under ``key``; ``SnapshotUnusable`` says why it cannot be used."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotUnusable(f"no snapshot for key {key}") from None
        except OSError as exc:
            raise SnapshotUnusable(f"snapshot {path.name} cannot be read: {exc}") from exc
        manifest, payload = split_file(data, path.name)
        expected = {"format": FORMAT, "key": key, "database": info.to_dict()}
        for field, value in expected.items():
            if manifest.get(field) != value:
                raise SnapshotUnusable(
                    f"snapshot {path.name} is for {field} {manifest.get(field)!r}, "
                    f"not {value!r}"
                )
        if len(payload) != manifest.get("size"):
            raise SnapshotUnusable(
                f"snapshot {path.name} is truncated or padded: {len(payload)} bytes of data, "
                f"its manifest says {manifest.get('size')}"
            )
        if hashlib.sha256(payload).hexdigest() != manifest.get("sha256"):
            raise SnapshotUnusable(f"snapshot {path.name} is corrupt: its checksum differs")
        return payload

    def save(
        self, key: str, info: DatabaseInfo, payload: bytes, base_sha: str,
        record: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write atomically (a temporary file in the same directory, then a rename), then
        prune the vendor's older snapshots."""
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT, "key": key, "database": info.to_dict(), "base": base_sha,
            "tool": f"django-migration-ci {__version__}", "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(), "record": dict(record or {}),
        }
        target = self.path(key)
        self.remove_stale_temporaries()
        fd, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        try:
            os.fchmod(fd, SNAPSHOT_MODE)  # mkstemp creates 0600
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + json.dumps(manifest, sort_keys=True).encode() + b"\n")
                out.write(payload)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self.prune(info.vendor)
        return target

    def list_newest_first(self) -> list[StoredSnapshot]:
        """Every snapshot file whose manifest can be read, the most recently used first."""
        found = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            with contextlib.suppress(SnapshotUnusable, OSError):  # pruned or written meanwhile
                found.append((path.stat().st_mtime, path.name, read_manifest(path)))
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [StoredSnapshot(self.directory / name, manifest) for _, name, manifest in found]

    def touch(self, key: str) -> None:
        """Mark the snapshot as just used, so that pruning keeps it."""
        with contextlib.suppress(OSError):  # a read-only cache is still a cache
            os.utime(self.path(key))

    def prune(self, vendor: str) -> None:
        """Keep the ``keep`` most recently used snapshots of ``vendor``; remove the others,
        and files that are not snapshots this tool can read."""
        stored = self.list_newest_first()
        readable = {snapshot.path.name for snapshot in stored}
        unreadable = [p for p in self.directory.glob(f"*{SUFFIX}") if p.name not in readable]
        older = [s.path for s in stored if s.vendor == vendor][self.keep:]
        for path in (*unreadable, *older):
            with contextlib.suppress(OSError):  # another run may remove it first
                path.unlink()

    def remove_stale_temporaries(self) -> None:
        """Temporary files of runs that were killed before their rename."""
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for path in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):  # another run may remove it first
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest line of a snapshot file, without reading its payload."""
    with path.open("rb") as stream:
        head = stream.read(len(MAGIC))
        line = stream.readline()
    manifest, _ = split_file(head + line, path.name)
    return manifest


def split_file(data: bytes, name: str) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise SnapshotUnusable(f"snapshot {name} is not a django-migration-ci snapshot")
    line, newline, payload = data[len(MAGIC):].partition(b"\n")
    try:
        manifest = json.loads(line) if newline else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise SnapshotUnusable(f"snapshot {name} is corrupt: its manifest cannot be read")
    return manifest, payload
