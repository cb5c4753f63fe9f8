"""scan.py: which folders are migration packages, and which label each app has."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from migration_ci.errors import ConfigError
from migration_ci.graph.scan import find_packages, load_specs
from migration_ci.graph.specs import MigrationPackage
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
        "shop/__init__.py": "", "shop/migrations/__init__.py": "",
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
    ],
)
def test_app_label(apps_py: str | None, overrides: dict[str, str], label: str) -> None:
    files = {"src/shop/migrations/__init__.py": ""}
    if apps_py is not None:
        files["src/shop/apps.py"] = apps_py
    tree = Tree(files)
    [package] = find_packages(tree.files, tree.read, label_overrides=overrides)
    assert package.app_label == label


def test_duplicate_labels_are_an_error() -> None:
    tree = Tree({"a/shop/migrations/__init__.py": "", "b/shop/migrations/__init__.py": ""})
    with pytest.raises(ConfigError) as caught:
        find_packages(tree.files, tree.read)
    assert str(caught.value) == (
        "Two migration packages have the app label 'shop': a/shop/migrations and "
        "b/shop/migrations. Give them distinct labels in .migration-ci.yml, e.g. "
        "app_labels: {b/shop: shop_2}, or exclude one with exclude:."
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
