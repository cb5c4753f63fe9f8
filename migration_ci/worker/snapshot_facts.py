"""What a base state depends on besides the base's files, read inside the user's project.

The worker side of snapshots (``migration_ci.worker.process`` runs ``worker_facts`` with Django set
up): the schema settings, where migrations live, digests of outside apps' migrations and of
the base's operations as loaded, the project modules their code comes from
(``codewalk.find_imported``), and whether the base's migrations can be applied on their own.
``migration_ci.activities.snapshot`` turns these into the snapshot key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_ci.worker.codewalk import find_imported

SCHEMA_SETTINGS = (
    "INSTALLED_APPS", "AUTH_USER_MODEL", "DEFAULT_AUTO_FIELD", "MIGRATION_MODULES",
    "TIME_ZONE", "USE_TZ", "DATABASE_ROUTERS", "DEFAULT_TABLESPACE", "DEFAULT_INDEX_TABLESPACE",
)
"""Settings that can change what migrations create (swappable models, the automatic primary
key, where migrations live, how datetimes are stored, which operations run on the database,
where tables and indexes go)."""


def worker_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the base state depends on besides the base's files, read in the project.

    ``payload``: ``{"database_alias", "root", "base_modules": [project-relative .py paths of
    the base]}``. ``not_applicable`` is None when the base state can be built on its own.
    """
    import django
    from django.db import connections, router
    from django.db.migrations.loader import MigrationLoader

    root = Path(payload["root"]).resolve()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    dirs, external = find_migration_dirs(loader, root)
    paths = {key: module_path(migration, root) for key, migration in loader.disk_migrations.items()}
    base_keys = find_base_keys(paths, payload["base_modules"])
    base = [loader.disk_migrations[key] for key in sorted(base_keys)]
    return {
        "django": django.get_version(),
        "settings": schema_settings(connections[payload["database_alias"]]),
        "migration_dirs": sorted(dirs),
        "external": external,
        "imported": find_imported(base, root, dirs, others=router.routers),
        "operations": digest_operations(base),
        "not_applicable": find_intruder(loader, base_keys),
    }


def find_base_keys(
    paths: Mapping[tuple[str, str], str | None], base_modules: Collection[str]
) -> set[tuple[str, str]]:
    """Migrations of the base: its own files, and those of apps outside the project (their
    files are part of the key)."""
    modules = set(base_modules)
    return {key for key, path in paths.items() if path is None or path in modules}


def schema_settings(connection: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.db import router

    from migration_ci.worker.process import json_safe

    values = {name: json_safe(getattr(settings, name, None)) for name in SCHEMA_SETTINGS}
    values["DATABASES ENGINE"] = connection.settings_dict.get("ENGINE")
    values["DATABASES OPTIONS"] = json_safe(connection.settings_dict.get("OPTIONS") or {})
    # The throwaway database never gets the alias's TEST options (the worker drops them), but
    # its own TIME_ZONE converts the datetimes RunPython writes.
    values["DATABASES TIME_ZONE"] = connection.settings_dict.get("TIME_ZONE")
    # DATABASE_ROUTERS may hold instances, which the setting's value above leaves out.
    values["DATABASE_ROUTERS classes"] = [qualified_name(type(r)) for r in router.routers]
    return values


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def find_migration_dirs(loader: Any, root: Path) -> tuple[set[str], dict[str, str]]:
    """Project-relative migration directories, and a digest of each outside app's files."""
    from django.apps import apps

    dirs: set[str] = set()
    external: dict[str, str] = {}
    for config in apps.get_app_configs():
        module_name, _ = loader.migrations_module(config.label)
        if module_name is None:
            continue
        directory = locate_module_dir(module_name, Path(config.path))
        if directory.is_relative_to(root):
            dirs.add(directory.relative_to(root).as_posix())
        elif directory.is_dir():
            external[config.label] = digest_dir(directory)
    return dirs, external


def locate_module_dir(module_name: str, app_path: Path) -> Path:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return (app_path / module_name.rpartition(".")[2]).resolve()


def digest_dir(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def module_path(migration: Any, root: Path) -> str | None:
    """The project-relative path of the migration's file (``root`` resolved), or None."""
    filename = getattr(sys.modules.get(type(migration).__module__), "__file__", None)
    if not filename:
        return None
    path = (Path(filename).resolve() if os.path.islink(filename)
            else resolved_dir(os.path.dirname(filename)) / os.path.basename(filename))
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None


@functools.cache
def resolved_dir(directory: str) -> Path:
    """``Path.resolve()`` once per directory: thousands of migrations share a few dozen."""
    return Path(directory).resolve()


def digest_operations(migrations: Iterable[Any]) -> dict[str, str]:
    """``"app.name"`` -> SHA-256 of the migration's operations as loaded, serialized like
    ``makemigrations`` writes them: values computed when the files are imported (settings
    such as swappable models, the environment) are part of what the base state is built from.
    One digest per migration, so that a later base can tell which of them changed."""
    digests = {}
    for migration in migrations:
        digest = hashlib.sha256()
        for operation in migration.operations:
            digest.update(serialize_operation(operation).encode() + b"\0")
        digests[f"{migration.app_label}.{migration.name}"] = digest.hexdigest()
    return dict(sorted(digests.items()))


def serialize_operation(operation: Any) -> str:
    from django.db.migrations.writer import OperationWriter

    try:
        text, _imports = OperationWriter(operation, indentation=0).serialize()
    except (ValueError, TypeError):
        # e.g. a lambda in RunPython: no stable text; the code's files are keyed instead.
        return f"unserializable {qualified_name(type(operation))}"
    return str(text)


def find_intruder(loader: Any, base_keys: set[tuple[str, str]]) -> str | None:
    """Why the base's migrations cannot be applied on their own here, or None."""
    for key in sorted(set(loader.disk_migrations) - base_keys):
        # A restored base records the replaced migrations as applied, so Django would take
        # this branch's squash as applied too, where a fresh database runs it.
        replaced = {(str(app), str(name)) for app, name in loader.disk_migrations[key].replaces}
        squashed = sorted(replaced & base_keys)
        if squashed:
            names = ", ".join(f"{app}.{name}" for app, name in squashed)
            return (f"migration {key[0]}.{key[1]} of this branch replaces base migrations "
                    f"({names})")
    graph = loader.graph
    for target in base_targets(graph, base_keys):
        for key in graph.forwards_plan(target):
            if key not in base_keys:
                return (
                    f"migration {key[0]}.{key[1]} of this branch runs before base migration "
                    f"{target[0]}.{target[1]}"
                )
    return None


def base_targets(graph: Any, base_keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The leaves of the base's part of the graph."""
    nodes = base_keys & set(graph.nodes)
    return sorted(
        key for key in nodes
        if not any(child.key in nodes for child in graph.node_map[key].children)
    )
