"""The worker side of base states: apply the base's migrations, and judge a snapshot to build on.

``migration_ci.worker.process`` dispatches ``build_base`` and ``snapshot_link`` here; the glue
is ``migration_ci.activities.snapshot_build``. Every answer is plain JSON data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_ci.graph.specs import Key
from migration_ci.worker.codewalk import find_imported
from migration_ci.worker.snapshot_facts import (
    base_targets,
    find_base_keys,
    find_migration_dirs,
    module_path,
)
from migration_ci.worker.tracking import Tracker

SHOWN = 3


def worker_build_base(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the base's migrations (those loaded from ``base_modules``) that the database does
    not hold yet, in the order Django gives them: the base state, as the base would build it.

    ``payload``: ``{"database_alias", "root", "base_modules": [project-relative paths],
    "expect_applied": ["app.name", ...] | None}``. With ``expect_applied`` (a restored
    snapshot's manifest), nothing is applied unless the database records exactly those
    migrations; ``unexpected`` then says what differs. ``applied`` is what the database records
    at the end.
    """
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[payload["database_alias"]]
    root = str(payload["root"])
    tracker = Tracker(root)
    executor = MigrationExecutor(connection, progress_callback=tracker.progress)
    answer: dict[str, Any] = {"phases": [], "migrations": [], "failure": None,
                              "unexpected": None, "applied": []}
    expected = payload.get("expect_applied")
    if expected is not None:
        answer["unexpected"] = compare_applied(executor.loader.applied_migrations, expected)
        if answer["unexpected"] is not None:
            return answer
    paths = {key: module_path(migration, Path(root).resolve())
             for key, migration in executor.loader.disk_migrations.items()}
    keys = find_base_keys(paths, payload["base_modules"])
    targets = base_targets(executor.loader.graph, keys)
    plan = executor.migration_plan(targets)
    tracker.watch(migration for migration, _ in plan)
    tracker.timing = True
    with connection.execute_wrapper(tracker.record_sql):
        tracker.run(answer, "build_base", lambda: executor.migrate(targets, plan=plan))
    answer["migrations"] = tracker.timings
    answer["applied"] = dotted(executor.recorder.applied_migrations())
    return answer


def dotted(keys: Iterable[Key]) -> list[str]:
    return sorted(f"{app}.{name}" for app, name in keys)


def compare_applied(applied: Iterable[Key], expected: Collection[str]) -> str | None:
    """What the database records beyond or short of ``expected``, or None."""
    found = set(dotted(applied))
    missing, extra = sorted(set(expected) - found), sorted(found - set(expected))
    if not missing and not extra:
        return None
    described = [f"{label} {shorten(names)}" for label, names in
                 (("lacks", missing), ("also records", extra)) if names]
    return (f"its database does not record the migrations its manifest lists: it "
            f"{' and '.join(described)}")


def shorten(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def worker_link(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What decides whether a snapshot holding the migrations ``held`` can be built on here.

    ``payload``: ``{"database_alias", "root", "held": ["app.name", ...]}``. ``imported``: the
    project modules the held migrations' code comes from now (``codewalk.find_imported``), for
    the glue to compare with those the snapshot was built with; ``reason``: why the rest of the
    graph cannot simply be applied after them, or None.
    """
    from django.db import router
    from django.db.migrations.loader import MigrationLoader

    root = Path(payload["root"]).resolve()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    held = {(app, name) for app, _, name in (str(k).partition(".") for k in payload["held"])}
    missing = sorted(held - set(loader.disk_migrations))
    if missing:
        app, name = missing[0]
        return {"imported": {}, "reason": f"its migration {app}.{name} is not loaded"}
    dirs, _external = find_migration_dirs(loader, root)
    migrations = [loader.disk_migrations[key] for key in sorted(held)]
    return {
        "imported": find_imported(migrations, root, dirs, others=router.routers),
        "reason": find_out_of_order(loader, held),
    }


def find_out_of_order(loader: Any, held: set[Key]) -> str | None:
    """Why applying the other migrations after ``held`` would not be what Django does from
    zero: one of them squashes held migrations (from zero the squash runs instead of them), or
    runs before a held one (``run_before``, a ``__latest__`` dependency that moved on)."""
    for key, migration in sorted(loader.disk_migrations.items()):
        replaced = {tuple(k) for k in getattr(migration, "replaces", ())}
        if key not in held and replaced & held:
            return f"migration {key[0]}.{key[1]} replaces migrations it holds"
    graph = loader.graph
    for target in base_targets(graph, held):
        for key in graph.forwards_plan(target):
            if key not in held:
                return (f"migration {key[0]}.{key[1]} runs before its migration "
                        f"{target[0]}.{target[1]}")
    return None
