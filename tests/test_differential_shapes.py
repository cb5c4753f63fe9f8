"""Shapes found in real repositories, against Django's own loader and the Django engine.

Each case is a real project on disk (``test_differential.Project``): Django's
``MigrationLoader`` in a subprocess is the ground truth, and the Django engine
(``worker.graph.load_graph``) runs there too. Files Django cannot import on this Python
(newer syntax) are compared with their twin in older syntax.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_differential import (
    Oracle,
    Project,
    _counter,
    _migration,
    compare,
    conflicts_of,
    static_answer,
)

HEAD = "from django.db import migrations\n\n"


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    process = Oracle()
    yield process
    process.close()


def migration(body: str, prelude: str = "") -> str:
    return f"{HEAD}{prelude}\nclass Migration(migrations.Migration):\n{body}    operations = []\n"


def shop(**files: str) -> dict[str, str | bytes]:
    return {"__init__.py": "", "0001_initial.py": _migration([]), **files}


# --- packages named migrations that are not an app's --------------------------------------------

NOT_MIGRATIONS = {
    "ledger/__init__.py": "",
    "ledger/utils.py": "",
    "ledger/migrations/__init__.py": "",
    "ledger/migrations/copying.py": "def copy_rows(apps, schema_editor):\n    pass\n",
    "search/__init__.py": "",
    "search/vectorstore/__init__.py": "",
    "search/vectorstore/migrations/__init__.py": "",
    "search/vectorstore/migrations/0001_create_collection.py":
        "def upgrade(client):\n    client.create_collection('docs')\n",
    "tests/__init__.py": "",
    "tests/migrations/__init__.py": "",
    "tests/migrations/test_merge.py":
        "from django.test import SimpleTestCase\n\n\nclass MergeTests(SimpleTestCase):\n"
        "    def test_it(self):\n        pass\n",
}


def test_packages_named_migrations_outside_installed_apps(oracle: Oracle, tmp_path: Path) -> None:
    """Django never loads them; the static engine skips them; both see one clean app."""
    project = Project(apps={"shop": shop(**{"0002_x.py": _migration([("shop", "0001_initial")])})},
                      extra=NOT_MIGRATIONS)
    result = compare(oracle, project, tmp_path)
    assert result["static"]["leaves"] == [["shop", "0002_x"]]


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"copying.py": "def copy_rows(apps, schema_editor):\n    pass\n"},
                     id="module of functions in an installed app's migrations"),
        pytest.param({"0002_x.py": migration("    dependencies = []\n"),
                      "utils.py": "VALUE = 1\n"},
                     id="module of values beside a migration"),
    ],
)
def test_a_module_without_migration_class_in_an_app_is_an_error_in_both(
    oracle: Oracle, tmp_path: Path, files: dict[str, str]
) -> None:
    result = compare(oracle, Project(apps={"shop": shop(**files)}), tmp_path)
    [name] = [path.removesuffix(".py") for path in files if "Migration" not in files[path]]
    path = f"{result['package']}/shop_app/migrations/{name}.py"
    assert result["django"] == {
        "error": f"BadMigrationError: Migration {name} in app shop has no Migration class"}
    assert result["static"] == {
        "error": f"{path}: no Migration class. A migration module must define "
                 "'class Migration(migrations.Migration)'."}
    assert result["loaded"] == {
        "error": f"{path}: Migration {name} in app shop has no Migration class. A migration "
                 "module must define 'class Migration(migrations.Migration)'."}


# --- names resolved as Python resolves them ------------------------------------------------------

BOTH = "[('shop', '0001_initial'), ('shop', '0001_other')]"
NAMES = [
    pytest.param(migration("    dependencies = dependencies\n", prelude=f"dependencies = {BOTH}\n"),
                 id="dependencies = dependencies"),
    pytest.param(migration(f"    BASE = {BOTH}\n    dependencies = BASE\n",
                           prelude="BASE = [('shop', '0001_missing')]\n"),
                 id="class body before module"),
    pytest.param(migration("    dependencies = [('shop', '0001_initial')]\n"
                           "    dependencies += [('shop', '0001_other')]\n"),
                 id="augmented assignment"),
    pytest.param(migration("    dependencies = DEPS\n",
                           prelude="DEPS = [('shop', '0001_initial')]\n"
                                   "DEPS = DEPS + [('shop', '0001_other')]\n"),
                 id="module name built on itself"),
]


@pytest.mark.parametrize("source", NAMES)
def test_names_resolve_as_python_does(oracle: Oracle, tmp_path: Path, source: str) -> None:
    """shop: 0001_initial, 0001_other ── 0002_x (joins them): one leaf, no false conflict."""
    project = Project(apps={"shop": shop(**{
        "0001_other.py": _migration([]), "0002_x.py": source})})
    result = compare(oracle, project, tmp_path)
    assert result["static"]["parents"]["shop.0002_x"] == [["shop", "0001_initial"],
                                                         ["shop", "0001_other"]]
    assert conflicts_of(result["static"]) == {}


def test_first_and_latest_follow_the_graph_as_it_grows(oracle: Oracle, tmp_path: Path) -> None:
    """``__first__``/``__latest__`` resolve when Django reaches them (installed apps in label
    order). Between a_shop and zoo, billing's run_before takes 0001_a's root status away, and
    m_app's dependency on cargo's squashed-away 0001_gone adds a stand-in leaf to cargo, which
    the squash then replaces (test_graph draws both)."""
    project = Project(apps={
        "a_shop": {"__init__.py": "", "0001_initial.py": _migration([
            ("billing", "__first__"), ("cargo", "__latest__")])},
        "billing": {"__init__.py": "", "0001_a.py": _migration([]),
                    "0002_b.py": _migration([], run_before=[("billing", "0001_a")])},
        "cargo": {"__init__.py": "", "0002_r.py": _migration([]),
                  "0003_sq.py": _migration([], replaces=[("cargo", "0001_gone")])},
        "m_app": {"__init__.py": "", "0001_initial.py": _migration([("cargo", "0001_gone")])},
        "zoo": {"__init__.py": "", "0001_initial.py": _migration([
            ("billing", "__first__"), ("cargo", "__latest__")])},
    })
    result = compare(oracle, project, tmp_path)
    assert result["static"]["parents"]["a_shop.0001_initial"] == [["billing", "0001_a"],
                                                                 ["cargo", "0002_r"]]
    assert result["static"]["parents"]["zoo.0001_initial"] == [["billing", "0002_b"],
                                                              ["cargo", "0003_sq"]]


# --- malformed keys: the same error from both engines --------------------------------------------

MALFORMED = [
    pytest.param("dependencies", "[('shop',)]", id="one item"),
    pytest.param("dependencies", "[()]", id="empty tuple"),
    pytest.param("dependencies", "[('shop', '0001_initial', 'x')]", id="three items"),
    pytest.param("dependencies", "[('auth', '0001_initial', 'x')]", id="three items, contrib"),
    pytest.param("dependencies", "[('shop', 1)]", id="a name that is not a string"),
    pytest.param("dependencies", "[(1, '0001_initial')]", id="an app that is not a string"),
    pytest.param("dependencies", "[None]", id="None"),
    pytest.param("dependencies", "['shop']", id="bare string"),
    pytest.param("dependencies", "['s']", id="one-letter string"),
    pytest.param("dependencies", "('shop', '0001_initial')", id="one pair, not in a list"),
    pytest.param("dependencies", "[['shop', '0001_initial']]", id="a list"),
    pytest.param("dependencies", "[['auth', '__first__']]", id="a list, contrib"),
    pytest.param("dependencies", "'shop'", id="a string"),
    pytest.param("dependencies", "None", id="no list"),
    pytest.param("run_before", "[('shop',)]", id="run_before entry of one item"),
    pytest.param("run_before", "[['shop', '0001_initial']]", id="run_before entry that is a list"),
    pytest.param("replaces", "[['shop', '0001_initial']]", id="replaces entry that is a list"),
]


@pytest.mark.parametrize(("attribute", "value"), MALFORMED)
def test_malformed_keys_are_the_same_error_in_both_engines(
    oracle: Oracle, tmp_path: Path, attribute: str, value: str
) -> None:
    body = f"    {attribute} = {value}\n"
    if attribute != "dependencies":
        body = "    dependencies = [('shop', '0001_initial')]\n" + body
    result = compare(oracle, Project(apps={"shop": shop(**{"0002_x.py": migration(body)})}),
                     tmp_path)
    path = f"{result['package']}/shop_app/migrations/0002_x.py:{4 + body.count(chr(10))}"
    assert "error" in result["django"]
    assert result["static"]["error"].startswith(f"{path}: "), result["static"]
    assert "Django's loader fails on it" in result["static"]["error"]
    assert result["loaded"] == result["static"]


def test_malformed_replaces_entries_naming_no_node_are_ignored_by_both(
    oracle: Oracle, tmp_path: Path
) -> None:
    """Django looks them up, finds nothing and goes on: a squash of 0001_initial only."""
    body = ("    replaces = [('shop', '0001_initial'), ('shop',), 'shop', ('shop', 1)]\n")
    project = Project(apps={"shop": {"__init__.py": "", "0001_initial.py": _migration([]),
                                     "0001_squashed.py": migration(body),
                                     "0002_x.py": _migration([("shop", "0001_initial")])}})
    result = compare(oracle, project, tmp_path)
    assert result["static"]["parents"]["shop.0002_x"] == [["shop", "0001_squashed"]]


# --- syntax newer than this Python ---------------------------------------------------------------

NEWER = [
    pytest.param(
        "def forwards(apps, schema_editor):\n    try:\n        pass\n"
        "    except ValueError, TypeError:\n        pass\n",
        "except (ValueError, TypeError):", (3, 14),
        "multiple exception types must be parenthesized. PEP 758 except clauses",
        id="PEP 758",
    ),
    pytest.param(
        "def forwards(apps, schema_editor):\n    rows = {'k': 1}\n    print(f\"{rows[\"k\"]}\")\n",
        "print(f\"{rows['k']}\")", (3, 12),
        "f-string: unmatched '['. PEP 701 f-strings",
        id="PEP 701",
    ),
]


@pytest.mark.parametrize(("prelude", "old", "needed", "error"), NEWER)
def test_newer_syntax_outside_the_migration_class(
    oracle: Oracle, tmp_path: Path, prelude: str, old: str, needed: tuple[int, int], error: str,
) -> None:
    """The static engine reads the graph Django reads on a Python that knows the syntax (the
    twin in older syntax stands in for it); the Django engine, on this Python, says which
    Python the file needs."""
    if sys.version_info >= needed:
        pytest.skip(f"Python {sys.version_info[0]}.{sys.version_info[1]} reads this syntax")
    body = ("    dependencies = [('shop', '0001_initial')]\n"
            "    operations = [migrations.RunPython(forwards)]\n")
    newer = f"{HEAD}{prelude}\n\nclass Migration(migrations.Migration):\n{body}"
    [new_line] = [line for line in prelude.splitlines() if "except" in line or "print" in line]
    twin = newer.replace(new_line.strip(), old)
    django = compare(oracle, Project(apps={"shop": shop(**{"0002_x.py": twin})}), tmp_path)
    result = answers(oracle, Project(apps={"shop": shop(**{"0002_x.py": newer})}), tmp_path)
    assert result["static"] == django["static"] == django["django"]
    line = 3 + prelude.splitlines().index(new_line)
    assert result["loaded"]["error"] == (
        f"{result['package']}/shop_app/migrations/0002_x.py:{line}: syntax error: {error} are "
        f"from Python {needed[0]}.{needed[1]}, and this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}. Run the Django engine with the Python "
        "your project uses, or the static engine (without --settings), which reads the graph "
        "without that part of the file."
    )


def answers(oracle: Oracle, project: Project, tmp: Path) -> dict[str, Any]:
    """The static engine's, Django's and the Django engine's answers, not compared."""
    root = tmp / f"root{next(_counter)}"
    root.mkdir(parents=True)
    package, dotted = project.write(root)
    answer = oracle.ask(root, dotted, sorted(project.apps), project.auth_user_model)
    static = json.loads(json.dumps(static_answer(root, project.auth_user_model)))
    shutil.rmtree(root)
    return {"static": static, "django": answer["django"], "loaded": answer["loaded"],
            "package": package}
