"""Markdown that values from a report cannot break: the escaping the comment is built with.

Pure. The report may come from an untrusted run, so every value is treated as hostile: inline
values go into code spans (no Markdown, HTML or @mentions render there), values inside HTML are
escaped, blocks use a fence longer than any backtick run they hold, control, ANSI and bidi
characters are shown escaped (``safe.visible``), our own sentences are prose
only while they hold nothing Markdown or HTML would act on, and a document of the wrong shape
reads as empty values instead of failing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from migration_ci.report.safe import visible

_BACKTICKS = re.compile(r"`+")
# What could turn prose into markup: HTML, entities, links and images, @mentions, #references,
# tables, escapes, strikethrough. Text holding any of them is shown as code instead.
_NOT_PROSE = re.compile(r"[<>&@!\[\]#|\\~]")


# -- reading a document of unknown shape ------------------------------------------------------

def as_dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def as_text(value: object) -> str:
    if value is None or isinstance(value, Mapping | list | tuple):
        return ""
    return str(value)


# -- escaping ---------------------------------------------------------------------------------

def one_line(value: object, limit: int = 300) -> str:
    flat = visible(" ".join(as_text(value).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code(value: object, limit: int = 300) -> str:
    """An inline code span holding ``value`` literally, on one line (``|`` kept out of tables)."""
    text = one_line(value, limit).replace("|", "¦")
    if not text:
        return "` `"
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_code(value: object, limit: int = 200) -> str:
    """Inline code inside HTML (``<summary>``), where Markdown is not rendered."""
    escaped = html.escape(one_line(value, limit), quote=True).replace("@", "&#64;")
    return f"<code>{escaped}</code>"


def fenced(body: str, language: str = "") -> str:
    """A fenced block the body cannot close early, its invisible characters escaped."""
    body = visible(body, keep="\n\t")
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{fence}{language}\n{body.rstrip()}\n{fence}"


def details(summary_html: str, body: str) -> str:
    """A collapsible block; the blank lines let Markdown render inside the HTML."""
    return f"<details><summary>{summary_html}</summary>\n\n{body.strip()}\n\n</details>"


def short_sha(value: object) -> str:
    return one_line(value, 64)[:12] if as_text(value) else "?"


def prose(value: object, limit: int = 500) -> str:
    """Our own sentences (risk reasons) as text a reader reads as prose; text that could be
    markup (say, from a forged report) is shown literally as code instead."""
    text = one_line(value, limit)
    return code(text, limit) if _NOT_PROSE.search(text) else text
