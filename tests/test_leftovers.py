"""Databases left by killed runs: found by their owner, dropped only when their run is gone.

README: "Leftovers after a hard kill". The rule is ``leftovers.judge``; the real-server tests
SIGKILL a real ``migration-ci verify`` and clean up after it, by ``migration-ci clean`` and by
the next run.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_ci.cli.main import main
from migration_ci.databases.leftovers import (
    OTHER_HOST_GRACE,
    SAME_HOST_GRACE,
    Owner,
    judge,
    parse_owner,
    process_start,
    this_process,
)
from migration_ci.databases.servers import MARKER, connect_server
from migration_ci.databases.throwaway import throwaway_database
from tests.support.djangoproj import CREATE_PRODUCT, PRODUCT_MODELS, DjangoProject, Engine
from tests.test_databases import SERVER_PARAMS

NOW = 1_700_000_000.0
HERE = "ci-runner-1"


def owner(host: str = HERE, age: float = 0, pid: int = 4242) -> Owner:
    return Owner(host, pid, "boot:123", int(NOW - age))


@pytest.mark.parametrize(
    ("who", "running", "verdict"),
    [
        pytest.param(None, False, (False, "its marker names no owner"), id="no owner"),
        pytest.param(
            owner(age=3 * 3600), True,
            (False, "its run (pid 4242 on this host) is still running"), id="running, old",
        ),
        pytest.param(
            owner(age=SAME_HOST_GRACE - 1), False,
            (False, "made 9 min ago; its run (pid 4242 on this host) is gone"),
            id="gone, young",
        ),
        pytest.param(
            owner(age=SAME_HOST_GRACE), False,
            (True, "its run (pid 4242 on this host) is gone; made 10 min ago"),
            id="gone, old enough",
        ),
        pytest.param(
            owner(host="laptop", age=OTHER_HOST_GRACE - 1), False,
            (False, "made 23 h ago on host laptop, whose runs cannot be seen from here"),
            id="other host, young",
        ),
        pytest.param(
            owner(host="laptop", age=OTHER_HOST_GRACE), True,
            (True, "made 24 h ago on host laptop"), id="other host, old enough",
        ),
        pytest.param(
            owner(age=-600), False,
            (False, "made 0 min ago; its run (pid 4242 on this host) is gone"),
            id="clock behind the owner's",
        ),
    ],
)
def test_judge(who: Owner | None, running: bool, verdict: tuple[bool, str]) -> None:
    assert judge(who, host=HERE, now=NOW, running=lambda o: running) == verdict


def test_the_marker_names_its_owner_and_reads_back() -> None:
    me = Owner("host-a.example", 31337, "8f3c:99", 1_700_000_123)
    marker = me.marker("0a1b2c3d")
    assert marker == (
        "created by django-migration-ci run 0a1b2c3d; owner host=host-a.example pid=31337 "
        "start=8f3c:99 at=1700000123; safe to drop"
    )
    assert parse_owner(marker) == me


@pytest.mark.parametrize(
    "marker",
    [
        pytest.param(f"{MARKER} run 0a1b2c3d; safe to drop", id="ours, without an owner"),
        pytest.param("owner host=a pid=1 start= at=1; ours?", id="not ours"),
        pytest.param("", id="empty"),
    ],
)
def test_a_marker_without_an_owner_names_none(marker: str) -> None:
    assert parse_owner(marker) is None


def test_process_start_reads_proc_and_survives_odd_names(tmp_path: Path) -> None:
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text("b00t\n")
    (tmp_path / "77").mkdir()
    fields = " ".join(str(n) for n in range(3, 53))  # field 22 is "22"
    (tmp_path / "77/stat").write_text(f"77 (a) b) (c) {fields}\n")
    assert process_start(77, tmp_path) == "b00t:22"
    assert process_start(78, tmp_path) == ""


def test_this_process_is_running() -> None:
    from migration_ci.databases.leftovers import is_running

    me = this_process(time.time())
    assert me.host == socket.gethostname()
    assert me.pid == os.getpid()
    assert is_running(me)
    assert not is_running(Owner(me.host, me.pid, me.start + "0", me.created))


# -- on real servers -----------------------------------------------------------------------

BLOCK = '''\
import os, signal, socket


def block(apps, schema_editor):
    ready = socket.socket(socket.AF_UNIX)
    ready.connect(os.environ["MIGRATION_CI_TEST_READY"])
    ready.sendall(b"ready")
    signal.pause()  # until the tool is killed, which kills this worker too


'''


@pytest.fixture
def killed_run(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A real ``migration-ci verify`` on ``engine``, SIGKILLed while a migration runs: its
    database's name and the pid of the killed process."""
    project = DjangoProject(tmp_path / "proj")
    project.add_app("shop", PRODUCT_MODELS)
    project.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
    path = project.add_migration(
        "shop", "0002_block", deps=[("shop", "0001_initial")],
        ops="        migrations.RunPython(block),\n",
    )
    (project.root / path).write_text(BLOCK + (project.root / path).read_text())
    address = str(tmp_path / "ready.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(address)
        listener.listen(1)
        listener.settimeout(120)  # a bound for a broken run, not a timing: ready comes first
        proc = subprocess.Popen(
            [sys.executable, "-m", "migration_ci", "verify", "--database-url", str(engine.url),
             "--settings", project.settings_module],
            cwd=project.root, env={**os.environ, "MIGRATION_CI_TEST_READY": address},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            proc.kill()
            pytest.fail(f"verify never reached the migration: {proc.communicate()[0]}")
        with conn:
            conn.settimeout(60)
            assert conn.recv(5) == b"ready"
            [name] = [n for n, owner in ours(engine).items() if owner and owner.pid == proc.pid]
            proc.kill()  # SIGKILL: no finally block runs
            proc.wait()
            # The worker dies with the tool (worker/parent.py): its end of the socket closes.
            assert conn.recv(1) == b""
    try:
        yield name, proc.pid
    finally:
        engine.drop_database(name)


def ours(engine: Engine) -> dict[str, Owner | None]:
    with connect_server(engine.vendor, engine.settings()) as server:
        return {name: parse_owner(marker) for name, marker in server.list_marked().items()}


def clean(engine: Engine, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["clean", "--database-url", str(engine.url), *argv], stdout=out)
    return code, out.getvalue()


def address(engine: Engine) -> str:
    settings = engine.settings()
    return f"{settings['HOST']}:{settings['PORT']}"


@pytest.mark.slow
@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_clean_drops_the_database_of_a_killed_verify(
    engine: Engine, killed_run: tuple[str, int], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    name, pid = killed_run
    monkeypatch.chdir(tmp_path)
    code, out = clean(engine)  # within the grace: kept
    assert code == 0
    assert f"Kept database {name!r}: made 0 min ago; its run (pid {pid} on this host) is gone.\n" \
        in out
    assert name in engine.database_names()
    code, out = clean(engine, "--older-than", "0")
    assert code == 0
    assert out.splitlines()[0] == (
        f"Dropped database {name!r} on {address(engine)}, left by a killed run (its run "
        f"(pid {pid} on this host) is gone; made 0 min ago)."
    )
    assert name not in engine.database_names()


@pytest.mark.slow
@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_the_next_run_drops_the_database_of_a_killed_verify(
    engine: Engine, killed_run: tuple[str, int]
) -> None:
    name, pid = killed_run
    said: list[str] = []
    later = time.time() + SAME_HOST_GRACE
    with throwaway_database(engine.settings(), say=said.append, clock=lambda: later) as db:
        assert name not in engine.database_names()
        assert db.name in engine.database_names()
    assert said == [
        f"Dropped database {name!r} on {address(engine)}, left by a killed run (its run "
        f"(pid {pid} on this host) is gone; made 10 min ago)."
    ]


@pytest.mark.parametrize("engine", SERVER_PARAMS)
def test_a_live_run_and_databases_of_others_are_never_dropped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A running run (this process), a database without our marker, one of ours without an
    owner, and one from another host younger than a day: ``clean --older-than 0`` keeps all."""
    created = int(time.time())
    forged = {
        "test_mci_live": this_process(created).marker("live"),
        "test_mci_no_owner": f"{MARKER} run old; safe to drop",
        "test_mci_elsewhere": Owner("elsewhere", 1, "", created - 3600).marker("far"),
        "test_mci_not_ours": "the production copy",
    }
    with connect_server(engine.vendor, engine.settings()) as server:
        for name, marker in forged.items():
            server.create(name, marker)
    monkeypatch.chdir(tmp_path)
    try:
        code, out = clean(engine, "--older-than", "0")
        names = engine.database_names()
    finally:
        for name in forged:
            engine.drop_database(name)
    assert code == 0
    assert set(forged) <= names
    for line in [
        f"Kept database 'test_mci_live': its run (pid {os.getpid()} on this host) is still "
        "running.",
        "Kept database 'test_mci_no_owner': its marker names no owner.",
        "Kept database 'test_mci_elsewhere': made 60 min ago on host elsewhere, whose runs "
        "cannot be seen from here.",
    ]:
        assert line in out.splitlines()
    assert "test_mci_not_ours" not in out


def test_clean_needs_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["clean"]) == 2
    assert capsys.readouterr().err == (
        "migration-ci: clean needs a database server: no --database-url, and no database-url "
        "in .migration-ci.yml. Pass --database-url postgres://USER@HOST:5432/postgres (or a "
        "mysql:// URL); SQLite throwaway files are removed with their temporary folder.\n"
    )


def test_clean_on_sqlite_has_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["clean", "--database-url", "sqlite://"], stdout=out) == 0
    assert out.getvalue() == "0 databases left by killed runs dropped, 0 kept.\n"
