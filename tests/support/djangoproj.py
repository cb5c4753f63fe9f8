"""A small real Django project written to disk, for tests that run Django on it.

    project = DjangoProject(tmp_path / "proj")           # settings module "proj_settings"
    project.add_app("shop", models='''
        class Product(models.Model):
            name = models.CharField(max_length=50)
    ''')
    project.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
    project.add_migration("shop", "0002_sku", deps=[("shop", "0001_initial")], ops="...")

The layout is flat: ``<root>/proj_settings.py``, ``<root>/manage.py`` and one package per app
(``<root>/shop/{__init__,models}.py``, ``<root>/shop/migrations/``). ``INSTALLED_APPS`` holds
only the apps added (no django.contrib apps, so runs stay fast); it is rewritten on each
``add_app``. ``DATABASES`` defaults to an SQLite file ``<root>/db.sqlite3`` (never created by
the helper). The root may be a ``GitRepo`` root: the helper only writes files.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.support.gitrepo import migration

SETTINGS_MODULE = "proj_settings"


class DjangoProject:
    """Write a Django project's settings, apps, models and migrations under ``root``."""

    def __init__(
        self, root: Path, *, databases: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.root = root
        self.apps: list[str] = []
        self.databases = dict(databases or {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(root / "db.sqlite3")}
        })
        root.mkdir(parents=True, exist_ok=True)
        self.write("manage.py", MANAGE_PY)
        self.write_settings()

    @property
    def settings_module(self) -> str:
        return SETTINGS_MODULE

    def write(self, path: str, content: str) -> Path:
        """Write ``content`` (dedented) to ``root/path``; returns the file's path."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return target

    def write_settings(self, extra: str = "") -> None:
        """(Re)write the settings module; ``extra`` is appended verbatim."""
        self.write(
            f"{SETTINGS_MODULE}.py",
            f"SECRET_KEY = 'test'\nUSE_TZ = True\n"
            f"DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n"
            f"INSTALLED_APPS = {self.apps!r}\nDATABASES = {self.databases!r}\n"
            + textwrap.dedent(extra),
        )

    def set_databases(self, databases: Mapping[str, Mapping[str, Any]]) -> None:
        self.databases = dict(databases)
        self.write_settings()

    def add_app(self, label: str, models: str = "") -> None:
        """A package ``label`` with ``models.py`` (``from django.db import models`` prepended)
        and an empty ``migrations`` package."""
        self.write(f"{label}/__init__.py", "")
        self.set_models(label, models)
        self.write(f"{label}/migrations/__init__.py", "")
        self.apps.append(label)
        self.write_settings()

    def set_models(self, label: str, models: str) -> None:
        self.write(
            f"{label}/models.py", "from django.db import models\n\n\n" + textwrap.dedent(models)
        )

    def add_migration(
        self, app: str, name: str, *, deps: Iterable[tuple[str, str]] = (), ops: str = "",
        extra: str = "",
    ) -> str:
        """Write ``app/migrations/name.py`` (see ``gitrepo.migration``); returns its path."""
        path = f"{app}/migrations/{name}.py"
        self.write(path, migration(list(deps), ops, extra))
        return path

    def listing(self) -> dict[str, bytes]:
        """Every file under ``root`` and its bytes: compare before/after to prove no change."""
        return {
            p.relative_to(self.root).as_posix(): p.read_bytes()
            for p in sorted(self.root.rglob("*")) if p.is_file()
        }


MANAGE_PY = f"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{SETTINGS_MODULE}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

CREATE_PRODUCT = """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.AutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID",
                )),
                ("name", models.CharField(max_length=50)),
            ],
        ),
"""
"""Operations of ``shop/migrations/0001_initial.py`` for ``PRODUCT_MODELS``."""

PRODUCT_MODELS = """
class Product(models.Model):
    name = models.CharField(max_length=50)
"""


# --- Real database servers for tests -------------------------------------------------------

ENGINE_URL_VARIABLES = {
    "postgresql": "MIGRATION_CI_TEST_POSTGRES_URL",
    "mysql": "MIGRATION_CI_TEST_MYSQL_URL",
}


def engine_params() -> list[Any]:
    """``pytest.param`` per engine: sqlite (url None) always; postgresql and mysql with the
    server URL from the environment, skipped with a reason when unset.

        @pytest.mark.parametrize("engine", engine_params())
        def test_x(engine: Engine): ...
    """
    import os

    import pytest

    params = [pytest.param(Engine("sqlite", None), id="sqlite")]
    for vendor, variable in ENGINE_URL_VARIABLES.items():
        url = os.environ.get(variable)
        marks = [getattr(pytest.mark, "postgres" if vendor == "postgresql" else "mysql")]
        if not url:
            marks.append(pytest.mark.skip(reason=f"{variable} is not set"))
        params.append(pytest.param(Engine(vendor, url), id=vendor, marks=marks))
    return params


class Engine:
    """A database engine under test and, for servers, raw driver access to check on it."""

    def __init__(self, vendor: str, url: str | None) -> None:
        self.vendor = vendor
        self.url = url

    def __repr__(self) -> str:
        return f"Engine({self.vendor!r})"

    def settings(self, name: str | None = None) -> dict[str, Any]:
        """A DATABASES entry on this server (``name`` replaces the URL's database)."""
        import dj_database_url

        assert self.url, "sqlite has no server"
        entry = dict(dj_database_url.parse(self.url))
        if name is not None:
            entry["NAME"] = name
        return entry

    def execute(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement with autocommit (``database``: default the URL's)."""
        entry = self.settings()
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(
                host=entry["HOST"], port=entry["PORT"] or 5432, user=entry["USER"],
                password=entry["PASSWORD"] or None, dbname=database or entry["NAME"],
                autocommit=True,
            ) as conn:
                cursor = conn.execute(sql)  # type: ignore[call-overload]
                return list(cursor.fetchall()) if cursor.description else []
        import MySQLdb

        conn = MySQLdb.connect(
            host=entry["HOST"], port=int(entry["PORT"] or 3306), user=entry["USER"],
            password=entry["PASSWORD"] or "", database=database or entry["NAME"],
            autocommit=True,
        )
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            conn.close()

    def database_names(self) -> set[str]:
        if self.vendor == "postgresql":
            rows = self.execute("SELECT datname FROM pg_database")
        else:
            rows = self.execute("SHOW DATABASES")
        return {str(row[0]) for row in rows}

    def create_database(self, name: str) -> None:
        quote = '"' if self.vendor == "postgresql" else "`"
        self.execute(f"CREATE DATABASE {quote}{name}{quote}")

    def drop_database(self, name: str) -> None:
        quote = '"' if self.vendor == "postgresql" else "`"
        self.execute(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")

    def tables(self, database: str) -> dict[str, list[tuple[Any, ...]]]:
        """Every table of ``database`` with all its rows: compare to prove nothing changed."""
        if self.vendor == "postgresql":
            names = self.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database
            )
        else:
            names = self.execute("SHOW TABLES", database)
        return {
            str(name): sorted(self.execute(f"SELECT * FROM {name}", database))
            for (name,) in sorted(names)
        }
