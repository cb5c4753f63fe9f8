"""Read migration files with ``ast``: dependencies, squashes and operations, no import.

Only the ``Migration`` class body and the module-level assignments are walked, so a
file costs one parse. Values are read by ``literals.Resolver``; operation descriptions are
Django 5.2's ``Operation.formatted_description()``, rebuilt by ``operations``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from migration_ci.errors import MigrationFileError
from migration_ci.graph.literals import NotLiteral, Resolver
from migration_ci.graph.operations import describe_operation
from migration_ci.graph.specs import Key, MigrationSpec, OperationSpec

PARALLEL_THRESHOLD = 400  # below this, forking costs more than it saves
_KEY_LISTS = (
    ("dependencies", "dependency"),
    ("replaces", "replaces entry"),
    ("run_before", "run_before entry"),
)


def _assignments(body: Sequence[ast.stmt]) -> dict[str, ast.expr]:
    names: dict[str, ast.expr] = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = stmt.value
        elif (
            isinstance(stmt, ast.AnnAssign)
            and stmt.value is not None
            and isinstance(stmt.target, ast.Name)
        ):
            names[stmt.target.id] = stmt.value
    return names


def _compile(source: bytes, path: str) -> ast.Module:
    try:
        tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if "codec can't decode" in (exc.msg or ""):
            byte = exc.msg.split("decode ", 1)[-1].split(" in position", 1)[0]
            raise MigrationFileError(
                f"{path}:{exc.lineno}: the file is not valid UTF-8 (cannot decode {byte}).",
                "Save it as UTF-8, or declare its encoding with a '# -*- coding: ... -*-' line.",
            ) from None
        raise MigrationFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except ValueError as exc:  # null bytes on Python < 3.12
        raise MigrationFileError(f"{path}:1: syntax error: {exc}") from None
    assert isinstance(tree, ast.Module)
    return tree


def _find_migration_class(tree: ast.Module, path: str) -> tuple[ast.ClassDef, dict[str, ast.expr]]:
    found: ast.ClassDef | None = None
    module_names: dict[str, ast.expr] = {}
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration":
            found = stmt
            module_names = _assignments(tree.body[:index])
    if found is None:
        raise MigrationFileError(
            f"{path}: no Migration class.",
            "A migration module must define 'class Migration(migrations.Migration)'.",
        )
    return found, module_names


def parse_migration(
    source: bytes, *, path: str, app_label: str, name: str, auth_user_model: str = "auth.User"
) -> MigrationSpec:
    """The spec of one migration file, as Django's loader would see it once imported."""
    tree = _compile(source, path)
    klass, module_names = _find_migration_class(tree, path)
    class_names = _assignments(klass.body)
    resolver = Resolver(module_names, class_names, auth_user_model)
    warnings: list[str] = []
    keys = {
        attr: _read_keys(class_names.get(attr), what, resolver, path, warnings)
        for attr, what in _KEY_LISTS
    }
    return MigrationSpec(
        app_label=app_label,
        name=name,
        path=path,
        dependencies=keys["dependencies"],
        replaces=keys["replaces"],
        run_before=keys["run_before"],
        initial=_read_flag(class_names.get("initial"), None, resolver),
        atomic=bool(_read_flag(class_names.get("atomic"), True, resolver)),
        operations=_read_operations(class_names.get("operations"), resolver, path, warnings),
        warnings=tuple(warnings),
    )


def _not_literal(path: str, node: ast.AST, what: str) -> str:
    text = ast.unparse(node)
    if len(text) > 60:
        text = text[:57] + "..."
    return (
        f"{path}:{getattr(node, 'lineno', 0)}: {what} is not a literal ({text}); "
        "the Django-loaded engine (--settings) reads it exactly"
    )


def _read_keys(
    node: ast.expr | None, what: str, resolver: Resolver, path: str, warnings: list[str]
) -> tuple[Key, ...]:
    if node is None:
        return ()
    keys: list[Key] = []
    try:
        elements = list(resolver.elements(node))
    except NotLiteral as exc:
        warnings.append(_not_literal(path, exc.node, what))
        return ()
    for element in elements:
        try:
            value = resolver.value(element)
        except NotLiteral:
            warnings.append(_not_literal(path, element, what))
            continue
        if (
            isinstance(value, (tuple, list))
            and len(value) == 2
            and all(isinstance(part, str) for part in value)
        ):
            keys.append((value[0], value[1]))
        else:
            warnings.append(_not_literal(path, element, what))
    return tuple(keys)


def _read_flag(node: ast.expr | None, default: bool | None, resolver: Resolver) -> bool | None:
    if node is None:
        return default
    try:
        value = resolver.value(node)
    except NotLiteral:
        return default
    return bool(value) if value is not None else None


def _read_operations(
    node: ast.expr | None, resolver: Resolver, path: str, warnings: list[str]
) -> tuple[OperationSpec, ...]:
    if node is None:
        return ()
    try:
        elements = list(resolver.elements(node))
    except NotLiteral as exc:
        warnings.append(_not_literal(path, exc.node, "operations"))
        return ()
    return tuple(describe_operation(element, resolver) for element in elements)


def _parse_item(item: tuple[bytes, str, str, str], auth_user_model: str) -> MigrationSpec:
    source, path, app_label, name = item
    return parse_migration(
        source, path=path, app_label=app_label, name=name, auth_user_model=auth_user_model
    )


def _parse_chunk(
    chunk: Sequence[tuple[bytes, str, str, str]], auth_user_model: str
) -> list[tuple[Any, ...]] | MigrationFileError:
    """Runs in a worker: plain tuples pickle several times faster than dataclasses."""
    try:
        return [spec_to_tuple(_parse_item(item, auth_user_model)) for item in chunk]
    except MigrationFileError as exc:
        return exc  # re-raised in the parent, with the same message


def spec_to_tuple(spec: MigrationSpec) -> tuple[Any, ...]:
    """A compact form of ``spec`` made of tuples and strings (cheap to pickle or marshal)."""
    operations = tuple(
        (op.kind, op.description, op.model, op.field, op.lineno) for op in spec.operations
    )
    return (spec.app_label, spec.name, spec.path, spec.dependencies, spec.replaces,
            spec.run_before, spec.initial, spec.atomic, operations, spec.warnings)


def spec_from_tuple(values: tuple[Any, ...]) -> MigrationSpec:
    app_label, name, path, dependencies, replaces, run_before, initial, atomic, ops, warns = values
    return MigrationSpec(
        app_label, name, path, dependencies, replaces, run_before, initial, atomic,
        tuple(OperationSpec(*op) for op in ops), warns,
    )


def parse_many(
    items: Sequence[tuple[bytes, str, str, str]], auth_user_model: str = "auth.User"
) -> list[MigrationSpec]:
    """Parse ``(source, path, app_label, name)`` items, forking workers for large trees.

    The first file that cannot be read raises its ``MigrationFileError`` (in item order).
    Identical items (a base ref and a branch share most files) are parsed once.
    """
    unique = list(dict.fromkeys(items))
    if len(unique) < len(items):
        parsed = dict(zip(unique, parse_many(unique, auth_user_model), strict=True))
        return [parsed[item] for item in items]
    workers = min(os.cpu_count() or 1, 8)
    if len(items) < PARALLEL_THRESHOLD or workers < 2 or not _can_fork():
        return [_parse_item(item, auth_user_model) for item in items]
    size = -(-len(items) // workers)  # one chunk per process, the parent included
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    with ProcessPoolExecutor(workers - 1, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(_parse_chunk, chunk, auth_user_model) for chunk in chunks[1:]]
        try:  # the parent works too, on the first chunk
            first: list[MigrationSpec] | MigrationFileError = [
                _parse_item(item, auth_user_model) for item in chunks[0]
            ]
        except MigrationFileError as exc:
            first = exc
        outcomes = [future.result() for future in futures]
    if isinstance(first, MigrationFileError):
        raise first
    results = first
    for outcome in outcomes:
        if isinstance(outcome, MigrationFileError):
            raise outcome
        results.extend(spec_from_tuple(values) for values in outcome)
    return results


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
