"""scan.py: which folders are migration packages, and which label each app has."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from migration_ci.errors import ConfigError, MigrationFileError
from migration_ci.graph.scan import find_packages, load_specs, scan_tree
from migration_ci.graph.specs import MigrationPackage, Skipped
from tests.support.gitrepo import migration


class Tree:
    """Files in memory; records each ``read`` call."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.reads: list[list[str]] = []

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        self.reads.append(list(paths))
        return {path: self.files[path].encode() for path in paths}


def config(body: str, base: str = "AppConfig") -> str:
    return f"from django.apps import AppConfig\n\n\nclass ShopConfig({base}):\n{body}"


def test_packages_files_and_exclusions() -> None:
    tree = Tree({
        "shop/__init__.py": "", "shop/models.py": "", "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": "", "shop/migrations/thefirst.py": "",
        "shop/migrations/_util.py": "", "shop/migrations/~tmp.py": "",
        "shop/migrations/.util.py": "", "shop/migrations/0002.old.py": "",
        "shop/migrations/README.md": "", "shop/migrations/sub/__init__.py": "",
        "ns/migrations/0001_initial.py": "",  # namespace package: unmigrated, as in Django
        "vendor/lib/migrations/__init__.py": "", "vendor/lib/migrations/0001_x.py": "",
    })
    assert find_packages(tree.files, tree.read, exclude=["vendor/*"]) == [
        MigrationPackage(
            app_label="shop", app_dir="shop", migrations_dir="shop/migrations",
            files=("shop/migrations/0001_initial.py", "shop/migrations/thefirst.py"),
        )
    ]


@pytest.mark.parametrize(
    ("apps_py", "overrides", "label"),
    [
        pytest.param(None, {}, "shop", id="no apps.py: folder name"),
        pytest.param(config("    name = 'src.shop'\n    label = 'store'\n"), {}, "store",
                     id="AppConfig label"),
        pytest.param(config("    name = 'src.retail'\n"), {}, "retail",
                     id="last part of AppConfig name"),
        pytest.param(config("    name = 'src.sub.retail'\n"), {}, "retail",
                     id="last part of a deeper AppConfig name"),
        pytest.param(None, {"src.shop": "mine"}, "mine", id="override by the folder, dotted"),
        pytest.param(config("    name = 1\n    label = 2\n"), {}, "shop",
                     id="name and label that are not strings: folder name"),
        pytest.param("class Helper(make_base()):\n    name = 'h'\n\n\n"
                     + config("    name = 'x'\n    label = 'store'\n")
                     + "\n\nclass Mixin(object):\n    label = 'mixin'\n", {}, "store",
                     id="helper classes are not configs"),
        pytest.param(config("    name = 'src.shop'\n    label = 'store'\n")
                     + "\n\nclass Other(AppConfig):\n    name = 'src.shop'\n    label = 'other'\n"
                       "    default = True\n", {}, "other", id="default = True wins"),
        pytest.param(config("    name = 'a'\n    label = 'one'\n")
                     + "\n\nclass Other(AppConfig):\n    name = 'b'\n    label = 'two'\n",
                     {}, "shop", id="two configs, no default: folder name"),
        pytest.param(config("    name = 'x'\n    label = 'store'\n", base="apps.AppConfig"),
                     {"src/shop": "mine"}, "mine", id="override by folder"),
        pytest.param(config("    name = 'x.shop'\n"), {"x.shop": "mine"}, "mine",
                     id="override by dotted name"),
        pytest.param(config("    name = 'x'\n    label = 'store'\n", base="apps.AppConfig"), {},
                     "store", id="AppConfig through its module"),
        pytest.param(config("    name = 'a'\n    label = 'one'\n    default = False\n")
                     + "\n\nclass Other(AppConfig):\n    name = 'b'\n    label = 'two'\n",
                     {}, "two", id="default = False is passed over"),
    ],
)
def test_app_label(apps_py: str | None, overrides: dict[str, str], label: str) -> None:
    files = {"src/shop/migrations/__init__.py": "", "src/shop/models.py": ""}
    if apps_py is not None:
        files["src/shop/apps.py"] = apps_py
    tree = Tree(files)
    [package] = find_packages(tree.files, tree.read, label_overrides=overrides)
    assert package.app_label == label


def test_duplicate_labels_are_an_error() -> None:
    tree = Tree({"a/shop/models.py": "", "a/shop/migrations/__init__.py": "",
                 "b/shop/models.py": "", "b/shop/migrations/__init__.py": ""})
    with pytest.raises(ConfigError) as caught:
        find_packages(tree.files, tree.read)
    assert str(caught.value) == (
        "Two migration packages have the app label 'shop': a/shop/migrations and "
        "b/shop/migrations. Give them distinct labels in .migration-ci.yml, e.g. "
        "app-labels: {b/shop: shop_2}, or exclude one with exclude:."
    )


def test_load_specs_reads_all_files_at_once() -> None:
    tree = Tree({
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": migration(),
        "shop/migrations/0002_x.py": migration(deps=[("shop", "0001_initial")]),
        "billing/migrations/__init__.py": "",
        "billing/migrations/0001_initial.py": migration(deps=[("shop", "0002_x")]),
    })
    packages = find_packages(tree.files, tree.read)
    tree.reads.clear()
    specs = load_specs(packages, tree.read)
    assert [spec.key for spec in specs] == [
        ("billing", "0001_initial"), ("shop", "0001_initial"), ("shop", "0002_x")]
    assert specs[0].path == "billing/migrations/0001_initial.py"
    assert len(tree.reads) == 1


COPY_ROWS = "def copy_rows(apps, schema_editor):\n    pass\n"
TEST_MODULE = "from django.test import SimpleTestCase\n\n\nclass MergeTests(SimpleTestCase):\n" \
              "    pass\n"


def test_packages_named_migrations_that_are_not_an_apps_are_skipped() -> None:
    """Django loads only installed apps' migrations: a package none of whose modules is a
    migration, in a folder that is not an app, cannot be one."""
    tree = Tree({
        "ledger/__init__.py": "", "ledger/utils.py": "",
        "ledger/migrations/__init__.py": "", "ledger/migrations/copying.py": COPY_ROWS,
        "search/vectorstore/migrations/__init__.py": "",
        "search/vectorstore/migrations/0001_create_index.py": "def upgrade(client):\n    pass\n",
        "tests/__init__.py": "", "tests/migrations/__init__.py": "",
        "tests/migrations/test_merge.py": TEST_MODULE,
        "migrations/__init__.py": "",
        "shop/models.py": "", "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": migration(),
    })
    scan = scan_tree(tree.files, tree.read)
    assert scan.packages == [MigrationPackage("shop", "shop", "shop/migrations",
                                              ("shop/migrations/0001_initial.py",))]
    none = "none of its modules defines a Migration class"
    assert scan.skipped == [
        Skipped("ledger/migrations", f"not an app's migrations: {none}, and ledger has no "
                                     "apps.py, models.py or models package"),
        Skipped("migrations", "not an app's migrations: it holds no modules, and the root "
                              "folder has no apps.py, models.py or models package"),
        Skipped("search/vectorstore/migrations", f"not an app's migrations: {none}, and "
                "search/vectorstore has no apps.py, models.py or models package"),
        Skipped("tests/migrations", f"not an app's migrations: {none}, and tests has no "
                                    "apps.py, models.py or models package"),
    ]


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"shop/apps.py": config("    name = 'shop'\n")}, id="app with apps.py"),
        pytest.param({"shop/models.py": ""}, id="app with models.py"),
        pytest.param({"shop/models/__init__.py": ""}, id="app with a models package"),
        pytest.param({"shop/migrations/0001_initial.py": migration()},
                     id="a sibling is a migration"),
    ],
)
def test_a_module_without_migration_class_in_a_real_package_stays_an_error(
    files: dict[str, str],
) -> None:
    tree = Tree({"shop/migrations/__init__.py": "", "shop/migrations/copying.py": COPY_ROWS,
                 **files})
    [package] = find_packages(tree.files, tree.read)
    with pytest.raises(MigrationFileError) as caught:
        load_specs([package], tree.read)
    assert str(caught.value) == (
        "shop/migrations/copying.py: no Migration class. A migration module must define "
        "'class Migration(migrations.Migration)'."
    )


def test_an_exclude_pattern_hides_only_what_it_matches() -> None:
    """The excluded paths come first: every path after them is still scanned."""
    tree = Tree({
        "archive/migrations/__init__.py": "", "archive/migrations/0001_old.py": migration(),
        "archive/models.py": "",
        "billing/models.py": "", "billing/migrations/__init__.py": "",
        "billing/migrations/0001_initial.py": migration(),
        "shop/models.py": "", "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": migration(),
    })
    packages = find_packages(tree.files, tree.read, exclude=["archive/*"])
    assert [p.migrations_dir for p in packages] == ["billing/migrations", "shop/migrations"]


def test_only_python_modules_are_migrations() -> None:
    """As pkgutil.iter_modules lists them: a .py file whose name has no dot."""
    tree = Tree({
        "shop/models.py": "", "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": migration(),
        "shop/migrations/0002_notes.txt": "", "shop/migrations/0003_data.json": "",
        "shop/migrations/0004_x.py.orig": "", "shop/migrations/0005_y.PY": "",
        "shop/migrations/0006_z.pyi": "", "shop/migrations/0007_w.sql": "",
    })
    [package] = find_packages(tree.files, tree.read)
    assert package.files == ("shop/migrations/0001_initial.py",)
    assert [spec.name for spec in load_specs([package], tree.read)] == ["0001_initial"]


@pytest.mark.parametrize(
    ("apps_py", "label"),
    [
        pytest.param(config("    name = 'src.shop'\n    label = 'store'\n\n"
                            "    def ready(self):\n        from . import signals\n"),
                     "store", id="AppConfig with a method"),
        pytest.param(config("    name = 'src.shop'\n    label = 'store'\n")
                     + "\n\nclass Plain:\n    label = 'plain'\n", "store",
                     id="another class beside the AppConfig"),
        pytest.param("from django.apps import AppConfig\n\nclass ShopConfig(AppConfig:\n",
                     "shop", id="apps.py that does not parse: folder name"),
        pytest.param(config("    name = 'src.retail'\n    label = LABEL\n"), "retail",
                     id="label not a literal: last part of the name"),
    ],
)
def test_app_label_from_real_apps_py(apps_py: str, label: str) -> None:
    tree = Tree({"src/shop/migrations/__init__.py": "", "src/shop/apps.py": apps_py})
    [package] = find_packages(tree.files, tree.read)
    assert package.app_label == label


def test_a_migrations_package_at_the_root_needs_a_label() -> None:
    tree = Tree({"migrations/__init__.py": "", "models.py": ""})
    with pytest.raises(ConfigError) as caught:
        find_packages(tree.files, tree.read)
    assert str(caught.value) == (
        "A migrations package sits at the root of the scanned tree, so its app has no folder "
        "name to use as a label. Set it in .migration-ci.yml: app-labels: {'.': your_label}.")
    assert find_packages(tree.files, tree.read, label_overrides={".": "core"})[0].app_label \
        == "core"


def test_nothing_to_read_reads_nothing() -> None:
    tree = Tree({"shop/migrations/__init__.py": "", "shop/models.py": ""})
    assert [p.app_label for p in find_packages(tree.files, tree.read)] == ["shop"]
    assert tree.reads == []


def test_a_module_name_may_start_with_any_letter() -> None:
    from migration_ci.graph.scan import is_migration_module

    assert is_migration_module("X0001_initial.py")
    assert is_migration_module("0001_initial.py")
    assert not is_migration_module("_0001.py")
    assert not is_migration_module("~0001.py")


def test_the_user_model_defaults_to_auth_user() -> None:
    tree = Tree({
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": "from django.conf import settings\n"
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]\n",
    })
    [spec] = load_specs(find_packages(tree.files, tree.read), tree.read)
    assert spec.dependencies == (("auth", "__first__"),)
    [spec] = load_specs(find_packages(tree.files, tree.read), tree.read,
                        auth_user_model="accounts.User")
    assert spec.dependencies == (("accounts", "__first__"),)
