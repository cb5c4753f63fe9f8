"""SARIF 2.1.0 for GitHub code scanning: the plan's risks and the check's conflicts.

Pure: takes the report's "plan" and "check" parts (plain dicts, see the README's "Report
document") and returns the log as a dict. One result per finding, at the migration file and
the line of the operation; an accepted risk is a result with an in-source suppression, which
code scanning shows as dismissed. Text from the pull request goes into ``message.text``, which
code scanning shows as plain text, never Markdown.
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html,
https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning)
"""

from __future__ import annotations

import json
import posixpath
import urllib.parse
from collections.abc import Mapping
from typing import Any

from migration_ci import __version__
from migration_ci.report.comment import as_dict, as_list, as_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/django-migration-ci/django-migration-ci"
SARIF_LEVELS = {"high": "error", "medium": "warning", "low": "note"}
CONFLICT_ID, GONE_ID = "migration-conflict", "migration-gone"
CONFLICT_RULE: dict[str, Any] = {
    "id": CONFLICT_ID,
    "name": "MigrationConflict",
    "shortDescription": {"text": "An app has more than one leaf migration."},
    "fullDescription": {"text": "Django refuses to migrate an app with more than one leaf "
                                "migration (\"Conflicting migrations detected\")."},
    "help": {"text": "Run migration-ci fix: it writes the merge migration makemigrations "
                     "--merge would write."},
    "defaultConfiguration": {"level": "error"},
}
GONE_RULE: dict[str, Any] = {
    "id": GONE_ID,
    "name": "MigrationGone",
    "shortDescription": {"text": "A migration of the base is missing from this branch."},
    "fullDescription": {"text": "A migration on the base was deleted or renamed here; it may "
                                "already be applied in production, and Django will not unapply "
                                "it."},
    "help": {"text": "Keep the file (or squash with replaces) until every database has moved "
                     "past it."},
    "defaultConfiguration": {"level": "error"},
}


def render_sarif(log: Mapping[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def plan_sarif(plan: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A result per risk above low (accepted ones suppressed) and per gone migration."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for entry in map(as_dict, as_list(plan.get("entries"))):
        path = _uri(prefix, entry.get("path"))
        if entry.get("status") == "gone":
            rules.setdefault(GONE_ID, GONE_RULE)
            text = f"{_label(entry)} is on the base but missing here: it may already be " \
                   "applied in production."
            results.append(_result(GONE_ID, "error", text, path, None))
            continue
        for op in map(as_dict, as_list(entry.get("operations"))):
            risk = as_dict(op.get("risk"))
            if not risk or risk.get("level") not in ("high", "medium"):
                continue
            rule_id = as_text(risk.get("rule"))
            rules.setdefault(rule_id, _risk_rule(risk))
            text = f"{_label(entry)}: {as_text(op.get('description'))}: " \
                   f"{as_text(risk.get('reason'))} Safer: {as_text(risk.get('safer'))}"
            result = _result(rule_id, SARIF_LEVELS[as_text(risk.get("level"))], text, path,
                             op.get("line"))
            if risk.get("accepted") is not None:
                result["suppressions"] = [{"kind": "inSource",
                                           "justification": as_text(risk.get("accepted"))}]
            results.append(result)
    return _log(list(rules.values()), results)


def check_sarif(check: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A result per leaf of each conflicting app, at the leaf's file."""
    results = []
    for conflict in map(as_dict, as_list(check.get("conflicts"))):
        leaves = [as_dict(leaf) for leaf in as_list(conflict.get("leaves"))]
        names = ", ".join(as_text(leaf.get("name")) for leaf in leaves)
        text = f"Conflicting migrations in app '{as_text(conflict.get('app_label'))}': " \
               f"{names}. Run: migration-ci fix"
        for leaf in leaves:
            results.append(_result(CONFLICT_ID, "error", text,
                                   _uri(prefix, leaf.get("path")), 1))
    return _log([CONFLICT_RULE] if results else [], results)


def _risk_rule(risk: Mapping[str, Any]) -> dict[str, Any]:
    rule_id = as_text(risk.get("rule"))
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": as_text(risk.get("reason"))},
        "help": {"text": f"Safer: {as_text(risk.get('safer'))}"},
        "defaultConfiguration": {"level": SARIF_LEVELS.get(as_text(risk.get("level")),
                                                           "warning")},
        "properties": {"tags": ["django", "migrations"]},
    }


def _result(rule_id: str, level: str, text: str, uri: str, line: object) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    if isinstance(line, int) and not isinstance(line, bool) and line > 0:
        location["region"] = {"startLine": line}
    return {"ruleId": rule_id, "level": level, "message": {"text": text},
            "locations": [{"physicalLocation": location}]}


def _log(rules: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    indexes = {rule["id"]: i for i, rule in enumerate(rules)}
    for result in results:
        result["ruleIndex"] = indexes[result["ruleId"]]
    driver = {"name": "django-migration-ci", "version": __version__,
              "informationUri": INFORMATION_URI, "rules": rules}
    return {"$schema": SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results}]}


def _label(entry: Mapping[str, Any]) -> str:
    return f"{as_text(entry.get('app_label'))}.{as_text(entry.get('name'))}"


def _uri(prefix: str, path: object) -> str:
    """A path relative to the repository root, with forward slashes."""
    text = as_text(path).replace("\\", "/") or "."
    if prefix not in ("", "."):
        text = posixpath.normpath(posixpath.join(prefix, text))
    return urllib.parse.quote(text, safe="/")
