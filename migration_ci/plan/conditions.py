"""When each risk rule applies: predicates over an operation's facts and its SQL.

Pure. Each predicate reads the operation (what Django was asked to do) and the statements the
engine runs for it (``OperationFacts.statements``), so a rule fires only when the SQL that its
reason describes is really there: a state-only change (no statements) matches nothing.
"""

from __future__ import annotations

import re

from migration_ci.plan import sqlfacts as sql
from migration_ci.plan.facts import FieldFacts, OperationFacts

POSTGRESQL, MYSQL, SQLITE = "postgresql", "mysql", "sqlite"


def _runs_sql(f: OperationFacts) -> bool:
    return bool(f.statements)


def _may_run(f: OperationFacts, pattern: re.Pattern[str] | None = None) -> bool:
    """The SQL does this, or could not be generated (e.g. introspection of a table the plan's
    empty database lacks): data loss and renames are then judged on the operation alone."""
    if f.statements is None:
        return True
    return sql.matches(pattern, f.statements) if pattern is not None else bool(f.statements)


def _altered(f: OperationFacts) -> tuple[FieldFacts, FieldFacts] | None:
    """Before and after of an AlterField on a table that existed at the base."""
    if f.kind != "AlterField" or not f.on_existing_table or f.before is None or f.after is None:
        return None
    return f.before, f.after


def _added(f: OperationFacts) -> FieldFacts | None:
    """The new field of an AddField that adds a column to a table that existed at the base."""
    after = f.after
    if f.kind != "AddField" or not f.on_existing_table or after is None or not after.has_column:
        return None
    return after


# -- data loss and renames ----------------------------------------------------------------------

def removes_field(f: OperationFacts) -> bool:
    return f.kind == "RemoveField" and f.on_existing_table and _may_run(f)


def deletes_model(f: OperationFacts) -> bool:
    return f.kind == "DeleteModel" and f.on_existing_table and _may_run(f, sql.DROP_TABLE)


def runs_destructive_sql(f: OperationFacts) -> bool:
    return f.kind == "RunSQL" and bool(sql.DESTRUCTIVE.search(f.sql))


def renames_column(f: OperationFacts) -> bool:
    return f.kind == "RenameField" and f.on_existing_table and _may_run(f, sql.RENAME_COLUMN)


def renames_table(f: OperationFacts) -> bool:
    return f.kind in {"RenameModel", "AlterModelTable"} and f.on_existing_table and _may_run(
        f, sql.RENAME_TABLE)


# -- column types ---------------------------------------------------------------------------------

def _type_change(f: OperationFacts) -> tuple[str | None, str | None] | None:
    fields = _altered(f)
    if fields is None or fields[0].db_type == fields[1].db_type:
        return None
    return fields[0].db_type, fields[1].db_type


def rewrites_column_type(f: OperationFacts) -> bool:
    """PostgreSQL: ALTER COLUMN ... TYPE that is not a binary-coercible widening."""
    change = _type_change(f)
    return change is not None and sql.matches(sql.PG_ALTER_TYPE, f.statements) and (
        not sql.is_postgres_catalog_only(*change))


def copies_for_column_type(f: OperationFacts) -> bool:
    """MySQL/MariaDB: MODIFY to a type InnoDB cannot change in place."""
    change = _type_change(f)
    return change is not None and sql.matches(sql.MYSQL_MODIFY, f.statements) and (
        not sql.is_mysql_in_place(*change, mariadb=f.mariadb))


def widens_column(f: OperationFacts) -> bool:
    change = _type_change(f)
    if change is None or not _runs_sql(f):
        return False
    if f.vendor == MYSQL:
        return sql.is_mysql_in_place(*change, mariadb=f.mariadb)
    return sql.is_postgres_catalog_only(*change)


def sqlite_rebuilds(f: OperationFacts) -> bool:
    return _altered(f) is not None and sql.matches(sql.SQLITE_REBUILD, f.statements)


# -- NOT NULL ---------------------------------------------------------------------------------

def _tightened(f: OperationFacts) -> bool:
    fields = _altered(f)
    return fields is not None and fields[0].null and not fields[1].null


def _backfills(f: OperationFacts) -> bool:
    # With a default Django first updates the NULL rows (BaseDatabaseSchemaEditor._alter_field,
    # "four-way default alteration"); SQLite copies them through coalesce(column, default).
    if f.vendor == SQLITE:
        return any("coalesce(" in s and ", NULL)" not in s for s in f.statements or ())
    return sql.matches(sql.BACKFILL_NULLS, f.statements)


def _not_null_sql(f: OperationFacts) -> bool:
    pattern = {POSTGRESQL: sql.SET_NOT_NULL, MYSQL: sql.MYSQL_MODIFY}.get(f.vendor,
                                                                          sql.SQLITE_REBUILD)
    return sql.matches(pattern, f.statements)


def tightens_null(f: OperationFacts) -> bool:
    return _tightened(f) and _not_null_sql(f) and not _backfills(f)


def tightens_null_after_backfill(f: OperationFacts) -> bool:
    return _tightened(f) and _not_null_sql(f) and _backfills(f)


def fills_then_drops_default(f: OperationFacts) -> bool:
    """AddField NOT NULL whose value Django writes into existing rows but not into the column."""
    after = _added(f)
    if after is None or after.null or not after.filled or after.db_default:
        return False
    if f.vendor == SQLITE:
        return sql.matches(sql.SQLITE_REBUILD, f.statements)
    return sql.matches(sql.DROP_DEFAULT, f.statements) or sql.matches(sql.FILL_UPDATE,
                                                                      f.statements)


def adds_not_null_without_default(f: OperationFacts) -> bool:
    after = _added(f)
    return (after is not None and not after.null and not after.filled and not after.db_default
            and _runs_sql(f))


# -- indexes and constraints ----------------------------------------------------------------------

def adds_foreign_key(f: OperationFacts) -> bool:
    after = _added(f)
    return after is not None and after.foreign_key and sql.matches(sql.FOREIGN_KEY, f.statements)


def adds_indexed_column(f: OperationFacts) -> bool:
    """PostgreSQL: a new db_index/unique column whose index is built without CONCURRENTLY."""
    after = _added(f)
    return after is not None and (after.db_index or after.unique) and (
        sql.matches(sql.CREATE_INDEX, f.statements) or sql.matches(sql.UNIQUE, f.statements))


def _adds_unique(f: OperationFacts) -> bool:
    if not f.on_existing_table or not sql.matches(sql.UNIQUE, f.statements):
        return False
    fields = _altered(f)
    if fields is not None:
        return fields[1].unique and not fields[0].unique
    if f.kind == "AlterUniqueTogether":
        return bool(f.unique_together_after - f.unique_together_before)
    if f.kind == "AddField" and f.after is not None:
        # NULLs are never duplicates: only a column filled with one value for every row can be.
        return f.after.unique and f.after.filled and not f.after.null
    return f.kind == "AddConstraint" and f.constraint == "UniqueConstraint"


def adds_unique_in_alter_table(f: OperationFacts) -> bool:
    """PostgreSQL builds the index inside ALTER TABLE (ACCESS EXCLUSIVE)."""
    return (_adds_unique(f) or _added_unique_column(f)) and not sql.matches(sql.CREATE_INDEX,
                                                                             _unique(f))


def adds_unique_index(f: OperationFacts) -> bool:
    """CREATE UNIQUE INDEX (a conditional UniqueConstraint, SQLite's unique_together)."""
    return _adds_unique(f) and sql.matches(sql.CREATE_INDEX, _unique(f))


def adds_unique(f: OperationFacts) -> bool:
    return _adds_unique(f)


def _added_unique_column(f: OperationFacts) -> bool:
    after = _added(f)
    return after is not None and after.unique and sql.matches(sql.UNIQUE, f.statements)


def _unique(f: OperationFacts) -> tuple[str, ...]:
    return tuple(s for s in f.statements or () if sql.UNIQUE.search(s))


def adds_index(f: OperationFacts) -> bool:
    """PostgreSQL: CREATE INDEX without CONCURRENTLY on a table that existed at the base."""
    if not f.on_existing_table or not sql.matches(sql.CREATE_INDEX, f.statements):
        return False
    fields = _altered(f)
    if fields is not None:
        return fields[1].db_index and not fields[0].db_index
    return f.kind in {"AddIndex", "AlterIndexTogether"}


def adds_check(f: OperationFacts) -> bool:
    if f.kind != "AddConstraint" or f.constraint != "CheckConstraint" or not f.on_existing_table:
        return False
    if f.vendor == SQLITE:
        return sql.matches(sql.SQLITE_REBUILD, f.statements)
    return sql.matches(sql.CHECK, f.statements) and not sql.matches(sql.NOT_VALID, f.statements)


def runs_concurrently(f: OperationFacts) -> bool:
    return f.no_transaction and sql.matches(sql.CONCURRENTLY, f.statements)


# -- code and transactions --------------------------------------------------------------------

def run_python_without_reverse(f: OperationFacts) -> bool:
    return f.kind == "RunPython" and f.has_reverse is False


def run_sql_without_reverse(f: OperationFacts) -> bool:
    return f.kind == "RunSQL" and f.has_reverse is False


def outside_a_needed_transaction(f: OperationFacts) -> bool:
    # Operations that must run outside a transaction are why atomic = False exists; a single
    # operation cannot stop halfway through the others.
    return not f.atomic and not f.no_transaction and f.migration_size > 1


# -- additions old code ignores ---------------------------------------------------------------

def adds_nullable_column(f: OperationFacts) -> bool:
    after = _added(f)
    return after is not None and after.null


def adds_column_with_db_default(f: OperationFacts) -> bool:
    after = _added(f)
    return after is not None and after.db_default and not sql.matches(sql.DROP_DEFAULT,
                                                                      f.statements)


def adds_field_to_new_table(f: OperationFacts) -> bool:
    return f.kind == "AddField" and f.after is not None and not f.on_existing_table


def adds_many_to_many(f: OperationFacts) -> bool:
    return f.kind == "AddField" and f.after is not None and not f.after.has_column


def creates_model(f: OperationFacts) -> bool:
    return f.kind == "CreateModel"


def indexes_new_table(f: OperationFacts) -> bool:
    return f.kind in {"AddIndex", "AddIndexConcurrently"} and not f.table_exists
