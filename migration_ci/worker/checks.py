"""What the Django engine refuses before Django's loader builds its graph, in the static
engine's words: malformed keys (``graph.keys``; Django fails on them later, with a raw
``IndexError`` or ``TypeError`` or a node no file can be), and a file in syntax newer than this
Python, naming the Python that reads it. Runs in the worker.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_ci.errors import MigrationFileError
from migration_ci.graph.keys import (
    ATTRIBUTES,
    FAILS,
    is_ignored,
    is_key,
    malformed_attribute,
    malformed_key,
)
from migration_ci.graph.parse import parse_migration
from migration_ci.graph.specs import Key
from migration_ci.graph.syntax import needed_python, running_python, version


def check_disk(disk_migrations: Mapping[Key, Any], project_dir: Path) -> None:
    """Malformed keys (``graph.keys``), as the static engine refuses them: Django fails on them
    too, but later, with a raw IndexError or TypeError or a node no file can be."""
    for key in sorted(disk_migrations):
        migration = disk_migrations[key]
        for attribute in ATTRIBUTES:
            for value in getattr(migration, attribute):
                if not is_key(value) and not is_ignored(attribute, value):
                    raise malformed_entry(migration, attribute, value, project_dir)


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
                where = module_file(name, project_dir)
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
    where = module_file(type(migration).__module__, project_dir)
    return _static_error(where, project_dir) or malformed_key(where, attribute, value)


def syntax_error(exc: SyntaxError, project_dir: Path) -> MigrationFileError:
    """A file Django cannot import, saying which Python can when it is newer syntax."""
    where = relative(exc.filename or "", project_dir)
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


def module_file(module_name: str, project_dir: Path) -> str:
    """The file of an imported module, relative to the project ("" when unknown)."""
    filename = getattr(sys.modules.get(module_name), "__file__", None)
    return relative(filename, project_dir) if filename else ""


def relative(filename: str, project_dir: Path) -> str:
    if not filename:
        return ""
    try:
        return Path(filename).resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return Path(filename).as_posix()
