"""The fix activity: write each conflicting app's merge migration, or rebase the branch.

Every file is written inside its app's migrations folder, never over an existing file,
and all conflicts' files are written together or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from migration_ci.atomic import write_files_atomically
from migration_ci.errors import FixError
from migration_ci.fix.merge import (
    GraphView,
    is_writable_name,
    render_merge,
    unwritable_name_error,
)
from migration_ci.fix.rebase import RebasePlan, plan_rebase, rewrite_dependency
from migration_ci.graph.specs import Conflict, Key, MigrationSpec

Strategy = Literal["merge", "rebase"]


@dataclass(frozen=True)
class FixResult:
    written: tuple[str, ...] = ()  # POSIX paths relative to the root
    renamed: tuple[tuple[str, str], ...] = ()  # (old path, new path)
    messages: tuple[str, ...] = ()


def fix_conflicts(
    root: Path,
    conflicts: Sequence[Conflict],
    specs: Mapping[Key, MigrationSpec],
    *,
    strategy: Strategy,
    include_header: bool = True,
    run_formatters: bool = True,
    graph: GraphView | None = None,
) -> FixResult:
    """Write the fix for every conflict; ``graph`` is needed for ``strategy="rebase"``."""
    if strategy == "rebase":
        if graph is None:
            raise FixError("The rebase strategy needs the migration graph.")
        return rebase_conflicts(root, conflicts, specs, graph)
    return merge_conflicts(root, conflicts, include_header=include_header,
                           run_formatters=run_formatters)


def merge_conflicts(
    root: Path, conflicts: Sequence[Conflict], *, include_header: bool, run_formatters: bool
) -> FixResult:
    """Write ``makemigrations --merge --noinput``'s file for each conflict, then run black."""
    contents: dict[Path, str] = {}
    messages = []
    for conflict in conflicts:
        if conflict.merge_error or not conflict.merge_name:
            raise FixError(conflict.merge_error or
                           f"No merge migration name for app {conflict.app_label!r}.")
        path = get_merge_path(root, conflict, conflict.merge_name)
        contents[path] = render_merge(conflict.app_label, conflict.merge_name,
                                      conflict.merge_dependencies, include_header=include_header)
        leaves = ", ".join(leaf.name for leaf in conflict.leaves)
        messages.append(f"Created merge migration {relative(root, path)} (merges {leaves}).")
    write_files_atomically(contents, exclusive=True)
    if run_formatters and contents:
        format_files(sorted(contents))
    return FixResult(
        written=tuple(relative(root, path) for path in contents), messages=tuple(messages)
    )


def get_merge_path(root: Path, conflict: Conflict, name: str) -> Path:
    """``<migrations_dir>/<name>.py``, refused unless it lies inside that folder."""
    if not is_writable_name(name):
        raise FixError(unwritable_name_error(conflict.app_label, name))
    migrations_dir = (root / conflict.migrations_dir).resolve()
    path = migrations_dir / f"{name}.py"
    inside_root = migrations_dir.is_relative_to(root.resolve())
    if not conflict.migrations_dir or not inside_root or path.resolve().parent != migrations_dir:
        raise FixError(
            f"Refusing to write '{path}': it is outside the migrations folder "
            f"'{conflict.migrations_dir}' of app {conflict.app_label!r} under '{root}'.",
            "Check the app's migrations folder (symbolic links are followed).")
    if not migrations_dir.is_dir():
        raise FixError(f"The migrations folder '{conflict.migrations_dir}' of app "
                       f"{conflict.app_label!r} does not exist.")
    return path


def format_files(paths: Sequence[Path]) -> None:
    """Run black on the new files exactly as makemigrations does (when black is on PATH)."""
    from django.core.management.utils import run_formatters

    # Django 5.2 also takes stderr= (default sys.stderr); 4.2 takes only the paths.
    run_formatters([os.fspath(p) for p in paths])


def rebase_conflicts(
    root: Path, conflicts: Sequence[Conflict], specs: Mapping[Key, MigrationSpec],
    graph: GraphView,
) -> FixResult:
    """Plan every app's rebase first (so a refusal writes nothing), then apply them."""
    plans = [plan_rebase(c, graph, specs, get_base_leaf(c)) for c in conflicts]
    contents: dict[Path, bytes] = {}
    removals: list[Path] = []
    for plan in plans:
        plan_contents, plan_removals = prepare_rebase(root, plan)
        contents.update(plan_contents)
        removals += plan_removals
    write_files_atomically(contents, remove=removals, exclusive=True)
    return FixResult(
        written=tuple(step.new_path for plan in plans for step in plan.steps),
        renamed=tuple(pair for plan in plans for pair in plan.renames),
        messages=tuple(map(describe_plan, plans)),
    )


def get_base_leaf(conflict: Conflict) -> str:
    """The one leaf not introduced by this branch."""
    others = [leaf.name for leaf in conflict.leaves if leaf.side != "branch"]
    if len(others) != 1:
        names = ", ".join(others) or "none"
        raise FixError(
            f"Cannot rebase: app {conflict.app_label!r} needs exactly one leaf from the base, "
            f"found {names}. Use --strategy merge.")
    return others[0]


def describe_plan(plan: RebasePlan) -> str:
    moves = ", ".join(f"{s.old_name} -> {s.new_name}" for s in plan.steps)
    return f"Rebased app {plan.app_label!r} onto {plan.base_leaf}: {moves}."


def relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def apply_rebase(root: Path, plan: RebasePlan) -> tuple[str, ...]:
    """Rename and re-point the chain's files all at once; return the paths written."""
    contents, removals = prepare_rebase(root, plan)
    write_files_atomically(contents, remove=removals, exclusive=True)
    return tuple(step.new_path for step in plan.steps)


def prepare_rebase(root: Path, plan: RebasePlan) -> tuple[dict[Path, bytes], list[Path]]:
    """The new files' contents and the old files to remove, checked to stay in the folder."""
    migrations_dir = (root / plan.migrations_dir).resolve()
    contents: dict[Path, bytes] = {}
    for step in plan.steps:
        old, new = root / step.path, root / step.new_path
        for path in (old, new):
            if path.resolve().parent != migrations_dir:
                raise FixError(f"Refusing to write '{path}': it is outside the migrations "
                               f"folder '{plan.migrations_dir}' of app {plan.app_label!r}.")
        contents[new] = rewrite_dependency(
            old.read_bytes(), plan.app_label, step.old_parent, step.new_parent, step.path)
    return contents, [root / step.path for step in plan.steps]
