"""The Django engine's answers on broken projects: one message, exit 2, never a traceback.

``check --engine django`` asks Django's own ``MigrationLoader`` in the worker; each error it
raises becomes our error naming the file (worker/graph.py), carried back over the process
boundary (project/session.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from migration_ci.cli.main import main
from migration_ci.graph.parse import parse_migration
from migration_ci.worker.graph import formatted_description, operation_spec
from tests.support.djangoproj import CREATE_PRODUCT, PRODUCT_MODELS, DjangoProject

pytestmark = pytest.mark.slow
HEAD = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
NO_COLON = HEAD.replace("Migration):", "Migration)") + "    pass\n"


def migration_file(deps: str) -> str:
    return f"{HEAD}    dependencies = {deps}\n    operations = []\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DjangoProject:
    proj = DjangoProject(tmp_path / "proj")
    proj.add_app("shop", PRODUCT_MODELS)
    proj.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
    monkeypatch.chdir(proj.root)
    return proj


def check(project: DjangoProject, capsys: pytest.CaptureFixture[str],
          *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(["check", "--engine", "django", "--settings", project.settings_module, *argv],
                stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def syntax_message() -> str:
    try:
        compile(NO_COLON, "x.py", "exec")
    except SyntaxError as exc:
        return f"{exc.msg}"
    raise AssertionError("compiles")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(
            {"0002_x": migration_file("[('shop', '0001_nope')]")},
            "shop/migrations/0002_x.py: Migration shop.0002_x dependencies reference nonexistent "
            "parent node ('shop', '0001_nope'). Fix the dependency or restore the file.",
            id="missing dependency",
        ),
        pytest.param(
            {"0002_x": migration_file("[('shop', '0003_y')]"),
             "0003_y": migration_file("[('shop', '0002_x')]")},
            "shop/migrations/0002_x.py: circular dependency between migrations: shop.0002_x, "
            "shop.0003_y. Remove the dependency (or run_before) that closes the loop.",
            id="cycle",
        ),
        pytest.param(
            {"0002_x": "from django.db import migrations\n"},
            "shop/migrations/0002_x.py: Migration 0002_x in app shop has no Migration class. "
            "A migration module must define 'class Migration(migrations.Migration)'.",
            id="no Migration class",
        ),
        pytest.param(
            {"0002_x": NO_COLON},
            f"shop/migrations/0002_x.py:4: syntax error: {syntax_message()}",
            id="syntax error",
        ),
        pytest.param(
            {"0002_x": "import nope_module\n"},
            "A migration could not be imported: No module named 'nope_module' Fix the import, "
            "or use the static engine (drop --settings).",
            id="import error",
        ),
        pytest.param(
            {"0002_x": migration_file("[('nope', '__first__')]")},
            "Dependency on unknown app: nope. Add the app to INSTALLED_APPS or fix the "
            "dependency.",
            id="__first__ of an unknown app",
        ),
    ],
)
def test_a_broken_project_is_one_message(
    project: DjangoProject, capsys: pytest.CaptureFixture[str], files: dict[str, str],
    message: str,
) -> None:
    for name, source in files.items():
        (project.root / f"shop/migrations/{name}.py").write_text(source)
    assert check(project, capsys) == (2, "", f"migration-ci: {message}\n")


BROKEN_DESCRIBE = HEAD.replace("class Migration", '''class Custom(migrations.RunSQL):
    def describe(self):
        raise RuntimeError("boom")

    def formatted_description(self):
        raise RuntimeError("boom")


class Migration''') + "    dependencies = [('shop', '0001_initial')]\n" + \
    "    operations = [Custom('SELECT 1')]\n"


def test_an_operation_that_cannot_describe_itself_is_named_by_its_class(
    project: DjangoProject, capsys: pytest.CaptureFixture[str],
) -> None:
    """With an installed app whose migrations lie outside the project folder, too."""
    project.apps.append("django.contrib.contenttypes")
    project.write_settings()
    (project.root / "shop/migrations/0002_custom.py").write_text(BROKEN_DESCRIBE)
    (project.root / "shop/migrations/0002_other.py").write_text(
        migration_file("[('shop', '0001_initial')]"))
    code, out, err = check(project, capsys, "--format", "json")
    assert (code, err) == (1, "")
    [conflict] = json.loads(out)["conflicts"]
    branches = {b["leaf"]: b["operations"] for b in conflict["branches"]}
    assert branches["0002_custom"] == [{"kind": "Custom", "description": "? Custom"}]


class AddField:
    """An operation of a Django without ``formatted_description`` (before 5.1)."""

    model_name = "Product"
    name = "SKU"

    def describe(self) -> str:
        return "Add field SKU to Product"


class Unknown:
    def describe(self) -> str:
        return "Do something"


def test_before_django_5_1_the_symbol_comes_from_the_operations_table() -> None:
    assert formatted_description(AddField()) == "+ Add field SKU to Product"
    assert formatted_description(Unknown()) == "? Do something"
    spec = operation_spec(AddField())
    assert (spec.kind, spec.model, spec.field) == ("AddField", "product", "sku")


@pytest.mark.parametrize(
    ("operation", "model", "field"),
    [
        pytest.param("migrations.RenameModel('Product', 'Item')", "product", None,
                     id="RenameModel: the old model"),
        pytest.param("migrations.RenameField('Product', 'sku', 'code')", "product", "sku",
                     id="RenameField: the old field"),
        pytest.param("migrations.AddIndex('Product', models.Index(fields=['sku'], name='i'))",
                     "product", None, id="AddIndex: a model, no field"),
        pytest.param("migrations.RemoveConstraint('Product', 'c')", "product", None,
                     id="RemoveConstraint: a model, no field"),
    ],
)
def test_the_loaded_operation_names_what_the_static_engine_names(
    operation: str, model: str, field: str | None
) -> None:
    """Both engines say which model and field an operation touches (for overlap warnings)."""
    from django.db import migrations, models

    loaded = operation_spec(eval(operation, {"migrations": migrations, "models": models}))
    source = ("from django.db import migrations, models\n\n\n"
              "class Migration(migrations.Migration):\n"
              f"    operations = [{operation}]\n")
    [static] = parse_migration(source.encode(), path="x.py", app_label="shop",
                               name="0002_x").operations
    assert (loaded.model, loaded.field) == (static.model, static.field) == (model, field)
