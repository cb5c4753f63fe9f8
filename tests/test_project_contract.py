"""The README opens with the two set-up commands, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block is not None and readme.index(block.group(0)) < readme.index("\n## ")
    return block.group(1).strip().splitlines()


def test_readme_opens_with_exactly_two_commands() -> None:
    demo, tests = setup_commands()
    assert demo.endswith("migration-ci demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    test_command = setup_commands()[1].split(" && ")[-1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\n{test_command}\n" in ci
    assert 'if [ "$status" -eq 5 ]; then' in ci  # pytest collecting no test fails CI
