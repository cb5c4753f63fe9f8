"""Base-state snapshots: a database at the base's migrations, kept as one file per key.

A snapshot is the throwaway database right after the base's migrations were applied to it
(from zero, or on a snapshot of an earlier base); it holds only what those migrations created
(the project's configured database is never connected to). It is used only when the result
cannot differ from building the base state from zero:

- the key covers the base's migration files (paths and git blob ids), the migration files of
  apps outside the project (e.g. installed packages), the base's operations as Django
  serializes them once loaded (values read from settings or the environment), the source of
  every project module their code comes from (see ``worker.codewalk.find_imported``), the
  database routers, the Django version, the database vendor and server version, the settings
  that shape the schema, and this tool's version and format (``worker.snapshot_facts`` reads
  what needs Django; ``activities.snapshot_link`` holds the parts);
- every base migration file must be on this branch unchanged, and no migration of this
  branch may run before a base migration (``run_before``, ``__latest__``);
- the file must read back whole: magic line, manifest, length and SHA-256 of the payload.

With no snapshot for the key, the newest snapshot of an earlier base that the base can be
built on (``activities.snapshot_link``) is restored and only what the base added is applied.
Anything else builds the base state from zero, and the result says why. The files themselves
are ``databases.snapshots``; the builds ``activities.snapshot_build``.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci.activities.snapshot_build import (
    BaseBuild,
    BaseStep,
    SnapshotOutcome,
    build_from_zero,
    build_on_link,
    phase,
    restore,
)
from migration_ci.activities.snapshot_link import BaseParts, find_links
from migration_ci.databases.snapshots import SnapshotStore
from migration_ci.databases.throwaway import ThrowawayDatabase
from migration_ci.project.session import WorkerDatabase, WorkerSession
from migration_ci.repository import git
from migration_ci.repository.trees import blob_id

LINKS_TRIED = 3
"""Snapshots of earlier bases tried at most (each costs a look at the project, and a restore)."""


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
    parts = BaseParts.from_facts(facts, base_files, db.info)
    build = BaseBuild(session, db, database, store, parts, base.sha, run_id,
                      [phase("snapshot_key", started)])
    if full:
        return build_from_zero(build, "--full: the cache was not read")
    note = restore(build, build.key, f"snapshot {build.key}")
    if note is None:
        store.touch(build.key)
        return build.step(SnapshotOutcome(True, build.key, "restored from cache"))
    return build_on_earlier(build, note)


def build_on_earlier(build: BaseBuild, note: str) -> BaseStep:
    """Build on the best snapshot of an earlier base, else from zero saying why not."""
    links, rejected = find_links(build.store.list_newest_first(), build.db.info, build.parts)
    tried = []
    for link in links[:LINKS_TRIED]:
        built = build_on_link(build, link, note)
        if isinstance(built, BaseStep):
            return built
        tried.append(built)
    reasons = [*tried, *rejected]
    if reasons:
        others = len(reasons) - 1
        note += f"; {reasons[0]}" + (
            f" ({others} other snapshot{'s' * (others != 1)} cannot be built on either)"
            if others else "")
    return build_from_zero(build, note)


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


