"""The worker side of verify: runs in the user's project with Django set up.

``migration_ci.worker.process`` dispatches ``verify`` here (``build_base`` is
``migration_ci.worker.base_state``); the glue that starts the worker and reads its answers is
``migration_ci.activities.verify``. Every answer is plain JSON data.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Mapping
from typing import Any

from migration_ci.graph.specs import Key
from migration_ci.worker.tracking import Tracker, phase


def worker_verify(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Forward on the database, then the round trip over ``round_trip``, then missing changes.

    Forward applies what the database does not have yet: everything on a fresh database.
    ``payload``: ``{"database_alias", "round_trip": [[app, name], ...] | None,
    "missing_changes": bool, "root": dir paths are relative to}``.
    """
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[payload["database_alias"]]
    tracker = Tracker(str(payload.get("root") or "."))
    executor = MigrationExecutor(connection, progress_callback=tracker.progress)
    answer: dict[str, Any] = {"phases": [], "migrations": [], "failure": None,
                              "irreversible": [], "missing_changes": []}
    with connection.execute_wrapper(tracker.record_sql):
        forward = tracker.run(answer, "forward", lambda: migrate_forward(executor, tracker))
        if forward is not None and payload.get("round_trip") is not None:
            keys = {(str(app), str(name)) for app, name in payload["round_trip"]}
            round_trip(executor, tracker, answer, keys, forward)
    if forward is not None and payload.get("missing_changes", True):
        started = time.perf_counter()
        answer["missing_changes"] = find_missing_changes(executor.loader, forward.final)
        answer["phases"].append(phase("missing_changes", started))
    answer["migrations"] = tracker.timings
    if payload.get("describe_schema"):
        answer["schema"] = read_schema(connection)
    return answer


def read_schema(connection: Any) -> dict[str, Any]:
    """Tables with their columns and constraints, and the applied migrations: comparable
    between two databases of the same engine."""
    introspection = connection.introspection
    with connection.cursor() as cursor:
        tables = {}
        for table in sorted(introspection.table_names(cursor)):
            columns = [
                [c.name, str(c.type_code), c.null_ok, c.default is not None]
                for c in introspection.get_table_description(cursor, table)
            ]
            constraints = {
                name: json_constraint(value)
                for name, value in introspection.get_constraints(cursor, table).items()
            }
            tables[table] = {"columns": columns, "constraints": constraints}
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        applied = [list(row) for row in cursor.fetchall()]
    return {"tables": tables, "applied": applied}


def json_constraint(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: list(item) if isinstance(item, tuple) else item
            for key, item in sorted(value.items()) if key != "definition"}


def migrate_forward(executor: Any, tracker: Tracker) -> Forward:
    """What ``migrate`` does for the migrations not yet applied.

    The state of the applied migrations is built and rendered here rather than inside
    ``executor.migrate`` (which does the same) so that the round trip can start its reapply
    from a copy of it instead of building and rendering it again.
    """
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    tracker.watch(migration for migration, _ in plan)
    start = executor._create_project_state(with_applied_migrations=True)
    applied = applied_nodes(executor)
    if plan:
        start.apps  # noqa: B018 - rendered once; executor.migrate and the reapply use copies
    tracker.timing = True
    try:
        final = executor.migrate(targets, plan=plan, state=start.clone())
    finally:
        tracker.timing = False
    return Forward(final, start, applied)


def applied_nodes(executor: Any) -> frozenset[Key]:
    """The applied migrations the project state is built from (those in the graph)."""
    return frozenset(key for key in executor.loader.applied_migrations
                     if key in executor.loader.graph.nodes)


@dataclasses.dataclass(frozen=True)
class Forward:
    """The forward pass: the final state, and the state it started from with the applied
    migrations that state was built from."""

    final: Any
    start: Any
    start_applied: frozenset[Key]


def round_trip(
    executor: Any, tracker: Tracker, answer: dict[str, Any], keys: set[Key], forward: Forward
) -> None:
    """Unapply ``keys`` (except irreversible ones and what they need), then apply them again.

    Each phase is its own plan of only backwards or only forwards steps, in the order Django
    applies the full graph; a failure stops the trip and is reported.
    """
    keys = complete_new_set(executor.loader, keys)
    graph = executor.loader.graph
    irreversible = find_irreversible(graph, keys)
    answer["irreversible"] = [
        {"app_label": key[0], "name": key[1], "operation": op} for key, op in irreversible
    ]
    blocked = {n for key, _ in irreversible for n in graph.forwards_plan(key) if n in keys}
    full = executor.migration_plan(graph.leaf_nodes(), clean_start=True)
    order = [m for m, _ in full if m.app_label is not None and (m.app_label, m.name) in keys
             and (m.app_label, m.name) not in blocked]
    if not order:
        return
    tracker.watch(order)
    # The loader's applied set dates from its creation; the executor plans from it.
    executor.loader.applied_migrations = executor.recorder.applied_migrations()
    tracker.run(answer, "backward",
                lambda: unapply_all(executor, [(m, True) for m in reversed(order)]))
    if answer["failure"] is not None:
        return
    executor.loader.applied_migrations = executor.recorder.applied_migrations()
    # Back where the forward pass started (the usual case): its rendered state is the one
    # Django would build from the same applied migrations; otherwise executor.migrate builds it.
    after = forward.start.clone() if applied_nodes(executor) == forward.start_applied else None
    tracker.run(answer, "reapply",
                lambda: executor.migrate([], plan=[(m, False) for m in order], state=after))


RENDER_GAP = 6
"""Applied migrations a rendered state is carried through to the next migration to unapply;
past that, rendering that state anew is cheaper (each step re-renders the models it touches,
a full render costs about as much as six such steps)."""


def unapply_all(executor: Any, plan: list[tuple[Any, bool]]) -> None:
    """``executor.migrate`` for a plan of backwards steps, with the same states."""
    executor.recorder.ensure_schema()
    states = backward_states(executor, [migration for migration, _ in plan])
    for migration, _ in plan:
        executor.unapply_migration(states[migration], migration)
    executor.check_replacements()


def backward_states(executor: Any, to_unapply: Collection[Any]) -> dict[Any, Any]:
    """The state before each migration of ``to_unapply``, as Django's backwards pass has it.

    Django's ``_migrate_all_backwards`` renders the project state at the first migration to
    unapply and then mutates the rendered state through every later applied migration, and
    again afterwards for the final state: minutes on a long history when the new migrations
    sit early in the plan. Each state here holds the same (the applied migrations before the
    migration, in full-plan order); it is rendered when the migration has operations, and
    carried rendered only through short stretches of applied migrations.
    """
    graph = executor.loader.graph
    full_plan = executor.migration_plan(graph.leaf_nodes(), clean_start=True)
    to_run = set(to_unapply)
    applied = {graph.nodes[key] for key in executor.loader.applied_migrations
               if key in graph.nodes}
    walk = [migration for migration, _ in full_plan if migration in to_run or migration in applied]
    states = {}
    state = executor._create_project_state()
    for index, migration in enumerate(walk):
        if migration not in to_run:
            migration.mutate_state(state, preserve=False)
            continue
        if migration.operations and "apps" not in state.__dict__:
            state.apps  # noqa: B018 - Migration.unapply clones it once per operation
        states[migration] = state
        if steps_to_next(walk, index, to_run) > RENDER_GAP:
            state = state.clone()
            state.__dict__.pop("apps", None)
            migration.mutate_state(state, preserve=False)
        else:
            state = migration.mutate_state(state, preserve=True)
    return states


def steps_to_next(walk: list[Any], index: int, to_run: Collection[Any]) -> int:
    """Applied migrations between ``walk[index]`` and the next one of ``to_run``."""
    for steps, migration in enumerate(walk[index + 1:]):
        if migration in to_run:
            return steps
    return len(walk) - index - 1


def complete_new_set(loader: Any, keys: set[Key]) -> set[Key]:
    """``keys`` as the loaded graph holds them: a squash stands for the new migrations it
    replaces, and descendants of a new migration are new (they cannot be on the base).
    Migrations of apps that are not installed are not loaded, so not verified."""
    from migration_ci.worker.plan import installed_labels

    installed = installed_labels()
    keys = {key for key in keys if key[0] in installed}
    graph = loader.graph
    replaced = set()
    for squash, migration in loader.replacements.items():
        if set(migration.replaces) & keys:
            replaced |= set(migration.replaces)
            if squash in graph.nodes:
                keys = keys | {squash}
    unknown = sorted(keys - set(graph.nodes) - replaced)
    if unknown:
        from migration_ci.errors import GraphError

        raise GraphError(
            f"Migrations given as new are not in the project's migration graph: "
            f"{', '.join('.'.join(key) for key in unknown)}.",
            "Pass the migrations of the merged graph that the base graph does not hold.",
        )
    closed = keys & set(graph.nodes)
    stack = list(closed)
    while stack:
        for child in graph.node_map[stack.pop()].children:
            if child.key not in closed:
                closed.add(child.key)
                stack.append(child.key)
    return closed


def find_irreversible(graph: Any, keys: Collection[Key]) -> list[tuple[Key, str]]:
    return [
        (key, operation.describe())
        for key in sorted(keys)
        for operation in graph.nodes[key].operations
        if not operation.reversible
    ]


def find_missing_changes(loader: Any, state: Any) -> list[dict[str, str]]:
    """The changes ``makemigrations --check --dry-run`` would write, never asking anything."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.questioner import MigrationQuestioner
    from django.db.migrations.state import ProjectState

    # The base questioner answers every question with its default, where the non-interactive
    # one would sys.exit() on a NOT NULL field without a default.
    questioner = MigrationQuestioner(specified_apps=set(), dry_run=True)
    detector = MigrationAutodetector(state, ProjectState.from_apps(apps), questioner)
    changes = detector.changes(graph=loader.graph)
    return [
        {"app_label": app_label, "description": describe_change(operation)}
        for app_label in sorted(changes)
        for migration in changes[app_label]
        for operation in migration.operations
    ]


def describe_change(operation: Any) -> str:
    """``formatted_description()`` (Django 5.1+), e.g. "+ Add field sku to product"."""
    formatted = getattr(operation, "formatted_description", None)
    return str(formatted()) if formatted else f"~ {operation.describe()}"
