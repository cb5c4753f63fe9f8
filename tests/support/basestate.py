"""A Django project in a git repository whose base-state snapshots a test compares.

``Scenario``: ``main`` is the base, ``feature`` (checked out) the branch; ``verify`` runs the
verify glue with the snapshot cache on or off. ``outcome`` is what must not differ between a
run from zero and one that starts from a snapshot.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.snapshot import BaseState
from migration_ci.activities.verify import VerifyResult, verify
from migration_ci.databases.throwaway import DatabaseChoice, DatabaseInfo
from migration_ci.project.session import ProjectSpec
from tests.support.djangoproj import CREATE_PRODUCT, PRODUCT_MODELS, DjangoProject, Engine
from tests.support.gitrepo import GitRepo

SQLITE = Engine("sqlite", None)
SQLITE_INFO = DatabaseInfo("sqlite", "3.40.1")

ADD_SKU = """\
        migrations.AddField("product", "sku", models.CharField(max_length=10, default="")),
"""
ADD_PRICE = """\
        migrations.AddField("product", "price", models.IntegerField(default=0, db_index=True)),
"""
BAD_SQL = """\
        migrations.RunSQL("UPDATE no_such_table SET x = 1", migrations.RunSQL.noop),
"""
SKU = '    sku = models.CharField(max_length=10, default="")\n'
PRICE = "    price = models.IntegerField(default=0, db_index=True)\n"


class Scenario:
    """A git repository holding a Django project: ``main`` is the base, ``feature`` the branch."""

    def __init__(
        self, root: Path, *, base: Callable[[DjangoProject], None] | None = None
    ) -> None:
        self.repo = GitRepo(root / "repo")
        self.project = DjangoProject(self.repo.root)
        self.cache = root / "cache"
        # One database name for every run: server errors quote it.
        self.run_id = secrets.token_hex(4)
        self.project.add_app("shop", PRODUCT_MODELS + SKU)
        self.project.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
        self.project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")],
                                   ops=ADD_SKU)
        if base is not None:
            base(self.project)
        self.repo.commit("base")
        self.repo.branch("feature")

    def add_price(self, ops: str = ADD_PRICE, after: str = "0002_sku") -> None:
        self.project.add_migration("shop", "0003_price", deps=[("shop", after)], ops=ops)
        self.project.set_models("shop", PRODUCT_MODELS + SKU + PRICE)
        self.repo.commit("price")

    def verify(self, engine: Engine, *, cache: bool = True, **kwargs: Any) -> VerifyResult:
        spec = ProjectSpec.from_options(settings=None, project_dir=self.repo.root, environ={})
        kwargs.setdefault("new_migrations", [("shop", "0003_price")])
        return verify(
            spec, database=DatabaseChoice(url=engine.url), run_id=self.run_id,
            base=BaseState.from_ref(self.repo.root, "main"),
            cache_dir=self.cache if cache else None, describe_schema=True, **kwargs,
        )

    def sha(self, ref: str = "main") -> str:
        return self.repo.git("rev-parse", ref)

    def snapshots(self) -> list[Path]:
        return sorted(self.cache.glob("*.snapshot")) if self.cache.exists() else []


def outcome(result: VerifyResult) -> tuple[Any, ...]:
    """What must not differ between a warm, a cold and a full run."""
    failure = result.failure
    return (
        result.ok,
        None if failure is None else (failure.app_label, failure.name, failure.operation,
                                      failure.error, failure.sql, failure.direction),
        result.irreversible, result.missing_changes, result.schema,
    )


def restored(key: str | None) -> dict[str, Any]:
    """The report's snapshot part when the snapshot of the base's key was restored."""
    return {"used": True, "key": key, "note": "restored from cache", "chained_from": None}


def phase_names(result: VerifyResult) -> list[str]:
    return [p.name for p in result.phases]


def three_runs(scenario: Scenario, engine: Engine, **kwargs: Any) -> list[VerifyResult]:
    """Full fresh run, then cold, then warm; the first and last outcomes equal the middle."""
    full = scenario.verify(engine, cache=False, **kwargs)
    cold = scenario.verify(engine, **kwargs)
    warm = scenario.verify(engine, **kwargs)
    assert outcome(cold) == outcome(full)
    assert outcome(warm) == outcome(full)
    return [full, cold, warm]


def use_private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of the run (SQLite databases, project copies) under ``tmp_path/tmp``."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return tmp_path
