"""Base-state snapshots: a database at the base's migrations, kept as one file per key.

A snapshot is the throwaway database right after the base's migrations were applied to it
from zero; it holds only what those migrations created (the project's configured database is
never connected to). It is used only when the result cannot differ from building the base
state again:

- the key covers the base's migration files (paths and git blob ids), the migration files of
  apps outside the project (e.g. installed packages), the base's operations as Django
  serializes them once loaded (values read from settings or the environment), the source of
  every project module their code comes from (see ``worker.codewalk.find_imported``), the
  database routers, the Django version, the database vendor and server version, the settings
  that shape the schema, and this tool's version and format (``worker.snapshot_facts`` reads
  what needs Django);
- every base migration file must be on this branch unchanged, and no migration of this
  branch may run before a base migration (``run_before``, ``__latest__``);
- the file must read back whole: magic line, manifest, length and SHA-256 of the payload.

Anything else falls back to building the base state from zero, and the result says why.
The files themselves are ``databases.snapshots``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci import __version__
from migration_ci.databases.snapshots import FORMAT, SnapshotStore, SnapshotUnusable
from migration_ci.databases.throwaway import (
    DatabaseInfo,
    ThrowawayDatabase,
    dump_database,
    reset_database,
    restore_database,
)
from migration_ci.errors import DatabaseError
from migration_ci.project.session import WorkerDatabase, WorkerSession
from migration_ci.repository import git
from migration_ci.repository.trees import blob_id


@dataclass(frozen=True)
class BaseState:
    """The base the branch is verified against: the repository and the base commit."""

    root: Path  # the git repository (any directory inside it)
    sha: str
    # Where the project folder is in the repository ("" at its top), for when the project is
    # loaded from elsewhere (a --head export); None: worked out from the project folder.
    project_prefix: str | None = None

    @classmethod
    def from_ref(cls, root: Path, ref: str, project_dir: Path | None = None) -> BaseState:
        repo = git.toplevel(root)
        prefix = None if project_dir is None else project_prefix(repo, project_dir)
        return cls(repo, git.resolve_commit(root, ref), prefix)


@dataclass(frozen=True)
class SnapshotOutcome:
    """The report's ``snapshot`` part: whether the base state came from a snapshot, and why."""

    used: bool
    key: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"used": self.used, "key": self.key, "note": self.note}


def compute_key(parts: Mapping[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def key_parts(
    facts: Mapping[str, Any], base_files: Mapping[str, str], info: DatabaseInfo
) -> dict[str, Any]:
    """Everything the base state depends on (``facts``: ``worker.snapshot_facts.worker_facts``)."""
    return {
        "format": FORMAT,
        "tool": __version__,
        "django": facts["django"],
        "database": info.to_dict(),
        "settings": facts["settings"],
        "base_files": dict(sorted(base_files.items())),
        "external": facts["external"],
        "imported": facts["imported"],
        "operations": facts["operations"],
    }


def find_base_files(
    base: BaseState, project_dir: Path, migration_dirs: Collection[str]
) -> dict[str, str]:
    """The base's files in the migration directories: project-relative path -> blob id."""
    prefix = base_prefix(base, project_dir)
    dirs = tuple(d.rstrip("/") + "/" for d in migration_dirs)
    found = {}
    for path, blob in git.ls_tree(base.root, base.sha).items():
        relative = path[len(prefix):] if path.startswith(prefix) else None
        if relative is not None and relative.startswith(dirs) and not relative.endswith(".pyc"):
            found[relative] = blob
    return found


def list_base_modules(base: BaseState, project_dir: Path) -> list[str]:
    """The base's ``.py`` files under the project directory, project-relative."""
    prefix = base_prefix(base, project_dir)
    return sorted(
        path[len(prefix):] for path in git.ls_tree(base.root, base.sha)
        if path.startswith(prefix) and path.endswith(".py")
    )


def base_prefix(base: BaseState, project_dir: Path) -> str:
    if base.project_prefix is not None:
        return base.project_prefix
    return project_prefix(base.root, project_dir)


def project_prefix(root: Path, project_dir: Path) -> str:
    relative = Path(project_dir).resolve().relative_to(Path(root).resolve()).as_posix()
    return "" if relative == "." else relative + "/"


def find_changed_files(project_dir: Path, base_files: Mapping[str, str]) -> list[str]:
    """Base files this project no longer has, or has with other contents."""
    changed = []
    for relative, blob in sorted(base_files.items()):
        try:
            data = (project_dir / relative).read_bytes()
        except OSError:
            changed.append(relative)
            continue
        if blob_id(data, blob) != blob:
            changed.append(relative)
    return changed


@dataclass(frozen=True)
class BaseStep:
    """How the throwaway database reached the base state (or stayed empty, ``outcome.used``
    False and no ``built``), the phases it took, and the base build's worker answer."""

    outcome: SnapshotOutcome
    phases: tuple[dict[str, Any], ...] = ()
    built: Mapping[str, Any] | None = None


def prepare_base_state(
    session: WorkerSession,
    db: ThrowawayDatabase,
    database: WorkerDatabase,
    *,
    base: BaseState,
    store: SnapshotStore,
    project_dir: Path,
    run_id: str,
    full: bool = False,
) -> BaseStep:
    """Bring the empty ``db`` to the base state from a snapshot, or build it and save one.

    ``project_dir`` is the user's project directory (where the base's paths are relative to);
    the session may run a temporary copy of it. When the snapshot cannot give the same answer
    as a run from zero, ``db`` is left empty and the note says why.
    """
    started = time.perf_counter()
    prepared_dir = session.project.project_dir
    facts = session.call(
        "snapshot_facts",
        {"root": str(prepared_dir), "base_modules": list_base_modules(base, project_dir)},
        database=database,
    )
    base_files = find_base_files(base, project_dir, facts["migration_dirs"])
    reason = find_unusable_reason(prepared_dir, base_files, facts)
    if reason is not None:
        return BaseStep(SnapshotOutcome(False, None, f"{reason}; verified from zero"))
    key = compute_key(key_parts(facts, base_files, db.info))
    phases = [{"name": "snapshot_key", "seconds": since(started)}]
    note = "--full: the cache was not read"
    if not full:
        restored = time.perf_counter()
        try:
            restore_database(db, store.load(key, db.info))
            phases.append({"name": "restore_base", "seconds": since(restored)})
            return BaseStep(SnapshotOutcome(True, key, "restored from cache"), tuple(phases))
        except SnapshotUnusable as exc:
            note = exc.message
        except DatabaseError as exc:
            reset_database(db, run_id)
            note = f"snapshot {key} could not be restored: {exc.message}"
    return build_base(session, db, database, base, store, key, note, run_id, phases, base_files)


def build_base(
    session: WorkerSession, db: ThrowawayDatabase, database: WorkerDatabase, base: BaseState,
    store: SnapshotStore, key: str, note: str, run_id: str, phases: list[dict[str, Any]],
    base_files: Mapping[str, str],
) -> BaseStep:
    """Apply the base's migrations from zero, save the snapshot, and say what happened."""
    built = session.call(
        "build_base",
        {"root": str(session.project.project_dir), "base_modules": sorted(base_files)},
        database=database,
    )
    phases.extend(built["phases"])
    if built["failure"] is not None:
        reset_database(db, run_id)
        failure = built["failure"]
        return BaseStep(SnapshotOutcome(
            False, key, f"{note}; the base state failed to build at "
            f"{failure['app_label']}.{failure['name']}; verified from zero",
        ), tuple(phases))
    saved = time.perf_counter()
    try:
        store.save(key, db.info, dump_database(db), base.sha)
        result = "saved a snapshot"
    except (DatabaseError, OSError) as exc:
        result = f"could not save a snapshot: {exc}"
    phases.append({"name": "save_snapshot", "seconds": since(saved)})
    outcome = SnapshotOutcome(False, key, f"{note}; built the base state from zero and {result}")
    return BaseStep(outcome, tuple(phases), built)


def find_unusable_reason(
    prepared_dir: Path, base_files: Mapping[str, str], facts: Mapping[str, Any]
) -> str | None:
    """Why a base state built on its own could give another answer than a run from zero."""
    if not base_files:
        return "no snapshot: the base has no migrations"
    changed = find_changed_files(prepared_dir, base_files)
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        shown = ", ".join(changed[:5]) + more
        return f"no snapshot: this branch changes or deletes base migration files ({shown})"
    if facts["not_applicable"]:
        return f"no snapshot: {facts['not_applicable']}"
    return None


def since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
