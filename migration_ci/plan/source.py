"""What a migration file's text says to the plan: where each operation starts, and the
``# migration-ci: ignore[rule-id] reason`` comments that accept a risk.

Pure: takes the file's text. The worker reads the file; ``policy`` checks the comments.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

MARKER = re.compile(r"#\s*migration-ci\s*:", re.IGNORECASE)
IGNORE = re.compile(r"#\s*migration-ci\s*:\s*ignore\[(?P<rules>[^\]]*)\]\s*(?P<reason>.*)$",
                    re.IGNORECASE)
EXAMPLE = "# migration-ci: ignore[add-index] the table has 200 rows"


@dataclass(frozen=True)
class Ignore:
    """One inline ignore: the rules it silences for its migration, and why."""

    line: int
    rules: tuple[str, ...]
    reason: str


def find_marked_comments(source: str) -> list[tuple[int, str]]:
    """Every ``# migration-ci:`` comment as ``(line, text)``; strings are not comments."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and MARKER.match(token.string):
                found.append((token.start[0], token.string))
    except (tokenize.TokenError, SyntaxError):  # Django imported the file, so it parses
        return found
    return found


def parse_ignore(line: int, text: str) -> Ignore | None:
    """The comment as an Ignore; None when it is not of the ``ignore[...] reason`` form."""
    found = IGNORE.match(text.strip())
    if found is None:
        return None
    rules = tuple(r.strip() for r in found.group("rules").split(",") if r.strip())
    return Ignore(line, rules, found.group("reason").strip())


def find_operation_lines(source: str) -> list[int]:
    """The first line of each item of ``Migration.operations``, in order; [] when the file does
    not spell the list out (operations built in code)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                value = _operations_value(statement)
                if isinstance(value, ast.List | ast.Tuple):
                    return [item.lineno for item in value.elts]
    return []


def _operations_value(statement: ast.stmt) -> ast.expr | None:
    if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "operations" for t in statement.targets):
        return statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
            and statement.target.id == "operations":
        return statement.value
    return None
