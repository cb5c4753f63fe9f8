from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from migration_ci.report import comment
from tests.support import sample_report

HOSTILE = "x`y``</details><script>alert(1)</script>@octocat|a\n# Owned ```"


def tokens(markdown: str) -> list[Token]:
    """Flattened tokens of GitHub-flavoured CommonMark (raw HTML allowed, tables on)."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    flat: list[Token] = []
    for token in parser.parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def headings(markdown: str) -> list[str]:
    found = tokens(markdown)
    return ["".join(child.content for child in found[i + 1].children or [])
            for i, t in enumerate(found) if t.type == "heading_open"]


_OUR_HTML = re.compile(
    r"<!-- django-migration-ci: working-directory=\"[A-Za-z0-9._/%-]+\" -->|"
    r"<details><summary>.*</summary>|</details>|<sub>[^<]*</sub>|<sub>|</sub>",
)


def assert_structure_is_ours(markdown: str) -> None:
    for token in tokens(markdown):
        if token.type in ("html_block", "html_inline"):
            for line in token.content.strip().splitlines():
                assert _OUR_HTML.fullmatch(line.strip()), line
                assert "<script" not in line
        if token.type == "text":
            assert "@octocat" not in token.content
            assert "<script" not in token.content


EXPECTED_COMMENT = """\
<!-- django-migration-ci: working-directory="." -->

## Django migrations: conflicting migrations in 1 app

Checked head `bbbbbbbbbbbb` against base `main` at `aaaaaaaaaaaa`.

### App `shop`: 2 leaf migrations
- `0007_add_sku` from this pull request (`shop/migrations/0007_add_sku.py`)
- `0007_price_index` from the base branch (`shop/migrations/0007_price_index.py`)

Common ancestor: `0006_order`.

Branch ending at `0007_add_sku`:

```diff
+ Add field sku to product
```

Branch ending at `0007_price_index`:

```diff
+ Create index price_idx on field(s) price of model product
```

> [!NOTE]
> Both branches change model `product` (`0007_add_sku`, `0007_price_index`): the merge \
migration joins the graph, not the changes; check that they fit together.

<details><summary>Merge migration <code>shop/migrations/0008_merge_0007_add_sku_0007_price_index.py\
</code></summary>

```python
{merge_content}```

</details>

**Fix**: on a clone of this pull request's branch, this merges the base branch and writes the \
merge migration above; each line exits 0 once it did its job.

```sh
git fetch origin -- main
git merge --no-edit -- origin/main
migration-ci fix --no-header
git add -- shop/migrations/0008_merge_0007_add_sku_0007_price_index.py
git commit -m 'Merge conflicting migrations'
git push
```

### Verify on a fresh database: ✅ passed with the merge migration this pull request still needs
Database `sqlite 3.40.1`{timings}

### Migration plan on `sqlite`

Planned with the merge migration this pull request still needs \
(`shop/migrations/0008_merge_0007_add_sku_0007_price_index.py`).

```diff
+ shop.0007_add_sku
+     Add field sku to product  [low risk: new-nullable-field]
```

<details><summary>SQL for <code>shop.0007_add_sku</code></summary>

```sql
BEGIN;
ALTER TABLE shop_product ADD COLUMN sku varchar(20) NULL;
COMMIT;
```

</details>
{footer}
<sub>django-migration-ci 0.1.0</sub>
"""


def test_conflict_comment_is_what_a_reviewer_acts_on() -> None:
    """Conflicts with sides and branches, the file and the commands, verify's verdict and the
    plan: no run timings, no snapshot, nothing that changes while the commits do not."""
    body = comment.render_comment(sample_report.conflicted(), summary_url="https://x/run/1",
                                  base_ref="main")
    assert body == EXPECTED_COMMENT.format(
        merge_content=sample_report.MERGE_CONTENT, timings=".",
        footer="\nFull report: [job summary](https://x/run/1).\n")
    assert_structure_is_ours(body)


def test_the_job_summary_also_has_the_timings_and_the_snapshot() -> None:
    report = sample_report.conflicted()
    report["verify"]["snapshot"] = {"used": True, "key": "k" * 40, "note": "restored from cache"}
    summary = comment.render_summary(report, base_ref="main")
    assert summary == EXPECTED_COMMENT.format(
        merge_content=sample_report.MERGE_CONTENT,
        timings=", 1.23 s; forward 1.00 s; backward 0.10 s.\n"
                "Base state restored from a snapshot: `restored from cache`.",
        footer="",
    ).removeprefix(comment.marker(".") + "\n\n")


def test_two_branches_on_one_field_is_a_warning() -> None:
    report = sample_report.conflicted()
    report["check"]["conflicts"][0]["overlaps"] = [
        {"model": "product", "field": "price", "leaves": ["0007_add_sku", "0007_price_index"]}]
    assert ("> [!WARNING]\n> Both branches change field `product.price` (`0007_add_sku`, "
            "`0007_price_index`): the merge migration joins the graph but does not resolve that "
            "clash; keep one of the changes.\n") in comment.render_comment(report)


def test_risk_reasons_are_prose_unless_they_could_be_markup() -> None:
    report = sample_report.conflicted()
    [entry] = report["plan"]["entries"]
    entry["operations"][0]["risk"] = {
        "level": "medium", "reason": "Old code fails its INSERTs (no db_default).",
        "safer": "Add it with null=True first."}
    entry["operations"].append({"description": "Raw SQL operation", "irreversible": True,
                                "risk": {"level": "high", "reason": "<img src=x> @octocat",
                                         "safer": "[click](https://evil)"}})
    body = comment.render_comment(report)
    assert ("Risk levels:\n\n"
            "- 🟠 medium: `shop.0007_add_sku` `Add field sku to product`: Old code fails its "
            "INSERTs (no db_default). Safer: Add it with null=True first.\n"
            "- 🔴 high: `shop.0007_add_sku` `Raw SQL operation`: `<img src=x> @octocat` Safer: "
            "`[click](https://evil)`\n\n") in body
    assert "+     Raw SQL operation  [HIGH risk] [IRREVERSIBLE]\n" in body
    assert_structure_is_ours(body)


def test_a_comment_that_differs_only_in_the_run_link_is_the_same_report() -> None:
    report = sample_report.conflicted()
    first = comment.render_comment(report, summary_url="https://github.com/a/b/actions/runs/1")
    later = comment.render_comment(report, summary_url="https://github.com/a/b/actions/runs/2")
    assert first != later
    assert comment.same_report(first, later)
    report["head"]["sha"] = "c" * 40
    assert not comment.same_report(first, comment.render_comment(report))


def test_verify_failure_names_migration_file_operation_error_and_sql() -> None:
    report = sample_report.clean()
    report["verify"]["ok"] = False
    report["verify"]["failure"] = {
        "app_label": "shop", "name": "0008_x", "path": "shop/migrations/0008_x.py",
        "operation": "AddField sku", "error": 'column "sku" already exists',
        "sql": "ALTER TABLE shop ADD sku", "direction": "forward"}
    body = comment.render_comment(report)
    assert comment.has_findings(report)
    assert headings(body)[0] == "Django migrations: migrations fail on a fresh database"
    assert ("**Failed** (`forward`): migration `shop.0008_x` in `shop/migrations/0008_x.py`, "
            "operation `AddField sku`:\n\n```text\ncolumn \"sku\" already exists\n```") in body


@pytest.mark.parametrize(
    ("snapshot", "line"),
    [
        pytest.param({"used": False, "key": "k1", "chained_from": None,
                      "note": "no snapshot for key k1; built the base state from zero and "
                              "saved a snapshot"},
                     "Base state built from zero: `no snapshot for key k1; built the base state "
                     "from zero and saved a snapshot`.", id="from zero"),
        pytest.param({"used": True, "key": "k1", "chained_from": None,
                      "note": "restored from cache"},
                     "Base state restored from a snapshot: `restored from cache`.", id="restored"),
        pytest.param({"used": True, "key": "k2", "chained_from": {"key": "k1", "base": "abc",
                                                                   "applied": 1},
                      "note": "no snapshot for key k2; built on snapshot k1.snapshot (base "
                              "abc): applied 1 migration and saved a snapshot"},
                     "Base state built on an earlier snapshot: `no snapshot for key k2; built on "
                     "snapshot k1.snapshot (base abc): applied 1 migration and saved a "
                     "snapshot`.", id="built on an earlier snapshot"),
    ],
)
def test_verify_says_where_the_base_state_came_from(snapshot: dict[str, Any], line: str) -> None:
    """In the job summary: the comment has no snapshot line, it would change with the cache."""
    report = sample_report.clean()
    report["verify"]["snapshot"] = snapshot
    assert line in comment.render_summary(report).splitlines()
    assert "Base state" not in comment.render_comment(report)


def _hostile_report() -> dict[str, Any]:
    report = sample_report.conflicted()
    conflict = report["check"]["conflicts"][0]
    conflict["app_label"] = HOSTILE
    conflict["leaves"][0]["name"] = HOSTILE
    conflict["merge_file"]["path"] = HOSTILE
    conflict["merge_file"]["content"] = "```\n</details>\n" + HOSTILE
    conflict["branches"][0]["operations"][0]["description"] = HOSTILE
    report["plan"]["entries"][0]["name"] = HOSTILE
    report["plan"]["entries"][0]["sql"] = "````\n</details>" + HOSTILE
    report["base"]["ref"] = HOSTILE
    report["working_directory"] = 'a" --><script>'
    return report


def test_names_from_the_pull_request_cannot_break_the_markdown() -> None:
    body = comment.render_comment(_hostile_report(), base_ref=HOSTILE)
    assert body.startswith(
        '<!-- django-migration-ci: working-directory="a%22%20--%3E%3Cscript%3E" -->')
    assert headings(body) == [
        "Django migrations: conflicting migrations in 1 app",
        "App x`y``</details><script>alert(1)</script>@octocat¦a # Owned ```: 2 leaf migrations",
        "Verify on a fresh database: ✅ passed with the merge migration this pull request still "
        "needs",
        "Migration plan on sqlite",
    ]
    assert_structure_is_ours(body)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({}, id="empty"),
        pytest.param({"check": {"conflicts": [None, "x", {"leaves": "nope"}]}}, id="wrong types"),
        pytest.param({"check": [], "verify": {"ok": False, "failure": []}, "plan": {"entries": 3}},
                     id="lists where dicts belong"),
    ],
)
def test_documents_of_the_wrong_shape_still_render(document: dict[str, Any]) -> None:
    body = comment.render_comment(document)
    assert body.startswith(comment.marker("."))
    assert_structure_is_ours(body)


def test_oversize_report_drops_sql_first_then_the_plan() -> None:
    report = sample_report.conflicted()
    report["plan"]["entries"][0]["sql"] = "SELECT 1;\n" * 7000
    body = comment.render_comment(report, summary_url="https://x/run/1")
    assert len(body) <= comment.MAX_COMMENT_CHARS
    assert "SELECT 1;" not in body
    assert "Migration plan on `sqlite`" in body
    assert "shortened (SQL left out): the full report is in [the job summary](https://x/run/1)" \
        in body

    report["plan"]["entries"] *= 1
    report["plan"]["entries"][0]["operations"] *= 2000
    body = comment.render_comment(report, summary_url="https://x/run/1")
    assert len(body) <= comment.MAX_COMMENT_CHARS
    assert "Migration plan" not in body
    assert "App `shop`" in body
    assert "shortened (SQL and plan left out)" in body


def test_oversize_everything_is_cut_to_the_limit() -> None:
    report = sample_report.conflicted()
    report["check"]["conflicts"] *= 3000
    body = comment.render_comment(report)
    assert len(body) <= comment.MAX_COMMENT_CHARS
    assert body.startswith(comment.marker("."))


def test_resolved_comment_keeps_the_marker() -> None:
    body = comment.render_resolved(sample_report.clean(), summary_url="https://x/run/2")
    assert body == (
        '<!-- django-migration-ci: working-directory="." -->\n\n'
        "## Django migrations: resolved ✅\n\n"
        "The migration conflict reported here earlier is gone. Checked head `bbbbbbbbbbbb` "
        "against base `main` at `aaaaaaaaaaaa`.\n\n"
        "Full report: [job summary](https://x/run/2).\n"
    )


@pytest.mark.parametrize(
    ("working_directory", "expected"),
    [
        pytest.param(".", '<!-- django-migration-ci: working-directory="." -->', id="root"),
        pytest.param("backend/api", '<!-- django-migration-ci: working-directory="backend/api" -->',
                     id="subdirectory"),
        pytest.param("a b", '<!-- django-migration-ci: working-directory="a%20b" -->',
                     id="space encoded"),
    ],
)
def test_marker(working_directory: str, expected: str) -> None:
    assert comment.marker(working_directory) == expected


def test_summary_has_no_marker_and_findings_helpers() -> None:
    report = sample_report.conflicted()
    assert "django-migration-ci:" not in comment.render_summary(report)
    assert comment.conflicted_apps(report) == ["shop"]
    assert not comment.has_findings(sample_report.clean())


def test_names_that_look_like_options_stay_arguments_in_the_commands() -> None:
    report = sample_report.conflicted()
    conflict = report["check"]["conflicts"][0]
    conflict["merge_file"]["path"] = "-rf"
    conflict["app_label"] = "--exec=x"
    conflict["merge_name"] = "0008_merge_20240101_1200"
    body = comment.render_comment(report, base_ref="--upload-pack=touch x")
    assert ("```sh\n"
            "git fetch origin -- '--upload-pack=touch x'\n"
            "git merge --no-edit -- 'origin/--upload-pack=touch x'\n"
            "migration-ci fix --no-header --name merge_20240101_1200 -- --exec=x\n"
            "git add -- -rf\n") in body


def fix_commands(body: str) -> list[str]:
    return body.split("```sh\n")[1].split("\n```")[0].splitlines()


def test_timestamped_merge_names_are_passed_so_a_later_run_writes_them() -> None:
    """Django names a merge of long leaf names with the time it runs; the commands name it."""
    report = sample_report.conflicted()
    shop = report["check"]["conflicts"][0]
    shop["merge_name"] = "0008_merge_20240101_1200"
    shop["merge_file"]["path"] = "shop/migrations/0008_merge_20240101_1200.py"
    assert fix_commands(comment.render_comment(report))[2:4] == [
        "migration-ci fix --no-header shop --name merge_20240101_1200",
        "git add -- shop/migrations/0008_merge_20240101_1200.py",
    ]
    users = {**shop, "app_label": "users", "migrations_dir": "users/migrations",
             "merge_name": "0002_merge_0001_a_0001_b",
             "merge_file": {"path": "users/migrations/0002_merge_0001_a_0001_b.py",
                            "content": "..."}}
    report["check"]["conflicts"].append(users)
    assert fix_commands(comment.render_comment(report))[2:5] == [
        "migration-ci fix --no-header shop --name merge_20240101_1200",
        "migration-ci fix --no-header users",
        "git add -- shop/migrations/0008_merge_20240101_1200.py "
        "users/migrations/0002_merge_0001_a_0001_b.py",
    ]


def test_rebase_strategy_shows_its_own_commands_and_no_merge_file() -> None:
    body = comment.render_comment(sample_report.conflicted(), strategy="rebase")
    assert "Merge migration <code>" not in body
    assert fix_commands(body) == [
        "git fetch origin -- main",
        "git merge --no-edit -- origin/main",
        "migration-ci fix --strategy rebase",
        "git add -A -- shop/migrations",
        "git commit -m 'Merge conflicting migrations'",
        "git push",
    ]


def test_a_conflict_on_the_branch_alone_needs_no_merge_of_the_base() -> None:
    report = sample_report.conflicted()
    for leaf in report["check"]["conflicts"][0]["leaves"]:
        leaf["side"] = "branch"
    body = comment.render_comment(report)
    assert "**Fix**: on a clone of this pull request's branch, this writes the merge migration " \
           "above; each line exits 0 once it did its job." in body
    assert fix_commands(body)[0] == "migration-ci fix --no-header"


def test_the_summary_limit_counts_utf8_bytes() -> None:
    """GitHub's 1 MiB job summary limit is in bytes; "é" is two of them."""
    report = sample_report.conflicted()
    report["plan"]["entries"][0]["sql"] = "é" * 700_000
    summary = comment.render_summary(report)
    assert len(summary) < comment.MAX_SUMMARY_BYTES
    assert len(summary.encode("utf-8")) <= comment.MAX_SUMMARY_BYTES
    assert "shortened (SQL left out)" in summary


def _shop_conflict(**changes: Any) -> dict[str, Any]:
    conflict = sample_report.conflicted()["check"]["conflicts"][0]
    conflict.update(changes)
    return conflict


@pytest.mark.parametrize(
    ("conflict", "base", "hint"),
    [
        pytest.param(_shop_conflict(), {"ref": "main", "sha": "a" * 40},
                     "Fix on the pull request's branch: git merge origin/main && migration-ci fix",
                     id="a leaf of the base: merge it first"),
        pytest.param(_shop_conflict(leaves=[{"name": "0007_a", "side": "branch"},
                                            {"name": "0007_b", "side": "branch"}]),
                     {"ref": "main"}, "Fix on the pull request's branch: migration-ci fix",
                     id="both leaves on the branch"),
        pytest.param(_shop_conflict(), {"ref": "HEAD", "sha": "a" * 40},
                     f"Fix on the pull request's branch: git merge {'a' * 40} && migration-ci fix",
                     id="no base branch: its commit"),
        pytest.param(_shop_conflict(), {"sha": "b" * 40},
                     f"Fix on the pull request's branch: git merge {'b' * 40} && migration-ci fix",
                     id="no ref at all"),
        pytest.param(_shop_conflict(), {"ref": "release 2; rm -rf"},
                     "Fix on the pull request's branch: git merge 'origin/release 2; rm -rf' && "
                     "migration-ci fix", id="a ref that needs quoting"),
        pytest.param(_shop_conflict(merge_name="0008_merge_20240101_1200"), {"ref": "main"},
                     "Fix on the pull request's branch: git merge origin/main && migration-ci fix "
                     "shop --name merge_20240101_1200", id="a timestamped name"),
        pytest.param(_shop_conflict(merge_name="0008_merge_20240101_1200", app_label="-x"),
                     {"ref": "main"},
                     "Fix on the pull request's branch: git merge origin/main && migration-ci fix "
                     "--name merge_20240101_1200 -- -x", id="an app label like an option"),
        pytest.param(_shop_conflict(merge_name=None), {"ref": "main"},
                     "Resolve it by hand: Django cannot merge these leaves.", id="no merge"),
        pytest.param(_shop_conflict(merge_error="two leaves of one migration"), {"ref": "main"},
                     "Resolve it by hand: Django cannot merge these leaves.",
                     id="the merge cannot be written"),
    ],
)
def test_the_annotations_fix_hint(conflict: dict[str, Any], base: dict[str, Any],
                                  hint: str) -> None:
    from migration_ci.report.fix_section import fix_hint

    assert fix_hint(conflict, base) == hint


def test_a_path_that_cannot_be_pasted_adds_everything() -> None:
    report = sample_report.conflicted()
    report["check"]["conflicts"][0]["merge_file"]["path"] = "shop/migrations/0008_a\nb.py"
    assert fix_commands(comment.render_comment(report))[2:4] == [
        "migration-ci fix --no-header", "git add -A"]


def test_the_merge_path_without_a_file_is_made_from_the_folder_and_name() -> None:
    from migration_ci.report.fix_section import merge_path

    assert merge_path({"migrations_dir": "shop/migrations", "merge_name": "0008_m"}) == \
        "shop/migrations/0008_m.py"
    assert merge_path({"migrations_dir": "", "merge_name": "0008_m"}) == "0008_m.py"
    assert merge_path({"migrations_dir": "shop/migrations"}) == ""
    assert merge_path({"merge_file": {"path": "a/b.py"}, "merge_name": "0008_m"}) == "a/b.py"


def test_a_conflict_whose_merge_cannot_be_written_is_left_out_of_the_commands() -> None:
    report = sample_report.conflicted()
    shop = report["check"]["conflicts"][0]
    users = {**shop, "app_label": "users", "migrations_dir": "users/migrations",
             "merge_name": "0002_merge_a_b", "merge_error": "a leaf name holds a line break",
             "merge_file": {"path": "users/migrations/0002_merge_a_b.py", "content": "..."}}
    report["check"]["conflicts"].append(users)
    assert "users/migrations/0002_merge_a_b.py" not in "\n".join(
        fix_commands(comment.render_comment(report)))
    report["check"]["conflicts"] = [users]
    assert "```sh" not in comment.render_comment(report)


def test_rebase_adds_every_folder_it_renumbers_in() -> None:
    report = sample_report.conflicted()
    shop = report["check"]["conflicts"][0]
    report["check"]["conflicts"].append({**shop, "app_label": "users",
                                         "migrations_dir": "users/migrations"})
    assert fix_commands(comment.render_comment(report, strategy="rebase"))[3] == \
        "git add -A -- shop/migrations users/migrations"
