"""plan_collect.collect against Django itself: ``migrate --plan`` and ``sqlmigrate`` are the truth.

Each scenario writes a small project, really migrates a database to the base state, changes the
tree as a branch would, then compares our plan and SQL with what Django prints for that database.
``collect`` always runs in its own process with Django set up, never in the pytest process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
import pytest

from tests.support.gitrepo import migration

RUNNER = """
import json, sys
import django
django.setup()
from migration_ci.plan_collect import collect
print(json.dumps(collect(json.loads(sys.argv[1]))))
"""

REPO_ROOT = Path(__file__).resolve().parent.parent

SETTINGS = """
SECRET_KEY = "not-secret"
INSTALLED_APPS = ["shop", "inventory"]
DATABASES = {{"default": {database!r}}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
"""

PRODUCT = """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
            ],
        ),
"""


@dataclass
class Project:
    """A Django project on disk whose ``manage.py`` and ``collect`` use the same database."""

    root: Path
    database: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    def write(self, path: str, content: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONDONTWRITEBYTECODE": "1"}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), str(REPO_ROOT)])
        proc = subprocess.run(
            [sys.executable, *args], cwd=self.root, env=env,
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def manage(self, *args: str) -> str:
        return self.run("-m", "django", *args).stdout

    def collect(self, base_applied: list[tuple[str, str]], with_sql: bool = True) -> Any:
        payload = {"base_applied": [list(k) for k in base_applied], "with_sql": with_sql}
        return json.loads(self.run("-c", RUNNER, json.dumps(payload)).stdout)

    def applied(self) -> list[tuple[str, str]]:
        """Every migration node of the tree on disk, as the static engine would list them."""
        keys = []
        for app in ("shop", "inventory"):
            for path in sorted((self.root / app / "migrations").glob("0*.py")):
                keys.append((app, path.stem))
        return keys


def make_project(root: Path, database: dict[str, Any]) -> Project:
    project = Project(root, database)
    project.write("settings.py", SETTINGS.format(database=database))
    for app in ("shop", "inventory"):
        project.write(f"{app}/__init__.py", "")
        project.write(f"{app}/models.py", "")
        project.write(f"{app}/migrations/__init__.py", "")
    return project


def migrate_plan_lines(project: Project) -> list[str]:
    """``migrate --plan`` output after its heading, one line per migration or operation."""
    lines = project.manage("migrate", "--plan").splitlines()
    assert lines[0] == "Planned operations:"
    return [] if lines[1:] == ["  No planned migration operations."] else lines[1:]


def our_plan_lines(collected: Any) -> list[str]:
    lines = []
    for entry in collected["migrations"]:
        lines.append(f"{entry['app_label']}.{entry['name']}")
        lines.extend("    " + op["description"] for op in entry["operations"])
    return lines


# Scenarios: (base files, branch writes, branch deletions, expected gone).
SHOP_0001 = migration([], PRODUCT, extra="    initial = True\n")
SHOP_0002 = migration(
    [("shop", "0001_initial")],
    '        migrations.AddField("product", "price", models.IntegerField(default=0)),\n',
)
BASE = {"shop/migrations/0001_initial.py": SHOP_0001, "shop/migrations/0002_price.py": SHOP_0002}

FORWARD_DOC = '''
def forwards(apps, schema_editor):
    """Fill the sku from the name."""
'''

BRANCH = {
    "shop/migrations/0003_sku.py": migration(
        [("shop", "0002_price")],
        '        migrations.AddField("product", "sku",'
        ' models.CharField(max_length=20, null=True)),\n'
        '        migrations.AlterField("product", "name", models.TextField()),\n',
    ),
    "shop/migrations/0004_fill.py": FORWARD_DOC.lstrip() + migration(
        [("shop", "0003_sku")],
        "        migrations.RunPython(forwards),\n"
        "        migrations.RunSQL(\"UPDATE shop_product SET sku = 'a`b' WHERE sku IS NULL\","
        " migrations.RunSQL.noop),\n",
    ),
    "inventory/migrations/0001_initial.py": migration(
        [("shop", "0003_sku")],
        '        migrations.CreateModel("Stock", [("id", models.AutoField(primary_key=True)),'
        ' ("product", models.ForeignKey("shop.Product", models.CASCADE))]),\n',
    ),
}

SQUASH = migration(
    [], PRODUCT
    + '        migrations.AddField("product", "price", models.IntegerField(default=0)),\n',
    extra='    replaces = [("shop", "0001_initial"), ("shop", "0002_price")]\n',
)
AFTER_SQUASH = migration(
    [("shop", "0001_squashed_0002_price")],
    '        migrations.RemoveField("product", "price"),\n',
)

SCENARIOS = [
    pytest.param(BASE, BRANCH, [], [], id="new migrations in two apps"),
    pytest.param(
        {**BASE, "shop/migrations/0003_old.py": migration(
            [("shop", "0002_price")],
            '        migrations.AddField("product", "old", models.IntegerField(null=True)),\n',
        )},
        BRANCH, ["shop/migrations/0003_old.py"], [["shop", "0003_old"]],
        id="branch deletes a base migration",
    ),
    pytest.param(
        {"shop/migrations/0001_squashed_0002_price.py": SQUASH},
        {"shop/migrations/0003_drop.py": AFTER_SQUASH}, [], [],
        id="base holds only the squash",
    ),
    pytest.param(
        {**BASE, "shop/migrations/0001_squashed_0002_price.py": SQUASH},
        {"shop/migrations/0003_drop.py": AFTER_SQUASH}, [], [],
        id="base holds squash and replaced",
    ),
    pytest.param(
        BASE,
        {"shop/migrations/0001_squashed_0002_price.py": SQUASH,
         "shop/migrations/0003_drop.py": AFTER_SQUASH},
        [], [],
        id="branch squashes applied migrations",
    ),
    pytest.param(
        {"shop/migrations/0001_initial.py": SHOP_0001},
        {"shop/migrations/0002_price.py": SHOP_0002,
         "shop/migrations/0001_squashed_0002_price.py": SQUASH,
         "shop/migrations/0003_drop.py": AFTER_SQUASH},
        [], [],
        id="branch adds a squash that is partly applied",
    ),
]


def run_scenario(
    project: Project, base: dict[str, str], branch: dict[str, str], deleted: list[str]
) -> tuple[list[tuple[str, str]], Any]:
    for path, content in base.items():
        project.write(path, content)
    project.manage("migrate", "-v", "0")
    base_applied = project.applied()
    for path in deleted:
        project.remove(path)
    for path, content in branch.items():
        project.write(path, content)
    return base_applied, project.collect(base_applied)


def assert_same_as_django(project: Project, collected: Any) -> None:
    assert our_plan_lines(collected) == migrate_plan_lines(project)
    for entry in collected["migrations"]:
        expected = project.manage("sqlmigrate", entry["app_label"], entry["name"])
        assert entry["sql"] == expected.removesuffix("\n"), entry["name"]


def sqlite_db(tmp_path: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}


@pytest.mark.slow
@pytest.mark.parametrize(("base", "branch", "deleted", "gone"), SCENARIOS)
def test_plan_and_sql_match_django_on_sqlite(
    tmp_path: Path, base: dict[str, str], branch: dict[str, str], deleted: list[str],
    gone: list[list[str]],
) -> None:
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    _, collected = run_scenario(project, base, branch, deleted)
    assert collected["vendor"] == "sqlite"
    assert collected["gone"] == gone
    assert collected["migrations"], "a scenario that plans nothing proves nothing"
    assert_same_as_django(project, collected)


@contextlib.contextmanager
def scratch_database(url_variable: str) -> Iterator[dict[str, Any]]:
    """A new database on the server named by the environment, dropped afterwards."""
    url = os.environ.get(url_variable)
    if not url:
        pytest.skip(f"{url_variable} is not set")
    settings = dj_database_url.parse(url)
    name = f"migration_ci_plan_{uuid.uuid4().hex[:12]}"
    admin = connect_admin(settings)
    try:
        execute(admin, f"CREATE DATABASE {name}")
        yield {**settings, "NAME": name}
    finally:
        execute(admin, f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def connect_admin(settings: dict[str, Any]) -> Any:
    if "postgresql" in settings["ENGINE"]:
        import psycopg

        return psycopg.connect(
            host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
            password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True,
        )
    import MySQLdb

    return MySQLdb.connect(
        host=settings["HOST"], port=int(settings["PORT"] or 3306), user=settings["USER"],
        password=settings["PASSWORD"] or "",
    )


def execute(connection: Any, sql: str) -> None:
    cursor = connection.cursor()
    cursor.execute(sql)
    cursor.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "url_variable",
    [
        pytest.param("MIGRATION_CI_TEST_POSTGRES_URL", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("MIGRATION_CI_TEST_MYSQL_URL", id="mariadb", marks=pytest.mark.mysql),
    ],
)
@pytest.mark.parametrize(("base", "branch", "deleted", "gone"), SCENARIOS[:2])
def test_plan_and_sql_match_django_on_servers(
    tmp_path: Path, url_variable: str, base: dict[str, str], branch: dict[str, str],
    deleted: list[str], gone: list[list[str]],
) -> None:
    with scratch_database(url_variable) as database:
        project = make_project(tmp_path / "proj", database)
        _, collected = run_scenario(project, base, branch, deleted)
        assert collected["gone"] == gone
        assert_same_as_django(project, collected)
