"""Every shape real repositories showed, in one repository, checks clean from the command line.

The repository is a real git repository holding a real Django project: an app whose
migrations name their dependencies through class-body names and use syntax newer than some
Pythons in a ``RunPython`` function, beside packages named ``migrations`` that are no app's
(a library's data-migration functions, a vector store's, a test package). The static check
(what the pre-commit hook runs) is clean, says what it left out, and the Django engine agrees
on the commit Django can import.
"""

from __future__ import annotations

import io
import json
import sys

import pytest

from migration_ci.cli.main import main
from tests.support.djangoproj import DjangoProject
from tests.support.gitrepo import GitRepo, isolated_env
from tests.test_differential_shapes import NOT_MIGRATIONS as NOT_APPS

SHOP_0002 = """\
from django.db import migrations

dependencies = [("shop", "0001_initial")]


class Migration(migrations.Migration):
    dependencies = dependencies
    operations = []
"""
SHOP_0003 = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_named")]
    dependencies += [("shop", "0001_initial")]
    operations = []
"""
SHOP_0004 = """\
from django.db import migrations


def forwards(apps, schema_editor):
    try:
        pass
    except ValueError, TypeError:
        pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_built_up")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""
NONE = "none of its modules defines a Migration class"
SKIPPED = [
    ("ledger/migrations", f"not an app's migrations: {NONE}, and ledger has no apps.py, "
                          "models.py or models package"),
    ("search/vectorstore/migrations", f"not an app's migrations: {NONE}, and "
                                      "search/vectorstore has no apps.py, models.py or models "
                                      "package"),
    ("tests/migrations", f"not an app's migrations: {NONE}, and tests has no apps.py, "
                         "models.py or models package"),
]
RUNNING = "{}.{}".format(*sys.version_info[:2])
WARNINGS = [] if sys.version_info >= (3, 14) else [
    f"shop/migrations/0004_data.py:7: Python {RUNNING} cannot read this (multiple exception "
    "types must be parenthesized): PEP 758 except clauses are from Python 3.14; read without "
    "function 'forwards', which the migration graph does not need"
]


@pytest.fixture
def tree(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Commit 1: every shape Django can import here; commit 2 adds the newer syntax."""
    for key, value in isolated_env().items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    project = DjangoProject(repo.root)
    project.add_app("shop")
    project.add_migration("shop", "0001_initial")
    project.write("shop/migrations/0002_named.py", SHOP_0002)
    project.write("shop/migrations/0003_built_up.py", SHOP_0003)
    for path, text in NOT_APPS.items():
        repo.write(path, text)
    repo.commit("every shape Django imports on any Python")
    project.write("shop/migrations/0004_data.py", SHOP_0004)
    repo.commit("syntax of Python 3.14")
    monkeypatch.chdir(repo.root)
    return repo


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def test_the_static_check_is_clean_and_says_what_it_left_out(tree: GitRepo) -> None:
    clean = "No conflicting migrations: 1 app, 4 migrations checked (static engine).\n"
    warned = "".join(f"warning: {w}\n" for w in WARNINGS)
    assert run("check") == (0, warned + clean)
    skipped = "".join(f"skipped: {path}: {reason}\n" for path, reason in SKIPPED)
    assert run("check", "--verbose") == (0, warned + skipped + clean)
    code, out = run("check", "--format", "json")
    document = json.loads(out)
    assert (code, document["leaves"], document["conflicts"]) == (0, {"shop": ["0004_data"]}, [])
    assert document["warnings"] == WARNINGS
    assert document["skipped"] == [{"path": path, "reason": reason} for path, reason in SKIPPED]


def test_the_django_engine_agrees_where_django_imports_the_files(tree: GitRepo) -> None:
    assert run("check", "--settings", "proj_settings", "--head", "HEAD~1") == (
        0, "No conflicting migrations: 1 app, 3 migrations checked (django engine).\n")
    assert run("check", "--head", "HEAD~1") == (
        0, "No conflicting migrations: 1 app, 3 migrations checked (static engine).\n")


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="Python 3.14 imports the file")
def test_the_django_engine_says_which_python_imports_the_newer_file(
    tree: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", "--settings", "proj_settings") == (2, "")
    assert capsys.readouterr().err == (
        "migration-ci: shop/migrations/0004_data.py:7: syntax error: multiple exception types "
        f"must be parenthesized. PEP 758 except clauses are from Python 3.14, and this is "
        f"Python {RUNNING}. Run the Django engine with the Python your project uses, or the "
        "static engine (without --settings), which reads the graph without that part of the "
        "file.\n"
    )
