"""The project modules a set of Python objects' code can come from, with what they import.

For the snapshot key: a base state built by migrations whose operations use the project's own
classes and functions (a custom field, a ``RunPython`` function, a base class in another
module) changes when those modules change, so their files are part of the key.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import re
import sys
import types
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any


def find_imported(
    migrations: Iterable[Any], root: Path, dirs: Collection[str], others: Iterable[Any] = ()
) -> dict[str, str]:
    """Project modules the base state's code can come from: path -> SHA-256 of the file.

    The modules of every class (each one in its MRO) and function the migrations' modules and
    operations hold (``others``: more objects, e.g. the routers), then, transitively, the
    project modules those modules import. Files under the migration directories are left out
    (their blob ids are in the key), and so are files outside ``root`` or in a
    ``site-packages`` under it: only the project's own code changes with a branch.
    """
    names: set[str] = set()
    roots: list[Any] = list(others)
    for migration in migrations:
        module = sys.modules.get(type(migration).__module__)
        roots.extend(vars(module).values() if module else ())
        roots.append(migration)
    collect_modules(roots, names)
    prefixes = tuple(d.rstrip("/") + "/" for d in dirs)
    found = {}
    for path in follow_imports(names, root).values():
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(prefixes):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(found.items()))


SCALARS = (str, bytes, int, float, complex, bool, type(None))


def collect_modules(roots: Iterable[Any], names: set[str]) -> None:
    """Add to ``names`` the module of each class (and its bases) and function reachable from
    ``roots`` through containers, instance attributes, bound methods and partials."""
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if isinstance(value, SCALARS) or id(value) in seen:
            continue
        seen.add(id(value))
        names.update(cls.__module__ for cls in type(value).__mro__)
        stack.extend(reachable(value, names))


def reachable(value: Any, names: set[str]) -> Iterable[Any]:
    """What ``value`` holds; adds the modules of classes, functions and modules to ``names``."""
    if isinstance(value, types.ModuleType):
        names.add(value.__name__)
        return ()
    if isinstance(value, type):
        names.update(cls.__module__ for cls in value.__mro__)
        return ()
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        names.add(getattr(value, "__module__", None) or "")
        return ()
    if isinstance(value, types.MethodType):
        return (value.__func__, value.__self__)
    if isinstance(value, functools.partial):
        return (value.func, *value.args, *value.keywords.values())
    if isinstance(value, Mapping):
        return (*value.keys(), *value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    attributes = getattr(value, "__dict__", None)
    return tuple(attributes.values()) if isinstance(attributes, dict) else ()


def follow_imports(names: Iterable[str], root: Path) -> dict[str, Path]:
    """The project modules among ``names`` and those they import, transitively: name -> file."""
    found: dict[str, Path] = {}
    pending = sorted(set(names))
    visited: set[str] = set()
    while pending:
        name = pending.pop()
        if name in visited:
            continue
        visited.add(name)
        path = find_project_file(name, root)
        if path is not None:
            found[name] = path
            if path.suffix == ".py":
                pending.extend(imported_names(path, name))
    return found


def find_project_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` when it is part of the project under ``root``."""
    module = sys.modules.get(name)
    filename = getattr(module, "__file__", None) if module else find_origin(name)
    if not filename:
        return None
    path = Path(filename).resolve()
    if not path.is_relative_to(root):
        return None
    parts = path.relative_to(root).parts
    return None if "site-packages" in parts or "dist-packages" in parts else path


def find_origin(name: str) -> str | None:
    """Where a module not imported yet would come from, without running it (only when its
    package is imported already: finding a submodule imports the package)."""
    parent = name.rpartition(".")[0]
    if not name or (parent and parent not in sys.modules):
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.has_location else None


DJANGO_IMPORT_LINE = re.compile(
    rb"^[ \t]*(?:from[ \t]+django[.\w]*[ \t]+import|import[ \t]+django[.\w]*)[^\n;]*$",
    re.MULTILINE,
)
IMPORT_WORD = re.compile(rb"\bimport\b")


def imported_names(path: Path, module_name: str) -> list[str]:
    """Modules an import statement anywhere in the file may name (``from a import b`` names
    ``a`` and maybe the submodule ``a.b``), with their parent packages."""
    source = path.read_bytes()
    if not IMPORT_WORD.search(DJANGO_IMPORT_LINE.sub(b"", source)):
        return []  # parsing is most of the cost, and most migration files import only Django
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    is_package = path.name == "__init__.py"
    package = module_name if is_package else module_name.rpartition(".")[0]
    names: list[str] = []
    for node in import_statements(tree.body):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):
                continue
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return [prefix for name in names for prefix in with_parents(name)]


def import_statements(statements: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """Import statements at any depth (in functions, classes, ``if``, ``try``), without
    walking expressions: a migration file is mostly one long expression."""
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                yield from import_statements(block)


def with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
