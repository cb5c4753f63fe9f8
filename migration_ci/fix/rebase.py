"""Rebase a branch's new migrations onto the base leaf instead of writing a merge.

Planning is pure: it checks the branch's new migrations form one linear chain nobody
else references, and renumbers them to follow the base leaf. Applying it
(``activities.fix``) renames the files inside the migrations folder; ``rewrite_dependency``
changes only the one same-app dependency of each file that names the old parent, keeping every
other byte.

Names: a chain member whose name starts with a number gets the number that follows the
base leaf (its width and the rest of the name are kept: ``0007_add_sku`` after
``0007_price_index`` becomes ``0008_add_sku``). A name without a leading number, or a
chain following a base leaf without a number, keeps its name; only its dependency changes.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migration_ci.errors import FixError, MigrationFileError
from migration_ci.fix.merge import GraphView, count_common_ancestors, parse_number
from migration_ci.graph.specs import Conflict, Key, MigrationSpec

USE_MERGE = "Use --strategy merge."


@dataclass(frozen=True)
class RebaseStep:
    """One migration of the chain: its new name and the dependency to re-point."""

    old_name: str
    new_name: str
    path: str  # POSIX path relative to the root
    new_path: str
    old_parent: str
    new_parent: str


@dataclass(frozen=True)
class RebasePlan:
    app_label: str
    migrations_dir: str
    base_leaf: str
    steps: tuple[RebaseStep, ...]

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.path, s.new_path) for s in self.steps if s.path != s.new_path)


def plan_rebase(
    conflict: Conflict,
    graph: GraphView,
    specs: Mapping[Key, MigrationSpec],
    base_side_leaf: str,
) -> RebasePlan:
    """Plan moving this branch's chain of new migrations after ``base_side_leaf``.

    Raises FixError, saying why, when the rebase would be unsafe.
    """
    app = conflict.app_label
    branch_leaf = find_branch_leaf(conflict, graph)
    base_ancestry = graph.ancestry((app, base_side_leaf))
    branch_ancestry = graph.ancestry((app, branch_leaf))
    common = count_common_ancestors([base_ancestry, branch_ancestry])
    if not common:
        raise FixError(conflict.merge_error or (
            f"Cannot rebase: {branch_leaf} and {base_side_leaf} in app {app!r} share no "
            f"common ancestor. {USE_MERGE}"))
    chain = [name for _, name in branch_ancestry[common:]]
    chain_specs = [specs[(app, name)] for name in chain]
    check_chain(app, chain_specs, set(base_ancestry))
    check_unreferenced(app, chain, specs)
    names = renumber(chain, base_side_leaf)
    check_free(app, chain, names, specs)
    steps = []
    parents = [same_app_dependencies(chain_specs[0])[0], *chain[:-1]]
    new_parents = [base_side_leaf, *names[:-1]]
    for spec, new_name, parent, new_parent in zip(
        chain_specs, names, parents, new_parents, strict=True
    ):
        new_path = posixpath.join(posixpath.dirname(spec.path), f"{new_name}.py")
        steps.append(RebaseStep(spec.name, new_name, spec.path, new_path, parent, new_parent))
    return RebasePlan(app, conflict.migrations_dir, base_side_leaf, tuple(steps))


def find_branch_leaf(conflict: Conflict, graph: GraphView) -> str:
    """The single leaf this branch introduced, or FixError when there is not one."""
    app = conflict.app_label
    leaves = [leaf.name for leaf in conflict.leaves if leaf.side == "branch"]
    if not leaves:
        names = ", ".join(leaf.name for leaf in conflict.leaves)
        raise FixError(f"Cannot rebase: no leaf of app {app!r} comes from this branch "
                       f"(leaves: {names}). {USE_MERGE}")
    if len(leaves) > 1:
        ancestries = [graph.ancestry((app, name)) for name in leaves]
        common = count_common_ancestors(ancestries)
        firsts = sorted({a[common][1] for a in ancestries if len(a) > common})
        where = f"both follow {ancestries[0][common - 1][1]}" if common else "have no common parent"
        raise not_a_chain(app, f"{', '.join(firsts)} {where}")
    return leaves[0]


def check_chain(app: str, chain: Sequence[MigrationSpec], base_nodes: set[Key]) -> None:
    """Each migration after the first depends, in its app, on exactly the one before it."""
    children: dict[str, list[str]] = {}
    for spec in chain:
        for parent in same_app_dependencies(spec):
            children.setdefault(parent, []).append(spec.name)
    for parent, kids in children.items():
        if len(kids) > 1:
            raise not_a_chain(app, f"{', '.join(sorted(kids))} both follow {parent}")
    for index, spec in enumerate(chain):
        parents = same_app_dependencies(spec)
        if len(parents) != 1 or (index and parents[0] != chain[index - 1].name):
            listed = " and ".join(parents) if parents else "nothing in its app"
            raise not_a_chain(app, f"{spec.name} depends on {listed}")
        if spec.replaces:
            raise FixError(f"Cannot rebase: {spec.name} in app {app!r} is a squashed migration "
                           f"(it replaces others), which cannot be renamed safely. {USE_MERGE}")
        if spec.key in base_nodes:
            raise FixError(f"Cannot rebase: {spec.name} in app {app!r} is on the base too. "
                           f"{USE_MERGE}")


def not_a_chain(app: str, detail: str) -> FixError:
    return FixError(f"Cannot rebase: this branch's migrations in {app!r} are not a single "
                    f"chain ({detail}). {USE_MERGE}")


def same_app_dependencies(spec: MigrationSpec) -> list[str]:
    # Django ignores same-app __first__ (and __latest__ would point at the app itself).
    return [name for app, name in spec.dependencies
            if app == spec.app_label and not name.startswith("__")]


def check_unreferenced(app: str, chain: Sequence[str], specs: Mapping[Key, MigrationSpec]) -> None:
    """No migration outside the chain names a chain member (dependencies or run_before)."""
    members = {(app, name) for name in chain}
    refs: list[str] = []
    for key in sorted(specs):
        if key in members:
            continue
        spec = specs[key]
        for attribute, targets in (("dependencies", spec.dependencies),
                                   ("run_before", spec.run_before)):
            named = sorted(name for a, name in set(targets) if (a, name) in members)
            refs += [f"{spec.app_label}.{spec.name} names {name} in {attribute}"
                     for name in named]
    if refs:
        raise FixError(f"Cannot rebase: migrations outside this branch's chain in {app!r} "
                       f"reference it ({'; '.join(refs)}), and renaming would break them. "
                       f"{USE_MERGE}")


def renumber(chain: Sequence[str], base_leaf: str) -> list[str]:
    """New names following ``base_leaf``'s number, keeping width and the rest of the name."""
    base_number = parse_number(base_leaf)
    names = []
    for offset, name in enumerate(chain, start=1):
        match = re.match(r"\d+", name)
        if match is None or base_number is None:
            names.append(name)
        else:
            digits = match.group()
            names.append(f"{base_number + offset:0{len(digits)}d}{name[len(digits):]}")
    return names


def check_free(app: str, chain: Sequence[str], names: Sequence[str],
               specs: Mapping[Key, MigrationSpec]) -> None:
    taken = {name for a, name in specs if a == app} - set(chain)
    clashes = sorted(set(names) & taken)
    if clashes:
        raise FixError(f"Cannot rebase: the new name {clashes[0]} is already a migration of app "
                       f"{app!r}. {USE_MERGE}")


def rewrite_dependency(source: bytes, app_label: str, old: str, new: str, path: str) -> bytes:
    """Replace the name in the ``(app_label, old)`` dependency with ``new``, nothing else."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        raise MigrationFileError(f"{path}:{error.lineno}: {error.msg}.",
                                 "Fix the syntax error, then run the fix again.") from error
    nodes = find_dependency_names(tree, app_label, old)
    if not nodes:
        raise FixError(f"Cannot rebase: {path} does not list ({app_label!r}, {old!r}) "
                       "literally in Migration.dependencies. Edit it by hand, or use "
                       "--strategy merge.")
    starts = line_starts(source)
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        assert node.end_lineno is not None and node.end_col_offset is not None
        start = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        quoted = re.fullmatch(rb"([rRuU]?)(['\"])(.*)\2", source[start:end], re.DOTALL)
        if quoted is None or quoted.group(3) != old.encode():
            raise FixError(f"Cannot rebase: {path}:{node.lineno} writes {old!r} in a form that "
                           f"cannot be rewritten safely. Edit it by hand, or use --strategy merge.")
        replacement = quoted.group(1) + quoted.group(2) + new.encode() + quoted.group(2)
        source = source[:start] + replacement + source[end:]
    return source


def line_starts(source: bytes) -> list[int]:
    """Byte offset of each line's start, splitting lines as Python's tokenizer does."""
    starts, offset = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(offset)
        offset += len(line)
    starts.append(offset)
    return starts


def find_dependency_names(tree: ast.Module, app_label: str, old: str) -> list[ast.Constant]:
    """The string nodes naming ``old`` in ``(app_label, old)`` pairs of the dependencies."""
    module_names = {
        target.id: node.value
        for node in tree.body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    }
    found: list[ast.Constant] = []
    for value in dependency_values(tree):
        for expr in [value, *(module_names[n.id] for n in ast.walk(value)
                              if isinstance(n, ast.Name) and n.id in module_names)]:
            found += [name for app, name in string_pairs(expr)
                      if app.value == app_label and name.value == old]
    return found


def dependency_values(tree: ast.Module) -> list[ast.expr]:
    values: list[ast.expr] = []
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef) and cls.name == "Migration":
            for node in cls.body:
                targets = (node.targets if isinstance(node, ast.Assign)
                           else [node.target] if isinstance(node, ast.AnnAssign) else [])
                value = getattr(node, "value", None)
                if value is not None and any(
                    isinstance(t, ast.Name) and t.id == "dependencies" for t in targets
                ):
                    values.append(value)
    return values


def string_pairs(expr: ast.expr) -> list[tuple[ast.Constant, ast.Constant]]:
    """Every two-item tuple or list of string literals inside ``expr``."""
    pairs = []
    for node in ast.walk(expr):
        if isinstance(node, ast.Tuple | ast.List) and len(node.elts) == 2:
            first, second = node.elts
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                assert isinstance(first, ast.Constant) and isinstance(second, ast.Constant)
                pairs.append((first, second))
    return pairs
