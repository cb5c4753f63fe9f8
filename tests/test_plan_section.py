"""The plan section of the comment, line by line: what was lost, the diff and its tags, the
risks in prose (accepted ones too), and the SQL or why there is none."""

from __future__ import annotations

from typing import Any

from migration_ci.report.plan_section import render_plan_section, risk_tags

LONG_RULE = "r" * 81


def plan() -> dict[str, Any]:
    return {"vendor": "postgresql", "entries": [
        {"status": "gone", "app_label": "shop", "name": "0006_old",
         "path": "shop/migrations/0006_old.py"},
        {"status": "gone", "app_label": "shop", "name": "0006_older"},
        {"status": "new", "app_label": "shop", "name": "0007_a", "sql": "DROP TABLE x;",
         "operations": [
             {"description": "Remove field sku from product", "irreversible": True,
              "risk": {"level": "high", "rule": "remove-field", "reason": "Drops the column.",
                       "safer": "Stop reading it first."}},
             {"description": "Add field x to product",
              "risk": {"level": "medium", "rule": LONG_RULE, "reason": "Locks.",
                       "safer": "Later.", "accepted": "agreed with ops"}},
             {"description": "Add field y to product",
              "risk": {"level": "low", "rule": "new-nullable-field", "reason": "Fine.",
                       "safer": ""}},
             {"description": "Odd", "risk": {"level": "severe", "reason": "?", "safer": "?"}},
             {"description": "No risk"},
         ]},
        {"status": "new", "app_label": "shop", "name": "0008_b", "sql": "SELECT 1;",
         "sql_error": "no such table"},
        {"status": "new", "app_label": "shop", "name": "0009_c", "sql_error": "no such column"},
        {"status": "new", "app_label": "shop", "name": "0010_d"},
    ]}


EXPECTED = """\
### Migration plan on `postgresql`

> [!WARNING]
> **2 migrations on the base are missing from this branch (deleted or renamed) and may already \
be applied in production.** Django will not unapply them; keep the files (or squash
> with `replaces`) until every database has moved past them.
> - `shop.0006_old` (`shop/migrations/0006_old.py`)
> - `shop.0006_older`

```diff
- shop.0006_old  (on base, missing here: may already be applied in production)
- shop.0006_older  (on base, missing here: may already be applied in production)
+ shop.0007_a
+     Remove field sku from product  [HIGH risk: remove-field] [IRREVERSIBLE]
+     Add field x to product  [accepted MEDIUM risk: RULE]
+     Add field y to product  [low risk: new-nullable-field]
+     Odd
+     No risk
+ shop.0008_b
+ shop.0009_c
+ shop.0010_d
```

Risk levels:

- 🔴 high (`remove-field`): `shop.0007_a` `Remove field sku from product`: Drops the column. \
Safer: Stop reading it first.
- ✅ accepted 🟠 medium (`LONGRULE`): `shop.0007_a` `Add field x to product`: Locks. Safer: \
Later. Accepted: `agreed with ops`
- ⚪ unknown: `shop.0007_a` `Odd`: ? Safer: ?

<details><summary>SQL for <code>shop.0007_a</code></summary>

```sql
DROP TABLE x;
```

</details>

Part of `shop.0008_b`: `no such table`

<details><summary>SQL for <code>shop.0008_b</code></summary>

```sql
SELECT 1;
```

</details>

No SQL for `shop.0009_c`: `no such column`""".replace("RULE]", "r" * 79 + "…]").replace(
    "LONGRULE", LONG_RULE)


def test_the_whole_section() -> None:
    assert render_plan_section(plan()) == EXPECTED


def test_without_sql() -> None:
    assert render_plan_section(plan(), sql=False) == EXPECTED.split("\n\n<details>")[0]


def test_the_merge_it_was_planned_with_and_an_empty_plan() -> None:
    assert render_plan_section({"entries": []}, merge_paths=["a/0003_merge.py", "b/0002_m.py"],
                               subject="this branch") == (
        "### Migration plan on the database\n\n"
        "Planned with the merge migration this branch still needs (`a/0003_merge.py`, "
        "`b/0002_m.py`).\n\nNo planned migration operations.")


def test_one_gone_migration_is_singular() -> None:
    section = render_plan_section({"entries": [{"status": "gone", "app_label": "a",
                                                "name": "0002_x"}]})
    assert "> **1 migration on the base is missing from this branch" in section


def test_tags() -> None:
    assert risk_tags(None, False) == ""
    assert risk_tags("unknown", True) == "  [IRREVERSIBLE]"
    assert risk_tags("high", False) == "  [HIGH risk]"
    assert risk_tags("low", False, rule="x", accepted=True) == "  [accepted low risk: x]"
    assert risk_tags("medium", False, rule="r" * 80) == f"  [MEDIUM risk: {'r' * 80}]"
