"""The migration plan as Markdown, from the report document's "plan" part.

Pure. The pull-request comment's plan section and ``migration-ci plan --format markdown`` are
this one rendering: the base migrations the branch lost, flagged above the diff; the diff as
``migrate --plan`` prints it with each operation's risk level; the medium and high risks in
prose with the safer pattern; the SQL of each migration in a collapsible block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migration_ci.report.markdown import (
    as_dict,
    as_list,
    as_text,
    code,
    details,
    fenced,
    html_code,
    one_line,
    prose,
)

GONE_NOTE = "on base, missing here: may already be applied in production"
EMPTY = "No planned migration operations."
RISK_TAGS = {"high": "HIGH", "medium": "MEDIUM", "low": "low"}
RISK_ICONS = {"high": "🔴 high", "medium": "🟠 medium", "low": "🟢 low"}


def gone_warning(count: int) -> str:
    noun = "migration" if count == 1 else "migrations"
    return (
        f"{count} {noun} on the base {'is' if count == 1 else 'are'} missing from this branch "
        "(deleted or renamed) and may already be applied in production"
    )


def risk_tags(
    level: str | None, irreversible: bool, *, rule: str | None = None, accepted: bool = False
) -> str:
    """``  [HIGH risk: remove-field] [IRREVERSIBLE]`` (``[accepted MEDIUM risk: …]`` when the
    project accepted it), as the text and the diff mark an operation."""
    tags = []
    if level in RISK_TAGS:
        named = f": {one_line(rule, 80)}" if rule else ""
        tags.append(f"[{'accepted ' if accepted else ''}{RISK_TAGS[level]} risk{named}]")
    if irreversible:
        tags.append("[IRREVERSIBLE]")
    return "  " + " ".join(tags) if tags else ""


def render_plan_section(
    plan: Mapping[str, Any], *, sql: bool = True, merge_paths: Sequence[str] = (),
    subject: str = "this pull request",
) -> str:
    """The plan part as Markdown; ``merge_paths``: the merge migrations it was planned with,
    which ``subject`` (this pull request, this branch) still needs."""
    vendor = code(plan.get("vendor")) if plan.get("vendor") else "the database"
    parts = [f"### Migration plan on {vendor}"]
    entries = [as_dict(e) for e in as_list(plan.get("entries"))]
    new = [e for e in entries if e.get("status") != "gone"]
    gone = [e for e in entries if e.get("status") == "gone"]
    if merge_paths:
        paths = ", ".join(code(path) for path in merge_paths)
        parts.append(f"Planned with the merge migration {subject} still needs ({paths}).")
    if gone:
        parts.append(gone_alert(gone))
    if not entries:
        return "\n\n".join([*parts, EMPTY])
    parts.append(fenced("\n".join(diff_lines(new, gone)), "diff"))
    risks = [line for entry in new for line in risk_lines(entry)]
    if risks:
        parts.append("Risk levels:\n\n" + "\n".join(risks))
    if sql:
        parts.extend(sql_block(entry) for entry in new
                     if entry.get("sql") or entry.get("sql_error"))
    return "\n\n".join(parts)


def label(entry: Mapping[str, Any]) -> str:
    return f"{as_text(entry.get('app_label'))}.{as_text(entry.get('name'))}"


def operations(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [as_dict(op) for op in as_list(entry.get("operations"))]


def level_of(op: Mapping[str, Any]) -> str | None:
    risk = as_dict(op.get("risk"))
    return as_text(risk.get("level")) if risk else None


def gone_alert(gone: Sequence[Mapping[str, Any]]) -> str:
    items = [f"> - {code(label(entry))}"
             + (f" ({code(entry.get('path'))})" if entry.get("path") else "") for entry in gone]
    return "\n".join([
        "> [!WARNING]",
        f"> **{gone_warning(len(gone))}.** Django will not unapply them; keep the files (or squash",
        "> with `replaces`) until every database has moved past them.",
        *items,
    ])


def diff_lines(new: Sequence[Mapping[str, Any]], gone: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [f"- {one_line(label(entry))}  ({GONE_NOTE})" for entry in gone]
    for entry in new:
        lines.append(f"+ {one_line(label(entry))}")
        lines.extend(
            f"+     {one_line(op.get('description'), 500)}"
            f"{op_tags(op)}"
            for op in operations(entry)
        )
    return lines


def op_tags(op: Mapping[str, Any]) -> str:
    risk = as_dict(op.get("risk"))
    return risk_tags(level_of(op), op.get("irreversible") is True,
                     rule=as_text(risk.get("rule")) or None,
                     accepted=risk.get("accepted") is not None)


def risk_lines(entry: Mapping[str, Any]) -> list[str]:
    """The medium and high risks (and any of a level we do not know) of one migration."""
    lines = []
    for op in operations(entry):
        risk = as_dict(op.get("risk"))
        level = level_of(op)
        if not risk or level == "low":
            continue
        icon = RISK_ICONS.get(level or "", "⚪ unknown")
        accepted = risk.get("accepted")
        if accepted is not None:
            icon = f"✅ accepted {icon}"
        rule = f" ({code(risk.get('rule'))})" if risk.get("rule") else ""
        lines.append(f"- {icon}{rule}: {code(label(entry))} {code(op.get('description'))}: "
                     f"{prose(risk.get('reason'))} Safer: {prose(risk.get('safer'))}"
                     + (f" Accepted: {code(accepted, 500)}" if accepted is not None else ""))
    return lines


def sql_block(entry: Mapping[str, Any]) -> str:
    parts = []
    if entry.get("sql_error"):
        lead = "Part of" if entry.get("sql") else "No SQL for"
        parts.append(f"{lead} {code(label(entry))}: {code(entry.get('sql_error'), 1000)}")
    if entry.get("sql"):
        parts.append(details(f"SQL for {html_code(label(entry))}",
                             fenced(as_text(entry.get("sql")), "sql")))
    return "\n\n".join(parts)
