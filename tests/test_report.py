"""Renderers of a check result: workflow commands are escaped, summaries are exact."""

from __future__ import annotations

import pytest

from migration_ci.graph.specs import CheckResult, Conflict, Leaf
from migration_ci.report.formats import annotation, render_github, summary_line


def conflict(
    app: str = "shop", path: str = "shop/migrations", error: str | None = None
) -> Conflict:
    return Conflict(
        app_label=app,
        migrations_dir=path,
        leaves=(
            Leaf("0002_a", f"{path}/0002_a.py", "branch"),
            Leaf("0002_b", f"{path}/0002_b.py", "base"),
        ),
        merge_name=None if error else "0003_merge_0002_a_0002_b",
        merge_dependencies=((app, "0002_a"), (app, "0002_b")),
        branches=(),
        merge_error=error,
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"file": "odd,dir:x/migrations/0001_a.py", "title": "T, with: colon"},
            "::error file=odd%2Cdir%3Ax/migrations/0001_a.py,line=1,"
            "title=T%2C with%3A colon::100%25%0Aline two%0D",
            id="properties escape comma and colon",
        ),
        pytest.param({}, "::error::100%25%0Aline two%0D", id="no properties"),
    ],
)
def test_annotation_escapes_data_and_properties(kwargs: dict[str, str], expected: str) -> None:
    assert annotation("error", "100%\nline two\r", **kwargs) == expected


def test_github_format_cannot_inject_a_workflow_command() -> None:
    result = CheckResult("static", (conflict(path="x\n::add-mask::y/migrations"),), base_ref="main")
    lines = render_github(result).splitlines()
    assert len(lines) == 3  # two annotations and the summary: no line starts a new command
    assert all("\n" not in line for line in lines)
    assert lines[0].startswith("::error file=x%0A%3A%3Aadd-mask%3A%3Ay/migrations/0002_a.py,")


@pytest.mark.parametrize(
    ("conflicts", "expected"),
    [
        pytest.param(
            (),
            "No conflicting migrations: 0 apps, 0 migrations checked (static engine).",
            id="clean",
        ),
        pytest.param(
            (conflict(),), "1 app with conflicting migrations. Run: migration-ci fix", id="fixable"
        ),
        pytest.param(
            (conflict(error="no common ancestor"),),
            "1 app with conflicting migrations. No merge migration can be written: resolve by "
            "hand as described above.",
            id="unfixable",
        ),
    ],
)
def test_summary_line(conflicts: tuple[Conflict, ...], expected: str) -> None:
    assert summary_line(CheckResult("static", conflicts)) == expected


def test_summary_line_of_fixable_and_unfixable_apps() -> None:
    result = CheckResult("static", (conflict("shop"), conflict("users", error="no ancestor")))
    assert summary_line(result) == (
        "2 apps with conflicting migrations. Run: migration-ci fix (fixes shop); resolve users "
        "by hand as described above."
    )
