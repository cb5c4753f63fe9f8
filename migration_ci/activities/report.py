"""The report activity: check, verify and plan as one document (README: "The report document")."""

from __future__ import annotations

from typing import Any

from migration_ci import __version__
from migration_ci.activities.check import Analysis
from migration_ci.activities.verify import VerifyResult
from migration_ci.fix.merge import render_merge
from migration_ci.plan.records import Plan, plan_to_json
from migration_ci.report import formats as report


def build_document(
    analysis: Analysis,
    *,
    working_directory: str = ".",
    verify_result: VerifyResult | None = None,
    plan: Plan | None = None,
) -> dict[str, Any]:
    """The full report document (README: "The report document")."""
    result = analysis.result
    check = report.check_to_dict(result)
    for conflict in check["conflicts"]:
        if conflict["merge_name"]:
            deps = [tuple(d) for d in conflict["merge_dependencies"]]
            conflict["merge_file"] = {
                "path": f"{conflict['migrations_dir']}/{conflict['merge_name']}.py",
                "content": render_merge(conflict["app_label"], conflict["merge_name"], deps),
            }
        else:
            conflict["merge_file"] = None
    return {
        "version": report.SCHEMA_VERSION,
        "tool": f"django-migration-ci {__version__}",
        "base": {"ref": result.base_ref, "sha": result.base_sha} if result.base_ref else None,
        "head": {"sha": result.head_sha} if result.head_sha else None,
        "working_directory": working_directory,
        "check": check,
        "verify": verify_result.to_dict() if verify_result else None,
        "plan": plan_to_json(plan) if plan else None,
    }
