"""The Action and the plan's risks: fail-on-risk, the risks output and the annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities import action
from migration_ci.github.inputs import Inputs
from tests.support import sample_report
from tests.test_action_glue import RecordingGitHub, run


def risk(level: str, rule: str, accepted: str | None = None) -> dict[str, Any]:
    return {"level": level, "rule": rule, "reason": f"{rule} reason.", "safer": "Do x.",
            "accepted": accepted}


def with_plan(*risks: dict[str, Any], fail_on: str = "never") -> dict[str, Any]:
    report = sample_report.clean()
    report["working_directory"] = "backend"
    report["plan"] = {"vendor": "postgresql", "fail_on": fail_on, "entries": [{
        "app_label": "shop", "name": "0007_x", "status": "new",
        "path": "shop/migrations/0007_x.py",
        "operations": [{"description": f"op {i}", "line": 10 + i, "risk": r}
                       for i, r in enumerate(risks)]}]}
    return report


MEDIUM = risk("medium", "add-index")
HIGH = risk("high", "alter-field-type")
ACCEPTED_HIGH = risk("high", "remove-field", accepted="done in 0006")


@pytest.mark.parametrize(
    ("report", "fail_on_risk", "expected"),
    [
        pytest.param(with_plan(HIGH), "", 0, id="default: never"),
        pytest.param(with_plan(MEDIUM), "high", 0, id="high: a medium passes"),
        pytest.param(with_plan(MEDIUM, HIGH), "high", 1, id="high fails"),
        pytest.param(with_plan(MEDIUM), "medium", 1, id="medium fails"),
        pytest.param(with_plan(ACCEPTED_HIGH), "medium", 0, id="accepted risks never fail"),
        pytest.param(with_plan(HIGH, fail_on="high"), "", 1, id="the config's fail-on"),
        pytest.param(with_plan(HIGH, fail_on="high"), "never", 0, id="the input wins"),
        pytest.param(sample_report.clean(), "medium", 0, id="no plan"),
    ],
)
def test_fail_on_risk(report: dict[str, Any], fail_on_risk: str, expected: int) -> None:
    assert action.exit_code(Inputs(fail_on_risk=fail_on_risk), report) == expected


def test_the_risks_output_counts_levels_and_accepted_apart() -> None:
    report = with_plan(MEDIUM, HIGH, ACCEPTED_HIGH, risk("low", "new-model"))
    assert json.loads(action.outputs(report, "")["risks"]) == {
        "high": 1, "medium": 1, "low": 1, "accepted": 1}
    assert json.loads(action.outputs({**sample_report.clean(), "plan": None}, "")["risks"]) == {
        "high": 0, "medium": 0, "low": 0, "accepted": 0}


def test_a_failing_risk_is_an_error_on_its_line_and_the_outputs_are_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "backend").mkdir()
    code, log, _ = run(tmp_path, with_plan(MEDIUM, HIGH), RecordingGitHub(),
                       working_directory="backend", fail_on_risk="high")
    assert code == 1
    assert ("::error file=backend/shop/migrations/0007_x.py,line=11,title=Migration risk "
            "(high)%3A alter-field-type::alter-field-type reason. Safer: Do x.\n") in log
    assert "Migration risk (medium)" not in log
    output = (tmp_path / "output").read_text()
    assert 'risks={"high": 1, "medium": 1, "low": 0, "accepted": 0}\n' in output


def test_the_comment_shows_rule_ids_and_accepted_risks_with_the_pr_reason_in_a_code_span() -> None:
    from migration_ci.report.comment import render_summary

    summary = render_summary(with_plan(HIGH, risk("medium", "add-index", accepted="@team <b>ok")))
    assert ("- 🔴 high (`alter-field-type`): `shop.0007_x` `op 0`: alter-field-type reason. "
            "Safer: Do x.") in summary
    assert ("- ✅ accepted 🟠 medium (`add-index`): `shop.0007_x` `op 1`: add-index reason. "
            "Safer: Do x. Accepted: `@team <b>ok`") in summary
