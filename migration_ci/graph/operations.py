"""Django's description of each migration operation, rebuilt from the operation call's ``ast``.

Each entry of ``OPERATIONS`` mirrors one class of ``django/db/migrations/operations/``: its
category symbol (``Operation.category``), its positional parameters (``__init__``) and its
``describe()``. An operation that is not literal or not known is described with ``?``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from migration_ci.graph.literals import NotLiteral, Resolver, call_name, source_text
from migration_ci.graph.specs import OperationSpec

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
        return OperationSpec(kind="", description=f"? {source_text(node, 200)}", lineno=lineno)
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
