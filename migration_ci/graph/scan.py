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
from typing import Any, Protocol

from migration_ci.errors import ConfigError
from migration_ci.graph.parse import parse_many
from migration_ci.graph.specs import MigrationPackage, MigrationSpec

Reader = Callable[[Sequence[str]], dict[str, bytes]]
_INIT = "migrations/__init__.py"


def is_excluded(path: str, exclude: Sequence[str]) -> bool:
    return any(fnmatch(path, pattern) for pattern in exclude)


def is_migration_module(filename: str) -> bool:
    module, ext = posixpath.splitext(filename)
    return ext == ".py" and bool(module) and module[0] not in "_~" and "." not in module


def find_packages(
    paths: Iterable[str],
    read: Reader,
    *,
    label_overrides: Mapping[str, str] = {},  # never mutated
    exclude: Sequence[str] = (),
) -> list[MigrationPackage]:
    """Every migrations package in ``paths`` with its app label, sorted by label."""
    files: dict[str, list[str]] = {}
    packages: list[str] = []
    for path in paths:
        if exclude and is_excluded(path, exclude):
            continue
        directory, filename = posixpath.split(path)
        files.setdefault(directory, []).append(filename)
        if path == _INIT or path.endswith("/" + _INIT):
            packages.append(directory)
    app_dirs = [posixpath.dirname(directory) for directory in packages]
    apps_files = [posixpath.join(d, "apps.py") for d in app_dirs if "apps.py" in files.get(d, ())]
    sources = read(apps_files) if apps_files else {}
    found = []
    for directory, app_dir in zip(packages, app_dirs, strict=True):
        modules = sorted(name for name in files[directory] if is_migration_module(name))
        found.append(
            MigrationPackage(
                app_label=get_app_label(app_dir, sources.get(posixpath.join(app_dir, "apps.py")),
                                        label_overrides),
                app_dir=app_dir,
                migrations_dir=directory,
                files=tuple(posixpath.join(directory, name) for name in modules),
            )
        )
    _check_unique_labels(found)
    return sorted(found, key=lambda package: (package.app_label, package.app_dir))


def get_app_label(app_dir: str, apps_source: bytes | None, overrides: Mapping[str, str]) -> str:
    """The label Django gives the app: override, else its AppConfig, else its folder name."""
    config_name, config_label = read_app_config(apps_source) if apps_source else (None, None)
    for key in (app_dir, app_dir.replace("/", "."), config_name):
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
            "Set it in .migration-ci.yml: app_labels: {'.': your_label}.",
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
                f"app_labels: {{{package.app_dir}: {package.app_label}_2}}, "
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
