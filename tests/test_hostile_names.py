"""Names from a pull request cannot forge workflow commands, colour a terminal or reorder text.

Git allows any byte but NUL and ``/`` in a file name. Every output format gets migration names
with line breaks, ``%``, ``::``, the legacy ``##[`` prefix, ANSI escapes and bidi controls, and
must show them without the Actions runner reading a command in them: the runner takes ``::`` at
the start of a line once leading white space is trimmed and ``##[`` anywhere in a line
(actions/runner ``ActionCommand.TryParseV2``/``TryParse``), and ends a line at ``\\n`` or ``\\r``.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from migration_ci.cli.main import main
from migration_ci.github.workflow import format_command
from migration_ci.plan import render as plan_render
from migration_ci.plan.records import Plan, PlanEntry, PlannedOperation
from migration_ci.plan.risk import Risk
from migration_ci.report import comment
from migration_ci.report.formats import render_verify_text
from migration_ci.report.safe import literal, log_lines, log_text, quote, visible
from tests.support.gitrepo import GitRepo, migration

# (the name as git stores it, the name as the text format shows it)
HOSTILE = [
    pytest.param("0002_a\n::add-mask::x", r"'0002_a\n::add-mask::x'", id="newline"),
    pytest.param("0002_b\r::warning::y", r"'0002_b\r::warning::y'", id="carriage return"),
    pytest.param("0002_c%0A::error::z", "'0002_c%0A::error::z'", id="percent"),
    pytest.param("::add-mask::0002_d", "'::add-mask::0002_d'", id="command at the start"),
    pytest.param("0002_##[add-mask]e", r"'0002_##\x5badd-mask]e'", id="legacy command"),
    pytest.param("0002_\x1b[31mred", r"'0002_\x1b[31mred'", id="ANSI escape"),
    pytest.param("0002_\u202eevil", r"'0002_\u202eevil'", id="bidi override"),
]
MODEL = "product\n::add-mask::m"  # a model name in an operation, also from the pull request


def runner_commands(output: str) -> list[str]:
    """The lines the Actions runner would act on."""
    lines = re.split(r"\r\n|\r|\n", output)
    return [line for line in lines if line.lstrip().startswith("::") or "##[" in line]


def invisible(output: str) -> list[str]:
    return [c for c in output if not c.isprintable() and c != "\n"]


def hostile_fork(repo: GitRepo, name: str) -> None:
    """main adds 0002_plain; the checked-out branch adds the hostile ``name``.

    0001_initial -+- <name>     (feature)
                  +- 0002_plain (main)
    """
    repo.write("shop/__init__.py", "")
    repo.write("shop/migrations/__init__.py", "")
    repo.write("shop/migrations/0001_initial.py", migration())
    repo.commit("initial")
    repo.branch("feature")
    ops = (f"        migrations.AddField(model_name={MODEL!r}, name='sku',\n"
           "            field=models.CharField(max_length=3, null=True)),\n")
    repo.write(f"shop/migrations/{name}.py", migration([("shop", "0001_initial")], ops))
    repo.commit("hostile")
    repo.checkout("main")
    repo.write("shop/migrations/0002_plain.py", migration([("shop", "0001_initial")]))
    repo.commit("plain")
    repo.checkout("feature")


def check(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    monkeypatch.chdir(repo.root)
    out = io.StringIO()
    code = main(["check", "--base", "main", *argv], stdout=out)
    return code, out.getvalue()


def unwritable(merge: str) -> str:
    """Why fix will not write a merge migration named after leaves that are not printable."""
    return (f"The merge migration Django would write in app 'shop' is named {merge!r}, after the "
            "leaves, and holds a character that is not printable (or a '/'), so migration-ci "
            "fix will not write it. Rename the leaf migrations, then run migration-ci fix.")


def fix_lines(name: str, merge: str) -> str:
    """The end of the text report: the fix, or, for a name fix will not write, the reason."""
    if not name.isprintable():
        return (f"  Cannot merge: {log_text(unwritable(merge))}\n\n1 app with conflicting "
                "migrations. No merge migration can be written: resolve by hand as described "
                "above.\n")
    return (f"  Fix: git merge main && migration-ci fix (writes "
            f"{quote(f'shop/migrations/{merge}.py')})\n\n1 app with conflicting migrations. "
            "Run: git merge main && migration-ci fix\n")


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_text_quotes_the_name_on_one_line(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    hostile_fork(repo, name)
    code, out = check(repo, monkeypatch)
    assert code == 1
    leaves = sorted([(name, shown, "this branch"), ("0002_plain", "0002_plain", "main")])
    merge = "0003_merge_" + "_".join(sorted([name, "0002_plain"]))
    assert out == "".join([
        "Conflicting migrations in app 'shop': "
        + ", ".join(f"{s} ({side})" for _, s, side in leaves) + ".\n",
        *(f"  {quote(f'shop/migrations/{n}.py')}  ({side})\n" for n, _, side in leaves),
        "  Common ancestor: 0001_initial\n",
        *(f"  Branch {s}\n" + (r"    + Add field sku to product\n::add-mask::m" + "\n"
                               if n == name else "") for n, s, _ in leaves),
        fix_lines(name, merge),
    ])
    assert runner_commands(out) == []
    assert invisible(out) == []


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_json_escapes_the_name_and_reads_back_exactly(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    hostile_fork(repo, name)
    code, out = check(repo, monkeypatch, "--format", "json")
    assert code == 1
    assert runner_commands(out) == []
    assert invisible(out) == []
    assert out.isascii()
    [conflict] = json.loads(out)["conflicts"]
    assert [leaf["path"] for leaf in conflict["leaves"]] == sorted(
        [f"shop/migrations/{name}.py", "shop/migrations/0002_plain.py"]
    )


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_github_annotations_are_the_only_commands(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    hostile_fork(repo, name)
    code, out = check(repo, monkeypatch, "--format", "github")
    assert code == 1
    leaves = sorted([(name, shown, "this branch"), ("0002_plain", "0002_plain", "main")])
    headline = ("Conflicting migrations in app 'shop': "
                + ", ".join(f"{s} ({side})" for _, s, side in leaves) + ".")
    merge = "0003_merge_" + "_".join(sorted([name, "0002_plain"]))
    advice = (f"Cannot merge: {unwritable(merge)}" if not name.isprintable()
              else "Run: git merge main && migration-ci fix")
    message = f"{headline} {advice}".replace("%", "%25")
    commands = runner_commands(out)
    assert len(commands) == 2
    for command, (leaf, _, _) in zip(commands, leaves, strict=True):
        props, _, data = command.removeprefix("::error ").partition("::")
        assert data == message
        assert props == (f"file={property_escape(f'shop/migrations/{leaf}.py')},line=1,"
                         "title=Conflicting migrations")
    assert out.splitlines()[-1] == fix_lines(name, merge).splitlines()[-1]


def property_escape(value: str) -> str:
    """How GitHub documents a property value: ``%``, CR, LF, ``:`` and ``,`` escaped."""
    for char, code in (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C")):
        value = value.replace(char, code)
    return value


def hostile_report(name: str) -> dict[str, Any]:
    """A report document (as an artifact could carry it) with ``name`` everywhere."""
    leaf = {"name": name, "path": f"shop/migrations/{name}.py", "side": "branch"}
    return {
        "version": 1, "tool": "django-migration-ci 0.1.0", "working_directory": ".",
        "base": {"ref": "main", "sha": "a" * 40}, "head": {"sha": "b" * 40},
        "check": {"conflicts": [{
            "app_label": name, "migrations_dir": "shop/migrations", "leaves": [leaf],
            "common_ancestor": name, "merge_name": f"0003_merge_{name}", "merge_error": None,
            "merge_file": {"path": f"shop/migrations/0003_merge_{name}.py", "content": name},
            "branches": [{"leaf": name, "migrations": [name],
                          "operations": [{"kind": "AddField", "description": name}]}],
            "overlaps": [{"model": name, "field": name, "leaves": [name, name]}],
        }], "warnings": [name]},
        "verify": {
            "database": {"vendor": name, "version": name}, "ok": False, "seconds": 1.0,
            "phases": [{"name": "forward", "seconds": 0.5}],
            "snapshot": {"used": False, "note": name},
            "migrations": [{"app_label": name, "name": name, "seconds": 0.1}],
            "failure": {"app_label": name, "name": name, "path": name, "operation": name,
                        "error": name, "sql": name, "direction": name},
            "irreversible": [{"app_label": name, "name": name, "operation": name}],
            "missing_changes": [{"app_label": name, "description": name}],
        },
        "plan": {"vendor": name, "entries": [{
            "app_label": name, "name": name, "status": "new", "path": name, "sql": name,
            "operations": [{"description": name, "irreversible": True,
                            # Reasons are the rule table's own sentences, shown as prose.
                            "risk": {"level": "high", "rule": name,
                                     "reason": "Drops a column.", "safer": "Keep it."}}],
        }]},
    }


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
@pytest.mark.parametrize("render", [comment.render_comment, comment.render_summary])
def test_markdown_shows_every_character_and_keeps_its_layout(
    render: Any, name: str, shown: str
) -> None:
    markdown = render(hostile_report(name))
    assert invisible(markdown) == []
    # Every value sits in a code span, a fenced block or escaped HTML: the text around them,
    # and so the layout, is the same as for a plain name.
    plain = render(hostile_report("0002_plain"))
    assert prose(markdown) == prose(plain)
    assert len(prose(markdown)) > 20


def prose(markdown: str) -> list[tuple[str, str]]:
    """The Markdown's tokens with their text, outside code spans, fences and HTML."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    found = []
    for token in parser.parse(markdown):
        for child in [token, *(token.children or [])]:
            kept = child.type == "text" or child.type.endswith(("_open", "_close"))
            if kept:
                found.append((child.type, child.content))
    return found


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_verify_text_quotes_names_and_escapes_messages(name: str, shown: str) -> None:
    text = render_verify_text(hostile_report(name)["verify"])
    assert runner_commands(text) == []
    assert invisible(text) == []
    node, free = quote(f"{name}.{name}"), log_text(name)
    # A multi-line error keeps its lines, each made safe and indented under the first.
    lines = log_lines(name).split("\n")
    assert text == (
        f"Ran on a throwaway {free} {free} database in 1.00 s: 1 migration applied.\n"
        f"Base state: {free}\n"
        "  forward: 0.50 s\n"
        f"  slowest: {node} 0.10 s\n"
        f"IRREVERSIBLE: {node}: {free}\n"
        "Models have changes that no migration holds (run makemigrations):\n"
        f"  {shown}: {free}\n"
        f"Migration {node} ({shown}) failed going {free}:\n"
        f"  operation: {free}\n"
        + "  error: " + "\n         ".join(lines) + "\n"
        + "  SQL: " + "\n       ".join(lines) + "\n"
        "Verify: FAILED.\n"
    )


def hostile_plan(name: str) -> Plan:
    risk = Risk("drop-column", "high", "Drops a column.", "Keep it.")
    op = PlannedOperation(f"Remove field {name}", irreversible=True, risk=risk,
                          kind="RemoveField")
    return Plan(name, (
        PlanEntry("shop", name, "new", f"shop/migrations/{name}.py", (op,),
                  sql=f"BEGIN;\n-- {name}\nCOMMIT;", sql_error=name),
        PlanEntry("shop", "0001_gone", "gone", "shop/migrations/0001_gone.py"),
    ))


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_plan_text_quotes_names_and_escapes_sql(name: str, shown: str) -> None:
    text = plan_render.render_text(hostile_plan(name), sql=True)
    assert runner_commands(text) == []
    assert invisible(text) == []
    assert text == (
        f"Planned operations on {log_text(name)}:\n"
        "WARNING: 1 migration on the base is missing from this branch (deleted or renamed) and "
        "may already be applied in production:\n"
        "- shop.0001_gone  (on base, missing here: may already be applied in production)\n"
        f"+ {quote(f'shop.{name}')}\n"
        f"    {log_text(f'Remove field {name}')}  [HIGH risk: drop-column] [IRREVERSIBLE]\n"
        "      Drops a column. Safer: Keep it.\n"
        "    | BEGIN;\n"
        + "".join(f"    | {log_text(line)}\n" for line in f"-- {name}".splitlines())
        + "    | COMMIT;\n"
        f"    Partly not SQL: {log_text(name)}\n"
    )


@pytest.mark.parametrize(("name", "shown"), HOSTILE)
def test_plan_json_and_markdown(name: str, shown: str) -> None:
    plan = hostile_plan(name)
    data = plan_render.render_json(plan)
    assert runner_commands(data) == []
    assert data.isascii()
    assert json.loads(data)["entries"][0]["name"] == name
    markdown = plan_render.render_markdown(plan)
    assert invisible(markdown) == []
    assert prose(markdown) == prose(plan_render.render_markdown(hostile_plan("0002_plain")))


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        pytest.param("0002_plain", "0002_plain", id="plain"),
        pytest.param("café/0001_ünïcode", "café/0001_ünïcode", id="letters of any script"),
        pytest.param("my app", "'my app'", id="space"),
        pytest.param("it's", r"'it\'s'", id="quote"),
        pytest.param("a\\b", r"'a\\b'", id="backslash"),
        pytest.param("tab\there", r"'tab\there'", id="tab"),
        pytest.param("nul\x00", r"'nul\x00'", id="control"),
        pytest.param("zero\u200bwidth", r"'zero\u200bwidth'", id="format character"),
        pytest.param("line\u2028break", r"'line\u2028break'", id="line separator"),
        pytest.param("emoji\U000e0041tag", r"'emoji\U000e0041tag'", id="astral tag"),
    ],
)
def test_quote(name: str, shown: str) -> None:
    assert quote(name) == shown


def test_literal_quotes_even_a_plain_name() -> None:
    assert literal("shop") == "'shop'"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("Raw SQL operation", "Raw SQL operation", id="plain"),
        pytest.param("::add-mask::x", r"\x3a:add-mask::x", id="command at the start"),
        pytest.param("   ::warning::x", r"   \x3a:warning::x", id="after spaces"),
        pytest.param("a ::b", "a ::b", id="in the middle"),
        pytest.param("cast 'a'::text", "cast 'a'::text", id="SQL cast"),
        pytest.param("x ##[add-mask]y", r"x ##\x5badd-mask]y", id="legacy command"),
        pytest.param("\t::x", r"\t::x", id="tab first"),
        pytest.param("a\r\nb", r"a\r\nb", id="line break"),
    ],
)
def test_log_text(text: str, shown: str) -> None:
    assert log_text(text) == shown


def test_log_lines_keeps_lines_and_defuses_each() -> None:
    assert log_lines("error\n::add-mask::x\n\x1b[0m") == "error\n\\x3a:add-mask::x\n\\x1b[0m"


def test_visible_keeps_what_it_is_told() -> None:
    assert visible("a\n\tb\x1b", keep="\n\t") == "a\n\tb\\x1b"


def test_cli_errors_show_the_value_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--root", "no\n::add-mask::x"]) == 2
    assert capsys.readouterr().err == (
        "migration-ci: --root 'no\\n::add-mask::x' is not a folder. Name an existing folder.\n"
    )


def test_workflow_annotations_show_escapes_and_keep_line_breaks() -> None:
    assert format_command("error", "a\x1b[31mb\u202ec\nd%", {"title": "t\u202e"}) == (
        "::error title=t\\u202e::a\\x1b[31mb\\u202ec%0Ad%25"
    )
