"""What ``migrate`` would run on a database at the base state, computed inside the user's project.

Runs in the worker process, where Django is set up. Nothing is migrated: the loader is told
which migrations the base tree holds (as ``django_migrations`` would on a database migrated to
the base), then ``MigrationExecutor.migration_plan`` answers exactly as ``migrate --plan`` does.
The output is plain JSON-able data; judging it (risk, rendering) happens in the pure core.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections
from django.db.migrations import loader as loader_module
from django.db.migrations.exceptions import InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from migration_ci.errors import GraphError
from migration_ci.graph.specs import Key
from migration_ci.plan import source
from migration_ci.worker.opfacts import FactsCollector

CANNOT_BE_SQL = "-- THIS OPERATION CANNOT BE WRITTEN AS SQL"


def outside_apps(project_apps: set[str]) -> set[tuple[str, str]]:
    """Migrations of apps the caller did not scan (contrib, site-packages): at the base state."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key for key in loader.disk_migrations if key[0] not in project_apps}


def collect(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Plan, SQL and risk facts of the migrations this tree would apply over the base state.

    ``payload``: ``{"base_applied": [[app, name], ...], "database_alias": "default",
    "with_sql": true, "root": "."}``; ``root`` (default: the working directory) is what
    migration paths are made relative to.
    """
    connection = connections[payload.get("database_alias", "default")]
    base = {(str(app), str(name)) for app, name in payload["base_applied"]}
    if payload.get("project_apps") is not None:
        base |= outside_apps(set(payload["project_apps"]))
    root = os.path.abspath(payload.get("root") or os.getcwd())
    with recorded_as_applied(base):
        executor = MigrationExecutor(connection)
        check_history(executor, connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        base_state = executor._create_project_state(with_applied_migrations=True)
        sql_loader = MigrationLoader(connection, replace_migrations=False)
    facts = FactsCollector(connection, base_state)
    migrations = []
    for migration, backwards in plan:
        entry = describe_migration(migration, backwards, root, facts)
        if payload.get("with_sql", True):
            entry.update(collect_sql(sql_loader, connection, migration, backwards))
        migrations.append(entry)
    return {
        "vendor": connection.vendor,
        "migrations": migrations,
        "gone": [list(key) for key in find_gone(base, executor.loader)],
    }


@contextlib.contextmanager
def recorded_as_applied(base: set[Key]) -> Iterator[None]:
    """Make every loader built inside see ``base`` (and what squashes recorded) as applied.

    ``migrate`` records the replaced migrations of an applied squash as applied
    (``MigrationExecutor.record_migration``) and the squash itself once all of them are
    (``check_replacements``), so a real database at the base state holds both.
    """
    applied: dict[Key, None] = {}

    class BaseStateRecorder(MigrationRecorder):  # type: ignore[misc]
        def applied_migrations(self) -> dict[Key, None]:
            return dict(applied)

    original = loader_module.MigrationRecorder
    disk = MigrationLoader(None, load=False)
    disk.load_disk()
    applied.update(dict.fromkeys(with_replaced(base, disk.disk_migrations)))
    loader_module.MigrationRecorder = BaseStateRecorder
    try:
        yield
    finally:
        loader_module.MigrationRecorder = original


def with_replaced(base: set[Key], disk: Mapping[Key, Any]) -> list[Key]:
    keys = set(base)
    for key in base:
        keys.update(tuple(k) for k in getattr(disk.get(key), "replaces", None) or ())
    return sorted(keys)


def check_history(executor: MigrationExecutor, connection: Any) -> None:
    """Refuse what ``migrate`` refuses: an inconsistent history or conflicting leaves."""
    try:
        executor.loader.check_consistent_history(connection)
    except InconsistentMigrationHistory as error:
        raise GraphError(
            f"The base state is inconsistent with this tree: {error}",
            hint="Check the dependencies of migrations changed on this branch.",
        ) from error
    conflicts = executor.loader.detect_conflicts()
    if conflicts:
        names = "; ".join(
            f"{', '.join(sorted(names))} in {app}" for app, names in sorted(conflicts.items())
        )
        raise GraphError(
            f"Conflicting migrations detected; multiple leaf nodes in the migration graph: "
            f"({names}).",
            hint="Run: migration-ci fix",
        )


def find_gone(base: set[Key], loader: MigrationLoader) -> list[Key]:
    """Base migrations this tree does not have, unless a squash here still replaces them.

    Only apps of ``INSTALLED_APPS`` are judged, as the loader judges the tree: the migrations of
    an app that is not installed here (an optional plugin, a test app) are not loaded on either
    side, so they are not "gone".
    """
    installed = installed_labels()
    replaced = {tuple(k) for m in loader.disk_migrations.values() for k in m.replaces or ()}
    return sorted(k for k in base if k[0] in installed
                  and k not in loader.disk_migrations and k not in replaced)


def installed_labels() -> set[str]:
    from django.apps import apps

    return {config.label for config in apps.get_app_configs()}


def describe_migration(
    migration: Any, backwards: bool, root: str, facts: FactsCollector
) -> dict[str, Any]:
    operations = []
    for operation in migration.operations:
        description, _ = MigrateCommand.describe_operation(operation, backwards)
        operations.append(
            {
                "description": description,
                "irreversible": is_irreversible(operation),
                "facts": facts.observe(migration, operation),
            }
        )
    return {
        "app_label": migration.app_label,
        "name": migration.name,
        "path": migration_path(migration, root),
        "backwards": backwards,
        "atomic": bool(migration.atomic),
        "operations": operations,
        **read_source_notes(migration),
    }


def read_source_notes(migration: Any) -> dict[str, Any]:
    """Where each operation starts in the file, and its ``# migration-ci:`` comments."""
    filename = getattr(sys.modules.get(type(migration).__module__), "__file__", None)
    try:
        with open(str(filename), encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError, TypeError):
        return {"operation_lines": [], "ignores": []}
    return {"operation_lines": source.find_operation_lines(text),
            "ignores": [list(item) for item in source.find_marked_comments(text)]}


def is_irreversible(operation: Any) -> bool:
    """What ``migrate --plan`` marks IRREVERSIBLE when undoing, or Django refuses to reverse."""
    _, is_error = MigrateCommand.describe_operation(operation, True)
    return bool(is_error) or not getattr(operation, "reversible", True)


def migration_path(migration: Any, root: str) -> str | None:
    module = sys.modules.get(type(migration).__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return None
    path = os.path.abspath(str(filename))
    if os.path.commonpath([path, root]) == root:
        path = os.path.relpath(path, root)
    return path.replace(os.sep, "/")


def collect_sql(
    loader: MigrationLoader, connection: Any, migration: Any, backwards: bool
) -> dict[str, str | None]:
    """The text ``sqlmigrate`` prints for this migration, or why there is none."""
    node = loader.graph.nodes[(migration.app_label, migration.name)]
    try:
        statements = loader.collect_sql([(node, backwards)])
    # User migrations and third-party backends may raise anything here; one migration
    # whose SQL cannot be generated must not cost the reader the rest of the report.
    except Exception as error:
        return {"sql": None, "sql_error": f"{type(error).__name__}: {error}"}
    return {"sql": wrap_transaction(connection, migration, statements),
            "sql_error": explain_non_sql(migration.operations)}


def wrap_transaction(connection: Any, migration: Any, statements: list[str]) -> str:
    # Mirrors sqlmigrate.Command.output_transaction and BaseCommand.execute.
    output = "\n".join(statements)
    if output and migration.atomic and connection.features.can_rollback_ddl:
        start = connection.ops.start_transaction_sql()
        end = connection.ops.end_transaction_sql()
        output = f"{start}\n{output}\n{end}"
    return output


def explain_non_sql(operations: Iterable[Any]) -> str | None:
    reasons = [
        f"{operation.describe()} ({type(operation).__name__}) runs Python code, "
        "not SQL; sqlmigrate shows it as a comment"
        for operation in operations
        if not operation.reduces_to_sql
    ]
    return "; ".join(reasons) or None
