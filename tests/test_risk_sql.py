# ruff: noqa: E501  (the case table reads best one engine a line)
"""Every risk rule against the SQL Django really emits, on SQLite, PostgreSQL and MariaDB.

One project per engine: one app per case, each migrated to the same base state (a Customer and
a Product table), then one branch migration per app holding the case's single operation. One
``collect`` in the worker plans them all; each case then checks, per engine:

- the rule the reader is shown, its level, and that its reason is that rule's text;
- that the operation's SQL holds what the reason says it does (``sql``);
- on the servers, what the reason says the engine does: PostgreSQL rewrites the table or only
  its catalog, and which lock it takes; MariaDB copies the table or changes it in place
  (each statement run again with ``ALGORITHM=INPLACE``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import pytest

from migration_ci.plan.facts import OperationFacts
from migration_ci.plan.risk import RULES, Risk, assess
from tests.support.djangoproj import Engine, engine_params
from tests.support.gitrepo import migration
from tests.test_plan_collect import Project, scratch_database

pytestmark = pytest.mark.slow

CHECK_KWARG = "condition" if django.VERSION >= (5, 1) else "check"

BASE_OPS = """\
        migrations.CreateModel("Customer", [
            ("id", models.AutoField(primary_key=True)),
            ("name", models.CharField(max_length=50)),
        ]),
        migrations.CreateModel("Product", [
            ("id", models.AutoField(primary_key=True)),
            ("name", models.CharField(max_length=100)),
            ("price", models.DecimalField(max_digits=10, decimal_places=2)),
            ("note", models.TextField(null=True)),
            ("qty", models.IntegerField(null=True)),
            ("code", models.CharField(max_length=20, unique=True)),
            ("tag", models.CharField(max_length=20, db_index=True)),
            ("customer_name", models.CharField(max_length=50)),
        ], options={"indexes": [models.Index(fields=["qty"], name="{app}_qty_idx")]}),
"""

PG_OPS = "from django.contrib.postgres.operations import (AddConstraintNotValid, " \
         "AddIndexConcurrently, RemoveIndexConcurrently)\n"
FORWARDS = "def forwards(apps, schema_editor):\n    pass\n\n\n"
SQLITE, PG, MY = "sqlite", "postgresql", "mysql"


@dataclass(frozen=True)
class Expect:
    """What the reader is shown on one engine, and the SQL that makes the reason true."""

    rule: str | None
    level: str | None = None
    sql: str | None = None  # a regex the operation's statements must match


@dataclass(frozen=True)
class Case:
    name: str
    ops: str  # the operation judged is the last one
    expect: dict[str, Expect]
    header: str = ""  # module-level source before the migration class
    extra: str = ""  # class-level source (atomic = False)
    engines: tuple[str, ...] = (SQLITE, PG, MY)
    needs: tuple[int, int] = (4, 2)  # the Django version that has what the case uses

    def runs_on(self, vendor: str) -> bool:
        return vendor in self.engines and django.VERSION[:2] >= self.needs


def same(expect: Expect) -> dict[str, Expect]:
    return {SQLITE: expect, PG: expect, MY: expect}


def add(field_source: str, name: str = "extra") -> str:
    return f'        migrations.AddField("product", "{name}", {field_source}),\n'


def alter(name: str, field_source: str) -> str:
    return f'        migrations.AlterField("product", "{name}", {field_source}),\n'


DEFAULT_DROPPED = "add-field-default-dropped"
STOCK = '        migrations.CreateModel("Stock", [("id", models.AutoField(primary_key=True))]),\n'
CASES = [
    Case("default", add("models.IntegerField(default=0)"), {
        PG: Expect(DEFAULT_DROPPED, "medium",
                   r'ADD COLUMN "extra" integer DEFAULT 0 NOT NULL.*\n.*"extra" DROP DEFAULT'),
        MY: Expect(DEFAULT_DROPPED, "medium",
                   r"ADD COLUMN `extra` integer DEFAULT 0 NOT NULL.*\n.*`extra` DROP DEFAULT"),
        SQLITE: Expect(DEFAULT_DROPPED, "medium", r'"extra" integer NOT NULL[,)].*, 0 FROM'),
    }),
    Case("blank CharField", add("models.CharField(max_length=10, blank=True)"), {
        PG: Expect(DEFAULT_DROPPED, "medium", r"varchar\(10\) DEFAULT '' NOT NULL.*DROP DEFAULT"),
        MY: Expect(DEFAULT_DROPPED, "medium", r"varchar\(10\) DEFAULT '' NOT NULL.*DROP DEFAULT"),
        SQLITE: Expect(DEFAULT_DROPPED, "medium", r'"extra" varchar\(10\) NOT NULL[,)].*, \'\' FROM'),
    }),
    Case("auto_now", add("models.DateTimeField(auto_now=True)"), {
        PG: Expect(DEFAULT_DROPPED, "medium", r"DEFAULT '[0-9-]+ [0-9:.+]+'.*NOT NULL.*DROP DEFAULT"),
        MY: Expect(DEFAULT_DROPPED, "medium", r"DEFAULT '[0-9-]+ [0-9:.]+' NOT NULL.*DROP DEFAULT"),
        SQLITE: Expect(DEFAULT_DROPPED, "medium", r'"extra" datetime NOT NULL[,)]'),
    }),
    Case("db_default", add("models.IntegerField(db_default=0)"), {
        PG: Expect("new-field-db-default", "low", r'ADD COLUMN "extra" integer DEFAULT 0 NOT NULL;$'),
        MY: Expect("new-field-db-default", "low", r"ADD COLUMN `extra` integer DEFAULT 0 NOT NULL;$"),
        SQLITE: Expect("new-field-db-default", "low", r'"extra" integer DEFAULT 0 NOT NULL'),
    }, needs=(5, 0)),
    Case("nullable", add("models.IntegerField(null=True)"),
         same(Expect("new-nullable-field", "low", r"ADD COLUMN .extra. integer NULL"))),
    Case("NOT NULL without default", add("models.IntegerField()"), {
        PG: Expect("add-field-not-null-no-default", "medium", r'ADD COLUMN "extra" integer NOT NULL;'),
        MY: Expect("add-field-not-null-no-default", "medium", r"ADD COLUMN `extra` integer NOT NULL;"),
        SQLITE: Expect("add-field-not-null-no-default", "medium", r'"extra" integer NOT NULL.*NULL FROM'),
    }),
    Case("unique nullable", add("models.CharField(max_length=13, null=True, unique=True)"), {
        PG: Expect("add-unique", "high", r'ADD COLUMN "extra" varchar\(13\) NULL UNIQUE'),
        MY: Expect("new-nullable-field", "low", r"ADD COLUMN `extra` varchar\(13\) NULL UNIQUE"),
        SQLITE: Expect("new-nullable-field", "low", r'"extra" varchar\(13\) NULL UNIQUE'),
    }),
    Case("db_index nullable", add("models.CharField(max_length=13, null=True, db_index=True)"), {
        PG: Expect("add-indexed-field", "medium", r'CREATE INDEX "\w+" ON "\w+_product" \("extra"\)'),
        MY: Expect("new-nullable-field", "low", r"CREATE INDEX `\w+` ON `\w+_product` \(`extra`\)"),
        SQLITE: Expect("new-nullable-field", "low", r'CREATE INDEX "\w+" ON "\w+_product" \("extra"\)'),
    }),
    Case("foreign key", add('models.ForeignKey("{app}.customer", models.CASCADE, null=True)',
                            "customer"), {
        PG: Expect("add-foreign-key", "medium",
                   r"REFERENCES \"\w+_customer\".*\n.*CREATE INDEX \"\w+\" ON \"\w+_product\""),
        MY: Expect("add-foreign-key", "high", r"ADD CONSTRAINT `\w+` FOREIGN KEY \(`customer_id`\)"),
        SQLITE: Expect("new-nullable-field", "low", r'"customer_id" integer NULL REFERENCES'),
    }),
    Case("check constraint", '        migrations.AddConstraint("product", models.CheckConstraint('
         f'{CHECK_KWARG}=models.Q(qty__gte=0), name="{{app}}_qty_pos")),\n', {
        PG: Expect("add-check-constraint", "high", r'ADD CONSTRAINT "\w+" CHECK \("qty" >= 0\);$'),
        MY: Expect("add-check-constraint", "high", r"ADD CONSTRAINT `\w+` CHECK \(`qty` >= 0\);$"),
        SQLITE: Expect("add-check-constraint", "medium", r'CREATE TABLE "new__\w+".*CHECK'),
    }),
    Case("check constraint NOT VALID", "        AddConstraintNotValid(\"product\", "
         f"models.CheckConstraint({CHECK_KWARG}=models.Q(qty__gte=0), name=\"{{app}}_qty_nv\")),\n",
         {PG: Expect(None, sql=r"CHECK \(\"qty\" >= 0\) NOT VALID")}, header=PG_OPS, engines=(PG,)),
    Case("unique constraint", '        migrations.AddConstraint("product", models.UniqueConstraint('
         'fields=["name"], name="{app}_name_uniq")),\n', {
        PG: Expect("add-unique", "high", r'ADD CONSTRAINT "\w+" UNIQUE \("name"\)'),
        MY: Expect("add-unique", "medium", r"ADD CONSTRAINT `\w+` UNIQUE \(`name`\)"),
        SQLITE: Expect("add-unique", "medium", r'CONSTRAINT "\w+" UNIQUE \("name"\)'),
    }),
    Case("unique_together", '        migrations.AlterUniqueTogether("product", {("name", "qty")}),\n', {
        PG: Expect("add-unique", "high", r'ADD CONSTRAINT "\w+" UNIQUE \("name", "qty"\)'),
        MY: Expect("add-unique", "medium", r"ADD CONSTRAINT `\w+` UNIQUE \(`name`, `qty`\)"),
        SQLITE: Expect("add-unique", "medium", r'CREATE UNIQUE INDEX "\w+" ON "\w+" \("name", "qty"\)'),
    }),
    Case("add index", '        migrations.AddIndex("product", models.Index(fields=["name"], '
         'name="{app}_name_idx")),\n', {
        PG: Expect("add-index", "medium", r'CREATE INDEX "\w+" ON "\w+_product" \("name"\)'),
        MY: Expect(None, sql=r"CREATE INDEX `\w+` ON `\w+_product` \(`name`\)"),
        SQLITE: Expect(None, sql=r'CREATE INDEX "\w+" ON "\w+_product" \("name"\)'),
    }),
    Case("AddIndexConcurrently", '        AddIndexConcurrently("product", models.Index('
         'fields=["name"], name="{app}_name_cidx")),\n',
         {PG: Expect("index-concurrently", "low", r"CREATE INDEX CONCURRENTLY")},
         header=PG_OPS, extra="    atomic = False\n", engines=(PG,)),
    Case("RemoveIndexConcurrently", '        RemoveIndexConcurrently("product", "{app}_qty_idx"),\n',
         {PG: Expect("index-concurrently", "low", r"DROP INDEX CONCURRENTLY")},
         header=PG_OPS, extra="    atomic = False\n", engines=(PG,)),
    Case("widen varchar", alter("name", "models.CharField(max_length=200)"), {
        PG: Expect("alter-field-widen", "low", r'ALTER COLUMN "name" TYPE varchar\(200\)'),
        MY: Expect("alter-field-widen", "low", r"MODIFY `name` varchar\(200\) NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"name" varchar\(200\) NOT NULL'),
    }),
    Case("widen a short varchar past 255 bytes", alter("tag", "models.CharField("
                                                             "max_length=100, db_index=True)"), {
        PG: Expect("alter-field-widen", "low", r'ALTER COLUMN "tag" TYPE varchar\(100\)'),
        MY: Expect("alter-field-widen", "low", r"MODIFY `tag` varchar\(100\) NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"tag" varchar\(100\) NOT NULL'),
    }),
    Case("widen varchar past 255 bytes", alter("customer_name", "models.CharField("
                                                                "max_length=100)"), {
        PG: Expect("alter-field-widen", "low", r'ALTER COLUMN "customer_name" TYPE varchar\(100\)'),
        MY: Expect("alter-field-type", "high", r"MODIFY `customer_name` varchar\(100\) NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"customer_name" varchar\(100\) NOT NULL'),
    }),
    Case("narrow varchar", alter("name", "models.CharField(max_length=50)"), {
        PG: Expect("alter-field-type", "high", r'ALTER COLUMN "name" TYPE varchar\(50\)'),
        MY: Expect("alter-field-type", "high", r"MODIFY `name` varchar\(50\) NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"name" varchar\(50\) NOT NULL'),
    }),
    Case("more digits", alter("price", "models.DecimalField(max_digits=12, decimal_places=2)"), {
        PG: Expect("alter-field-widen", "low", r'ALTER COLUMN "price" TYPE numeric\(12, 2\)'),
        MY: Expect("alter-field-type", "high", r"MODIFY `price` numeric\(12, 2\) NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"price" decimal NOT NULL'),
    }),
    Case("integer to bigint", alter("qty", "models.BigIntegerField(null=True)"), {
        PG: Expect("alter-field-type", "high", r'ALTER COLUMN "qty" TYPE bigint USING'),
        MY: Expect("alter-field-type", "high", r"MODIFY `qty` bigint NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"qty" bigint NULL'),
    }),
    Case("tighten null", alter("qty", "models.IntegerField()"), {
        PG: Expect("tighten-null", "high", r'ALTER COLUMN "qty" SET NOT NULL;$'),
        MY: Expect("tighten-null", "medium", r"MODIFY `qty` integer NOT NULL;$"),
        SQLITE: Expect("tighten-null", "medium", r'coalesce\("qty", NULL\)'),
    }),
    Case("tighten null with a default", alter("qty", "models.IntegerField(default=0)"), {
        PG: Expect("tighten-null-backfill", "high",
                   r'UPDATE "\w+" SET "qty" = 0 WHERE "qty" IS NULL.*\n.*SET NOT NULL'),
        MY: Expect("tighten-null-backfill", "medium",
                   r"UPDATE `\w+` SET `qty` = 0 WHERE `qty` IS NULL;\n.*MODIFY `qty` integer NOT NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'coalesce\("qty", 0\)'),
    }),
    Case("loosen null", alter("name", "models.CharField(max_length=100, null=True)"), {
        PG: Expect(None, sql=r'ALTER COLUMN "name" DROP NOT NULL'),
        MY: Expect(None, sql=r"MODIFY `name` varchar\(100\) NULL"),
        SQLITE: Expect("sqlite-table-rebuild", "low", r'"name" varchar\(100\) NULL'),
    }),
    Case("help_text only", alter("name", 'models.CharField(max_length=100, help_text="x")'),
         same(Expect(None, sql=r"^$"))),
    Case("remove field", '        migrations.RemoveField("product", "note"),\n',
         same(Expect("remove-field", "high", r"DROP COLUMN .note."))),
    Case("rename field", '        migrations.RenameField("product", "note", "notes"),\n',
         same(Expect("rename-field", "high", r"RENAME COLUMN .note. TO .notes."))),
    Case("rename model", '        migrations.RenameModel("Customer", "Client"),\n',
         same(Expect("rename-model", "high", r"RENAME (TO|TABLE)"))),
    Case("delete model", '        migrations.DeleteModel("Customer"),\n',
         same(Expect("delete-model", "high", r"DROP TABLE .\w+_customer."))),
    Case("state-only SeparateDatabaseAndState", "        migrations.SeparateDatabaseAndState("
         'state_operations=[migrations.RemoveField("product", "note")]),\n',
         same(Expect(None, sql=r"^$"))),
    Case("SeparateDatabaseAndState with SQL", "        migrations.SeparateDatabaseAndState("
         'database_operations=[migrations.RunSQL("ALTER TABLE {app}_product DROP COLUMN note", '
         "migrations.RunSQL.noop)], "
         'state_operations=[migrations.RemoveField("product", "note")]),\n',
         same(Expect("run-sql-destructive", "high", r"DROP COLUMN note"))),
    Case("RunPython without reverse", "        migrations.RunPython(forwards),\n",
         same(Expect("run-python-no-reverse", "medium")), header=FORWARDS),
    Case("RunSQL without reverse", '        migrations.RunSQL("UPDATE {app}_product SET qty = 2"),\n',
         same(Expect("run-sql-no-reverse", "medium", r"UPDATE \w+_product SET qty = 2"))),
    Case("non-atomic migration", '        migrations.RunSQL("UPDATE {app}_product SET qty = 1", '
         "migrations.RunSQL.noop),\n" * 2, same(Expect("non-atomic-migration", "medium",
                                                       r"UPDATE \w+_product SET qty = 1")),
         extra="    atomic = False\n"),
    Case("non-atomic migration of one operation", '        migrations.RunSQL("UPDATE {app}_product '
         'SET qty = 1", migrations.RunSQL.noop),\n', same(Expect(None, sql=r"UPDATE")),
         extra="    atomic = False\n"),
    Case("new model", '        migrations.CreateModel("Stock", [("id", models.AutoField('
         "primary_key=True))]),\n", same(Expect("new-model", "low", r"CREATE TABLE"))),
    Case("field on a table this change creates", STOCK + add("models.IntegerField()", "x")
         .replace('"product"', '"stock"'), same(Expect("new-field", "low"))),
    Case("index on a table this change creates", STOCK + '        migrations.AddIndex("stock", '
         'models.Index(fields=["id"], name="{app}_stock_idx")),\n',
         same(Expect("new-index-new-table", "low", r"CREATE INDEX"))),
    Case("many-to-many", add('models.ManyToManyField("{app}.customer")', "buyers"),
         same(Expect("new-m2m-field", "low", r"CREATE TABLE .\w+_product_buyers."))),
]


def case_params() -> list[Any]:
    params = []
    for engine in engine_params():
        vendor = engine.values[0].vendor
        for index, case in enumerate(CASES):
            if vendor in case.engines:
                marks = list(engine.marks)
                if not case.runs_on(vendor):
                    marks.append(pytest.mark.skip(reason=f"needs Django {case.needs}"))
                params.append(pytest.param(engine.values[0], index, id=f"{vendor}: {case.name}",
                                           marks=marks))
    return params


def app_label(index: int) -> str:
    return f"case{index:02d}"


def branch_migration(index: int, case: Case) -> str:
    app = app_label(index)
    source = migration([(app, "0001_initial")], case.ops.replace("{app}", app), case.extra)
    return case.header + source


@dataclass
class Planned:
    engine: Engine
    project: Project
    database: dict[str, Any]
    operations: dict[str, dict[str, Any]]  # app label -> the case's (last) operation's JSON


def plan_cases(root: Path, engine: Engine, database: dict[str, Any]) -> Planned:
    project = Project(root, databases={"default": database})
    cases = [(i, case) for i, case in enumerate(CASES) if case.runs_on(engine.vendor)]
    for index, _ in cases:
        app = app_label(index)
        project.add_app(app)
        project.add_migration(app, "0001_initial", ops=BASE_OPS.replace("{app}", app))
    if engine.vendor == PG:
        project.write_settings("INSTALLED_APPS.append('django.contrib.postgres')\n")
    project.manage("migrate", "-v", "0")
    base = project.nodes_of([app_label(i) for i, _ in cases])
    for index, case in cases:
        project.write(f"{app_label(index)}/migrations/0002_case.py", branch_migration(index, case))
    collected = project.collect(base)
    assert collected["vendor"] == engine.vendor
    operations = {}
    for entry in collected["migrations"]:
        operations[entry["app_label"]] = entry["operations"][-1]
    return Planned(engine, project, database, operations)


class Plans:
    """One plan per engine, made when a test first asks for it; servers' databases dropped at
    the end of the module."""

    def __init__(self, factory: pytest.TempPathFactory, stack: contextlib.ExitStack) -> None:
        self.factory, self.stack = factory, stack
        self.plans: dict[str, Planned] = {}

    def get(self, engine: Engine) -> Planned:
        if engine.vendor not in self.plans:
            root = self.factory.mktemp(f"risk_{engine.vendor}")
            if engine.vendor == SQLITE:
                database = {"ENGINE": "django.db.backends.sqlite3",
                            "NAME": str(root / "db.sqlite3")}
            else:
                database = self.stack.enter_context(scratch_database(URL_VARIABLES[engine.vendor]))
            self.plans[engine.vendor] = plan_cases(root / "proj", engine, database)
        return self.plans[engine.vendor]


URL_VARIABLES = {PG: "MIGRATION_CI_TEST_POSTGRES_URL", MY: "MIGRATION_CI_TEST_MYSQL_URL"}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plans]:
    with contextlib.ExitStack() as stack:
        yield Plans(tmp_path_factory, stack)


def rule_row_reason(rule_id: str, vendor: str, level: str) -> str:
    (row,) = [r for r in RULES if r.id == rule_id and r.speaks_for(vendor) and r.level == level]
    return row.reason


@pytest.mark.parametrize(("engine", "index"), case_params())
def test_each_rule_on_the_sql_each_engine_emits(
    engine: Engine, index: int, plans: Plans
) -> None:
    plan = plans.get(engine)
    case = CASES[index]
    expect = case.expect[engine.vendor]
    operation = plan.operations[app_label(index)]
    facts = OperationFacts.from_dict(operation["facts"])
    risk = assess(facts) or Risk("none", "low", "", "")
    assert (risk.rule, risk.level) == (expect.rule or "none", expect.level or "low")
    if expect.rule is not None:
        assert risk.reason == rule_row_reason(expect.rule, engine.vendor, risk.level)
    statements = "\n".join(facts.statements or ())
    if expect.sql is not None:
        assert re.search(expect.sql, statements, re.MULTILINE | re.DOTALL), statements
    if engine.vendor == PG:
        check_on_postgresql(plan, index, risk.rule, statements)
    elif engine.vendor == MY:
        check_on_mariadb(plan, index, risk.rule, facts.statements or ())


# -- what the engine does, measured ---------------------------------------------------------------

# What each reason says PostgreSQL does: rewrite the table (True), only its catalog (False), and
# the strongest lock it takes on the product table; a rule not listed claims neither.
PG_CLAIMS: dict[str, tuple[bool | None, str | None]] = {
    "alter-field-type": (True, "AccessExclusiveLock"),
    "alter-field-widen": (False, "AccessExclusiveLock"),
    "tighten-null": (False, "AccessExclusiveLock"),
    "tighten-null-backfill": (False, "AccessExclusiveLock"),
    "add-check-constraint": (False, "AccessExclusiveLock"),
    "add-unique": (False, "AccessExclusiveLock"),
    "add-index": (False, "ShareLock"),
    "add-indexed-field": (None, "AccessExclusiveLock"),  # ADD COLUMN, then the index (Share)
    "add-foreign-key": (None, "AccessExclusiveLock"),
}
# The reasons that say MariaDB copies the table; every other statement runs in place.
MY_COPIES = {"alter-field-type", "add-check-constraint", "add-foreign-key"}
_LOCK_ORDER = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
               "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]


def check_on_postgresql(plan: Planned, index: int, rule: str, statements: str) -> None:
    rewrite, lock = PG_CLAIMS.get(rule, (None, None))
    if (rewrite is None and lock is None) or "CONCURRENTLY" in statements:
        return
    import psycopg

    table = f"{app_label(index)}_product"
    settings = plan.engine.settings(plan.database["NAME"])
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                         user=settings["USER"], password=settings["PASSWORD"] or None,
                         dbname=settings["NAME"]) as conn:
        node = "SELECT relfilenode FROM pg_class WHERE relname = %s"
        before = conn.execute(node, (table,)).fetchone()
        for statement in statements.splitlines():
            conn.execute(statement)  # type: ignore[call-overload]
        modes = [m for (m,) in conn.execute(
            "SELECT mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.pid = pg_backend_pid()", (table,)).fetchall()]
        after = conn.execute(node, (table,)).fetchone()
        conn.rollback()
    if rewrite is not None:
        assert (before != after) is rewrite, (rule, statements)
    strongest = max(modes, key=_LOCK_ORDER.index)
    assert strongest == lock, (rule, modes)


def check_on_mariadb(plan: Planned, index: int, rule: str, statements: tuple[str, ...]) -> None:
    """Each statement on a table of the base state runs again asking for ALGORITHM=INPLACE."""
    existing = re.compile(
        rf"^(ALTER TABLE|CREATE (UNIQUE )?INDEX .* ON) `{app_label(index)}_(product|customer)`")
    failures = []
    for statement in statements:
        text = statement.rstrip(";")
        if not existing.match(text):
            continue  # a table this change creates: nothing to copy
        if text.startswith("ALTER TABLE"):
            text += ", ALGORITHM=INPLACE"
        elif text.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
            text += " ALGORITHM=INPLACE"
        try:
            plan.engine.execute(text, plan.database["NAME"])
        except Exception as error:
            failures.append(str(error))
            break
    if rule in MY_COPIES:
        assert failures and "Try ALGORITHM=COPY" in failures[0], (rule, statements, failures)
    else:
        assert failures == [], (rule, statements)


def test_every_rule_has_a_case_on_each_engine_it_speaks_for() -> None:
    covered = {(e.rule, vendor) for case in CASES for vendor, e in case.expect.items()}
    for rule in RULES:
        for vendor in sorted(rule.engines or {SQLITE, PG, MY}):
            assert (rule.id, vendor) in covered, (rule.id, vendor)


def test_every_rule_has_a_case_where_it_does_not_apply_on_each_engine() -> None:
    """The near misses: db_default beside default, NOT VALID beside the check, CONCURRENTLY
    beside the index, a widening beside a narrowing, one statement beside several..."""
    for rule in RULES:
        for vendor in sorted(rule.engines or {SQLITE, PG, MY}):
            negatives = [case.name for case in CASES
                         if vendor in case.expect and case.expect[vendor].rule != rule.id]
            assert negatives, (rule.id, vendor)


# -- the recording the fast tests replay ----------------------------------------------------------

RECORDED = Path(__file__).parent / "fixtures" / "risk_facts.json"


def recorded_facts() -> dict[str, Any]:
    """``{"django": "5.2", "cases": {case name: {vendor: the operation's facts}}}``."""
    recording: dict[str, Any] = json.loads(RECORDED.read_text(encoding="utf-8"))
    return recording


@pytest.mark.parametrize("engine", engine_params())
def test_the_recorded_facts_are_what_the_worker_observes(engine: Engine, plans: Plans) -> None:
    """``tests/test_risk_replayed.py`` judges these facts without a database; here they are
    observed again, so the recording cannot drift from what the worker sees. After a
    deliberate change, rewrite it with ``MIGRATION_CI_UPDATE_FIXTURES=1`` and review the diff."""
    recording = recorded_facts()
    if django.get_version().rsplit(".", 1)[0] != recording["django"]:
        pytest.skip(f"the facts were recorded on Django {recording['django']}")
    plan = plans.get(engine)
    observed = {case.name: without_the_time(plan.operations[app_label(index)]["facts"])
                for index, case in enumerate(CASES) if case.runs_on(engine.vendor)}
    if os.environ.get("MIGRATION_CI_UPDATE_FIXTURES"):
        for name, facts in observed.items():
            recording["cases"].setdefault(name, {})[engine.vendor] = facts
        RECORDED.write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
    recorded = {name: by_vendor[engine.vendor] for name, by_vendor in recording["cases"].items()
                if engine.vendor in by_vendor}
    assert json.loads(json.dumps(observed)) == recorded


# auto_now fills existing rows with the time the SQL was made.
_TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?(\+00:00)?'")


def without_the_time(facts: dict[str, Any]) -> dict[str, Any]:
    statements = facts.get("statements")
    if statements is None:
        return facts
    return {**facts, "statements": [_TIMESTAMP.sub("'2026-01-01 00:00:00'", s)
                                    for s in statements]}


def test_case_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
