"""What the SQL of one operation says: the statements ``sqlmigrate`` prints for it, per engine.

Pure. The patterns match the statements Django's schema editors write
(``django/db/backends/{postgresql,mysql,sqlite3}/schema.py``); the column-type rules say when a
type change is only a catalog change, measured on the servers by ``tests/test_risk_sql.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_FLAGS = re.IGNORECASE | re.DOTALL

DROP_DEFAULT = re.compile(r"\bALTER\s+COLUMN\s+\S+\s+DROP\s+DEFAULT\b", _FLAGS)
# MySQL without default support for the type (TEXT/BLOB before 8.0.13) fills rows with an
# UPDATE instead (mysql/schema.py: DatabaseSchemaEditor.add_field).
FILL_UPDATE = re.compile(r"^\s*UPDATE\s", _FLAGS | re.MULTILINE)
BACKFILL_NULLS = re.compile(r"^\s*UPDATE\s.*\bIS\s+NULL\b", _FLAGS | re.MULTILINE)
CREATE_INDEX = re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)", _FLAGS)
CONCURRENTLY = re.compile(r"\b(?:CREATE|DROP)\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b", _FLAGS)
UNIQUE = re.compile(r"\bUNIQUE\b", _FLAGS)
FOREIGN_KEY = re.compile(r"\bREFERENCES\b", _FLAGS)
CHECK = re.compile(r"\bADD\s+CONSTRAINT\s+\S+\s+CHECK\b", _FLAGS)
NOT_VALID = re.compile(r"\bNOT\s+VALID\b", _FLAGS)
PG_ALTER_TYPE = re.compile(r"\bALTER\s+COLUMN\s+\S+\s+TYPE\b", _FLAGS)
MYSQL_MODIFY = re.compile(r"\bMODIFY\s", _FLAGS)
SET_NOT_NULL = re.compile(r"\bSET\s+NOT\s+NULL\b", _FLAGS)
SQLITE_REBUILD = re.compile(r'\bCREATE\s+TABLE\s+"new__', _FLAGS)
RENAME_COLUMN = re.compile(r"\bRENAME\s+COLUMN\b", _FLAGS)
RENAME_TABLE = re.compile(r"\bRENAME\s+TO\b|\bRENAME\s+TABLE\b", _FLAGS)
DROP_TABLE = re.compile(r"\bDROP\s+TABLE\b", _FLAGS)
DESTRUCTIVE = re.compile(r"\bTRUNCATE\b|\bDROP\s+(?:TABLE|COLUMN|SCHEMA|DATABASE)\b", _FLAGS)

_SIZED = re.compile(
    r"^\s*(varchar|character varying|numeric|decimal)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$",
    re.IGNORECASE,
)
# utf8mb4, the character set Django's MySQL notes recommend, takes up to 4 bytes a character.
# InnoDB stores a VARCHAR's length in 1 byte up to 255 bytes, else 2; MySQL widens in place only
# while that prefix keeps its size (MySQL manual: "Online DDL Operations", VARCHAR size).
# MariaDB also widens in place from up to 127 bytes, whose lengths fit 1 byte in both formats
# (measured on MariaDB 10.11 by tests/test_risk_sql.py).
MYSQL_BYTES_PER_CHAR = 4
MYSQL_ONE_BYTE_PREFIX = 255
MARIADB_SHORT_BYTES = 127


def matches(pattern: re.Pattern[str], statements: Sequence[str] | None) -> bool:
    return statements is not None and any(pattern.search(s) for s in statements)


def parse_type(db_type: str | None) -> tuple[str, int | None, int | None] | None:
    """``varchar(100)`` -> ``("varchar", 100, None)``; ``numeric(10, 2)`` ->
    ``("numeric", 10, 2)``; None for any other type."""
    found = _SIZED.match(db_type or "")
    if found is None:
        return None
    kind = "varchar" if found.group(1).lower() in ("varchar", "character varying") else "numeric"
    size, scale = found.group(2), found.group(3)
    return kind, int(size) if size else None, int(scale) if scale else None


def is_widening(before: str | None, after: str | None) -> bool:
    """A longer varchar (or text), or more digits at the same scale: no value can fail."""
    old, new = parse_type(before), parse_type(after)
    if old is None:
        return False
    if old[0] == "varchar" and (after or "").strip().lower() == "text":
        return True
    if new is None or new[0] != old[0] or old[1] is None:
        return False
    return (new[1] is None or new[1] >= old[1]) and new[2] == old[2]


def is_postgres_catalog_only(before: str | None, after: str | None) -> bool:
    """PostgreSQL skips the rewrite for binary-coercible widenings (ALTER TABLE docs, Notes)."""
    return is_widening(before, after)


def is_mysql_in_place(before: str | None, after: str | None, *, mariadb: bool = False) -> bool:
    """InnoDB widens a VARCHAR in place while its length prefix keeps its size; every other
    type change, DECIMAL precision included, copies the table."""
    old, new = parse_type(before), parse_type(after)
    if not is_widening(before, after) or old is None or new is None or old[0] != "varchar":
        return False
    if old[1] is None or new[1] is None:
        return False
    if mariadb and old[1] * MYSQL_BYTES_PER_CHAR <= MARIADB_SHORT_BYTES:
        return True
    return _one_byte_prefix(old[1]) == _one_byte_prefix(new[1])


def _one_byte_prefix(length: int) -> bool:
    return length * MYSQL_BYTES_PER_CHAR <= MYSQL_ONE_BYTE_PREFIX
