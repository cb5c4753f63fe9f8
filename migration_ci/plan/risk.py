"""Risk levels of migration operations: the rules are data, one row per rule in ``RULES``.

Levels follow the high/medium/low scale of the Django deployment guides: high loses data or
rewrites/locks a whole table, medium can fail or lock on existing rows, low only adds.
An operation gets the first rule that applies, so ``RULES`` is ordered high to low.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class FieldFacts:
    """A field as the database sees it, before or after an operation."""

    null: bool = False
    default: bool = False  # a Python-side default
    db_default: bool = False
    unique: bool = False
    db_index: bool = False
    db_type: str | None = None  # None: no column (ManyToManyField)

    @property
    def has_default(self) -> bool:
        return self.default or self.db_default


@dataclass(frozen=True)
class OperationFacts:
    """What the rules read about one operation, as observed on the plan over the base state."""

    kind: str
    vendor: str = "sqlite"
    atomic: bool = True  # the migration's ``atomic``
    model: str | None = None
    field: str | None = None
    table_exists: bool = False  # the model's table existed at the base state
    managed: bool = True
    before: FieldFacts | None = None
    after: FieldFacts | None = None
    has_reverse: bool | None = None  # RunPython / RunSQL only
    sql: str = ""  # RunSQL's forward SQL
    constraint: str | None = None  # AddConstraint's constraint class
    unique_together_before: frozenset[tuple[str, ...]] = frozenset()
    unique_together_after: frozenset[tuple[str, ...]] = frozenset()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationFacts:
        def field_facts(value: Mapping[str, Any] | None) -> FieldFacts | None:
            return FieldFacts(**value) if value is not None else None

        def together(value: Any) -> frozenset[tuple[str, ...]]:
            return frozenset(tuple(fields) for fields in value or ())

        simple = {k: v for k, v in data.items() if k in _SIMPLE_FIELDS and v is not None}
        return cls(
            **simple,
            before=field_facts(data.get("before")),
            after=field_facts(data.get("after")),
            unique_together_before=together(data.get("unique_together_before")),
            unique_together_after=together(data.get("unique_together_after")),
        )

    @property
    def on_existing_table(self) -> bool:
        return self.table_exists and self.managed


_SIMPLE_FIELDS = frozenset(
    {"kind", "vendor", "atomic", "model", "field", "table_exists", "managed", "has_reverse",
     "sql", "constraint"}
)


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    applies: Callable[[OperationFacts], bool]
    reason: str
    safer: str


@dataclass(frozen=True)
class Risk:
    rule: str
    level: Level
    reason: str
    safer: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "reason": self.reason, "safer": self.safer, "rule": self.rule}


DESTRUCTIVE_SQL = re.compile(r"\b(DROP|TRUNCATE)\b", re.IGNORECASE)


def _type_changed(f: OperationFacts) -> bool:
    return (
        f.kind == "AlterField" and f.on_existing_table and f.before is not None
        and f.after is not None and f.before.db_type != f.after.db_type
    )


def _not_null_without_default(f: OperationFacts) -> bool:
    after = f.after
    return (
        f.kind == "AddField" and f.on_existing_table and after is not None
        and after.db_type is not None and not after.null and not after.has_default
    )


def _null_tightened(f: OperationFacts) -> bool:
    before, after = f.before, f.after
    return (
        f.kind == "AlterField" and f.on_existing_table and before is not None
        and after is not None and before.null and not after.null
    )


def _unique_added(f: OperationFacts) -> bool:
    if not f.on_existing_table:
        return False
    if f.kind == "AlterField" and f.before is not None and f.after is not None:
        return f.after.unique and not f.before.unique
    if f.kind == "AlterUniqueTogether":
        return bool(f.unique_together_after - f.unique_together_before)
    return f.kind == "AddConstraint" and f.constraint == "UniqueConstraint"


def _index_without_concurrently(f: OperationFacts) -> bool:
    # AddIndexConcurrently is the safe form and is deliberately not matched.
    if f.vendor != "postgresql" or not f.on_existing_table:
        return False
    if f.kind == "AddIndex":
        return True
    if f.kind in {"AddField", "AlterField"} and f.after is not None:
        return f.after.db_index and (f.before is None or not f.before.db_index)
    return False


def _new_nullable_field(f: OperationFacts) -> bool:
    return f.kind == "AddField" and f.after is not None and (
        f.after.null or f.after.db_type is None or not f.on_existing_table
    )


def _new_field_with_default(f: OperationFacts) -> bool:
    return f.kind == "AddField" and f.after is not None and f.after.has_default


RULES: tuple[Rule, ...] = (
    Rule("remove-field", "high", lambda f: f.kind == "RemoveField" and f.on_existing_table,
         "Dropping a column loses its data, and servers still running the old code will "
         "query it.",
         "Deploy code that no longer uses the field first, then remove it in a later release."),
    Rule("delete-model", "high", lambda f: f.kind == "DeleteModel" and f.on_existing_table,
         "Dropping a table loses its data, and servers still running the old code will query it.",
         "Deploy code that no longer uses the model first, then delete it in a later release."),
    Rule("run-sql-destructive", "high",
         lambda f: f.kind == "RunSQL" and bool(DESTRUCTIVE_SQL.search(f.sql)),
         "Raw SQL that drops or truncates cannot be undone by a rollback of the code.",
         "Back up the data first and drop in a later release, once nothing reads it."),
    Rule("alter-field-type", "high", _type_changed,
         "Changing a column's type rewrites or locks the table and can fail on existing values.",
         "Add a new column, backfill it in batches, switch the code, then drop the old one."),
    Rule("rename-field", "high", lambda f: f.kind == "RenameField" and f.on_existing_table,
         "Servers still running the old code query the old column name and fail.",
         "Add a new field, copy the data, switch the code, then remove the old field; "
         "or keep the column with db_column."),
    Rule("rename-model", "high", lambda f: f.kind == "RenameModel" and f.on_existing_table,
         "Servers still running the old code query the old table name and fail.",
         "Keep the table name with Meta.db_table, or rename in a release of its own."),
    Rule("add-field-not-null-no-default", "medium", _not_null_without_default,
         "Adding a NOT NULL column without a default fails on a table that has rows.",
         "Add it with null=True (or a db_default), backfill, then make it NOT NULL."),
    Rule("tighten-null", "medium", _null_tightened,
         "Making a column NOT NULL fails if any row holds NULL, and scans the table.",
         "Backfill the NULLs in an earlier migration, then set null=False."),
    Rule("add-unique", "medium", _unique_added,
         "Adding a unique constraint fails on existing duplicates and locks the table while "
         "it builds.",
         "Remove duplicates first; on PostgreSQL build the unique index CONCURRENTLY, then "
         "attach it."),
    Rule("postgres-index-not-concurrent", "medium", _index_without_concurrently,
         "Creating an index on an existing PostgreSQL table blocks writes while it builds.",
         "Use AddIndexConcurrently in a migration with atomic = False."),
    Rule("run-python-no-reverse", "medium",
         lambda f: f.kind == "RunPython" and f.has_reverse is False,
         "This migration cannot be rolled back: RunPython has no reverse_code.",
         "Pass reverse_code (migrations.RunPython.noop if nothing needs undoing)."),
    Rule("run-sql-no-reverse", "medium",
         lambda f: f.kind == "RunSQL" and f.has_reverse is False,
         "This migration cannot be rolled back: RunSQL has no reverse_sql.",
         "Pass reverse_sql (migrations.RunSQL.noop if nothing needs undoing)."),
    Rule("non-atomic-migration", "medium", lambda f: not f.atomic,
         "The migration is not atomic: a failure halfway leaves the schema half changed.",
         "Keep atomic = False migrations to a single operation that is safe to retry."),
    Rule("new-nullable-field", "low", _new_nullable_field,
         "Adds a column that old code ignores.", "Nothing to change."),
    Rule("new-field-with-default", "low", _new_field_with_default,
         "Adds a column with a default; old code ignores it.",
         "Nothing to change; keep the default cheap to compute (a constant)."),
    Rule("new-model", "low", lambda f: f.kind == "CreateModel",
         "Adds a table that old code ignores.", "Nothing to change."),
    Rule("new-index-new-table", "low",
         lambda f: f.kind in {"AddIndex", "AddIndexConcurrently"} and not f.table_exists,
         "Indexes a table this change creates; it holds no rows yet.", "Nothing to change."),
)


def assess(facts: OperationFacts, rules: tuple[Rule, ...] = RULES) -> Risk | None:
    """The first rule that applies to the operation, as a Risk, or None."""
    for rule in rules:
        if rule.applies(facts):
            return Risk(rule.id, rule.level, rule.reason, rule.safer)
    return None


def find_matching_rules(facts: OperationFacts, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """Every rule that applies, in table order (the reader sees only the first)."""
    return [rule.id for rule in rules if rule.applies(facts)]
