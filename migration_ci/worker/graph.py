"""The Django-loaded engine, worker side: the project's migrations read by Django's loader.

Runs in the worker, where Django is set up with the project's settings. It answers exactly
what ``MigrationLoader(None)`` answers, for files the static engine cannot read literally;
``activities.check.analyze_loaded`` asks it and builds the same ``Graph`` from the answer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_ci.errors import GraphError, MigrationFileError
from migration_ci.graph.dag import Graph, check_squashes
from migration_ci.graph.keys import (
    ATTRIBUTES,
    FAILS,
    is_ignored,
    is_key,
    malformed_attribute,
    malformed_key,
)
from migration_ci.graph.parse import parse_migration
from migration_ci.graph.specs import Key, MigrationSpec, OperationSpec, spec_to_json
from migration_ci.graph.syntax import needed_python, running_python, version


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

    try:
        loader = CheckedLoader(None, ignore_no_migrations=True)
    except NodeNotFoundError as exc:
        where = _module_file(type(exc.origin).__module__, project_dir) if exc.origin else ""
        raise GraphError(
            f"{where + ': ' if where else ''}{exc.message}.",
            "Fix the dependency or restore the file.",
        ) from None
    except CircularDependencyError as exc:
        raise GraphError(
            f"Circular dependency between migrations: {exc}.",
            "Remove the dependency (or run_before) that closes the loop.",
        ) from None
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


def check_disk(disk_migrations: Mapping[Key, Any], project_dir: Path) -> None:
    """Malformed keys (``graph.keys``) and squashes of squashes, as the static engine
    refuses them: Django fails on them too, but later, with a raw or order-dependent error."""
    for key in sorted(disk_migrations):
        migration = disk_migrations[key]
        for attribute in ATTRIBUTES:
            for value in getattr(migration, attribute):
                if not is_key(value) and not is_ignored(attribute, value):
                    raise malformed_entry(migration, attribute, value, project_dir)
    check_squashes(
        MigrationSpec(m.app_label, m.name, _module_file(type(m).__module__, project_dir),
                      replaces=tuple((key[0], key[1]) for key in m.replaces if is_key(key)))
        for m in disk_migrations.values() if m.replaces
    )


def check_classes(project_dir: Path) -> None:
    """The static engine's error for a ``Migration`` class whose ``dependencies`` (or
    ``replaces``, ``run_before``) is not a list, among the migration modules imported so far."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    packages = [MigrationLoader.migrations_module(config.label)[0]
                for config in apps.get_app_configs()]
    prefixes = tuple(f"{package}." for package in packages if package)
    for name in sorted(n for n in sys.modules if n.startswith(prefixes)):
        klass = getattr(sys.modules[name], "Migration", None)
        for attribute in ATTRIBUTES:
            value = getattr(klass, attribute, ())
            if not isinstance(value, Iterable):
                where = _module_file(name, project_dir)
                raise _static_error(where, project_dir) or malformed_attribute(
                    where, attribute, value)


def _static_error(where: str, project_dir: Path) -> MigrationFileError | None:
    """The static engine's malformed-key error for file ``where``, when it reads the value."""
    try:
        parse_migration((project_dir / where).read_bytes(), path=where, app_label="",
                        name="")
    except MigrationFileError as exc:
        return exc if FAILS in exc.message else None
    except OSError:
        return None
    return None


def malformed_entry(migration: Any, attribute: str, value: Any, project_dir: Path) -> Exception:
    """The static engine's error for this file (it names the line) when it reads the value
    literally, else the same message without the line."""
    where = _module_file(type(migration).__module__, project_dir)
    return _static_error(where, project_dir) or malformed_key(where, attribute, value)


def syntax_error(exc: SyntaxError, project_dir: Path) -> MigrationFileError:
    """A file Django cannot import, saying which Python can when it is newer syntax."""
    where = _relative(exc.filename or "", project_dir)
    message = f"{where}:{exc.lineno}: syntax error: {exc.msg}"
    try:
        lines = Path(exc.filename or "").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        lines = []
    needed = needed_python(exc, lines)
    if needed is None:
        return MigrationFileError(message)
    return MigrationFileError(
        f"{message}. {needed[1]} are from Python {version(needed)}, and this is Python "
        f"{running_python()}.",
        "Run the Django engine with the Python your project uses, or the static engine "
        "(without --settings), which reads the graph without that part of the file.",
    )


def _module_file(module_name: str, project_dir: Path) -> str:
    """The file of an imported module, relative to the project ("" when unknown)."""
    filename = getattr(sys.modules.get(module_name), "__file__", None)
    return _relative(filename, project_dir) if filename else ""


def _bad_migration_file(message: str, project_dir: Path) -> str:
    """The file Django's "Migration X in app Y has no Migration class" is about."""
    import re

    from django.db.migrations.loader import MigrationLoader

    match = re.fullmatch(r"Migration (\S+) in app (\S+) has no Migration class", message)
    if match is None:
        return ""
    module_name, _ = MigrationLoader.migrations_module(match[2])
    return _module_file(f"{module_name}.{match[1]}", project_dir) if module_name else ""


def spec_from_migration(migration: Any, project_dir: Path) -> MigrationSpec:
    module = sys.modules.get(type(migration).__module__)
    filename = getattr(module, "__file__", None) or ""
    return MigrationSpec(
        app_label=migration.app_label,
        name=migration.name,
        path=_relative(filename, project_dir),
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


def _relative(filename: str, project_dir: Path) -> str:
    if not filename:
        return ""
    try:
        return Path(filename).resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return Path(filename).as_posix()

