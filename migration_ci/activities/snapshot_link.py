"""What a base state depends on, part by part, and which earlier snapshots a base can build on.

``BaseParts`` is everything in a snapshot's key: the environment (this tool, Django, the
database server, the settings that shape the schema, the migrations of apps outside the
project), the base's migration files (path -> git blob id), each base migration's operations
as loaded, and the project modules their code comes from. A snapshot's manifest keeps them, so
that a later base can be compared with it part by part.

A later base can be built on a snapshot (restore it, apply only what the base added) when the
environment is the same and every file and migration the snapshot holds is still there,
unchanged (checked here, on plain data); and when the project modules those migrations use are
the same and no other migration runs before one of them or squashes them (checked in the
project, ``worker.base_state.worker_link``). Django then applies the added migrations after the
held ones, as ``migrate`` does on a database deployed at the earlier base.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from migration_ci import __version__
from migration_ci.databases.snapshots import FORMAT, StoredSnapshot
from migration_ci.databases.throwaway import DatabaseInfo

PARTS = ("environment", "files", "operations", "imported")


def compute_key(parts: Mapping[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def digest_value(value: Any) -> str:
    """A setting's value stands in the manifest as a digest: a cache may be shared more widely
    than the settings are (database ``OPTIONS`` may hold a password)."""
    return compute_key(value)[:16]


@dataclass(frozen=True)
class BaseParts:
    """Everything the base state depends on (``facts``: ``worker.snapshot_facts.worker_facts``)."""

    environment: Mapping[str, Any]
    files: Mapping[str, str]  # project-relative path in a migration directory -> blob id
    operations: Mapping[str, str]  # "app.name" -> digest of its operations as loaded
    imported: Mapping[str, str]  # project module path -> SHA-256 of the file

    @classmethod
    def from_facts(
        cls, facts: Mapping[str, Any], base_files: Mapping[str, str], info: DatabaseInfo
    ) -> BaseParts:
        environment = {
            "format": FORMAT, "tool": __version__, "django": facts["django"],
            "database": info.to_dict(),
            "settings": {name: digest_value(value) for name, value in facts["settings"].items()},
            "external": facts["external"],
        }
        return cls(environment, dict(sorted(base_files.items())), facts["operations"],
                   facts["imported"])

    @property
    def key(self) -> str:
        return compute_key(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Link:
    """A snapshot of an earlier base that a base state may be built on."""

    key: str
    base: str  # the commit whose base state it holds
    parts: BaseParts
    applied: tuple[str, ...]  # "app.name" of the migrations its database records

    def describe(self) -> str:
        return f"snapshot {self.key}.snapshot (base {self.base[:12]})"


def describe(snapshot: StoredSnapshot) -> str:
    base = snapshot.manifest.get("base")
    return f"snapshot {snapshot.path.name}" + (f" (base {base[:12]})" if isinstance(base, str)
                                               else "")


def find_links(
    stored: Iterable[StoredSnapshot], info: DatabaseInfo, parts: BaseParts
) -> tuple[list[Link], list[str]]:
    """The snapshots of ``info``'s vendor that ``parts`` may be built on, those holding the
    most migrations first (``stored`` is newest first, and so are ties); and why each other
    one cannot be built on, newest first."""
    links: list[Link] = []
    rejected: list[str] = []
    for snapshot in stored:
        if snapshot.vendor != info.vendor or snapshot.key == parts.key:
            continue
        link = read_link(snapshot)
        reason = find_mismatch(link.parts, parts) if isinstance(link, Link) else link
        if reason is None and isinstance(link, Link):
            links.append(link)
        else:
            rejected.append(f"{describe(snapshot)} cannot be built on: {reason}")
    links.sort(key=lambda link: len(link.parts.operations), reverse=True)
    return links, rejected


def read_link(snapshot: StoredSnapshot) -> Link | str:
    """The snapshot's record of its base, or why it has none this version can read."""
    manifest = snapshot.manifest
    if manifest.get("format") != FORMAT:
        return (f"it has format {manifest.get('format')!r}, not {FORMAT} (made by "
                f"{manifest.get('tool')})")
    record = manifest.get("record")
    parts = record.get("parts") if isinstance(record, dict) else None
    applied = record.get("applied") if isinstance(record, dict) else None
    if (not isinstance(parts, dict) or any(not isinstance(parts.get(p), dict) for p in PARTS)
            or not isinstance(applied, list) or not isinstance(manifest.get("base"), str)):
        return "its manifest does not say which migrations it holds"
    return Link(snapshot.key, manifest["base"], BaseParts(**{p: parts[p] for p in PARTS}),
                tuple(map(str, applied)))


def find_mismatch(held: BaseParts, now: BaseParts) -> str | None:
    """Why a snapshot holding ``held`` cannot be built on for ``now`` (the parts that can be
    compared without the project), or None."""
    return (
        find_environment_change(held.environment, now.environment)
        or find_file_change(held.files, now.files)
        or find_operations_change(held.operations, now.operations)
    )


def find_environment_change(held: Mapping[str, Any], now: Mapping[str, Any]) -> str | None:
    for part, label in (("tool", "django-migration-ci"), ("django", "Django")):
        if held.get(part) != now.get(part):
            return f"it was made with {label} {held.get(part)}, this run has {now.get(part)}"
    if held.get("database") != now.get("database"):
        return (f"it was made on {show_database(held.get('database'))}, this run uses "
                f"{show_database(now.get('database'))}")
    settings = differing(held.get("settings"), now.get("settings"))
    if settings:
        return f"settings that shape the schema differ: {', '.join(settings)}"
    external = differing(held.get("external"), now.get("external"))
    if external:
        return f"migrations of apps outside the project differ: {', '.join(external)}"
    if held != now:
        return "its environment differs"
    return None


def show_database(database: Any) -> str:
    if isinstance(database, dict):
        return f"{database.get('vendor')} {database.get('version')}"
    return repr(database)


def differing(held: Any, now: Any) -> list[str]:
    held, now = dict(held or {}), dict(now or {})
    return sorted(name for name in {*held, *now} if held.get(name) != now.get(name))


def find_file_change(held: Mapping[str, str], now: Mapping[str, str]) -> str | None:
    for path, blob in sorted(held.items()):
        if path not in now:
            return f"its migration file {path} is not on this base"
        if now[path] != blob:
            return f"its migration file {path} differs on this base"
    return None


def find_operations_change(held: Mapping[str, str], now: Mapping[str, str]) -> str | None:
    for name, digest in sorted(held.items()):
        if name not in now:
            return f"its migration {name} is not loaded on this base"
        if now[name] != digest:
            return (f"the operations of its migration {name} differ as loaded (a value read "
                    "from the settings or the environment)")
    return None


def find_code_change(held: Mapping[str, str], now: Mapping[str, str]) -> str | None:
    """``held``: the project modules the snapshot's base state was built with (path ->
    SHA-256); ``now``: those its migrations depend on in this project (``worker_link``)."""
    changed = differing(held, now)
    if changed:
        return f"project code its base state depends on changed: {', '.join(changed)}"
    return None
