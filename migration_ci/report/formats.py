"""Render a check result: text for people, JSON for machines, GitHub workflow annotations.

Pure: takes records from ``specs`` and returns strings or plain dicts. Names come from the
pull request: text shows a name that is not plain as a quoted literal and escapes free text
(``safe``); JSON escapes every character that is not ASCII and the runner's ``##[``.
"""

from __future__ import annotations

import json
from typing import Any

from migration_ci import __version__
from migration_ci.graph.specs import CheckResult, Conflict, Leaf
from migration_ci.report.safe import literal, log_lines, log_text, quote, visible

SCHEMA_VERSION = 1

SIDE_LABELS = {"branch": "this branch", "base": "base", "both": "both"}


def side_label(leaf: Leaf, base_ref: str | None) -> str:
    if leaf.side == "base" and base_ref:
        return quote(base_ref)
    return SIDE_LABELS[leaf.side] if base_ref else "working tree"


# -- text -------------------------------------------------------------------------------


def headline(conflict: Conflict, base_ref: str | None) -> str:
    """``Conflicting migrations in app 'shop': 0007_a (this branch), 0007_b (main).``"""
    leaves = ", ".join(
        f"{quote(leaf.name)} ({side_label(leaf, base_ref)})" for leaf in conflict.leaves
    )
    return f"Conflicting migrations in app {literal(conflict.app_label)}: {leaves}."


def render_text(
    result: CheckResult, *, fix_command: str | None = "migration-ci fix", verbose: bool = False
) -> str:
    """The report for people; ``fix_command`` None (from ``fix`` itself) leaves out the hints,
    ``verbose`` adds what was skipped."""
    fix_command = log_text(fix_command) if fix_command is not None else None
    lines: list[str] = [f"warning: {log_text(w)}" for w in result.warnings]
    if verbose:
        lines.extend(f"skipped: {quote(item.path)}: {log_text(item.reason)}"
                     for item in result.skipped)
    for conflict in result.conflicts:
        lines.extend(_conflict_text(conflict, result.base_ref, fix_command))
        lines.append("")
    lines.append(summary_line(result, fix_command))
    return "\n".join(lines) + "\n"


def _conflict_text(
    conflict: Conflict, base_ref: str | None, fix_command: str | None
) -> list[str]:
    lines = [headline(conflict, base_ref)]
    for leaf in conflict.leaves:
        lines.append(f"  {quote(leaf.path)}  ({side_label(leaf, base_ref)})")
    if conflict.common_ancestor:
        lines.append(f"  Common ancestor: {quote(conflict.common_ancestor)}")
    for branch in conflict.branches:
        lines.append(f"  Branch {quote(branch.leaf)}")
        lines.extend(f"    {log_text(op.description)}" for op in branch.operations)
    for overlap in conflict.overlaps:
        lines.append(f"  warning: {overlap_text(overlap.model, overlap.field, overlap.leaves)}")
    if conflict.merge_error:
        lines.append(f"  Cannot merge: {log_text(conflict.merge_error)}")
    elif conflict.merge_name and fix_command:
        path = quote(f"{conflict.migrations_dir}/{conflict.merge_name}.py")
        lines.append(f"  Fix: {fix_command} (writes {path})")
    return lines


def overlap_text(model: str, field: str | None, leaves: tuple[str, ...]) -> str:
    what = f"field {quote(f'{model}.{field}')}" if field else f"model {quote(model)}"
    return (
        f"both {' and '.join(map(quote, leaves))} change {what}: a merge migration resolves the "
        "graph, not that clash. Check the combined schema by hand."
    )


def summary_line(result: CheckResult, fix_command: str | None = "migration-ci fix") -> str:
    fix_command = log_text(fix_command) if fix_command is not None else None
    if not result.conflicts:
        count = len(result.leaves)
        return (
            f"No conflicting migrations: {count} app{'s' * (count != 1)}, "
            f"{result.migration_count} migrations checked ({result.engine} engine)."
        )
    n = len(result.conflicts)
    apps = f"{n} app{'s' * (n != 1)} with conflicting migrations."
    if fix_command is None:
        return apps
    unfixable = [quote(c.app_label) for c in result.conflicts if c.merge_error]
    if len(unfixable) == n:
        return f"{apps} No merge migration can be written: resolve by hand as described above."
    if unfixable:
        fixable = [quote(c.app_label) for c in result.conflicts if not c.merge_error]
        return (
            f"{apps} Run: {fix_command} (fixes {', '.join(fixable)}); resolve "
            f"{', '.join(unfixable)} by hand as described above."
        )
    return f"{apps} Run: {fix_command}"


# -- JSON -------------------------------------------------------------------------------


def conflict_to_dict(conflict: Conflict) -> dict[str, Any]:
    return {
        "app_label": conflict.app_label,
        "migrations_dir": conflict.migrations_dir,
        "leaves": [
            {"name": leaf.name, "path": leaf.path, "side": leaf.side} for leaf in conflict.leaves
        ],
        "common_ancestor": conflict.common_ancestor,
        "merge_name": conflict.merge_name,
        "merge_dependencies": [list(key) for key in conflict.merge_dependencies],
        "merge_error": conflict.merge_error,
        "branches": [
            {
                "leaf": b.leaf,
                "migrations": list(b.migrations),
                "operations": [
                    {"kind": o.kind, "description": o.description} for o in b.operations
                ],
            }
            for b in conflict.branches
        ],
        "overlaps": [
            {"model": o.model, "field": o.field, "leaves": list(o.leaves)}
            for o in conflict.overlaps
        ],
    }


def check_to_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "migration_count": result.migration_count,
        "leaves": {app: list(names) for app, names in sorted(result.leaves.items())},
        "conflicts": [conflict_to_dict(c) for c in result.conflicts],
        "warnings": list(result.warnings),
        "skipped": [{"path": item.path, "reason": item.reason} for item in result.skipped],
    }


def to_document(result: CheckResult) -> dict[str, Any]:
    """The check result as the top level of the versioned JSON document (README: "JSON")."""
    return {
        "version": SCHEMA_VERSION,
        "tool": f"django-migration-ci {__version__}",
        "base": {"ref": result.base_ref, "sha": result.base_sha} if result.base_ref else None,
        "head": {"sha": result.head_sha} if result.head_sha else None,
        **check_to_dict(result),
    }


def dumps(document: object) -> str:
    """JSON that is safe in a log: ``json`` escapes controls and every non-ASCII character
    (bidi included); ``[`` after ``##`` is written ``\\u005b``, the same string to a parser."""
    return json.dumps(document, indent=2).replace("##[", "##\\u005b") + "\n"


def render_json(result: CheckResult) -> str:
    return dumps(to_document(result))


# -- GitHub workflow commands ----------------------------------------------------------
# https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, *, file: str | None = None, title: str | None = None
) -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)},line=1")
    if title:
        props.append(f"title={escape_property(title)}")
    joined = (" " + ",".join(props)) if props else ""
    return f"::{level}{joined}::{escape_data(visible(message, keep=chr(10) + chr(13)))}"


def render_github(result: CheckResult, *, fix_command: str = "migration-ci fix") -> str:
    fix_command = log_text(fix_command)
    lines = [annotation("warning", w) for w in result.warnings]
    for conflict in result.conflicts:
        # An unmergeable conflict gets the reason, not a command that would refuse it.
        advice = f"Cannot merge: {conflict.merge_error}" if conflict.merge_error else \
            f"Run: {fix_command}"
        message = f"{headline(conflict, result.base_ref)} {advice}"
        for leaf in conflict.leaves:
            lines.append(
                annotation("error", message, file=leaf.path, title="Conflicting migrations")
            )
    lines.append(summary_line(result, fix_command))
    return "\n".join(lines) + "\n"


# -- verify (from the report document's "verify" part) ----------------------------------


def render_verify_text(verify: dict[str, Any]) -> str:
    """The verify result for people: what ran where, and what failed or is missing."""
    db = verify["database"]
    migrations = verify["migrations"]
    lines = [
        f"Ran on a throwaway {log_text(db['vendor'])} {log_text(db['version'])} database in "
        f"{verify['seconds']:.2f} s: {len(migrations)} migration"
        f"{'s' * (len(migrations) != 1)} applied."
    ]
    snapshot = verify.get("snapshot")
    if snapshot:
        lines.append(f"Base state: {log_text(snapshot.get('note', ''))}".rstrip())
    lines.extend(f"  {quote(p['name'])}: {p['seconds']:.2f} s" for p in verify.get("phases", ()))
    slowest = sorted(migrations, key=lambda m: -m["seconds"])[:3]
    if slowest:
        lines.append(
            "  slowest: "
            + ", ".join(f"{_node(m)} {m['seconds']:.2f} s" for m in slowest)
        )
    lines.extend(
        f"IRREVERSIBLE: {_node(i)}: {log_text(i['operation'])}"
        for i in verify.get("irreversible", ())
    )
    if verify.get("missing_changes"):
        lines.append("Models have changes that no migration holds (run makemigrations):")
        lines.extend(
            f"  {quote(m['app_label'])}: {log_text(m['description'])}"
            for m in verify["missing_changes"]
        )
    failure = verify.get("failure")
    if failure:
        lines.extend(_failure_lines(failure))
    lines.append("Verify: OK." if verify["ok"] else "Verify: FAILED.")
    return "\n".join(lines) + "\n"


def _node(item: dict[str, Any]) -> str:
    """``app.name`` of a migration, quoted when not plain."""
    return quote(f"{item['app_label']}.{item['name']}")


def _failure_lines(failure: dict[str, Any]) -> list[str]:
    where = (
        f"{_node(failure)} ({quote(str(failure['path']))})"
        if failure.get("name")
        else "the migration run"
    )
    lines = [f"Migration {where} failed going {log_text(str(failure['direction']))}:"]
    if failure.get("operation"):
        lines.append(f"  operation: {log_text(failure['operation'])}")
    lines.append(_indented("  error: ", failure["error"]))
    if failure.get("sql"):
        lines.append(_indented("  SQL: ", failure["sql"]))
    return lines


def _indented(label: str, text: str) -> str:
    """``label`` then the lines of ``text``, each made safe, the later ones indented."""
    return label + log_lines(str(text).rstrip("\n")).replace("\n", "\n" + " " * len(label))
