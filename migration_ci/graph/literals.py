"""Literal values of a migration file's expressions, read from its ``ast`` without importing it.

Names are followed to class-level and module-level assignments; lists and tuples may be built
with ``+``, ``*`` unpacking, ``list()``/``tuple()``; ``settings.AUTH_USER_MODEL`` and
``swappable_dependency(...)`` resolve as Django resolves them. Anything else is ``NotLiteral``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from typing import Any

SWAPPABLE = "swappable_dependency"


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


def call_name(node: ast.Call) -> str:
    """``AddField`` for ``migrations.AddField(...)`` and ``AddField(...)``."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""
