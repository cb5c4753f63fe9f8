"""The comment, the job summary and the "resolved" note, each compared whole.

A report with every part (two conflicts, one Django cannot merge; overlaps with and without a
field; a leaf of an unknown side; a branch without operations; a failed verify with a snapshot,
phases, the failing SQL, an irreversible operation and a missing change; a plan with a gone
migration, every risk level and SQL that could not be generated) renders to the Markdown in
``tests/fixtures/comment/``. After a deliberate change of the layout, rewrite the files with
``MIGRATION_CI_UPDATE_FIXTURES=1`` and review their diff.

The size limits are pinned at their exact boundaries, in characters and in UTF-8 bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from migration_ci.report import comment

FIXTURES = Path(__file__).parent / "fixtures" / "comment"


def full_report() -> dict[str, Any]:
    leaf = {"name": "0007_add_sku", "path": "shop/migrations/0007_add_sku.py", "side": "branch"}
    return {
        "version": 1, "tool": "django-migration-ci 0.1.0", "working_directory": "backend",
        "base": {"ref": "develop", "sha": "a" * 40}, "head": {"sha": "b" * 40},
        "check": {
            "conflicts": [
                {
                    "app_label": "shop", "migrations_dir": "shop/migrations",
                    "leaves": [leaf, {"name": "0007_price", "path": "shop/migrations/0007_price.py",
                                      "side": "base"},
                               {"name": "0007_odd", "path": "shop/migrations/0007_odd.py",
                                "side": "sideways"}],
                    "common_ancestor": "0006_order",
                    "merge_name": "0008_merge_x", "merge_error": None,
                    "merge_file": {"path": "", "content": "# the merge file\n"},
                    "branches": [
                        {"leaf": "0007_add_sku", "operations": [
                            {"kind": "AddField", "description": "+ Add field sku to product"}]},
                        {"leaf": "0007_price", "operations": []},
                    ],
                    "overlaps": [
                        {"model": "product", "field": "price",
                         "leaves": ["0007_add_sku", "0007_price"]},
                        {"model": "order", "field": None, "leaves": ["0007_add_sku"]},
                    ],
                },
                {
                    "app_label": "users", "migrations_dir": "users/migrations",
                    "leaves": [{"name": "0001_a", "path": "users/migrations/0001_a.py",
                                "side": "both"}],
                    "common_ancestor": None, "merge_name": None,
                    "merge_error": "No common ancestor.", "branches": [], "overlaps": [],
                },
            ],
            "warnings": ["shop/migrations/0007_odd.py:3: a dependency is not a literal"],
        },
        "verify": {
            "database": {"vendor": "postgresql", "version": "16.2"}, "ok": False,
            "seconds": 3.5, "phases": [{"name": "forward", "seconds": 1.25},
                                       {"name": "missing changes!", "seconds": 0.5}],
            "snapshot": {"used": True, "note": "restored from key abc"},
            "failure": {"app_label": "shop", "name": "0007_add_sku", "direction": "forward",
                        "path": "shop/migrations/0007_add_sku.py", "operation": "AddField",
                        "error": "column \"sku\" already exists",
                        "sql": 'ALTER TABLE "shop_product" ADD COLUMN "sku" varchar(32)'},
            "irreversible": [{"app_label": "shop", "name": "0007_add_sku",
                              "operation": "Raw Python operation"}],
            "missing_changes": [{"app_label": "shop", "description": "~ Alter field price"}],
        },
        "plan": {"vendor": "postgresql", "entries": [
            {"app_label": "shop", "name": "0005_old", "status": "gone", "operations": []},
            {"app_label": "shop", "name": "0007_add_sku", "status": "new",
             "sql": "BEGIN;\nALTER TABLE x;\nCOMMIT;",
             "operations": [
                 {"description": "Add field sku to product", "irreversible": False,
                  "risk": {"level": "low", "reason": "Adds a column.", "safer": "Nothing."}},
                 {"description": "Raw Python operation", "irreversible": True,
                  "risk": {"level": "medium", "reason": "No reverse.", "safer": "Add one."}},
                 {"description": "Remove field price", "irreversible": False,
                  "risk": {"level": "high", "reason": "Loses data.", "safer": "Later."}},
                 {"description": "Something new", "irreversible": False,
                  "risk": {"level": "severe", "reason": "?", "safer": "?"}},
             ]},
            {"app_label": "users", "name": "0002_b", "status": "new", "sql": None,
             "sql_error": "RunPython has no SQL", "operations": []},
        ]},
    }


RENDERS = {
    "comment.md": lambda: comment.render_comment(
        full_report(), notes=["A note with `code`."], summary_url="https://x/run/7",
        base_ref="develop", strategy="rebase"),
    "comment-defaults.md": lambda: comment.render_comment(full_report()),
    "summary.md": lambda: comment.render_summary(full_report(), notes=["Summary note."],
                                                 base_ref="develop"),
    "resolved.md": lambda: comment.render_resolved(full_report(),
                                                   summary_url="https://x/run/8"),
    "resolved-no-link.md": lambda: comment.render_resolved(full_report()),
    "clean.md": lambda: comment.render_comment({"check": {"conflicts": []}, "plan": {}}),
}


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_rendered_whole(name: str) -> None:
    rendered = RENDERS[name]()
    path = FIXTURES / name
    if os.environ.get("MIGRATION_CI_UPDATE_FIXTURES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("in_bytes", [False, True], ids=["characters", "UTF-8 bytes"])
def test_a_report_that_fits_exactly_is_whole(in_bytes: bool) -> None:
    """``limit`` counts the final line break: a body of exactly ``limit`` is kept whole, one
    unit less drops the SQL."""
    whole = comment.render_report(full_report(), limit=10**9, in_bytes=in_bytes)
    size = len(whole.encode()) if in_bytes else len(whole)
    assert comment.render_report(full_report(), limit=size, in_bytes=in_bytes) == whole
    shorter = comment.render_report(full_report(), limit=size - 1, in_bytes=in_bytes)
    assert "This comment was shortened (SQL left out)" in shorter
    assert "ALTER TABLE x;" not in shorter


@pytest.mark.parametrize("in_bytes", [False, True], ids=["characters", "UTF-8 bytes"])
def test_the_last_resort_is_cut_to_exactly_the_limit(in_bytes: bool) -> None:
    """Even without the files the report is too long: title, checked line and footer, cut to
    ``limit`` units in all, the last one the final line break. In bytes no character is cut in
    half: ✅ (3 bytes) is dropped whole."""
    limit = 40
    body = comment.render_report(full_report(), limit=limit, in_bytes=in_bytes)
    assert body == "## Django migrations: conflicting migra\n"
    assert len(body) == limit
    clean: dict[str, Any] = {"check": {}}
    if in_bytes:  # "## Django migrations: no conflicts " is 35 bytes, then ✅ takes 3
        assert comment.render_report(clean, limit=38, in_bytes=True) == (
            "## Django migrations: no conflicts \n")
        assert comment.render_report(clean, limit=39, in_bytes=True) == (
            "## Django migrations: no conflicts ✅\n")
    else:
        assert comment.render_report(clean, limit=37) == "## Django migrations: no conflicts ✅\n"


def edge_report() -> dict[str, Any]:
    """Values at the edges: each limit plus one, empty names, a path Git allows but a shell
    line cannot hold, a document that leaves parts out."""
    return {
        "tool": "t" * 81, "base": {}, "head": {},
        "check": {
            "conflicts": [
                {"app_label": "", "migrations_dir": "", "merge_name": "X0002_merge",
                 "leaves": [{"name": "", "path": "p", "side": "both"}],
                 "branches": [{"leaf": "0001", "operations": [
                     {"description": "d" * 501}, {"description": "second op"}]}]},
                {"app_label": "z", "merge_name": "0002_merge",
                 "merge_file": {"path": "z/migrations/0002\nmerge.py"}},
                {"app_label": "y", "merge_error": "e" * 501},
                {"app_label": "x", "merge_name": None, "merge_error": None},
            ],
            "warnings": ["w" * 501, "x" * 500],
        },
        "verify": {
            "database": {"version": "3.45"}, "ok": True, "seconds": None,
            "phases": [{"name": "Forward", "seconds": 0.25}, {"name": "n" * 41, "seconds": 1},
                       {"name": "!!!", "seconds": "soon"}],
            "snapshot": {"used": False, "note": "no key"},
            "missing_changes": [{"app_label": "a", "description": "one"},
                                {"app_label": "b", "description": "m" * 301}],
        },
        "plan": {"entries": [{"app_label": "a", "name": "0002", "status": "new",
                              "operations": [{"description": "o" * 501}]},
                             {"app_label": "a", "name": "n" * 299, "status": "gone"}]},
    }


def test_edges_rendered_whole() -> None:
    rendered = comment.render_comment(edge_report(), summary_url="https://x/run/9")
    path = FIXTURES / "edges.md"
    if os.environ.get("MIGRATION_CI_UPDATE_FIXTURES"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("", "` `", id="empty"),
        pytest.param("`x", "`` `x ``", id="starts with a backtick"),
        pytest.param("x`", "`` x` ``", id="ends with a backtick"),
        pytest.param("a | b", "`a ¦ b`", id="table bar"),
        pytest.param("c" * 300, "`" + "c" * 300 + "`", id="at the limit"),
        pytest.param("c" * 301, "`" + "c" * 299 + "…`", id="one over the limit"),
    ],
)
def test_code(value: str, expected: str) -> None:
    assert comment.code(value) == expected


def test_html_code_escapes_quotes_and_mentions() -> None:
    assert comment.html_code("a\"b'c<@octocat>") == (
        "<code>a&quot;b&#x27;c&lt;&#64;octocat&gt;</code>")
    assert comment.html_code("h" * 201) == "<code>" + "h" * 199 + "…</code>"


def test_the_title_counts_apps_with_a_label_and_findings_need_a_conflict_or_a_failure() -> None:
    report = {"check": {"conflicts": [{"app_label": ""}, {"app_label": "shop"}]}}
    assert comment.conflicted_apps(report) == ["shop"]
    assert comment.has_findings(report)
    assert comment.has_findings({"check": {}, "verify": {"ok": False}})
    assert not comment.has_findings({"check": {}, "verify": {"ok": True}})


def levels(url: str = "https://x/run/3") -> list[tuple[int, str]]:
    """The size of the report at each step of shortening (each the largest that does not fit
    the step before), and the note each step adds."""
    notes = ["", "SQL left out", "SQL and plan left out", "SQL, plan and files left out"]
    sizes = [len(comment.render_report(full_report(), limit=10**9, summary_url=url))]
    for _ in notes[1:]:
        sizes.append(len(comment.render_report(full_report(), limit=sizes[-1] - 1,
                                               summary_url=url)))
    return list(zip(sizes, notes, strict=True))


@pytest.mark.parametrize("step", [1, 2, 3])
def test_each_step_of_shortening_leaves_out_what_it_says(step: int) -> None:
    size, note = levels()[step]
    body = comment.render_report(full_report(), limit=size, summary_url="https://x/run/3")
    assert len(body) == size
    assert (f"This comment was shortened ({note}): the full report is in "
            "[the job summary](https://x/run/3).") in body
    assert 'ADD COLUMN "sku"' not in body and "ALTER TABLE x;" not in body  # SQL always first
    assert ("### Migration plan" in body) is (step == 1)
    assert ("# the merge file" in body) is (step < 3)


def test_the_last_resort_keeps_the_footer_when_it_fits() -> None:
    smallest = levels()[3][0]
    body = comment.render_report(full_report(), limit=smallest - 1,
                                 summary_url="https://x/run/3")
    assert body == (
        "## Django migrations: conflicting migrations in 2 apps; migrations fail on a fresh "
        "database\n\nChecked head `bbbbbbbbbbbb` against base `develop` at `aaaaaaaaaaaa` in "
        "`backend`.\n\nThis comment was shortened (cut to fit): the full report is in "
        "[the job summary](https://x/run/3).\n\n<sub>django-migration-ci 0.1.0</sub>\n"
    )
    without_link = comment.render_report(full_report(), limit=levels("")[3][0] - 1)
    assert without_link.endswith(
        "This comment was shortened (cut to fit): the full report is in the job summary.\n\n"
        "<sub>django-migration-ci 0.1.0</sub>\n")


def test_the_summary_holds_what_the_comment_cannot() -> None:
    """The job summary's limit is 1 MB of UTF-8, the comment's 65,536 characters."""
    report = full_report()
    report["plan"]["entries"][1]["sql"] = "SELECT 1;\n" * 10_000  # 100,000 characters
    assert "SELECT 1;" in comment.render_summary(report)
    assert "SELECT 1;" not in comment.render_comment(report)


def test_defaults_of_the_renderers() -> None:
    """No base given: the commands fetch the report's own base branch; no strategy: merge."""
    body = comment.render_report(full_report())
    assert ("git fetch origin -- develop\ngit merge --no-edit -- origin/develop\n"
            "migration-ci fix --no-header\n") in body
    assert comment.render_summary(full_report()) == body


def test_the_summary_keeps_the_strategy() -> None:
    assert "\nmigration-ci fix --strategy rebase\n" in comment.render_summary(
        full_report(), strategy="rebase")
