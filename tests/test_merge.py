"""Merge names, dependencies, conflict descriptions and file contents, checked against Django.

The differential tests write a real Django project to disk, run
``python -m django makemigrations --merge --noinput`` on it, and compare the file Django
wrote with ours, byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import django
import pytest
from django.db.migrations.graph import MigrationGraph

from migration_ci.activities.fix import fix_conflicts
from migration_ci.fix.merge import (
    describe_conflicts,
    is_writable_name,
    merge_dependencies,
    merge_name,
    merge_number,
    render_merge,
)
from migration_ci.graph.specs import (
    Branch,
    Conflict,
    Key,
    Leaf,
    MigrationSpec,
    OperationSpec,
    Overlap,
    Side,
)
from tests.support.gitrepo import migration


class DjangoGraph:
    """Django's own MigrationGraph answering the questions the merge code asks."""

    def __init__(self, graph: MigrationGraph) -> None:
        self.graph = graph

    @classmethod
    def from_specs(cls, specs: Mapping[Key, MigrationSpec]) -> DjangoGraph:
        """Same-app and cross-app edges of the specs; squashes replace what they replace."""
        graph = MigrationGraph()
        for key in specs:
            graph.add_node(key, None)
        for key, spec in specs.items():
            for parent in spec.dependencies:
                if parent in specs:
                    graph.add_dependency(key, key, parent)
            for child in spec.run_before:
                graph.add_dependency(key, child, key)
        for key, spec in specs.items():
            if spec.replaces:
                graph.remove_replaced_nodes(key, spec.replaces)
        return cls(graph)

    @classmethod
    def from_parents(cls, parents: Mapping[Key, list[Key]]) -> DjangoGraph:
        graph = MigrationGraph()
        for key in parents:
            graph.add_node(key, None)
        for key, keys in parents.items():
            for parent in keys:
                graph.add_dependency(key, key, parent)
        return cls(graph)

    def leaves(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for app, name in self.graph.leaf_nodes():
            found.setdefault(app, []).append(name)
        return {app: tuple(sorted(names)) for app, names in found.items()}

    def conflicts(self) -> dict[str, tuple[str, ...]]:
        return {app: names for app, names in self.leaves().items() if len(names) > 1}

    def forwards_plan(self, key: Key) -> list[Key]:
        return list(self.graph.forwards_plan(key))

    def ancestry(self, key: Key) -> list[Key]:
        return [node for node in self.forwards_plan(key) if node[0] == key[0]]


def spec(
    name: str, *deps: str, app: str = "shop", ops: tuple[OperationSpec, ...] = (),
    replaces: tuple[str, ...] = (), other: tuple[Key, ...] = (),
) -> MigrationSpec:
    return MigrationSpec(
        app_label=app, name=name, path=f"{app}/migrations/{name}.py",
        dependencies=tuple((app, d) for d in deps) + other,
        replaces=tuple((app, r) for r in replaces), operations=ops,
    )


def specs_of(*items: MigrationSpec) -> dict[Key, MigrationSpec]:
    return {item.key: item for item in items}


def add_field(model: str, name: str) -> OperationSpec:
    return OperationSpec("AddField", f"+ Add field {name} to {model}", model, name)


def create_model(model: str) -> OperationSpec:
    return OperationSpec("CreateModel", f"+ Create model {model.title()}", model)


BRANCH_PATHS = {"shop/migrations/0007_add_sku.py"}


def side_of(path: str) -> Side:
    return "branch" if path in BRANCH_PATHS else "base"


@pytest.mark.parametrize(
    ("leaves", "expected"),
    [
        pytest.param(["0007_add_sku", "0007_price_index"], 8, id="simple fork"),
        pytest.param(["0001_squashed_0007_x", "0006_y"], 8, id="squash counts by last number"),
        pytest.param(["0009_a", "price_index"], 10, id="one name without number"),
        pytest.param(["initial", "other"], 2, id="no numbers: 1 + 1"),
        pytest.param(["0000_a", "0000_b"], 1, id="zero"),
    ],
)
def test_merge_number(leaves: list[str], expected: int) -> None:
    assert merge_number(leaves) == expected


@pytest.mark.parametrize(
    ("leaves", "expected"),
    [
        pytest.param(["0007_price_index", "0007_add_sku"],
                     "0008_merge_0007_add_sku_0007_price_index", id="sorted leaf names"),
        pytest.param(["0002_" + "a" * 20, "0002_" + "b" * 16], "0003_merge_0002_" + "a" * 20
                     + "_0002_" + "b" * 16, id="47 characters: names"),
        pytest.param(["0002_" + "a" * 20, "0002_" + "b" * 17], "0003_merge_20240102_0304",
                     id="48 characters: timestamp"),
    ],
)
def test_merge_name(leaves: list[str], expected: str) -> None:
    assert merge_name(leaves, timestamp="20240102_0304") == expected


def test_merge_name_timestamp_is_djangos_format() -> None:
    name = merge_name(["0001_" + "a" * 30, "0001_" + "b" * 30])
    assert re.fullmatch(r"0002_merge_\d{8}_\d{4}", name), name


def test_long_leaf_names_take_the_timestamp_given() -> None:
    specs = specs_of(spec("0001"), spec(f"0002_{'a' * 30}", "0001"),
                     spec(f"0002_{'b' * 30}", "0001"))
    (conflict,) = describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                                     {"shop": "shop/migrations"}, timestamp="20240101_0000")
    assert conflict.merge_name == "0003_merge_20240101_0000"


@pytest.mark.parametrize(
    ("name", "writable"),
    [
        pytest.param("0003_merge_0002_a-b_0002_c", True, id="hyphen"),
        pytest.param("0003_merge_0002 b \u00e9", True, id="space and accent"),
        pytest.param("", False, id="empty"),
        pytest.param("0003_merge_a/b", False, id="slash"),
        pytest.param("0003_merge_a\nb", False, id="newline"),
        pytest.param("0003_merge_a\x1b[0m", False, id="ANSI escape"),
        pytest.param("0003_merge_a\u202eb", False, id="bidi override"),
    ],
)
def test_writable_names_are_djangos_but_printable(name: str, writable: bool) -> None:
    assert is_writable_name(name) is writable


def test_merge_dependencies_are_sorted() -> None:
    assert merge_dependencies("shop", ["0007_b", "0007_a"]) == (
        ("shop", "0007_a"), ("shop", "0007_b"),
    )


def test_describe_conflicts() -> None:
    """
    0005_base ── 0006_x ── 0007_price_index        (base: touches product.price)
                   └───── 0007_add_sku             (branch: touches product.sku, product.price)
    billing: 0001_initial (no conflict)
    """
    specs = specs_of(
        spec("0005_base"),
        spec("0006_x", "0005_base"),
        spec("0007_price_index", "0006_x", ops=(add_field("product", "price"),)),
        spec("0007_add_sku", "0006_x", other=(("billing", "0001_initial"),),
             ops=(add_field("product", "sku"), add_field("product", "price"))),
        spec("0001_initial", app="billing"),
    )
    conflicts = describe_conflicts(
        DjangoGraph.from_specs(specs), specs, side_of,
        {"shop": "shop/migrations", "billing": "billing/migrations"},
    )
    assert conflicts == (
        Conflict(
            app_label="shop",
            migrations_dir="shop/migrations",
            leaves=(
                Leaf("0007_add_sku", "shop/migrations/0007_add_sku.py", "branch"),
                Leaf("0007_price_index", "shop/migrations/0007_price_index.py", "base"),
            ),
            merge_name="0008_merge_0007_add_sku_0007_price_index",
            merge_dependencies=(("shop", "0007_add_sku"), ("shop", "0007_price_index")),
            branches=(
                Branch("0007_add_sku", ("0007_add_sku",),
                       (add_field("product", "sku"), add_field("product", "price"))),
                Branch("0007_price_index", ("0007_price_index",),
                       (add_field("product", "price"),)),
            ),
            common_ancestor="0006_x",
            overlaps=(Overlap("product", "price", ("0007_add_sku", "0007_price_index")),),
        ),
    )


@pytest.mark.parametrize(
    ("ops_a", "ops_b", "expected"),
    [
        pytest.param((create_model("book"),), (create_model("author"),), (), id="different models"),
        pytest.param((add_field("book", "title"),), (add_field("book", "isbn"),),
                     (Overlap("book", None, ("0002_a", "0002_b")),), id="same model"),
        pytest.param((add_field("book", "title"),), (add_field("book", "title"),),
                     (Overlap("book", "title", ("0002_a", "0002_b")),), id="same field"),
        pytest.param((OperationSpec("RunPython", "p Raw Python operation"),
                      add_field("book", "title")), (add_field("book", "title"),),
                     (Overlap("book", "title", ("0002_a", "0002_b")),),
                     id="after an operation on no model"),
        pytest.param((add_field("author", "name"), add_field("book", "title")),
                     (add_field("author", "name"), add_field("book", "title")),
                     (Overlap("author", "name", ("0002_a", "0002_b")),
                      Overlap("book", "title", ("0002_a", "0002_b"))),
                     id="fields of two models"),
    ],
)
def test_overlaps(
    ops_a: tuple[OperationSpec, ...], ops_b: tuple[OperationSpec, ...],
    expected: tuple[Overlap, ...],
) -> None:
    specs = specs_of(spec("0001_initial"), spec("0002_a", "0001_initial", ops=ops_a),
                     spec("0002_b", "0001_initial", ops=ops_b))
    (conflict,) = describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                                     {"shop": "shop/migrations"})
    assert conflict.overlaps == expected


def test_overlaps_ignore_migrations_shared_after_a_diamond() -> None:
    """
    0001 ── 0002_a ──┬── 0003_m ── 0004_x
      └──── 0002_b ──┘
              0002_a ────────────── 0004_y
    Django's forwards plan of 0004_x reads 0002_b before 0002_a (parents are pushed sorted
    and popped last first): [0001, 0002_b, 0002_a, 0003_m, 0004_x]; of 0004_y: [0001,
    0002_a, 0004_y]. The common prefix is 0001, so 0002_a is in both branches. Its change to
    book.title is the same migration on both sides, not a clash: only book.isbn (0002_b,
    branch x) and book.price (0004_y, branch y) count, so the overlap is the model alone.
    """
    specs = specs_of(
        spec("0001"), spec("0002_a", "0001", ops=(add_field("book", "title"),)),
        spec("0002_b", "0001", ops=(add_field("book", "isbn"),)),
        spec("0003_m", "0002_a", "0002_b"), spec("0004_x", "0003_m"),
        spec("0004_y", "0002_a", ops=(add_field("book", "price"),)),
    )
    (conflict,) = describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                                     {"shop": "shop/migrations"})
    assert conflict.common_ancestor == "0001"
    assert [branch.migrations for branch in conflict.branches] == [
        ("0002_b", "0002_a", "0003_m", "0004_x"), ("0002_a", "0004_y")]
    assert conflict.overlaps == (Overlap("book", None, ("0004_x", "0004_y")),)


def test_a_merge_name_that_is_not_printable_is_not_promised() -> None:
    """Django would write a file named after these leaves; fix will not, and check says so."""
    specs = specs_of(spec("0001"), spec("0002_a\x1b[2J", "0001"), spec("0002_b", "0001"))
    (conflict,) = describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                                     {"shop": "shop/migrations"})
    assert (conflict.merge_name, conflict.merge_dependencies) == (None, ())
    assert conflict.merge_error == (
        "The merge migration Django would write in app 'shop' is named "
        "'0003_merge_0002_a\\x1b[2J_0002_b', after the leaves, and holds a character that is "
        "not printable (or a '/'), so migration-ci fix will not write it. Rename the leaf "
        "migrations, then run migration-ci fix."
    )


@pytest.mark.parametrize(
    ("items", "message"),
    [
        pytest.param(
            [spec("0001_initial"), spec("0001_other")],
            "Migrations 0001_initial and 0001_other in app 'shop' share no common ancestor, "
            "so Django cannot merge them. Make one depend on the other, or delete one and run "
            "makemigrations.",
            id="two roots",
        ),
        pytest.param(
            [spec("0001_squashed_0002_a", replaces=("0001", "0002_a")),
             spec("0001_squashed_0003_b", replaces=("0001", "0003_b"))],
            "Migrations 0001_squashed_0002_a and 0001_squashed_0003_b in app 'shop' start from "
            "different squashed migrations (0001_squashed_0002_a, 0001_squashed_0003_b), so "
            "Django cannot merge them. Keep one squashed migration per app: delete the others or "
            "make them depend on it.",
            id="several squashes as roots",
        ),
        pytest.param(
            [spec("0001_squashed_0002_a", replaces=("0001", "0002_a")), spec("0001_other")],
            "Migrations 0001_other and 0001_squashed_0002_a in app 'shop' share no common "
            "ancestor, so Django cannot merge them. Make one depend on the other, or delete one "
            "and run makemigrations.",
            id="one squash and another root",
        ),
    ],
)
def test_no_common_ancestor(items: list[MigrationSpec], message: str) -> None:
    specs = specs_of(*items)
    (conflict,) = describe_conflicts(DjangoGraph.from_specs(specs), specs, side_of,
                                     {"shop": "shop/migrations"})
    assert (conflict.merge_name, conflict.merge_dependencies, conflict.common_ancestor) == (
        None, (), None)
    assert conflict.merge_error == message


def test_render_merge_without_header() -> None:
    assert render_merge("shop", "0008_merge", [("shop", "0007_a"), ("shop", "0007_b")],
                        include_header=False) == (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n\n"
        "    dependencies = [\n"
        "        ('shop', '0007_a'),\n"
        "        ('shop', '0007_b'),\n"
        "    ]\n\n"
        "    operations = [\n"
        "    ]\n"
    )


# --- differential tests against makemigrations --merge --noinput ----------------------------

SETTINGS = """\
SECRET_KEY = "test"
INSTALLED_APPS = {apps!r}
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}}}
USE_TZ = True
TIME_ZONE = "UTC"
"""

DUMP_GRAPH = """\
import json, django
django.setup()
from django.db.migrations.loader import MigrationLoader
graph = MigrationLoader(None, ignore_no_migrations=True).graph
print(json.dumps([[list(key), [list(p.key) for p in graph.node_map[key].parents]]
                  for key in sorted(graph.nodes)]))
"""

HEADER = re.compile(r"# Generated by Django (\S+) on (\d{4}-\d\d-\d\d \d\d:\d\d)\n")


@dataclass
class Project:
    """A Django project on disk: apps with migration files written by ``migration()``."""

    root: Path
    migrations: dict[Key, MigrationSpec] = field(default_factory=dict)

    def add(self, item: MigrationSpec) -> None:
        replaces = list(item.replaces)
        extra = f"    replaces = {replaces!r}\n\n" if replaces else ""
        path = self.root / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        for package in (path.parent, path.parent.parent):
            (package / "__init__.py").touch()
        path.write_text(migration([tuple(d) for d in item.dependencies], extra=extra),
                        encoding="utf-8")
        self.migrations[item.key] = item

    def write_settings(self) -> None:
        apps = sorted({app for app, _ in self.migrations})
        (self.root / "settings.py").write_text(SETTINGS.format(apps=apps), encoding="utf-8")

    def env(self, path_dirs: list[Path]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
        # The project first, then what the tests put there (Django's fixed clock: conftest).
        python_path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(DJANGO_SETTINGS_MODULE="settings", PYTHONPATH=os.pathsep.join(python_path),
                   PATH=os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"]))
        return env

    def django_graph(self) -> DjangoGraph:
        out = subprocess.run([sys.executable, "-c", DUMP_GRAPH], cwd=self.root,
                             env=self.env([]), capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        return DjangoGraph.from_parents(
            {tuple(key): [tuple(p) for p in parents] for key, parents in json.loads(out.stdout)}
        )

    def makemigrations_merge(self, path_dirs: list[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "django", "makemigrations", "--merge", "--noinput"],
            cwd=self.root, env=self.env(path_dirs), capture_output=True, text=True, check=False,
        )


def build_project(root: Path, items: list[MigrationSpec]) -> Project:
    project = Project(root)
    for item in items:
        project.add(item)
    project.write_settings()
    return project


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


def new_files(root: Path, before: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in snapshot(root).items() if path not in before}


def assert_same_merge_file(ours: dict[str, bytes], djangos: dict[str, bytes]) -> None:
    """Same names, same bytes: both runs read the tests' fixed clock (conftest)."""
    assert list(ours) == list(djangos)
    for path in ours:
        header = HEADER.match(ours[path].decode())
        assert header, ours[path]
        assert (header[1], header[2]) == (django.get_version(), os.environ["MIGRATION_CI_TEST_NOW"])
        assert ours[path] == djangos[path]


def run_both(tmp_path: Path, items: list[MigrationSpec], path_dirs: list[Path] = ()) -> tuple[
    dict[str, bytes], dict[str, bytes], subprocess.CompletedProcess[str], tuple[Conflict, ...]
]:
    """Django's merge in one copy of the project, ours in another; the new files of each."""
    theirs = build_project(tmp_path / "theirs", items)
    ours = build_project(tmp_path / "ours", items)
    graph = theirs.django_graph()
    before = snapshot(theirs.root)
    result = theirs.makemigrations_merge(list(path_dirs))
    django_files = new_files(theirs.root, before)
    stamp = re.search(r"_merge_(\d{8}_\d{4})\.py$", " ".join(django_files))
    conflicts = describe_conflicts(graph, ours.migrations, lambda path: "both",
                                   {app: f"{app}/migrations" for app, _ in ours.migrations},
                                   timestamp=stamp[1] if stamp else None)
    if all(c.merge_name for c in conflicts):
        fix_conflicts(ours.root, conflicts, ours.migrations, strategy="merge")
    return new_files(ours.root, before), django_files, result, conflicts


LONG = "a_rather_long_description_of_a_change"

MERGEABLE = [
    pytest.param([spec("0001_initial"), spec("0002_add_sku", "0001_initial"),
                  spec("0002_price_index", "0001_initial")], id="simple fork"),
    pytest.param([spec("0001_initial", app="billing"), spec("0001_initial"),
                  spec("0002_add_sku", "0001_initial", other=(("billing", "0001_initial"),)),
                  spec("0002_price_index", "0001_initial")], id="cross-app dependency"),
    pytest.param([spec("0001_initial"), spec("0002_a", "0001_initial"),
                  spec("0002_b", "0001_initial"), spec("0003_c", "0001_initial")],
                 id="three leaves"),
    pytest.param([spec("0001_initial"),
                  spec("0002_squashed_0009_big", "0001_initial", replaces=("0002_a", "0009_b")),
                  spec("0003_c", "0001_initial")], id="squashed leaf counts by last number"),
    pytest.param([spec("0001_initial"), spec(f"0002_{LONG}", "0001_initial"),
                  spec("0002_other", "0001_initial")], id="long names: timestamp form"),
    pytest.param([spec("initial"), spec("add_sku", "initial"), spec("price_index", "initial")],
                 id="names without numbers"),
    # Django's loader imports any module name pkgutil lists, and --merge writes the name.
    pytest.param([spec("0001_initial"), spec("0002_add-field", "0001_initial"),
                  spec("0002 b \u00e9", "0001_initial")], id="names that are not identifiers"),
]


@pytest.mark.parametrize("items", MERGEABLE)
def test_merge_file_is_djangos(tmp_path: Path, items: list[MigrationSpec]) -> None:
    ours, djangos, result, _ = run_both(tmp_path, items)
    assert result.returncode == 0, result.stderr
    assert len(djangos) == 1
    assert_same_merge_file(ours, djangos)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        pytest.param([spec("0001_initial"), spec("0001_other")],
                     "share no common ancestor", id="two roots"),
        pytest.param([spec("0001_squashed_0002_a", replaces=("0001", "0002_a")),
                      spec("0001_squashed_0003_b", replaces=("0001", "0003_b"))],
                     "start from different squashed migrations", id="several squashes as roots"),
    ],
)
def test_django_cannot_merge_either(
    tmp_path: Path, items: list[MigrationSpec], message: str
) -> None:
    ours, djangos, result, conflicts = run_both(tmp_path, items)
    assert "ValueError: Could not find common ancestor of" in result.stderr
    assert (ours, djangos) == ({}, {})
    (conflict,) = conflicts
    assert conflict.merge_name is None
    assert conflict.merge_error is not None and message in conflict.merge_error


FAKE_BLACK = """\
#!/bin/sh
echo "$@" >> "{log}"
for last; do :; done
echo "# formatted" >> "$last"
"""


def test_black_on_path_runs_as_djangos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "black.log"
    (bin_dir / "black").write_text(FAKE_BLACK.format(log=log), encoding="utf-8")
    (bin_dir / "black").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]))
    assert shutil.which("black") == str(bin_dir / "black")

    ours, djangos, result, _ = run_both(tmp_path, MERGEABLE[0].values[0], [bin_dir])

    assert result.returncode == 0, result.stderr
    assert_same_merge_file(ours, djangos)
    assert next(iter(ours.values())).endswith(b"    ]\n# formatted\n")
    calls = [line.split(" ", 2) for line in log.read_text().splitlines()]
    name = "shop/migrations/0003_merge_0002_add_sku_0002_price_index.py"
    assert calls == [["--fast", "--", str(tmp_path / "theirs" / name)],
                     ["--fast", "--", str((tmp_path / "ours" / name).resolve())]]
