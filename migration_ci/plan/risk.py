"""Risk levels of migration operations: the rules are data, one row per rule in ``RULES``.

A rule is judged on the operation and on the SQL the chosen engine runs for it, so each row
names the engines it speaks for and its reason says what that SQL does there. Levels: high
loses data, breaks old code, or rewrites, copies or scans a whole table while it blocks reads
or writes; medium can fail on existing rows, blocks writes while an index builds, or cannot be
undone; low only adds. An operation gets the first row that applies, so ``RULES`` is ordered
high to low; a ``SeparateDatabaseAndState`` is judged by its database operations only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from migration_ci.plan import conditions as c
from migration_ci.plan.facts import FieldFacts, OperationFacts

__all__ = ["RULES", "FieldFacts", "Level", "OperationFacts", "Risk", "Rule", "assess"]

Level = Literal["high", "medium", "low"]
LEVELS: tuple[Level, ...] = ("high", "medium", "low")
PG, MY, SQ = frozenset({c.POSTGRESQL}), frozenset({c.MYSQL}), frozenset({c.SQLITE})
ANY: frozenset[str] = frozenset()  # every engine, third-party backends included
NOTHING = "Nothing to change."


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    applies: Callable[[OperationFacts], bool]
    reason: str
    safer: str
    engines: frozenset[str] = ANY

    def speaks_for(self, vendor: str) -> bool:
        return not self.engines or vendor in self.engines


@dataclass(frozen=True)
class Risk:
    rule: str
    level: Level
    reason: str
    safer: str
    accepted: str | None = None  # why the team accepts it (an inline ignore's reason)

    def to_json(self) -> dict[str, str | None]:
        return {"level": self.level, "reason": self.reason, "safer": self.safer,
                "rule": self.rule, "accepted": self.accepted}


_ONLINE_TOOL = "or run it with an online schema change tool (gh-ost, pt-online-schema-change)."

RULES: tuple[Rule, ...] = (
    # -- high ---------------------------------------------------------------------------------
    Rule("remove-field", "high", c.removes_field,
         "Drops the field's column (or its many-to-many table) and the data in it; servers "
         "still running the old code read it and fail.",
         "Deploy code that no longer uses the field first, then drop it in a later release."),
    Rule("delete-model", "high", c.deletes_model,
         "Drops the table and its data; servers still running the old code query it and fail.",
         "Deploy code that no longer uses the model first, then delete it in a later release."),
    Rule("run-sql-destructive", "high", c.runs_destructive_sql,
         "The raw SQL drops or truncates data; no rollback of the code brings it back.",
         "Back up the data first and drop it in a later release, once nothing reads it."),
    Rule("alter-field-type", "high", c.rewrites_column_type,
         "Changes the column's type: PostgreSQL rewrites the whole table under an ACCESS "
         "EXCLUSIVE lock, blocking reads and writes, and fails if a value does not convert.",
         "Add a new column, backfill it in batches, switch the code to it, then drop the old "
         "one.", PG),
    Rule("alter-field-type", "high", c.copies_for_column_type,
         "Changes the column's type: MySQL/MariaDB cannot do it in place, so they copy the "
         "whole table (ALGORITHM=COPY), blocking writes until the copy ends; a value that does "
         "not fit fails the copy.",
         "Add a new column, backfill it in batches, switch the code to it, then drop the old "
         "one; " + _ONLINE_TOOL, MY),
    Rule("rename-field", "high", c.renames_column,
         "Renames the column: servers still running the old code use the old name and fail.",
         "Keep the column name with db_column, or add a new field, copy the data, switch the "
         "code, then remove the old field."),
    Rule("rename-model", "high", c.renames_table,
         "Renames the table: servers still running the old code query the old name and fail.",
         "Keep the table name with Meta.db_table, or rename in a release of its own."),
    Rule("tighten-null", "high", c.tightens_null,
         "Sets NOT NULL: PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock, "
         "blocking reads and writes, and fails if a row holds NULL.",
         "Backfill the NULLs first, add CHECK (column IS NOT NULL) NOT VALID and validate it; "
         "SET NOT NULL then skips the scan (PostgreSQL 12+).", PG),
    Rule("tighten-null-backfill", "high", c.tightens_null_after_backfill,
         "Fills the NULLs with the default in one UPDATE, then sets NOT NULL, which scans the "
         "whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.",
         "Backfill the NULLs in batches in an earlier migration, add CHECK (column IS NOT NULL) "
         "NOT VALID and validate it; SET NOT NULL then skips the scan (PostgreSQL 12+).", PG),
    Rule("add-check-constraint", "high", c.adds_check,
         "Adds a check constraint: PostgreSQL checks every row under an ACCESS EXCLUSIVE lock, "
         "blocking reads and writes, and fails if a row breaks it.",
         "Add it with AddConstraintNotValid (NOT VALID), then ValidateConstraint in a later "
         "migration, which does not block writes.", PG),
    Rule("add-check-constraint", "high", c.adds_check,
         "Adds a check constraint: MySQL/MariaDB copy the whole table to add it "
         "(ALGORITHM=COPY), blocking writes until the copy ends, and fail if a row breaks it.",
         "Fix the rows that break it first, then add it in a quiet hour, " + _ONLINE_TOOL, MY),
    Rule("add-unique", "high", c.adds_unique_in_alter_table,
         "Adds a unique constraint: PostgreSQL builds its index inside ALTER TABLE under an "
         "ACCESS EXCLUSIVE lock, blocking reads and writes, and fails if rows hold duplicates.",
         "Remove duplicates, build a unique index with AddIndexConcurrently (atomic = False), "
         "then attach it with ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX.", PG),
    Rule("add-foreign-key", "high", c.adds_foreign_key,
         "Adds a foreign key: MySQL/MariaDB copy the whole table to add it (in place only with "
         "foreign_key_checks off), blocking writes until the copy ends.",
         "Add the field with db_constraint=False, " + _ONLINE_TOOL, MY),
    # -- medium -------------------------------------------------------------------------------
    Rule("add-field-default-dropped", "medium", c.fills_then_drops_default,
         "Django fills existing rows with the default but leaves the column without a database "
         "default: the migration works, but servers still running the old code insert rows "
         "without this column and fail on NOT NULL until the deploy ends.",
         "Use db_default (Django 5.0+) so the column keeps its default for the old code, or add "
         "it with null=True first and make it NOT NULL in a later release."),
    Rule("add-field-not-null-no-default", "medium", c.adds_not_null_without_default,
         "Adds a NOT NULL column without a default: the migration fails on a table that has "
         "rows.",
         "Add it with null=True (or a db_default), backfill, then make it NOT NULL.", PG | SQ),
    Rule("add-field-not-null-no-default", "medium", c.adds_not_null_without_default,
         "Adds a NOT NULL column without a default: MySQL/MariaDB fill existing rows with the "
         "type's implicit value (0, ''), and servers still running the old code fail their "
         "inserts in strict mode.",
         "Add it with null=True (or a db_default), backfill, then make it NOT NULL.", MY),
    Rule("add-foreign-key", "medium", c.adds_foreign_key,
         "Adds a foreign key, which PostgreSQL validates against every existing row while it "
         "blocks writes to both tables, and builds its index without CONCURRENTLY, blocking "
         "writes to the table.",
         "Add the field with db_constraint=False and db_index=False, add the index with "
         "AddIndexConcurrently, then the constraint NOT VALID and VALIDATE CONSTRAINT (RunSQL) "
         "in later migrations.", PG),
    Rule("add-unique", "medium", c.adds_unique_index,
         "Builds a unique index without CONCURRENTLY: PostgreSQL blocks writes to the table "
         "until it is built, and fails if rows hold duplicates.",
         "Remove duplicates, then build it with AddIndexConcurrently in a migration with "
         "atomic = False.", PG),
    Rule("add-unique", "medium", c.adds_unique,
         "Adds a unique index: MySQL/MariaDB build it in place while writes continue, but the "
         "migration fails if rows hold duplicates.",
         "Remove duplicates in an earlier migration.", MY),
    Rule("add-unique", "medium", c.adds_unique,
         "Adds a unique constraint: the migration fails if rows hold duplicates.",
         "Remove duplicates in an earlier migration.", SQ),
    Rule("add-indexed-field", "medium", c.adds_indexed_column,
         "Adds an indexed column: PostgreSQL builds the index without CONCURRENTLY, blocking "
         "writes to the table until it is built.",
         "Add the field with db_index=False, then the index with AddIndexConcurrently in a "
         "migration with atomic = False.", PG),
    Rule("add-index", "medium", c.adds_index,
         "Builds an index without CONCURRENTLY: PostgreSQL blocks writes to the table until it "
         "is built.",
         "Use AddIndexConcurrently in a migration with atomic = False.", PG),
    Rule("tighten-null", "medium", c.tightens_null,
         "Sets NOT NULL: MySQL/MariaDB rebuild the table in place (writes continue), and the "
         "migration fails if a row holds NULL.",
         "Backfill the NULLs in an earlier migration, then set null=False.", MY),
    Rule("tighten-null-backfill", "medium", c.tightens_null_after_backfill,
         "Fills the NULLs with the default in one UPDATE, then MySQL/MariaDB rebuild the table "
         "in place to set NOT NULL (writes continue).",
         "Backfill the NULLs in batches in an earlier migration, then set null=False.", MY),
    Rule("tighten-null", "medium", c.tightens_null,
         "Sets NOT NULL: SQLite rebuilds the table, and the migration fails if a row holds "
         "NULL.",
         "Backfill the NULLs in an earlier migration, then set null=False.", SQ),
    Rule("add-check-constraint", "medium", c.adds_check,
         "Adds a check constraint: SQLite rebuilds the table, and the migration fails if a row "
         "breaks it.",
         "Fix the rows that break it in an earlier migration.", SQ),
    Rule("run-python-no-reverse", "medium", c.run_python_without_reverse,
         "This migration cannot be rolled back: RunPython has no reverse_code.",
         "Pass reverse_code (migrations.RunPython.noop if nothing needs undoing)."),
    Rule("run-sql-no-reverse", "medium", c.run_sql_without_reverse,
         "This migration cannot be rolled back: RunSQL has no reverse_sql.",
         "Pass reverse_sql (migrations.RunSQL.noop if nothing needs undoing)."),
    Rule("non-atomic-migration", "medium", c.outside_a_needed_transaction,
         "The migration is not atomic: if a later statement fails, what ran before it stays "
         "applied and the migration is not recorded.",
         "Keep atomic = False for operations that need it (AddIndexConcurrently), in a "
         "migration of their own."),
    # -- low ----------------------------------------------------------------------------------
    Rule("alter-field-widen", "low", c.widens_column,
         "Widens the column: PostgreSQL only updates its catalog (no rewrite, no scan), under "
         "an ACCESS EXCLUSIVE lock held for a moment.", NOTHING, PG),
    Rule("alter-field-widen", "low", c.widens_column,
         "Widens the varchar in place: InnoDB keeps the rows as they are (utf8mb4), so "
         "MySQL/MariaDB copy nothing.", NOTHING, MY),
    Rule("sqlite-table-rebuild", "low", c.sqlite_rebuilds,
         "SQLite rebuilds the table: it copies every row into a new one inside the migration's "
         "transaction.",
         "Nothing to change for SQLite; plan on your production engine (--database-url) to "
         "judge it there.", SQ),
    Rule("index-concurrently", "low", c.runs_concurrently,
         "Builds or drops the index CONCURRENTLY: writes continue while it runs.",
         "Nothing to change; if it fails, drop the INVALID index it leaves before running it "
         "again.", PG),
    Rule("new-field-db-default", "low", c.adds_column_with_db_default,
         "Adds a column that keeps its database default, so the old code's inserts still work.",
         NOTHING),
    Rule("new-nullable-field", "low", c.adds_nullable_column,
         "Adds a nullable column; old code ignores it.", NOTHING),
    Rule("new-m2m-field", "low", c.adds_many_to_many,
         "Adds a many-to-many table; old code ignores it.", NOTHING),
    Rule("new-field", "low", c.adds_field_to_new_table,
         "Adds a column to a table this change creates.", NOTHING),
    Rule("new-model", "low", c.creates_model,
         "Adds a table that old code ignores.", NOTHING),
    Rule("new-index-new-table", "low", c.indexes_new_table,
         "Indexes a table this change creates; it holds no rows yet.", NOTHING),
)


def assess(facts: OperationFacts, rules: tuple[Rule, ...] = RULES) -> Risk | None:
    """The first rule that applies to the operation on its engine, as a Risk, or None.

    A SeparateDatabaseAndState gets the highest risk of its database operations: its state
    operations run no SQL.
    """
    if facts.kind == "SeparateDatabaseAndState":
        risks = [r for r in (assess(inner, rules) for inner in facts.inner) if r is not None]
        return min(risks, key=lambda r: LEVELS.index(r.level), default=None)
    for rule in rules:
        if rule.speaks_for(facts.vendor) and rule.applies(facts):
            return Risk(rule.id, rule.level, rule.reason, rule.safer)
    return None


def find_matching_rules(facts: OperationFacts, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """Every rule that applies on the operation's engine, in table order (the reader sees only
    the first)."""
    return [r.id for r in rules if r.speaks_for(facts.vendor) and r.applies(facts)]


def rule_ids(rules: tuple[Rule, ...] = RULES) -> list[str]:
    """Each rule id once, in table order."""
    return list(dict.fromkeys(rule.id for rule in rules))
