"""Forms of literal values the static engine reads as Django would evaluate them, the ones it
cannot (a warning naming file:line), and a broken file among many parsed in parallel."""

from __future__ import annotations

import pytest

from migration_ci.errors import MigrationFileError
from migration_ci.graph.parse import PARALLEL_THRESHOLD, parse_many, parse_migration

PATH = "shop/migrations/0002_x.py"


def parse(body: str, prelude: str = "", auth_user_model: str = "auth.User"):  # type: ignore[no-untyped-def]
    source = (f"from django.conf import settings\nfrom django.db import migrations\n{prelude}\n"
              f"class Migration(migrations.Migration):\n{body}")
    return parse_migration(source.encode(), path=PATH, app_label="shop", name="0002_x",
                           auth_user_model=auth_user_model)


@pytest.mark.parametrize(
    ("body", "prelude", "dependencies"),
    [
        pytest.param("    dependencies = [('shop', '0001_' + 'initial')]\n", "",
                     (("shop", "0001_initial"),), id="concatenated strings"),
        pytest.param("    dependencies = [INITIAL]\n", "INITIAL = ('shop', '0001_initial')\n",
                     (("shop", "0001_initial"),), id="a module-level name"),
        pytest.param("    dependencies = list([('shop', '0001_initial')])\n", "",
                     (("shop", "0001_initial"),), id="list()"),
        pytest.param("    dependencies = [tuple(['shop', '0001_initial'])]\n", "",
                     (("shop", "0001_initial"),), id="tuple()"),
        pytest.param("    dependencies = [migrations.swappable_dependency("
                     "settings.AUTH_USER_MODEL)]\n", "",
                     (("accounts", "__first__"),), id="swappable AUTH_USER_MODEL"),
        pytest.param("    dependencies: list = [('shop', '0001_initial')]\n", "",
                     (("shop", "0001_initial"),), id="annotated"),
    ],
)
def test_literal_forms(body: str, prelude: str, dependencies: tuple[tuple[str, str], ...]
                       ) -> None:
    spec = parse(body, prelude, auth_user_model="accounts.User")
    assert (spec.dependencies, spec.warnings) == (dependencies, ())


@pytest.mark.parametrize(
    ("body", "initial", "atomic"),
    [
        pytest.param("    initial = True\n    atomic = False\n", True, False, id="constants"),
        pytest.param("    initial = {'a': 1}\n    atomic = {1, 2}\n", True, True,
                     id="a dict and a set are true"),
        pytest.param("    initial = None\n", None, True, id="None"),
        pytest.param("    initial = compute()\n    atomic = compute()\n", None, True,
                     id="not literal: Django's defaults"),
        pytest.param("    atomic = frozenset()\n", None, False, id="an empty frozenset"),
    ],
)
def test_flags(body: str, initial: bool | None, atomic: bool) -> None:
    spec = parse(body)
    assert (spec.initial, spec.atomic) == (initial, atomic)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param("    run_before = [('shop', 'a' + 1)]\n", "('shop', 'a' + 1)",
                     id="a sum of a string and a number"),
        pytest.param("    run_before = [set(x=1)]\n", "set(x=1)", id="a call with keywords"),
        pytest.param("    run_before = [builtins.tuple(['a', 'b'])]\n",
                     "builtins.tuple(['a', 'b'])", id="a call of an attribute"),
        pytest.param("    run_before = [(lambda: 1)()]\n", "(lambda: 1)()",
                     id="a call of something unnamed"),
        pytest.param("    run_before = [compute('" + "n" * 70 + "')]\n",
                     "compute('" + "n" * 48 + "...", id="a long value is cut"),
    ],
)
def test_what_is_not_a_literal_is_a_warning_naming_the_line(body: str, text: str) -> None:
    spec = parse(body)
    assert spec.run_before == ()
    assert spec.warnings == (
        f"{PATH}:5: run_before entry is not a literal ({text}); the Django-loaded engine "
        "(--settings) reads it exactly",
    )


def item(number: int, source: str = "") -> tuple[bytes, str, str, str]:
    name = f"{number:04d}_m"
    text = source or ("from django.db import migrations\n\n"
                      "class Migration(migrations.Migration):\n    pass\n")
    return (text.encode(), f"shop/migrations/{name}.py", "shop", name)


@pytest.mark.parametrize("broken_at", [0, PARALLEL_THRESHOLD - 1],
                         ids=["in the parent's share", "in a worker's share"])
def test_a_broken_file_among_many_is_named_wherever_it_is_parsed(broken_at: int) -> None:
    items = [item(n) for n in range(PARALLEL_THRESHOLD)]
    items[broken_at] = item(broken_at, "class Migration(:\n")
    with pytest.raises(MigrationFileError) as info:
        parse_many(items)
    assert str(info.value) == (
        f"shop/migrations/{broken_at:04d}_m.py:1: syntax error: invalid syntax")
