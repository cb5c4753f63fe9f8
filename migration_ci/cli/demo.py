"""``migration-ci demo``: the main job on the bundled example, no GitHub or server needed.

Builds a throwaway git repository from ``migration_ci/example``: the common history on
``main``, a ``feature`` branch that adds ``0007_add_sku``, then ``main`` moving on with
``0007_price_index``. From the feature branch it checks against ``main``, prints the report
and the merge migration ``migration-ci fix`` would write, verifies the merged result on a
throwaway SQLite database and prints the ``migrate --plan`` diff.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from migration_ci.activities.check import Analysis, analyze, open_source
from migration_ci.activities.merged import merged_state
from migration_ci.activities.plan import run_plan
from migration_ci.activities.verify import run_verify
from migration_ci.cli.fixing import fix_hint
from migration_ci.config import Config
from migration_ci.databases.throwaway import DatabaseChoice
from migration_ci.errors import EXIT_OK, MigrationCIError
from migration_ci.fix.merge import render_merge
from migration_ci.plan import render as plan_render
from migration_ci.project.session import ProjectSpec
from migration_ci.report import formats as report
from migration_ci.repository import git

EXAMPLE = Path(__file__).parents[1] / "example"
SETTINGS = "bookshop.settings"


def build_example_repo(target: Path) -> Path:
    """Write the example as a git repository in ``target``; leaves ``feature`` checked out."""
    shutil.copytree(EXAMPLE / "project", target, dirs_exist_ok=True)
    git.init_repository(target, branch="main")
    git.commit_all(target, "Bookshop: common history (0001-0006)")
    git.create_branch(target, "feature")
    shutil.copytree(EXAMPLE / "feature", target, dirs_exist_ok=True)
    git.commit_all(target, "Add a SKU to products (0007_add_sku)")
    git.switch(target, "main")
    shutil.copytree(EXAMPLE / "main", target, dirs_exist_ok=True)
    git.commit_all(target, "Index product prices (0007_price_index)")
    git.switch(target, "feature")
    return target


@contextmanager
def _workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
            raise MigrationCIError(
                f"demo --keep {str(keep)!r}: not an empty folder.",
                "Name a new or empty folder.",
            )
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="migration-ci-demo-") as tmp:
        yield Path(tmp)


def run_demo(out: TextIO, *, keep: Path | None = None) -> int:
    with _workspace(keep) as workspace:
        root = build_example_repo(workspace)
        out.write(f"Example repository: {root if keep else '(temporary)'}\n")
        out.write(
            "Branch 'feature' adds shop/0007_add_sku; 'main' has since added "
            "shop/0007_price_index.\n\n"
        )
        out.write("$ migration-ci check --base main\n")
        analysis = analyze(open_source(root, "main"), Config(base="main"))
        out.write(report.render_text(analysis.result,
                                     fix_command=fix_hint(analysis.result, "main")))
        for conflict in analysis.result.conflicts:
            if conflict.merge_name is None:
                continue
            path = f"{conflict.migrations_dir}/{conflict.merge_name}.py"
            out.write(f"\n`migration-ci fix` would write {path}:\n\n")
            out.write(
                render_merge(conflict.app_label, conflict.merge_name, conflict.merge_dependencies)
            )
        _verify_and_plan(root, analysis, out)
    return EXIT_OK


def _verify_and_plan(root: Path, analysis: Analysis, out: TextIO) -> None:
    project = ProjectSpec(root, SETTINGS)
    state = merged_state(analysis, root, root, Config(base="main"))
    database = DatabaseChoice()
    out.write(f"\n$ migration-ci verify --settings {SETTINGS} --base main\n")
    out.write(report.render_verify_text(run_verify(project, database, state).to_dict()))
    out.write(f"\n$ migration-ci plan --settings {SETTINGS} --base main --sql\n")
    out.write(plan_render.render_text(run_plan(project, database, state), sql=True))
