"""The commit status a pull request's head carries: its context, state and description.

Pure: built from the report document (see ``comment``), which may name untrusted migration
files, so the description is flattened to one printable line within GitHub's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration_ci.report.comment import as_dict, as_list, as_text, conflicts, short_sha

CONTEXT = "django-migration-ci"
# https://docs.github.com/en/rest/commits/statuses#create-a-commit-status: a longer
# description is refused with 422 ("maximum is 140 characters").
MAX_DESCRIPTION = 140
SUCCESS, FAILURE = "success", "failure"


@dataclass(frozen=True)
class Status:
    context: str
    state: str  # "success" or "failure" (GitHub also knows "pending" and "error")
    description: str

    def says_the_same(self, other: Status | None) -> bool:
        """Whether ``other`` already tells what this one does: the same state and, for a
        failure, the same conflicts. A success names the base commit it was judged on, which
        moves with every push, so it is not written again for that alone."""
        if other is None or (other.context, other.state) != (self.context, self.state):
            return False
        return self.state == SUCCESS or other.description == self.description


def context_for(working_directory: object) -> str:
    """``django-migration-ci``, with the project folder when it is not the repository root:
    one status per working directory, as there is one comment per working directory."""
    where = as_text(working_directory) or "."
    return CONTEXT if where == "." else f"{CONTEXT} ({_printable(where, 60)})"


def describe(report: Mapping[str, Any], base_commits: Mapping[str, str]) -> Status:
    """The status for the merge the report judged. ``base_commits`` maps the path of a leaf
    that came from the base to the base commit that added it."""
    context = context_for(report.get("working_directory"))
    base = as_dict(report.get("base"))
    ref = _printable(base.get("ref"), 40) or "the base"
    found = conflicts(report)
    if not found:
        at = f" at {short_sha(base.get('sha'))}" if base.get("sha") else ""
        merged = f" when merged with {ref}{at}" if base else ""
        return Status(context, SUCCESS, f"No conflicting migrations{merged}")
    parts = [_conflict(conflict, ref, base_commits) for conflict in found]
    return Status(context, FAILURE, _cut("Conflicting migrations in " + "; ".join(parts)))


def _conflict(conflict: Mapping[str, Any], ref: str, base_commits: Mapping[str, str]) -> str:
    """``shop: 0002_add_sku vs 0002_price_index from main 1a2b3c4d5e6f``."""
    leaves = [as_dict(leaf) for leaf in as_list(conflict.get("leaves"))]
    ours = [_printable(leaf.get("name"), 60) for leaf in leaves if leaf.get("side") != "base"]
    theirs = []
    for leaf in (leaf for leaf in leaves if leaf.get("side") == "base"):
        commit = base_commits.get(as_text(leaf.get("path")))
        added = f"{ref} {short_sha(commit)}" if commit else ref
        theirs.append(f"{_printable(leaf.get('name'), 60)} from {added}")
    names = ([" and ".join(ours)] if ours else []) + theirs
    return f"{_printable(conflict.get('app_label'), 60)}: {' vs '.join(names)}"


def _printable(value: object, limit: int) -> str:
    """One line of printable characters: a status is plain text, but a file name from a pull
    request may hold control characters or line breaks."""
    text = " ".join("".join(c if c.isprintable() else " " for c in as_text(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"
