"""Building a base state: from zero, or on a snapshot of an earlier base; then saving it.

Both ways end the same: the worker applies the base's migrations that the throwaway database
does not hold yet (``worker.base_state.worker_build_base``), the database is dumped and saved
under the base's key with the record a later base is compared with
(``activities.snapshot_link``), and the outcome says what happened. Deciding which way to go
is ``activities.snapshot``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_ci.activities.snapshot_link import BaseParts, Link, find_code_change
from migration_ci.databases.snapshots import SnapshotStore, SnapshotUnusable
from migration_ci.databases.throwaway import (
    ThrowawayDatabase,
    dump_database,
    reset_database,
    restore_database,
)
from migration_ci.errors import DatabaseError
from migration_ci.project.session import WorkerDatabase, WorkerSession


@dataclass(frozen=True)
class SnapshotOutcome:
    """The report's ``snapshot`` part: whether the base state came from a snapshot, and why.

    ``chained_from``: the snapshot of an earlier base it was built on (``key``, ``base``) and
    how many migrations were applied on it (``applied``), else None.
    """

    used: bool
    key: str | None
    note: str
    chained_from: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        chained = dict(self.chained_from) if self.chained_from is not None else None
        return {"used": self.used, "key": self.key, "note": self.note, "chained_from": chained}


@dataclass(frozen=True)
class BaseStep:
    """How the throwaway database reached the base state (or stayed empty, ``outcome.used``
    False and no ``built``), the phases it took, and the base build's worker answer."""

    outcome: SnapshotOutcome
    phases: tuple[dict[str, Any], ...] = ()
    built: Mapping[str, Any] | None = None


@dataclass
class BaseBuild:
    """One base state to bring the empty throwaway database ``db`` to, and the phases so far."""

    session: WorkerSession
    db: ThrowawayDatabase
    database: WorkerDatabase
    store: SnapshotStore
    parts: BaseParts
    base_sha: str
    run_id: str
    phases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.parts.key

    def step(self, outcome: SnapshotOutcome, built: Mapping[str, Any] | None = None) -> BaseStep:
        return BaseStep(outcome, tuple(self.phases), built)


def build_from_zero(build: BaseBuild, note: str) -> BaseStep:
    """Apply every base migration on the empty database, save the snapshot, say why."""
    built = run_build_base(build, expect_applied=None)
    return finish(build, built, note, "built the base state from zero")


def build_on_link(build: BaseBuild, link: Link, note: str) -> BaseStep | str:
    """Restore ``link`` and apply only what this base adds; else why not (``db`` left empty)."""
    started = time.perf_counter()
    answer = build.session.call(
        "snapshot_link",
        {"root": str(build.session.project.project_dir), "held": sorted(link.parts.operations)},
        database=build.database,
    )
    build.phases.append(phase("snapshot_link", started))
    reason = answer["reason"] or find_code_change(link.parts.imported, answer["imported"])
    if reason is not None:
        return f"{link.describe()} cannot be built on: {reason}"
    unusable = restore(build, link.key, link.describe())
    if unusable is not None:
        return unusable
    built = run_build_base(build, expect_applied=link.applied)
    if built["unexpected"] is not None:
        reset_database(build.db, build.run_id)
        return f"{link.describe()} cannot be built on: {built['unexpected']}"
    count = len(built["migrations"])
    how = f"built on {link.describe()}: applied {count} migration{'s' * (count != 1)}"
    chained = {"key": link.key, "base": link.base, "applied": count}
    return finish(build, built, note, how, chained)


def restore(build: BaseBuild, key: str, name: str) -> str | None:
    """Restore the snapshot ``key`` (called ``name`` in notes) into the empty database; else
    why not, the database left empty."""
    restored = time.perf_counter()
    try:
        restore_database(build.db, build.store.load(key, build.db.info))
    except SnapshotUnusable as exc:
        return exc.message
    except DatabaseError as exc:
        reset_database(build.db, build.run_id)
        return f"{name} could not be restored: {exc.message}"
    build.phases.append(phase("restore_base", restored))
    return None


def run_build_base(build: BaseBuild, expect_applied: Sequence[str] | None) -> dict[str, Any]:
    built = build.session.call(
        "build_base",
        {"root": str(build.session.project.project_dir), "base_modules": sorted(build.parts.files),
         "expect_applied": None if expect_applied is None else list(expect_applied)},
        database=build.database,
    )
    build.phases.extend(built["phases"])
    return built


def finish(
    build: BaseBuild, built: Mapping[str, Any], note: str, how: str,
    chained: Mapping[str, Any] | None = None,
) -> BaseStep:
    """After the base build: on a failure the database is emptied (verify runs from zero and
    meets the same failure), else the snapshot is saved."""
    if built["failure"] is not None:
        reset_database(build.db, build.run_id)
        failure = built["failure"]
        return build.step(SnapshotOutcome(
            False, build.key, f"{note}; the base state failed to build at "
            f"{failure['app_label']}.{failure['name']}; verified from zero",
        ))
    saved = time.perf_counter()
    try:
        record = {"parts": build.parts.to_dict(), "applied": built["applied"]}
        build.store.save(build.key, build.db.info, dump_database(build.db), build.base_sha, record)
        result = "saved a snapshot"
    except (DatabaseError, OSError) as exc:
        result = f"could not save a snapshot: {exc}"
    build.phases.append(phase("save_snapshot", saved))
    outcome = SnapshotOutcome(chained is not None, build.key, f"{note}; {how} and {result}",
                              chained)
    return build.step(outcome, built)


def phase(name: str, started: float) -> dict[str, Any]:
    return {"name": name, "seconds": round(time.perf_counter() - started, 3)}
