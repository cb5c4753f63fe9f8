"""The Action's view of the plan's risks: the ones that fail the step, their annotations, and
the ``risks`` output (README: "Inputs", "Outputs")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration_ci.github.inputs import Inputs
from migration_ci.github.workflow import Annotation
from migration_ci.report import comment

RISK_LEVELS = ("high", "medium", "low")


def failing_risks(inputs: Inputs, report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(migration path, operation) of each risk not accepted at or above the failing level: the
    input ``fail-on-risk``, else ``fail-on`` of .migration-ci.yml (in the report), else never."""
    plan = comment.as_dict(report.get("plan"))
    level = inputs.fail_on_risk or comment.as_text(plan.get("fail_on")) or "never"
    if level not in RISK_LEVELS:
        return []
    limit = RISK_LEVELS.index(level)
    found = []
    for entry in map(comment.as_dict, comment.as_list(plan.get("entries"))):
        for op in map(comment.as_dict, comment.as_list(entry.get("operations"))):
            risk = comment.as_dict(op.get("risk"))
            if risk and risk.get("accepted") is None and risk.get("level") in RISK_LEVELS \
                    and RISK_LEVELS.index(risk["level"]) <= limit:
                found.append((comment.as_text(entry.get("path")), op))
    return found


def risk_annotations(inputs: Inputs, report: Mapping[str, Any]) -> list[Annotation]:
    """An error on the operation's line for each risk that fails the step."""
    found = []
    for path, op in failing_risks(inputs, report):
        risk = comment.as_dict(op.get("risk"))
        line = op.get("line")
        found.append(Annotation(
            "error", f"{comment.as_text(risk.get('reason'))} Safer: "
                     f"{comment.as_text(risk.get('safer'))}",
            file=repo_path(inputs.working_directory, path),
            line=line if isinstance(line, int) and not isinstance(line, bool) else 1,
            title=f"Migration risk ({comment.as_text(risk.get('level'))}): "
                  f"{comment.as_text(risk.get('rule'))}"))
    return found


def risk_counts(report: Mapping[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys((*RISK_LEVELS, "accepted"), 0)
    for entry in map(comment.as_dict, comment.as_list(
            comment.as_dict(report.get("plan")).get("entries"))):
        for op in map(comment.as_dict, comment.as_list(entry.get("operations"))):
            risk = comment.as_dict(op.get("risk"))
            level = "accepted" if risk.get("accepted") is not None else risk.get("level")
            if level in counts:
                counts[str(level)] += 1
    return counts


def repo_path(working_directory: str, path: object) -> str:
    """A report path relative to the repository root: the check's paths already are, a path
    relative to the project (working directory) gets its prefix."""
    text = comment.as_text(path)
    if working_directory == "." or text.startswith(working_directory + "/"):
        return text
    return f"{working_directory}/{text}"
