"""Markdown for the PR comment, the "resolved" comment and the job summary, from the report.

Pure: takes the report document (a dict, see the README's "Report document") and returns text.
The document may come from an untrusted run, so every value is treated as hostile: inline values
go into code spans (no Markdown, HTML or @mentions render there), values inside HTML are escaped,
blocks use a fence longer than any backtick run they hold, control, ANSI and bidi characters are
shown escaped (``safe.visible``), commands put ``--`` before any value that could pass for an
option, and a document of the wrong shape renders as empty parts instead of failing. Notes are
Markdown written by the caller, with every value in a code span.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from migration_ci.report.safe import visible

# https://docs.github.com/en/rest/issues/comments#create-an-issue-comment: body max 65536 chars.
MAX_COMMENT_CHARS = 65_536
# The job summary's limit is 1 MiB per step, in bytes; the report leaves room for warnings that
# follow it (workflow.Workflow.write_summary holds the file itself under the limit).
MAX_SUMMARY_BYTES = 1_000_000
MARKER_PREFIX = "<!-- django-migration-ci:"
_BACKTICKS = re.compile(r"`+")
_UNSAFE_MARKER = re.compile(r"[^A-Za-z0-9._/\-]")
_SIDES = {"branch": "this pull request", "base": "the base branch", "both": "both sides"}
_RISK_ICON = {"high": "🔴 high", "medium": "🟠 medium", "low": "🟢 low"}


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


def marker(working_directory: object) -> str:
    """The hidden marker of the sticky comment for one working directory."""
    raw = as_text(working_directory) or "."
    where = _UNSAFE_MARKER.sub(lambda m: f"%{ord(m.group()):02X}", raw)
    return f'{MARKER_PREFIX} working-directory="{where}" -->'


def short_sha(value: object) -> str:
    return one_line(value, 64)[:12] if as_text(value) else "?"


# -- what the report says ---------------------------------------------------------------------

def conflicts(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [as_dict(c) for c in as_list(as_dict(report.get("check")).get("conflicts"))]


def conflicted_apps(report: Mapping[str, Any]) -> list[str]:
    return sorted({as_text(c.get("app_label")) for c in conflicts(report)} - {""})


def verify_failed(report: Mapping[str, Any]) -> bool:
    verify = report.get("verify")
    return isinstance(verify, Mapping) and verify.get("ok") is False


def has_findings(report: Mapping[str, Any]) -> bool:
    """A conflict or a failed verification: what the sticky comment is for."""
    return bool(conflicts(report)) or verify_failed(report)


# -- sections ---------------------------------------------------------------------------------

def _title(report: Mapping[str, Any]) -> str:
    apps = conflicted_apps(report)
    parts = []
    if apps:
        parts.append(f"conflicting migrations in {len(apps)} app{'s' if len(apps) > 1 else ''}")
    if verify_failed(report):
        parts.append("migrations fail on a fresh database")
    return "## Django migrations: " + ("; ".join(parts) if parts else "no conflicts ✅")


def _checked(report: Mapping[str, Any]) -> str:
    base, head = as_dict(report.get("base")), as_dict(report.get("head"))
    line = f"Checked head {code(short_sha(head.get('sha')))}"
    if base:
        line += f" against base {code(base.get('ref'))} at {code(short_sha(base.get('sha')))}"
    where = as_text(report.get("working_directory")) or "."
    if where != ".":
        line += f" in {code(where)}"
    return line + "."


def _conflict(conflict: Mapping[str, Any]) -> str:
    lines = [f"### App {code(conflict.get('app_label'))}: {len(as_list(conflict.get('leaves')))} "
             f"leaf migrations"]
    for leaf in map(as_dict, as_list(conflict.get("leaves"))):
        side = _SIDES.get(as_text(leaf.get("side")), "an unknown side")
        lines.append(f"- {code(leaf.get('name'))} from {side} ({code(leaf.get('path'))})")
    if conflict.get("common_ancestor"):
        lines.append(f"\nCommon ancestor: {code(conflict.get('common_ancestor'))}.")
    for branch in map(as_dict, as_list(conflict.get("branches"))):
        ops = [one_line(as_dict(op).get("description"), 500)
               for op in as_list(branch.get("operations"))]
        lines.append(f"\nBranch ending at {code(branch.get('leaf'))}:\n")
        lines.append(fenced("\n".join(ops) or "(no operations)", "diff"))
    for overlap in map(as_dict, as_list(conflict.get("overlaps"))):
        what = as_text(overlap.get("model")) + (
            f".{as_text(overlap.get('field'))}" if overlap.get("field") else "")
        leaves = ", ".join(code(leaf) for leaf in as_list(overlap.get("leaves")))
        lines.append(f"\n> [!WARNING]\n> Both branches change {code(what)} ({leaves}): a merge "
                     "migration joins the graph but does not resolve that clash. Review it.")
    return "\n".join(lines)


def _fix(conflict: Mapping[str, Any], base_ref: str, strategy: str) -> str:
    error = as_text(conflict.get("merge_error"))
    if error:
        return f"No merge migration can be written for {code(conflict.get('app_label'))}: " \
               f"{code(error, 500)}"
    merge_file = as_dict(conflict.get("merge_file"))
    path = as_text(merge_file.get("path"))
    if not path and conflict.get("merge_name"):
        folder = as_text(conflict.get("migrations_dir"))
        path = f"{folder}/{as_text(conflict.get('merge_name'))}.py".lstrip("/")
    fix = "migration-ci fix" + (" --strategy rebase" if strategy == "rebase" else "")
    ref = base_ref or "main"
    # "--": a name from the report that starts with "-" is a ref or a path, never an option.
    # A path with a line break cannot be pasted as one command line: add everything instead.
    add = f"git add -- {shlex.quote(path)}" if path and path.isprintable() else "git add -A"
    commands = "\n".join([f"git fetch origin -- {shlex.quote(ref)}",
                          f"git merge {shlex.quote('origin/' + ref)}", fix, add,
                          "git commit -m 'Merge conflicting migrations'", "git push"])
    body = "Apply it locally:\n\n" + fenced(commands, "sh")
    if merge_file.get("content"):
        body = fenced(as_text(merge_file.get("content")), "python") + "\n\n" + body
    return details(f"Merge migration {html_code(path)}", body)


def _seconds(value: object) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "? s"


def _verify(verify: Mapping[str, Any], sql: bool) -> str:
    database = as_dict(verify.get("database"))
    engine = f"{as_text(database.get('vendor')) or '?'} {as_text(database.get('version'))}".strip()
    status = "✅ passed" if verify.get("ok") is True else "❌ failed"
    lines = [f"### Verify on a fresh database: {status}",
             f"Database {code(engine)}, {_seconds(verify.get('seconds'))}"
             + "".join(f"; {text_word(p.get('name'))} {_seconds(p.get('seconds'))}"
                       for p in map(as_dict, as_list(verify.get("phases")))) + "."]
    snapshot = as_dict(verify.get("snapshot"))
    if snapshot:
        used = "restored from a snapshot" if snapshot.get("used") else "built from zero"
        lines.append(f"Base state {used}: {code(snapshot.get('note'))}.")
    failure = as_dict(verify.get("failure"))
    if failure:
        lines.append(
            f"\n**Failed** ({code(failure.get('direction'))}): migration "
            f"{code(as_text(failure.get('app_label')) + '.' + as_text(failure.get('name')))} in "
            f"{code(failure.get('path'))}, operation {code(failure.get('operation'))}:\n")
        lines.append(fenced(as_text(failure.get("error")), "text"))
        if sql and failure.get("sql"):
            lines.append(details("SQL statement", fenced(as_text(failure.get("sql")), "sql")))
    for item in map(as_dict, as_list(verify.get("irreversible"))):
        lines.append(f"- IRREVERSIBLE: {code(item.get('app_label'))} {code(item.get('name'))}: "
                     f"{code(item.get('operation'))}")
    missing = [as_dict(m) for m in as_list(verify.get("missing_changes"))]
    if missing:
        lines.append("\nModels have changes without a migration (run `makemigrations`):\n")
        lines.append(fenced("\n".join(f"{as_text(m.get('app_label'))}: "
                                      f"{one_line(m.get('description'))}" for m in missing)))
    return "\n".join(lines)


def text_word(value: object) -> str:
    """A short word from the document (phase names): letters, digits, spaces and dashes only."""
    return re.sub(r"[^A-Za-z0-9 _-]", "", one_line(value, 40)) or "phase"


def _plan(plan: Mapping[str, Any], sql: bool) -> str:
    entries = [as_dict(e) for e in as_list(plan.get("entries"))]
    if not entries:
        return "### Migration plan\nThis pull request adds no migrations."
    diff, risks, blocks = [], [], []
    for entry in entries:
        label = f"{as_text(entry.get('app_label'))}.{as_text(entry.get('name'))}"
        sign = "-" if entry.get("status") == "gone" else "+"
        diff.append(f"{sign} {one_line(label)}" + ("  (GONE: exists on the base; may already be "
                                                 "applied in production)" if sign == "-" else ""))
        for op in map(as_dict, as_list(entry.get("operations"))):
            flag = "  IRREVERSIBLE" if op.get("irreversible") else ""
            diff.append(f"{sign}     {one_line(op.get('description'), 500)}{flag}")
            risk = as_dict(op.get("risk"))
            if risk:
                level = _RISK_ICON.get(as_text(risk.get("level")), "⚪ unknown")
                risks.append(f"- {level}: {code(label)} {code(op.get('description'))}: "
                             f"{code(risk.get('reason'))}; safer: {code(risk.get('safer'))}")
        if sql and entry.get("sql"):
            blocks.append(details(f"SQL for {html_code(label)}",
                                  fenced(as_text(entry.get("sql")), "sql")))
        elif sql and entry.get("sql_error"):
            blocks.append(f"No SQL for {code(label)}: {code(entry.get('sql_error'))}")
    vendor = code(plan.get("vendor")) if plan.get("vendor") else "the database"
    parts = [f"### Migration plan on {vendor}", fenced("\n".join(diff), "diff")]
    if risks:
        parts.append("Risk levels:\n\n" + "\n".join(risks))
    return "\n\n".join(parts + blocks)


# -- whole documents --------------------------------------------------------------------------

def _sections(report: Mapping[str, Any], *, sql: bool, plan: bool, files: bool,
              base_ref: str, strategy: str) -> list[str]:
    parts = [_title(report), _checked(report)]
    for conflict in conflicts(report):
        parts.append(_conflict(conflict))
        if files:
            parts.append(_fix(conflict, base_ref, strategy))
    for warning in as_list(as_dict(report.get("check")).get("warnings")):
        parts.append(f"- Warning: {code(warning, 500)}")
    if isinstance(report.get("verify"), Mapping):
        parts.append(_verify(as_dict(report.get("verify")), sql))
    if plan and isinstance(report.get("plan"), Mapping):
        parts.append(_plan(as_dict(report.get("plan")), sql))
    return parts


def _footer(report: Mapping[str, Any], notes: Sequence[str], summary_url: str,
            trimmed: str) -> str:
    lines = [*notes]
    if trimmed:
        where = f"[the job summary]({summary_url})" if summary_url else "the job summary"
        lines.append(f"This comment was shortened ({trimmed}): the full report is in {where}.")
    elif summary_url:
        lines.append(f"Full report: [job summary]({summary_url}).")
    tool = one_line(report.get("tool"), 80) or "django-migration-ci"
    lines.append(f"<sub>{html.escape(tool)}</sub>")
    return "\n\n".join(lines)


def _size(text: str, in_bytes: bool) -> int:
    return len(text.encode("utf-8")) if in_bytes else len(text)


def _cut(text: str, limit: int, in_bytes: bool) -> str:
    if not in_bytes:
        return text[:limit]
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def render_report(report: Mapping[str, Any], *, notes: Sequence[str] = (), summary_url: str = "",
                  base_ref: str = "", strategy: str = "merge", header: str = "",
                  limit: int = MAX_COMMENT_CHARS, in_bytes: bool = False) -> str:
    """The full report as Markdown, within ``limit`` characters (UTF-8 bytes with ``in_bytes``):
    SQL is dropped first, then the plan, then the files."""
    attempts = [({"sql": True, "plan": True, "files": True}, ""),
                ({"sql": False, "plan": True, "files": True}, "SQL left out"),
                ({"sql": False, "plan": False, "files": True}, "SQL and plan left out"),
                ({"sql": False, "plan": False, "files": False}, "SQL, plan and files left out")]
    body = ""
    for options, trimmed in attempts:
        parts = _sections(report, base_ref=base_ref, strategy=strategy, **options)
        body = "\n\n".join([header, *parts, _footer(report, notes, summary_url, trimmed)]).strip()
        if _size(body, in_bytes) < limit:
            return body + "\n"
    footer = _footer(report, notes, summary_url, "cut to fit")
    head = "\n\n".join([header, _title(report), _checked(report)]).strip()
    return _cut(head + "\n\n" + footer, limit - 1, in_bytes) + "\n"


def render_comment(report: Mapping[str, Any], *, notes: Sequence[str] = (),
                   summary_url: str = "", base_ref: str = "", strategy: str = "merge") -> str:
    """The sticky comment: marker first, then the report, never over 65,536 characters."""
    return render_report(report, notes=notes, summary_url=summary_url, base_ref=base_ref,
                         strategy=strategy, header=marker(report.get("working_directory")))


def render_resolved(report: Mapping[str, Any], *, summary_url: str = "") -> str:
    """What the sticky comment becomes once a later push has removed every finding."""
    lines = [marker(report.get("working_directory")),
             "## Django migrations: resolved ✅",
             "The migration conflict reported here earlier is gone. " + _checked(report)]
    if summary_url:
        lines.append(f"Full report: [job summary]({summary_url}).")
    return "\n\n".join(lines) + "\n"


def render_summary(report: Mapping[str, Any], *, notes: Sequence[str] = (),
                   base_ref: str = "", strategy: str = "merge") -> str:
    """The job summary: the whole report, no marker, within the summary's size limit."""
    return render_report(report, notes=notes, base_ref=base_ref, strategy=strategy,
                         limit=MAX_SUMMARY_BYTES, in_bytes=True)
