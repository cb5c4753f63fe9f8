"""Connections to PostgreSQL (psycopg 3) and MySQL/MariaDB (mysqlclient) servers.

Each ``Server`` talks to a server's maintenance database and does only what throwaway databases
need: create one with a marker comment, find and drop those of ours, dump and restore one with
the server's client tools (``pg_dump``/``pg_restore``, ``mariadb-dump``/``mariadb``). Driver
and tool errors become ``DatabaseError`` naming the server and what failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

from migration_ci.errors import DatabaseError

MARKER = "created by django-migration-ci"
CONNECT_HINT = (
    "Start the server, or pass --database-url with the right host, port, user and password "
    "(--database-url sqlite:// verifies on SQLite)."
)


class ServerUnreachable(DatabaseError):
    """The server could not be connected to; the glue says which setting named it."""

    def __init__(self, label: str, address: str, user: str, reason: str) -> None:
        super().__init__(
            f"Cannot connect to {label} at {address} as user {user!r}: {reason}", CONNECT_HINT
        )
        self.label, self.address, self.user, self.reason = label, address, user, reason


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

    def unreachable(self, error: Exception) -> ServerUnreachable:
        reason = " ".join(str(error).split()) or type(error).__name__
        if not reason.endswith((".", "?", "!")):
            reason += "."  # the hint that follows is a sentence of its own
        return ServerUnreachable(self.label, self.address, self.user, reason)

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

    def list_marked(self) -> dict[str, str]:
        """Every database whose marker starts with ours: name -> marker."""
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

    def list_marked(self) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE shobj_description(oid, 'pg_database') LIKE %s ORDER BY datname",
            (MARKER + "%",),
        ).fetchall()
        return {str(name): str(marker) for name, marker in rows}

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

    def list_marked(self) -> dict[str, str]:
        if not self.has_comments():
            return {}
        rows = self.query(
            "SELECT SCHEMA_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_COMMENT LIKE %s ORDER BY SCHEMA_NAME",
            (MARKER + "%",),
        )
        return {str(name): str(marker) for name, marker in rows}

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
