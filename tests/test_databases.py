"""Throwaway databases on real servers: created, marked, always dropped, never someone else's."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_ci.databases.throwaway import (
    DatabaseChoice,
    find_leftovers,
    get_vendor,
    throwaway_database,
    throwaway_name,
)
from migration_ci.errors import DatabaseError
from tests.support.djangoproj import Engine, engine_params

SERVER_PARAMS = [p for p in engine_params() if p.id != "sqlite"]


@pytest.fixture
def tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory SQLite throwaway files are made in, empty to start with."""
    import tempfile

    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def config_for(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    if engine.url is None:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}
    return engine.settings()


def exists(engine: Engine, name: str) -> bool:
    if engine.url is None:
        return Path(name).exists()
    return name in engine.database_names()


@pytest.mark.parametrize(
    ("engine", "vendor"),
    [
        pytest.param("django.db.backends.sqlite3", "sqlite", id="sqlite"),
        pytest.param("django.db.backends.postgresql", "postgresql", id="postgresql"),
        pytest.param("django.contrib.gis.db.backends.postgis", "postgresql", id="postgis"),
        pytest.param("django.db.backends.mysql", "mysql", id="mysql"),
        pytest.param("django.contrib.gis.db.backends.spatialite", "sqlite", id="spatialite"),
    ],
)
def test_get_vendor(engine: str, vendor: str) -> None:
    assert get_vendor({"ENGINE": engine}) == vendor


def test_get_vendor_refuses_unknown_engine() -> None:
    with pytest.raises(DatabaseError) as info:
        get_vendor({"ENGINE": "django.db.backends.oracle"})
    assert str(info.value) == (
        "Database engine 'django.db.backends.oracle' is not supported for verification. "
        "Pass --database-url with a PostgreSQL, MySQL/MariaDB or SQLite URL."
    )


@pytest.mark.parametrize(
    ("name", "vendor", "expected"),
    [
        pytest.param("shop", "postgresql", "test_shop_0a1b2c3d", id="server name"),
        pytest.param("/srv/db.sqlite3", "sqlite", "test_db_0a1b2c3d", id="sqlite file stem"),
        pytest.param("my-db", "mysql", "test_my_db_0a1b2c3d", id="unsafe characters"),
        pytest.param("x" * 80, "postgresql", f"test_{'x' * 40}_0a1b2c3d", id="long name cut"),
    ],
)
def test_throwaway_name(name: str, vendor: str, expected: str) -> None:
    assert throwaway_name({"NAME": name}, "0a1b2c3d", vendor) == expected


def test_throwaway_name_refuses_odd_run_id() -> None:
    with pytest.raises(DatabaseError) as info:
        throwaway_name({"NAME": "x"}, "x; DROP", "postgresql")
    assert str(info.value) == "Run id 'x; DROP' is not 1-16 lower-case letters or digits."


def test_database_choice_reads_url_and_hides_it() -> None:
    choice = DatabaseChoice(url="postgres://u:secret@db.example:5433/shop", alias="other")
    settings = choice.url_settings()
    assert settings is not None
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == ("db.example", 5433, "shop")
    assert "secret" not in repr(choice)
    assert DatabaseChoice().url_settings() is None


@pytest.mark.parametrize("engine", engine_params())
def test_created_then_dropped(engine: Engine, tmp_path: Path, tempdir: Path) -> None:
    config = config_for(engine, tmp_path)
    with throwaway_database(config, run_id="0a1b2c3d") as db:
        assert db.info.vendor == engine.vendor
        assert db.settings["NAME"] == db.name
        if engine.url is None:
            assert Path(db.name).parent.parent == tempdir
        else:
            assert db.name == f"test_{config['NAME']}_0a1b2c3d"
            assert db.name in engine.database_names()
            assert db.name in find_leftovers(config)
    assert not exists(engine, db.name)
    assert list(tempdir.iterdir()) == []
    assert db.name not in find_leftovers(config)


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize(
    "error", [pytest.param(RuntimeError, id="error"), pytest.param(KeyboardInterrupt, id="ctrl-c")]
)
def test_dropped_after_exception(
    engine: Engine, error: type[BaseException], tmp_path: Path, tempdir: Path
) -> None:
    with pytest.raises(error), throwaway_database(config_for(engine, tmp_path)) as db:
        assert exists(engine, db.name)
        raise error()
    assert not exists(engine, db.name)
    assert list(tempdir.iterdir()) == []


HOLD_OPEN = """
import sys, time
from migration_ci.databases.throwaway import throwaway_database
config = {config!r}
with throwaway_database(config, run_id={run_id!r}) as db:
    print(db.name, flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(config: dict[str, Any], run_id: str) -> tuple[subprocess.Popen[str], str]:
        source = textwrap.dedent(HOLD_OPEN.format(config=config, run_id=run_id))
        proc = subprocess.Popen(
            [sys.executable, "-c", source],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path)},
        )
        started.append(proc)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("engine", engine_params())
def test_dropped_after_sigterm(engine: Engine, tmp_path: Path, holder: Any) -> None:
    proc, name = holder(config_for(engine, tmp_path), secrets.token_hex(4))
    assert exists(engine, name)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert not exists(engine, name)


@pytest.mark.slow
@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_leftover_of_a_killed_run_is_recognised_and_replaced(
    engine: Engine, tmp_path: Path, holder: Any
) -> None:
    config = engine.settings()
    run_id = secrets.token_hex(4)
    proc, name = holder(config, run_id)
    proc.kill()  # SIGKILL: no cleanup can run
    proc.wait()
    assert name in find_leftovers(config)
    with throwaway_database(config, run_id=run_id) as db:
        assert db.name == name
    assert name not in engine.database_names()


@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_refuses_existing_database_not_made_by_the_tool(engine: Engine) -> None:
    config = engine.settings()
    run_id = secrets.token_hex(4)
    name = f"test_{config['NAME']}_{run_id}"
    engine.create_database(name)
    try:
        with pytest.raises(DatabaseError) as info, throwaway_database(config, run_id=run_id):
            pass
        assert name in engine.database_names()
        assert name not in find_leftovers(config)
    finally:
        engine.drop_database(name)
    host = f"{config['HOST']}:{config['PORT']}"
    assert str(info.value) == (
        f"Database {name!r} already exists on {host} and was not created by "
        "django-migration-ci; refusing to touch it. "
        "Drop or rename it yourself, or run again (each run picks a new name)."
    )


@pytest.mark.parametrize(
    ("url", "label"),
    [
        pytest.param("postgres://someone@127.0.0.1:1/shop", "PostgreSQL", id="postgresql"),
        pytest.param(
            "mysql://someone@127.0.0.1:1/shop", "MySQL/MariaDB", id="mysql",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("MySQLdb") is None,
                reason="mysqlclient is not installed (pip install 'django-migration-ci[mysql]')",
            ),
        ),
    ],
)
def test_unreachable_server_names_address_and_fix(url: str, label: str) -> None:
    config = DatabaseChoice(url=url).url_settings()
    assert config is not None
    with pytest.raises(DatabaseError) as info, throwaway_database(config):
        pass
    message = str(info.value)
    assert message.startswith(f"Cannot connect to {label} at 127.0.0.1:1 as user 'someone': ")
    assert message.endswith(
        "Start the server, or pass --database-url with the right host, port, user and password "
        "(--database-url sqlite:// verifies on SQLite)."
    )


@pytest.mark.skipif(
    importlib.util.find_spec("MySQLdb") is not None, reason="mysqlclient is installed"
)
def test_missing_driver_says_how_to_install_it() -> None:
    config = DatabaseChoice(url="mysql://someone@127.0.0.1:1/shop").url_settings()
    assert config is not None
    with pytest.raises(DatabaseError) as info, throwaway_database(config):
        pass
    assert str(info.value) == (
        "MySQL/MariaDB needs mysqlclient, which is not installed. "
        "pip install 'django-migration-ci[mysql]'"
    )


@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_reports_server_version(engine: Engine) -> None:
    if engine.vendor == "postgresql":
        expected = str(engine.execute("SHOW server_version")[0][0]).split()[0]
    else:
        expected = str(engine.execute("SELECT VERSION()")[0][0])
    with throwaway_database(engine.settings()) as db:
        assert expected.startswith(db.info.version)
        assert db.info.version[0].isdigit()
