"""The README says what the command does: its example output, every flag, the cache flags."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from migration_ci.cli.main import build_parser, main
from tests.support.djangoproj import CREATE_PRODUCT, PRODUCT_MODELS, DjangoProject
from tests.support.gitrepo import GitRepo, migration

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMAND = "$ migration-ci check --base main\n"


def example(command: str) -> str:
    """The output the README shows in the code block that opens with ``command``."""
    start = README.index("```\n" + command) + len("```\n" + command)
    return README[start:README.index("```\n", start)]


def readme_repository(repo: GitRepo) -> None:
    """The history the example describes: ``shop`` up to 0006_order_note on both sides, then
    0007_add_sku on this branch and 0007_price_index on main."""
    repo.write("shop/__init__.py", "")
    repo.write("shop/migrations/__init__.py", "")
    previous: list[tuple[str, str]] = []
    for name in ["0001_initial", "0002_product", "0003_order", "0004_customer",
                 "0005_order_total", "0006_order_note"]:
        repo.write(f"shop/migrations/{name}.py", migration(previous))
        previous = [("shop", name)]
    repo.commit("history")
    repo.branch("feature")
    repo.write("shop/migrations/0007_add_sku.py", migration(previous, (
        "        migrations.AddField(model_name='product', name='sku',\n"
        "            field=models.CharField(max_length=32, null=True)),\n")))
    repo.commit("sku")
    repo.checkout("main")
    repo.write("shop/migrations/0007_price_index.py", migration(previous, (
        "        migrations.AlterField(model_name='product', name='price',\n"
        "            field=models.DecimalField(max_digits=10, decimal_places=2, db_index=True)),\n"
    )))
    repo.commit("price index")
    repo.checkout("feature")


def test_the_check_example_is_what_the_tool_prints(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme_repository(repo)
    monkeypatch.chdir(repo.root)
    out = io.StringIO()
    assert main(COMMAND.removeprefix("$ migration-ci ").split(), stdout=out) == 1
    assert out.getvalue() == example(COMMAND)


def options() -> list[tuple[str, str]]:
    """(command, --flag) for every flag of every sub-command that --help shows."""
    found = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, parser in action.choices.items():
                found += [(command, flag) for option in parser._actions
                          if option.help != argparse.SUPPRESS
                          for flag in option.option_strings
                          if flag.startswith("--") and flag != "--help"]
    return found


def test_every_flag_is_in_the_command_line_section() -> None:
    section = README[README.index("## Command line"):README.index("## GitHub Action")]
    assert len(options()) > 40
    assert [(command, flag) for command, flag in options() if flag not in section] == []


@pytest.mark.parametrize("command", ["verify", "report"])
def test_cache_and_no_cache_together_are_refused(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--cache", "snapshots", "--no-cache"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"migration-ci {command}: error: argument --no-cache: not allowed with argument --cache"
    )


@pytest.mark.slow
def test_cache_without_a_base_says_it_is_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = DjangoProject(tmp_path / "proj")
    project.add_app("shop", PRODUCT_MODELS)
    project.add_migration("shop", "0001_initial", ops=CREATE_PRODUCT)
    monkeypatch.chdir(project.root)
    code = main(["verify", "--settings", project.settings_module,
                 "--cache", str(tmp_path / "snapshots")])
    assert code == 0
    assert capsys.readouterr().err == (
        f"migration-ci: --cache {tmp_path / 'snapshots'} is unused: snapshots hold the base's "
        "state, and there is no base (pass --base REF or set 'base:' in .migration-ci.yml).\n"
    )
    assert not (tmp_path / "snapshots").exists()
