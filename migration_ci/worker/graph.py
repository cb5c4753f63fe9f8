"""The Django-loaded engine, worker side: the project's migrations read by Django's loader.

Runs in the worker, where Django is set up with the project's settings. It answers exactly
what ``MigrationLoader(None)`` answers, for files the static engine cannot read literally;
``activities.check.analyze_loaded`` asks it and builds the same ``Graph`` from the answer.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration_ci.errors import GraphError, MigrationFileError
from migration_ci.graph.dag import Graph, cycle_error, from_smallest
from migration_ci.graph.keys import is_key
from migration_ci.graph.specs import Key, MigrationSpec, OperationSpec, spec_to_json
from migration_ci.worker.checks import (
    check_classes,
    check_disk,
    module_file,
    relative,
    syntax_error,
)


def worker_graph(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``graph`` command: the loaded graph's nodes and edges and every migration's spec,
    paths relative to ``payload["root"]`` (the project folder the worker runs in)."""
    graph, specs = load_graph(Path(payload["root"]))
    return {
        "nodes": graph.nodes,
        "edges": graph.edges(),
        "specs": [spec_to_json(specs[key]) for key in sorted(specs)],
    }


def load_graph(project_dir: Path) -> tuple[Graph, dict[Key, MigrationSpec]]:
    """``MigrationLoader(None, ignore_no_migrations=True)`` on the configured project."""
    from django.core.management.base import CommandError
    from django.db.migrations.exceptions import (
        BadMigrationError,
        CircularDependencyError,
        NodeNotFoundError,
    )
    from django.db.migrations.loader import MigrationLoader

    class CheckedLoader(MigrationLoader):  # type: ignore[misc]
        """Django's loader, refusing what both engines refuse before it builds the graph."""

        def load_disk(self) -> None:
            try:
                super().load_disk()
            except TypeError:  # Migration(): list(dependencies) of a value that is not iterable
                check_classes(project_dir)
                raise
            check_disk(self.disk_migrations, project_dir)

    loader = CheckedLoader(None, ignore_no_migrations=True, load=False)
    try:
        loader.build_graph()
    except CommandError as exc:  # Django 6.0+: "Cyclical squash replacement found"
        raise _squash_loop_error(str(exc), loader.disk_migrations, project_dir) from None
    except NodeNotFoundError as exc:
        where = module_file(type(exc.origin).__module__, project_dir) if exc.origin else ""
        raise GraphError(
            f"{where + ': ' if where else ''}{exc.message}.",
            "Fix the dependency or restore the file.",
        ) from None
    except CircularDependencyError as exc:
        cycle = from_smallest(str(exc).split(", "))
        raise cycle_error(cycle, _migration_file(cycle[0], project_dir)) from None
    except BadMigrationError as exc:
        where = _bad_migration_file(str(exc), project_dir)
        raise MigrationFileError(
            f"{where + ': ' if where else ''}{exc}.",
            "A migration module must define 'class Migration(migrations.Migration)'.",
        ) from None
    except SyntaxError as exc:
        raise syntax_error(exc, project_dir) from None
    except ImportError as exc:
        raise MigrationFileError(
            f"A migration could not be imported: {exc}",
            "Fix the import, or use the static engine (drop --settings).",
        ) from None
    except ValueError as exc:  # check_key: "Dependency on unknown app: x"
        raise GraphError(
            f"{exc}.", "Add the app to INSTALLED_APPS or fix the dependency."
        ) from None
    specs = {key: spec_from_migration(migration, project_dir)
             for key, migration in loader.disk_migrations.items()}
    paths = {key: spec.path for key, spec in specs.items()}
    return Graph.from_django(loader.graph, paths), specs


def _squash_loop_error(message: str, disk: Mapping[Key, Any], project_dir: Path) -> GraphError:
    """The static engine's message for squashes whose ``replaces`` form a loop."""
    found = re.search(r"starting at \('([^']*)', '([^']*)'\)", message)
    if not found:
        return GraphError(f"{message}.", "Remove one of them from the other's replaces.")
    key = (found[1], found[2])
    where = module_file(type(disk[key]).__module__, project_dir) if key in disk else ""
    return GraphError(
        f"{where + ': ' if where else ''}squashed migrations replace each other in a loop "
        f"that starts at {key[0]}.{key[1]}.",
        "Remove one of them from the other's replaces.",
    )


def _migration_file(node: str, project_dir: Path) -> str:
    """The file of migration ``app.name`` (imported by the loader), "" when unknown."""
    from django.db.migrations.loader import MigrationLoader

    app_label, _, name = node.partition(".")
    module_name, _ = MigrationLoader.migrations_module(app_label)
    return module_file(f"{module_name}.{name}", project_dir) if module_name else ""


def _bad_migration_file(message: str, project_dir: Path) -> str:
    """The file Django's "Migration X in app Y has no Migration class" is about."""
    import re

    from django.db.migrations.loader import MigrationLoader

    match = re.fullmatch(r"Migration (\S+) in app (\S+) has no Migration class", message)
    if match is None:
        return ""
    module_name, _ = MigrationLoader.migrations_module(match[2])
    return module_file(f"{module_name}.{match[1]}", project_dir) if module_name else ""


def spec_from_migration(migration: Any, project_dir: Path) -> MigrationSpec:
    module = sys.modules.get(type(migration).__module__)
    filename = getattr(module, "__file__", None) or ""
    return MigrationSpec(
        app_label=migration.app_label,
        name=migration.name,
        path=relative(filename, project_dir),
        dependencies=tuple((a, n) for a, n in migration.dependencies),
        # Django's loader ignores a hashable entry that names no node (check_disk).
        replaces=tuple((key[0], key[1]) for key in migration.replaces if is_key(key)),
        run_before=tuple((a, n) for a, n in migration.run_before),
        initial=migration.initial,
        atomic=migration.atomic,
        operations=tuple(operation_spec(operation) for operation in migration.operations),
    )


def formatted_description(operation: Any) -> str:
    """Django 5.1+'s ``formatted_description()``; before 5.1, ``describe()`` with the same
    category symbol 5.1 gives that operation (``?`` when unknown)."""
    formatted = getattr(operation, "formatted_description", None)
    if formatted is not None:
        return str(formatted())
    from migration_ci.graph.operations import OPERATIONS

    symbol = OPERATIONS.get(type(operation).__name__, ("?",))[0]
    return f"{symbol} {operation.describe()}"


def operation_spec(operation: Any) -> OperationSpec:
    try:
        description = formatted_description(operation)
    except Exception:  # third-party describe() bugs must not stop a check
        description = f"? {type(operation).__name__}"
    model = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    if type(operation).__name__ == "RenameModel":
        model = operation.old_name
    field = getattr(operation, "name", None) if hasattr(operation, "model_name") else None
    if type(operation).__name__ == "RenameField":
        field = operation.old_name
    if type(operation).__name__ in ("RemoveIndex", "AddIndex", "RenameIndex", "AddConstraint",
                                    "RemoveConstraint", "AlterConstraint"):
        field = None
    return OperationSpec(
        kind=type(operation).__name__,
        description=description,
        model=model.lower() if isinstance(model, str) else None,
        field=field.lower() if isinstance(field, str) else None,
    )
