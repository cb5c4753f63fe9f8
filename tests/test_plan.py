"""The plan diff and its renderers, from literal ``collect`` output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from migration_ci.plan.records import Plan, PlanEntry, PlannedOperation, build_plan, plan_to_json
from migration_ci.plan.render import render_json, render_markdown, render_text
from migration_ci.plan.risk import Risk

ADD_SKU_FACTS = {
    "kind": "AddField", "vendor": "postgresql", "atomic": True, "model": "product",
    "field": "sku", "table_exists": True, "managed": True, "before": None,
    "after": {"null": False, "default": False, "db_default": False, "unique": False,
              "db_index": False, "db_type": "varchar(20)"},
    "statements": ['ALTER TABLE "shop_product" ADD COLUMN "sku" varchar(20) NOT NULL;'],
}
COLLECTED: dict[str, Any] = {
    "vendor": "postgresql",
    "migrations": [
        {"app_label": "shop", "name": "0007_add_sku", "path": "shop/migrations/0007_add_sku.py",
         "backwards": False, "atomic": True,
         "operations": [{"description": "Add field sku to product", "irreversible": False,
                         "facts": ADD_SKU_FACTS}],
         "operation_lines": [12], "ignores": [],
         "sql": 'BEGIN;\nALTER TABLE "shop_product" ADD COLUMN "sku" varchar(20);\nCOMMIT;',
         "sql_error": None},
        {"app_label": "billing", "name": "0002_fill", "path": "billing/migrations/0002_fill.py",
         "backwards": False, "atomic": True,
         "operations": [{"description": "Raw Python operation -> Fill.", "irreversible": True,
                         "facts": {"kind": "RunPython", "has_reverse": False}}],
         "sql": "BEGIN;\n--\n-- Raw Python operation\n--\n"
                "-- THIS OPERATION CANNOT BE WRITTEN AS SQL\nCOMMIT;",
         "sql_error": "Raw Python operation (RunPython) runs Python code, not SQL"},
    ],
    "gone": [["shop", "0006_old"], ["billing", "0001_gone"]],
}


def test_new_migrations_keep_apply_order_and_gone_ones_follow_sorted() -> None:
    plan = build_plan(COLLECTED, gone_paths={("shop", "0006_old"): "shop/migrations/0006_old.py"})
    assert [(e.label, e.status, e.path) for e in plan.entries] == [
        ("shop.0007_add_sku", "new", "shop/migrations/0007_add_sku.py"),
        ("billing.0002_fill", "new", "billing/migrations/0002_fill.py"),
        ("billing.0001_gone", "gone", None),
        ("shop.0006_old", "gone", "shop/migrations/0006_old.py"),
    ]


def test_each_operation_gets_its_risk() -> None:
    plan = build_plan(COLLECTED)
    risks = [op.risk.rule if op.risk else None for e in plan.new for op in e.operations]
    assert risks == ["add-field-not-null-no-default", "run-python-no-reverse"]
    assert plan.highest_risk == "medium"


def test_operations_without_facts_have_no_risk() -> None:
    collected = {"vendor": "sqlite", "migrations": [
        {"app_label": "a", "name": "0001_x", "operations": [{"description": "Create model X"}]},
    ]}
    plan = build_plan(collected)
    assert plan.new[0].operations == (PlannedOperation("Create model X"),)
    assert plan.highest_risk is None


def test_json_part_has_the_documented_keys() -> None:
    document = json.loads(render_json(build_plan(COLLECTED)))
    assert document["vendor"] == "postgresql"
    assert document["fail_on"] == "never"
    assert document["risks"] == {"high": 0, "medium": 2, "low": 0, "accepted": 0}
    first = document["entries"][0]
    assert first == {
        "app_label": "shop", "name": "0007_add_sku", "status": "new",
        "path": "shop/migrations/0007_add_sku.py",
        "operations": [{
            "description": "Add field sku to product", "kind": "AddField", "line": 12,
            "irreversible": False,
            "risk": {
                "level": "medium", "rule": "add-field-not-null-no-default",
                "reason": "Adds a NOT NULL column without a default: the migration fails on a "
                          "table that has rows.",
                "safer": "Add it with null=True (or a db_default), backfill, then make it "
                         "NOT NULL.",
                "accepted": None,
            },
        }],
        "sql": COLLECTED["migrations"][0]["sql"],
        "sql_error": None,
    }
    gone = document["entries"][-1]
    assert gone == {"app_label": "shop", "name": "0006_old", "status": "gone", "path": None,
                    "operations": [], "sql": None, "sql_error": None}


def test_text_reads_like_migrate_plan_with_markers() -> None:
    assert render_text(build_plan(COLLECTED)) == (
        "Planned operations on postgresql:\n"
        "WARNING: 2 migrations on the base are missing from this branch (deleted or renamed)"
        " and may already be applied in production:\n"
        "- billing.0001_gone  (on base, missing here: may already be applied in production)\n"
        "- shop.0006_old  (on base, missing here: may already be applied in production)\n"
        "+ shop.0007_add_sku\n"
        "    Add field sku to product  [MEDIUM risk: add-field-not-null-no-default]\n"
        "      Adds a NOT NULL column without a default: the migration fails on a table that has"
        " rows. Safer: Add it with null=True (or a db_default), backfill, then make it NOT"
        " NULL.\n"
        "+ billing.0002_fill\n"
        "    Raw Python operation -> Fill.  [MEDIUM risk: run-python-no-reverse] [IRREVERSIBLE]\n"
        "      This migration cannot be rolled back: RunPython has no reverse_code."
        " Safer: Pass reverse_code (migrations.RunPython.noop if nothing needs undoing).\n"
    )


def test_text_of_an_empty_plan_says_so() -> None:
    assert render_text(Plan("sqlite")) == (
        "Planned operations on sqlite:\n  No planned migration operations.\n"
    )


def test_markdown_flags_gone_migrations_above_the_diff() -> None:
    markdown = render_markdown(build_plan(COLLECTED), sql=False)
    assert markdown == (
        "### Migration plan on `postgresql`\n\n"
        "> [!WARNING]\n"
        "> **2 migrations on the base are missing from this branch (deleted or renamed) and may"
        " already be applied in production.** Django will not unapply them; keep the files"
        " (or squash\n"
        "> with `replaces`) until every database has moved past them.\n"
        "> - `billing.0001_gone`\n"
        "> - `shop.0006_old`\n\n"
        "```diff\n"
        "- billing.0001_gone  (on base, missing here: may already be applied in production)\n"
        "- shop.0006_old  (on base, missing here: may already be applied in production)\n"
        "+ shop.0007_add_sku\n"
        "+     Add field sku to product  [MEDIUM risk: add-field-not-null-no-default]\n"
        "+ billing.0002_fill\n"
        "+     Raw Python operation -> Fill.  [MEDIUM risk: run-python-no-reverse] [IRREVERSIBLE]\n"
        "```\n\n"
        "Risk levels:\n\n"
        "- 🟠 medium (`add-field-not-null-no-default`): `shop.0007_add_sku` `Add field sku to"
        " product`: Adds a NOT NULL column without a default: the migration fails on a table"
        " that has rows. Safer: Add it with null=True (or a db_default), backfill, then make it"
        " NOT NULL.\n"
        "- 🟠 medium (`run-python-no-reverse`): `billing.0002_fill` `Raw Python operation ->"
        " Fill.`: This migration cannot be rolled back: RunPython has no reverse_code. Safer:"
        " Pass reverse_code (migrations.RunPython.noop if nothing needs undoing).\n"
    )


def test_markdown_sql_is_collapsible_per_migration() -> None:
    markdown = render_markdown(build_plan(COLLECTED))
    assert (
        "<details><summary>SQL for <code>shop.0007_add_sku</code></summary>\n\n"
        "```sql\nBEGIN;\nALTER TABLE \"shop_product\" ADD COLUMN \"sku\" varchar(20);\n"
        "COMMIT;\n```\n\n</details>"
    ) in markdown
    assert (
        "Part of `billing.0002_fill`: `Raw Python operation (RunPython) runs Python code,"
        " not SQL`"
    ) in markdown


def hostile_plan(sql: str) -> Plan:
    op = PlannedOperation("Raw SQL operation -> ```</details>", risk=Risk(
        "run-sql-destructive", "high", "r.", "s."))
    return Plan("sqlite", (PlanEntry("<b>shop", "0001_x", "new", operations=(op,), sql=sql),))


@pytest.mark.parametrize(
    ("sql", "fence"),
    [
        pytest.param("SELECT 1;", "```", id="no backticks"),
        pytest.param("SELECT '```';", "````", id="a triple backtick run"),
        pytest.param("SELECT '`````';", "``````", id="a five backtick run"),
    ],
)
def test_markdown_cannot_be_broken_by_names_or_sql(sql: str, fence: str) -> None:
    markdown = render_markdown(hostile_plan(sql))
    assert f"{fence}sql\n{sql}\n{fence}\n" in markdown
    assert "<summary>SQL for <code>&lt;b&gt;shop.0001_x</code></summary>" in markdown
    assert "````diff\n+ <b>shop.0001_x\n+     Raw SQL operation -> ```</details>" in markdown
    assert ("- 🔴 high (`run-sql-destructive`): `<b>shop.0001_x` ````Raw SQL operation -> "
            "```</details>````: r. Safer: s.") in markdown


def test_markdown_of_an_empty_plan_says_so() -> None:
    assert render_markdown(Plan("sqlite")) == (
        "### Migration plan on `sqlite`\n\nNo planned migration operations.\n"
    )


def test_plan_to_json_round_trips_through_json() -> None:
    plan = build_plan(COLLECTED)
    assert json.loads(json.dumps(plan_to_json(plan))) == plan_to_json(plan)


def test_text_can_show_sql_and_why_some_is_missing() -> None:
    plan = build_plan({**COLLECTED, "gone": []})
    text = render_text(plan, sql=True)
    assert text.endswith(
        "+ billing.0002_fill\n"
        "    Raw Python operation -> Fill.  [MEDIUM risk: run-python-no-reverse] [IRREVERSIBLE]\n"
        "      This migration cannot be rolled back: RunPython has no reverse_code."
        " Safer: Pass reverse_code (migrations.RunPython.noop if nothing needs undoing).\n"
        "    | BEGIN;\n    | --\n    | -- Raw Python operation\n    | --\n"
        "    | -- THIS OPERATION CANNOT BE WRITTEN AS SQL\n    | COMMIT;\n"
        "    Partly not SQL: Raw Python operation (RunPython) runs Python code, not SQL\n"
    )
