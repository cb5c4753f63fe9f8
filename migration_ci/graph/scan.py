"""Find Django migration packages in a list of paths, and name their apps.

Mirrors ``MigrationLoader.load_disk``: a migrations package needs ``__init__.py`` (namespace
packages are unmigrated apps), and its migrations are the modules directly inside whose
names do not start with ``_`` or ``~`` (``pkgutil.iter_modules`` skips dotted names).
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from fnmatch import fnmatch
from typing import Any, NamedTuple, Protocol

from migration_ci.errors import ConfigError
from migration_ci.graph.parse import defines_migration, parse_many
from migration_ci.graph.specs import MigrationPackage, MigrationSpec, Skipped

Reader = Callable[[Sequence[str]], dict[str, bytes]]


def is_excluded(path: str, exclude: Sequence[str]) -> bool:
    return any(fnmatch(path, pattern) for pattern in exclude)


def is_migration_module(filename: str) -> bool:
    module, ext = posixpath.splitext(filename)
    return ext == ".py" and bool(module) and module[0] not in "_~" and "." not in module


class Scan(NamedTuple):
    packages: list[MigrationPackage]  # sorted by label
    skipped: list[Skipped]  # packages named migrations that are not an app's, by path


def find_packages(
    paths: Iterable[str],
    read: Reader,
    *,
    label_overrides: Mapping[str, str] = {},  # never mutated
    exclude: Sequence[str] = (),
) -> list[MigrationPackage]:
    """Every migrations package in ``paths`` with its app label, sorted by label."""
    return scan_tree(paths, read, label_overrides=label_overrides, exclude=exclude).packages


def scan_tree(
    paths: Iterable[str],
    read: Reader,
    *,
    label_overrides: Mapping[str, str] = {},  # never mutated
    exclude: Sequence[str] = (),
) -> Scan:
    """The migrations packages in ``paths``, and the packages named so that are not one.

    A package whose folder is not an app (``is_app_folder``) and none of whose modules
    defines ``Migration`` is skipped: Django loads only installed apps' migrations, and it
    cannot be one (a library's data-migration functions, a ``tests/migrations`` package).
    """
    files = _files_by_folder(paths, exclude)
    packages = {
        directory: sorted(name for name in names if is_migration_module(name))
        for directory, names in files.items()
        if posixpath.basename(directory) == "migrations" and "__init__.py" in names
    }
    app_dirs = {directory: posixpath.dirname(directory) for directory in packages}
    doubtful = [d for d, app_dir in app_dirs.items() if not is_app_folder(app_dir, files)]
    wanted = [posixpath.join(d, "apps.py") for d in app_dirs.values()
              if "apps.py" in files.get(d, ())]
    wanted += [posixpath.join(d, name) for d in doubtful for name in packages[d]]
    sources = read(wanted) if wanted else {}
    skipped = [Skipped(d, not_migrations_reason(app_dirs[d], len(packages[d])))
               for d in sorted(doubtful) if not _any_migration(d, packages[d], sources)]
    left_out = {item.path for item in skipped}
    found = [
        MigrationPackage(
            app_label=get_app_label(app_dir, sources.get(posixpath.join(app_dir, "apps.py")),
                                    label_overrides),
            app_dir=app_dir,
            migrations_dir=directory,
            files=tuple(posixpath.join(directory, name) for name in packages[directory]),
        )
        for directory, app_dir in app_dirs.items() if directory not in left_out
    ]
    _check_unique_labels(found)
    return Scan(sorted(found, key=lambda package: (package.app_label, package.app_dir)), skipped)


def _any_migration(directory: str, modules: Sequence[str], sources: Mapping[str, bytes]) -> bool:
    paths = (posixpath.join(directory, name) for name in modules)
    return any(defines_migration(sources[path], path) for path in paths)


def _files_by_folder(paths: Iterable[str], exclude: Sequence[str]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for path in paths:
        if exclude and is_excluded(path, exclude):
            continue
        directory, filename = posixpath.split(path)
        files.setdefault(directory, []).append(filename)
    return files


def is_app_folder(app_dir: str, files: Mapping[str, Sequence[str]]) -> bool:
    """Whether the folder holding a migrations package looks like a Django app."""
    names = files.get(app_dir, ())
    return ("apps.py" in names or "models.py" in names
            or "__init__.py" in files.get(posixpath.join(app_dir, "models"), ()))


def not_migrations_reason(app_dir: str, modules: int) -> str:
    """Why a package named ``migrations`` is not an app's: Django would never load it."""
    holds = ("it holds no modules" if not modules
             else "none of its modules defines a Migration class")
    return (f"not an app's migrations: {holds}, and {app_dir or 'the root folder'} has no "
            "apps.py, models.py or models package")


def get_app_label(app_dir: str, apps_source: bytes | None, overrides: Mapping[str, str]) -> str:
    """The label Django gives the app: override, else its AppConfig, else its folder name."""
    config_name, config_label = read_app_config(apps_source) if apps_source else (None, None)
    for key in (app_dir or ".", app_dir.replace("/", "."), config_name):
        if key and key in overrides:
            return overrides[key]
    if config_label:
        return config_label
    if config_name:
        return config_name.rpartition(".")[2]  # AppConfig.label's default
    if not app_dir:
        raise ConfigError(
            "A migrations package sits at the root of the scanned tree, so its app has no "
            "folder name to use as a label.",
            "Set it in .migration-ci.yml: app-labels: {'.': your_label}.",
        )
    return posixpath.basename(app_dir)


def read_app_config(source: bytes) -> tuple[str | None, str | None]:
    """``(name, label)`` of the AppConfig Django would pick from an ``apps.py``.

    As ``AppConfig.create`` (Django 3.2+): the only subclass not marked ``default = False``,
    else the only one marked ``default = True``, else none.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None, None
    configs = [
        _class_strings(node)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and any(_is_app_config(base) for base in node.bases)
    ]
    candidates = [config for config in configs if config.get("default", True) is not False]
    if len(candidates) != 1:
        candidates = [config for config in configs if config.get("default") is True]
    configs = candidates
    if len(configs) != 1:
        return None, None
    name, label = configs[0].get("name"), configs[0].get("label")
    return (name if isinstance(name, str) else None, label if isinstance(label, str) else None)


def _is_app_config(base: ast.expr) -> bool:
    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
    return isinstance(name, str) and name.endswith("AppConfig")


def _class_strings(node: ast.ClassDef) -> dict[str, object]:
    values: dict[str, object] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = stmt.value.value
    return values


def _check_unique_labels(packages: Sequence[MigrationPackage]) -> None:
    seen: dict[str, MigrationPackage] = {}
    for package in sorted(packages, key=lambda p: p.migrations_dir):
        other = seen.setdefault(package.app_label, package)
        if other is not package:
            raise ConfigError(
                f"Two migration packages have the app label '{package.app_label}': "
                f"{other.migrations_dir} and {package.migrations_dir}.",
                f"Give them distinct labels in .migration-ci.yml, e.g. "
                f"app-labels: {{{package.app_dir}: {package.app_label}_2}}, "
                "or exclude one with exclude:.",
            )


def load_specs(
    packages: Iterable[MigrationPackage],
    read: Reader,
    auth_user_model: str = "auth.User",
    cache: SpecCache | None = None,
) -> list[MigrationSpec]:
    """Parse every migration file of ``packages``, reading them all in one ``read`` call.

    With a ``cache``, files already parsed with the same bytes, path and label are reused.
    """
    entries = [
        (path, package.app_label, posixpath.splitext(posixpath.basename(path))[0])
        for package in packages
        for path in package.files
    ]
    sources = read([path for path, _, _ in entries])
    items = [(sources[path], path, label, name) for path, label, name in entries]
    if cache is None:
        return parse_many(items, auth_user_model)
    keys = [cache.key(*item, auth_user_model) for item in items]
    found = [cache.get(key) for key in keys]
    missing = [i for i, spec in enumerate(found) if spec is None]
    parsed = parse_many([items[i] for i in missing], auth_user_model)
    for i, spec in zip(missing, parsed, strict=True):
        cache.put(keys[i], spec)
        found[i] = spec
    return [spec for spec in found if spec is not None]


class SpecCache(Protocol):
    """Where parsed specs are kept between runs (``parsecache.ParseCache``)."""

    def key(
        self, source: bytes, path: str, app_label: str, name: str, auth_user_model: str
    ) -> Hashable: ...

    def get(self, key: Any) -> MigrationSpec | None: ...

    def put(self, key: Any, spec: MigrationSpec) -> None: ...
