"""What the risk rules read about each planned operation, observed inside the user's project.

Runs in the worker. The base state is rendered once and moved forward operation by operation,
as ``migrate`` does, so field types come from ``field.db_type(connection)`` on real model
classes, and each operation's own SQL is collected the way ``sqlmigrate`` collects a
migration's (``Migration.apply`` with ``collect_sql=True``), deferred statements included.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations import (
    AddField,
    CreateModel,
    DeleteModel,
    RenameField,
    RenameModel,
    RunPython,
    RunSQL,
    SeparateDatabaseAndState,
)
from django.db.migrations.operations.fields import FieldOperation
from django.db.migrations.operations.models import ModelOperation
from django.db.migrations.state import ProjectState


class FactsCollector:
    """Walks the plan's operations over the base state, noting what the risk rules read."""

    def __init__(self, connection: Any, base_state: ProjectState) -> None:
        self.connection = connection
        self.state = base_state
        self.existing = {key for key, model in base_state.models.items() if has_table(model)}

    def observe(self, migration: Any, operation: Any) -> dict[str, Any]:
        facts = self.observe_on(self.state, migration.app_label, operation, migration.atomic)
        facts["migration_size"] = len(migration.operations)
        self.track_tables(migration.app_label, operation)
        return facts

    def observe_on(
        self, state: ProjectState, app: str, operation: Any, atomic: bool
    ) -> dict[str, Any]:
        """Facts of ``operation`` applied to ``state``, which it moves forward."""
        model, field = get_model_name(operation), get_field_name(operation)
        facts: dict[str, Any] = {
            "kind": type(operation).__name__,
            "vendor": self.connection.vendor,
            "mariadb": bool(getattr(self.connection, "mysql_is_mariadb", False)),
            "atomic": bool(atomic),
            "model": model,
            "field": field,
            "table_exists": (app, model) in self.existing,
            "managed": is_managed(state, app, model),
            "before": self.get_field_facts(state, app, model, field),
            "unique_together_before": get_unique_together(state, app, model),
            "no_transaction": needs_no_transaction(operation),
            **describe_special(operation),
        }
        from_state = state.clone()
        operation.state_forwards(app, state)
        facts["statements"] = self.collect_statements(app, operation, from_state, state)
        if isinstance(operation, SeparateDatabaseAndState):
            scratch = from_state.clone()
            facts["inner"] = [self.observe_on(scratch, app, inner, atomic)
                              for inner in operation.database_operations]
        new_model = operation.new_name_lower if isinstance(operation, RenameModel) else model
        new_field = operation.new_name_lower if isinstance(operation, RenameField) else field
        facts["after"] = self.get_field_facts(state, app, new_model, new_field)
        if facts["after"] is not None and isinstance(operation, AddField):
            # preserve_default=False: the state drops the default, but the column is added
            # with it, so existing rows are filled (makemigrations' one-off default).
            facts["after"].update(describe_new_field(operation.field))
        facts["unique_together_after"] = get_unique_together(state, app, new_model)
        return facts

    def collect_statements(
        self, app: str, operation: Any, from_state: ProjectState, to_state: ProjectState
    ) -> list[str] | None:
        """What ``sqlmigrate`` prints under this operation's heading; None when it cannot say.

        Operations that run Python are skipped exactly as ``Migration.apply`` skips them when
        collecting SQL: their code must not run here.
        """
        if not operation.reduces_to_sql:
            return None
        try:
            with self.connection.schema_editor(collect_sql=True, atomic=False) as editor:
                operation.database_forwards(app, editor, from_state, to_state)
        # As in collect_sql: user operations and third-party backends may raise anything; the
        # rules then judge the operation without its SQL.
        except Exception:
            return None
        return [str(statement) for statement in editor.collected_sql]

    def get_field_facts(
        self, state: ProjectState, app: str, model: str | None, name: str | None
    ) -> dict[str, Any] | None:
        model_state = state.models.get((app, model))
        if model_state is None or name is None or name not in model_state.fields:
            return None
        field = state.apps.get_model(app, model)._meta.get_field(name)
        return {
            "null": bool(field.null),
            "default": bool(field.has_default()),
            "db_default": has_db_default(field),
            "unique": bool(field.unique),
            "db_index": bool(field.db_index),
            "db_type": field.db_type(self.connection),
            "filled": is_filled(field),
            "foreign_key": is_foreign_key(field),
        }

    def track_tables(self, app: str, operation: Any) -> None:
        """Tables that existed at the base keep existing through renames; new ones do not."""
        model = get_model_name(operation)
        if isinstance(operation, DeleteModel | CreateModel):
            self.existing.discard((app, model))
        elif isinstance(operation, RenameModel) and (app, model) in self.existing:
            self.existing.add((app, operation.new_name_lower))


def describe_new_field(field: Any) -> dict[str, Any]:
    """What AddField's own field says about the rows it fills (its state may have lost the
    default: preserve_default=False)."""
    return {"default": bool(field.has_default()), "filled": is_filled(field)}


def has_db_default(field: Any) -> bool:
    return bool(getattr(field, "has_db_default", lambda: False)())  # Django 5.0+


def is_filled(field: Any) -> bool:
    """Django writes a value into existing rows when it adds this column NOT NULL."""
    if field.null or has_db_default(field) or field.many_to_many:
        return False
    return BaseDatabaseSchemaEditor._effective_default(field) is not None


def is_foreign_key(field: Any) -> bool:
    return bool(field.remote_field is not None and not field.many_to_many
                and getattr(field, "db_constraint", False))


def needs_no_transaction(operation: Any) -> bool:
    """django.contrib.postgres' NotInTransactionMixin (AddIndexConcurrently, ...), by name, so
    that the worker does not import contrib.postgres (and psycopg) on other engines."""
    return any(cls.__name__ == "NotInTransactionMixin" for cls in type(operation).__mro__)


def is_managed(state: ProjectState, app: str, model: str | None) -> bool:
    model_state = state.models.get((app, model))
    return model_state is None or has_table(model_state)


def has_table(model_state: Any) -> bool:
    options = model_state.options
    return bool(options.get("managed", True)) and not options.get("proxy", False)


def get_unique_together(state: ProjectState, app: str, model: str | None) -> list[list[str]]:
    model_state = state.models.get((app, model))
    together = model_state.options.get("unique_together", ()) if model_state else ()
    return sorted(sorted(fields) for fields in together)


def get_model_name(operation: Any) -> str | None:
    if isinstance(operation, ModelOperation):
        return str(operation.name_lower)
    name = getattr(operation, "model_name_lower", None)
    return str(name) if name is not None else None


def get_field_name(operation: Any) -> str | None:
    return str(operation.name_lower) if isinstance(operation, FieldOperation) else None


def describe_special(operation: Any) -> dict[str, Any]:
    """Facts only some operations have: reverse code, raw SQL text, the constraint's class."""
    if isinstance(operation, RunSQL):
        return {"has_reverse": operation.reverse_sql is not None, "sql": sql_text(operation.sql)}
    if isinstance(operation, RunPython):
        return {"has_reverse": operation.reverse_code is not None}
    constraint = getattr(operation, "constraint", None)
    if constraint is not None:
        return {"constraint": type(constraint).__name__}
    return {}


def sql_text(sql: Any) -> str:
    if isinstance(sql, str):
        return sql
    parts = [item[0] if isinstance(item, list | tuple) else item for item in sql]
    return "\n".join(str(part) for part in parts)
