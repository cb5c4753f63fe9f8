"""Throwaway databases: created with a unique name, marked as ours, always dropped.

SQLite gets a file in a new temporary directory. PostgreSQL (psycopg 3) and MySQL/MariaDB
(mysqlclient) get ``CREATE DATABASE test_<name>_<run id>`` on the configured server, issued
from the server's maintenance database, the way Django's test runner names its ``test_*``
databases. The configured database itself is never created, written or dropped here.
Talking to the servers (CREATE, DROP, dumps) is ``migration_ci.databases.servers``; the marker
names the run's owner, so that databases left by killed runs are found and dropped
(``migration_ci.databases.leftovers``).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url

from migration_ci.databases.leftovers import (
    SAME_HOST_GRACE,
    Leftover,
    drop_stale,
    this_process,
)
from migration_ci.databases.servers import MARKER, Server, connect_server
from migration_ci.errors import DatabaseError

_ENGINE_VENDORS = (
    ("postgis", "postgresql"), ("postgresql", "postgresql"), ("psycopg", "postgresql"),
    ("mysql", "mysql"), ("sqlite", "sqlite"), ("spatialite", "sqlite"),
)
_RUN_ID = re.compile(r"^[0-9a-z]{1,16}$")


@dataclass(frozen=True)
class DatabaseChoice:
    """``--database-url`` (wins when given), else the project's own ``DATABASES[ALIAS]``:
    ``--database ALIAS``, or ``default`` when neither is given."""

    url: str | None = field(default=None, repr=False)  # may hold a password
    alias: str | None = None

    @property
    def target_alias(self) -> str:
        return self.alias or "default"

    def url_settings(self) -> dict[str, Any] | None:
        if not self.url:
            return None
        try:
            return dict(dj_database_url.parse(self.url))
        except ValueError as exc:
            raise DatabaseError(
                f"Cannot read --database-url: {exc}",
                "Use a URL such as postgres://USER:PASSWORD@HOST:5432/NAME or sqlite://.",
            ) from exc


@dataclass(frozen=True)
class DatabaseInfo:
    """What the report says about the database server (also part of snapshot keys)."""

    vendor: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"vendor": self.vendor, "version": self.version}


@dataclass(frozen=True)
class ThrowawayDatabase:
    """A database made for one run. ``settings`` is the DATABASES entry that reaches it."""

    info: DatabaseInfo
    name: str  # database name, or the SQLite file path
    settings: Mapping[str, Any] = field(repr=False)


def new_run_id() -> str:
    return secrets.token_hex(4)


def get_vendor(config: Mapping[str, Any]) -> str:
    engine = str(config.get("ENGINE") or "")
    for needle, vendor in _ENGINE_VENDORS:
        if needle in engine.lower():
            return vendor
    raise DatabaseError(
        f"Database engine {engine!r} is not supported for verification.",
        "Pass --database-url with a PostgreSQL, MySQL/MariaDB or SQLite URL.",
    )


def throwaway_name(config: Mapping[str, Any], run_id: str, vendor: str) -> str:
    """``test_<name>_<run id>`` within the 63 characters PostgreSQL and MySQL allow."""
    if not _RUN_ID.match(run_id):
        raise DatabaseError(f"Run id {run_id!r} is not 1-16 lower-case letters or digits.")
    name = str(config.get("NAME") or "db")
    stem = Path(name).stem if vendor == "sqlite" else name
    stem = re.sub(r"\W", "_", stem)[:40]
    return f"test_{stem}_{run_id}"


@contextlib.contextmanager
def throwaway_database(
    config: Mapping[str, Any], *, run_id: str | None = None, vendor: str | None = None,
    say: Callable[[str], None] | None = None, clock: Callable[[], float] = time.time,
) -> Iterator[ThrowawayDatabase]:
    """Create a fresh database beside ``config``'s, yield it, drop it whatever happens.

    ``vendor`` ("sqlite", "postgresql", "mysql") defaults to what ``ENGINE`` names. SIGTERM
    raises ``SystemExit(143)`` while inside, so a terminated run still drops the database.
    On a server, databases that killed runs left there are dropped first (see ``leftovers``),
    each told to ``say``.
    """
    run_id = run_id or new_run_id()
    vendor = vendor or get_vendor(config)
    name = throwaway_name(config, run_id, vendor)
    with _terminate_raises():
        if vendor == "sqlite":
            with _sqlite_file(name) as path:
                yield ThrowawayDatabase(
                    DatabaseInfo("sqlite", sqlite3.sqlite_version), str(path),
                    {**config, "NAME": str(path)},
                )
            return
        server = connect_server(vendor, config)
        with server:
            if name == config.get("NAME"):
                raise DatabaseError(f"Refusing to use the configured database {name!r}.")
            drop_stale(server, clock(), say or (lambda message: None))
            create_marked(server, name, run_id, clock())
            try:
                yield ThrowawayDatabase(
                    DatabaseInfo(vendor, server.version()), name, {**config, "NAME": name}
                )
            finally:
                with _signals_blocked():
                    server.drop(name)


def create_marked(server: Server, name: str, run_id: str, now: float) -> None:
    """Create ``name``; a leftover of ours is replaced, anything else is refused."""
    marker = server.find_marker(name)
    if marker is not None and not marker.startswith(MARKER):
        raise DatabaseError(
            f"Database {name!r} already exists on {server.address} and was not created by "
            "django-migration-ci; refusing to touch it.",
            "Drop or rename it yourself, or run again (each run picks a new name).",
        )
    if marker is not None:
        server.drop(name)
    server.create(name, this_process(now).marker(run_id))


def dump_database(db: ThrowawayDatabase) -> bytes:
    """Everything in ``db`` (schema and rows) as one payload that ``restore_database`` reads.

    SQLite: the file, through the backup API (consistent whatever the journal mode).
    PostgreSQL: ``pg_dump --format=custom``; MySQL/MariaDB: ``mysqldump`` SQL text.
    """
    if db.info.vendor == "sqlite":
        return _sqlite_dump(Path(db.name))
    with connect_server(db.info.vendor, db.settings) as server:
        return server.dump(db.name)


def restore_database(db: ThrowawayDatabase, payload: bytes) -> None:
    """Load a ``dump_database`` payload into ``db``, which must be empty."""
    if db.info.vendor == "sqlite":
        Path(db.name).write_bytes(payload)
        return
    with connect_server(db.info.vendor, db.settings) as server:
        server.restore(db.name, payload)


def reset_database(db: ThrowawayDatabase, run_id: str) -> None:
    """Make ``db`` empty again (after a restore that failed half-way)."""
    if db.info.vendor == "sqlite":
        Path(db.name).write_bytes(b"")
        return
    with connect_server(db.info.vendor, db.settings) as server:
        server.drop(db.name)
        server.create(db.name, this_process(time.time()).marker(run_id))


def _sqlite_dump(path: Path) -> bytes:
    directory = Path(tempfile.mkdtemp(prefix="migration-ci-dump-"))
    try:
        copy = directory / "copy.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(
            sqlite3.connect(copy)
        ) as target:
            source.backup(target)
        return copy.read_bytes()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def find_leftovers(config: Mapping[str, Any]) -> list[str]:
    """Databases of this tool on ``config``'s server: live runs' and killed runs' alike."""
    vendor = get_vendor(config)
    if vendor == "sqlite":
        return []
    with connect_server(vendor, config) as server:
        return sorted(server.list_marked())


def clean_server(
    config: Mapping[str, Any], say: Callable[[str], None], *, now: float,
    grace: float | None = None,
) -> list[Leftover]:
    """``migration-ci clean``: drop what killed runs left on ``config``'s server, saying so.

    ``grace`` (seconds) replaces the wait for a dead owner's database on this host.
    """
    vendor = get_vendor(config)
    if vendor == "sqlite":
        return []
    with connect_server(vendor, config) as server:
        return drop_stale(server, now, say, grace=SAME_HOST_GRACE if grace is None else grace)


@contextlib.contextmanager
def _sqlite_file(name: str) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="migration-ci-db-"))
    path = directory / f"{name}.sqlite3"
    path.touch()  # an empty file is an empty SQLite database
    try:
        yield path
    finally:
        with _signals_blocked():
            shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (the DROP) run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Defer SIGINT/SIGTERM while cleaning up, so a second Ctrl-C cannot skip the DROP."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
