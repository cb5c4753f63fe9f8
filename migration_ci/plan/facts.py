"""What the risk rules read about one operation: the field before and after, and its SQL.

Pure records, built from what the worker observed on the plan over the base state
(``worker.plan.FactsCollector``); ``OperationFacts.from_dict`` reads that JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FieldFacts:
    """A field as the database sees it, before or after an operation."""

    null: bool = False
    default: bool = False  # a Python-side default
    db_default: bool = False
    unique: bool = False
    db_index: bool = False
    db_type: str | None = None  # None: no column (ManyToManyField)
    # Django writes a value into existing rows when it adds the column: a default, "" for a
    # blank text field, now() for auto_now (BaseDatabaseSchemaEditor._effective_default).
    filled: bool = False
    foreign_key: bool = False  # a ForeignKey/OneToOneField with a database constraint

    @property
    def has_default(self) -> bool:
        return self.default or self.db_default

    @property
    def has_column(self) -> bool:
        return self.db_type is not None


@dataclass(frozen=True)
class OperationFacts:
    """What the rules read about one operation, as observed on the plan over the base state."""

    kind: str
    vendor: str = "sqlite"
    mariadb: bool = False  # vendor "mysql" is MySQL or MariaDB; they differ on in-place DDL
    atomic: bool = True  # the migration's ``atomic``
    migration_size: int = 1  # operations in the migration
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
    # The statements this operation alone runs on the engine (what sqlmigrate prints under its
    # heading, deferred SQL included); None when they could not be generated.
    statements: tuple[str, ...] | None = None
    no_transaction: bool = False  # must run outside a transaction (AddIndexConcurrently)
    inner: tuple[OperationFacts, ...] = ()  # SeparateDatabaseAndState's database operations

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationFacts:
        simple = {k: v for k, v in data.items() if k in _SIMPLE_FIELDS and v is not None}
        statements = data.get("statements")
        return cls(
            **simple,
            before=_field_facts(data.get("before")),
            after=_field_facts(data.get("after")),
            unique_together_before=_together(data.get("unique_together_before")),
            unique_together_after=_together(data.get("unique_together_after")),
            statements=None if statements is None else tuple(str(s) for s in statements),
            inner=tuple(cls.from_dict(item) for item in data.get("inner") or ()),
        )

    @property
    def on_existing_table(self) -> bool:
        return self.table_exists and self.managed


_SIMPLE_FIELDS = frozenset(
    {"kind", "vendor", "mariadb", "atomic", "migration_size", "model", "field", "table_exists",
     "managed", "has_reverse", "sql", "constraint", "no_transaction"}
)
_FIELD_KEYS = frozenset(f.name for f in fields(FieldFacts))


def _field_facts(value: Mapping[str, Any] | None) -> FieldFacts | None:
    if value is None:
        return None
    return FieldFacts(**{k: v for k, v in value.items() if k in _FIELD_KEYS})


def _together(value: Any) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(fields) for fields in value or ())
