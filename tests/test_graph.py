"""graph.py: Django's loader rules on literal specs."""

from __future__ import annotations

import pytest
from django.db.migrations.graph import MigrationGraph

from migration_ci.errors import GraphError
from migration_ci.graph.dag import Graph
from migration_ci.graph.specs import Key, MigrationSpec


def spec(key: str, *deps: str, replaces: tuple[str, ...] = (),
         run_before: tuple[str, ...] = ()) -> MigrationSpec:
    """``spec("shop.0002", "shop.0001")``: dotted keys keep the drawings readable."""

    def split(dotted: str) -> Key:
        app, name = dotted.split(".", 1)
        return (app, name)

    app, name = split(key)
    return MigrationSpec(
        app_label=app, name=name, path=f"{app}/migrations/{name}.py",
        dependencies=tuple(map(split, deps)), replaces=tuple(map(split, replaces)),
        run_before=tuple(map(split, run_before)),
    )


def test_fork_is_a_conflict_and_ancestry_is_same_app_forwards_plan() -> None:
    """
    shop:  0001 ── 0002_a
             └──── 0002_b ── (depends on billing.0001)
    """
    graph = Graph.build([
        spec("shop.0001"), spec("shop.0002_a", "shop.0001"),
        spec("shop.0002_b", "shop.0001", "billing.0001"), spec("billing.0001"),
    ])
    assert graph.leaves() == {"billing": ("0001",), "shop": ("0002_a", "0002_b")}
    assert graph.conflicts() == {"shop": ("0002_a", "0002_b")}
    assert graph.forwards_plan(("shop", "0002_b")) == [
        ("shop", "0001"), ("billing", "0001"), ("shop", "0002_b")]
    assert graph.ancestry(("shop", "0002_b")) == [("shop", "0001"), ("shop", "0002_b")]


def test_squash_tail_has_a_child() -> None:
    """
    shop:  0001 ── 0002 ── 0003          0001_squashed_0002 replaces 0001, 0002
    0003 is re-pointed to the squash; 0001 and 0002 leave the graph.
    """
    graph = Graph.build([
        spec("shop.0001"), spec("shop.0002", "shop.0001"), spec("shop.0003", "shop.0002"),
        spec("shop.0001_squashed_0002", replaces=("shop.0001", "shop.0002")),
    ])
    assert graph.nodes == [("shop", "0001_squashed_0002"), ("shop", "0003")]
    assert graph.leaves() == {"shop": ("0003",)}


def test_squash_with_replaced_files_deleted() -> None:
    """
    shop:  [0001] ── [0002] ── 0003       (bracketed files deleted; the squash stands in)
    """
    graph = Graph.build([
        spec("shop.0003", "shop.0002"),
        spec("shop.0001_squashed_0002", replaces=("shop.0001", "shop.0002")),
    ])
    assert graph.forwards_plan(("shop", "0003")) == [
        ("shop", "0001_squashed_0002"), ("shop", "0003")]


@pytest.mark.parametrize("order", [1, -1], ids=["outer squash last", "outer squash first"])
def test_a_squash_of_squashes_replaces_them_after_they_replace_theirs(order: int) -> None:
    """As Django 6.0 does, whichever squash comes first:

    shop:  0001 ── 0002 ── 0004 ── 0005
           0003_squashed replaces 0001, 0002; 0006_squashed replaces 0003_squashed, 0004
    0005 is re-pointed to 0006_squashed, the only other node left.
    """
    specs = [
        spec("shop.0001"), spec("shop.0002", "shop.0001"), spec("shop.0004", "shop.0002"),
        spec("shop.0005", "shop.0004"),
        spec("shop.0003_squashed", replaces=("shop.0001", "shop.0002")),
        spec("shop.0006_squashed", replaces=("shop.0003_squashed", "shop.0004")),
    ]
    graph = Graph.build(specs[::order])
    assert graph.nodes == [("shop", "0005"), ("shop", "0006_squashed")]
    assert graph.forwards_plan(("shop", "0005")) == [("shop", "0006_squashed"), ("shop", "0005")]


def test_run_before_across_apps() -> None:
    """
    billing.0001 ──run_before──> shop.0002   (shop.0002 now depends on billing.0001)
    """
    graph = Graph.build([
        spec("shop.0001"), spec("shop.0002", "shop.0001"),
        spec("billing.0001", run_before=("shop.0002",)),
    ])
    assert graph.forwards_plan(("shop", "0002")) == [
        ("shop", "0001"), ("billing", "0001"), ("shop", "0002")]


def test_run_before_in_the_same_app_joins_a_fork() -> None:
    """
    shop:  0001 ── 0002_a
             └──── 0002_b ──run_before──> 0002_a       one leaf: 0002_a
    """
    graph = Graph.build([
        spec("shop.0001"), spec("shop.0002_a", "shop.0001"),
        spec("shop.0002_b", "shop.0001", run_before=("shop.0002_a",)),
    ])
    assert graph.conflicts() == {}


def test_same_app_first_is_ignored() -> None:
    """shop.0002 depends on (shop, __first__): ignored (Django #22325), so 0002 is a root."""
    graph = Graph.build([spec("shop.0001"), spec("shop.0002", "shop.__first__")])
    assert graph.conflicts() == {"shop": ("0001", "0002")}


@pytest.mark.parametrize(
    ("dependency", "parent"),
    [
        pytest.param("billing.__first__", ("billing", "0001"), id="__first__ is the root"),
        pytest.param("billing.__latest__", ("billing", "0002"), id="__latest__ is the leaf"),
    ],
)
def test_cross_app_first_and_latest(dependency: str, parent: Key) -> None:
    """billing: 0001 ── 0002;   shop.0001 depends on billing.__first__ / __latest__."""
    graph = Graph.build([
        spec("billing.0001"), spec("billing.0002", "billing.0001"), spec("shop.0001", dependency),
    ])
    assert [p.key for p in graph.django_graph.node_map[("shop", "0001")].parents] == [parent]


@pytest.mark.parametrize(
    "dependency",
    [
        pytest.param("auth.0012_alter_user_first_name_max_length", id="contrib migration"),
        pytest.param("auth.__first__", id="swappable user model"),
        pytest.param("empty.__first__", id="scanned app without migrations"),
    ],
)
def test_external_and_empty_apps_are_skipped(dependency: str) -> None:
    graph = Graph.build([spec("shop.0001", dependency)], apps=["shop", "empty"])
    assert graph.forwards_plan(("shop", "0001")) == [("shop", "0001")]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(
            [spec("shop.0001"), spec("shop.0003_x", "shop.0002_missing")],
            "shop/migrations/0003_x.py: shop.0003_x depends on shop.0002_missing, which does "
            "not exist. Fix the dependency or restore the file.",
            id="missing same-app dependency",
        ),
        pytest.param(
            [spec("shop.0001", "billing.0009"), spec("billing.0001")],
            "shop/migrations/0001.py: shop.0001 depends on billing.0009, which does not exist. "
            "Fix the dependency or restore the file.",
            id="missing cross-app dependency",
        ),
        pytest.param(
            [spec("shop.0001", run_before=("billing.0009",)), spec("billing.0001")],
            "shop/migrations/0001.py: shop.0001 must run before billing.0009, which does not "
            "exist. Fix the dependency or restore the file.",
            id="missing run_before target",
        ),
        pytest.param(
            [spec("shop.0001", "shop.0002"), spec("shop.0002", "shop.0001")],
            "shop/migrations/0001.py: circular dependency between migrations: shop.0001, "
            "shop.0002. Remove the dependency (or run_before) that closes the loop.",
            id="cycle",
        ),
        pytest.param(
            [spec("shop.0001"),
             spec("shop.0002_auto", "shop.0001", replaces=("shop.0002_squashed",)),
             spec("shop.0002_squashed", "shop.0001", replaces=("shop.0002_auto",))],
            "shop/migrations/0002_auto.py: squashed migrations replace each other in a loop: "
            "shop.0002_auto, shop.0002_squashed. Remove one of them from the other's replaces.",
            id="squashes replacing each other",
        ),
    ],
)
def test_broken_graphs(specs: list[MigrationSpec], message: str) -> None:
    with pytest.raises(GraphError) as caught:
        Graph.build(specs)
    assert str(caught.value) == message


def test_from_django_wraps_an_existing_graph() -> None:
    django_graph = MigrationGraph()
    django_graph.add_node(("shop", "0001"), None)
    django_graph.add_node(("shop", "0002"), None)
    graph = Graph.from_django(django_graph)
    assert graph.django_graph is django_graph
    assert graph.conflicts() == {"shop": ("0001", "0002")}


def test_many_first_dependencies_resolve_like_django() -> None:
    """Each app's __first__ answer is kept current as edges arrive (no root_nodes() scans)."""
    specs = []
    for app in range(30):
        for number in range(1, 11):
            deps = [f"a{app}.{number - 1:04d}"] if number > 1 else []
            if app:
                deps.append(f"a{app - 1}.__first__")
            specs.append(spec(f"a{app}.{number:04d}", *deps))
    graph = Graph.build(specs)
    expected = Graph(MigrationGraph())
    for item in specs:
        expected.django_graph.add_node(item.key, item)
    for item in specs:
        for dep in item.dependencies:
            parent = (dep[0], "0001") if dep[1] == "__first__" else dep
            expected.django_graph.add_dependency(item, item.key, parent)
    assert {k: sorted(p.key for p in n.parents) for k, n in graph.django_graph.node_map.items()} \
        == {k: sorted(p.key for p in n.parents) for k, n in expected.django_graph.node_map.items()}


@pytest.mark.parametrize(
    ("billing", "before", "after"),
    [
        pytest.param(
            [spec("billing.0001_a"), spec("billing.0002_b", run_before=("billing.0001_a",))],
            ("0001_a", "0001_a"), ("0002_b", "0001_a"),
            id="run_before takes a root away",
        ),
        pytest.param(
            [spec("billing.0001_a", run_before=("billing.0002_b",)), spec("billing.0002_b")],
            ("0001_a", "0001_a"), ("0001_a", "0002_b"),
            id="run_before takes a leaf away",
        ),
        pytest.param(
            [spec("billing.0002_r"), spec("billing.0003_sq", replaces=("billing.0001_a",)),
             spec("billing.0004", "billing.0003_sq"), spec("m_app.0001", "billing.0001_a")],
            ("0002_r", "0002_r"), ("0003_sq", "0003_sq"),
            id="a stand-in for a squashed migration adds a root and a leaf",
        ),
    ],
)
def test_first_and_latest_follow_the_graph_as_it_grows(
    billing: list[MigrationSpec], before: tuple[str, str], after: tuple[str, str]
) -> None:
    """
    a_first.0001 and a_latest.0001 depend on billing.__first__ and billing.__latest__ before
    billing's (and m_app's) edges are read; z_first.0001 and z_latest.0001 afterwards. Django
    resolves each one when it reaches it, in this order, so the answers differ. A stand-in (a
    dependency on 0001_a, whose file the squash 0003_sq replaces) is a root and a leaf of
    billing until the squash takes its place.
    """
    graph = Graph.build([
        spec("a_first.0001", "billing.__first__"), spec("a_latest.0001", "billing.__latest__"),
        *billing,
        spec("z_first.0001", "billing.__first__"), spec("z_latest.0001", "billing.__latest__"),
    ])
    assert resolved(graph, "a") == before
    assert resolved(graph, "z") == after


def resolved(graph: Graph, prefix: str) -> tuple[str, str]:
    """What billing.__first__ and billing.__latest__ became for the apps ``prefix``_first and
    ``prefix``_latest."""
    [first] = graph.django_graph.node_map[(f"{prefix}_first", "0001")].parents
    [latest] = graph.django_graph.node_map[(f"{prefix}_latest", "0001")].parents
    return (first.key[1], latest.key[1])


@pytest.mark.parametrize("special", ["__first__", "__latest__"])
def test_same_app_run_before_first_or_latest_is_ignored(special: str) -> None:
    """Django's check_key ignores (shop, __first__) in shop itself, in run_before too."""
    graph = Graph.build([spec("shop.0001"), spec("shop.0002", "shop.0001"),
                         spec("shop.0003", "shop.0002", run_before=(f"shop.{special}",))])
    assert graph.edges() == [(("shop", "0002"), ("shop", "0001")),
                             (("shop", "0003"), ("shop", "0002"))]


