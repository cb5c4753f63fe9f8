"""A Django project shaped like the real ones the Action meets, with a forked history.

    .gitignore                      mysite/configuration.py: CI writes it before the run
    manage.py
    mysite/settings.py              imports mysite.configuration (DATABASES, PLUGINS, SECRET_KEY)
    mysite/configuration_testing.py the template CI copies (cp ... configuration.py)
    catalog/                        Product; the PostgreSQL-only ArrayField comes on the branch
    orders/                         Order -> catalog.Product
    loyalty/                        an optional plugin: models and migrations, not installed
    app_01/ ...                     more apps of a few migrations each (``extra_apps``)

History (``build_history``): ``main`` holds the initial migrations; ``feature`` (the pull
request) adds ``catalog.0002_product_nickname_and_tags`` (a ``blank=True`` CharField and an
ArrayField); ``main`` then adds ``catalog.0002_product_discontinued_flag_added``. The two leaf
names joined are longer than 47 characters, so Django's merge name holds a timestamp. Both
sides change ``catalog/models.py`` in places git merges cleanly.

The files are what ``makemigrations`` writes for these models, so ``makemigrations --check``
is clean on either branch and on their merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.gitrepo import GitRepo

SETTINGS_MODULE = "mysite.settings"
CONFIGURATION = "mysite/configuration.py"
TEMPLATE = "mysite/configuration_testing.py"
BASE_LEAF = "0002_product_discontinued_flag_added"
BRANCH_LEAF = "0002_product_nickname_and_tags"
PLUGIN = "loyalty"

MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """\
# What differs per deployment lives in configuration.py, which is not in git: CI copies
# configuration_testing.py to it before anything loads the project.
from mysite.configuration import DATABASES, PLUGINS, SECRET_KEY  # noqa: F401

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.postgres",
    "catalog",
    "orders",
{extra}    *PLUGINS,
]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

CONFIGURATION_TEMPLATE = """\
SECRET_KEY = "testing-only"
# Optional plugins with migrations of their own; CI runs without them.
PLUGINS = []
DATABASES = {{"default": {database!r}}}
"""

HEADER = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
BIG_AUTO_ID = (
    "                ('id', models.BigAutoField(auto_created=True, primary_key=True, "
    "serialize=False, verbose_name='ID')),\n"
)


def migration(deps: list[tuple[str, str]], operations: str, *, initial: bool = False,
              imports: str = "") -> str:
    lines = "".join(f"        ({app!r}, {name!r}),\n" for app, name in deps)
    return (
        imports + HEADER + ("\n    initial = True\n" if initial else "")
        + f"\n    dependencies = [\n{lines}    ]\n\n    operations = [\n{operations}    ]\n"
    )


def create_model(name: str, fields: str) -> str:
    return (f"        migrations.CreateModel(\n            name={name!r},\n"
            f"            fields=[\n{BIG_AUTO_ID}{fields}            ],\n        ),\n")


def add_field(model: str, name: str, field: str) -> str:
    return (f"        migrations.AddField(\n            model_name={model!r},\n"
            f"            name={name!r},\n            field={field},\n        ),\n")


def catalog_models(*, discontinued: bool, nickname_and_tags: bool) -> str:
    """The base adds its field right after ``name``, the branch its two after ``created``."""
    imports = "from django.contrib.postgres.fields import ArrayField\n" \
        if nickname_and_tags else ""
    flag = "    discontinued = models.BooleanField(default=False)\n" if discontinued else ""
    extra = (
        "    nickname = models.CharField(max_length=50, blank=True)\n"
        "    tags = ArrayField(models.CharField(max_length=20), blank=True, default=list)\n"
    ) if nickname_and_tags else ""
    return (
        f"{imports}from django.db import models\n\n\nclass Product(models.Model):\n"
        f"    name = models.CharField(max_length=100)\n{flag}"
        "    price = models.DecimalField(max_digits=8, decimal_places=2)\n"
        f"    created = models.DateTimeField(auto_now_add=True)\n{extra}"
        "\n    def __str__(self):\n        return self.name\n"
    )


def base_files(database: Mapping[str, Any], extra_apps: int = 0,
               migrations_per_app: int = 3) -> dict[str, str]:
    """The common history: everything ``main`` has at the fork."""
    extra = [f"app_{i:02d}" for i in range(1, extra_apps + 1)]
    files = {
        ".gitignore": f"/{CONFIGURATION}\n__pycache__/\n",
        "manage.py": MANAGE_PY,
        "mysite/__init__.py": "",
        "mysite/settings.py": SETTINGS.format(extra="".join(f"    {a!r},\n" for a in extra)),
        TEMPLATE: CONFIGURATION_TEMPLATE.format(database=dict(database)),
        "catalog/__init__.py": "",
        "catalog/models.py": catalog_models(discontinued=False, nickname_and_tags=False),
        "catalog/migrations/__init__.py": "",
        "catalog/migrations/0001_initial.py": migration([], create_model("Product", (
            "                ('name', models.CharField(max_length=100)),\n"
            "                ('price', models.DecimalField(decimal_places=2, max_digits=8)),\n"
            "                ('created', models.DateTimeField(auto_now_add=True)),\n"
        )), initial=True),
        "orders/__init__.py": "",
        "orders/models.py": (
            "from django.db import models\n\n\nclass Order(models.Model):\n"
            "    product = models.ForeignKey('catalog.Product', models.PROTECT)\n"
            "    quantity = models.PositiveIntegerField()\n"
        ),
        "orders/migrations/__init__.py": "",
        "orders/migrations/0001_initial.py": migration(
            [("catalog", "0001_initial")], create_model("Order", (
                "                ('quantity', models.PositiveIntegerField()),\n"
                "                ('product', models.ForeignKey(on_delete=django.db.models."
                "deletion.PROTECT, to='catalog.product')),\n"
            )), initial=True, imports="import django.db.models.deletion\n"),
        **plugin_files(),
    }
    for app in extra:
        files.update(filler_app(app, migrations_per_app))
    return files


def plugin_files() -> dict[str, str]:
    """An optional app that ships with migrations but is not in INSTALLED_APPS."""
    return {
        f"{PLUGIN}/__init__.py": "",
        f"{PLUGIN}/models.py": (
            "from django.db import models\n\n\nclass Points(models.Model):\n"
            "    customer = models.CharField(max_length=100)\n"
            "    expires = models.DateField(null=True)\n"
        ),
        f"{PLUGIN}/migrations/__init__.py": "",
        f"{PLUGIN}/migrations/0001_initial.py": migration([], create_model("Points", (
            "                ('customer', models.CharField(max_length=100)),\n"
        )), initial=True),
        f"{PLUGIN}/migrations/0002_points_expires.py": migration(
            [(PLUGIN, "0001_initial")], add_field("points", "expires",
                                                  "models.DateField(null=True)")),
    }


def filler_app(app: str, count: int) -> dict[str, str]:
    """An app whose Item gains an integer field per migration after the first."""
    fields = [f"    value_{n} = models.IntegerField(default=0)\n" for n in range(2, count + 1)]
    files = {
        f"{app}/__init__.py": "",
        f"{app}/models.py": ("from django.db import models\n\n\nclass Item(models.Model):\n"
                             "    name = models.CharField(max_length=50)\n" + "".join(fields)),
        f"{app}/migrations/__init__.py": "",
        f"{app}/migrations/0001_initial.py": migration([], create_model("Item", (
            "                ('name', models.CharField(max_length=50)),\n"
        )), initial=True),
    }
    previous = "0001_initial"
    for n in range(2, count + 1):
        name = f"{n:04d}_item_value_{n}"
        files[f"{app}/migrations/{name}.py"] = migration(
            [(app, previous)], add_field("item", f"value_{n}", "models.IntegerField(default=0)"))
        previous = name
    return files


BRANCH_FILES = {
    "catalog/models.py": catalog_models(discontinued=False, nickname_and_tags=True),
    f"catalog/migrations/{BRANCH_LEAF}.py": migration(
        [("catalog", "0001_initial")],
        add_field("product", "nickname", "models.CharField(blank=True, max_length=50)")
        + add_field("product", "tags", "django.contrib.postgres.fields.ArrayField("
                    "base_field=models.CharField(max_length=20), blank=True, default=list, "
                    "size=None)"),
        imports="import django.contrib.postgres.fields\n"),
}

BASE_CHANGE_FILES = {
    "catalog/models.py": catalog_models(discontinued=True, nickname_and_tags=False),
    f"catalog/migrations/{BASE_LEAF}.py": migration(
        [("catalog", "0001_initial")],
        add_field("product", "discontinued", "models.BooleanField(default=False)")),
}


@dataclass(frozen=True)
class History:
    base: str  # main after the fork
    head: str  # the pull request's branch, feature
    merge: str  # GitHub's test merge of feature into main


def write(repo: GitRepo, files: Mapping[str, str]) -> None:
    for path, content in files.items():
        target = repo.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def build_history(repo: GitRepo, database: Mapping[str, Any], *, extra_apps: int = 0,
                  migrations_per_app: int = 3) -> History:
    """Commit the history of the module docstring into ``repo``; ``main`` is checked out at
    the base, and the test merge is a commit no branch points at."""
    write(repo, base_files(database, extra_apps, migrations_per_app))
    repo.commit("A shop")
    repo.branch("feature")
    write(repo, BRANCH_FILES)
    head = repo.commit("Products get a nickname and tags")
    repo.checkout("main")
    write(repo, BASE_CHANGE_FILES)
    base = repo.commit("Products can be discontinued")
    repo.git("merge", "--no-ff", "-q", "-m", "Merge feature into main", "feature")
    merge = repo.git("rev-parse", "HEAD")
    repo.git("reset", "-q", "--hard", base)
    return History(base, head, merge)
