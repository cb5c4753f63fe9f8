"""The plan activity: what this branch runs on a database at the base state."""

from __future__ import annotations

from collections.abc import Callable

from migration_ci.activities.database import open_throwaway, resolve_database, worker_database
from migration_ci.activities.merged import MergedState, loaded_project
from migration_ci.activities.verify import prepared_project
from migration_ci.databases.throwaway import DatabaseChoice
from migration_ci.plan.policy import NO_POLICY, RiskPolicy
from migration_ci.plan.records import Plan, build_plan
from migration_ci.project.session import ProjectSpec, WorkerSession


def run_plan(
    project: ProjectSpec, database: DatabaseChoice, state: MergedState,
    policy: RiskPolicy = NO_POLICY, say: Callable[[str], None] | None = None,
) -> Plan:
    """What this branch runs on a database at the base state (no migrate needed), its risks
    judged under the project's ``policy``.

    ``say`` is told of databases that killed runs left on the server and that were dropped.
    """
    assert state.base_keys is not None, "the plan needs a base"
    payload = {
        "base_applied": sorted(map(list, state.base_keys)),
        # Apps outside the scanned tree (django.contrib, site-packages) are at the base state.
        "project_apps": sorted({p.app_label for p in state.analysis.packages}),
        "with_sql": True,
    }
    with (
        loaded_project(project, state) as loadable,
        prepared_project(loadable, state.files, state.merge_files) as copy,
        WorkerSession(copy) as session,
    ):
        resolved = resolve_database(session, database)
        with open_throwaway(resolved, project.settings, say=say) as db:
            collected = session.call("plan", payload, database=worker_database(db, resolved))
    return build_plan(collected, gone_paths=state.base_paths, policy=policy)
