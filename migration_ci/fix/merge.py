"""Merge migrations exactly as ``makemigrations --merge --noinput`` writes them.

Names, numbers, dependencies and file contents follow Django's ``handle_merge`` and
``MigrationWriter``; the conflict description (leaves, common ancestor, branches,
overlaps) follows the same walk over same-app ancestries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import takewhile
from typing import Protocol

from migration_ci.graph.specs import Branch, Conflict, Key, Leaf, MigrationSpec, Overlap, Side

# Django puts the timestamp in the name when the joined leaf names are longer than this
# (makemigrations.handle_merge, ticket #31467).
MAX_JOINED_LEAF_NAMES = 47
TIMESTAMPED_NAME = re.compile(r"[0-9]+_merge_[0-9]{8}_[0-9]{4}")


class GraphView(Protocol):
    """The part of the migration graph the merge and rebase code reads."""

    def leaves(self) -> dict[str, tuple[str, ...]]: ...

    def conflicts(self) -> dict[str, tuple[str, ...]]: ...

    def forwards_plan(self, key: Key) -> list[Key]: ...

    def ancestry(self, key: Key) -> list[Key]: ...


def parse_number(name: str) -> int | None:
    """Django's number of a migration name; a squash counts by its last number."""
    from django.db.migrations.autodetector import MigrationAutodetector

    number: int | None = MigrationAutodetector.parse_number(name)
    return number


def merge_number(leaves: Iterable[str]) -> int:
    """1 + the largest number among ``leaves``; 2 when none has a number, as Django."""
    numbers = [n for n in map(parse_number, leaves) if n is not None]
    return (max(numbers) if numbers else 1) + 1


def merge_name(leaves: Iterable[str], *, timestamp: str | None = None) -> str:
    """``NNNN_merge_<sorted leaves>``, or ``NNNN_merge_<timestamp>`` for long names."""
    leaves = list(leaves)
    joined = "_".join(sorted(leaves))
    if len(joined) > MAX_JOINED_LEAF_NAMES:
        if timestamp is None:
            from django.db.migrations.utils import get_migration_name_timestamp

            timestamp = get_migration_name_timestamp()
        joined = timestamp
    return f"{merge_number(leaves):04d}_merge_{joined}"


def fix_arguments(merge_names: Mapping[str, str]) -> list[list[str]]:
    """The arguments of the ``fix`` runs that write exactly these merge migrations (app label
    -> name), whenever they run.

    A plain ``fix`` writes Django's name, unless that holds a timestamp, which a later run would
    not repeat: then each app gets its own run with ``--name`` (which, as ``makemigrations
    --merge --name``, names the merge of every app it fixes).
    """
    if not any(TIMESTAMPED_NAME.fullmatch(name) for name in merge_names.values()):
        return [[]]
    return [
        [app, *(["--name", name.partition("_")[2]] if TIMESTAMPED_NAME.fullmatch(name) else [])]
        for app, name in sorted(merge_names.items())
    ]


def named_merge(leaves: Iterable[str], name: str) -> str:
    """The merge's name with ``--name``: Django's number, then ``name``."""
    return f"{merge_number(leaves):04d}_{name}"


def is_writable_name(name: str) -> bool:
    """Whether ``fix`` writes a migration file of this name.

    Django's loader imports any module name ``pkgutil`` lists (``0002_add-field``,
    ``0002 b é``) and ``makemigrations --merge`` writes whatever name the leaves give, so
    ``fix`` does too, except a name holding a path separator or a character that is not
    printable (control characters, bidi overrides): a file named so is refused.
    """
    return bool(name) and name.isprintable() and "/" not in name


def merge_dependencies(app_label: str, leaves: Iterable[str]) -> tuple[Key, ...]:
    """The merge migration's dependencies in Django's order (its leaves, sorted)."""
    return tuple((app_label, name) for name in sorted(leaves))


def count_common_ancestors(ancestries: Sequence[Sequence[Key]]) -> int:
    """How many leading generations all ancestries share (Django's takewhile rule)."""

    def all_equal(generation: tuple[Key, ...]) -> bool:
        return all(item == generation[0] for item in generation[1:])

    return sum(1 for _ in takewhile(all_equal, zip(*ancestries, strict=False)))


def describe_conflicts(
    graph: GraphView,
    specs: Mapping[Key, MigrationSpec],
    sides: Callable[[str], Side],
    migrations_dirs: Mapping[str, str],
    *,
    timestamp: str | None = None,
) -> tuple[Conflict, ...]:
    """One Conflict per app with several leaves, sorted by app label.

    ``sides`` maps a migration's path to the side that introduced it; ``migrations_dirs``
    maps an app label to its migrations folder. ``timestamp`` is used for long merge names
    (Django's ``get_migration_name_timestamp()`` when omitted).
    """
    conflicts = graph.conflicts()
    return tuple(
        describe_conflict(
            app_label, sorted(conflicts[app_label]), graph, specs, sides,
            migrations_dirs.get(app_label, ""), timestamp=timestamp,
        )
        for app_label in sorted(conflicts)
    )


def describe_conflict(
    app_label: str,
    leaf_names: Sequence[str],
    graph: GraphView,
    specs: Mapping[Key, MigrationSpec],
    sides: Callable[[str], Side],
    migrations_dir: str,
    *,
    timestamp: str | None = None,
) -> Conflict:
    """Describe one app's conflict the way ``makemigrations --merge`` walks it."""
    ancestries = [graph.ancestry((app_label, name)) for name in leaf_names]
    common = count_common_ancestors(ancestries)
    branches = tuple(
        Branch(
            leaf=name,
            migrations=tuple(node[1] for node in ancestry[common:]),
            operations=tuple(
                op for node in ancestry[common:] if node in specs for op in specs[node].operations
            ),
        )
        for name, ancestry in zip(leaf_names, ancestries, strict=True)
    )
    leaves = tuple(
        Leaf(name=name, path=get_path(specs, (app_label, name)),
             side=sides(get_path(specs, (app_label, name))))
        for name in leaf_names
    )
    error = None if common else no_ancestor_error(app_label, leaf_names, ancestries, specs)
    name = None if error else merge_name(leaf_names, timestamp=timestamp)
    if name is not None and not is_writable_name(name):
        error, name = unwritable_name_error(app_label, name), None
    return Conflict(
        app_label=app_label,
        migrations_dir=migrations_dir,
        leaves=leaves,
        merge_name=name,
        merge_dependencies=() if error else merge_dependencies(app_label, leaf_names),
        branches=branches,
        common_ancestor=ancestries[0][common - 1][1] if common else None,
        overlaps=find_overlaps(branches, specs, app_label),
        merge_error=error,
    )


def get_path(specs: Mapping[Key, MigrationSpec], key: Key) -> str:
    spec = specs.get(key)
    return spec.path if spec is not None else ""


def no_ancestor_error(
    app_label: str,
    leaf_names: Sequence[str],
    ancestries: Sequence[Sequence[Key]],
    specs: Mapping[Key, MigrationSpec],
) -> str:
    """Why Django's ``--merge`` stops with "Could not find common ancestor", and the fix."""
    roots = sorted({ancestry[0][1] for ancestry in ancestries if ancestry})
    squashes = [r for r in roots if (app_label, r) in specs and specs[(app_label, r)].replaces]
    if len(squashes) > 1:
        return (
            f"Migrations {join_names(leaf_names)} in app {app_label!r} start from different "
            f"squashed migrations ({', '.join(squashes)}), so Django cannot merge them. "
            "Keep one squashed migration per app: delete the others or make them depend on it."
        )
    return (
        f"Migrations {join_names(leaf_names)} in app {app_label!r} share no common ancestor, "
        "so Django cannot merge them. Make one depend on the other, or delete one and run "
        "makemigrations."
    )


def unwritable_name_error(app_label: str, name: str) -> str:
    return (
        f"The merge migration Django would write in app {app_label!r} is named {name!r}, "
        "after the leaves, and holds a character that is not printable (or a '/'), so "
        "migration-ci fix will not write it. Rename the leaf migrations, then run "
        "migration-ci fix."
    )


def join_names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def find_overlaps(
    branches: Sequence[Branch], specs: Mapping[Key, MigrationSpec], app_label: str
) -> tuple[Overlap, ...]:
    """Models (and fields) touched by more than one branch.

    Migrations shared by several branches (after a diamond) are not counted: the
    clash we warn about is two lines of history editing the same thing independently.
    """
    counts: dict[str, int] = {}
    for branch in branches:
        for name in set(branch.migrations):
            counts[name] = counts.get(name, 0) + 1
    models: dict[str, set[str]] = {}
    fields: dict[tuple[str, str], set[str]] = {}
    for branch in branches:
        for name in branch.migrations:
            spec = specs.get((app_label, name))
            if spec is None or counts[name] > 1:
                continue
            for op in spec.operations:
                if op.model is None:
                    continue
                models.setdefault(op.model, set()).add(branch.leaf)
                if op.field is not None:
                    fields.setdefault((op.model, op.field), set()).add(branch.leaf)
    overlaps: list[Overlap] = []
    for model in sorted(models):
        clashes = sorted(f for (m, f), who in fields.items() if m == model and len(who) > 1)
        if clashes:
            overlaps += [Overlap(model, f, tuple(sorted(fields[(model, f)]))) for f in clashes]
        elif len(models[model]) > 1:
            overlaps.append(Overlap(model, None, tuple(sorted(models[model]))))
    return tuple(overlaps)


def render_merge(
    app_label: str, name: str, dependencies: Iterable[Key], *, include_header: bool = True
) -> str:
    """Django's MigrationWriter output for an empty merge migration, as ``--merge`` writes.

    Settings are configured minimally (``USE_TZ=True``, so the header time is UTC as in a
    default project) only when nothing configured them before.
    """
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True)
    from django.db.migrations import Migration
    from django.db.migrations.writer import MigrationWriter

    subclass = type("Migration", (Migration,), {"dependencies": list(dependencies)})
    writer = MigrationWriter(subclass(name, app_label), include_header)
    text: str = writer.as_string()
    return text
