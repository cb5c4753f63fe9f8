"""Compile a migration file, and read one written for a newer Python than the running one.

The graph needs only the ``Migration`` class's attributes. A file using syntax this Python
does not know yet (PEP 758 ``except A, B:`` before 3.14, a PEP 701 f-string before 3.12, ...)
is read with the function holding that syntax left out (outside any function: the top-level
statement holding it), and a warning names the line and the Python it needs. When that syntax
is in the ``Migration`` class itself, the error says which Python reads the file.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass

from migration_ci.errors import MigrationFileError

_MAX_PASSES = 50  # each pass leaves one more function or statement out
_RUNNING = sys.version_info[:2]
_T_STRING_PREFIX = re.compile(r"(?<![\w.])(?:[tT][rR]?|[rR][tT])$")
_TYPE_PARAMS = re.compile(r"\s*(?:(?:async\s+)?def|class)\s+\w+\s*\[|\s*type\s+\w+\s*[=\[]")


def running_python() -> str:
    return "{}.{}".format(*_RUNNING)


Needed = tuple[tuple[int, int], str]  # (the Python that reads it, what the syntax is)


def needed_python(
    exc: SyntaxError, lines: list[str], running: tuple[int, int] = _RUNNING
) -> Needed | None:
    """The Python from which the syntax ``exc`` points at is valid, when newer than
    ``running`` (the Python that raised ``exc``).

    Only the constructs this Python reports in a recognisable way are named; any other syntax
    error is the file's own, on every Python.
    """
    line = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
    start = max((exc.offset or 1) - 1, 0)
    end = exc.end_offset - 1 if exc.end_offset and exc.end_lineno == exc.lineno else None
    msg = exc.msg or ""
    if running < (3, 14):
        if msg == "multiple exception types must be parenthesized":
            # PEP 758 lifts this, but not before "as", which stays an error.
            if re.search(r"\bas\b", line[start:end]):
                return None
            return (3, 14), "PEP 758 except clauses"
        if line[start : start + 1] in ("'", '"') and _T_STRING_PREFIX.search(line[:start]):
            return (3, 14), "PEP 750 template strings"
    if running < (3, 12):
        if msg.startswith("f-string"):
            return (3, 12), "PEP 701 f-strings"
        if _TYPE_PARAMS.match(line):
            return (3, 12), "PEP 695 type parameters"
    if running < (3, 11) and re.match(r"\s*except\s*\*", line):
        return (3, 11), "PEP 654 except* clauses"
    return None


def compile_module(source: bytes, path: str) -> tuple[ast.Module, tuple[str, ...]]:
    """The file's ``ast``, and warnings naming what was left out to read it."""
    try:
        return _compile(source, path), ()
    except SyntaxError as exc:
        error = exc
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    lines = source.decode(encoding).splitlines(keepends=True)
    warnings: list[str] = []
    for _ in range(_MAX_PASSES):
        needed = needed_python(error, lines)
        if needed is None:
            break
        region = find_region(lines, error.lineno or 0)
        if region is None:
            raise syntax_error(error, path, needed) from None
        warnings.append(
            f"{path}:{error.lineno}: {cannot_read(error, needed)}; read without {region.what}, "
            "which the migration graph does not need"
        )
        lines = region.left_out(lines)
        try:  # a str: its coding cookie, already applied, is ignored
            return _compile("".join(lines), path), tuple(warnings)
        except SyntaxError as exc:
            error = exc
    raise syntax_error(error, path) from None


def version(needed: Needed) -> str:
    return "{}.{}".format(*needed[0])


def cannot_read(exc: SyntaxError, needed: Needed) -> str:
    """``Python 3.11 cannot read this (...): PEP 758 except clauses are from Python 3.14``."""
    return (f"Python {running_python()} cannot read this ({exc.msg}): {needed[1]} are from "
            f"Python {version(needed)}")


def syntax_error(exc: SyntaxError, path: str, needed: Needed | None = None) -> MigrationFileError:
    """The error for a file that cannot be read, saying which Python can read it, if any."""
    if needed is None:
        return MigrationFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}")
    return MigrationFileError(
        f"{path}:{exc.lineno}: {cannot_read(exc, needed)}, and this is in the Migration "
        "class, which the graph needs.",
        f"Run migration-ci with Python {version(needed)} or newer.",
    )


def _compile(source: str | bytes, path: str) -> ast.Module:
    try:
        tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if "codec can't decode" in (exc.msg or ""):
            byte = exc.msg.split("decode ", 1)[-1].split(" in position", 1)[0]
            raise MigrationFileError(
                f"{path}:{exc.lineno}: the file is not valid UTF-8 (cannot decode {byte}).",
                "Save it as UTF-8, or declare its encoding with a '# -*- coding: ... -*-' line.",
            ) from None
        raise
    except ValueError as exc:  # null bytes on Python < 3.12
        raise MigrationFileError(f"{path}:1: syntax error: {exc}") from None
    assert isinstance(tree, ast.Module)
    return tree


@dataclass(frozen=True)
class Region:
    """Lines ``first``..``last`` (1-based) of one function or top-level statement."""

    first: int
    last: int
    indent: str  # the whitespace before its first line's first token
    what: str  # "function 'forwards'", "class Migration", "line 7"

    def left_out(self, lines: list[str]) -> list[str]:
        """``lines`` with this region replaced by ``pass``; every line keeps its number."""
        kept = [*lines]
        kept[self.first - 1] = f"{self.indent}pass\n"
        for index in range(self.first, min(self.last, len(kept))):
            kept[index] = "\n"
        return kept


def find_region(lines: list[str], lineno: int) -> Region | None:
    """The innermost function holding line ``lineno``, else the top-level statement holding
    it; None when that is the ``Migration`` class, or the file cannot be tokenized."""
    try:
        defs, statements = _Blocks(lines).read()
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        return None
    holding = [d for d in defs if d.first <= lineno <= d.last]
    if holding:
        return min(holding, key=lambda d: d.last - d.first)
    for statement in statements:
        if statement.first <= lineno <= statement.last:
            return None if statement.what == "class Migration" else statement
    return None


class _Blocks:
    """Every ``def`` (decorators included) and every top-level statement, from the tokens:
    the tokenizer of an older Python still splits newer syntax into lines and blocks."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.defs: list[Region] = []
        self.starts: list[list[int | str]] = []  # top-level statements: [first line, what]
        self.open: list[tuple[int, str, int, str]] = []  # (first, indent, depth, name)
        self.header: list[int | str] | None = None  # a def being read: [first, indent, name]
        self.awaiting: tuple[int, str, int, str] | None = None  # header read, body next?
        self.depth = 0
        self.last_row = 0
        self.decorator: tuple[int, int] | None = None  # first decorator of the next def
        self.column = 0  # where the current logical line starts

    def read(self) -> tuple[list[Region], list[Region]]:
        line: list[str] = []  # the current logical line's tokens so far
        for token in tokenize.generate_tokens(io.StringIO("".join(self.lines)).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            if self.awaiting is not None and token.type != tokenize.INDENT:
                self._close(self.awaiting)  # a one-line def: its body was on its header's line
                self.awaiting = None
            if token.type == tokenize.INDENT:
                self.depth += 1
                if self.awaiting is not None:
                    self.open.append(self.awaiting)
                    self.awaiting = None
            elif token.type == tokenize.DEDENT:
                self.depth -= 1
                while self.open and self.open[-1][2] >= self.depth:
                    self._close(self.open.pop())
            elif token.type == tokenize.NEWLINE:
                self.last_row = token.start[0]
                if self.header is not None:
                    first, indent, name = self.header
                    self.awaiting = (int(first), str(indent), self.depth, str(name))
                    self.header = None
                line = []
            else:
                self._token(token, line)
                line.append(token.string)
        if self.awaiting is not None:  # a one-line def ends the file
            self._close(self.awaiting)
        statements = [
            Region(int(first), int(self.starts[i + 1][0]) - 1 if i + 1 < len(self.starts)
                   else len(self.lines), "", str(what) or f"line {first}")
            for i, (first, what) in enumerate(self.starts)
        ]
        return self.defs, statements

    def _token(self, token: tokenize.TokenInfo, line: list[str]) -> None:
        (row, col), text = token.start, token.string
        self.last_row = token.end[0]
        if not line:  # the first token of a logical line
            self.column = col
            if self.depth == 0 and self.decorator is None:
                self.starts.append([row, ""])
            if text == "@":
                self.decorator = self.decorator or (row, col)
            elif text not in ("def", "async", "class"):
                self.decorator = None
        head = [*line, text]
        if head in (["def"], ["async", "def"]):
            first, column = self.decorator or (row, self.column)
            self.header = [first, self.lines[first - 1][:column], ""]
            self.decorator = None
        elif head == ["class"]:
            self.decorator = None
        elif len(head) == 2 and head[0] == "class" and self.depth == 0:
            self.starts[-1][1] = f"class {text}"
        elif self.header is not None and self.header[2] == "" and len(head) <= 3:
            self.header[2] = text

    def _close(self, block: tuple[int, str, int, str]) -> None:
        first, indent, _, name = block
        self.defs.append(Region(first, self.last_row, indent, f"function {name!r}"))
