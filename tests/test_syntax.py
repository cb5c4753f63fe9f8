"""syntax.py: migration files written for a newer Python than the one running the check.

Each case is a file using newer syntax somewhere the graph does not need, and its twin in the
syntax every supported Python reads: both must give the same spec, the newer one with a
warning naming the line and the Python it needs (no warning on a Python that reads it).
"""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from migration_ci.errors import MigrationFileError
from migration_ci.graph.parse import parse_migration
from migration_ci.graph.syntax import needed_python

PATH = "shop/migrations/0002_x.py"
RUNNING = "{}.{}".format(*sys.version_info[:2])


def source(prelude: str, operations: str = "migrations.RunPython(forwards)") -> str:
    return (
        "from django.db import migrations\n\n"
        f"{prelude}\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('shop', '0001_initial')]\n"
        f"    operations = [{operations}]\n"
    )


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_migration(text.encode(), path=PATH, app_label="shop", name="0002_x")


PEP_758 = ("multiple exception types must be parenthesized", "PEP 758 except clauses")
PEP_701 = ("f-string: unmatched '['", "PEP 701 f-strings")
PEP_750 = ("invalid syntax", "PEP 750 template strings")
PEP_695 = ("invalid syntax", "PEP 695 type parameters")
CASES = [
    pytest.param(
        "def forwards(apps, schema_editor):\n    try:\n        pass\n"
        "    except ValueError, TypeError:\n        pass\n",
        "def forwards(apps, schema_editor):\n    try:\n        pass\n"
        "    except (ValueError, TypeError):\n        pass\n",
        [(6, (3, 14), PEP_758, "function 'forwards'")],
        id="PEP 758 except without parentheses",
    ),
    pytest.param(
        "def forwards(apps, schema_editor):\n    rows = {'k': 1}\n"
        "    print(f\"{rows[\"k\"]}\")\n",
        "def forwards(apps, schema_editor):\n    rows = {'k': 1}\n"
        "    print(f\"{rows['k']}\")\n",
        [(5, (3, 12), PEP_701, "function 'forwards'")],
        id="PEP 701 quotes inside an f-string",
    ),
    pytest.param(
        "@decorated\n@twice\ndef forwards(apps, schema_editor):\n    print(t'{apps}')\n",
        "@decorated\n@twice\ndef forwards(apps, schema_editor):\n    print(f'{apps}')\n",
        [(6, (3, 14), PEP_750, "function 'forwards'")],
        id="PEP 750 template string in a decorated function",
    ),
    pytest.param(
        "def first[T](items: list[T]) -> T:\n    return items[0]\n\n\n"
        "def forwards(apps, schema_editor):\n    first([1])\n",
        "def first(items):\n    return items[0]\n\n\n"
        "def forwards(apps, schema_editor):\n    first([1])\n",
        [(3, (3, 12), ("expected '('" if sys.version_info >= (3, 11) else "invalid syntax",
                       PEP_695[1]), "function 'first'")],
        id="PEP 695 generic function",
    ),
    pytest.param(
        "type Rows = list[int]\n\n\ndef forwards(apps, schema_editor):\n    pass\n",
        "Rows = list[int]\n\n\ndef forwards(apps, schema_editor):\n    pass\n",
        [(3, (3, 12), PEP_695, "line 3")],
        id="PEP 695 type alias at module level",
    ),
    pytest.param(
        "class Rows:\n    def run(self):\n        try:\n            pass\n"
        "        except KeyError, IndexError:\n            pass\n\n"
        "    def other(self):\n        return f\"{self.__dict__[\"a\"]}\"\n\n\n"
        "def forwards(apps, schema_editor):\n    Rows().run()\n",
        "class Rows:\n    def run(self):\n        try:\n            pass\n"
        "        except (KeyError, IndexError):\n            pass\n\n"
        "    def other(self):\n        return f\"{self.__dict__['a']}\"\n\n\n"
        "def forwards(apps, schema_editor):\n    Rows().run()\n",
        [(7, (3, 14), PEP_758, "function 'run'"),
         (11, (3, 12), PEP_701, "function 'other'")],
        id="two methods of a class",
    ),
]


def expected_warnings(left_out: list[tuple[int, tuple[int, int], tuple[str, str], str]]
                      ) -> tuple[str, ...]:
    return tuple(
        f"{PATH}:{line}: Python {RUNNING} cannot read this ({msg}): {what} are from Python "
        f"{needed[0]}.{needed[1]}; read without {region}, which the migration graph does not "
        "need"
        for line, needed, (msg, what), region in left_out if sys.version_info < needed
    )


@pytest.mark.parametrize(("newer", "twin", "left_out"), CASES)
def test_newer_syntax_outside_the_migration_class_is_left_out(
    newer: str, twin: str, left_out: list[tuple[int, tuple[int, int], tuple[str, str], str]]
) -> None:
    spec, expected = parse(source(newer)), parse(source(twin))
    warnings = expected_warnings(left_out)
    assert spec.warnings == warnings
    assert spec == replace(expected, warnings=warnings)
    assert [op.description for op in spec.operations] == ["p Raw Python operation"]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="Python 3.14 reads template strings")
def test_newer_syntax_in_the_migration_class_names_the_python_it_needs() -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(source("", operations="migrations.RunSQL(t'SELECT 1')"))
    assert str(caught.value) == (
        f"{PATH}:7: Python {RUNNING} cannot read this (invalid syntax): PEP 750 template "
        "strings are from Python 3.14, and this is in the Migration class, which the graph "
        "needs. Run migration-ci with Python 3.14 or newer."
    )


@pytest.mark.parametrize(
    ("prelude", "message"),
    [
        pytest.param(
            "def forwards(apps, schema_editor):\n    try:\n        pass\n"
            "    except ValueError, TypeError as error:\n        pass\n",
            f"{PATH}:6: syntax error: multiple exception types must be parenthesized",
            id="PEP 758 keeps 'as' an error",
            marks=pytest.mark.skipif(sys.version_info >= (3, 14),
                                     reason="Python 3.14 words this error differently"),
        ),
        pytest.param(
            "def forwards(apps, schema_editor):\n    return (\n",
            f"{PATH}:4: syntax error: '(' was never closed",
            id="an error of every Python",
        ),
    ],
)
def test_syntax_errors_of_every_python_stay_errors(prelude: str, message: str) -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse(source(prelude))
    assert str(caught.value) == message


def error(msg: str, line: str, start: int, end: int) -> tuple[SyntaxError, list[str]]:
    """The SyntaxError a Python raises for ``line`` (line 2 of a file), 1-based columns."""
    return SyntaxError(msg, (PATH, 2, start, line, 2, end)), ["# first line\n", line]


EXCEPT = "    except ValueError, TypeError:  # as before\n"
T_STRING = "x = t'{a}'\n"
NEEDED = [
    pytest.param(*error("multiple exception types must be parenthesized", EXCEPT, 12, 33),
                 {(3, 13): ((3, 14), "PEP 758 except clauses"), (3, 14): None},
                 id="PEP 758 ('as' in a comment)"),
    pytest.param(*error("multiple exception types must be parenthesized",
                        "    except ValueError, TypeError as error:\n", 12, 42),
                 {(3, 10): None, (3, 13): None}, id="PEP 758 keeps 'as' an error"),
    pytest.param(*error("invalid syntax", T_STRING, 6, 11),
                 {(3, 13): ((3, 14), "PEP 750 template strings"), (3, 14): None},
                 id="PEP 750"),
    pytest.param(*error("invalid syntax", 'x = rt"{a}"\n', 7, 12),
                 {(3, 13): ((3, 14), "PEP 750 template strings")}, id="PEP 750, raw"),
    pytest.param(*error("invalid syntax", "x = f(a 'b')\n", 9, 12), {(3, 10): None},
                 id="a string after a name that is not a prefix"),
    pytest.param(SyntaxError("f-string: expecting '}'", (PATH, 9, 1, "", 9, 2)), ["x\n"],
                 {(3, 11): ((3, 12), "PEP 701 f-strings")}, id="an error past the lines read"),
    pytest.param(*error("f-string: unmatched '['", "x = f\"{d[\"k\"]}\"\n", 11, 12),
                 {(3, 11): ((3, 12), "PEP 701 f-strings"), (3, 12): None}, id="PEP 701"),
    pytest.param(*error("invalid syntax", "type Rows = list[int]\n", 6, 7),
                 {(3, 11): ((3, 12), "PEP 695 type parameters"), (3, 12): None},
                 id="PEP 695 type alias"),
    pytest.param(*error("expected '('", "async def first[T](items):\n", 16, 17),
                 {(3, 11): ((3, 12), "PEP 695 type parameters"), (3, 12): None},
                 id="PEP 695 generic function"),
    pytest.param(*error("invalid syntax", "    except* ValueError:\n", 11, 12),
                 {(3, 10): ((3, 11), "PEP 654 except* clauses"), (3, 11): None},
                 id="PEP 654"),
    pytest.param(*error("'(' was never closed", "x = (\n", 5, 6), {(3, 10): None},
                 id="an error of every Python"),
]


@pytest.mark.parametrize(("exc", "lines", "answers"), NEEDED)
def test_the_python_a_syntax_needs(
    exc: SyntaxError, lines: list[str], answers: dict[tuple[int, int], object]
) -> None:
    """Asked as each Python would ask: the first that reads the syntax answers None."""
    assert {running: needed_python(exc, lines, running) for running in answers} == answers


REGIONS = [
    pytest.param(
        "def outer(apps, schema_editor):\n    def inner():\n        try:\n            pass\n"
        "        except KeyError, IndexError:\n            pass\n    inner()\n",
        [(7, (3, 14), PEP_758, "function 'inner'")], id="the innermost function",
    ),
    pytest.param(
        "@first\n@second\nasync def fetch(apps):\n    print(t'{apps}')\n",
        [(6, (3, 14), PEP_750, "function 'fetch'")], id="a decorated async function",
    ),
    pytest.param(
        "@dataclass\nclass Rows:\n    size: int = 1\n\n    def run(self):\n"
        "        print(t'{self}')\n",
        [(8, (3, 14), PEP_750, "function 'run'")], id="a method of a decorated class",
    ),
    pytest.param(
        "def rows(apps):\n    print(t'{apps}')\n    return call(\n        1,\n        2,\n"
        "    )\ndef forwards(apps, schema_editor):\n    rows(apps)\n",
        [(4, (3, 14), PEP_750, "function 'rows'")],
        id="a function ending in a statement of several lines",
    ),
    pytest.param("def one(): return t'x'\ndef forwards(apps, schema_editor):\n    pass\n",
                 [(3, (3, 14), PEP_750, "function 'one'")], id="a one-line function"),
    pytest.param("x = 1\nROWS = t'''a\nb'''\ndef forwards(apps, schema_editor):\n    pass\n",
                 [(4, (3, 14), PEP_750, "line 4")], id="a top-level statement of several lines"),
    pytest.param("x = 1\ntype Rows = list[int]\ny = 2\n"
                 "def forwards(apps, schema_editor):\n    pass\n",
                 [(4, (3, 12), PEP_695, "line 4")], id="a one-line top-level statement"),
]


@pytest.mark.parametrize(("prelude", "left_out"), REGIONS)
def test_what_is_left_out(
    prelude: str, left_out: list[tuple[int, tuple[int, int], tuple[str, str], str]]
) -> None:
    spec = parse(source(prelude))
    assert spec.warnings == expected_warnings(left_out)
    assert spec.dependencies == (("shop", "0001_initial"),)


def test_a_file_in_another_encoding_is_read_in_it() -> None:
    text = ("# -*- coding: latin-1 -*-\nfrom django.db import migrations\n\n\n"
            "def forwards(apps, schema_editor):\n    print(t'caf\xe9')\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_caf\xe9')]\n")
    spec = parse_migration(text.encode("latin-1"), path=PATH, app_label="shop", name="0002_x")
    assert spec.dependencies == (("shop", "0001_caf\xe9"),)
    assert spec.warnings == expected_warnings([(6, (3, 14), PEP_750, "function 'forwards'")])
