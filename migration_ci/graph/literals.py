"""Literal values of a migration file's expressions, read from its ``ast`` without importing it.

Names resolve as Python resolves them when it runs the file: a name in the ``Migration`` class
body is looked up among the class body's earlier bindings, then among the module's bindings made
before the class statement; a name at module level among the module's earlier bindings. Lists
and tuples may be built with ``+``, ``+=``, ``*`` unpacking, ``list()``/``tuple()``;
``settings.AUTH_USER_MODEL`` and ``swappable_dependency(...)`` resolve as Django resolves them.
Anything else, and any name bound by something other than a plain assignment (an import, a
``def``, a loop), is ``NotLiteral``.
"""

from __future__ import annotations

import ast
import sys
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

SWAPPABLE = "swappable_dependency"
_MAX_DEPTH = 64  # names and + followed in a row: far beyond any real file, well short of
# Python's recursion limit


class NotLiteral(Exception):
    """A value that cannot be known without importing the file."""

    def __init__(self, node: ast.AST) -> None:
        super().__init__()
        self.node = node


Binding = tuple[int, "ast.expr | None"]  # (statement index, value; None when not literal)


class Scope:
    """The names one block of statements (a module, a class body) binds, in order.

    Computed on first use: most files never look a name up in their module.
    """

    def __init__(self, body: Sequence[ast.stmt]) -> None:
        self.body = body

    @cached_property
    def starts(self) -> list[tuple[int, int]]:
        return [(stmt.lineno, stmt.col_offset) for stmt in self.body]

    @cached_property
    def bindings(self) -> dict[str, list[Binding]]:
        found: dict[str, list[Binding]] = {}
        for index, stmt in enumerate(self.body):
            for name, value in bound_names(stmt):
                found.setdefault(name, []).append((index, value))
        return found

    def holds(self, node: ast.expr) -> bool:
        """Whether ``node`` lies inside one of this block's statements (a class body has one
        at least)."""
        last = self.body[-1]
        return self.starts[0] <= (node.lineno, node.col_offset) <= (
            last.end_lineno, last.end_col_offset)

    def statement_of(self, node: ast.expr) -> int:
        """The index of the statement ``node`` lies in."""
        return bisect_right(self.starts, (node.lineno, node.col_offset)) - 1

    def lookup(self, name: str, before: int) -> Binding | None:
        """The last binding of ``name`` made by a statement before index ``before``."""
        for binding in reversed(self.bindings.get(name, ())):
            if binding[0] < before:
                return binding
        return None

    def final(self, name: str) -> Binding | None:
        """What ``name`` is bound to once the whole block has run."""
        bindings = self.bindings.get(name)
        return bindings[-1] if bindings else None


def bound_names(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr | None]]:
    """Each name ``stmt`` binds in its block, with the value when it is a plain assignment."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, stmt.value
            else:  # unpacking: a, b = ...
                yield from ((name, None) for name in _stored_names(target))
    elif isinstance(stmt, ast.AnnAssign):
        if stmt.value is not None and isinstance(stmt.target, ast.Name):
            yield stmt.target.id, stmt.value
    elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
        yield from (((alias.asname or alias.name).split(".")[0], None)
                    for alias in stmt.names)
    elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield stmt.name, None
    elif isinstance(stmt, ast.AugAssign):
        if isinstance(stmt.target, ast.Name):
            # x += y reads the x bound before this statement: Name(x) placed here says so.
            before = ast.copy_location(ast.Name(id=stmt.target.id, ctx=ast.Load()), stmt)
            yield stmt.target.id, ast.copy_location(ast.BinOp(before, stmt.op, stmt.value), stmt)
    else:
        yield from ((name, None) for name in _stored_names(stmt))


def _stored_names(node: ast.AST) -> Iterator[str]:
    """Names bound anywhere in ``node`` except inside the functions and classes it defines."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield item.name
            continue
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            yield item.id
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            yield from ((alias.asname or alias.name).split(".")[0] for alias in item.names)
        elif isinstance(item, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                               ast.GeneratorExp)):
            continue  # their names are their own
        stack.extend(ast.iter_child_nodes(item))


class Resolver:
    """Evaluates literal expressions of one module and its ``Migration`` class body."""

    def __init__(self, module: Scope, klass: Scope, auth_user_model: str) -> None:
        self.module = module
        self.klass = klass
        self.auth_user_model = auth_user_model
        self._depth = 0

    def name(self, node: ast.Name) -> ast.expr:
        """What ``node`` refers to where it stands, as Python would look it up."""
        binding = None
        if self.klass.holds(node):
            binding = self.klass.lookup(node.id, self.klass.statement_of(node))
        if binding is None:  # for a class-body name: module bindings made before the class
            binding = self.module.lookup(node.id, self.module.statement_of(node))
        if binding is None or binding[1] is None:
            raise NotLiteral(node)
        return binding[1]

    def elements(self, node: ast.expr) -> Iterator[ast.expr]:
        """The element nodes of a list/tuple expression, through names, ``+`` and ``*``."""
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    yield from self.elements(element.value)
                else:
                    yield element
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            self._enter(node)
            try:
                yield from self.elements(node.left)
                yield from self.elements(node.right)
            finally:
                self._depth -= 1
        elif isinstance(node, ast.Name):
            self._enter(node)
            try:
                yield from self.elements(self.name(node))
            finally:
                self._depth -= 1
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
        """The literal value of ``node``, or ``NotLiteral``."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(element) for element in self.elements(node)]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, (ast.BinOp, ast.Name)):
            self._enter(node)
            try:
                return self._chained(node)
            finally:
                self._depth -= 1
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

    def _enter(self, node: ast.expr) -> None:
        """Names and ``+`` chains, the only unbounded recursion: a file of thousands of
        ``x += [...]`` or ``a + b + ...`` must not crash the check."""
        if self._depth >= _MAX_DEPTH:
            raise NotLiteral(node)
        self._depth += 1

    def _chained(self, node: ast.BinOp | ast.Name) -> Any:
        if isinstance(node, ast.Name):
            return self.value(self.name(node))
        if not isinstance(node.op, ast.Add):
            raise NotLiteral(node)
        try:
            return self.value(node.left) + self.value(node.right)
        except TypeError:
            raise NotLiteral(node) from None

    def call(self, node: ast.Call) -> Any:
        func = call_name(node)
        if func == SWAPPABLE and len(node.args) == 1 and not node.keywords:
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


def source_text(node: ast.AST, limit: int = 60) -> str:
    """The first line of ``node``'s source, cut to ``limit`` characters, for messages."""
    try:
        text = ast.unparse(node).split("\n", 1)[0]
        if sys.version_info < (3, 11):  # 3.10 writes an argument-less lambda as "lambda : x"
            text = text.replace("lambda :", "lambda:")
    except RecursionError:  # unparse recurses too: a + b + ... of thousands of terms
        text = "an expression nested too deeply to read"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call_name(node: ast.Call) -> str:
    """``AddField`` for ``migrations.AddField(...)`` and ``AddField(...)``."""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""
