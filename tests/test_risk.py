"""Each rule of risk.RULES against literal facts, and a guard that no rule goes untested."""

from __future__ import annotations

import pytest

from migration_ci.plan.risk import RULES, FieldFacts, OperationFacts, assess, find_matching_rules

VARCHAR = FieldFacts(db_type="varchar(100)")
NULLABLE = FieldFacts(null=True, db_type="varchar(100)")
EXISTING = {"table_exists": True, "model": "product", "field": "name"}
PG = {"vendor": "postgresql"}

# (facts, the rule the reader is shown); one case per rule at least, named after it.
CASES = [
    pytest.param(OperationFacts("RemoveField", before=VARCHAR, **EXISTING), "remove-field",
                 id="remove-field"),
    pytest.param(OperationFacts("DeleteModel", table_exists=True), "delete-model",
                 id="delete-model"),
    pytest.param(OperationFacts("RunSQL", sql="drop table shop_old;", has_reverse=True),
                 "run-sql-destructive", id="run-sql-destructive drop"),
    pytest.param(OperationFacts("RunSQL", sql="TRUNCATE shop_log", has_reverse=True),
                 "run-sql-destructive", id="run-sql-destructive truncate"),
    pytest.param(OperationFacts("AlterField", before=VARCHAR, after=FieldFacts(db_type="text"),
                                **EXISTING),
                 "alter-field-type", id="alter-field-type"),
    pytest.param(OperationFacts("RenameField", before=VARCHAR, after=VARCHAR, **EXISTING),
                 "rename-field", id="rename-field"),
    pytest.param(OperationFacts("RenameModel", table_exists=True), "rename-model",
                 id="rename-model"),
    pytest.param(OperationFacts("AddField", after=VARCHAR, **EXISTING),
                 "add-field-not-null-no-default", id="add-field-not-null-no-default"),
    pytest.param(OperationFacts("AlterField", before=NULLABLE, after=VARCHAR, **EXISTING),
                 "tighten-null", id="tighten-null"),
    pytest.param(OperationFacts("AlterField", before=VARCHAR,
                                after=FieldFacts(unique=True, db_type="varchar(100)"),
                                **EXISTING),
                 "add-unique", id="add-unique on a field"),
    pytest.param(OperationFacts("AlterUniqueTogether", table_exists=True,
                                unique_together_after=frozenset({("name", "sku")})),
                 "add-unique", id="add-unique together"),
    pytest.param(OperationFacts("AddConstraint", table_exists=True,
                                constraint="UniqueConstraint"),
                 "add-unique", id="add-unique constraint"),
    pytest.param(OperationFacts("AddIndex", table_exists=True, **PG),
                 "postgres-index-not-concurrent", id="postgres-index-not-concurrent AddIndex"),
    pytest.param(OperationFacts("AlterField", before=VARCHAR,
                                after=FieldFacts(db_index=True, db_type="varchar(100)"),
                                **EXISTING, **PG),
                 "postgres-index-not-concurrent", id="postgres-index-not-concurrent db_index"),
    pytest.param(OperationFacts("AddField", after=FieldFacts(null=True, db_index=True,
                                                             db_type="integer"),
                                **EXISTING, **PG),
                 "postgres-index-not-concurrent", id="postgres-index-not-concurrent new FK"),
    pytest.param(OperationFacts("RunPython", has_reverse=False), "run-python-no-reverse",
                 id="run-python-no-reverse"),
    pytest.param(OperationFacts("RunSQL", sql="UPDATE t SET a = 1", has_reverse=False),
                 "run-sql-no-reverse", id="run-sql-no-reverse"),
    pytest.param(OperationFacts("RunPython", has_reverse=True, atomic=False),
                 "non-atomic-migration", id="non-atomic-migration"),
    pytest.param(OperationFacts("AddField", after=NULLABLE, **EXISTING), "new-nullable-field",
                 id="new-nullable-field"),
    pytest.param(OperationFacts("AddField", after=FieldFacts(default=True, db_type="integer"),
                                **EXISTING),
                 "new-field-with-default", id="new-field-with-default"),
    pytest.param(OperationFacts("AddField", after=FieldFacts(db_default=True, db_type="integer"),
                                **EXISTING),
                 "new-field-with-default", id="new-field-with-default db_default"),
    pytest.param(OperationFacts("CreateModel", model="stock"), "new-model", id="new-model"),
    pytest.param(OperationFacts("AddIndex", table_exists=False, **PG), "new-index-new-table",
                 id="new-index-new-table"),
    # What the rules must leave alone.
    pytest.param(OperationFacts("AddIndexConcurrently", table_exists=True, atomic=False, **PG),
                 "non-atomic-migration", id="AddIndexConcurrently is not an unsafe index"),
    pytest.param(OperationFacts("AddIndex", table_exists=True), None,
                 id="AddIndex on an existing table outside PostgreSQL"),
    pytest.param(OperationFacts("AddField", after=VARCHAR, model="stock", field="name"),
                 "new-nullable-field", id="NOT NULL field on a table this change creates"),
    pytest.param(OperationFacts("RemoveField", before=VARCHAR, model="p", field="f",
                                table_exists=True, managed=False),
                 None, id="RemoveField on an unmanaged model"),
    pytest.param(OperationFacts("AlterField", before=VARCHAR, after=VARCHAR, **EXISTING), None,
                 id="AlterField keeping the type"),
    pytest.param(OperationFacts("RunSQL", sql="UPDATE dropbox SET a = 1", has_reverse=True),
                 None, id="RunSQL mentioning drop only inside a word"),
    pytest.param(OperationFacts("AlterUniqueTogether", table_exists=True,
                                unique_together_before=frozenset({("a", "b")})),
                 None, id="AlterUniqueTogether that only removes"),
]


@pytest.mark.parametrize(("facts", "rule_id"), CASES)
def test_the_reader_sees_the_first_rule_that_applies(
    facts: OperationFacts, rule_id: str | None
) -> None:
    risk = assess(facts)
    assert (risk.rule if risk else None) == rule_id
    if risk is not None:
        rule = next(rule for rule in RULES if rule.id == rule_id)
        assert (risk.level, risk.reason, risk.safer) == (rule.level, rule.reason, rule.safer)


def test_every_rule_has_a_case() -> None:
    tested = {case.values[1] for case in CASES}
    assert {rule.id for rule in RULES} - tested == set()


def test_rules_are_ordered_from_high_to_low() -> None:
    order = {"high": 0, "medium": 1, "low": 2}
    levels = [order[rule.level] for rule in RULES]
    assert levels == sorted(levels)


def test_rule_ids_are_unique_and_texts_are_one_line() -> None:
    assert len({rule.id for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert "\n" not in rule.reason + rule.safer, rule.id
        assert rule.reason.endswith(".") and rule.safer.endswith("."), rule.id


def test_an_operation_may_match_several_rules_in_table_order() -> None:
    facts = OperationFacts("RunSQL", sql="DROP TABLE t", has_reverse=False, atomic=False)
    assert find_matching_rules(facts) == [
        "run-sql-destructive", "run-sql-no-reverse", "non-atomic-migration",
    ]


def test_facts_read_from_what_collect_returns() -> None:
    data = {
        "kind": "AlterField", "vendor": "postgresql", "atomic": True, "model": "product",
        "field": "name", "table_exists": True, "managed": True,
        "before": {"null": True, "default": False, "db_default": False, "unique": False,
                   "db_index": False, "db_type": "varchar(100)"},
        "after": {"null": False, "default": False, "db_default": False, "unique": False,
                  "db_index": False, "db_type": "varchar(100)"},
        "unique_together_before": [["a", "b"]], "unique_together_after": [["a", "b"]],
    }
    facts = OperationFacts.from_dict(data)
    assert facts.before == FieldFacts(null=True, db_type="varchar(100)")
    assert facts.unique_together_after == frozenset({("a", "b")})
    risk = assess(facts)
    assert risk is not None
    assert risk.rule == "tighten-null"
