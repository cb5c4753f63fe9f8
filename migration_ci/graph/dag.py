"""The migration graph: Django's own ``MigrationGraph``, fed with parsed specs.

``Graph.build`` follows ``MigrationLoader.build_graph`` (Django 6.1) with no database
connection and ``replace_migrations=True``, rule for rule, on every supported Django. Django
6.0 lets a squash replace squashes and applies it after them ("squashed migrations can now
themselves be squashed", 6.0 release notes), and 6.1 reads migration files in sorted order;
older versions apply squashes in the order of a set, which changes from run to run, so this is
the one answer every version can give. One thing differs on purpose:
Django resolves each ``__first__``/``__latest__`` dependency with ``graph.root_nodes(app)``,
which scans every node (quadratic on large projects); here each app's roots and leaves are
kept up to date as edges are added, which gives the same answer at the same moment.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.db.migrations.exceptions import CircularDependencyError
from django.db.migrations.graph import DummyNode, MigrationGraph

from migration_ci.errors import GraphError
from migration_ci.graph.specs import Key, MigrationSpec

_SPECIAL = ("__first__", "__latest__")


class _Builder:
    """Adds nodes and edges to a ``MigrationGraph`` while tracking each app's roots/leaves."""

    def __init__(self, apps: Collection[str]) -> None:
        self.graph = MigrationGraph()
        self.apps = apps
        self.roots: dict[str, set[Key]] = {}
        self.leaves: dict[str, set[Key]] = {}
        self.first: dict[str, Key | None] = {}  # cached min(roots[app]); None = stale
        self.latest: dict[str, Key | None] = {}

    def add_node(self, key: Key, spec: MigrationSpec) -> None:
        self.graph.add_node(key, spec)
        self._track(key)

    def _track(self, key: Key) -> None:
        # A dummy node is in graph.nodes too, so Django's root_nodes() counts it.
        self.roots.setdefault(key[0], set()).add(key)
        self.leaves.setdefault(key[0], set()).add(key)
        self.first[key[0]] = self.latest[key[0]] = None

    def add_edge(self, origin: Key, child: Key, parent: Key) -> None:
        for key in (child, parent):
            if key not in self.graph.nodes:
                self._track(key)  # add_dependency will create a DummyNode
        self.graph.add_dependency(origin, child, parent, skip_validation=True)
        if child[0] == parent[0]:
            self.roots[child[0]].discard(child)
            self.leaves[parent[0]].discard(parent)
            self.first[child[0]] = self.latest[child[0]] = None

    def check_key(self, key: Key, current_app: str) -> Key | None:
        """``MigrationLoader.check_key``; apps outside ``apps`` are external and skipped."""
        if key[0] not in self.apps:
            return None
        if key[1] not in _SPECIAL or key in self.graph.nodes:
            return key
        if key[0] == current_app:
            return None  # same-app __first__ is ignored (Django #22325)
        cache, members = (
            (self.first, self.roots) if key[1] == "__first__" else (self.latest, self.leaves)
        )
        if cache.get(key[0]) is None and members.get(key[0]):
            cache[key[0]] = min(members[key[0]])
        return cache.get(key[0])  # None: an app without migrations, like Django's

    def add_internal(self, spec: MigrationSpec) -> None:
        for parent in spec.dependencies:
            if parent[0] == spec.app_label and parent[1] != "__first__":
                self.add_edge(spec.key, spec.key, parent)

    def add_external(self, spec: MigrationSpec) -> None:
        for dependency in spec.dependencies:
            if dependency[0] == spec.app_label:
                continue
            parent = self.check_key(dependency, spec.app_label)
            if parent is not None:
                self.add_edge(spec.key, spec.key, parent)
        for before in spec.run_before:
            child = self.check_key(before, spec.app_label)
            if child is not None:
                self.add_edge(spec.key, child, spec.key)


class Graph:
    """A loaded migration graph and the questions asked of it."""

    def __init__(self, graph: MigrationGraph, paths: Mapping[Key, str] | None = None) -> None:
        self._graph = graph
        self._paths = dict(paths or {})

    @classmethod
    def build(cls, specs: Iterable[MigrationSpec], apps: Collection[str] = ()) -> Graph:
        """The graph ``MigrationLoader(None)`` builds from these migrations.

        ``apps`` are the labels of the scanned apps (those of ``specs`` are added); a
        dependency on any other app is external (contrib, site-packages) and skipped.
        """
        specs = list(specs)
        builder = _Builder({*apps, *(spec.app_label for spec in specs)})
        for spec in specs:
            builder.add_node(spec.key, spec)
        for spec in specs:
            builder.add_internal(spec)
        for spec in specs:
            builder.add_external(spec)
        paths = {spec.key: spec.path for spec in specs}
        graph = cls(builder.graph, paths)
        squashes = {spec.key: spec for spec in specs if spec.replaces}
        done: dict[Key, bool] = {}
        for key in squashes:  # nothing is applied: every squash is used
            graph._replace(key, squashes, done)
        graph.validate()
        return graph

    def _replace(self, key: Key, squashes: Mapping[Key, MigrationSpec],
                 done: dict[Key, bool]) -> None:
        """``MigrationLoader.replace_migration``: the squashes a squash replaces go first.

        ``done`` maps each squash started to whether it is finished: the unfinished ones are
        the squashes being replaced, so reaching one of them again closes a loop.
        """
        if done.get(key):
            return
        spec = squashes[key]
        if key in done:
            started = [k for k, finished in done.items() if not finished]
            loop = ", ".join(f"{app}.{name}" for app, name in started[started.index(key):])
            raise GraphError(  # Django: "Cyclical squash replacement found"
                f"{spec.path}: squashed migrations replace each other in a loop: {loop}.",
                "Remove one of them from the other's replaces.",
            )
        done[key] = False
        for inner in spec.replaces:
            if inner in squashes:
                self._replace(inner, squashes, done)
        self._graph.remove_replaced_nodes(key, spec.replaces)
        done[key] = True

    @classmethod
    def from_django(cls, graph: MigrationGraph, paths: Mapping[Key, str] | None = None) -> Graph:
        return cls(graph, paths)

    @classmethod
    def from_edges(
        cls, nodes: Iterable[Key], edges: Iterable[tuple[Key, Key]],
        paths: Mapping[Key, str] | None = None,
    ) -> Graph:
        """The graph with these nodes and ``(child, parent)`` edges, as a loader left it."""
        graph = MigrationGraph()
        for key in nodes:
            graph.add_node(key, None)
        for child, parent in edges:
            graph.add_dependency(None, child, parent, skip_validation=True)
        return cls(graph, paths)

    def edges(self) -> list[tuple[Key, Key]]:
        """Every ``(child, parent)`` edge, sorted."""
        return sorted(
            (key, parent.key) for key, node in self._graph.node_map.items()
            for parent in node.parents
        )

    @property
    def django_graph(self) -> MigrationGraph:
        return self._graph

    def path(self, key: Key) -> str:
        return self._paths.get(key, "")

    def validate(self) -> None:
        """``validate_consistency`` and ``ensure_not_cyclic``, as ``GraphError``."""
        for node in self._graph.node_map.values():
            if isinstance(node, DummyNode):
                raise self._missing_node_error(node)
        try:
            self._graph.ensure_not_cyclic()
        except CircularDependencyError as exc:
            nodes = from_smallest(str(exc).split(", "))
            first = nodes[0].split(".", 1)
            raise cycle_error(nodes, self.path((first[0], first[-1]))) from None

    def _missing_node_error(self, node: Any) -> GraphError:
        origin: Key = node.origin
        missing = f"{node.key[0]}.{node.key[1]}"
        where = self.path(origin)
        if any(parent.key == origin for parent in node.parents):
            fact = f"{origin[0]}.{origin[1]} must run before {missing}"
        else:
            fact = f"{origin[0]}.{origin[1]} depends on {missing}"
        return GraphError(
            f"{where + ': ' if where else ''}{fact}, which does not exist.",
            "Fix the dependency or restore the file.",
        )

    @property
    def nodes(self) -> list[Key]:
        return sorted(self._graph.nodes)

    def leaves(self) -> dict[str, tuple[str, ...]]:
        """Every app's leaf migrations (no child in the same app), sorted."""
        found: dict[str, list[str]] = {}
        for app_label, name in self._graph.leaf_nodes():
            found.setdefault(app_label, []).append(name)
        return {app: tuple(names) for app, names in sorted(found.items())}

    def conflicts(self) -> dict[str, tuple[str, ...]]:
        """``MigrationLoader.detect_conflicts``: the apps with more than one leaf."""
        return {app: names for app, names in self.leaves().items() if len(names) > 1}

    def forwards_plan(self, key: Key) -> list[Key]:
        return list(self._graph.forwards_plan(key))

    def ancestry(self, key: Key) -> list[Key]:
        """The same-app part of ``forwards_plan``, as ``makemigrations --merge`` computes it."""
        return [node for node in self._graph.forwards_plan(key) if node[0] == key[0]]


def from_smallest(cycle: list[str]) -> list[str]:
    """The loop Django reports (``app.name`` nodes), started at its smallest node: Django finds
    it from a set's pop() order, so this gives the same message on every run."""
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def cycle_error(cycle: list[str], where: str) -> GraphError:
    """The one message both engines give for a loop, ``where`` the first node's file."""
    return GraphError(
        f"{where + ': ' if where else ''}circular dependency between migrations: "
        f"{', '.join(cycle)}.",
        "Remove the dependency (or run_before) that closes the loop.",
    )
