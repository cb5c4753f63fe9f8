"""The plan diff as text (like ``migrate --plan``), JSON and Markdown.

Pure. Names, descriptions and SQL come from the user's tree and are treated as hostile in
Markdown: inline values go into code spans, HTML summaries are escaped, and blocks use a
fence longer than any backtick run they hold (helpers shared with ``comment``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from migration_ci.plan.records import Plan, PlanEntry, PlannedOperation, plan_to_json
from migration_ci.report.plan_section import (
    EMPTY,
    GONE_NOTE,
    gone_warning,
    render_plan_section,
    risk_tags,
)


def operation_tags(op: PlannedOperation) -> str:
    if op.risk is None:
        return risk_tags(None, op.irreversible)
    return risk_tags(op.risk.level, op.irreversible, rule=op.risk.rule,
                     accepted=op.risk.accepted is not None)


# -- text -------------------------------------------------------------------------------------

def render_text(plan: Plan, *, sql: bool = False) -> str:
    lines = [f"Planned operations on {plan.vendor}:" if plan.vendor else "Planned operations:"]
    if plan.gone:
        lines.append(f"WARNING: {gone_warning(len(plan.gone))}:")
    for entry in plan.gone:
        lines.append(f"- {entry.label}  ({GONE_NOTE})")
    for entry in plan.new:
        lines.extend(entry_text(entry, sql))
    if not plan.entries:
        lines.append(f"  {EMPTY}")
    return "\n".join(lines) + "\n"


def entry_text(entry: PlanEntry, sql: bool) -> list[str]:
    lines = [f"+ {entry.label}"]
    for op in entry.operations:
        lines.append(f"    {op.description}{operation_tags(op)}")
        if op.risk:
            lines.append(f"      {op.risk.reason} Safer: {op.risk.safer}")
        if op.risk and op.risk.accepted is not None:
            lines.append(f"      Accepted: {op.risk.accepted}")
    if sql and entry.sql:
        lines.extend("    | " + line for line in entry.sql.splitlines())
    if sql and entry.sql_error:
        lines.append(f"    {'Partly not SQL' if entry.sql else 'No SQL'}: {entry.sql_error}")
    return lines


# -- JSON -------------------------------------------------------------------------------------

def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2) + "\n"


# -- Markdown ---------------------------------------------------------------------------------

def render_markdown(plan: Plan, *, sql: bool = True, merge_paths: Sequence[str] = ()) -> str:
    """The plan as the pull-request comment shows it (``report.plan_section``)."""
    return render_plan_section(
        plan_to_json(plan), sql=sql, merge_paths=merge_paths, subject="this branch"
    ) + "\n"
