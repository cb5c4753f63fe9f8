"""The merged result that verify and plan run on: its files, and what is new in it.

The static check says what the merged result is (which migration files, which are new, which
merge migrations a fix would add); verify and plan then load the project over a temporary copy
holding those files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from migration_ci.activities.check import (
    Analysis,
    analyze,
    head_commit,
    loadable_project,
    project_relative,
)
from migration_ci.config import Config
from migration_ci.fix.merge import render_merge
from migration_ci.graph.specs import Key
from migration_ci.project.session import ProjectSpec
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
            c.app_label, c.merge_name, c.merge_dependencies, include_header=False
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


@contextmanager
def loaded_project(project: ProjectSpec, state: MergedState) -> Iterator[ProjectSpec]:
    """The project verify and plan load: with ``--head``, that commit's files exported."""
    if state.repo is None or state.head_commit is None:
        yield project
        return
    with loadable_project(state.repo, state.head_commit, project.project_dir) as folder:
        yield project.with_dir(folder)
