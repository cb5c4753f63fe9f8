"""parse.py: migration files read with ast, checked against real Django operations."""

from __future__ import annotations

import django
import pytest
from django.db import migrations, models

from migration_ci.errors import MigrationFileError
from migration_ci.graph.keys import shown
from migration_ci.graph.parse import PARALLEL_THRESHOLD, parse_many, parse_migration
from migration_ci.graph.specs import Key
from migration_ci.worker.graph import formatted_description
from tests.support.gitrepo import migration

PATH = "shop/migrations/0002_x.py"


def parse(source: str | bytes, auth_user_model: str = "auth.User"):  # type: ignore[no-untyped-def]
    data = source.encode() if isinstance(source, str) else source
    return parse_migration(
        data, path=PATH, app_label="shop", name="0002_x", auth_user_model=auth_user_model
    )


# Each entry is the source of one operation as makemigrations (or a person) writes it.
OPERATIONS = [
    "migrations.CreateModel(name='Book', fields=[('id', models.AutoField(primary_key=True))])",
    "migrations.CreateModel('Book', [], options={'proxy': True, 'indexes': [models.Index("
    "fields=['a'], name='i')]}, bases=('shop.author',))",
    "migrations.CreateModel(name='Book', fields=[], options={'proxy': False})",
    "migrations.DeleteModel(name='Tribble')",
    "migrations.DeleteModel('Tribble')",
    "migrations.RenameModel(old_name='Author', new_name='Writer')",
    "migrations.AlterModelTable(name='book', table='library_book')",
    "migrations.AlterModelTable(name='book', table=None)",
    "migrations.AlterModelTableComment(name='book', table_comment='Books')",
    "migrations.AlterUniqueTogether(name='book', unique_together={('title', 'author')})",
    "migrations.AlterUniqueTogether(name='book', unique_together=set())",
    "migrations.AlterUniqueTogether(name='book', unique_together=('title', 'author'))",
    "migrations.AlterUniqueTogether(name='book', unique_together=[['a', 'b'], ['a', 'b'], "
    "['c', 'd']])",
    "migrations.AlterIndexTogether(name='book', index_together={('a', 'b')})",
    "migrations.AlterOrderWithRespectTo(name='book', order_with_respect_to='author')",
    "migrations.AlterOrderWithRespectTo(name='book', order_with_respect_to=None)",
    "migrations.AlterModelOptions(name='book', options={'ordering': ['title']})",
    "migrations.AlterModelManagers(name='book', managers=[('objects', models.Manager())])",
    "migrations.AddField(model_name='author', name='rating', field=models.IntegerField(default=0))",
    "migrations.AddField('Author', 'rating', models.IntegerField(default=0))",
    "migrations.RemoveField(model_name='author', name='silly_field')",
    "migrations.RemoveField('Author', 'silly_field')",
    "migrations.AlterField(model_name='author', name='name', field=models.TextField())",
    "migrations.RenameField(model_name='author', old_name='name', new_name='full_name')",
    "migrations.AddIndex(model_name='book', index=models.Index(fields=['title', '-pub'], "
    "name='book_title_idx'))",
    "migrations.RemoveIndex(model_name='book', name='book_title_idx')",
    "migrations.RenameIndex(model_name='book', new_name='new_idx', old_name='old_idx')",
    "migrations.RenameIndex(model_name='book', new_name='new_idx', old_fields=('a', 'b'))",
    "migrations.AddConstraint(model_name='book', constraint=models.UniqueConstraint("
    "fields=('title',), name='unique_title'))",
    pytest.param(
        "migrations.AddConstraint(model_name='book', constraint=models.CheckConstraint("
        "condition=models.Q(pages__gt=0), name='pages_positive'))",
        marks=pytest.mark.skipif(
            django.VERSION < (5, 1), reason="CheckConstraint(condition=) is new in Django 5.1"
        ),
        id="check constraint",
    ),
    "migrations.RemoveConstraint(model_name='book', name='unique_title')",
    pytest.param(
        "migrations.AlterConstraint(model_name='book', name='unique_title', "
        "constraint=models.UniqueConstraint(fields=('title',), name='unique_title'))",
        marks=pytest.mark.skipif(
            django.VERSION < (5, 2), reason="AlterConstraint is new in Django 5.2"
        ),
        id="alter constraint",
    ),
    "migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)",
    "migrations.RunPython(code=migrations.RunPython.noop, elidable=True)",
    "migrations.RunSQL('SELECT 1', reverse_sql=migrations.RunSQL.noop)",
    "migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel('A')])",
]


@pytest.mark.parametrize("source", OPERATIONS)
def test_description_is_djangos_formatted_description(source: str) -> None:
    operation = eval(source, {"migrations": migrations, "models": models})
    spec = parse(migration(ops=f"        {source},\n"))
    # Django 5.1+'s formatted_description(); the same symbols with describe() before 5.1.
    assert [op.description for op in spec.operations] == [formatted_description(operation)]
    assert spec.operations[0].kind == type(operation).__name__


@pytest.mark.parametrize(
    ("source", "model", "field"),
    [
        pytest.param("migrations.AddField('Author', 'Rating', None)", "author", "rating",
                     id="field operation"),
        pytest.param("migrations.RenameField('Author', 'name', 'full')", "author", "name",
                     id="rename field keeps the old name"),
        pytest.param("migrations.RenameModel('Author', 'Writer')", "author", None,
                     id="rename model keeps the old name"),
        pytest.param("migrations.RemoveIndex('Book', 'idx')", "book", None, id="index"),
        pytest.param("migrations.RunPython(forwards)", None, None, id="run python"),
    ],
)
def test_operation_target(source: str, model: str | None, field: str | None) -> None:
    [operation] = parse(migration(ops=f"        {source},\n")).operations
    assert (operation.model, operation.field) == (model, field)


@pytest.mark.parametrize(
    ("source", "description"),
    [
        pytest.param("migrations.AddField(model_name=MODEL, name='x', field=None)",
                     "? AddField", id="name not literal"),
        pytest.param("migrations.AddIndex('book', models.Index(Lower('title'), name='i'))",
                     "? AddIndex", id="expression index"),
        pytest.param("CreateExtension('hstore')", "? CreateExtension", id="unknown operation"),
        pytest.param("shared_operation", "? shared_operation", id="not a call"),
    ],
)
def test_description_falls_back_to_a_question_mark(source: str, description: str) -> None:
    [operation] = parse(migration(ops=f"        {source},\n")).operations
    assert operation.description == description


def test_operations_not_literal_is_a_warning() -> None:
    spec = parse(migration(ops="        *shared_operations,\n"))
    assert spec.operations == ()
    assert spec.warnings == (
        f"{PATH}:9: operations is not a literal (shared_operations); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_dependencies_replaces_run_before_and_flags() -> None:
    spec = parse(
        migration(
            deps=[("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")],
            extra="    initial = True\n    atomic = False\n"
            "    replaces = [('shop', '0001_a'), ('shop', '0001_b')]\n"
            "    run_before = (('billing', '0003_x'),)\n",
        )
    )
    assert spec.dependencies == (
        ("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length"),
    )
    assert spec.replaces == (("shop", "0001_a"), ("shop", "0001_b"))
    assert spec.run_before == (("billing", "0003_x"),)
    assert (spec.initial, spec.atomic, spec.warnings) == (True, False, ())
    assert spec.key == ("shop", "0002_x") and spec.path == PATH


@pytest.mark.parametrize(
    ("source", "auth_user_model", "expected"),
    [
        pytest.param(
            "from django.conf import settings\nfrom django.db import migrations\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]\n",
            "accounts.User", (("accounts", "__first__"),), id="swappable AUTH_USER_MODEL",
        ),
        pytest.param(
            "from django.db.migrations import Migration, swappable_dependency\n"
            "class Migration(Migration):\n"
            "    dependencies = [swappable_dependency('people.Person')]\n",
            "auth.User", (("people", "__first__"),), id="bare swappable_dependency",
        ),
        pytest.param(
            "from django.db import migrations\n"
            "BASE = [('shop', '0001_initial')]\nEXTRA = (('billing', '0002_x'),)\n"
            "class Migration(migrations.Migration):\n"
            "    OWN = [('shop', '0001_b')]\n"
            "    dependencies = BASE + list(EXTRA) + OWN + [*BASE]\n",
            "auth.User",
            (("shop", "0001_initial"), ("billing", "0002_x"), ("shop", "0001_b"),
             ("shop", "0001_initial")),
            id="module and class names concatenated",
        ),
        pytest.param(
            "from django.db import migrations\nPREFIX = '0001_'\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', PREFIX + 'initial')]\n",
            "auth.User", (("shop", "0001_initial"),), id="strings joined with +",
        ),
        pytest.param(
            "from django.db import migrations\n"
            + "".join(f"D{n} = ('shop', '{n:04d}_x')\n" for n in range(100))
            + "class Migration(migrations.Migration):\n"
            "    dependencies = [" + ", ".join(f"D{n}" for n in range(100)) + "]\n",
            "auth.User", tuple(("shop", f"{n:04d}_x") for n in range(100)),
            id="a hundred names one after another",
        ),
    ],
)
def test_dependency_resolution(source: str, auth_user_model: str, expected: tuple) -> None:  # type: ignore[type-arg]
    spec = parse(source, auth_user_model)
    assert spec.dependencies == expected
    assert spec.warnings == ()


def test_dependency_that_is_not_literal_is_a_warning_and_skipped() -> None:
    spec = parse(
        "from django.db import migrations\nfrom shop.utils import previous\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [\n        ('shop', '0001_initial'),\n        previous(),\n    ]\n"
    )
    assert spec.dependencies == (("shop", "0001_initial"),)
    assert spec.warnings == (
        f"{PATH}:6: dependency is not a literal (previous()); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_whole_dependency_list_not_literal() -> None:
    spec = parse(
        "from django.db import migrations\nclass Migration(migrations.Migration):\n"
        "    dependencies = compute()\n"
    )
    assert spec.dependencies == ()
    assert spec.warnings == (
        f"{PATH}:3: dependency is not a literal (compute()); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(b"from django.db import migrations\n\nclass Migration(:\n",
                     f"{PATH}:3: syntax error: invalid syntax", id="syntax error"),
        pytest.param(b"from django.db import migrations\n\nclass Other:\n    pass\n",
                     f"{PATH}: no Migration class. A migration module must define "
                     "'class Migration(migrations.Migration)'.", id="no Migration class"),
        pytest.param(b"x = 'caf\xe9'\nclass Migration:\n    pass\n",
                     f"{PATH}:1: the file is not valid UTF-8 (cannot decode byte 0xe9). Save it "
                     "as UTF-8, or declare its encoding with a '# -*- coding: ... -*-' line.",
                     id="not UTF-8"),
    ],
)
def test_unreadable_files(source: bytes, message: str) -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(source)
    assert str(caught.value) == message


def test_declared_encoding_is_honoured() -> None:
    spec = parse(b"# -*- coding: latin-1 -*-\n" + migration(deps=[("shop", "0001_caf\xe9")]).encode(
        "latin-1"))
    assert spec.dependencies == (("shop", "0001_caf\xe9"),)


def _items(count: int, broken: int | None = None) -> list[tuple[bytes, str, str, str]]:
    items = []
    for index in range(count):
        source = migration(deps=[("shop", f"{index:04d}_m")]).encode()
        if index == broken:
            source = b"class Migration(:\n"
        name = f"{index + 1:04d}_m"
        items.append((source, f"shop/migrations/{name}.py", "shop", name))
    return items


@pytest.mark.parametrize("count", [3, PARALLEL_THRESHOLD + 50], ids=["in process", "forked"])
def test_parse_many_matches_parse_migration(count: int) -> None:
    items = _items(count)
    expected = [parse_migration(s, path=p, app_label=a, name=n) for s, p, a, n in items]
    assert parse_many(items) == expected
    assert parse_many(items + items[:2]) == expected + expected[:2]


@pytest.mark.parametrize("count", [3, PARALLEL_THRESHOLD + 50], ids=["in process", "forked"])
def test_parse_many_raises_the_first_broken_file(count: int) -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse_many(_items(count, broken=count - 2))
    assert str(caught.value) == (
        f"shop/migrations/{count - 1:04d}_m.py:1: syntax error: invalid syntax"
    )


# --- names resolved as Python resolves them ---------------------------------------------------

HEAD = "from django.db import migrations\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            HEAD + "dependencies = [('shop', '0001_initial')]\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = dependencies\n",
            (("shop", "0001_initial"),), id="class attribute named after a module list",
        ),
        pytest.param(
            HEAD + "BASE = [('shop', '0001_module')]\n"
            "class Migration(migrations.Migration):\n"
            "    BASE = [('shop', '0001_class')]\n"
            "    dependencies = BASE\n",
            (("shop", "0001_class"),), id="class body before module",
        ),
        pytest.param(
            HEAD + "BASE = [('shop', '0001_module')]\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = BASE\n"
            "    BASE = [('shop', '0001_later')]\n",
            (("shop", "0001_module"),), id="a later class binding is not seen yet",
        ),
        pytest.param(
            HEAD + "BASE = [('shop', '0001_first')]\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = BASE\n"
            "BASE = [('shop', '0001_after_the_class')]\n",
            (("shop", "0001_first"),), id="a module binding after the class is not seen",
        ),
        pytest.param(
            HEAD + "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    dependencies += [('billing', '0002_x')]\n",
            (("shop", "0001_initial"), ("billing", "0002_x")), id="augmented assignment",
        ),
        pytest.param(
            HEAD + "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_old')]\n"
            "    dependencies = [('shop', '0001_new')]\n",
            (("shop", "0001_new"),), id="the last binding wins",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "DEPS = DEPS + [('shop', '0001_b')]\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = DEPS\n",
            (("shop", "0001_a"), ("shop", "0001_b")), id="a module name built on itself",
        ),
        pytest.param(
            HEAD + "X = [('shop', '0001_module')]\n"
            "class Migration(migrations.Migration):\n"
            "    X: list\n"
            "    dependencies: list = X\n",
            (("shop", "0001_module"),), id="annotations: only with a value they bind",
        ),
    ],
)
def test_names_resolve_as_python_does(source: str, expected: tuple[Key, ...]) -> None:
    spec = parse(source)
    assert (spec.dependencies, spec.warnings) == (expected, ())


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\nfrom shop.base import DEPS\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="an import rebinds the name",
        ),
        pytest.param(
            HEAD + "class Migration(migrations.Migration):\n    dependencies = LATER\n"
            "LATER = [('shop', '0001_a')]\n",
            "LATER", id="bound only after the class",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "for DEPS in ([('shop', '0001_b')],):\n    pass\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="a loop rebinds the name",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\nimport DEPS.extra\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="a dotted import binds its first name",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "try:\n    import DEPS.extra\nexcept ImportError:\n    pass\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="a dotted import in a try block",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\nrows, DEPS = compute()\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="unpacking rebinds the name",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "try:\n    import shop.deps as DEPS\nexcept ImportError:\n    pass\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="an import in a try block",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "if True:\n    DEPS = compute()\n    def compute_more():\n        pass\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="an if block that also defines a function",
        ),
        pytest.param(
            HEAD + "DEPS = [('shop', '0001_a')]\n"
            "if True:\n    DEPS = compute()\n    rows = [row for row in DEPS]\n"
            "class Migration(migrations.Migration):\n    dependencies = DEPS\n",
            "DEPS", id="an if block that also holds a comprehension",
        ),
    ],
)
def test_names_bound_otherwise_are_not_literal(source: str, shown: str) -> None:
    spec = parse(source)
    line = source.count("\n", 0, source.index("dependencies =")) + 1
    assert spec.dependencies == ()
    assert spec.warnings == (
        f"{PATH}:{line}: dependency is not a literal ({shown}); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_a_class_attribute_bound_by_a_def_is_not_literal() -> None:
    spec = parse(HEAD + "class Migration(migrations.Migration):\n"
                 "    def dependencies(self):\n        return []\n")
    assert spec.warnings == (
        f"{PATH}:3: dependency is not a literal (def dependencies(self):); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


# --- malformed keys: errors, as in Django's loader ---------------------------------------------

KEY_FIX = "Write each entry as a tuple ('app_label', 'migration_name'), as makemigrations does."


def _error(value: str, problem: str, what: str = "dependency", fix: str = KEY_FIX) -> str:
    return (f"{PATH}:4: {what} {value} is not a tuple ('app_label', 'migration_name')"
            f"{problem}; Django's loader fails on it. {fix}")


def malformed(attribute: str, value: str) -> str:
    return (HEAD + "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            f"    {attribute} = {value}\n")


MALFORMED = [
    pytest.param("dependencies", "[('shop',)]", _error("('shop',)", ": it has 1 item"),
                 id="one item"),
    pytest.param("dependencies", "[()]", _error("()", ": it has 0 items"), id="empty tuple"),
    pytest.param("dependencies", "[('shop', '0001_initial', 'x')]",
                 _error("('shop', '0001_initial', 'x')", ": it has 3 items"), id="three items"),
    pytest.param("dependencies", "[('shop', 1)]",
                 _error("('shop', 1)", ": it holds a value that is not a string"),
                 id="a name that is not a string"),
    pytest.param("dependencies", "[(None, '0001_initial')]",
                 _error("(None, '0001_initial')", ": it holds a value that is not a string"),
                 id="an app that is not a string"),
    pytest.param("dependencies", "[None]", _error("None", ""), id="None"),
    pytest.param("dependencies", "['shop']", _error("'shop'", ": it is a bare string"),
                 id="bare string"),
    pytest.param("dependencies", "('shop', '0001_initial')",
                 _error("'shop'", ": it is a bare string",
                        fix="dependencies = ('shop', '0001_initial') is one pair: put it in a "
                            "list, [('shop', '0001_initial')]."),
                 id="one pair, not in a list"),
    pytest.param("dependencies", "[['shop', '0001_initial']]",
                 _error("['shop', '0001_initial']", ": it is a list, which cannot be a graph key",
                        fix="Write it as a tuple: ('shop', '0001_initial')."),
                 id="a list"),
    pytest.param("dependencies", "'shop'",
                 f"{PATH}:4: dependencies is 'shop', not a list of tuples ('app_label', "
                 "'migration_name'); Django's loader fails on it. Write it as a list: "
                 "dependencies = [('app_label', 'migration_name'), ...].",
                 id="a string"),
    pytest.param("dependencies", "None",
                 f"{PATH}:4: dependencies is None, not a list of tuples ('app_label', "
                 "'migration_name'); Django's loader fails on it. Write it as a list: "
                 "dependencies = [('app_label', 'migration_name'), ...].",
                 id="no list"),
    pytest.param("run_before", "[('billing',)]",
                 _error("('billing',)", ": it has 1 item", what="run_before entry"),
                 id="run_before entry"),
    pytest.param("replaces", "[['shop', '0001_a']]",
                 _error("['shop', '0001_a']", ": it is a list, which cannot be a graph key",
                        what="replaces entry", fix="Write it as a tuple: ('shop', '0001_a')."),
                 id="replaces entry that is a list"),
]


@pytest.mark.parametrize(("attribute", "value", "message"), MALFORMED)
def test_malformed_keys_are_errors(attribute: str, value: str, message: str) -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(malformed(attribute, value))
    assert str(caught.value) == message


def test_malformed_replaces_entries_that_name_no_node_are_ignored_like_django() -> None:
    spec = parse(malformed("replaces", "[('shop', '0001_a'), ('shop',), 'shop']"))
    assert spec.replaces == (("shop", "0001_a"),)
    assert spec.warnings == (
        f"{PATH}:4: replaces entry ('shop',) is not a tuple ('app_label', 'migration_name'): "
        "it has 1 item; Django's loader ignores it",
        f"{PATH}:4: replaces entry 'shop' is not a tuple ('app_label', 'migration_name'): "
        "it is a bare string; Django's loader ignores it",
    )


def test_a_long_malformed_value_is_cut() -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(malformed("dependencies", f"[('shop', {'x' * 100!r}, 'y')]"))
    shown = "('shop', '" + "x" * 47 + "..."  # 60 characters: quoted values are bounded
    assert str(caught.value) == _error(shown, ": it has 3 items")


def test_names_followed_too_deep_are_not_literal() -> None:
    """Each ``+=`` reads the binding before it: 300 of them are more than the resolver reads
    (it stops well short of Python's recursion limit, after 31 of them here)."""
    source = HEAD + "DEPS = []\n" + "DEPS += [('shop', '0001_a')]\n" * 300 + (
        "class Migration(migrations.Migration):\n    dependencies = DEPS\n")
    spec = parse(source)
    assert spec.dependencies == ()
    assert spec.warnings == (
        f"{PATH}:271: dependency is not a literal (DEPS); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_strings_joined_with_something_else_than_plus_are_not_literal() -> None:
    spec = parse(HEAD + "class Migration(migrations.Migration):\n"
                 "    dependencies = [('shop', '0001_' - 'x')]\n")
    assert spec.warnings == (
        f"{PATH}:3: dependency is not a literal (('shop', '0001_' - 'x')); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_a_long_value_that_is_not_literal_is_cut() -> None:
    spec = parse(HEAD + "class Migration(migrations.Migration):\n"
                 f"    dependencies = [compute('{'x' * 60}')]\n")
    assert spec.warnings == (
        f"{PATH}:3: dependency is not a literal (compute('{'x' * 48}...); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_a_malformed_entry_in_list_is_named_at_its_line() -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(HEAD + "class Migration(migrations.Migration):\n"
              "    dependencies = list([\n        ('shop',),\n    ])\n")
    assert str(caught.value) == (
        f"{PATH}:4: dependency ('shop',) is not a tuple ('app_label', 'migration_name'): it "
        f"has 1 item; Django's loader fails on it. {KEY_FIX}"
    )


def test_a_long_chain_of_additions_is_not_literal() -> None:
    chain = " + ".join(f"[('shop', '{n:04d}_a')]" for n in range(500))
    spec = parse(HEAD + f"class Migration(migrations.Migration):\n    dependencies = {chain}\n")
    assert spec.dependencies == ()
    assert spec.warnings == (
        f"{PATH}:3: dependency is not a literal (an expression nested too deeply to read); "
        "the Django-loaded engine (--settings) reads it exactly",
    )


def test_replaces_that_is_a_string_is_ignored_like_django() -> None:
    spec = parse(malformed("replaces", "'shop'"))
    assert (spec.replaces, spec.warnings) == ((), (
        f"{PATH}:4: replaces is a string ('shop'); Django's loader ignores it",))


def test_defaults_of_a_plain_file() -> None:
    """No initial, atomic, auth_user_model given: Django's defaults (auth.User)."""
    spec = parse_migration(
        (HEAD + "from django.conf import settings\n"
         "class Migration(migrations.Migration):\n"
         "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]\n"
         ).encode(), path=PATH, app_label="shop", name="0002_x")
    assert (spec.dependencies, spec.initial, spec.atomic) == ((("auth", "__first__"),), None, True)


@pytest.mark.parametrize(("value", "text"), [
    pytest.param("x" * 58, "'" + "x" * 58 + "'", id="60 characters: whole"),
    pytest.param("x" * 59, "'" + "x" * 56 + "...", id="61 characters: cut"),
])
def test_values_are_shown_cut_to_60_characters(value: str, text: str) -> None:
    assert shown(value) == text


def test_an_operation_nested_too_deeply_is_described_with_a_question_mark() -> None:
    chain = " + ".join(["shared"] * 2000)
    spec = parse(migration(ops=f"        {chain},\n"))
    assert [op.description for op in spec.operations] == [
        "? an expression nested too deeply to read"]
