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
    assert f"\nrun_tests {test_command}\n" in ci
    assert 'if [ "$status" -eq 5 ]; then' in ci  # run_tests: collecting no test fails CI


def support_table() -> dict[str, list[str]]:
    """README "Supported versions": each Django with the Pythons it is supported on."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("\n## Supported versions\n")[2].partition("\n## ")[0]
    rows = re.findall(r"^\| (\d+\.\d+)(?: LTS)? \| ([^|]*) \|", section, re.M)
    return {django: re.findall(r"\b3\.\d+\b", pythons) for django, pythons in rows}


def test_support_table_pyproject_ci_and_image_agree() -> None:
    table = support_table()
    assert list(table) == ["6.1", "6.0", "5.2", "4.2"]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'"Framework :: Django :: (\d+\.\d+)"', pyproject) == sorted(table)
    pythons = sorted({p for ps in table.values() for p in ps}, key=lambda v: int(v[2:]))
    assert re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject) == pythons
    assert f'requires-python = ">={pythons[0]}"' in pyproject
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for django in table:
        major, minor = django.split(".")
        assert f"'Django>={django},<{major}.{int(minor) + 1}'" in ci, django
    image = re.search(r"^FROM python:(3\.\d+)\.", (ROOT / "Dockerfile").read_text(), re.M)
    assert image and all(image[1] in ps for ps in table.values()), "the image's Python " \
        "must install every supported Django"
