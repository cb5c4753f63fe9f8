"""Plain records shared by every layer: migration specs, conflicts and their branches.

Everything here is immutable data (frozen dataclasses and tuples) so the pure core can
be tested with literals and results can be compared and serialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Key = tuple[str, str]
"""A migration node as Django names it: ``(app_label, migration_name)``."""

Side = Literal["base", "branch", "both"]
"""Where a migration file comes from when a branch is judged against a base ref."""


@dataclass(frozen=True)
class OperationSpec:
    """One operation of a migration, described the way Django describes it."""

    kind: str  # the operation's class name, e.g. "AddField"
    description: str  # Django's formatted_description(), e.g. "+ Add field sku to product"
    model: str | None = None  # lower-cased model name the operation touches, if any
    field: str | None = None  # lower-cased field name the operation touches, if any
    lineno: int = 0


@dataclass(frozen=True)
class MigrationSpec:
    """What Django's loader needs to know about one migration file."""

    app_label: str
    name: str
    path: str  # POSIX path relative to the scanned root
    dependencies: tuple[Key, ...] = ()
    replaces: tuple[Key, ...] = ()
    run_before: tuple[Key, ...] = ()
    initial: bool | None = None
    atomic: bool = True
    operations: tuple[OperationSpec, ...] = ()
    warnings: tuple[str, ...] = ()  # "path:line: message" for values that were not literal

    @cached_property  # read for every edge of the graph: computed once per spec
    def key(self) -> Key:
        return (self.app_label, self.name)


def spec_to_json(spec: MigrationSpec) -> dict[str, Any]:
    """``spec`` as JSON-able data, for the worker's answers (``spec_from_json`` reads it)."""
    return {
        "app_label": spec.app_label, "name": spec.name, "path": spec.path,
        "dependencies": spec.dependencies, "replaces": spec.replaces,
        "run_before": spec.run_before, "initial": spec.initial, "atomic": spec.atomic,
        "operations": [[op.kind, op.description, op.model, op.field, op.lineno]
                       for op in spec.operations],
        "warnings": spec.warnings,
    }


def key_from_json(value: Any) -> Key:
    """A key that travelled as a JSON list ``[app_label, name]``."""
    app_label, name = value
    return (str(app_label), str(name))


def spec_from_json(data: Mapping[str, Any]) -> MigrationSpec:
    def keys(values: Any) -> tuple[Key, ...]:
        return tuple(map(key_from_json, values))

    return MigrationSpec(
        app_label=data["app_label"], name=data["name"], path=data["path"],
        dependencies=keys(data["dependencies"]), replaces=keys(data["replaces"]),
        run_before=keys(data["run_before"]), initial=data["initial"], atomic=data["atomic"],
        operations=tuple(OperationSpec(*op) for op in data["operations"]),
        warnings=tuple(data["warnings"]),
    )


@dataclass(frozen=True)
class MigrationPackage:
    """An app's migrations package found in the scanned tree."""

    app_label: str
    app_dir: str  # POSIX path of the app package, e.g. "shop"
    migrations_dir: str  # POSIX path of the migrations package, e.g. "shop/migrations"
    files: tuple[str, ...] = ()  # migration module paths, sorted by module name


@dataclass(frozen=True)
class Skipped:
    """A folder the check left out, and why (``check --verbose``; JSON ``skipped``)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Leaf:
    """A leaf migration of a conflicting app and the side that introduced it."""

    name: str
    path: str
    side: Side = "both"


@dataclass(frozen=True)
class Branch:
    """One divergent line of an app's history, from the common ancestor to a leaf."""

    leaf: str
    migrations: tuple[str, ...]  # names after the common ancestor, in forwards order
    operations: tuple[OperationSpec, ...]


@dataclass(frozen=True)
class Overlap:
    """Two branches touch the same model (and field): a merge migration will not fix that."""

    model: str
    field: str | None
    leaves: tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """An app with more than one leaf migration."""

    app_label: str
    migrations_dir: str
    leaves: tuple[Leaf, ...]
    merge_name: str | None  # None when no merge can be written (see ``merge_error``)
    merge_dependencies: tuple[Key, ...]
    branches: tuple[Branch, ...]
    common_ancestor: str | None = None
    overlaps: tuple[Overlap, ...] = ()
    merge_error: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The answer to "which apps have more than one leaf?" for one tree."""

    engine: Literal["static", "django"]
    conflicts: tuple[Conflict, ...]
    leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)  # app -> sorted leaves
    warnings: tuple[str, ...] = ()
    base_ref: str | None = None
    base_sha: str | None = None
    head_sha: str | None = None
    migration_count: int = 0
    skipped: tuple[Skipped, ...] = ()

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicts)
