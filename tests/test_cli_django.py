"""verify, plan and report from the command line, on the bundled example as a real git repo.

The example: ``main`` and ``feature`` both add a ``0007_*`` migration to ``shop`` after
0006_order_note; ``feature`` is checked out. Every run works on a throwaway database.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from migration_ci.cli.demo import build_example_repo
from migration_ci.cli.main import main
from tests.support.djangoproj import Engine, engine_params
from tests.support.gitrepo import isolated_env

SETTINGS = "bookshop.settings"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in isolated_env().items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    root = build_example_repo(tmp_path / "example")
    monkeypatch.chdir(root)
    return root


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def listing(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }


def test_verify_against_base_uses_the_merge_migration_in_a_copy(example: Path) -> None:
    before = listing(example)
    code, out = run("verify", "--settings", SETTINGS, "--base", "main")
    assert code == 0, out
    assert out.startswith(
        "Conflicting leaves: verified with the merge migration `migration-ci fix` would write "
        "(shop/migrations/0008_merge_0007_add_sku_0007_price_index.py), in a temporary copy.\n"
        "Ran on a throwaway sqlite "
    )
    assert out.endswith("Verify: OK.\n")
    assert listing(example) == before  # nothing written, not even db.sqlite3


def test_verify_json_has_the_merged_migrations(example: Path) -> None:
    code, out = run("verify", "--settings", SETTINGS, "--base", "main", "--format", "json")
    data = json.loads(out)
    assert code == 0
    shop = [m["name"] for m in data["migrations"] if m["app_label"] == "shop"]
    assert shop[-3:] == [
        "0007_add_sku", "0007_price_index", "0008_merge_0007_add_sku_0007_price_index"
    ] or shop[-3:] == [
        "0007_price_index", "0007_add_sku", "0008_merge_0007_add_sku_0007_price_index"
    ]
    assert data["merge_migrations_used"] == [
        "shop/migrations/0008_merge_0007_add_sku_0007_price_index.py"
    ]
    assert [p["name"] for p in data["phases"]][-3:] == ["backward", "reapply", "missing_changes"]


def refused_reason(host: str, port: int, user: str) -> str:
    """What psycopg says when nothing listens at ``host:port``, on one line."""
    import psycopg

    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=10)
    return " ".join(str(info.value).split())


def test_default_database_is_the_settings_server_named_when_unreachable(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = example / "bookshop/settings.py"
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + "\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql',"
        " 'HOST': '127.0.0.1', 'PORT': '1', 'NAME': 'production', 'USER': 'nobody'}}\n",
        encoding="utf-8",
    )
    code, out = run("verify", "--settings", SETTINGS)
    assert (code, out) == (2, "")
    assert capsys.readouterr().err == (
        "migration-ci: Cannot reach the PostgreSQL server of DATABASES['default'] in settings "
        f"'bookshop.settings' at 127.0.0.1:1 (user 'nobody'): "
        f"{refused_reason('127.0.0.1', 1, 'nobody')} migration-ci makes its throwaway "
        "database on that server, as Django's test runner does. Start it, or pass "
        "--database-url with a server it can reach (the Action's 'database-url' input; service "
        "containers are reached by their service name, e.g. "
        "postgres://postgres:postgres@postgres:5432/postgres), or --database-url sqlite:// to "
        "verify on SQLite.\n"
    )
    code, out = run("verify", "--settings", SETTINGS, "--database-url", "sqlite://")
    assert code == 0, out
    assert "Ran on a throwaway sqlite" in out
    url = "postgres://somebody@127.0.0.1:1/shop"
    assert run("verify", "--settings", SETTINGS, "--database-url", url) == (2, "")
    assert capsys.readouterr().err.startswith(
        "migration-ci: Cannot reach the PostgreSQL server of --database-url at 127.0.0.1:1 "
        f"(user 'somebody'): {refused_reason('127.0.0.1', 1, 'somebody')} migration-ci makes "
    )


def test_a_failing_branch_migration_is_named(example: Path) -> None:
    bad = example / "shop/migrations/0008_bad.py"
    bad.write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('shop', '0007_add_sku')]\n"
        "    operations = [\n"
        "        migrations.RunSQL('UPDATE no_such_table SET x = 1', migrations.RunSQL.noop),\n"
        "    ]\n",
        encoding="utf-8",
    )
    code, out = run("verify", "--settings", SETTINGS, "--base", "main")
    assert code == 1
    assert "Migration shop.0008_bad (shop/migrations/0008_bad.py) failed going forward:\n" in out
    assert "  SQL: UPDATE no_such_table SET x = 1\n" in out
    assert "no such table: no_such_table" in out
    assert out.endswith("Verify: FAILED.\n")


def test_plan_lists_only_what_the_branch_adds(example: Path) -> None:
    code, out = run("plan", "--settings", SETTINGS, "--base", "main", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [(e["app_label"], e["name"], e["status"]) for e in data["entries"]] == [
        ("shop", "0007_add_sku", "new"),
        ("shop", "0008_merge_0007_add_sku_0007_price_index", "new"),
    ]
    [add_sku] = data["entries"][0]["operations"]
    assert add_sku["description"] == "Add field sku to product"
    assert add_sku["risk"]["level"] == "low"
    sql = data["entries"][0]["sql"]
    assert 'ALTER TABLE "shop_product" ADD COLUMN "sku" varchar(32) NULL;' in sql


def test_plan_flags_a_base_migration_the_branch_deleted(example: Path) -> None:
    from migration_ci.repository import git

    git.switch(example, "main")
    git.create_branch(example, "cleanup")
    (example / "shop/migrations/0007_price_index.py").unlink()
    code, out = run("plan", "--settings", SETTINGS, "--base", "main")
    assert code == 1
    assert "- shop.0007_price_index" in out


def test_plan_needs_a_base(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("plan", "--settings", SETTINGS)
    assert code == 2
    assert capsys.readouterr().err == (
        "migration-ci: plan needs a base: it shows what this branch runs on a database at the "
        "base state. Pass --base REF (e.g. --base origin/main) or set 'base:' in "
        ".migration-ci.yml.\n"
    )


def test_report_document_has_every_part(example: Path) -> None:
    code, out = run("report", "--settings", SETTINGS, "--base", "main")
    doc = json.loads(out)
    assert code == 1  # the conflict
    assert doc["version"] == 1
    assert doc["base"]["ref"] == "main"
    [conflict] = doc["check"]["conflicts"]
    assert conflict["merge_file"]["path"] == (
        "shop/migrations/0008_merge_0007_add_sku_0007_price_index.py"
    )
    assert "('shop', '0007_add_sku')" in conflict["merge_file"]["content"]
    assert doc["verify"]["ok"] is True
    assert [e["name"] for e in doc["plan"]["entries"]] == [
        "0007_add_sku", "0008_merge_0007_add_sku_0007_price_index"
    ]


@pytest.mark.parametrize("engine", [p for p in engine_params() if p.id != "sqlite"])
def test_verify_on_a_server_drops_its_database(example: Path, engine: Engine) -> None:
    assert engine.url is not None
    before = engine.database_names()
    code, out = run(
        "verify", "--settings", SETTINGS, "--base", "main", "--database-url", engine.url
    )
    assert code == 0, out
    assert f"Ran on a throwaway {engine.vendor} " in out
    # Scratch databases of the plan tests running beside this one (pytest -n) are not ours.
    after = {n for n in engine.database_names() if not n.startswith("migration_ci_plan_")}
    assert after == {n for n in before if not n.startswith("migration_ci_plan_")}


def test_both_engines_agree_on_the_merge_with_the_base(example: Path) -> None:
    static_code, static_out = run("check", "--base", "main", "--format", "json")
    # The Django-loaded engine sets Django up in its process: keep it out of pytest's.
    proc = subprocess.run(
        [sys.executable, "-m", "migration_ci", "check", "--base", "main", "--format", "json",
         "--settings", SETTINGS],
        cwd=example, capture_output=True, text=True, check=False,
    )
    static, loaded = json.loads(static_out), json.loads(proc.stdout)
    assert (static_code, proc.returncode) == (1, 1), proc.stderr
    assert (static.pop("engine"), loaded.pop("engine")) == ("static", "django")
    # Django's loader also sees django.contrib's apps; the project's apps agree exactly.
    assert {a: loaded["leaves"][a] for a in static["leaves"]} == static["leaves"]
    del static["leaves"], loaded["leaves"], static["migration_count"], loaded["migration_count"]
    assert loaded == static


def test_verify_cache_flags(example: Path, tmp_path: Path) -> None:
    cache = tmp_path / "snapshots"
    args = ("verify", "--settings", SETTINGS, "--base", "main", "--format", "json")

    def snapshot(*extra: str) -> dict[str, object]:
        code, out = run(*args, *extra)
        assert code == 0, out
        data = json.loads(out)
        assert data["ok"] is True
        return dict(data["snapshot"])

    cold = snapshot("--cache", str(cache))
    assert cold["used"] is False
    assert str(cold["note"]).endswith("built the base state from zero and saved a snapshot")
    assert [p.suffix for p in cache.iterdir()] == [".snapshot"]
    warm = snapshot("--cache", str(cache))
    assert (warm["used"], warm["note"], warm["key"]) == (True, "restored from cache", cold["key"])
    full = snapshot("--cache", str(cache), "--full")
    assert full["used"] is False
    assert str(full["note"]).startswith("--full: the cache was not read")
    off = snapshot("--no-cache")  # with --cache too: a usage error (tests/test_readme.py)
    assert off == {"used": False, "key": None, "note": (
        "no snapshot cache (--cache DIR not given, or --no-cache); verified from zero"
    ), "chained_from": None}


def test_head_ref_is_what_verify_plan_and_the_django_engine_read(example: Path) -> None:
    """From a checkout of main, --head feature judges feature's files, not the working tree."""
    from migration_ci.repository import git

    git.switch(example, "main")
    before = listing(example)
    code, out = run("verify", "--settings", SETTINGS, "--head", "feature", "--format", "json")
    shop = [m["name"] for m in json.loads(out)["migrations"] if m["app_label"] == "shop"]
    assert (code, shop[-1]) == (0, "0007_add_sku")
    code, out = run(
        "plan", "--settings", SETTINGS, "--head", "feature", "--base", "main", "--format", "json"
    )
    assert code == 0
    assert [e["name"] for e in json.loads(out)["entries"]] == [
        "0007_add_sku", "0008_merge_0007_add_sku_0007_price_index"
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "migration_ci", "check", "--settings", SETTINGS, "--head",
         "feature", "--base", "main", "--format", "json"],
        cwd=example, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["leaves"]["shop"] == ["0007_add_sku", "0007_price_index"]
    assert listing(example) == before


def test_files_git_cannot_merge_are_named(example: Path) -> None:
    from migration_ci.repository import git

    models = example / "shop/models.py"
    models.write_text(
        models.read_text(encoding="utf-8").replace("decimal_places=2)", "decimal_places=3)"),
        encoding="utf-8",
    )
    git.commit_all(example, "feature edits the line main edits too")
    code, out = run("verify", "--settings", SETTINGS, "--base", "main", "--skip-missing-changes")
    assert code == 0, out
    assert (
        "Changed on both sides, and git cannot merge them: shop/models.py; this branch's "
        "version was verified. Merge the base to see the real result.\n"
    ) in out
    code, out = run("verify", "--settings", SETTINGS, "--base", "main", "--format", "json",
                    "--skip-missing-changes")
    assert json.loads(out)["text_conflicts"] == ["shop/models.py"]


def test_one_off_default_fills_rows_and_then_leaves_the_column_without_it(example: Path) -> None:
    """makemigrations' one-off default (preserve_default=False) fills the existing rows, then
    Django drops it: not a failing migration, but old code's inserts fail during the deploy."""
    (example / "shop/migrations/0008_code.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('shop', '0007_add_sku')]\n"
        "    operations = [\n"
        "        migrations.AddField('product', 'code', models.CharField(max_length=13, "
        "default='x'), preserve_default=False),\n"
        "        migrations.AddField('product', 'ean', models.CharField(max_length=13)),\n"
        "    ]\n",
        encoding="utf-8",
    )
    code, out = run("plan", "--settings", SETTINGS, "--base", "main", "--format", "json")
    assert code == 0, out
    [entry] = [e for e in json.loads(out)["entries"] if e["name"] == "0008_code"]
    risks = [(op["description"], (op["risk"] or {}).get("rule")) for op in entry["operations"]]
    assert risks == [
        ("Add field code to product", "add-field-default-dropped"),
        ("Add field ean to product", "add-field-not-null-no-default"),
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "x = 1\n",
            "migration-ci: shop/migrations/0008_broken.py: Migration 0008_broken in app shop has "
            "no Migration class. A migration module must define "
            "'class Migration(migrations.Migration)'.\n",
            id="no Migration class",
        ),
        pytest.param(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0007_nope')]\n",
            "migration-ci: shop/migrations/0008_broken.py: Migration shop.0008_broken "
            "dependencies reference nonexistent parent node ('shop', '0007_nope'). Fix the "
            "dependency or restore the file.\n",
            id="missing dependency",
        ),
    ],
)
def test_django_engine_bad_input_names_the_file(example: Path, source: str, message: str) -> None:
    (example / "shop/migrations/0008_broken.py").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "migration_ci", "check", "--settings", SETTINGS],
        cwd=example, capture_output=True, text=True, check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message)


def test_head_ref_with_the_snapshot_cache(example: Path, tmp_path: Path) -> None:
    from migration_ci.repository import git

    git.switch(example, "main")
    args = ("verify", "--settings", SETTINGS, "--head", "feature", "--base", "main",
            "--cache", str(tmp_path / "snapshots"), "--format", "json")
    notes = []
    for _ in range(2):
        code, out = run(*args)
        assert code == 0, out
        notes.append(json.loads(out)["snapshot"]["used"])
    assert notes == [False, True]


def test_plan_markdown_renders_like_the_comment_with_the_merge_migration_note(
    example: Path,
) -> None:
    code, out = run("plan", "--settings", SETTINGS, "--base", "main", "--format", "markdown")
    assert code == 0, out
    merge = "shop/migrations/0008_merge_0007_add_sku_0007_price_index.py"
    assert out.startswith(
        "### Migration plan on `sqlite`\n\n"
        f"Planned with the merge migration this branch still needs (`{merge}`).\n\n"
        "```diff\n"
        "+ shop.0007_add_sku\n"
        "+     Add field sku to product  [low risk: new-nullable-field]\n"
        "+ shop.0008_merge_0007_add_sku_0007_price_index\n"
        "```\n\n"
        "<details><summary>SQL for <code>shop.0007_add_sku</code></summary>\n\n"
        "```sql\nBEGIN;\n"
    )
