"""Markdown for the PR comment, the "resolved" comment and the job summary, from the report.

Pure: takes the report document (a dict, see the README's "Report document") and returns text.
The document may come from an untrusted run, so every value is treated as hostile (see
``report.markdown``); notes are Markdown written by the caller, with every value in a code span.

The comment holds what a reviewer acts on, and nothing that changes while the commits do not:
conflicts with their sides and branches, the fix, whether verify passed, the plan with its risks
and SQL. Run timings and the snapshot used go to the job summary (and the JSON) only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from migration_ci.report.fix_section import fix_block, merge_file_block, merge_path

# Re-exported: the Action's glue and notes escape values with them as comment.code, ...
from migration_ci.report.markdown import as_dict as as_dict
from migration_ci.report.markdown import as_list as as_list
from migration_ci.report.markdown import as_text as as_text
from migration_ci.report.markdown import code as code
from migration_ci.report.markdown import details as details
from migration_ci.report.markdown import fenced as fenced
from migration_ci.report.markdown import html_code as html_code
from migration_ci.report.markdown import one_line as one_line
from migration_ci.report.markdown import short_sha as short_sha
from migration_ci.report.plan_section import render_plan_section

# https://docs.github.com/en/rest/issues/comments#create-an-issue-comment: body max 65536 chars.
MAX_COMMENT_CHARS = 65_536
# The job summary's limit is 1 MiB per step, in bytes; the report leaves room for warnings that
# follow it (workflow.Workflow.write_summary holds the file itself under the limit).
MAX_SUMMARY_BYTES = 1_000_000
MARKER_PREFIX = "<!-- django-migration-ci:"
_UNSAFE_MARKER = re.compile(r"[^A-Za-z0-9._/\-]")
_SIDES = {"branch": "this pull request", "base": "the base branch", "both": "both sides"}
STILL_NEEDED = "with the merge migration this pull request still needs"


def marker(working_directory: object) -> str:
    """The hidden marker of the sticky comment for one working directory."""
    raw = as_text(working_directory) or "."
    where = _UNSAFE_MARKER.sub(lambda m: f"%{ord(m.group()):02X}", raw)
    return f'{MARKER_PREFIX} working-directory="{where}" -->'


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
        lines.append("\n" + _overlap(overlap))
    return "\n".join(lines)


def _overlap(overlap: Mapping[str, Any]) -> str:
    """Two branches on one field is a clash the merge does not resolve; on one model, only
    something to check."""
    leaves = ", ".join(code(leaf) for leaf in as_list(overlap.get("leaves")))
    model, field = as_text(overlap.get("model")), as_text(overlap.get("field"))
    if field:
        return (f"> [!WARNING]\n> Both branches change field {code(f'{model}.{field}')} "
                f"({leaves}): the merge migration joins the graph but does not resolve that "
                "clash; keep one of the changes.")
    return (f"> [!NOTE]\n> Both branches change model {code(model)} ({leaves}): the merge "
            "migration joins the graph, not the changes; check that they fit together.")


def _seconds(value: object) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "? s"


def _verify(verify: Mapping[str, Any], sql: bool, timings: bool) -> str:
    database = as_dict(verify.get("database"))
    engine = f"{as_text(database.get('vendor')) or '?'} {as_text(database.get('version'))}".strip()
    status = "✅ passed" if verify.get("ok") is True else "❌ failed"
    if as_list(verify.get("merge_migrations_used")):
        status += f" {STILL_NEEDED}"
    lines = [f"### Verify on a fresh database: {status}", f"Database {code(engine)}."]
    if timings:
        lines[-1] = (f"Database {code(engine)}, {_seconds(verify.get('seconds'))}"
                     + "".join(f"; {text_word(p.get('name'))} {_seconds(p.get('seconds'))}"
                               for p in map(as_dict, as_list(verify.get("phases")))) + ".")
        snapshot = as_dict(verify.get("snapshot"))
        if snapshot:
            used = ("built on an earlier snapshot" if snapshot.get("chained_from")
                    else "restored from a snapshot" if snapshot.get("used") else "built from zero")
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


# -- whole documents --------------------------------------------------------------------------

def _sections(report: Mapping[str, Any], *, sql: bool, plan: bool, files: bool,
              base_ref: str, strategy: str, timings: bool) -> list[str]:
    parts = [_title(report), _checked(report)]
    found = conflicts(report)
    for conflict in found:
        parts.append(_conflict(conflict))
        if files:
            parts.append(merge_file_block(conflict, strategy))
    if files:
        base = {**as_dict(report.get("base")), **({"ref": base_ref} if base_ref else {})}
        parts.append(fix_block(found, base, strategy))
    for warning in as_list(as_dict(report.get("check")).get("warnings")):
        parts.append(f"- Warning: {code(warning, 500)}")
    if isinstance(report.get("verify"), Mapping):
        parts.append(_verify(as_dict(report.get("verify")), sql, timings))
    if plan and isinstance(report.get("plan"), Mapping):
        merges = [merge_path(c) for c in found if c.get("merge_name")]
        parts.append(render_plan_section(as_dict(report.get("plan")), sql=sql,
                                         merge_paths=[m for m in merges if m]))
    return [part for part in parts if part]


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
                  limit: int = MAX_COMMENT_CHARS, in_bytes: bool = False,
                  timings: bool = True) -> str:
    """The full report as Markdown, within ``limit`` characters (UTF-8 bytes with ``in_bytes``):
    SQL is dropped first, then the plan, then the files. ``timings``: verify's phase times and
    snapshot (the job summary has them; the comment does not, so it changes only with the code).
    """
    attempts = [({"sql": True, "plan": True, "files": True}, ""),
                ({"sql": False, "plan": True, "files": True}, "SQL left out"),
                ({"sql": False, "plan": False, "files": True}, "SQL and plan left out"),
                ({"sql": False, "plan": False, "files": False}, "SQL, plan and files left out")]
    body = ""
    for options, trimmed in attempts:
        parts = _sections(report, base_ref=base_ref, strategy=strategy, timings=timings,
                          **options)
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
                         strategy=strategy, header=marker(report.get("working_directory")),
                         timings=False)


_RUN_LINK = re.compile(r"\]\([^()\s]*/actions/runs/[0-9]+[^()\s]*\)")


def same_report(old: str, new: str) -> bool:
    """Whether two bodies say the same, whichever run's job summary they link to."""
    return _RUN_LINK.sub("](run)", old) == _RUN_LINK.sub("](run)", new)


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
