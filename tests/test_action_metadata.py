"""Both actions' metadata (action.yml, python/action.yml), the Dockerfile, the example workflows
and the README agree with the code and with each other."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_ci.activities.action import outputs
from migration_ci.github.inputs import INPUT_DEFAULTS, Inputs
from tests.support import sample_report
from tests.support.pythons import find_python

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / "docs" / "workflows").glob("*.yml"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
PYTHON_ACTION = yaml.safe_load((ROOT / "python" / "action.yml").read_text())
# A valid value that differs from each input's default: proves the code reads the input.
OTHER_VALUE = {
    "github-token": "ghs_other", "working-directory": "backend",
    "settings-module": "mysite.settings", "base-ref": "develop",
    "database-url": "postgres://postgres@postgres/db", "install-command": "pip install -e .",
    "fix": "commit", "strategy": "rebase", "verify": "false", "comment": "false",
    "fail-on-conflict": "false", "cache": "false", "fail-on-risk": "high",
    "recheck-pull-requests": "false", "recheck-limit": "10",
}


def readme_table(heading: str) -> list[str]:
    """The first-column names of the table under ``### heading`` in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition(f"\n### {heading}\n")[2].partition("\n#")[0]
    return re.findall(r"^\| `([\w-]+)` \|", section, re.M)


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema,
                           *map(str, paths)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("path", ["action.yml", "python/action.yml"])
def test_action_yml_matches_the_github_actions_schema(path: str) -> None:
    proc = check_jsonschema("vendor.github-actions", ROOT / path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_example_workflows_match_the_github_workflows_schema() -> None:
    assert [p.name for p in WORKFLOWS] == [
        "migrations-check.yml", "migrations-comment.yml", "migrations-fix-commit.yml",
        "migrations-python.yml", "migrations-sarif.yml", "migrations.yml"]
    proc = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_inputs_are_the_ones_the_code_reads() -> None:
    assert list(ACTION["inputs"]) == list(INPUT_DEFAULTS)
    for name, spec in ACTION["inputs"].items():
        expected = "${{ github.token }}" if name == "github-token" else INPUT_DEFAULTS[name]
        assert str(spec["default"]) == expected, name


def test_both_actions_declare_the_same_inputs_and_outputs() -> None:
    def declared(action: dict[str, Any]) -> tuple[Any, ...]:
        inputs = [(name, spec["required"], str(spec["default"]))
                  for name, spec in action["inputs"].items()]
        return inputs, list(action["outputs"])

    assert declared(PYTHON_ACTION) == declared(ACTION)


def test_the_python_action_passes_every_input_and_output_through() -> None:
    """Composite actions get no INPUT_* variables: the run step passes each input as the
    runner passes it to the Docker action, and each output is that step's."""
    [run] = [step for step in PYTHON_ACTION["runs"]["steps"] if step.get("id") == "run"]
    assert run["env"] == {f"INPUT_{name.upper()}": f"${{{{ inputs.{name} }}}}"
                          for name in PYTHON_ACTION["inputs"]}
    assert run["run"] == 'python "$RUNNER_TEMP/django-migration-ci/entrypoint.py"'
    assert {name: spec["value"] for name, spec in PYTHON_ACTION["outputs"].items()} == {
        name: f"${{{{ steps.run.outputs.{name} }}}}" for name in PYTHON_ACTION["outputs"]}
    assert PYTHON_ACTION["runs"]["steps"][-1] is run


@pytest.mark.parametrize("name", list(INPUT_DEFAULTS))
def test_every_input_changes_what_the_code_does(name: str) -> None:
    assert Inputs.from_environ({f"INPUT_{name.upper()}": OTHER_VALUE[name]}) != Inputs()


def test_action_outputs_are_the_ones_the_code_sets() -> None:
    assert list(ACTION["outputs"]) == list(outputs(sample_report.conflicted(), ""))


def test_readme_documents_every_input_and_output_and_nothing_else() -> None:
    assert readme_table("Inputs") == list(ACTION["inputs"])
    assert readme_table("Outputs") == list(ACTION["outputs"])


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_readme_shows_each_example_workflow_verbatim(workflow: Path) -> None:
    assert workflow.read_text() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_dockerfile_passes_hadolint() -> None:
    proc = subprocess.run([str(BIN / "hadolint"), str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_rules() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12\.\d+-slim-trixie(@sha256:[0-9a-f]{64})?$", text, re.M)
    assert not re.search(r"^USER\b", text, re.M)
    assert "git config --system --add safe.directory '*'" in text
    assert dockerfile_steps() == (
        ["COPY . /src",
         'RUN pip install --no-cache-dir "/src[postgres,mysql]" && rm -rf /src',
         "COPY entrypoint.py /action/entrypoint.py"],
        ["python", "/action/entrypoint.py"])


def dockerfile_steps() -> tuple[list[str], list[str]]:
    """The Dockerfile's steps from the package's COPY on, and its ENTRYPOINT."""
    text = (ROOT / "Dockerfile").read_text()
    steps = re.findall(r"^((?:COPY|RUN pip) .*)$", text, re.M)
    entrypoint = re.search(r"^ENTRYPOINT (.*)$", text, re.M)
    assert entrypoint
    return steps, json.loads(entrypoint[1])


def build_context(target: Path) -> None:
    """What GitHub sends the image build: the Action's repository as checked out."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


def moved(text: str, root: Path) -> str:
    return text.replace("/src", f"{root}/src").replace("/action", f"{root}/action")


@pytest.mark.slow
@pytest.mark.index
def test_package_installs_as_the_dockerfile_does_and_the_entrypoint_runs(tmp_path: Path) -> None:
    """The Dockerfile's own steps, with / moved to tmp_path, on the image's Python version: the
    source is gone by the time the entrypoint runs, so it can only work through the installed
    package. Needs the package index: pip installs the package's dependencies."""
    version = re.search(r"^FROM python:(3\.\d+)\.", (ROOT / "Dockerfile").read_text(), re.M)
    assert version
    image_python = find_python(version[1])
    if image_python is None:
        pytest.skip(f"Python {version[1]}, the image's, is not installed: put "
                    f"python{version[1]} on PATH or run: pyenv install {version[1]}")
    venv = tmp_path / "venv"
    subprocess.run([str(image_python), "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    steps, entrypoint = dockerfile_steps()
    for step in steps:
        instruction, _, rest = step.partition(" ")
        rest = moved(rest, tmp_path)
        if instruction == "COPY" and rest.startswith(". "):
            build_context(Path(rest.split()[1]))
        elif instruction == "COPY":
            source, target = rest.split()
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, target)
        else:
            done = subprocess.run(rest, shell=True, cwd=tmp_path, env=env, capture_output=True,
                                  text=True, check=False, timeout=900)
            assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "src").exists()
    assert sorted(p.name for p in (tmp_path / "action").iterdir()) == ["entrypoint.py"]
    summary = tmp_path / "summary"
    env.update({"INPUT_FIX": "sideways", "GITHUB_STEP_SUMMARY": str(summary)})
    command = [str(python), moved(entrypoint[1], tmp_path)]
    proc = subprocess.run(command, cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ("::error title=django-migration-ci::Input 'fix' is 'sideways', which "
                           "is not allowed. Use one of: suggest, commit, off.\n")
    check = subprocess.run([str(python), "-c", "import MySQLdb, psycopg, github, migration_ci, "
                            "django; print(django.get_version())"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("6.1."), "the image installs the newest supported Django"
