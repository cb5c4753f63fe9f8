"""Chained snapshots: a base that moved on is built on the previous base's snapshot, and gives
the answer of a build from zero.

Each scenario moves ``main`` on and verifies it with the cache (built on the earlier snapshot,
or from zero saying why not) and without (the full fresh run, the ground truth), then compares
success, failure and the final schema read by introspection.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.snapshot_link import BaseParts, find_code_change, find_links
from migration_ci.activities.verify import VerifyResult
from migration_ci.databases.snapshots import SnapshotStore, StoredSnapshot, read_manifest
from migration_ci.databases.throwaway import DatabaseInfo
from tests.support.basestate import (
    ADD_PRICE,
    ADD_SKU,
    PRICE,
    SKU,
    SQLITE,
    Scenario,
    outcome,
    restored,
    use_private_tmp,
)
from tests.support.djangoproj import PRODUCT_MODELS, DjangoProject, Engine, engine_params

CODE = "    code = models.IntegerField(null=True, db_index=True)\n"
BIG_CODE = "    code = models.BigIntegerField(null=True, db_index=True)\n"
ORDER = """
class Order(models.Model):
    product = models.ForeignKey(Product, models.CASCADE)
    quantity = models.IntegerField(default=1)
"""
NOTE = '    note = models.CharField(max_length=20, default="")\n'
MOVES = [
    # (migrations the base adds, the models after them)
    ([("0003_code", """\
        migrations.AddField("product", "code", models.IntegerField(null=True, db_index=True)),
""")], PRODUCT_MODELS + SKU + CODE),
    ([("0004_order", """\
        migrations.CreateModel("Order", [
            ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                    verbose_name="ID")),
            ("product", models.ForeignKey(on_delete=models.CASCADE, to="shop.product")),
            ("quantity", models.IntegerField(default=1)),
        ]),
""")], PRODUCT_MODELS + SKU + CODE + ORDER),
    ([("0005_order_note", """\
        migrations.AddField("order", "note", models.CharField(max_length=20, default="")),
"""), ("0006_alter_code", """\
        migrations.AlterField("product", "code", models.BigIntegerField(null=True, db_index=True)),
""")], PRODUCT_MODELS + SKU + BIG_CODE + ORDER + NOTE),
]


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    return Scenario(use_private_tmp(tmp_path, monkeypatch))


def move_main(scenario: Scenario, migrations: list[tuple[str, str]], models: str) -> None:
    """Commit ``migrations`` on ``main`` (each after the one before) and check ``main`` out."""
    scenario.repo.checkout("main")
    leaf = scenario.repo.git("ls-tree", "--name-only", "HEAD", "shop/migrations/")
    previous = max(Path(p).stem for p in leaf.splitlines() if Path(p).stem[:4].isdigit())
    for name, ops in migrations:
        scenario.project.add_migration("shop", name, deps=[("shop", previous)], ops=ops)
        previous = name
    scenario.project.set_models("shop", models)
    scenario.repo.commit("main moves on")


def verify_main(scenario: Scenario, engine: Engine, cache: bool = True) -> VerifyResult:
    """The run on a push to ``main``: the base judged against itself, nothing is new."""
    return scenario.verify(engine, cache=cache, new_migrations=[])


def key_of(result: VerifyResult) -> str:
    assert result.snapshot is not None
    return str(result.snapshot["key"])


def chained(key: str, old: str, old_sha: str, applied: int) -> dict[str, Any]:
    """The report's snapshot part of a base built on the snapshot ``old``."""
    migrations = f"{applied} migration{'s' * (applied != 1)}"
    return {
        "used": True, "key": key,
        "note": f"no snapshot for key {key}; built on snapshot {old}.snapshot (base "
                f"{old_sha[:12]}): applied {migrations} and saved a snapshot",
        "chained_from": {"key": old, "base": old_sha, "applied": applied},
    }


def from_zero(key: str, reason: str) -> dict[str, Any]:
    return {
        "used": False, "key": key,
        "note": f"no snapshot for key {key}; {reason}; built the base state from zero and "
                "saved a snapshot",
        "chained_from": None,
    }


@pytest.mark.slow
@pytest.mark.parametrize("engine", engine_params())
def test_three_moves_each_built_on_the_one_before(scenario: Scenario, engine: Engine) -> None:
    """Two pushes to main, each built on the previous push's snapshot; then main moves again
    and a pull request's run builds on the last one before verifying the branch. Every run
    gives the schema and result of a run from zero."""
    scenario.repo.checkout("main")
    keys, shas = [key_of(verify_main(scenario, engine))], [scenario.sha()]
    for migrations, models in MOVES[:2]:
        move_main(scenario, migrations, models)
        full = verify_main(scenario, engine, cache=False)
        result = verify_main(scenario, engine)
        assert full.ok and outcome(result) == outcome(full)
        assert result.snapshot == chained(key_of(result), keys[-1], shas[-1], len(migrations))
        assert [m.name for m in result.migrations] == [name for name, _ in migrations]
        keys.append(key_of(result))
        shas.append(scenario.sha())
    move_main(scenario, *MOVES[2])
    scenario.repo.checkout("feature")
    scenario.repo.git("merge", "-q", "--no-edit", "main")
    scenario.project.add_migration("shop", "0007_price", deps=[("shop", "0006_alter_code")],
                                   ops=ADD_PRICE)
    scenario.project.set_models("shop", MOVES[2][1].replace(SKU, SKU + PRICE))
    scenario.repo.commit("price")
    new = [("shop", "0007_price")]
    full = scenario.verify(engine, cache=False, new_migrations=new)
    pull = scenario.verify(engine, new_migrations=new)
    again = scenario.verify(engine, new_migrations=new)
    assert full.ok and outcome(pull) == outcome(full) and outcome(again) == outcome(full)
    assert pull.snapshot == chained(key_of(pull), keys[-1], shas[-1], 2)
    assert [m.name for m in pull.migrations] == ["0005_order_note", "0006_alter_code",
                                                 "0007_price"]
    assert again.snapshot == restored(key_of(pull))
    # Four snapshots were saved; the oldest was pruned.
    assert [p.stem for p in scenario.snapshots()] == sorted([*keys[1:], key_of(pull)])


def edit_sku(project: DjangoProject) -> None:
    project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")],
                          ops=ADD_SKU.replace("max_length=10", "max_length=12"))
    project.set_models("shop", PRODUCT_MODELS + SKU.replace("max_length=10", "max_length=12"))


def replace_sku(project: DjangoProject) -> None:
    (project.root / "shop/migrations/0002_sku.py").unlink()
    project.add_migration("shop", "0002_sku_again", deps=[("shop", "0001_initial")],
                          ops=ADD_SKU)


def change_time_zone(project: DjangoProject) -> None:
    project.write_settings("TIME_ZONE = 'Europe/Paris'\n")
    add_code(project)


def add_code(project: DjangoProject, extra: str = "") -> None:
    project.add_migration("shop", "0003_code", deps=[("shop", "0002_sku")], extra=extra,
                          ops=MOVES[0][0][0][1])
    project.set_models("shop", MOVES[0][1])


def add_code_first(project: DjangoProject) -> None:
    """A new migration that Django applies before the held 0002_sku."""
    project.add_migration("shop", "0003_code", deps=[("shop", "0001_initial")],
                          ops=MOVES[0][0][0][1], extra="    run_before = [('shop', '0002_sku')]\n")
    project.set_models("shop", MOVES[0][1])


def squash(project: DjangoProject) -> None:
    from tests.support.djangoproj import CREATE_PRODUCT

    project.add_migration(
        "shop", "0001_squashed_0002_sku", ops=CREATE_PRODUCT + ADD_SKU,
        extra="    replaces = [('shop', '0001_initial'), ('shop', '0002_sku')]\n")


FIELD_BASE = """\
from django.db import models


class Code(models.IntegerField):
    def db_type(self, connection):
        return {db_type!r}
"""


def code_field_in_base(project: DjangoProject) -> None:
    project.write("shop/fields.py", FIELD_BASE.format(db_type="integer"))
    path = project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")],
                                 ops=ADD_SKU + '        migrations.AddField("product", "amount", '
                                 "shop.fields.Code(null=True)),\n")
    project.write(path, "import shop.fields\n" + (project.root / path).read_text())


def change_code_field(project: DjangoProject) -> None:
    project.write("shop/fields.py", FIELD_BASE.format(db_type="bigint"))
    add_code(project)


def settings_in_base(project: DjangoProject) -> None:
    project.write_settings("CODE_LENGTH = 10\n")
    path = project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")], ops="""\
        migrations.AddField("product", "sku", models.CharField(
            max_length=settings.CODE_LENGTH, default="")),
""")
    project.write(path, "from django.conf import settings\n" + (project.root / path).read_text())


def change_code_length(project: DjangoProject) -> None:
    project.write_settings("CODE_LENGTH = 20\n")
    add_code(project)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("base", "move", "reason"),
    [
        pytest.param(None, edit_sku, "its migration file shop/migrations/0002_sku.py differs "
                     "on this base", id="an edited base migration"),
        pytest.param(None, replace_sku, "its migration file shop/migrations/0002_sku.py is "
                     "not on this base", id="a deleted base migration"),
        pytest.param(None, change_time_zone, "settings that shape the schema differ: "
                     "TIME_ZONE", id="a changed schema setting"),
        pytest.param(settings_in_base, change_code_length, "the operations of its migration "
                     "shop.0002_sku differ as loaded (a value read from the settings or the "
                     "environment)", id="a setting a migration reads"),
        pytest.param(code_field_in_base, change_code_field, "project code its base state "
                     "depends on changed: shop/fields.py", id="a changed code module"),
        pytest.param(None, add_code_first, "migration shop.0003_code runs before its "
                     "migration shop.0002_sku", id="a new migration ordered before an old one"),
        pytest.param(None, squash, "migration shop.0001_squashed_0002_sku replaces "
                     "migrations it holds", id="a squash of held migrations"),
    ],
)
def test_base_that_cannot_build_on_the_snapshot_is_built_from_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: Callable[[DjangoProject], None] | None,
    move: Callable[[DjangoProject], None], reason: str,
) -> None:
    scenario = Scenario(use_private_tmp(tmp_path, monkeypatch), base=base)
    scenario.repo.checkout("main")
    old = key_of(verify_main(scenario, SQLITE))
    old_sha = scenario.sha()
    move(scenario.project)
    scenario.repo.commit("main moves on")
    full = verify_main(scenario, SQLITE, cache=False)
    result = verify_main(scenario, SQLITE)
    assert outcome(result) == outcome(full)
    assert result.snapshot == from_zero(
        key_of(result), f"snapshot {old}.snapshot (base {old_sha[:12]}) cannot be built on: "
        f"{reason}")


def moved_once(scenario: Scenario) -> tuple[str, str]:
    """A snapshot of main, then main moves on by one migration; the snapshot's key and base."""
    scenario.repo.checkout("main")
    old = key_of(verify_main(scenario, SQLITE))
    old_sha = scenario.sha()
    move_main(scenario, *MOVES[0])
    return old, old_sha


@pytest.mark.slow
def test_corrupt_link_is_not_built_on(scenario: Scenario) -> None:
    old, _ = moved_once(scenario)
    path = scenario.cache / f"{old}.snapshot"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    full = verify_main(scenario, SQLITE, cache=False)
    result = verify_main(scenario, SQLITE)
    assert outcome(result) == outcome(full)
    assert result.snapshot == from_zero(
        key_of(result), f"snapshot {old}.snapshot is corrupt: its checksum differs")


@pytest.mark.slow
def test_link_whose_database_differs_from_its_manifest_is_not_built_on(
    scenario: Scenario,
) -> None:
    """A whole, checksummed file whose database lacks a migration its manifest lists:
    building on it would skip that migration."""
    old, old_sha = moved_once(scenario)
    path = scenario.cache / f"{old}.snapshot"
    manifest = read_manifest(path)
    info = DatabaseInfo(**manifest["database"])
    database = scenario.cache.parent / "forged.sqlite3"
    database.write_bytes(SnapshotStore(scenario.cache).load(old, info))
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM django_migrations WHERE name = '0002_sku'")
    connection.close()
    SnapshotStore(scenario.cache).save(old, info, database.read_bytes(), old_sha,
                                       manifest["record"])
    full = verify_main(scenario, SQLITE, cache=False)
    result = verify_main(scenario, SQLITE)
    assert outcome(result) == outcome(full)
    assert result.snapshot == from_zero(
        key_of(result), f"snapshot {old}.snapshot (base {old_sha[:12]}) cannot be built on: "
        "its database does not record the migrations its manifest lists: it lacks "
        "shop.0002_sku")


@pytest.mark.slow
def test_full_run_does_not_build_on_earlier_snapshots(scenario: Scenario) -> None:
    moved_once(scenario)
    result = scenario.verify(SQLITE, new_migrations=[], full=True)
    assert result.snapshot == {
        "used": False, "key": key_of(result), "chained_from": None,
        "note": "--full: the cache was not read; built the base state from zero and saved "
                "a snapshot",
    }


# --- Which snapshots a base can build on, from their manifests alone. ---

ENVIRONMENT = {
    "format": 2, "tool": "0.1.0", "django": "5.2.1",
    "database": {"vendor": "postgresql", "version": "15.4"},
    "settings": {"INSTALLED_APPS": "a1", "TIME_ZONE": "b2"}, "external": {"auth": "c3"},
}
HELD = BaseParts(
    ENVIRONMENT, {"shop/migrations/0001_initial.py": "f1", "shop/migrations/__init__.py": "e0"},
    {"shop.0001_initial": "o1"}, {"shop/fields.py": "m1"},
)
NOW = BaseParts(
    ENVIRONMENT, {**HELD.files, "shop/migrations/0002_sku.py": "f2"},
    {**HELD.operations, "shop.0002_sku": "o2"}, {"shop/fields.py": "m1"},
)
PG = DatabaseInfo("postgresql", "15.4")


def stored(
    name: str, parts: BaseParts = HELD, *, vendor: str = "postgresql", **manifest: Any
) -> StoredSnapshot:
    record = {"parts": parts.to_dict(), "applied": sorted(parts.operations)}
    return StoredSnapshot(Path(f"/cache/{name}.snapshot"), {
        "format": 2, "tool": "django-migration-ci 0.1.0", "base": "abcdef0123456789",
        "database": {"vendor": vendor, "version": "15.4"}, "record": record, **manifest})


def with_environment(**changes: Any) -> BaseParts:
    return BaseParts({**ENVIRONMENT, **changes}, HELD.files, HELD.operations, HELD.imported)


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        pytest.param(stored("k0", with_environment(tool="0.0.9")),
                     "it was made with django-migration-ci 0.0.9, this run has 0.1.0",
                     id="another version of this tool"),
        pytest.param(stored("k0", with_environment(django="4.2.20")),
                     "it was made with Django 4.2.20, this run has 5.2.1", id="another Django"),
        pytest.param(stored("k0", with_environment(
            database={"vendor": "postgresql", "version": "15.3"})),
            "it was made on postgresql 15.3, this run uses postgresql 15.4",
            id="another server version"),
        pytest.param(stored("k0", with_environment(settings={"INSTALLED_APPS": "a0"})),
                     "settings that shape the schema differ: INSTALLED_APPS, TIME_ZONE",
                     id="changed and missing settings"),
        pytest.param(stored("k0", with_environment(external={"auth": "c2"})),
                     "migrations of apps outside the project differ: auth",
                     id="an installed app's migrations"),
        pytest.param(stored("k0", BaseParts(ENVIRONMENT, {"shop/migrations/__init__.py": "e1"},
                                            {}, {})),
                     "its migration file shop/migrations/__init__.py differs on this base",
                     id="a file in a migrations package"),
        pytest.param(stored("k0", BaseParts(ENVIRONMENT, HELD.files,
                                            {"shop.0001_first": "o1"}, {})),
                     "its migration shop.0001_first is not loaded on this base",
                     id="a migration no longer loaded"),
        pytest.param(stored("k0", format=1, record=None),
                     "it has format 1, not 2 (made by django-migration-ci 0.1.0)",
                     id="a snapshot of the first format"),
        pytest.param(stored("k0", record={"parts": {"files": {}}}),
                     "its manifest does not say which migrations it holds",
                     id="a manifest without its record"),
    ],
)
def test_snapshot_that_cannot_be_built_on_says_why(snapshot: StoredSnapshot, reason: str) -> None:
    links, rejected = find_links([snapshot], PG, NOW)
    assert (links, rejected) == (
        [], [f"snapshot k0.snapshot (base abcdef012345) cannot be built on: {reason}"])


def test_snapshot_holding_most_of_the_base_is_built_on_first() -> None:
    """Newest first: k3 (another engine), k2 (this base's own key: not a link), k1, k0."""
    smaller = BaseParts(ENVIRONMENT, {}, {}, {})
    links, rejected = find_links(
        [stored("k3", vendor="mysql"), stored(NOW.key, NOW), stored("k1", smaller),
         stored("k0")], PG, NOW)
    assert [(link.key, link.applied) for link in links] == [
        ("k0", ("shop.0001_initial",)), ("k1", ())]
    assert rejected == []


def test_project_code_of_the_held_migrations_is_compared() -> None:
    assert find_code_change({"shop/fields.py": "m1"}, {"shop/fields.py": "m1"}) is None
    assert find_code_change(
        {"shop/fields.py": "m1", "shop/old.py": "m2"}, {"shop/fields.py": "m9", "shop/new.py": "m3"}
    ) == "project code its base state depends on changed: shop/fields.py, shop/new.py, shop/old.py"


# --- The folder stays bounded. ---


def save_at(store: SnapshotStore, key: str, info: DatabaseInfo, mtime: int) -> Path:
    path = store.save(key, info, b"payload " + key.encode(), "abc123", {})
    os.utime(path, (mtime, mtime))
    return path


def test_saving_keeps_the_newest_snapshots_of_each_vendor(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, keep=2)
    sqlite = DatabaseInfo("sqlite", "3.40.1")
    for number, mtime in enumerate((100, 300, 200)):
        save_at(store, f"pg{number}", PG, mtime)
    save_at(store, "lite0", sqlite, 50)
    (tmp_path / "junk.snapshot").write_bytes(b"not a snapshot")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junk.snapshot", "lite0.snapshot", "pg1.snapshot", "pg2.snapshot"]
    store.save("lite1", sqlite, b"payload", "abc123", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lite0.snapshot", "lite1.snapshot", "pg1.snapshot", "pg2.snapshot"]


def test_a_used_snapshot_is_kept(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, keep=2)
    save_at(store, "old", PG, 100)
    save_at(store, "newer", PG, 200)
    store.touch("old")
    store.save("newest", PG, b"payload", "abc123", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newest.snapshot", "old.snapshot"]


def test_manifest_is_read_without_the_payload(tmp_path: Path) -> None:
    path = SnapshotStore(tmp_path).save("k1", PG, b"\n" * 10, "abc123", {"parts": {}})
    assert read_manifest(path)["record"] == {"parts": {}}
    assert [s.key for s in SnapshotStore(tmp_path).list_newest_first()] == ["k1"]
