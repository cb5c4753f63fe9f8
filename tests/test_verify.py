"""``verify`` on a real Django project and real databases: the same scenarios on every engine."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.verify import (
    Failure,
    IrreversibleOperation,
    MissingChange,
    VerifyResult,
    verify,
)
from migration_ci.databases.leftovers import parse_owner
from migration_ci.databases.servers import connect_server
from migration_ci.databases.throwaway import DatabaseChoice
from migration_ci.errors import ConfigError, GraphError, ProjectError, WorkerError
from migration_ci.fix.merge import render_merge
from migration_ci.project.session import ProjectSpec
from tests.support.djangoproj import (
    CREATE_PRODUCT,
    PRODUCT_MODELS,
    DjangoProject,
    Engine,
    engine_params,
)
from tests.support.gitrepo import migration

pytestmark = pytest.mark.slow
on_every_engine = pytest.mark.parametrize("engine", engine_params())

INITIAL = ("shop", "0001_initial")
ADD_SKU = """\
        migrations.AddField(
            model_name="product", name="sku", field=models.CharField(max_length=10, default=""),
        ),
"""
SKU_MODELS = PRODUCT_MODELS + '    sku = models.CharField(max_length=10, default="")\n'


@pytest.fixture
def tmpdir_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary copies and SQLite throwaway files go; checked empty after a run."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def project(tmp_path: Path, tmpdir_empty: Path) -> DjangoProject:
    """App ``shop`` with 0001_initial creating Product(name)."""
    proj = DjangoProject(tmp_path / "proj")
    proj.add_app("shop", PRODUCT_MODELS)
    proj.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
    return proj


def run(
    project: DjangoProject, engine: Engine, run_id: str | None = None, **kwargs: Any
) -> VerifyResult:
    spec = ProjectSpec.from_options(settings=None, project_dir=project.root, environ={})
    run_id = run_id or secrets.token_hex(4)
    result = verify(spec, database=DatabaseChoice(url=engine.url), run_id=run_id, **kwargs)
    assert_dropped(engine, run_id)
    return result


def assert_dropped(engine: Engine, run_id: str) -> None:
    if engine.url is None:
        assert list(Path(tempfile.gettempdir()).iterdir()) == []
    else:
        assert not [n for n in engine.database_names() if n.endswith(run_id)]


def phase_names(result: VerifyResult) -> list[str]:
    return [phase.name for phase in result.phases]


@on_every_engine
def test_all_good(project: DjangoProject, engine: Engine) -> None:
    project.set_models("shop", SKU_MODELS)
    project.add_migration("shop", "0002_sku", deps=[INITIAL], ops=ADD_SKU)
    result = run(project, engine, new_migrations=[("shop", "0002_sku")])
    assert result.ok
    assert result.database.vendor == engine.vendor
    assert [(m.app_label, m.name) for m in result.migrations] == [INITIAL, ("shop", "0002_sku")]
    assert phase_names(result) == [
        "prepare", "load_project", "forward", "backward", "reapply", "missing_changes"
    ]
    assert (result.failure, result.irreversible, result.missing_changes) == (None, (), ())
    data = result.to_dict()
    assert data["database"] == {"vendor": engine.vendor, "version": result.database.version}
    assert data["migrations"][0]["name"] == "0001_initial"


FAILING_SQL_ERRORS = {
    "sqlite": 'OperationalError: near "SELEC": syntax error',
    "postgresql": 'ProgrammingError: syntax error at or near "SELEC"',
    "mysql": "ProgrammingError: (1064, \"You have an error in your SQL syntax",
}


@on_every_engine
def test_failing_migration_is_named(project: DjangoProject, engine: Engine) -> None:
    path = project.add_migration(
        "shop", "0002_bad", deps=[INITIAL],
        ops=ADD_SKU + '        migrations.RunSQL("SELEC 1", migrations.RunSQL.noop),\n',
    )
    result = run(project, engine)
    assert not result.ok
    assert result.failure is not None
    assert result.failure.error.startswith(FAILING_SQL_ERRORS[engine.vendor])
    assert result.failure == Failure(
        app_label="shop", name="0002_bad", path=path,
        operation="RunSQL (2 of 2): Raw SQL operation", error=result.failure.error,
        sql="SELEC 1", direction="forward",
    )
    assert [m.name for m in result.migrations] == ["0001_initial"]
    assert "missing_changes" not in phase_names(result)


@on_every_engine
def test_irreversible_operation_is_reported_and_the_rest_round_trips(
    project: DjangoProject, engine: Engine
) -> None:
    project.set_models("shop", SKU_MODELS)
    project.add_migration(
        "shop", "0002_data", deps=[INITIAL],
        ops="        migrations.RunPython(migrations.RunPython.noop),\n",
    )
    project.add_migration("shop", "0003_sku", deps=[("shop", "0002_data")], ops=ADD_SKU)
    result = run(project, engine, new_migrations=[("shop", "0002_data"), ("shop", "0003_sku")])
    assert result.ok
    assert result.irreversible == (
        IrreversibleOperation("shop", "0002_data", "Raw Python operation"),
    )
    assert "backward" in phase_names(result)  # 0003_sku went back and forward again


@on_every_engine
def test_failing_backward_step_is_reported(project: DjangoProject, engine: Engine) -> None:
    path = project.add_migration(
        "shop", "0002_view", deps=[INITIAL],
        ops='        migrations.RunSQL("SELECT 1", "DROP TABLE no_such_table"),\n',
    )
    result = run(project, engine, new_migrations=[("shop", "0002_view")])
    assert not result.ok
    assert result.failure is not None
    assert result.failure == Failure(
        app_label="shop", name="0002_view", path=path,
        operation="RunSQL (1 of 1): Raw SQL operation", error=result.failure.error,
        sql="DROP TABLE no_such_table", direction="backward",
    )
    assert "no_such_table" in result.failure.error
    assert phase_names(result)[-2:] == ["backward", "missing_changes"]


@on_every_engine
def test_missing_model_changes(project: DjangoProject, engine: Engine) -> None:
    project.set_models("shop", SKU_MODELS)
    result = run(project, engine)
    assert not result.ok
    assert result.failure is None
    assert result.missing_changes == (MissingChange("shop", "+ Add field sku to product"),)


@on_every_engine
def test_conflicting_leaves_verified_with_merge_migration_in_a_copy(
    project: DjangoProject, engine: Engine
) -> None:
    project.set_models("shop", SKU_MODELS)
    project.add_migration("shop", "0002_sku", deps=[INITIAL], ops=ADD_SKU)
    project.add_migration(
        "shop", "0002_price", deps=[INITIAL],
        ops="        migrations.AlterModelOptions('product', options={'ordering': ['name']}),\n",
    )
    project.set_models("shop", SKU_MODELS + "\n    class Meta:\n        ordering = ['name']\n")
    before = project.listing()
    merge_name = "0003_merge_0002_price_0002_sku"
    merge = render_merge("shop", merge_name, [("shop", "0002_price"), ("shop", "0002_sku")])
    merge_path = f"shop/migrations/{merge_name}.py"
    result = run(
        project, engine, merge_files={merge_path: merge},
        new_migrations=[("shop", "0002_sku"), ("shop", merge_name)],
    )
    assert result.ok, result.failure
    assert result.merge_migrations_used == (merge_path,)
    assert [m.name for m in result.migrations][-1] == merge_name
    assert project.listing() == before


@on_every_engine
def test_merged_result_files_are_used_and_deleted_ones_removed(
    project: DjangoProject, engine: Engine
) -> None:
    project.add_migration("shop", "0002_broken", deps=[INITIAL], ops="        syntax error\n")
    project.set_models("shop", SKU_MODELS)
    before = project.listing()
    files: dict[str, bytes | None] = {
        "shop/migrations/0002_broken.py": None,
        "shop/migrations/0002_sku.py": migration([INITIAL], ADD_SKU).encode(),
    }
    result = run(project, engine, files=files)
    assert result.ok, result.failure
    assert [m.name for m in result.migrations] == ["0001_initial", "0002_sku"]
    assert project.listing() == before


WRITE_RELATIVE = """\
import json, os
from pathlib import Path

from django.conf import settings


def write(apps, schema_editor):
    Path("exported.csv").write_text("id,name\\n")
    (settings.BASE_DIR / "logs").mkdir()
    (settings.BASE_DIR / "logs" / "run.log").write_text("ran")
    seen = {"cwd": os.getcwd(), "base_dir": str(settings.BASE_DIR)}
    Path(os.environ["MIGRATION_PROBE"]).write_text(json.dumps(seen))


"""


def test_code_of_the_project_writes_into_the_copy_not_the_tree(
    project: DjangoProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RunPython that writes relative and BASE_DIR-relative files; settings that open a log.

    They run in the temporary copy (working directory and ``__file__``), so nothing appears in
    the user's tree, even without a base or merge files (the plain ``migration-ci verify``).
    """
    project.write_settings(
        "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent\n"
        "open('settings.log', 'a').close()\n"
    )
    path = project.add_migration(
        "shop", "0002_export", deps=[INITIAL], ops="        migrations.RunPython(write),\n"
    )
    (project.root / path).write_text(WRITE_RELATIVE + (project.root / path).read_text())
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("MIGRATION_PROBE", str(probe))
    before = project.listing()
    result = run(project, Engine("sqlite", None))
    assert result.ok, result.failure
    assert project.listing() == before
    seen = json.loads(probe.read_text())
    assert seen["cwd"] == seen["base_dir"]
    assert Path(seen["cwd"]).name == project.root.name
    assert not Path(seen["cwd"]).is_relative_to(project.root)
    assert not Path(seen["cwd"]).exists()  # the copy is gone with what was written in it


def test_the_django_engine_loads_settings_in_a_copy(project: DjangoProject) -> None:
    """``check --engine django`` imports the settings too: a log they open stays in the copy."""
    from migration_ci.activities.check import analyze_loaded
    from migration_ci.repository.trees import WorkingTree

    project.write_settings("open('settings.log', 'a').close()\n")
    before = project.listing()
    analysis = analyze_loaded(WorkingTree(project.root), project.settings_module, project.root)
    assert analysis.result.leaves == {"shop": ("0001_initial",)}
    assert project.listing() == before


SERVER_ONLY_FAILURES = {
    "autoincrement": (
        'migrations.RunSQL("CREATE TABLE legacy (id INTEGER PRIMARY KEY AUTOINCREMENT)")',
        {"postgresql", "mysql"},
    ),
    "partial index": (
        'migrations.RunSQL("CREATE TABLE t (x integer)"),\n'
        '        migrations.RunSQL("CREATE INDEX t_x ON t (x) WHERE x > 0")',
        {"mysql"},
    ),
}


@on_every_engine
@pytest.mark.parametrize("case", sorted(SERVER_ONLY_FAILURES))
def test_sql_that_only_some_servers_reject(
    project: DjangoProject, engine: Engine, case: str
) -> None:
    ops, failing_on = SERVER_ONLY_FAILURES[case]
    project.add_migration("shop", "0002_raw", deps=[INITIAL], ops=f"        {ops},\n")
    result = run(project, engine)
    if engine.vendor in failing_on:
        assert result.failure is not None
        assert (result.failure.name, result.failure.direction) == ("0002_raw", "forward")
        assert result.failure.sql is not None and result.failure.sql.startswith("CREATE")
    else:
        assert result.failure is None, result.failure


INTERRUPT = "        migrations.RunPython(interrupt),\n"


@on_every_engine
@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        pytest.param("SIGINT", 130, "migration-ci: interrupted.\n", id="ctrl-c"),
        pytest.param("SIGTERM", 143, "", id="sigterm"),
    ],
)
def test_database_dropped_after_interrupt(
    project: DjangoProject, engine: Engine, tmp_path: Path, signum: str, code: int, said: str
) -> None:
    """The migration signals the command itself while it waits for it, then waits to be
    killed: no timing is involved, and the command is its own process (in a test process,
    the kernel may hand the signal to a thread of the test runner)."""
    path = project.add_migration("shop", "0002_slow", deps=[INITIAL], ops=INTERRUPT)
    source = (project.root / path).read_text(encoding="utf-8")
    project.write(path, (
        "import os, signal\n\n\ndef interrupt(apps, schema_editor):\n"
        f"    os.kill(os.getppid(), signal.{signum})\n    signal.pause()\n\n\n" + source
    ))
    temporary = tmp_path / "tmp-of-the-run"
    temporary.mkdir()
    url = ["--database-url", engine.url] if engine.url else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "migration_ci", "verify", "--settings", project.settings_module,
         *url], cwd=project.root, env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, out, err) == (code, "", said)
    assert list(temporary.iterdir()) == []  # the SQLite file and the project copy are gone
    if engine.url:  # no database of this run is left on the server
        with connect_server(engine.vendor, engine.settings()) as server:
            owners = [parse_owner(marker) for marker in server.list_marked().values()]
        assert [o for o in owners if o and o.pid == proc.pid] == []


@on_every_engine
def test_configured_database_is_never_touched(
    tmp_path: Path, tmpdir_empty: Path, engine: Engine
) -> None:
    """The project's own database (and an alias of it) is neither migrated nor written."""
    user_db = f"mci_user_{secrets.token_hex(4)}"
    if engine.url is None:
        path = tmp_path / f"{user_db}.sqlite3"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE customer (name TEXT)")
            conn.execute("INSERT INTO customer VALUES ('ada')")
        conn.close()
        entry: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
        before: Any = path.read_bytes()
    else:
        engine.create_database(user_db)
        engine.execute("CREATE TABLE customer (name VARCHAR(10))", user_db)
        engine.execute("INSERT INTO customer VALUES ('ada')", user_db)
        entry = engine.settings(user_db)
        before = engine.tables(user_db)
    try:
        proj = DjangoProject(tmp_path / "proj", databases={"default": entry, "other": entry})
        proj.add_app("shop", PRODUCT_MODELS)
        proj.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
        proj.add_migration(
            "shop", "0002_other", deps=[INITIAL],
            ops="        migrations.RunPython(write_other),\n",
        )
        migration_path = proj.root / "shop/migrations/0002_other.py"
        migration_path.write_text(
            "from django.db import connections\n\n\ndef write_other(apps, schema_editor):\n"
            "    connections['other'].cursor().execute('DELETE FROM customer')\n\n\n"
            + migration_path.read_text(encoding="utf-8"), encoding="utf-8",
        )
        run_id = secrets.token_hex(4)
        spec = ProjectSpec(proj.root, proj.settings_module)
        # No --database-url, no --database: the project's own default alias, on its server.
        result = verify(spec, database=DatabaseChoice(), run_id=run_id)
        assert result.database.vendor == engine.vendor
        assert result.failure is not None
        assert result.failure.name == "0002_other"
        assert result.failure.error.startswith("ImproperlyConfigured: settings.DATABASES")
        assert [m.name for m in result.migrations] == ["0001_initial"]
        assert_dropped(engine, run_id)
        after = path.read_bytes() if engine.url is None else engine.tables(user_db)
        assert after == before
    finally:
        if engine.url is not None:
            engine.drop_database(user_db)


def test_settings_that_cannot_be_imported(project: DjangoProject) -> None:
    spec = ProjectSpec(project.root, "no_such_settings")
    with pytest.raises(ConfigError) as info:
        verify(spec, database=DatabaseChoice())
    assert str(info.value) == (
        f"Cannot load settings 'no_such_settings' from {str(project.root)!r}: "
        "ModuleNotFoundError: No module named 'no_such_settings'. "
        "Pass --settings (or set DJANGO_SETTINGS_MODULE) to a module importable from "
        "--project-dir."
    )


def test_app_that_cannot_be_imported(project: DjangoProject) -> None:
    project.set_models("shop", "raise RuntimeError('models are broken')\n")
    with pytest.raises(ProjectError) as info:
        verify(ProjectSpec(project.root, project.settings_module), database=DatabaseChoice())
    assert str(info.value).startswith(
        "Django could not set up the project with settings 'proj_settings': "
        "RuntimeError: models are broken\n"
    )


def test_unknown_database_alias(project: DjangoProject) -> None:
    with pytest.raises(ConfigError) as info:
        verify(ProjectSpec(project.root, project.settings_module),
               database=DatabaseChoice(alias="replica"))
    assert str(info.value) == (
        "No database alias 'replica' in DATABASES of settings 'proj_settings'; it has: default. "
        "Pass --database with one of them, or --database-url."
    )


def test_worker_crash_shows_the_project_output(project: DjangoProject) -> None:
    path = project.add_migration(
        "shop", "0002_crash", deps=[INITIAL], ops="        migrations.RunPython(crash),\n"
    )
    source = (project.root / path).read_text(encoding="utf-8")
    project.write(path, (
        "import os\nimport sys\n\n\ndef crash(apps, schema_editor):\n"
        "    print('printed on stdout')\n    print('about to crash', file=sys.stderr)\n"
        "    os._exit(7)\n\n\n" + source
    ))
    with pytest.raises(WorkerError) as info:
        verify(ProjectSpec(project.root, project.settings_module), database=DatabaseChoice())
    assert info.value.exit_code == 3
    assert str(info.value) == (
        "The Django project process for 'verify' exited with code 7 without an answer.\n"
        "Last lines of its stderr:\nprinted on stdout\nabout to crash "
        "Run `python manage.py check` in the project directory to see if it loads."
    )


def test_printing_migrations_do_not_disturb_the_answer(project: DjangoProject) -> None:
    project.add_migration(
        "shop", "0002_print", deps=[INITIAL],
        ops="        migrations.RunPython(lambda apps, editor: print('{\"result\": 1}'), "
            "migrations.RunPython.noop),\n",
    )
    result = run(project, Engine("sqlite", None), new_migrations=[("shop", "0002_print")])
    assert result.ok
    assert result.phases[-3].name == "backward"


def test_new_migrations_not_in_the_graph(project: DjangoProject) -> None:
    with pytest.raises(GraphError) as info:
        run(project, Engine("sqlite", None), new_migrations=[("shop", "0009_gone")])
    assert str(info.value) == (
        "Migrations given as new are not in the project's migration graph: shop.0009_gone. "
        "Pass the migrations of the merged graph that the base graph does not hold."
    )


def test_descendants_of_new_migrations_go_back_first(project: DjangoProject) -> None:
    """The caller named only 0002; 0003 depends on it, so it goes back first (and fails).

        0001_initial <- 0002_sku <- 0003_sku_index
    """
    project.set_models("shop", SKU_MODELS)
    project.add_migration("shop", "0002_sku", deps=[INITIAL], ops=ADD_SKU)
    project.add_migration(
        "shop", "0003_sku_index", deps=[("shop", "0002_sku")],
        ops='        migrations.RunSQL("CREATE INDEX sku_idx ON shop_product (sku)", '
            '"DROP INDEX no_such_index"),\n',
    )
    result = run(project, Engine("sqlite", None), new_migrations=[("shop", "0002_sku")])
    assert result.failure is not None
    assert (result.failure.name, result.failure.direction) == ("0003_sku_index", "backward")


@pytest.mark.parametrize(
    ("settings", "environ", "expected"),
    [
        pytest.param("a.settings", {"DJANGO_SETTINGS_MODULE": "b"}, "a.settings",
                     id="--settings wins"),
        pytest.param(None, {"DJANGO_SETTINGS_MODULE": "b"}, "b", id="environment next"),
        pytest.param(None, {}, "proj_settings", id="manage.py default last"),
    ],
)
def test_project_spec_settings(
    tmp_path: Path, settings: str | None, environ: dict[str, str], expected: str
) -> None:
    DjangoProject(tmp_path)
    spec = ProjectSpec.from_options(settings=settings, project_dir=tmp_path, environ=environ)
    assert spec == ProjectSpec(tmp_path.resolve(), expected)


def test_project_spec_without_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ProjectSpec.from_options(settings=None, project_dir=tmp_path, environ={})
    assert str(info.value) == (
        f"No Django settings module for the project in {str(tmp_path.resolve())!r}. "
        "Pass --settings (or set DJANGO_SETTINGS_MODULE) to a module importable from "
        "--project-dir."
    )


def test_extra_paths_follow_the_project_into_a_copy(tmp_path: Path) -> None:
    spec = ProjectSpec(tmp_path / "proj", "s", ("src",)).with_dir(tmp_path / "copy")
    assert spec.python_path() == [str(tmp_path / "copy"), str(tmp_path / "copy" / "src")]


def test_project_without_databases_is_verified_on_sqlite(project: DjangoProject) -> None:
    project.set_databases({})
    result = run(project, Engine("sqlite", None))
    assert (result.ok, result.database.vendor) == (True, "sqlite")
