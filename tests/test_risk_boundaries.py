"""The edges of the risk rules: facts that sit just outside a rule, each rule's full match list.

``find_matching_rules`` lists every rule that applies, so a rule that matches too much shows
here even when a higher one hides it from the reader.
"""

from __future__ import annotations

import pytest

from migration_ci.plan.risk import FieldFacts, OperationFacts, find_matching_rules

EXISTING = {"table_exists": True, "model": "product", "field": "name"}
PG = {"vendor": "postgresql"}
# What Django's PostgreSQL schema editor runs for a new nullable integer column, with an index.
ADD_COLUMN = 'ALTER TABLE "shop_product" ADD COLUMN "code" integer NULL;'
CREATE_INDEX = 'CREATE INDEX "shop_product_code_1a2b3c4d" ON "shop_product" ("code");'
ADD_UNIQUE = 'ALTER TABLE "shop_product" ADD CONSTRAINT "shop_product_code_uniq" UNIQUE ("code");'


@pytest.mark.parametrize(
    ("facts", "rules"),
    [
        pytest.param(
            OperationFacts("AlterUniqueTogether", before=FieldFacts(),
                           after=FieldFacts(unique=True), **EXISTING),
            [], id="unique together, field facts do not count",
        ),
        pytest.param(
            OperationFacts("AddField", after=FieldFacts(null=True, unique=True, db_type="integer"),
                           **EXISTING),
            ["new-nullable-field"], id="a new unique field is not a unique constraint added",
        ),
        pytest.param(
            OperationFacts("AddConstraint", constraint="CheckConstraint", **EXISTING),
            [], id="a check constraint is not a unique one",
        ),
        pytest.param(
            OperationFacts("AddIndex", constraint="UniqueConstraint", **EXISTING),
            [], id="unique constraint named on another operation",
        ),
        pytest.param(
            OperationFacts("RemoveField", after=FieldFacts(db_index=True), **EXISTING, **PG),
            ["remove-field"], id="postgres: only added or altered fields build an index",
        ),
        pytest.param(
            OperationFacts("AddField", after=FieldFacts(null=True, db_type="integer"),
                           statements=(ADD_COLUMN,), **EXISTING, **PG),
            ["new-nullable-field"], id="postgres: a new field without an index",
        ),
        pytest.param(
            OperationFacts("AddField",
                           after=FieldFacts(null=True, db_index=True, db_type="integer"),
                           statements=(ADD_COLUMN, CREATE_INDEX), **EXISTING, **PG),
            ["add-indexed-field", "new-nullable-field"],
            id="postgres: a new indexed field",
        ),
        pytest.param(
            OperationFacts("AlterField", before=FieldFacts(null=True),
                           after=FieldFacts(null=True), **EXISTING),
            [], id="an unchanged field, no default",
        ),
        pytest.param(
            OperationFacts("AlterField", before=FieldFacts(null=True),
                           after=FieldFacts(null=True, default=True), **EXISTING),
            [], id="a default set on an existing field is not a new field",
        ),
    ],
)
def test_every_rule_that_applies(facts: OperationFacts, rules: list[str]) -> None:
    assert find_matching_rules(facts) == rules


@pytest.mark.parametrize(
    ("after", "rules"),
    [
        pytest.param([["name", "sku"]], [], id="unchanged"),
        pytest.param([["name", "sku"], ["code"]], ["add-unique"], id="one added"),
    ],
)
def test_unique_together_read_from_the_plan(after: list[list[str]], rules: list[str]) -> None:
    """Facts as the worker sends them (JSON lists), built inside the test."""
    facts = OperationFacts.from_dict({  # the SQL is there either way: the sets decide
        "kind": "AlterUniqueTogether", "table_exists": True, "vendor": "postgresql",
        "statements": [ADD_UNIQUE], "unique_together_before": [["name", "sku"]],
        "unique_together_after": after,
    })
    assert find_matching_rules(facts) == rules
