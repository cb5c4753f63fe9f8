"""A composite action's steps, run the way the GitHub Actions runner runs them.

For each step the runner evaluates the ``${{ }}`` expressions (the ``inputs``, ``github`` and
``steps`` contexts), sets the step's ``env`` over the job's environment, gives the step a fresh
``GITHUB_OUTPUT`` file, sets ``GITHUB_ACTION_PATH`` to the action's folder, and runs ``run:``
as a script with ``bash --noprofile --norc -eo pipefail {0}`` (``shell: bash``,
https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell).
A composite action gets no ``INPUT_*`` variables: only what its steps pass on. Its outputs are
its ``outputs.*.value`` expressions, evaluated once the steps ran.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.test_action_e2e import parse_outputs

EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


@dataclass
class Step:
    """What one step did."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class CompositeRun:
    """A composite action in one job: its inputs, and the steps run so far."""

    action_dir: Path
    job_env: dict[str, str]
    github: dict[str, str]
    given: Mapping[str, str] = field(default_factory=dict)  # the workflow's `with:`
    steps: dict[str, Step] = field(default_factory=dict)

    @property
    def metadata(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((self.action_dir / "action.yml").read_text())
        return loaded

    def inputs(self) -> dict[str, str]:
        """The ``with:`` values, and each other input's default, evaluated."""
        declared = self.metadata["inputs"]
        assert set(self.given) <= set(declared), set(self.given) - set(declared)
        return {name: self.given[name] if name in self.given
                else self.evaluate(str(spec.get("default", ""))) for name, spec in declared.items()}

    def evaluate(self, text: str) -> str:
        """Replace each ``${{ context.path }}``; a step output never set is empty, as on GitHub."""
        return EXPRESSION.sub(lambda found: self._lookup(found[1]), text)

    def _lookup(self, path: str) -> str:
        context, _, rest = path.partition(".")
        if context == "inputs":
            return self.inputs()[rest]
        if context == "github":
            return self.github[rest]
        if context == "steps":
            step_id, kind, name = rest.split(".", 2)
            assert kind == "outputs", path
            step = self.steps.get(step_id)
            return step.outputs.get(name, "") if step else ""
        raise AssertionError(f"the test runner does not know ${{{{ {path} }}}}")

    def run_steps(self, *, until: str | None = None, start: str | None = None,
                  tmp: Path) -> Step:
        """Run the steps from the one with id ``start`` (default: the first) up to, not
        including, the one with id ``until``; stop at the first that fails, as the runner does."""
        steps: list[dict[str, Any]] = self.metadata["runs"]["steps"]
        ids = [step.get("id") for step in steps]
        first = ids.index(start) if start else 0
        last = ids.index(until) if until else len(steps)
        result = Step(0, "", "", {})
        for number, step in enumerate(steps[first:last], start=first):
            result = self.run_step(step, tmp / f"step{number}")
            if step.get("id"):
                self.steps[step["id"]] = result
            if result.code != 0:
                break
        return result

    def run_step(self, step: Mapping[str, Any], folder: Path) -> Step:
        assert step["shell"] == "bash", step
        folder.mkdir(parents=True)
        script, output = folder / "script.sh", folder / "output"
        script.write_text(self.evaluate(step["run"]))
        output.write_text("")
        env = {**self.job_env, "GITHUB_ACTION_PATH": str(self.action_dir),
               "GITHUB_OUTPUT": str(output)}
        env.update({name: self.evaluate(str(value)) for name, value in step.get("env", {}).items()})
        cwd = self.evaluate(step.get("working-directory", self.github["workspace"]))
        proc = subprocess.run([*BASH, str(script)], cwd=cwd, env=env, capture_output=True,
                              text=True, check=False, timeout=900)
        return Step(proc.returncode, proc.stdout, proc.stderr, parse_outputs(output.read_text()))

    def outputs(self) -> dict[str, str]:
        return {name: self.evaluate(spec["value"])
                for name, spec in self.metadata["outputs"].items()}

