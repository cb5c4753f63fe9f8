"""The activities that load the user's project: verify, plan, and the full report.

Glue shared by the CLI and the Action. The static check says what the merged result is
(which migration files, which are new, which merge migrations a fix would add); the verify
and plan layers then run the project on a throwaway database over a temporary copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_ci import __version__
from migration_ci.activities.check import (
    Analysis,
    analyze,
    head_commit,
    loadable_project,
    project_relative,
)
from migration_ci.activities.verify import VerifyResult, prepared_project, resolve_database, verify
from migration_ci.config import Config
from migration_ci.databases.throwaway import DatabaseChoice, throwaway_database
from migration_ci.fix.merge import render_merge
from migration_ci.graph.specs import Key
from migration_ci.plan.records import Plan, build_plan, plan_to_json
from migration_ci.project.session import ProjectSpec, WorkerDatabase, WorkerSession
from migration_ci.report import formats as report
from migration_ci.repository.trees import GitTree, MergedTree


@dataclass(frozen=True)
class MergedState:
    """The merged result as files for a temporary project copy, and what is new in it."""

    analysis: Analysis
    base_keys: frozenset[Key] | None = None  # every migration file of the base tree
    base_paths: Mapping[Key, str] = field(default_factory=dict)
    new_keys: frozenset[Key] | None = None  # merged nodes the base does not have
    files: Mapping[str, bytes | None] = field(default_factory=dict)  # None: delete
    merge_files: Mapping[str, str] = field(default_factory=dict)
    text_conflicts: tuple[str, ...] = ()  # files git cannot merge: this branch's version is used
    repo: Path | None = None
    head_commit: str | None = None  # --head: the project is loaded from this commit's files


def merged_state(analysis: Analysis, root: Path, project_dir: Path, config: Config) -> MergedState:
    """What verify and plan need from a check of the working tree (or its merge with a base)."""
    merges = _merge_files(analysis)
    head = head_commit(analysis.source)
    merge_keys = {
        (c.app_label, c.merge_name) for c in analysis.result.conflicts if c.merge_name
    }
    base_sha = analysis.result.base_sha
    if base_sha is None:
        return MergedState(
            analysis,
            merge_files=project_relative(merges, root, project_dir),
            repo=root,
            head_commit=head,
        )
    base = analyze(GitTree(root, base_sha), config)
    base_keys = frozenset(base.specs)
    new_keys = frozenset(k for k in analysis.graph.nodes if k not in base_keys) | merge_keys
    files, text_conflicts = _merged_files(analysis)
    return MergedState(
        analysis,
        base_keys=base_keys,
        base_paths={key: spec.path for key, spec in base.specs.items()},
        new_keys=new_keys,
        files=project_relative(files, root, project_dir),
        merge_files=project_relative(merges, root, project_dir),
        text_conflicts=text_conflicts,
        repo=root,
        head_commit=head,
    )


def _merge_files(analysis: Analysis) -> dict[str, str]:
    return {
        f"{c.migrations_dir}/{c.merge_name}.py": render_merge(
            c.app_label, c.merge_name, c.merge_dependencies
        )
        for c in analysis.result.conflicts
        if c.merge_name
    }


def _merged_files(analysis: Analysis) -> tuple[dict[str, bytes | None], tuple[str, ...]]:
    """The files that turn this tree into the merged result, and those that do not merge."""
    source = analysis.source
    if not isinstance(source, MergedTree):
        return {}, ()
    return source.overlay()


def run_verify(
    project: ProjectSpec, database: DatabaseChoice, state: MergedState, **options: Any
) -> VerifyResult:
    """Verify the merged result: the copy has the merged files and merge migrations."""
    with _loadable(project, state) as loadable:
        return verify(
            loadable,
            database=database,
            new_migrations=state.new_keys,
            files=state.files or None,
            merge_files=state.merge_files or None,
            **options,
        )


@contextmanager
def _loadable(project: ProjectSpec, state: MergedState) -> Iterator[ProjectSpec]:
    if state.repo is None or state.head_commit is None:
        yield project
        return
    with loadable_project(state.repo, state.head_commit, project.project_dir) as folder:
        yield project.with_dir(folder)


def run_plan(project: ProjectSpec, database: DatabaseChoice, state: MergedState) -> Plan:
    """What this branch runs on a database at the base state (no migrate needed)."""
    assert state.base_keys is not None, "the plan needs a base"
    payload = {
        "base_applied": sorted(map(list, state.base_keys)),
        # Apps outside the scanned tree (django.contrib, site-packages) are at the base state.
        "project_apps": sorted({p.app_label for p in state.analysis.packages}),
        "with_sql": True,
    }
    with (
        _loadable(project, state) as loadable,
        prepared_project(loadable, state.files, state.merge_files) as copy,
        WorkerSession(copy) as session,
    ):
        resolved = resolve_database(session, database)
        with throwaway_database(resolved.settings, vendor=resolved.vendor) as db:
            target = WorkerDatabase(
                resolved.alias, db.name, db.settings if resolved.from_url else None
            )
            collected = session.call("plan", payload, database=target)
    return build_plan(collected, gone_paths=state.base_paths)


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
