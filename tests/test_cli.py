"""The command line end to end, on real git repositories."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from migration_ci.cli.main import main
from tests.support.gitrepo import GitRepo, isolated_env, migration

ADD_SKU = (
    "        migrations.AddField(\n"
    "            model_name='product',\n"
    "            name='sku',\n"
    "            field=models.CharField(max_length=32, null=True),\n"
    "        ),\n"
)
ADD_COLOUR = (
    "        migrations.AddField(\n"
    "            model_name='product',\n"
    "            name='colour',\n"
    "            field=models.CharField(max_length=32, null=True),\n"
    "        ),\n"
)


def run(root: Path, *argv: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(root)
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue()


def shop_history(repo: GitRepo) -> None:
    repo.write("shop/__init__.py", "")
    repo.write("shop/migrations/__init__.py", "")
    repo.write("shop/migrations/0001_initial.py", migration())
    repo.write("shop/migrations/0002_product.py", migration([("shop", "0001_initial")]))
    repo.commit("common history")


def forked(repo: GitRepo) -> None:
    """main and feature both add a 0003 after 0002_product; feature is checked out.

    0001 - 0002_product -+- 0003_sku     (feature)
                         +- 0003_colour  (main)
    """
    shop_history(repo)
    repo.branch("feature")
    repo.write("shop/migrations/0003_sku.py", migration([("shop", "0002_product")], ADD_SKU))
    repo.commit("sku")
    repo.checkout("main")
    repo.write("shop/migrations/0003_colour.py", migration([("shop", "0002_product")], ADD_COLOUR))
    repo.commit("colour")
    repo.checkout("feature")


def test_clean_tree_exits_0(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    shop_history(repo)
    code, out = run(repo.root, "check", monkeypatch=monkeypatch)
    assert (code, out) == (
        0,
        "No conflicting migrations: 1 app, 2 migrations checked (static engine).\n",
    )


def test_base_conflict_reports_sides_and_branches(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    code, out = run(repo.root, "check", "--base", "main", monkeypatch=monkeypatch)
    assert code == 1
    assert out == (
        "Conflicting migrations in app 'shop': 0003_colour (main), 0003_sku (this branch).\n"
        "  shop/migrations/0003_colour.py  (main)\n"
        "  shop/migrations/0003_sku.py  (this branch)\n"
        "  Common ancestor: 0002_product\n"
        "  Branch 0003_colour\n"
        "    + Add field colour to product\n"
        "  Branch 0003_sku\n"
        "    + Add field sku to product\n"
        "  warning: both 0003_colour and 0003_sku change model product: a merge migration "
        "resolves the graph, not that clash. Check the combined schema by hand.\n"
        "  Fix: git merge main && migration-ci fix (writes "
        "shop/migrations/0004_merge_0003_colour_0003_sku.py)\n"
        "\n"
        "1 app with conflicting migrations. Run: git merge main && migration-ci fix\n"
    )


def test_without_base_the_branch_alone_is_clean(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    assert run(repo.root, "check", monkeypatch=monkeypatch)[0] == 0


def test_json_document(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    forked(repo)
    code, out = run(
        repo.root, "check", "--base", "main", "--format", "json", monkeypatch=monkeypatch
    )
    doc = json.loads(out)
    assert code == 1
    assert doc["version"] == 1
    assert doc["base"] == {"ref": "main", "sha": repo.git("rev-parse", "main")}
    assert doc["head"] == {"sha": repo.git("rev-parse", "HEAD")}
    assert doc["leaves"] == {"shop": ["0003_colour", "0003_sku"]}
    [conflict] = doc["conflicts"]
    assert conflict["app_label"] == "shop"
    assert conflict["migrations_dir"] == "shop/migrations"
    assert conflict["leaves"] == [
        {"name": "0003_colour", "path": "shop/migrations/0003_colour.py", "side": "base"},
        {"name": "0003_sku", "path": "shop/migrations/0003_sku.py", "side": "branch"},
    ]
    assert conflict["merge_name"] == "0004_merge_0003_colour_0003_sku"
    assert conflict["merge_dependencies"] == [["shop", "0003_colour"], ["shop", "0003_sku"]]
    assert conflict["branches"][1] == {
        "leaf": "0003_sku",
        "migrations": ["0003_sku"],
        "operations": [{"kind": "AddField", "description": "+ Add field sku to product"}],
    }


def test_github_annotations_point_at_leaf_files(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    code, out = run(
        repo.root, "check", "--base", "main", "--format", "github", monkeypatch=monkeypatch
    )
    assert code == 1
    title = "title=Conflicting migrations"
    message = (
        "Conflicting migrations in app 'shop': 0003_colour (main), 0003_sku (this branch). "
        "Run: git merge main && migration-ci fix"
    )
    assert out.splitlines() == [
        f"::error file=shop/migrations/0003_colour.py,line=1,{title}::{message}",
        f"::error file=shop/migrations/0003_sku.py,line=1,{title}::{message}",
        "1 app with conflicting migrations. Run: git merge main && migration-ci fix",
    ]


def test_fix_writes_the_merge_migration_then_check_is_clean(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    repo.git("merge", "-q", "--no-edit", "main")
    code, out = run(repo.root, "fix", monkeypatch=monkeypatch)
    merge_file = repo.root / "shop/migrations/0004_merge_0003_colour_0003_sku.py"
    # fix did what it was asked: exit 0, so `fix && git add ...` goes on; no hint to run fix.
    assert code == 0
    assert out.endswith(
        "  Common ancestor: 0002_product\n"
        "  Branch 0003_colour\n"
        "    + Add field colour to product\n"
        "  Branch 0003_sku\n"
        "    + Add field sku to product\n"
        "  warning: both 0003_colour and 0003_sku change model product: a merge migration "
        "resolves the graph, not that clash. Check the combined schema by hand.\n"
        "\n"
        "1 app with conflicting migrations.\n"
        "Wrote shop/migrations/0004_merge_0003_colour_0003_sku.py\n"
        "Review and commit the new files (git add them), then push.\n"
    )
    text = merge_file.read_text(encoding="utf-8")
    assert text.startswith("# Generated by Django ")
    assert "('shop', '0003_colour'),\n        ('shop', '0003_sku'),\n" in text
    assert run(repo.root, "check", monkeypatch=monkeypatch)[0] == 0
    assert run(repo.root, "fix", monkeypatch=monkeypatch)[0] == 0


def test_check_fix_flag_writes_and_fails(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    forked(repo)
    repo.git("merge", "-q", "--no-edit", "main")
    code, _ = run(repo.root, "check", "--fix", monkeypatch=monkeypatch)
    assert code == 1
    assert (repo.root / "shop/migrations/0004_merge_0003_colour_0003_sku.py").is_file()


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        pytest.param(
            lambda r: r.write("shop/migrations/0003_broken.py", "class Migration(:\n"),
            ["check"],
            "migration-ci: shop/migrations/0003_broken.py:1: syntax error",
            id="syntax error",
        ),
        pytest.param(
            lambda r: None,
            ["check", "--base", "nosuchbranch"],
            "migration-ci: Git ref 'nosuchbranch' is not in '{root}'. Check the name; "
            "git branch --all lists the branches this clone has.\n",
            id="unknown base ref",
        ),
        pytest.param(
            lambda r: r.write(".migration-ci.yml", "bsae: main\n"),
            ["check"],
            "migration-ci: .migration-ci.yml: unknown key 'bsae'.",
            id="unknown config key",
        ),
        pytest.param(
            # Python itself accepts stray bytes in comments, so the byte is in a string.
            lambda r: r.write("shop/migrations/0003_latin1.py", b"X = 'caf\xe9'\n"),
            ["check"],
            "migration-ci: shop/migrations/0003_latin1.py:1: the file is not valid UTF-8 "
            "(cannot decode byte 0xe9). Save it as UTF-8, or declare its encoding with a "
            "'# -*- coding: ... -*-' line.\n",
            id="not utf-8",
        ),
        pytest.param(
            lambda r: r.write("shop/migrations/0003_nothing.py", "x = 1\n"),
            ["check"],
            "migration-ci: shop/migrations/0003_nothing.py: no Migration class.",
            id="no Migration class",
        ),
        pytest.param(
            lambda r: r.write("shop/migrations/0003_x.py", migration([("shop", "0002_missing")])),
            ["check"],
            "migration-ci: ",
            id="missing dependency",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(
    repo: GitRepo, setup: object, argv: list[str], message: str
) -> None:
    shop_history(repo)
    setup(repo)  # type: ignore[operator]
    before = sorted(p.relative_to(repo.root) for p in repo.root.rglob("*") if ".git" not in p.parts)
    proc = subprocess.run(
        [sys.executable, "-m", "migration_ci", *argv],
        cwd=repo.root,
        env=isolated_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    after = sorted(p.relative_to(repo.root) for p in repo.root.rglob("*") if ".git" not in p.parts)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(message.format(root=repo.root))
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert before == after


def test_base_outside_git_is_bad_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "migration_ci", "check", "--base", "main"],
        cwd=tmp_path,
        env=isolated_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"migration-ci: '{tmp_path}' is not inside a git repository.")


def test_demo_runs_the_main_job_offline() -> None:
    out = io.StringIO()
    assert main(["demo"], stdout=out) == 0
    text = out.getvalue()
    assert (
        "Conflicting migrations in app 'shop': 0007_add_sku (this branch), "
        "0007_price_index (main).\n" in text
    )
    assert (
        "`migration-ci fix` would write shop/migrations/0008_merge_0007_add_sku_0007_price_index.py"
        in text
    )
    assert "        ('shop', '0007_add_sku'),\n        ('shop', '0007_price_index'),\n" in text
    assert "Verify: OK.\n" in text
    assert "+ shop.0007_add_sku\n" in text
    assert "+ contenttypes" not in text


def test_fix_refuses_while_a_leaf_is_only_on_the_base(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    forked(repo)
    code, _ = run(repo.root, "fix", "--base", "main", monkeypatch=monkeypatch)
    assert code == 2
    assert capsys.readouterr().err == (
        "migration-ci: shop.0003_colour is only on 'main', so a fix written now would depend "
        "on a file this branch does not have. Merge it into this branch first "
        "(git merge main), then run this again.\n"
    )
    assert not list((repo.root / "shop/migrations").glob("0004_*"))


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        pytest.param(
            None, ["fix", "--head", "main"],
            "migration-ci: fix writes into the working tree, so it cannot take --head 'main'. "
            "Check out 'main' first (git switch), then run migration-ci fix.\n",
            id="fix with --head",
        ),
        pytest.param(
            ("paths: [nope]\n"), ["check"],
            "migration-ci: .migration-ci.yml: 'paths' names 'nope', which is not a folder in "
            "'{root}'. Fix the path or remove it: a check of nothing would always pass.\n",
            id="paths that do not exist",
        ),
        pytest.param(
            None, ["check", "--auth-user-model", "User"],
            "migration-ci: --auth-user-model is 'User'. Use Django's 'app_label.ModelName' "
            "form, e.g. 'accounts.User'.\n",
            id="auth user model flag",
        ),
    ],
)
def test_more_bad_input(
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str | None,
    argv: list[str],
    message: str,
) -> None:
    shop_history(repo)
    if setup:
        repo.write(".migration-ci.yml", setup)
    code, out = run(repo.root, *argv, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert capsys.readouterr().err == message.format(root=repo.root)


def test_default_base_applies_only_when_no_base_is_configured(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    assert run(repo.root, "check", "--default-base", "main", monkeypatch=monkeypatch)[0] == 1
    repo.write(".migration-ci.yml", "base: feature\n")
    assert run(repo.root, "check", "--default-base", "main", monkeypatch=monkeypatch)[0] == 0


def test_fix_writes_what_it_can_and_names_what_it_cannot(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_history(repo)
    repo.write("shop/migrations/0003_a.py", migration([("shop", "0002_product")]))
    repo.write("shop/migrations/0003_b.py", migration([("shop", "0002_product")]))
    repo.write("users/__init__.py", "")
    repo.write("users/migrations/__init__.py", "")
    repo.write("users/migrations/0001_one.py", migration())
    repo.write("users/migrations/0001_two.py", migration())
    code, out = run(repo.root, "fix", monkeypatch=monkeypatch)
    assert code == 1
    assert "Wrote shop/migrations/0004_merge_0003_a_0003_b.py\n" in out
    assert (
        "Not fixed: app 'users': Migrations 0001_one and 0001_two in app 'users' share no "
        "common ancestor"
    ) in out
    assert not list((repo.root / "users/migrations").glob("0002_*"))


LONG_A = "0003_product_colour_and_size_added"
LONG_B = "0003_product_sku_and_barcode_added"


def forked_with_long_names(repo: GitRepo) -> None:
    """Leaf names whose join is over 47 characters: Django's merge name holds a timestamp."""
    shop_history(repo)
    repo.branch("feature")
    repo.write(f"shop/migrations/{LONG_B}.py", migration([("shop", "0002_product")], ADD_SKU))
    repo.commit("sku")
    repo.checkout("main")
    repo.write(f"shop/migrations/{LONG_A}.py", migration([("shop", "0002_product")], ADD_COLOUR))
    repo.commit("colour")
    repo.checkout("feature")


def test_a_timestamped_merge_name_comes_from_the_commits_and_the_hint_passes_it(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commits' time (2024-01-01 00:00 UTC in tests), not the clock: every run names the
    merge alike, and the hint's --name makes `fix` write exactly the file it names."""
    forked_with_long_names(repo)
    code, out = run(repo.root, "check", "--base", "main", monkeypatch=monkeypatch)
    assert code == 1
    hint = "git merge main && migration-ci fix shop --name merge_20240101_0000"
    assert out.endswith(
        f"  Fix: {hint} (writes shop/migrations/0004_merge_20240101_0000.py)\n\n"
        f"1 app with conflicting migrations. Run: {hint}\n"
    )
    repo.git("merge", "-q", "--no-edit", "main")
    code, out = run(repo.root, "fix", "shop", "--name", "merge_20240101_0000", "--no-header",
                    monkeypatch=monkeypatch)
    assert code == 0, out
    written = repo.root / "shop/migrations/0004_merge_20240101_0000.py"
    assert written.read_text(encoding="utf-8").startswith("from django.db import migrations\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["fix", "--name", "not-a-name"],
                     "migration-ci: --name 'not-a-name' is not a valid Python identifier. A "
                     "migration name is a module name: letters, digits and _.\n",
                     id="name that is no identifier"),
        pytest.param(["fix", "--strategy", "rebase", "--name", "merge_x"],
                     "migration-ci: --name names merge migrations; --strategy rebase writes "
                     "none. Leave out --name, or use --strategy merge.\n",
                     id="name with rebase"),
        pytest.param(["fix", "billing"],
                     "migration-ci: No app 'billing' among the migrations checked. Name apps "
                     "that have migrations: shop.\n",
                     id="unknown app"),
    ],
)
def test_fix_options_that_cannot_work(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str,
) -> None:
    forked(repo)
    repo.git("merge", "-q", "--no-edit", "main")
    assert run(repo.root, *argv, monkeypatch=monkeypatch) == (2, "")
    assert capsys.readouterr().err == message
    assert not list((repo.root / "shop/migrations").glob("0004_*"))


def test_fix_of_apps_without_a_conflict_has_nothing_to_do(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked(repo)
    repo.git("merge", "-q", "--no-edit", "main")
    assert run(repo.root, "fix", "shop", "--no-header", monkeypatch=monkeypatch)[0] == 0
    code, out = run(repo.root, "fix", "shop", monkeypatch=monkeypatch)
    assert (code, out) == (
        0, "No conflicting migrations: 1 app, 5 migrations checked (static engine).\n"
    )


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        pytest.param(["check", "--hook", "migration-conflicts"],
                     "the migration-conflicts hook with args: [--fix]", id="commit hook"),
        pytest.param(["check", "--default-base", "origin/HEAD", "--hook",
                      "migration-conflicts-base"],
                     "git merge origin/master, then the migration-conflicts-base hook with "
                     "args: [--fix]", id="pre-push hook against the default branch"),
    ],
)
def test_hooks_hint_at_their_own_fix_argument(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, argv: list[str], hint: str
) -> None:
    """A hook's user may not have migration-ci on PATH; the hook's --fix is what they have.
    The default base is the remote's default branch (here master), named as such."""
    forked(repo)
    repo.git("branch", "-m", "main", "master")
    repo.git("update-ref", "refs/remotes/origin/master", "master")
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/master")
    if "--default-base" not in argv:
        repo.git("merge", "-q", "--no-edit", "master")
    code, out = run(repo.root, *argv, monkeypatch=monkeypatch)
    assert code == 1
    assert out.endswith(f"1 app with conflicting migrations. Run: {hint}\n")


def test_a_default_branch_the_clone_does_not_know_says_how_to_set_it(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    forked(repo)
    repo.git("remote", "add", "origin", str(repo.root))
    assert run(repo.root, "check", "--default-base", "origin/HEAD",
               monkeypatch=monkeypatch) == (2, "")
    assert capsys.readouterr().err == (
        f"migration-ci: Git ref 'origin/HEAD' is not set in '{repo.root}': this clone does not "
        "know the default branch of 'origin'. Set it: git remote set-head origin --auto (or "
        "pass --base with the branch).\n"
    )
