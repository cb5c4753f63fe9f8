"""Names and text from a pull request, made safe for a terminal or a workflow log.

Git allows any byte but NUL and ``/`` in a file name, so a migration named
``0002_a\\n::add-mask::x.py`` would print a line the Actions runner reads as a command. The runner
takes ``::command::`` at the start of a line once leading white space is trimmed, and the legacy
``##[command]`` anywhere in a line (actions/runner ``ActionCommand.TryParseV2`` and ``TryParse``);
it ends a line at ``\\n`` or ``\\r``. Terminals obey ANSI escapes, and bidirectional controls
reorder what a reader sees ("Trojan Source", CVE-2021-42574). So:

- ``quote`` shows a name as it is when it is plain (letters, digits, ``_``, ``.``, ``-``, ``/``),
  else as a quoted Python string literal with every invisible character escaped;
- ``visible`` escapes the invisible characters of free text (messages, descriptions, SQL), and
  ``log_text`` also defuses what the runner would read as a command.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[\w.\-/]+")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_plain(name: str) -> bool:
    """Letters (any script), digits, ``_``, ``.``, ``-`` and ``/``: nothing to quote."""
    return _PLAIN.fullmatch(name) is not None


def escape_char(char: str) -> str:
    """One invisible character as Python writes it in a string literal."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable (controls, ANSI escapes, bidi and
    other format characters, line and paragraph separators) shown as its escape; ``keep``
    names characters left as they are (``"\\n\\t"`` for a block of lines)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else escape_char(c) for c in text)


def defuse(text: str) -> str:
    """No legacy ``##[`` command anywhere, no ``::`` command at the start of a line."""
    text = text.replace("##[", "##\\x5b")
    stripped = text.lstrip(" ")
    if stripped.startswith("::"):
        text = text[: len(text) - len(stripped)] + "\\x3a" + stripped[1:]
    return text


def log_text(text: str) -> str:
    """Free text on one line of a log: invisible characters escaped, commands defused."""
    return defuse(visible(text))


def log_lines(text: str) -> str:
    """Several lines of free text (an error with a tail of stderr), each made safe."""
    return "\n".join(log_text(line) for line in text.split("\n"))


def literal(name: str) -> str:
    """``name`` as a quoted string literal that shows every character, on one line:
    ``'shop'``, ``'0002_a\\n::add-mask::x'`` (for a plain name, what ``repr`` gives)."""
    body = name.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + visible(body).replace("##[", "##\\x5b") + "'"


def quote(name: str) -> str:
    """``name`` as it is when plain, else as its ``literal``."""
    return name if is_plain(name) else literal(name)
