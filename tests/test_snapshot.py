"""Base-state snapshots: a warm verify gives the answer of a cold one and of a run from zero.

Every scenario runs verify three ways on the same tree and engine: ``--no-cache`` (the full
fresh run, the ground truth), cold (empty or unusable cache: the base is built and saved) and
warm (the snapshot restored), then compares success, failure and the final schema read by
introspection.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.verify import VerifyResult
from migration_ci.databases.snapshots import SnapshotStore, SnapshotUnusable
from migration_ci.databases.throwaway import DatabaseInfo
from tests.support.basestate import (
    ADD_PRICE,
    ADD_SKU,
    BAD_SQL,
    PRICE,
    SKU,
    SQLITE,
    SQLITE_INFO,
    Scenario,
    outcome,
    phase_names,
    restored,
    three_runs,
    use_private_tmp,
)
from tests.support.djangoproj import (
    CREATE_PRODUCT,
    PRODUCT_MODELS,
    DjangoProject,
    Engine,
    engine_params,
)

on_every_engine = pytest.mark.parametrize("engine", engine_params())


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_private_tmp(tmp_path, monkeypatch)


@pytest.fixture
def scenario(private_tmp: Path) -> Scenario:
    return Scenario(private_tmp)


@pytest.mark.slow
@on_every_engine
def test_warm_run_restores_the_base_and_applies_only_the_branch(
    scenario: Scenario, engine: Engine
) -> None:
    scenario.add_price()
    full, cold, warm = three_runs(scenario, engine)
    assert full.ok
    assert full.snapshot == {
        "used": False, "key": None,
        "note": "no snapshot cache (--cache DIR not given, or --no-cache); verified from zero",
        "chained_from": None,
    }
    key = cold.snapshot["key"] if cold.snapshot else None
    assert cold.snapshot == {
        "used": False, "key": key,
        "note": f"no snapshot for key {key}; built the base state from zero and saved a snapshot",
        "chained_from": None,
    }
    assert warm.snapshot == restored(key)
    assert [m.name for m in warm.migrations] == ["0003_price"]
    assert [m.name for m in cold.migrations] == ["0001_initial", "0002_sku", "0003_price"]
    assert "build_base" in phase_names(cold) and "save_snapshot" in phase_names(cold)
    assert "restore_base" in phase_names(warm) and "build_base" not in phase_names(warm)
    assert {"forward", "backward", "reapply", "missing_changes"} <= set(phase_names(warm))
    assert [p.name for p in scenario.snapshots()] == [f"{key}.snapshot"]


@pytest.mark.slow
@on_every_engine
def test_failing_branch_migration_fails_the_same_warm(scenario: Scenario, engine: Engine) -> None:
    scenario.add_price(ops=ADD_PRICE + BAD_SQL)
    full, _cold, warm = three_runs(scenario, engine)
    assert not full.ok
    assert full.failure is not None and full.failure.name == "0003_price"
    assert full.failure.sql == "UPDATE no_such_table SET x = 1"
    assert warm.snapshot is not None and warm.snapshot["used"]


@pytest.mark.slow
def test_branch_deleting_a_base_migration_is_verified_from_zero(scenario: Scenario) -> None:
    """Restoring the base would keep the deleted migration's column: 0002_sku_again would
    then fail with a duplicate column where a fresh database succeeds."""
    scenario.verify(SQLITE, new_migrations=[])  # a snapshot of the base exists
    scenario.repo.remove("shop/migrations/0002_sku.py")
    scenario.project.add_migration("shop", "0002_sku_again", deps=[("shop", "0001_initial")],
                                   ops=ADD_SKU)
    scenario.add_price(after="0002_sku_again")
    new = [("shop", "0002_sku_again"), ("shop", "0003_price")]
    full = scenario.verify(SQLITE, cache=False, new_migrations=new)
    warm = scenario.verify(SQLITE, new_migrations=new)
    assert full.ok
    assert outcome(warm) == outcome(full)
    assert warm.snapshot == {
        "used": False, "key": None,
        "note": "no snapshot: this branch changes or deletes base migration files "
                "(shop/migrations/0002_sku.py); verified from zero",
        "chained_from": None,
    }


@pytest.mark.slow
def test_branch_migration_running_before_the_base_is_verified_from_zero(
    scenario: Scenario,
) -> None:
    scenario.verify(SQLITE, new_migrations=[])
    scenario.project.add_migration(
        "shop", "0003_price", deps=[("shop", "0001_initial")], ops=ADD_PRICE,
        extra="    run_before = [('shop', '0002_sku')]\n",
    )
    scenario.project.set_models("shop", PRODUCT_MODELS + SKU + PRICE)
    scenario.repo.commit("price first")
    full = scenario.verify(SQLITE, cache=False)
    warm = scenario.verify(SQLITE)
    assert outcome(warm) == outcome(full)
    assert warm.snapshot == {
        "used": False, "key": None,
        "note": "no snapshot: migration shop.0003_price of this branch runs before base "
                "migration shop.0002_sku; verified from zero",
        "chained_from": None,
    }


@pytest.mark.slow
def test_branch_squashing_base_migrations_is_verified_from_zero(scenario: Scenario) -> None:
    """Restored, the base's migrations are recorded as applied, so Django would take the squash
    as applied too; a fresh database runs the squash itself, and this one fails."""
    scenario.verify(SQLITE, new_migrations=[])
    scenario.project.add_migration(
        "shop", "0001_squashed_0002_sku", ops=CREATE_PRODUCT + ADD_SKU + BAD_SQL,
        extra="    replaces = [('shop', '0001_initial'), ('shop', '0002_sku')]\n",
    )
    scenario.repo.commit("squash")
    new = [("shop", "0001_squashed_0002_sku")]
    full = scenario.verify(SQLITE, cache=False, new_migrations=new)
    warm = scenario.verify(SQLITE, new_migrations=new)
    assert not full.ok
    assert outcome(warm) == outcome(full)
    assert warm.snapshot == {
        "used": False, "key": None,
        "note": "no snapshot: migration shop.0001_squashed_0002_sku of this branch replaces "
                "base migrations (shop.0001_initial, shop.0002_sku); verified from zero",
        "chained_from": None,
    }


@pytest.mark.slow
def test_pull_request_on_a_moved_base_builds_on_the_previous_snapshot(
    scenario: Scenario,
) -> None:
    """The base moved on before any run saved its snapshot: the pull request's run restores
    the previous base's snapshot, applies the base's new migration, and saves the new one."""
    scenario.add_price()
    first = scenario.verify(SQLITE)
    old_sha = scenario.sha()
    scenario.repo.checkout("main")
    scenario.project.add_migration("shop", "0003_code", deps=[("shop", "0002_sku")], ops="""\
        migrations.AddField("product", "code", models.IntegerField(null=True)),
""")
    scenario.repo.commit("main moves on")
    scenario.repo.checkout("feature")
    scenario.repo.git("merge", "-q", "--no-edit", "-X", "ours", "main")
    scenario.project.add_migration(
        "shop", "0004_merge", deps=[("shop", "0003_code"), ("shop", "0003_price")]
    )
    scenario.repo.commit("merge main")
    new = [("shop", "0003_price"), ("shop", "0004_merge")]
    _full, cold, warm = three_runs(scenario, SQLITE, new_migrations=new)
    assert first.snapshot is not None and cold.snapshot is not None
    old, key = first.snapshot["key"], cold.snapshot["key"]
    assert key != old
    assert cold.snapshot == {
        "used": True, "key": key,
        "note": f"no snapshot for key {key}; built on snapshot {old}.snapshot (base "
                f"{old_sha[:12]}): applied 1 migration and saved a snapshot",
        "chained_from": {"key": old, "base": old_sha, "applied": 1},
    }
    assert [m.name for m in cold.migrations] == ["0003_code", "0003_price", "0004_merge"]
    assert phase_names(cold)[:7] == [
        "prepare", "load_project", "snapshot_key", "snapshot_link", "restore_base",
        "build_base", "save_snapshot"]
    assert warm.snapshot == restored(key)
    assert len(scenario.snapshots()) == 2


@pytest.mark.slow
def test_truncated_snapshot_falls_back_and_is_replaced(scenario: Scenario) -> None:
    scenario.add_price()
    full, _cold, _ = three_runs(scenario, SQLITE)
    [path] = scenario.snapshots()
    path.write_bytes(path.read_bytes()[:-100])
    fallback = scenario.verify(SQLITE)
    assert outcome(fallback) == outcome(full)
    assert fallback.snapshot is not None and not fallback.snapshot["used"]
    assert fallback.snapshot["note"].startswith(f"snapshot {path.name} is truncated or padded")
    assert fallback.snapshot["note"].endswith("built the base state from zero and saved a snapshot")
    again = scenario.verify(SQLITE)
    assert again.snapshot is not None and again.snapshot["used"]


@pytest.mark.slow
@pytest.mark.parametrize("engine", [p for p in engine_params() if p.id != "sqlite"])
def test_snapshot_of_another_engine_is_not_used(scenario: Scenario, engine: Engine) -> None:
    scenario.add_price()
    on_sqlite = scenario.verify(SQLITE)
    full = scenario.verify(engine, cache=False)
    server = scenario.verify(engine)
    assert outcome(server) == outcome(full)
    assert server.snapshot is not None and on_sqlite.snapshot is not None
    assert not server.snapshot["used"]
    assert server.snapshot["key"] != on_sqlite.snapshot["key"]


@pytest.mark.slow
def test_full_run_does_not_read_the_cache_but_refreshes_it(scenario: Scenario) -> None:
    scenario.add_price()
    cold = scenario.verify(SQLITE)
    [path] = scenario.snapshots()
    path.write_bytes(b"garbage")
    full = scenario.verify(SQLITE, full=True)
    assert cold.snapshot is not None
    assert full.snapshot == {
        "used": False, "key": cold.snapshot["key"],
        "note": "--full: the cache was not read; built the base state from zero and saved "
                "a snapshot",
        "chained_from": None,
    }
    assert scenario.verify(SQLITE).snapshot == restored(cold.snapshot["key"])


@pytest.mark.slow
def test_configured_database_is_never_touched_nor_snapshotted(scenario: Scenario) -> None:
    configured = scenario.repo.root / "db.sqlite3"
    with sqlite3.connect(configured) as conn:
        conn.execute("CREATE TABLE secret (value TEXT)")
        conn.execute("INSERT INTO secret VALUES ('TOP-SECRET-ROW')")
    conn.close()
    before = configured.read_bytes()
    scenario.add_price()
    scenario.verify(SQLITE)
    warm = scenario.verify(SQLITE)
    assert warm.snapshot is not None and warm.snapshot["used"]
    assert configured.read_bytes() == before
    [path] = scenario.snapshots()
    assert b"TOP-SECRET-ROW" not in path.read_bytes()
    assert b"secret" not in path.read_bytes()


FIELD_BASE = """\
from django.db import models


class Base(models.Field):
    def db_type(self, connection):
        return {db_type!r}
"""
FIELDS = """\
from shop.basefield import Base


class Money(Base):
    pass
"""
ADD_AMOUNT = """\
        migrations.AddField("product", "amount", shop.fields.Money(null=True)),
"""


def money_in_base(project: DjangoProject) -> None:
    """The base's 0002_sku adds a field whose ``db_type`` comes from a base class that lives in
    another module than the field's own class."""
    project.write("shop/basefield.py", FIELD_BASE.format(db_type="varchar(10)"))
    project.write("shop/fields.py", FIELDS)
    project.write("shop/utils.py", "ANSWER = 42\n")
    path = project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")],
                                 ops=ADD_SKU + ADD_AMOUNT)
    project.write(path, "import shop.fields\n" + (project.root / path).read_text())


def column_type(result: VerifyResult, table: str, column: str) -> str:
    assert result.schema is not None
    [found] = [c[1] for c in result.schema["tables"][table]["columns"] if c[0] == column]
    return str(found)


def assert_rebuilt(
    scenario: Scenario, warm: VerifyResult, full: VerifyResult, old_key: str, reason: str
) -> None:
    """The key changed: the snapshot of the old key is neither restored nor built on (it
    holds the same migrations, but ``reason``), and the base is built again from zero."""
    assert outcome(warm) == outcome(full)
    assert warm.snapshot is not None
    key = warm.snapshot["key"]
    assert key != old_key
    assert warm.snapshot == {
        "used": False, "key": key,
        "note": f"no snapshot for key {key}; snapshot {old_key}.snapshot (base "
                f"{scenario.sha()[:12]}) cannot be built on: {reason}; built the base state "
                "from zero and saved a snapshot",
        "chained_from": None,
    }


@pytest.mark.slow
def test_base_class_of_a_field_in_another_module_is_in_the_key(private_tmp: Path) -> None:
    """``Money`` lives in shop/fields.py; the column type comes from its base class in
    shop/basefield.py. A branch changing only the base class changes the base state."""
    scenario = Scenario(private_tmp, base=money_in_base)
    scenario.add_price()
    first = scenario.verify(SQLITE)
    assert first.snapshot is not None
    assert column_type(first, "shop_product", "amount") == "varchar(10)"
    scenario.project.write("shop/utils.py", "ANSWER = 43\n")  # imported by no base code
    scenario.repo.commit("unrelated module")
    assert scenario.verify(SQLITE).snapshot == restored(first.snapshot["key"])
    scenario.project.write("shop/basefield.py", FIELD_BASE.format(db_type="integer"))
    scenario.repo.commit("base class changes the column type")
    full = scenario.verify(SQLITE, cache=False)
    warm = scenario.verify(SQLITE)
    assert column_type(full, "shop_product", "amount") == "INTEGER"
    assert_rebuilt(scenario, warm, full, first.snapshot["key"],
                   "project code its base state depends on changed: shop/basefield.py")


ROUTER = """\
class ShopElsewhere:
    def allow_migrate(self, db, app_label, **hints):
        return {allow}
"""
ROUTER_SETTING = "DATABASE_ROUTERS = ['routers.ShopElsewhere']\n"


def router_in_base(project: DjangoProject) -> None:
    project.write("routers.py", ROUTER.format(allow="None"))
    project.write_settings(ROUTER_SETTING)


def router_added(project: DjangoProject) -> None:
    project.write("routers.py", ROUTER.format(allow="app_label != 'shop'"))
    project.write_settings(ROUTER_SETTING)


def router_changed(project: DjangoProject) -> None:
    project.write("routers.py", ROUTER.format(allow="app_label != 'shop'"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("base", "branch", "reason"),
    [
        pytest.param(None, router_added, "settings that shape the schema differ: "
                     "DATABASE_ROUTERS, DATABASE_ROUTERS classes",
                     id="branch adds a router to the settings"),
        pytest.param(router_in_base, router_changed,
                     "project code its base state depends on changed: routers.py",
                     id="branch changes the router's module"),
    ],
)
def test_database_routers_are_in_the_key(
    private_tmp: Path, base: Callable[[DjangoProject], None] | None,
    branch: Callable[[DjangoProject], None], reason: str,
) -> None:
    """A router that keeps the app off the database: a fresh run creates none of its tables."""
    scenario = Scenario(private_tmp, base=base)
    scenario.add_price()
    first = scenario.verify(SQLITE)
    assert first.snapshot is not None and "shop_product" in (first.schema or {})["tables"]
    branch(scenario.project)
    scenario.repo.commit("router")
    full = scenario.verify(SQLITE, cache=False)
    warm = scenario.verify(SQLITE)
    assert "shop_product" not in (full.schema or {})["tables"]
    assert_rebuilt(scenario, warm, full, first.snapshot["key"], reason)


@pytest.mark.slow
def test_setting_read_by_a_base_migration_is_in_the_key(private_tmp: Path) -> None:
    """The file is the same, the operation is not: ``max_length`` comes from the settings."""
    def base(project: DjangoProject) -> None:
        project.write_settings("CODE_LENGTH = 10\n")
        path = project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")], ops="""\
        migrations.AddField("product", "sku", models.CharField(
            max_length=settings.CODE_LENGTH, default="")),
""")
        project.write(path, "from django.conf import settings\n"
                      + (project.root / path).read_text())

    scenario = Scenario(private_tmp, base=base)
    scenario.add_price()
    first = scenario.verify(SQLITE)
    assert first.snapshot is not None
    scenario.project.write_settings("CODE_LENGTH = 20\n")
    scenario.repo.commit("longer codes")
    full = scenario.verify(SQLITE, cache=False)
    warm = scenario.verify(SQLITE)
    assert column_type(full, "shop_product", "sku") == "varchar(20)"
    assert_rebuilt(scenario, warm, full, first.snapshot["key"],
                   "the operations of its migration shop.0002_sku differ as loaded (a value "
                   "read from the settings or the environment)")


# --- The store on its own. ---


def saved(tmp_path: Path, payload: bytes = b"database bytes" * 100) -> tuple[SnapshotStore, Path]:
    store = SnapshotStore(tmp_path / "cache")
    return store, store.save("k1", SQLITE_INFO, payload, "abc123")


def test_store_round_trip_leaves_only_the_snapshot(tmp_path: Path) -> None:
    store, _path = saved(tmp_path)
    assert store.load("k1", SQLITE_INFO) == b"database bytes" * 100
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["k1.snapshot"]


def test_snapshot_is_readable_by_every_user(tmp_path: Path) -> None:
    """``actions/cache`` runs as the runner user; the Action's container writes as root."""
    previous = os.umask(0o077)
    try:
        _store, path = saved(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_save_removes_temporary_files_of_killed_runs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    old, recent = cache / ".k0.abc123.tmp", cache / ".k0.def456.tmp"
    for path in (old, recent):
        path.write_bytes(b"half a snapshot")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    saved(tmp_path)
    assert sorted(p.name for p in cache.iterdir()) == [recent.name, "k1.snapshot"]


@pytest.mark.parametrize(
    ("damage", "note"),
    [
        pytest.param(lambda data: data[:-1], "snapshot k1.snapshot is truncated or padded: "
                     "1399 bytes of data, its manifest says 1400", id="truncated"),
        pytest.param(lambda data: data[:-1] + b"X", "snapshot k1.snapshot is corrupt: its "
                     "checksum differs", id="bad checksum"),
        pytest.param(lambda data: data[:40], "snapshot k1.snapshot is corrupt: its manifest "
                     "cannot be read", id="manifest cut"),
        pytest.param(lambda data: b"PK" + data, "snapshot k1.snapshot is not a "
                     "django-migration-ci snapshot", id="not a snapshot"),
    ],
)
def test_damaged_snapshot_is_refused(tmp_path: Path, damage: Any, note: str) -> None:
    store, path = saved(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnapshotUnusable) as caught:
        store.load("k1", SQLITE_INFO)
    assert caught.value.message == note


def test_snapshot_of_another_server_is_refused(tmp_path: Path) -> None:
    store, _ = saved(tmp_path)
    with pytest.raises(SnapshotUnusable) as caught:
        store.load("k1", DatabaseInfo("postgresql", "15.2"))
    assert caught.value.message == (
        "snapshot k1.snapshot is for database {'vendor': 'sqlite', 'version': '3.40.1'}, "
        "not {'vendor': 'postgresql', 'version': '15.2'}"
    )


def test_missing_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SnapshotUnusable) as caught:
        SnapshotStore(tmp_path).load("k2", SQLITE_INFO)
    assert caught.value.message == "no snapshot for key k2"
