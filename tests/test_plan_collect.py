"""worker.plan.collect against Django itself: ``migrate --plan`` and ``sqlmigrate`` are the truth.

Each scenario writes a small project, really migrates a database to the base state, changes the
tree as a branch would, then compares our plan and SQL with what Django prints for that database.
``collect`` always runs in its own process with Django set up, never in the pytest process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dj_database_url
import pytest

from migration_ci.errors import GraphError
from migration_ci.plan.records import build_plan
from migration_ci.plan.risk import OperationFacts, Risk, assess
from migration_ci.project.session import ProjectSpec, WorkerDatabase, run_worker
from tests.support.djangoproj import CREATE_PRODUCT, DjangoProject
from tests.support.gitrepo import migration

REPO_ROOT = Path(__file__).resolve().parent.parent
APPS = ("shop", "inventory")

NO_RISK = Risk("none", "low", "", "")
PRODUCT = CREATE_PRODUCT.replace("max_length=50", "max_length=100")


class Project(DjangoProject):
    """A project whose ``manage.py`` and ``collect`` (in the worker) use the same database."""

    def manage(self, *args: str) -> str:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.root, env=env,
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, f"manage.py {args} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def collect(self, base_applied: list[tuple[str, str]]) -> Any:
        payload = {"base_applied": [list(k) for k in base_applied], "with_sql": True}
        database = WorkerDatabase("default", name=self.databases["default"]["NAME"])
        return run_worker(
            ProjectSpec(self.root, self.settings_module), "plan", payload, database=database
        )

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def nodes(self) -> list[tuple[str, str]]:
        """Every migration node of the tree on disk, as the static engine would list them."""
        return self.nodes_of(APPS)

    def nodes_of(self, apps: Iterable[str]) -> list[tuple[str, str]]:
        return [
            (app, path.stem)
            for app in apps
            for path in sorted((self.root / app / "migrations").glob("0*.py"))
        ]


def make_project(root: Path, database: dict[str, Any]) -> Project:
    project = Project(root, databases={"default": database})
    for app in APPS:
        project.add_app(app)
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
        '        migrations.AlterField("product", "name", models.TextField()),\n'
        '        migrations.AddIndex("product",'
        ' models.Index(fields=["price"], name="shop_price_idx")),\n',
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

BASE_MOVED_ON = {**BASE, "shop/migrations/0003_base_side.py": migration(
    [("shop", "0002_price")],
    '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
)}
MERGED_BRANCH = {
    "shop/migrations/0003_branch_side.py": migration(
        [("shop", "0002_price")],
        '        migrations.AddField("product", "code", models.IntegerField(null=True)),\n',
    ),
    "shop/migrations/0004_merge.py": migration(
        [("shop", "0003_base_side"), ("shop", "0003_branch_side")]
    ),
}

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
    pytest.param(
        {**BASE, "shop/migrations/0001_squashed_0002_price.py": SQUASH},
        {"shop/migrations/0003_drop.py": AFTER_SQUASH},
        ["shop/migrations/0001_initial.py", "shop/migrations/0002_price.py"], [],
        id="branch deletes migrations its squash replaces",
    ),
    pytest.param(BASE_MOVED_ON, MERGED_BRANCH, [], [], id="base moved on, merge migration"),
]


def run_scenario(
    project: Project, base: dict[str, str], branch: dict[str, str], deleted: list[str]
) -> tuple[list[tuple[str, str]], Any]:
    for path, content in base.items():
        project.write(path, content)
    project.manage("migrate", "-v", "0")
    base_applied = project.nodes()
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
        risks = {
            op["description"]: (assess(OperationFacts.from_dict(op["facts"])) or NO_RISK).rule
            for entry in collected["migrations"] for op in entry["operations"]
        }
        # Only PostgreSQL can build an index without blocking writes, so only there it is flagged.
        expected = "add-index" if "POSTGRES" in url_variable else "none"
        index = "Create index shop_price_idx on field(s) price of model product"
        assert risks[index] == expected


@pytest.mark.slow
def test_plan_over_a_base_that_moved_on_holds_none_of_its_migrations(tmp_path: Path) -> None:
    """
    0002_price ── 0003_base_side ─────┐       (base: already applied)
              └── 0003_branch_side ── 0004_merge   (this branch, merged with the base)
    """
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    base_applied, collected = run_scenario(project, BASE_MOVED_ON, MERGED_BRANCH, [])
    plan = build_plan(collected)
    assert [(e.label, e.status) for e in plan.entries] == [
        ("shop.0003_branch_side", "new"), ("shop.0004_merge", "new"),
    ]
    assert {e.key for e in plan.entries} & set(base_applied) == set()


@pytest.mark.slow
def test_risks_and_irreversible_operations_end_to_end(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    _, collected = run_scenario(project, BASE, BRANCH, [])
    plan = build_plan(collected)
    assert [
        (e.label, op.description, op.risk.rule if op.risk else None, op.irreversible)
        for e in plan.entries for op in e.operations
    ] == [
        ("shop.0003_sku", "Add field sku to product", "new-nullable-field", False),
        ("shop.0003_sku", "Alter field name on product", "sqlite-table-rebuild", False),
        ("shop.0003_sku", "Create index shop_price_idx on field(s) price of model product",
         None, False),
        ("inventory.0001_initial", "Create model Stock", "new-model", False),
        ("shop.0004_fill", "Raw Python operation -> Fill the sku from the name.",
         "run-python-no-reverse", True),
        ("shop.0004_fill", "Raw SQL operation -> UPDATE shop_product SET sku = 'a`b'\u2026",
         None, False),
    ]
    fill = plan.entries[-1]
    assert fill.sql_error == (
        "Raw Python operation (RunPython) runs Python code, not SQL; "
        "sqlmigrate shows it as a comment"
    )


FAILING_OPERATION = """
from django.db import migrations


class Explode(migrations.RunSQL):
    def __init__(self):
        super().__init__("SELECT 1", migrations.RunSQL.noop)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        raise ValueError("cannot render this operation")

    def describe(self):
        return "Explode on purpose"
"""


@pytest.mark.slow
def test_a_migration_whose_sql_fails_says_why_and_the_rest_still_has_sql(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    branch = {
        "shop/migrations/0003_explode.py": FAILING_OPERATION + migration(
            [("shop", "0002_price")], "        Explode(),\n"
        ).replace("from django.db import migrations, models\n", "from django.db import models\n"),
        "shop/migrations/0004_after.py": migration(
            [("shop", "0003_explode")],
            '        migrations.AddField("product", "x", models.IntegerField(null=True)),\n',
        ),
    }
    _, collected = run_scenario(project, BASE, branch, [])
    explode, after = collected["migrations"]
    assert (explode["name"], explode["sql"], explode["sql_error"]) == (
        "0003_explode", None, "ValueError: cannot render this operation"
    )
    assert [op["description"] for op in explode["operations"]] == ["Explode on purpose -> SELECT 1"]
    assert after["sql_error"] is None
    assert after["sql"] == project.manage("sqlmigrate", "shop", "0004_after").removesuffix("\n")


@pytest.mark.slow
def test_conflicting_leaves_are_refused_as_migrate_refuses_them(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    branch = {"shop/migrations/0003_branch_side.py": MERGED_BRANCH[
        "shop/migrations/0003_branch_side.py"]}
    with pytest.raises(GraphError) as excinfo:
        run_scenario(project, BASE_MOVED_ON, branch, [])
    assert str(excinfo.value) == (
        "Conflicting migrations detected; multiple leaf nodes in the migration graph: "
        "(0003_base_side, 0003_branch_side in shop). Run: migration-ci fix"
    )


def dump(path: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return list(connection.iterdump())


@pytest.mark.slow
def test_collect_changes_nothing_in_the_database(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    for path, content in BASE.items():
        project.write(path, content)
    project.manage("migrate", "-v", "0")
    before = dump(str(tmp_path / "db.sqlite3"))
    for path, content in BRANCH.items():
        project.write(path, content)
    collected = project.collect(project.nodes()[:2])
    assert [m["name"] for m in collected["migrations"]] == [
        "0003_sku", "0001_initial", "0004_fill",
    ]
    assert dump(str(tmp_path / "db.sqlite3")) == before


@pytest.mark.slow
def test_collect_on_an_empty_database_plans_from_the_given_base(tmp_path: Path) -> None:
    """The throwaway database need not be at the base state: the plan comes from the payload."""
    project = make_project(tmp_path / "proj", sqlite_db(tmp_path))
    for path, content in {**BASE, **BRANCH}.items():
        project.write(path, content)
    collected = project.collect([("shop", "0001_initial"), ("shop", "0002_price")])
    assert [(m["app_label"], m["name"]) for m in collected["migrations"]] == [
        ("shop", "0003_sku"), ("inventory", "0001_initial"), ("shop", "0004_fill"),
    ]
    assert all(m["sql"] for m in collected["migrations"])
    assert dump(str(tmp_path / "db.sqlite3")) == ["BEGIN TRANSACTION;", "COMMIT;"]
