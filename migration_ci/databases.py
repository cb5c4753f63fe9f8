"""Throwaway databases: created with a unique name, marked as ours, always dropped.

SQLite gets a file in a new temporary directory. PostgreSQL (psycopg 3) and MySQL/MariaDB
(mysqlclient) get ``CREATE DATABASE test_<name>_<run id>`` on the configured server, issued
from the server's maintenance database, the way Django's test runner names its ``test_*``
databases. The configured database itself is never created, written or dropped here.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url

from migration_ci.errors import DatabaseError

MARKER = "created by django-migration-ci"
CONNECT_HINT = (
    "Start the server, or pass --database-url with the right host, port, user and password "
    "(--database-url sqlite:// verifies on SQLite)."
)
_ENGINE_VENDORS = (
    ("postgis", "postgresql"), ("postgresql", "postgresql"), ("psycopg", "postgresql"),
    ("mysql", "mysql"), ("sqlite", "sqlite"), ("spatialite", "sqlite"),
)
_RUN_ID = re.compile(r"^[0-9a-z]{1,16}$")


@dataclass(frozen=True)
class DatabaseChoice:
    """``--database-url`` (wins when given), ``--database ALIAS`` of the project's DATABASES,
    or neither: a temporary SQLite file in place of the ``default`` alias."""

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
    config: Mapping[str, Any], *, run_id: str | None = None, vendor: str | None = None
) -> Iterator[ThrowawayDatabase]:
    """Create a fresh database beside ``config``'s, yield it, drop it whatever happens.

    ``vendor`` ("sqlite", "postgresql", "mysql") defaults to what ``ENGINE`` names. SIGTERM
    raises ``SystemExit(143)`` while inside, so a terminated run still drops the database.
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
            create_marked(server, name, run_id)
            try:
                yield ThrowawayDatabase(
                    DatabaseInfo(vendor, server.version()), name, {**config, "NAME": name}
                )
            finally:
                with _signals_blocked():
                    server.drop(name)


def create_marked(server: Server, name: str, run_id: str) -> None:
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
    server.create(name, f"{MARKER} run {run_id}; safe to drop")


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
        server.create(db.name, f"{MARKER} run {run_id}; safe to drop")


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


def run_tool(argv: list[str], env: Mapping[str, str], stdin: bytes | None = None) -> bytes:
    """Run a database client tool; its failure is a DatabaseError quoting its stderr."""
    try:
        proc = subprocess.run(
            argv, input=stdin, env={**os.environ, **env}, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise DatabaseError(
            f"The database client tool {argv[0]!r} is not installed.",
            "Install the PostgreSQL or MariaDB client tools, or run with --no-cache.",
        ) from exc
    if proc.returncode != 0:
        stderr = " ".join(proc.stderr.decode("utf-8", "replace").split())
        raise DatabaseError(f"{argv[0]} exited with code {proc.returncode}: {stderr}")
    return proc.stdout


def find_leftovers(config: Mapping[str, Any]) -> list[str]:
    """Databases on ``config``'s server that a killed run of this tool left behind."""
    vendor = get_vendor(config)
    if vendor == "sqlite":
        return []
    with connect_server(vendor, config) as server:
        return server.list_marked()


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


class Server:
    """A connection to a database server's maintenance database, for CREATE and DROP only."""

    label = ""
    default_port = 0
    driver_error: type[Exception] = Exception

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = str(config.get("HOST") or "")
        self.port = int(config.get("PORT") or self.default_port)
        self.user = str(config.get("USER") or "")
        self.address = f"{self.host or 'localhost'}:{self.port}"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def unreachable(self, error: Exception) -> DatabaseError:
        reason = " ".join(str(error).split()) or type(error).__name__
        return DatabaseError(
            f"Cannot connect to {self.label} at {self.address} as user {self.user!r}: {reason}",
            CONNECT_HINT,
        )

    @contextlib.contextmanager
    def failing_as(self, what: str) -> Iterator[None]:
        """Translate the driver's errors into DatabaseError: "<what> on <address>: <reason>"."""
        try:
            yield
        except self.driver_error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseError(
                f"{what} on {self.address}: {reason}",
                f"Check that user {self.user!r} may create and drop databases.",
            ) from exc

    def close(self) -> None:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def find_marker(self, name: str) -> str | None:
        """None if ``name`` does not exist, else its marker ("" when it has none)."""
        raise NotImplementedError

    def create(self, name: str, marker: str) -> None:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def list_marked(self) -> list[str]:
        raise NotImplementedError

    def dump(self, name: str) -> bytes:
        raise NotImplementedError

    def restore(self, name: str, payload: bytes) -> None:
        raise NotImplementedError


def connect_server(vendor: str, config: Mapping[str, Any]) -> Server:
    server_class: type[Server] = PostgresServer if vendor == "postgresql" else MySQLServer
    return server_class(config)


# Options that configure Django's wrapper, not the driver's connect().
_DJANGO_ONLY_OPTIONS = {
    "isolation_level", "server_side_binding", "assume_role", "pool", "cursor_factory",
    "init_command", "autocommit",
}


def driver_options(config: Mapping[str, Any]) -> dict[str, Any]:
    options = config.get("OPTIONS") or {}
    return {
        key: value for key, value in options.items()
        if key not in _DJANGO_ONLY_OPTIONS and isinstance(value, (str, int, float))
    }


class PostgresServer(Server):
    """PostgreSQL through psycopg 3; the marker is ``COMMENT ON DATABASE``."""

    label = "PostgreSQL"
    default_port = 5432

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        try:
            import psycopg
        except ImportError as exc:
            raise DatabaseError(
                "PostgreSQL needs psycopg 3, which is not installed.",
                "pip install 'django-migration-ci[postgres]'",
            ) from exc
        self.sql = psycopg.sql
        self.driver_error = psycopg.Error
        self.password = str(config.get("PASSWORD") or "")
        self.sslmode = str((config.get("OPTIONS") or {}).get("sslmode") or "")
        params = {
            **driver_options(config), "host": self.host or None, "port": self.port,
            "user": self.user or None, "password": config.get("PASSWORD") or None,
            "connect_timeout": 10, "autocommit": True,
        }
        errors: list[Exception] = []
        # Like Django's test runner: the "postgres" database, else template1.
        for dbname in ("postgres", "template1"):
            try:
                self.conn = psycopg.connect(dbname=dbname, **params)
                return
            except psycopg.OperationalError as exc:
                errors.append(exc)
        raise self.unreachable(errors[0])

    def close(self) -> None:
        self.conn.close()

    def version(self) -> str:
        row = self.conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else ""

    def find_marker(self, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        return None if row is None else str(row[0] or "")

    def create(self, name: str, marker: str) -> None:
        sql = self.sql
        with self.failing_as(f"Cannot create database {name!r}"):
            self.conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            self.conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(marker)
                )
            )

    def drop(self, name: str) -> None:
        # WITH (FORCE) (PostgreSQL 13+) ends sessions a killed worker may have left behind.
        force = " WITH (FORCE)" if self.conn.info.server_version >= 130000 else ""
        query = self.sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(self.sql.Identifier(name))
        with self.failing_as(f"Cannot drop database {name!r}"):
            self.conn.execute(query)

    def list_marked(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT datname FROM pg_database "
            "WHERE shobj_description(oid, 'pg_database') LIKE %s ORDER BY datname",
            (MARKER + "%",),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def tool_args(self, name: str) -> tuple[list[str], dict[str, str]]:
        args = ["--port", str(self.port), "--dbname", name, "--no-owner", "--no-privileges"]
        if self.host:
            args += ["--host", self.host]
        if self.user:
            args += ["--username", self.user]
        env = {"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}
        if self.sslmode:
            env["PGSSLMODE"] = self.sslmode
        return args, env

    def dump(self, name: str) -> bytes:
        # The custom format is compressed and restores in one transaction; it also holds
        # extensions, functions and triggers that RunSQL may have made.
        args, env = self.tool_args(name)
        return run_tool(["pg_dump", "--format=custom", *args], env)

    def restore(self, name: str, payload: bytes) -> None:
        args, env = self.tool_args(name)
        run_tool(
            ["pg_restore", "--single-transaction", "--exit-on-error", *args], env, stdin=payload
        )


class MySQLServer(Server):
    """MySQL/MariaDB through mysqlclient; the marker is the schema comment (MariaDB 10.5+).

    MySQL has no schema comments, so there an existing name is always refused.
    """

    label = "MySQL/MariaDB"
    default_port = 3306

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        try:
            import MySQLdb
        except ImportError as exc:
            raise DatabaseError(
                "MySQL/MariaDB needs mysqlclient, which is not installed.",
                "pip install 'django-migration-ci[mysql]'",
            ) from exc
        self.driver_error = MySQLdb.Error
        self.password = str(config.get("PASSWORD") or "")
        params: dict[str, Any] = {
            **driver_options(config), "user": self.user, "connect_timeout": 10,
            "password": self.password, "port": self.port,
        }
        if self.host.startswith("/"):
            params["unix_socket"] = self.host
        else:
            params["host"] = self.host or "localhost"
        try:
            self.conn = MySQLdb.connect(**params)
        except MySQLdb.OperationalError as exc:
            raise self.unreachable(exc) from exc
        self.conn.autocommit(True)
        self._version = str(self.query("SELECT VERSION()")[0][0])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(self.conn.cursor()) as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())

    def close(self) -> None:
        self.conn.close()

    def version(self) -> str:
        match = re.match(r"[\d.]+(-MariaDB)?", self._version)
        return match.group(0) if match else self._version

    def has_comments(self) -> bool:
        numbers = tuple(int(n) for n in re.findall(r"\d+", self._version)[:2])
        return "MariaDB" in self._version and numbers >= (10, 5)

    def find_marker(self, name: str) -> str | None:
        column = "SCHEMA_COMMENT" if self.has_comments() else "''"
        rows = self.query(
            f"SELECT {column} FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)
        )
        return str(rows[0][0] or "") if rows else None

    def create(self, name: str, marker: str) -> None:
        with self.failing_as(f"Cannot create database {name!r}"):
            if self.has_comments():
                self.query(f"CREATE DATABASE `{name}` COMMENT %s", (marker,))
            else:
                self.query(f"CREATE DATABASE `{name}`")

    def drop(self, name: str) -> None:
        with self.failing_as(f"Cannot drop database {name!r}"):
            self.query(f"DROP DATABASE IF EXISTS `{name}`")

    def list_marked(self) -> list[str]:
        if not self.has_comments():
            return []
        rows = self.query(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_COMMENT LIKE %s "
            "ORDER BY SCHEMA_NAME",
            (MARKER + "%",),
        )
        return [str(row[0]) for row in rows]

    def tool_args(self) -> tuple[list[str], dict[str, str]]:
        if self.host.startswith("/"):
            args = [f"--socket={self.host}"]
        else:
            args = [f"--host={self.host or 'localhost'}", f"--port={self.port}", "--protocol=TCP"]
        if self.user:
            args.append(f"--user={self.user}")
        return args, {"MYSQL_PWD": self.password}

    def dump(self, name: str) -> bytes:
        args, env = self.tool_args()
        return run_tool(
            [find_tool("mariadb-dump", "mysqldump"), *args, "--single-transaction", "--routines",
             "--triggers", "--hex-blob", "--skip-comments", "--no-tablespaces", "--", name],
            env,
        )

    def restore(self, name: str, payload: bytes) -> None:
        args, env = self.tool_args()
        run_tool([find_tool("mariadb", "mysql"), *args, "--", name], env, stdin=payload)


def find_tool(*names: str) -> str:
    """The first of ``names`` on PATH (MariaDB renamed its clients), else the last one."""
    return next((name for name in names if shutil.which(name)), names[-1])
