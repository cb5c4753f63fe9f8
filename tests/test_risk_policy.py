"""Adoption controls: the config's risk keys, inline ignores, re-levelling and the failing level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migration_ci.config import Config, load_config
from migration_ci.errors import ConfigError
from migration_ci.plan.policy import RiskPolicy, count_risks, read_ignores
from migration_ci.plan.records import build_plan
from migration_ci.plan.render import render_markdown, render_text
from migration_ci.plan.risk import rule_ids
from migration_ci.plan.source import find_marked_comments, find_operation_lines

KNOWN = ", ".join(rule_ids())

INDEX_SQL = 'CREATE INDEX "shop_name_idx" ON "shop_product" ("name");'
MIGRATION = '''\
from django.db import migrations, models

# migration-ci: ignore[add-index] the table holds 200 rows
MARK = "# migration-ci: ignore[remove-field] a string, not a comment"


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddIndex(
            "product", models.Index(fields=["name"], name="shop_name_idx"),
        ),
        migrations.RunPython(print),  # migration-ci: ignore[run-python-no-reverse] noop
    ]
'''


def collected(ignores: list[list[Any]], reverse: bool = False) -> dict[str, Any]:
    index = {"kind": "AddIndex", "vendor": "postgresql", "model": "product",
             "table_exists": True, "statements": [INDEX_SQL]}
    python = {"kind": "RunPython", "vendor": "postgresql", "has_reverse": reverse}
    return {"vendor": "postgresql", "migrations": [{
        "app_label": "shop", "name": "0002_idx", "path": "shop/migrations/0002_idx.py",
        "operations": [{"description": "Create index shop_name_idx on field(s) name of model "
                                       "product", "facts": index},
                       {"description": "Raw Python operation", "facts": python}],
        "operation_lines": [11, 14], "ignores": ignores}]}


def test_the_file_gives_operation_lines_and_marked_comments_not_strings() -> None:
    assert find_operation_lines(MIGRATION) == [11, 14]
    assert find_marked_comments(MIGRATION) == [
        (3, "# migration-ci: ignore[add-index] the table holds 200 rows"),
        (14, "# migration-ci: ignore[run-python-no-reverse] noop"),
    ]


def test_an_inline_ignore_accepts_the_risk_and_says_why() -> None:
    comment = "# migration-ci: ignore[add-index] the table holds 200 rows"
    plan = build_plan(collected([[3, comment]]), policy=RiskPolicy(fail_on="medium"))
    index = plan.entries[0].operations[0]
    assert index.risk is not None
    assert (index.risk.rule, index.risk.level, index.risk.accepted, index.line) == (
        "add-index", "medium", "the table holds 200 rows", 11)
    assert count_risks(plan.risks) == {"high": 0, "medium": 1, "low": 0, "accepted": 1}
    assert plan.fails  # the RunPython without reverse is not accepted
    assert render_text(plan).splitlines()[2:5] == [
        "    Create index shop_name_idx on field(s) name of model product  "
        "[accepted MEDIUM risk: add-index]",
        "      Builds an index without CONCURRENTLY: PostgreSQL blocks writes to the table until "
        "it is built. Safer: Use AddIndexConcurrently in a migration with atomic = False.",
        "      Accepted: the table holds 200 rows",
    ]
    assert (
        "- ✅ accepted 🟠 medium (`add-index`): `shop.0002_idx` `Create index shop_name_idx on "
        "field(s) name of model product`: Builds an index without CONCURRENTLY: PostgreSQL "
        "blocks writes to the table until it is built. Safer: Use AddIndexConcurrently in a "
        "migration with atomic = False. Accepted: `the table holds 200 rows`"
    ) in render_markdown(plan)


def test_fail_on_counts_only_risks_not_accepted() -> None:
    comments = [[3, "# migration-ci: ignore[add-index, run-python-no-reverse] reviewed"]]
    plan = build_plan(collected(comments), policy=RiskPolicy(fail_on="medium"))
    assert count_risks(plan.risks) == {"high": 0, "medium": 0, "low": 0, "accepted": 2}
    assert not plan.fails


@pytest.mark.parametrize(
    ("policy", "fails", "counts"),
    [
        pytest.param(RiskPolicy(), False, (0, 2, 0), id="never fails by default"),
        pytest.param(RiskPolicy(fail_on="high"), False, (0, 2, 0), id="high: mediums pass"),
        pytest.param(RiskPolicy(fail_on="medium"), True, (0, 2, 0), id="medium fails"),
        pytest.param(RiskPolicy(levels={"add-index": "high"}, fail_on="high"), True, (1, 1, 0),
                     id="re-levelled to high"),
        pytest.param(RiskPolicy(levels={"add-index": "low", "run-python-no-reverse": "low"},
                                fail_on="medium"), False, (0, 0, 2), id="re-levelled to low"),
        pytest.param(RiskPolicy(ignore=frozenset({"add-index", "run-python-no-reverse"}),
                                fail_on="medium"), False, (0, 0, 0), id="ignored"),
    ],
)
def test_project_policy(policy: RiskPolicy, fails: bool, counts: tuple[int, int, int]) -> None:
    plan = build_plan(collected([]), policy=policy)
    assert plan.fails is fails
    assert count_risks(plan.risks) == dict(zip(("high", "medium", "low"), counts, strict=True),
                                           accepted=0)


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        pytest.param("# migration-ci: ignore[add-index]",
                     "shop/migrations/0002_idx.py:7: '# migration-ci: ignore[add-index]' gives no "
                     "reason. Say why the risk is accepted, e.g.: # migration-ci: "
                     "ignore[add-index] the table has 200 rows", id="no reason"),
        pytest.param("# migration-ci: ignore[add-indx] small table",
                     "shop/migrations/0002_idx.py:7: '# migration-ci: ignore[add-indx] small "
                     f"table' names 'add-indx', which is not a risk rule. Known rules: {KNOWN}.",
                     id="unknown rule"),
        pytest.param("# migration-ci: skip add-index",
                     "shop/migrations/0002_idx.py:7: '# migration-ci: skip add-index' is not an "
                     "inline ignore. Write it as: # migration-ci: ignore[add-index] the table "
                     "has 200 rows", id="not an ignore"),
        pytest.param("# migration-ci: ignore[] why",
                     "shop/migrations/0002_idx.py:7: '# migration-ci: ignore[] why' is not an "
                     "inline ignore. Write it as: # migration-ci: ignore[add-index] the table "
                     "has 200 rows", id="no rule"),
    ],
)
def test_a_bad_inline_ignore_names_the_file_line_and_fix(comment: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_plan(collected([[7, comment]]))
    assert str(excinfo.value) == message


def test_read_ignores_merges_every_comment_of_a_migration() -> None:
    assert read_ignores("m.py", [(1, "# migration-ci: ignore[add-index] a"),
                                 (2, "#migration-ci:ignore[remove-field,rename-field]  b c")]) == {
        "add-index": "a", "remove-field": "b c", "rename-field": "b c"}


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".migration-ci.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_config_file_sets_the_policy(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "risk-ignore: [new-model]\n"
                                         "risk-levels: {add-index: low}\nfail-on: medium\n"))
    assert config.risk_policy == RiskPolicy(frozenset({"new-model"}), {"add-index": "low"},
                                            "medium")
    assert Config().risk_policy == RiskPolicy()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("fail-on: low\n", ".migration-ci.yml: 'fail-on' is 'low'. Use one of: high, "
                     "medium, never.", id="fail-on"),
        pytest.param("risk-ignore: [add-indx]\n", ".migration-ci.yml: 'risk-ignore' names "
                     f"'add-indx', which is not a risk rule. Known rules: {KNOWN}.",
                     id="unknown rule"),
        pytest.param("risk-levels: {add-index: critical}\n", ".migration-ci.yml: 'risk-levels' "
                     "must map rule ids to high, medium or low, got {'add-index': 'critical'}. "
                     "Example: 'risk-levels: {add-index: low}'.", id="unknown level"),
        pytest.param("risk-ignore: {a: b}\n", ".migration-ci.yml: 'risk-ignore' must be a list "
                     "of rule ids, got {'a': 'b'}. Example: 'risk-ignore: [add-index]'.",
                     id="not a list"),
    ],
)
def test_bad_risk_config_names_the_key_value_and_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(write(tmp_path, text))
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        pytest.param("class Migration:\n    operations: list = [\n        a(),\n"
                     "        b(),\n    ]\n", [3, 4], id="annotated"),
        pytest.param("class Migration:\n    operations = (a(),)\n", [2], id="a tuple"),
        pytest.param("class Migration:\n    operations = build()\n", [], id="built in code"),
        pytest.param("class Migration:\n    dependencies = []\n", [], id="no operations"),
        pytest.param("class Migration(:\n", [], id="does not parse"),
    ],
)
def test_operation_lines_where_the_list_is_spelled_out(source: str, lines: list[int]) -> None:
    assert find_operation_lines(source) == lines


def test_marked_comments_of_a_file_that_ends_mid_token() -> None:
    """Django imported the file, so it parses; a truncated one keeps what was read."""
    source = "# migration-ci: ignore[add-index] why\nx = '''never closed\n"
    assert find_marked_comments(source) == [(1, "# migration-ci: ignore[add-index] why")]
