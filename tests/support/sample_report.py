"""Report documents (README: "Report document") for tests of what renders them."""

from __future__ import annotations

import copy
from typing import Any

MERGE_CONTENT = '''\
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0007_add_sku"),
        ("shop", "0007_price_index"),
    ]

    operations = []
'''

_CONFLICTED: dict[str, Any] = {
    "version": 1,
    "tool": "django-migration-ci 0.1.0",
    "base": {"ref": "main", "sha": "a" * 40},
    "head": {"sha": "b" * 40},
    "working_directory": ".",
    "check": {
        "engine": "static",
        "migration_count": 9,
        "leaves": {"shop": ["0007_add_sku", "0007_price_index"]},
        "conflicts": [
            {
                "app_label": "shop",
                "migrations_dir": "shop/migrations",
                "leaves": [
                    {"name": "0007_add_sku", "path": "shop/migrations/0007_add_sku.py",
                     "side": "branch"},
                    {"name": "0007_price_index", "path": "shop/migrations/0007_price_index.py",
                     "side": "base"},
                ],
                "common_ancestor": "0006_order",
                "merge_name": "0008_merge_0007_add_sku_0007_price_index",
                "merge_dependencies": [["shop", "0007_add_sku"], ["shop", "0007_price_index"]],
                "merge_error": None,
                "merge_file": {
                    "path": "shop/migrations/0008_merge_0007_add_sku_0007_price_index.py",
                    "content": MERGE_CONTENT,
                },
                "branches": [
                    {"leaf": "0007_add_sku", "migrations": ["0007_add_sku"],
                     "operations": [{"kind": "AddField",
                                     "description": "+ Add field sku to product"}]},
                    {"leaf": "0007_price_index", "migrations": ["0007_price_index"],
                     "operations": [{"kind": "AddIndex",
                                     "description": "+ Create index price_idx on field(s) price "
                                                    "of model product"}]},
                ],
                "overlaps": [{"model": "product", "field": None,
                              "leaves": ["0007_add_sku", "0007_price_index"]}],
            }
        ],
        "warnings": [],
    },
    "verify": {
        "database": {"vendor": "sqlite", "version": "3.40.1"},
        "ok": True,
        "seconds": 1.23,
        "phases": [{"name": "forward", "seconds": 1.0}, {"name": "backward", "seconds": 0.1}],
        "snapshot": None,
        "migrations": [{"app_label": "shop", "name": "0001_initial", "seconds": 0.01}],
        "failure": None,
        "irreversible": [],
        "missing_changes": [],
        "merge_migrations_used": ["shop/migrations/0008_merge_0007_add_sku_0007_price_index.py"],
    },
    "plan": {
        "vendor": "sqlite",
        "entries": [
            {"app_label": "shop", "name": "0007_add_sku", "status": "new",
             "path": "shop/migrations/0007_add_sku.py",
             "operations": [{"description": "Add field sku to product", "irreversible": False,
                             "risk": {"level": "low", "reason": "nullable field",
                                      "safer": "nothing to do",
                                      "rule": "new-nullable-field"}}],
             "sql": "BEGIN;\nALTER TABLE shop_product ADD COLUMN sku varchar(20) NULL;\nCOMMIT;",
             "sql_error": None},
        ],
    },
}


def conflicted() -> dict[str, Any]:
    """One app ('shop') with a leaf from each side, verified and planned."""
    return copy.deepcopy(_CONFLICTED)


def clean() -> dict[str, Any]:
    """The same pull request once the conflict is gone."""
    report = conflicted()
    report["check"]["conflicts"] = []
    report["check"]["leaves"] = {"shop": ["0008_merge_0007_add_sku_0007_price_index"]}
    return report
