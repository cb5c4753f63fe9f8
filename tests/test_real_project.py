"""The command line on a project built like the real ones (``tests/support/realproject``).

Settings completed by a git-ignored file (loaded with ``--head`` too), settings that cannot be
imported (what is missing, and where it belongs), an optional plugin app whose migrations are
in the repository but which is not installed, an app excluded in the config.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from migration_ci.cli.main import main
from tests.support.djangoproj import Engine
from tests.support.gitrepo import GitRepo, isolated_env, migration
from tests.support.realproject import (
    BASE_LEAF,
    BRANCH_LEAF,
    CONFIGURATION,
    PLUGIN,
    SETTINGS_MODULE,
    TEMPLATE,
    History,
    build_history,
)

pytestmark = pytest.mark.slow
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.sqlite3"}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env().items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)


def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: dict[str, object],
         ) -> tuple[GitRepo, History]:
    """The project at ``main`` (the base), as a CI checkout has it before its own steps."""
    repo = GitRepo(tmp_path / "shop")
    history = build_history(repo, database)
    monkeypatch.chdir(repo.root)
    return repo, history


def complete_settings(repo: GitRepo) -> None:
    """The CI step: cp mysite/configuration_testing.py mysite/configuration.py."""
    shutil.copy(repo.root / TEMPLATE, repo.root / CONFIGURATION)


def test_a_head_export_loads_with_the_untracked_settings_file_and_no_stray_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None
) -> None:
    repo, history = shop(tmp_path, monkeypatch, SQLITE)
    complete_settings(repo)
    # An untracked migration in the working tree is not part of the commit judged.
    repo.write("catalog/migrations/0009_stray.py", migration([("catalog", BASE_LEAF)]))
    code, out = run("check", "--settings", SETTINGS_MODULE, "--base", "main",
                    "--head", history.head)
    assert code == 1, out
    assert out.startswith(
        f"Conflicting migrations in app 'catalog': {BASE_LEAF} (main), "
        f"{BRANCH_LEAF} (this branch).\n"
    )
    assert "0009_stray" not in out


def test_settings_without_their_ci_file_name_the_module_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, history = shop(tmp_path, monkeypatch, SQLITE)
    code, out = run("check", "--settings", SETTINGS_MODULE, "--base", "main",
                    "--head", history.head)
    assert (code, out) == (2, "")
    assert capsys.readouterr().err == (
        "migration-ci: Cannot load settings 'mysite.settings': they import "
        "'mysite.configuration', and there is no mysite/configuration.py in the project folder "
        f"'{repo.root}'. If CI writes that file (say, cp mysite/configuration_testing.py "
        "mysite/configuration.py in the project folder), do it in a step before migration-ci "
        "runs (before the Action, or in its install-command): the files of the project folder "
        "that git does not track are loaded with the project.\n"
    )


def test_settings_that_need_a_package_say_to_install_the_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _ = shop(tmp_path, monkeypatch, SQLITE)
    complete_settings(repo)
    settings = repo.root / "mysite/settings.py"
    settings.write_text("import environ_not_installed\n" + settings.read_text(encoding="utf-8"),
                        encoding="utf-8")
    assert run("verify", "--settings", SETTINGS_MODULE) == (2, "")
    assert capsys.readouterr().err == (
        "migration-ci: Cannot load settings 'mysite.settings': they import "
        "'environ_not_installed', which is not installed. Install the project's requirements "
        "before migration-ci runs (the Action's install-command, e.g. pip install -r "
        "requirements.txt).\n"
    )


def test_settings_that_raise_say_to_provide_what_they_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _ = shop(tmp_path, monkeypatch, SQLITE)
    complete_settings(repo)
    settings = repo.root / "mysite/settings.py"
    settings.write_text(settings.read_text(encoding="utf-8")
                        + "import os\nSECRET = os.environ['SHOP_SECRET_NOT_SET']\n",
                        encoding="utf-8")
    assert run("plan", "--settings", SETTINGS_MODULE, "--base", "main") == (2, "")
    assert capsys.readouterr().err == (
        f"migration-ci: Cannot load settings 'mysite.settings' from '{repo.root}': KeyError: "
        "'SHOP_SECRET_NOT_SET'. Provide what the settings read (environment variables, files) "
        "before migration-ci runs, as CI does before manage.py.\n"
    )


def branch_touches_the_plugin(repo: GitRepo) -> str:
    """A branch off main that adds a migration to the plugin that is not installed."""
    repo.branch("plugin-work", "main")
    repo.write(f"{PLUGIN}/migrations/0003_points_note.py", migration(
        [(PLUGIN, "0002_points_expires")],
        "        migrations.AddField('points', 'note', models.TextField(null=True)),\n"))
    repo.write(f"{PLUGIN}/models.py", (repo.root / f"{PLUGIN}/models.py").read_text(
        encoding="utf-8") + "    note = models.TextField(null=True)\n")
    return repo.commit("Loyalty points get a note")


def test_apps_that_are_not_installed_or_are_excluded_are_not_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None
) -> None:
    """The base and the branch are judged on the same apps: the plugin's migrations are in both
    trees but Django loads them in neither, and an excluded app is left out of both."""
    repo, _ = shop(tmp_path, monkeypatch, SQLITE)
    complete_settings(repo)
    branch_touches_the_plugin(repo)
    code, out = run("plan", "--settings", SETTINGS_MODULE, "--base", "main")
    assert (code, out) == (0, "Planned operations on sqlite:\n  No planned migration operations.\n")
    code, out = run("verify", "--settings", SETTINGS_MODULE, "--base", "main")
    assert code == 0, out
    assert out.endswith("Verify: OK.\n")
    repo.write(".migration-ci.yml", "exclude: ['orders/*']\n")
    code, out = run("plan", "--settings", SETTINGS_MODULE, "--base", "main")
    assert (code, out) == (0, "Planned operations on sqlite:\n  No planned migration operations.\n")


@pytest.mark.postgres
def test_the_projects_own_postgresql_server_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None
) -> None:
    """No --database-url: verify and plan use the server of DATABASES['default'], as Django's
    test runner does, so the ArrayField's SQL is PostgreSQL's."""
    url = os.environ.get("MIGRATION_CI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MIGRATION_CI_TEST_POSTGRES_URL is not set")
    repo, _ = shop(tmp_path, monkeypatch, Engine("postgresql", url).settings("shop_prod"))
    complete_settings(repo)
    repo.checkout("feature")
    code, out = run("verify", "--settings", SETTINGS_MODULE, "--base", "main")
    assert code == 0, out
    assert "Ran on a throwaway postgresql " in out
    code, out = run("plan", "--settings", SETTINGS_MODULE, "--base", "main", "--sql")
    assert code == 0, out
    assert out.startswith("Conflicting leaves: planned with the merge migration")
    assert "Planned operations on postgresql:\n" in out
    assert '    | ALTER TABLE "catalog_product" ADD COLUMN "tags" varchar(20)[] DEFAULT \'{}\' ' \
           "NOT NULL;\n" in out
