"""python/action.yml end to end: its steps run as the runner runs them (tests/support/composite.py)
in a fresh virtualenv that stands for the job's own Python, against a pull request checkout,
tests/fake_github.py as the API and, for verify, the PostgreSQL server on localhost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django
import pytest

from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.composite import CompositeRun, Step
from tests.support.gitrepo import isolated_env
from tests.test_action_e2e import Checkout, make_example_checkout, pull_event
from tests.test_action_metadata import build_context

pytestmark = pytest.mark.slow
MARK = marker(".")


@dataclass
class Job:
    """A job after actions/setup-python, the project's install step and the action's own
    install step: ``env`` puts the job's Python first on PATH."""

    action_dir: Path
    env: dict[str, str]
    python: Path


def job_env(python_bin: Path, runner: Path) -> dict[str, str]:
    env = {k: v for k, v in isolated_env().items()
           if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{python_bin}:/usr/bin:/bin", RUNNER_TEMP=str(runner / "temp"))
    return env


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    runner = tmp_path_factory.mktemp("runner")
    # The runner downloads the action's repository and runs python/action.yml from it.
    checkout = runner / "_actions" / "django-migration-ci" / "django-migration-ci" / "v1"
    build_context(checkout)
    venv = runner / "job-python"  # what actions/setup-python provides
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = job_env(venv / "bin", runner)
    project_install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                       "--disable-pip-version-check", f"Django=={django.get_version()}",
                       "psycopg[binary]"]
    done = subprocess.run(project_install, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    action = CompositeRun(checkout / "python", env, github(runner))
    installed = action.run_steps(until="run", tmp=runner / "install")
    assert installed.code == 0, installed.stdout + installed.stderr
    return Job(checkout / "python", env, venv / "bin" / "python")


def github(workspace: Path) -> dict[str, str]:
    return {"token": "ghs_app", "workspace": str(workspace)}


def run_action(job: Job, tmp_path: Path, checkout: Checkout, fake: FakeGitHub,
               event: dict[str, Any], **given: str) -> tuple[Step, dict[str, str], str]:
    """The workflow step ``uses: …/python@v1`` with ``given`` as its ``with:``."""
    event_path, summary = tmp_path / "event.json", tmp_path / "summary"
    event_path.write_text(json.dumps(event))
    summary.write_text("")
    env = {**job.env,
           "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REPOSITORY": "acme/shop",
           "GITHUB_WORKSPACE": str(checkout.workspace), "GITHUB_SHA": checkout.merge_sha,
           "GITHUB_API_URL": fake.base_url, "GITHUB_SERVER_URL": "https://github.test",
           "GITHUB_RUN_ID": "77", "GITHUB_STEP_SUMMARY": str(summary)}
    action = CompositeRun(job.action_dir, env, github(checkout.workspace), given)
    step = action.run_steps(start="run", tmp=tmp_path / "steps")
    return step, action.outputs(), summary.read_text()


def test_the_installed_package_runs_beside_the_projects_own_django(job: Job,
                                                                  tmp_path: Path) -> None:
    probe = "import django, migration_ci; print(django.get_version()); print(migration_ci.__file__)"
    done = subprocess.run([str(job.python), "-c", probe], cwd=tmp_path, env=job.env,
                          capture_output=True, text=True, check=True)
    version, package = done.stdout.split()
    assert version == django.get_version()  # the project's pin was not upgraded
    assert "site-packages" in Path(package).parts
    copied = Path(job.env["RUNNER_TEMP"]) / "django-migration-ci"
    assert sorted(p.name for p in copied.iterdir()) == ["entrypoint.py"]


def test_conflict_on_a_merge_checkout_posts_one_comment_and_sets_the_outputs(
    job: Job, tmp_path: Path, fake: FakeGitHub, checkout: Checkout
) -> None:
    step, outputs, summary = run_action(job, tmp_path, checkout, fake, pull_event(checkout))
    assert step.code == 1, step.stdout + step.stderr
    [posted] = fake.comments[5]
    assert posted["body"].startswith(MARK)
    assert "- `0002_add_sku` from this pull request" in posted["body"]
    assert "- `0002_price_index` from the base branch" in posted["body"]
    assert outputs == {
        "conflicts": "1", "conflicted-apps": "shop",
        "merge-migrations": "shop/migrations/0003_merge_0002_add_sku_0002_price_index.py",
        "plan-changed": "false", "comment-url": posted["html_url"],
        "risks": '{"high": 0, "medium": 0, "low": 0, "accepted": 0}',
    }
    assert "## Django migrations: conflicting migrations in 1 app" in summary


def test_every_input_reaches_the_entry_point(job: Job, tmp_path: Path, fake: FakeGitHub,
                                            checkout: Checkout) -> None:
    step, outputs, _ = run_action(job, tmp_path, checkout, fake, pull_event(checkout),
                                  **{"fix": "off", "comment": "false",
                                     "fail-on-conflict": "false"})
    assert step.code == 0, step.stdout + step.stderr
    assert [r for r in fake.requests if "/issues/" in r.path or r.path.endswith("/user")] == []
    assert fake.latest_status(checkout.head_sha)["state"] == "failure"  # not a comment input
    assert outputs["conflicts"] == "1"


def test_bad_input_names_the_input(job: Job, tmp_path: Path, fake: FakeGitHub,
                                   checkout: Checkout) -> None:
    step, outputs, _ = run_action(job, tmp_path, checkout, fake, pull_event(checkout),
                                  fix="push")
    assert step.code == 2
    assert step.stdout == ("::error title=django-migration-ci::Input 'fix' is 'push', which is "
                           "not allowed. Use one of: suggest, commit, off.\n")
    assert set(outputs.values()) == {""}


def test_verify_reaches_the_postgresql_service_on_localhost(
    job: Job, tmp_path: Path, fake: FakeGitHub
) -> None:
    """The project's own driver (psycopg) and the runner's pg_dump serve verify and snapshots."""
    server = os.environ.get("MIGRATION_CI_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("MIGRATION_CI_TEST_POSTGRES_URL is not set")
    url = urlsplit(server)
    local = url._replace(netloc=url.netloc.replace(url.hostname or "", "localhost")).geturl()
    checkout = make_example_checkout(tmp_path)
    fake.add_pull(5, head_sha=checkout.head_sha, base_sha=checkout.base_sha)
    step, outputs, summary = run_action(job, tmp_path, checkout, fake, pull_event(checkout),
                                        **{"settings-module": "bookshop.settings",
                                           "database-url": local})
    assert step.code == 1, step.stdout + step.stderr
    [posted] = fake.comments[5]
    assert "### Verify on a fresh database: ✅ passed" in posted["body"]
    assert "Database `postgresql " in posted["body"]
    assert "Base state built from zero: `no snapshot for key " in summary
    snapshots = checkout.workspace / ".migration-ci-cache"
    assert [p.suffix for p in snapshots.iterdir() if p.is_file()] == [".snapshot"]
    assert outputs["plan-changed"] == "true"


def test_without_a_python_the_install_step_says_what_to_do(tmp_path: Path) -> None:
    from tests.test_action_metadata import ROOT

    env = job_env(tmp_path / "empty", tmp_path)
    action = CompositeRun(ROOT / "python", env, github(tmp_path))
    step = action.run_steps(until="run", tmp=tmp_path / "steps")
    assert step.code == 2
    assert step.stdout == (
        "::error title=django-migration-ci::'python -m pip' does not run (python: not on "
        "PATH). Run actions/setup-python and the project's install step before this action; a "
        "virtualenv made by uv needs 'uv venv --seed'.\n")
