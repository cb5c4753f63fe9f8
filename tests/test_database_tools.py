"""The servers' failure paths: client tools, drivers, unusual servers; and snapshot files that
cannot be read or written. Each failure is one DatabaseError naming what failed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_ci.databases import leftovers
from migration_ci.databases.leftovers import Owner, drop_stale, is_running
from migration_ci.databases.servers import (
    MARKER,
    MySQLServer,
    Server,
    connect_server,
    find_tool,
    run_tool,
)
from migration_ci.databases.snapshots import SnapshotStore, SnapshotUnusable
from migration_ci.databases.throwaway import DatabaseInfo
from migration_ci.errors import DatabaseError
from tests.support.djangoproj import Engine
from tests.test_databases import SERVER_PARAMS


def test_a_missing_client_tool_says_what_to_install() -> None:
    with pytest.raises(DatabaseError) as info:
        run_tool(["migration-ci-no-such-tool", "--help"], {})
    assert str(info.value) == (
        "The database client tool 'migration-ci-no-such-tool' is not installed. Install the "
        "PostgreSQL or MariaDB client tools, or run with --no-cache."
    )


def test_a_failing_client_tool_is_quoted() -> None:
    with pytest.raises(DatabaseError) as info:
        run_tool(["sh", "-c", 'echo "access denied\n  for x" >&2; exit 3'], {"X": "1"})
    assert str(info.value) == "sh exited with code 3: access denied for x"
    assert run_tool(["sh", "-c", 'printf "$X"'], {"X": "given"}) == b"given"


def test_the_first_client_tool_on_path_or_the_last_name() -> None:
    assert find_tool("migration-ci-no-such-tool", "sh") == "sh"
    assert find_tool("sh", "migration-ci-no-such-tool") == "sh"
    assert find_tool("migration-ci-no-a", "migration-ci-no-b") == "migration-ci-no-b"


@pytest.mark.parametrize(
    ("vendor", "module", "message"),
    [
        pytest.param("postgresql", "psycopg", "PostgreSQL needs psycopg 3, which is not "
                     "installed. pip install 'django-migration-ci[postgres]'", id="psycopg"),
        pytest.param("mysql", "MySQLdb", "MySQL/MariaDB needs mysqlclient, which is not "
                     "installed. pip install 'django-migration-ci[mysql]'", id="mysqlclient"),
    ],
)
def test_a_missing_driver_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, vendor: str, module: str, message: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(DatabaseError) as info:
        connect_server(vendor, {"HOST": "127.0.0.1", "PORT": 1, "USER": "u"})
    assert str(info.value) == message


@pytest.fixture
def server(engine: Engine) -> Iterator[Server]:
    with connect_server(engine.vendor, engine.settings()) as connected:
        yield connected


@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_a_refused_create_names_the_database_and_the_server(
    engine: Engine, server: Server
) -> None:
    name = f"test_mci_twice_{secrets.token_hex(3)}"
    server.create(name, f"{MARKER} run x; safe to drop")
    try:
        with pytest.raises(DatabaseError) as info:
            server.create(name, f"{MARKER} run x; safe to drop")
    finally:
        server.drop(name)
    message = str(info.value)
    assert message.startswith(f"Cannot create database {name!r} on {server.address}: ")
    assert message.endswith(f"Check that user {server.user!r} may create and drop databases.")
    assert name in message.split(": ", 1)[1]  # the server's own reason names it


@pytest.mark.parametrize("engine", [p for p in SERVER_PARAMS if p.id == "postgresql"])
def test_postgres_tools_get_the_ssl_mode(engine: Engine) -> None:
    settings = {**engine.settings(), "OPTIONS": {"sslmode": "disable"}}
    with connect_server("postgresql", settings) as server:
        args, env = server.tool_args("shop")  # type: ignore[attr-defined]
    assert env["PGSSLMODE"] == "disable"
    assert args[:4] == ["--port", str(server.port), "--dbname", "shop"]


@pytest.mark.parametrize("engine", [p for p in SERVER_PARAMS if p.id == "mysql"])
def test_mysql_without_schema_comments_marks_nothing(engine: Engine) -> None:
    """MySQL has no schema comments: a database is created unmarked, and none is listed (so
    none is ever dropped as a leftover)."""
    with connect_server("mysql", engine.settings()) as server:
        assert isinstance(server, MySQLServer)
        server._version = "8.0.36"
        name = f"test_mci_plain_{secrets.token_hex(3)}"
        server.create(name, f"{MARKER} run x; safe to drop")
        try:
            assert (server.find_marker(name), server.list_marked()) == ("", {})
        finally:
            server.drop(name)
        assert server.find_marker(name) is None


SOCKET = "/run/mysqld/mysqld.sock"


@pytest.mark.skipif(not os.path.exists(SOCKET), reason=f"no MariaDB socket at {SOCKET}")
@pytest.mark.parametrize("engine", [p for p in SERVER_PARAMS if p.id == "mysql"])
def test_mysql_through_its_socket(engine: Engine) -> None:
    settings = {**engine.settings(), "HOST": SOCKET}
    with connect_server("mysql", settings) as server:
        assert server.version()[0].isdigit()
        args, _ = server.tool_args()  # type: ignore[attr-defined]
    assert args[0] == f"--socket={SOCKET}"


def test_a_run_without_a_recorded_start_is_found_by_its_pid() -> None:
    """Where /proc cannot tell the start (not Linux), the pid alone is asked."""
    me = Owner("here", os.getpid(), "", 0)
    assert is_running(me)
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    assert not is_running(Owner("here", child.pid, "", 0))


def test_a_pid_of_another_user_counts_as_running(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, signal: int) -> None:
        raise PermissionError(pid)

    monkeypatch.setattr(leftovers.os, "kill", refused)
    assert is_running(Owner("here", 1, "", 0))


class RefusingServer(Server):
    """A server with one leftover of a gone run that refuses to drop it; records the asks."""

    label = "Test"

    def __init__(self) -> None:
        super().__init__({"HOST": "db", "PORT": 5})
        self.asked: list[str] = []

    def list_marked(self) -> dict[str, str]:
        return {"test_old": Owner("here", 1, "gone", 0).marker("x")}

    def drop(self, name: str) -> None:
        self.asked.append(name)
        raise DatabaseError("Cannot drop database 'test_old' on db:5: must be owner")


def test_a_leftover_that_cannot_be_dropped_is_said_and_skipped() -> None:
    said: list[str] = []
    server = RefusingServer()
    found = drop_stale(server, time.time(), said.append, host="here", running=lambda o: False)
    assert server.asked == ["test_old"]
    assert [(f.name, f.stale, f.dropped) for f in found] == [("test_old", True, False)]
    assert said == ["Could not drop database 'test_old', left by a killed run: Cannot drop "
                    "database 'test_old' on db:5: must be owner"]


INFO = DatabaseInfo("sqlite", "3.45")


def test_a_snapshot_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.path("k").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(SnapshotUnusable) as info:
        store.load("k", INFO)
    assert str(info.value).startswith(f"snapshot {store.path('k').name} cannot be read: ")


def test_a_snapshot_whose_manifest_is_not_json_is_corrupt(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.save("k", INFO, b"data", "sha")
    data = store.path("k").read_bytes()
    magic, _, _ = data.partition(b"{")
    store.path("k").write_bytes(magic + b"{not json\ndata")
    with pytest.raises(SnapshotUnusable) as info:
        store.load("k", INFO)
    assert str(info.value) == (
        f"snapshot {store.path('k').name} is corrupt: its manifest cannot be read")


def test_a_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    payload: Any = "not bytes"
    with pytest.raises(TypeError):
        store.save("k", INFO, payload, "sha")
    assert list(tmp_path.iterdir()) == []
