"""Verify a project's migrations on a throwaway database: forward, round trip, missing changes.

``verify`` (the glue, in the CLI's process) picks the database, copies the project when other
migration files must be used, creates the throwaway database and asks the worker process to
run ``worker_verify`` (in the user's project, Django set up) over it. Each step is its own
function so that a caller can, say, restore a database and run only the later steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from migration_ci.activities.database import (
    ResolvedDatabase,
    open_throwaway,
    resolve_database,
    worker_database,
)
from migration_ci.activities.merged import MergedState, loaded_project
from migration_ci.activities.snapshot import BaseState, prepare_base_state
from migration_ci.activities.snapshot_build import BaseStep
from migration_ci.databases.snapshots import SnapshotStore
from migration_ci.databases.throwaway import (
    DatabaseChoice,
    DatabaseInfo,
    ThrowawayDatabase,
    new_run_id,
)
from migration_ci.graph.specs import Key
from migration_ci.project.session import ProjectSpec, WorkerSession
from migration_ci.project.tempcopy import materialize

__all__ = [
    "Failure", "IrreversibleOperation", "MigrationTiming", "MissingChange", "PhaseTiming",
    "ResolvedDatabase", "VerifyResult", "open_throwaway", "prepared_project",
    "resolve_database",
    "run_verify", "run_verify_worker", "verify",
]

NO_CACHE_NOTE = "no snapshot cache (--cache DIR not given, or --no-cache); verified from zero"


@dataclass(frozen=True)
class PhaseTiming:
    name: str
    seconds: float


@dataclass(frozen=True)
class MigrationTiming:
    app_label: str
    name: str
    seconds: float


@dataclass(frozen=True)
class Failure:
    """The step that failed: which migration, file and operation, the error and its SQL."""

    app_label: str | None
    name: str | None
    path: str | None
    operation: str | None
    error: str
    sql: str | None
    direction: str  # "forward" or "backward"


@dataclass(frozen=True)
class IrreversibleOperation:
    app_label: str
    name: str
    operation: str


@dataclass(frozen=True)
class MissingChange:
    app_label: str
    description: str


@dataclass(frozen=True)
class VerifyResult:
    """The "verify" part of the report (REPORT_SCHEMA.md).

    ``ok`` is False when a migration failed or models have changes no migration holds;
    irreversible operations are reported without failing.
    """

    database: DatabaseInfo
    ok: bool
    seconds: float
    phases: tuple[PhaseTiming, ...] = ()
    migrations: tuple[MigrationTiming, ...] = ()
    failure: Failure | None = None
    irreversible: tuple[IrreversibleOperation, ...] = ()
    missing_changes: tuple[MissingChange, ...] = ()
    merge_migrations_used: tuple[str, ...] = ()
    snapshot: Mapping[str, Any] | None = field(default=None, compare=False)
    schema: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The final database schema by introspection, when asked for (``describe_schema``)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.schema is None:
            del data["schema"]
        data["snapshot"] = dict(self.snapshot) if self.snapshot is not None else None
        for key in ("phases", "migrations", "irreversible", "missing_changes",
                    "merge_migrations_used"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_answer(
        cls, answer: Mapping[str, Any], *, database: DatabaseInfo, seconds: float,
        phases: Collection[PhaseTiming] = (), merge_migrations_used: Collection[str] = (),
    ) -> VerifyResult:
        """Build the result from ``worker_verify``'s JSON answer."""
        failure = Failure(**answer["failure"]) if answer.get("failure") else None
        missing = tuple(MissingChange(**m) for m in answer.get("missing_changes", ()))
        return cls(
            database=database,
            ok=failure is None and not missing,
            seconds=round(seconds, 3),
            phases=(*phases, *(PhaseTiming(**p) for p in answer.get("phases", ()))),
            migrations=tuple(MigrationTiming(**m) for m in answer.get("migrations", ())),
            failure=failure,
            irreversible=tuple(IrreversibleOperation(**i) for i in answer.get("irreversible", ())),
            missing_changes=missing,
            merge_migrations_used=tuple(sorted(merge_migrations_used)),
            schema=answer.get("schema"),
        )


def verify(
    project: ProjectSpec,
    *,
    database: DatabaseChoice,
    new_migrations: Collection[Key] | None = None,
    files: Mapping[str, bytes | None] | None = None,
    merge_files: Mapping[str, str] | None = None,
    run_id: str | None = None,
    missing_changes: bool = True,
    base: BaseState | None = None,
    cache_dir: Path | None = None,
    full: bool = False,
    describe_schema: bool = False,
    say: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Apply every migration on a fresh database, then the round trip and the model check.

    ``new_migrations``: the migrations of the merged graph that the base graph does not hold;
    given, they are migrated back to the base state and forward again. The project is verified
    in a temporary copy (never in the user's tree) into which ``files`` (None deletes) and
    ``merge_files`` (paths relative to the project directory) are written.

    ``base`` with ``cache_dir``: the base's migrations are applied first, from a snapshot in
    ``cache_dir`` when one fits, else from zero (then saved); forward then applies only the
    rest. ``full`` does not read the cache but still refreshes it. Without ``cache_dir``
    nothing is read or written and every migration is applied in one pass.
    ``describe_schema`` puts the final schema, read by introspection, in ``result.schema``.
    ``say`` is told of databases that killed runs left on the server and that were dropped.
    """
    started = time.perf_counter()
    run_id = run_id or new_run_id()
    with prepared_project(project, files, merge_files) as loaded, WorkerSession(loaded) as session:
        resolved = resolve_database(session, database)
        with open_throwaway(resolved, project.settings, run_id, say=say) as db:
            prepared = time.perf_counter()
            step = None
            if base is not None and cache_dir is not None:
                step = prepare_base_state(
                    session, db, worker_database(db, resolved), base=base,
                    store=SnapshotStore(cache_dir), project_dir=project.project_dir,
                    run_id=run_id, full=full,
                )
            answer = run_verify_worker(
                session, db, resolved, new_migrations=new_migrations,
                missing_changes=missing_changes, describe_schema=describe_schema,
            )
            in_worker = time.perf_counter() - prepared
    answer = with_base_step(answer, step)
    worker_phases = sum(p["seconds"] for p in answer["phases"])
    phases = [
        # Copying the project, reading its DATABASES, CREATE DATABASE.
        PhaseTiming("prepare", round(prepared - started, 3)),
        # django.setup() and loading the migrations: the rest of the worker's time.
        PhaseTiming("load_project", round(in_worker - worker_phases, 3)),
    ]
    result = VerifyResult.from_answer(
        answer, database=db.info, seconds=time.perf_counter() - started, phases=phases,
        merge_migrations_used=list(merge_files or ()),
    )
    return dataclasses.replace(result, snapshot=describe_snapshot(base, cache_dir, step))


def with_base_step(answer: dict[str, Any], step: BaseStep | None) -> dict[str, Any]:
    """The base state's phases and migration timings before the verify run's own."""
    if step is None:
        return answer
    built = step.built or {}
    return {
        **answer,
        "phases": [*step.phases, *answer["phases"]],
        "migrations": [*built.get("migrations", ()), *answer["migrations"]],
    }


def describe_snapshot(
    base: BaseState | None, cache_dir: Path | None, step: BaseStep | None
) -> dict[str, Any] | None:
    if step is not None:
        return step.outcome.to_dict()
    if base is None:
        return None
    return {"used": False, "key": None, "note": NO_CACHE_NOTE, "chained_from": None}


@contextlib.contextmanager
def prepared_project(
    project: ProjectSpec,
    files: Mapping[str, bytes | None] | None,
    extra: Mapping[str, str] | None,
) -> Iterator[ProjectSpec]:
    """A temporary copy of the project, with ``files`` and ``extra`` written in.

    Always a copy: the project's code runs there (migrations' ``RunPython``, settings), with the
    copy as its working directory and ``__file__``, so a relative path it writes to (a log, an
    export, ``BASE_DIR / "x"``) lands in the copy and the user's tree stays as it was.
    """
    with materialize(project.project_dir, files, extra) as copy:
        yield project.with_dir(copy)


def run_verify_worker(
    session: WorkerSession,
    db: ThrowawayDatabase,
    resolved: ResolvedDatabase,
    *,
    new_migrations: Collection[Key] | None = None,
    missing_changes: bool = True,
    describe_schema: bool = False,
) -> dict[str, Any]:
    """Run ``worker_verify`` in the session's project over ``db`` (already created)."""
    payload = {
        "describe_schema": describe_schema,
        "round_trip": sorted(map(list, new_migrations)) if new_migrations is not None else None,
        "missing_changes": missing_changes,
        "root": str(session.project.project_dir),
    }
    return session.call("verify", payload, database=worker_database(db, resolved))


def run_verify(
    project: ProjectSpec, database: DatabaseChoice, state: MergedState, **options: Any
) -> VerifyResult:
    """Verify the merged result: the copy has the merged files and merge migrations."""
    with loaded_project(project, state) as loadable:
        return verify(
            loadable,
            database=database,
            new_migrations=state.new_keys,
            files=state.files or None,
            merge_files=state.merge_files or None,
            **options,
        )
