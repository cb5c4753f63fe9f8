"""The rule table's shape, the SQL helpers, and rules against literal facts.

Each rule against the SQL Django really emits, per engine, is tests/test_risk_sql.py.
"""

from __future__ import annotations

import pytest

from migration_ci.plan import sqlfacts
from migration_ci.plan.risk import (
    LEVELS,
    RULES,
    FieldFacts,
    OperationFacts,
    assess,
    find_matching_rules,
    rule_ids,
)

VARCHAR = FieldFacts(db_type="varchar(100)")
EXISTING = {"table_exists": True, "model": "product", "field": "name"}


def test_rules_are_ordered_from_high_to_low() -> None:
    levels = [LEVELS.index(rule.level) for rule in RULES]
    assert levels == sorted(levels)


def test_a_rule_id_has_one_row_per_engine_and_level_and_one_line_texts() -> None:
    keys = [(rule.id, engine, rule.level) for rule in RULES
            for engine in sorted(rule.engines or {"any"})]
    assert len(keys) == len(set(keys))
    for rule in RULES:
        assert "\n" not in rule.reason + rule.safer, rule.id
        assert rule.reason.endswith(".") and rule.safer.endswith("."), rule.id


def test_rule_ids_are_listed_once_in_table_order() -> None:
    ids = rule_ids()
    assert ids[:3] == ["remove-field", "delete-model", "run-sql-destructive"]
    assert len(ids) == len(set(ids)) == len({rule.id for rule in RULES})


@pytest.mark.parametrize(
    ("before", "after", "widening", "mysql", "mariadb"),
    [
        pytest.param("varchar(100)", "varchar(200)", True, True, True, id="longer varchar"),
        pytest.param("varchar(50)", "varchar(100)", True, False, False, id="past 255 bytes"),
        pytest.param("varchar(20)", "varchar(100)", True, False, True,
                     id="past 255 bytes from up to 127 bytes"),
        pytest.param("varchar(64)", "varchar(300)", True, True, True, id="above 255 bytes"),
        pytest.param("varchar(100)", "varchar(50)", False, False, False, id="shorter varchar"),
        pytest.param("varchar(100)", "text", True, False, False, id="varchar to text"),
        pytest.param("numeric(10, 2)", "numeric(12, 2)", True, False, False, id="more digits"),
        pytest.param("numeric(10, 2)", "numeric(12, 3)", False, False, False, id="new scale"),
        pytest.param("integer", "bigint", False, False, False, id="integer to bigint"),
    ],
)
def test_which_type_changes_widen_and_which_stay_in_place(
    before: str, after: str, widening: bool, mysql: bool, mariadb: bool
) -> None:
    assert sqlfacts.is_widening(before, after) is widening
    assert sqlfacts.is_postgres_catalog_only(before, after) is widening
    assert sqlfacts.is_mysql_in_place(before, after) is mysql
    assert sqlfacts.is_mysql_in_place(before, after, mariadb=True) is mariadb


def test_an_operation_that_runs_no_sql_is_no_risk() -> None:
    """A RenameField kept on its column (db_column) prints "-- (no-op)" and runs nothing."""
    facts = OperationFacts("RenameField", before=VARCHAR, after=VARCHAR, statements=(),
                           **EXISTING)
    assert assess(facts) is None


def test_sql_that_could_not_be_generated_still_flags_data_loss_but_not_sql_rules() -> None:
    """sqlmigrate cannot always write SQL on the plan's empty database (MySQL introspects the
    table for some AlterFields): a drop is still a drop; an index is only judged on its SQL."""
    removal = OperationFacts("RemoveField", before=VARCHAR, statements=None, **EXISTING)
    risk = assess(removal)
    assert risk is not None
    assert risk.rule == "remove-field"
    index = OperationFacts("AddIndex", vendor="postgresql", table_exists=True, statements=None)
    assert assess(index) is None


def test_rules_speak_only_for_their_engines() -> None:
    index = OperationFacts("AddIndex", table_exists=True, statements=(
        'CREATE INDEX "i" ON "shop_product" ("name");',))
    assert [find_matching_rules(index.__class__(**{**index.__dict__, "vendor": v}))
            for v in ("postgresql", "mysql", "sqlite")] == [["add-index"], [], []]


def test_concurrent_index_is_the_safe_pattern_not_a_non_atomic_risk() -> None:
    facts = OperationFacts("AddIndexConcurrently", vendor="postgresql", atomic=False,
                           table_exists=True, no_transaction=True, statements=(
                               'CREATE INDEX CONCURRENTLY "i" ON "shop_product" ("name");',))
    risk = assess(facts)
    assert risk is not None
    assert (risk.rule, risk.level) == ("index-concurrently", "low")


def test_separate_database_and_state_is_judged_by_its_database_operations() -> None:
    drop = OperationFacts("RunSQL", sql="ALTER TABLE t DROP COLUMN c", has_reverse=True)
    fill = OperationFacts("RunPython", has_reverse=False)
    facts = OperationFacts("SeparateDatabaseAndState", inner=(fill, drop))
    risk = assess(facts)
    assert risk is not None
    assert (risk.rule, risk.level) == ("run-sql-destructive", "high")
    assert assess(OperationFacts("SeparateDatabaseAndState", inner=())) is None


def test_destructive_sql_means_dropping_data_not_any_drop() -> None:
    def rule(sql: str) -> str | None:
        risk = assess(OperationFacts("RunSQL", sql=sql, has_reverse=True))
        return risk.rule if risk else None

    assert rule("DROP TABLE shop_old;") == "run-sql-destructive"
    assert rule("TRUNCATE shop_log") == "run-sql-destructive"
    assert rule("ALTER TABLE t DROP COLUMN c") == "run-sql-destructive"
    assert rule("DROP INDEX shop_idx") is None
    assert rule("ALTER TABLE t ALTER COLUMN c DROP DEFAULT") is None
    assert rule("UPDATE dropbox SET a = 1") is None


def test_facts_read_from_what_collect_returns() -> None:
    data = {
        "kind": "AddField", "vendor": "postgresql", "atomic": True, "model": "product",
        "field": "sku", "table_exists": True, "managed": True, "before": None,
        "after": {"null": False, "default": True, "db_default": False, "unique": False,
                  "db_index": False, "db_type": "varchar(10)", "filled": True,
                  "foreign_key": False, "future_key": 1},
        "statements": ['ALTER TABLE "shop_product" ADD COLUMN "sku" varchar(10) DEFAULT \'\' '
                       'NOT NULL;', 'ALTER TABLE "shop_product" ALTER COLUMN "sku" DROP DEFAULT;'],
        "unique_together_before": [["a", "b"]], "unique_together_after": [["a", "b"]],
    }
    facts = OperationFacts.from_dict(data)
    assert facts.after == FieldFacts(default=True, db_type="varchar(10)", filled=True)
    assert facts.unique_together_after == frozenset({("a", "b")})
    risk = assess(facts)
    assert risk is not None
    assert risk.rule == "add-field-default-dropped"
    assert risk.reason == (
        "Django fills existing rows with the default but leaves the column without a database "
        "default: the migration works, but servers still running the old code insert rows "
        "without this column and fail on NOT NULL until the deploy ends.")
    assert risk.safer == (
        "Use db_default (Django 5.0+) so the column keeps its default for the old code, or add "
        "it with null=True first and make it NOT NULL in a later release.")
