"""Read migration files with ``ast``: dependencies, squashes and operations, no import.

Only the ``Migration`` class body and the module-level statements are walked, so a file
costs one parse (``syntax`` reads files written for a newer Python). Values are read by
``literals.Resolver``, keys checked as Django's loader checks them (``keys``); operation
descriptions are Django 5.2's ``Operation.formatted_description()``, rebuilt by ``operations``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from migration_ci.errors import MigrationFileError
from migration_ci.graph.keys import (
    ATTRIBUTES,
    is_ignored,
    is_key,
    malformed_attribute,
    malformed_key,
    shown,
    why_not_a_key,
)
from migration_ci.graph.literals import NotLiteral, Resolver, Scope, source_text
from migration_ci.graph.operations import describe_operation
from migration_ci.graph.specs import Key, MigrationSpec, OperationSpec
from migration_ci.graph.syntax import compile_module

PARALLEL_THRESHOLD = 400  # below this, forking costs more than it saves


def find_migration_class(tree: ast.Module, path: str) -> ast.ClassDef:
    """The module's ``Migration`` class (the last one defined, as Python leaves it)."""
    found = [stmt for stmt in tree.body
             if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration"]
    if not found:
        raise MigrationFileError(
            f"{path}: no Migration class.",
            "A migration module must define 'class Migration(migrations.Migration)'.",
        )
    return found[-1]


def defines_migration(source: bytes, path: str) -> bool:
    """Whether the module binds the name ``Migration``, which is what Django's loader asks."""
    tree, _ = compile_module(source, path)
    return "Migration" in Scope(tree.body).bindings


def parse_migration(
    source: bytes, *, path: str, app_label: str, name: str, auth_user_model: str = "auth.User"
) -> MigrationSpec:
    """The spec of one migration file, as Django's loader would see it once imported."""
    tree, read_warnings = compile_module(source, path)
    klass = find_migration_class(tree, path)
    scope = Scope(klass.body)
    resolver = Resolver(Scope(tree.body), scope, auth_user_model)
    warnings = list(read_warnings)

    def attribute(attr: str) -> ast.expr | ast.stmt | None:
        binding = scope.final(attr)
        if binding is None:
            return None
        return binding[1] if binding[1] is not None else klass.body[binding[0]]

    keys = {attr: _read_keys(attribute(attr), attr, resolver, path, warnings)
            for attr in ATTRIBUTES}
    return MigrationSpec(
        app_label=app_label,
        name=name,
        path=path,
        dependencies=keys["dependencies"],
        replaces=keys["replaces"],
        run_before=keys["run_before"],
        initial=_read_flag(attribute("initial"), None, resolver),
        atomic=bool(_read_flag(attribute("atomic"), True, resolver)),
        operations=_read_operations(attribute("operations"), resolver, path, warnings),
        warnings=tuple(warnings),
    )


def _not_literal(path: str, node: ast.AST, what: str) -> str:
    return (
        f"{path}:{getattr(node, 'lineno', 0)}: {what} is not a literal ({source_text(node)}); "
        "the Django-loaded engine (--settings) reads it exactly"
    )


def _read_keys(
    node: ast.expr | ast.stmt | None, attr: str, resolver: Resolver, path: str,
    warnings: list[str],
) -> tuple[Key, ...]:
    """The keys of ``dependencies``, ``replaces`` or ``run_before``, as Django reads them."""
    if node is None:
        return ()
    what = ATTRIBUTES[attr]
    if isinstance(node, ast.stmt):  # bound by a def, an import, a loop...
        warnings.append(_not_literal(path, node, what))
        return ()
    try:
        entries = [(element, _entry(element, resolver)) for element in resolver.elements(node)]
    except NotLiteral as exc:
        entries = _whole(node, exc, attr, resolver, path, warnings)
    keys: list[Key] = []
    for element, value in entries:
        if value is _UNKNOWN:
            warnings.append(_not_literal(path, element, what))
        elif is_key(value):
            keys.append(value)
        elif is_ignored(attr, value):
            warnings.append(f"{path}:{element.lineno}: {what} {shown(value)} is not a tuple "
                            f"('app_label', 'migration_name'){why_not_a_key(value)}; "
                            "Django's loader ignores it")
        else:
            raise malformed_key(f"{path}:{element.lineno}", attr, value, _value(node, resolver))
    return tuple(keys)


_UNKNOWN = object()


def _entry(element: ast.expr, resolver: Resolver) -> Any:
    try:
        return resolver.value(element)
    except NotLiteral:
        return _UNKNOWN


def _value(node: ast.expr, resolver: Resolver) -> Any:
    try:
        return resolver.value(node)
    except NotLiteral:
        return None


def _whole(
    node: ast.expr, exc: NotLiteral, attr: str, resolver: Resolver, path: str,
    warnings: list[str],
) -> list[tuple[ast.expr, Any]]:
    """Entries of a value that is not written as a list: a set, or not a list at all."""
    value = _entry(node, resolver)
    if value is _UNKNOWN:
        warnings.append(_not_literal(path, exc.node, ATTRIBUTES[attr]))
        return []
    if isinstance(value, (set, frozenset)):  # sorted: a set's order changes between runs
        return [(node, item) for item in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [(node, item) for item in value]
    if isinstance(value, str) and attr == "replaces":  # list('abc'): names no node, ignored
        warnings.append(f"{path}:{node.lineno}: replaces is a string ({shown(value)}); "
                        "Django's loader ignores it")
        return []
    raise malformed_attribute(f"{path}:{node.lineno}", attr, value)


def _read_flag(
    node: ast.expr | ast.stmt | None, default: bool | None, resolver: Resolver
) -> bool | None:
    if node is None or isinstance(node, ast.stmt):
        return default
    try:
        value = resolver.value(node)
    except NotLiteral:
        return default
    return bool(value) if value is not None else None


def _read_operations(
    node: ast.expr | ast.stmt | None, resolver: Resolver, path: str, warnings: list[str]
) -> tuple[OperationSpec, ...]:
    if node is None:
        return ()
    if isinstance(node, ast.stmt):
        warnings.append(_not_literal(path, node, "operations"))
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
