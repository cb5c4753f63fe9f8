"""The architecture holds: import contracts, the package tree, and the process boundary.

README: "Architecture". The contracts live in pyproject.toml and are checked by import-linter;
the boundary they cannot see (the user's project is imported only by the worker process) is
checked here by running the Django-loading commands in this process and looking at what it
imported.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from pathlib import Path

import pytest

from migration_ci.cli.demo import build_example_repo
from migration_ci.cli.main import main
from tests.support.gitrepo import isolated_env

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "migration_ci"


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_the_top_of_the_package_holds_a_few_shared_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "atomic.py", "cachedir.py", "config.py",
                       "errors.py", "parsecache.py"]


@pytest.mark.parametrize("package", sorted(
    p.parent.name for p in PACKAGE.glob("*/__init__.py") if p.parent.name != "example"
))
def test_each_subpackage_says_in_one_line_what_it_owns(package: str) -> None:
    text = (PACKAGE / package / "__init__.py").read_text(encoding="utf-8")
    module = ast.parse(text)
    assert len(module.body) == 1 and ast.get_docstring(module), text
    assert text.count("\n") == 1 and len(text) <= 101, text


def test_the_action_entry_point_only_wires_the_glue() -> None:
    tree = ast.parse((REPO_ROOT / "entrypoint.py").read_text(encoding="utf-8"))
    ours = sorted({
        node.module.split(".")[1] for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        and node.module.startswith("migration_ci.")
    })
    assert ours == ["activities", "cli", "errors", "github"]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in isolated_env().items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    root = build_example_repo(tmp_path / "example")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("argv", [
    pytest.param(["check", "--engine", "django", "--base", "main"], id="Django engine"),
    pytest.param(["verify", "--base", "main"], id="verify"),
    pytest.param(["plan", "--base", "main"], id="plan"),
])
def test_the_tool_process_never_imports_the_users_project(example: Path, argv: list[str]) -> None:
    """The example project is ``bookshop`` (settings) with the app ``shop``."""
    project_modules = ("bookshop", "shop")
    assert not [m for m in sys.modules if m.split(".")[0] in project_modules]
    code = main([*argv, "--settings", "bookshop.settings"], stdout=io.StringIO())
    assert code in (0, 1)
    assert not [m for m in sys.modules if m.split(".")[0] in project_modules]
