"""Every risk case of ``test_risk_sql.py`` judged again without a database, on recorded facts.

``tests/fixtures/risk_facts.json`` holds what the worker observed for each case on SQLite,
PostgreSQL and MariaDB (the SQL Django emitted included); ``test_risk_sql.py`` observes it again
on the servers and fails when the recording drifts. Here each case's expectation is checked on
every engine in a few milliseconds, so the rules are pinned on a machine without servers too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from migration_ci.plan.facts import OperationFacts
from migration_ci.plan.risk import RULES, Risk, assess, find_matching_rules
from tests.test_risk_sql import CASES, recorded_facts

RECORDING = recorded_facts()
BY_NAME = {case.name: case for case in CASES}


def replayed() -> list[Any]:
    params = []
    for name, by_vendor in sorted(RECORDING["cases"].items()):
        for vendor, facts in sorted(by_vendor.items()):
            params.append(pytest.param(name, vendor, facts, id=f"{vendor}: {name}"))
    return params


def test_every_case_on_every_engine_it_runs_on_is_recorded() -> None:
    wanted = {(case.name, vendor) for case in CASES for vendor in case.engines
              if vendor in case.expect}
    have = {(name, vendor) for name, by in RECORDING["cases"].items() for vendor in by}
    assert have == wanted


@pytest.mark.parametrize(("name", "vendor", "data"), replayed())
def test_each_recorded_case_is_judged_as_the_reader_is_told(
    name: str, vendor: str, data: dict[str, Any]
) -> None:
    facts = OperationFacts.from_dict(data)
    expect = BY_NAME[name].expect[vendor]
    assert facts.vendor == vendor
    risk = assess(facts) or Risk("none", "low", "", "")
    assert (risk.rule, risk.level) == (expect.rule or "none", expect.level or "low")
    judged = facts.inner if facts.kind == "SeparateDatabaseAndState" else (facts,)
    matching = [rule for inner in judged for rule in find_matching_rules(inner)]
    if expect.rule is not None:
        (row,) = [r for r in RULES
                  if r.id == expect.rule and r.speaks_for(vendor) and r.level == expect.level]
        assert risk.reason == row.reason
        assert expect.rule in matching
    else:
        assert matching == []
    if expect.sql is not None:
        statements = "\n".join(facts.statements or ())
        assert re.search(expect.sql, statements, re.MULTILINE | re.DOTALL), statements
