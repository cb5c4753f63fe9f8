"""Read migration files with ``ast``: dependencies, squashes and operations, no import.

Only the ``Migration`` class body and the module-level assignments are walked, so a
file costs one parse. Operation descriptions are Django 5.2's
``Operation.formatted_description()``, rebuilt from literal arguments.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from migration_ci.errors import MigrationFileError
from migration_ci.specs import Key, MigrationSpec, OperationSpec

PARALLEL_THRESHOLD = 400  # below this, forking costs more than it saves
_SWAPPABLE = "swappable_dependency"
_KEY_LISTS = (
    ("dependencies", "dependency"),
    ("replaces", "replaces entry"),
    ("run_before", "run_before entry"),
)


class NotLiteral(Exception):
    """A value that cannot be known without importing the file."""

    def __init__(self, node: ast.AST) -> None:
        super().__init__()
        self.node = node


class Resolver:
    """Evaluates literal expressions, following class-level and module-level names."""

    def __init__(
        self, module: Mapping[str, ast.expr], klass: Mapping[str, ast.expr], auth_user_model: str
    ) -> None:
        self.module = module
        self.klass = klass
        self.auth_user_model = auth_user_model
        self._active: set[str] = set()

    def name(self, node: ast.Name) -> ast.expr:
        target = self.klass.get(node.id) or self.module.get(node.id)
        if target is None or node.id in self._active:
            raise NotLiteral(node)
        return target

    def elements(self, node: ast.expr) -> Iterator[ast.expr]:
        """The element nodes of a list/tuple expression, through names, ``+`` and ``*``."""
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    yield from self.elements(element.value)
                else:
                    yield element
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            yield from self.elements(node.left)
            yield from self.elements(node.right)
        elif isinstance(node, ast.Name):
            target = self.name(node)
            self._active.add(node.id)
            try:
                yield from self.elements(target)
            finally:
                self._active.discard(node.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("list", "tuple")
            and len(node.args) == 1
            and not node.keywords
        ):
            yield from self.elements(node.args[0])
        else:
            raise NotLiteral(node)

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(element) for element in self.elements(node)]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            try:
                return self.value(node.left) + self.value(node.right)
            except TypeError:
                raise NotLiteral(node) from None
        if isinstance(node, ast.Name):
            target = self.name(node)
            self._active.add(node.id)
            try:
                return self.value(target)
            finally:
                self._active.discard(node.id)
        if isinstance(node, ast.Set):
            return {self.value(element) for element in node.elts}
        if isinstance(node, ast.Dict) and None not in node.keys:
            pairs = zip(node.keys, node.values, strict=True)
            return {self.value(k): self.value(v) for k, v in pairs}  # type: ignore[arg-type]
        if isinstance(node, ast.Attribute) and node.attr == "AUTH_USER_MODEL":
            return self.auth_user_model
        if isinstance(node, ast.Call):
            return self.call(node)
        raise NotLiteral(node)

    def call(self, node: ast.Call) -> Any:
        func = call_name(node)
        if func == _SWAPPABLE and len(node.args) == 1 and not node.keywords:
            value = self.value(node.args[0])
            if isinstance(value, str):
                # django.db.migrations.swappable_dependency
                return (value.split(".", 1)[0], "__first__")
        if func in ("set", "frozenset", "tuple", "list") and len(node.args) <= 1:
            if node.keywords or not isinstance(node.func, ast.Name):
                raise NotLiteral(node)
            items = self.value(node.args[0]) if node.args else ()
            return {"set": set, "frozenset": frozenset, "tuple": tuple, "list": list}[func](items)
        raise NotLiteral(node)


def call_name(node: ast.Call) -> str:
    """``AddField`` for ``migrations.AddField(...)`` and ``AddField(...)``."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


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

# --- operations -------------------------------------------------------------------------
# Each entry mirrors one class of django/db/migrations/operations/: its category symbol
# (Operation.category), its positional parameters (__init__) and its describe().

_MISSING = object()


class Args:
    """The arguments of one operation call, bound to the operation's parameter names."""

    def __init__(self, call: ast.Call, params: Sequence[str], resolver: Resolver) -> None:
        self.nodes: dict[str, ast.expr] = dict(zip(params, call.args, strict=False))
        self.nodes.update((kw.arg, kw.value) for kw in call.keywords if kw.arg)
        self.resolver = resolver

    def __call__(self, name: str, default: Any = _MISSING) -> Any:
        node = self.nodes.get(name)
        if node is None:
            if default is _MISSING:
                raise NotLiteral(ast.Constant(None))
            return default
        return self.resolver.value(node)

    def keyword_of(self, name: str, keyword: str, default: Any = _MISSING) -> Any:
        """A keyword argument of a call argument, e.g. ``name`` of ``index=models.Index(...)``."""
        node = self.nodes.get(name)
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == keyword:
                    return self.resolver.value(kw.value)
            if default is not _MISSING:
                return default
        raise NotLiteral(node or ast.Constant(None))


Described = tuple[str, "str | None", "str | None"]  # text, model, field


def _create_model(a: Args) -> Described:
    options = a.nodes.get("options")
    proxy: Any = False
    if isinstance(options, ast.Dict):
        for key, value in zip(options.keys, options.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "proxy":
                proxy = a.resolver.value(value)
    elif options is not None:
        proxy = (a("options") or {}).get("proxy", False)
    return f"Create {'proxy ' if proxy else ''}model {a('name')}", a("name"), None


def _together(option: str) -> Callable[[Args], Described]:
    def describe(a: Args) -> Described:
        value = a(option)
        if value:  # AlterTogetherOptionOperation.__init__ through normalize_together()
            if isinstance(value, (tuple, list)):
                if not isinstance(value[0], (tuple, list)):
                    value = (value,)
                value = tuple(tuple(item) for item in value)
            value = set(value)
        count = len(value or "")
        return f"Alter {option} for {a('name')} ({count} constraint(s))", a("name"), None

    return describe


def _add_index(a: Args) -> Described:
    if isinstance(a.nodes.get("index"), ast.Call) and a.nodes["index"].args:  # type: ignore[attr-defined]
        raise NotLiteral(a.nodes["index"])  # expressions: str() of Django expression objects
    name = a.keyword_of("index", "name")
    fields = ", ".join(a.keyword_of("index", "fields", ()))
    model = a("model_name")
    return f"Create index {name} on field(s) {fields} of model {model}", model, None


def _rename_index(a: Args) -> Described:
    model, new = a("model_name"), a("new_name")
    if a("old_name", None):
        return f"Rename index {a('old_name')} on {model} to {new}", model, None
    return f"Rename unnamed index for {a('old_fields', None)} on {model} to {new}", model, None


def _table(a: Args) -> Described:
    table = a("table")
    shown = table if table is not None else "(default)"
    return f"Rename table for {a('name')} to {shown}", a("name"), None


_Describe = Callable[[Args], Described]
OPERATIONS: dict[str, tuple[str, tuple[str, ...], _Describe]] = {
    "CreateModel": ("+", ("name", "fields", "options", "bases", "managers"), _create_model),
    "DeleteModel": ("-", ("name",), lambda a: (f"Delete model {a('name')}", a("name"), None)),
    "RenameModel": ("~", ("old_name", "new_name"), lambda a: (
        f"Rename model {a('old_name')} to {a('new_name')}", a("old_name"), None)),
    "AlterModelTable": ("~", ("name", "table"), _table),
    "AlterModelTableComment": ("~", ("name", "table_comment"), lambda a: (
        f"Alter {a('name')} table comment", a("name"), None)),
    "AlterUniqueTogether": ("~", ("name", "unique_together"), _together("unique_together")),
    "AlterIndexTogether": ("~", ("name", "index_together"), _together("index_together")),
    "AlterOrderWithRespectTo": ("~", ("name", "order_with_respect_to"), lambda a: (
        f"Set order_with_respect_to on {a('name')} to {a('order_with_respect_to')}",
        a("name"), None)),
    "AlterModelOptions": ("~", ("name", "options"), lambda a: (
        f"Change Meta options on {a('name')}", a("name"), None)),
    "AlterModelManagers": ("~", ("name", "managers"), lambda a: (
        f"Change managers on {a('name')}", a("name"), None)),
    "AddField": ("+", ("model_name", "name", "field"), lambda a: (
        f"Add field {a('name')} to {a('model_name')}", a("model_name"), a("name"))),
    "RemoveField": ("-", ("model_name", "name"), lambda a: (
        f"Remove field {a('name')} from {a('model_name')}", a("model_name"), a("name"))),
    "AlterField": ("~", ("model_name", "name", "field"), lambda a: (
        f"Alter field {a('name')} on {a('model_name')}", a("model_name"), a("name"))),
    "RenameField": ("~", ("model_name", "old_name", "new_name"), lambda a: (
        f"Rename field {a('old_name')} on {a('model_name')} to {a('new_name')}",
        a("model_name"), a("old_name"))),
    "AddIndex": ("+", ("model_name", "index"), _add_index),
    "RemoveIndex": ("-", ("model_name", "name"), lambda a: (
        f"Remove index {a('name')} from {a('model_name')}", a("model_name"), None)),
    "RenameIndex": ("~", ("model_name", "new_name", "old_name", "old_fields"), _rename_index),
    "AddConstraint": ("+", ("model_name", "constraint"), lambda a: (
        f"Create constraint {a.keyword_of('constraint', 'name')} on model {a('model_name')}",
        a("model_name"), None)),
    "RemoveConstraint": ("-", ("model_name", "name"), lambda a: (
        f"Remove constraint {a('name')} from model {a('model_name')}", a("model_name"), None)),
    "AlterConstraint": ("~", ("model_name", "name", "constraint"), lambda a: (
        f"Alter constraint {a('name')} on {a('model_name')}", a("model_name"), None)),
    "RunPython": ("p", (), lambda a: ("Raw Python operation", None, None)),
    "RunSQL": ("s", (), lambda a: ("Raw SQL operation", None, None)),
    "SeparateDatabaseAndState": ("?", (), lambda a: (
        "Custom state/database change combination", None, None)),
}


def describe_operation(node: ast.expr, resolver: Resolver) -> OperationSpec:
    """One ``operations`` entry as Django's ``formatted_description()`` would print it."""
    lineno = getattr(node, "lineno", 0)
    if not isinstance(node, ast.Call):
        return OperationSpec(kind="", description=f"? {ast.unparse(node)}", lineno=lineno)
    kind = call_name(node)
    known = OPERATIONS.get(kind)
    if known is None:
        return OperationSpec(kind=kind, description=f"? {kind}", lineno=lineno)
    category, params, describe = known
    args = Args(node, params, resolver)
    try:
        text, model, field = describe(args)
    except (NotLiteral, AttributeError, TypeError, IndexError):
        return OperationSpec(kind=kind, description=f"? {kind}", lineno=lineno)
    return OperationSpec(
        kind=kind,
        description=f"{category} {text}",
        model=_lower(model),
        field=_lower(field),
        lineno=lineno,
    )


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None
