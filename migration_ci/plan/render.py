"""The plan diff as text (like ``migrate --plan``), JSON and Markdown.

Pure. Names, descriptions and SQL come from the user's tree and are treated as hostile: in
text a name that is not plain is quoted and free text escaped (``safe``); in Markdown inline
values go into code spans, HTML summaries are escaped, and blocks use a fence longer than any
backtick run they hold (helpers shared with ``comment``).
"""

from __future__ import annotations

from collections.abc import Sequence

from migration_ci.plan.records import Plan, PlanEntry, PlannedOperation, plan_to_json
from migration_ci.report.formats import dumps
from migration_ci.report.plan_section import (
    EMPTY,
    GONE_NOTE,
    gone_warning,
    render_plan_section,
    risk_tags,
)
from migration_ci.report.safe import log_text, quote


def operation_tags(op: PlannedOperation) -> str:
    if op.risk is None:
        return risk_tags(None, op.irreversible)
    return risk_tags(op.risk.level, op.irreversible, rule=op.risk.rule,
                     accepted=op.risk.accepted is not None)


# -- text -------------------------------------------------------------------------------------

def render_text(plan: Plan, *, sql: bool = False) -> str:
    vendor = log_text(plan.vendor) if plan.vendor else ""
    lines = [f"Planned operations on {vendor}:" if vendor else "Planned operations:"]
    if plan.gone:
        lines.append(f"WARNING: {gone_warning(len(plan.gone))}:")
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
        if op.risk and op.risk.accepted is not None:
            lines.append(f"      Accepted: {log_text(op.risk.accepted)}")
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

def render_markdown(plan: Plan, *, sql: bool = True, merge_paths: Sequence[str] = ()) -> str:
    """The plan as the pull-request comment shows it (``report.plan_section``)."""
    return render_plan_section(
        plan_to_json(plan), sql=sql, merge_paths=merge_paths, subject="this branch"
    ) + "\n"
