"""The plan diff as text (like ``migrate --plan``), JSON and Markdown.

Pure. Names, descriptions and SQL come from the user's tree and are treated as hostile: in
text a name that is not plain is quoted and free text escaped (``safe``); in Markdown inline
values go into code spans, HTML summaries are escaped, and blocks use a fence longer than any
backtick run they hold (helpers shared with ``comment``).
"""

from __future__ import annotations

from migration_ci.plan.records import GONE_NOTE, Plan, PlanEntry, PlannedOperation, plan_to_json
from migration_ci.report.comment import code, details, fenced, html_code, one_line
from migration_ci.report.formats import dumps
from migration_ci.report.safe import log_text, quote

RISK_LABELS = {"high": "HIGH", "medium": "MEDIUM", "low": "low"}
RISK_ICONS = {"high": "🔴 high", "medium": "🟠 medium", "low": "🟢 low"}
EMPTY = "No planned migration operations."


def gone_warning(plan: Plan) -> str:
    count = len(plan.gone)
    noun = "migration" if count == 1 else "migrations"
    return (
        f"{count} {noun} on the base {'is' if count == 1 else 'are'} missing from this branch "
        "(deleted or renamed) and may already be applied in production"
    )


def operation_tags(op: PlannedOperation) -> str:
    tags = [f"[{RISK_LABELS[op.risk.level]} risk]"] if op.risk else []
    if op.irreversible:
        tags.append("[IRREVERSIBLE]")
    return "  " + " ".join(tags) if tags else ""


# -- text -------------------------------------------------------------------------------------

def render_text(plan: Plan, *, sql: bool = False) -> str:
    vendor = log_text(plan.vendor) if plan.vendor else ""
    lines = [f"Planned operations on {vendor}:" if vendor else "Planned operations:"]
    if plan.gone:
        lines.append(f"WARNING: {gone_warning(plan)}:")
    for entry in plan.gone:
        lines.append(f"- {quote(entry.label)}  ({GONE_NOTE})")
    for entry in plan.new:
        lines.extend(entry_text(entry, sql))
    if not plan.entries:
        lines.append(f"  {EMPTY}")
    return "\n".join(lines) + "\n"


def entry_text(entry: PlanEntry, sql: bool) -> list[str]:
    lines = [f"+ {quote(entry.label)}"]
    for op in entry.operations:
        lines.append(f"    {log_text(op.description)}{operation_tags(op)}")
        if op.risk:
            lines.append(f"      {log_text(op.risk.reason)} Safer: {log_text(op.risk.safer)}")
    if sql and entry.sql:
        lines.extend("    | " + log_text(line) for line in entry.sql.splitlines())
    if sql and entry.sql_error:
        lines.append(
            f"    {'Partly not SQL' if entry.sql else 'No SQL'}: {log_text(entry.sql_error)}"
        )
    return lines


# -- JSON -------------------------------------------------------------------------------------

def render_json(plan: Plan) -> str:
    return dumps(plan_to_json(plan))


# -- Markdown ---------------------------------------------------------------------------------

def render_markdown(plan: Plan, *, sql: bool = True) -> str:
    parts = [f"### Migration plan on {code(plan.vendor) if plan.vendor else 'the database'}"]
    if plan.gone:
        parts.append(gone_alert(plan))
    if not plan.entries:
        parts.append(EMPTY)
        return "\n\n".join(parts) + "\n"
    parts.append(fenced("\n".join(diff_lines(plan)), "diff"))
    risks = risk_lines(plan)
    if risks:
        parts.append("Risk levels:\n\n" + "\n".join(risks))
    if sql:
        parts.extend(sql_block(entry) for entry in plan.new if entry.sql or entry.sql_error)
    return "\n\n".join(parts) + "\n"


def gone_alert(plan: Plan) -> str:
    items = [
        f"> - {code(entry.label)}" + (f" ({code(entry.path)})" if entry.path else "")
        for entry in plan.gone
    ]
    return "\n".join([
        "> [!WARNING]",
        f"> **{gone_warning(plan)}.** Django will not unapply them; keep the files (or squash",
        "> with `replaces`) until every database has moved past them.",
        *items,
    ])


def diff_lines(plan: Plan) -> list[str]:
    lines = [f"- {one_line(entry.label)}  ({GONE_NOTE})" for entry in plan.gone]
    for entry in plan.new:
        lines.append(f"+ {one_line(entry.label)}")
        lines.extend(
            f"+     {one_line(op.description, 500)}{operation_tags(op)}" for op in entry.operations
        )
    return lines


def risk_lines(plan: Plan) -> list[str]:
    return [
        f"- {RISK_ICONS[op.risk.level]}: {code(entry.label)} {code(op.description)}: "
        f"{op.risk.reason} Safer: {op.risk.safer}"
        for entry in plan.new
        for op in entry.operations
        if op.risk and op.risk.level != "low"
    ]


def sql_block(entry: PlanEntry) -> str:
    parts = []
    if entry.sql_error:
        lead = "Part of" if entry.sql else "No SQL for"
        parts.append(f"{lead} {code(entry.label)}: {code(entry.sql_error, 1000)}")
    if entry.sql:
        parts.append(details(f"SQL for {html_code(entry.label)}", fenced(entry.sql, "sql")))
    return "\n\n".join(parts)
