"""Edges of the graph and of conflict descriptions that the scenario tests do not reach: a
graph as the Django engine hands it over, messages without a file to name, leaves at different
depths, explicit timestamps and folders, several clashes."""

from __future__ import annotations

import dataclasses

import pytest

from migration_ci.errors import GraphError
from migration_ci.fix.merge import describe_conflicts, join_names, render_merge
from migration_ci.graph.dag import Graph
from migration_ci.graph.specs import Key, MigrationSpec, OperationSpec
from tests.test_graph import spec

ONE, TWO = ("shop", "0001"), ("shop", "0002")


def test_a_graph_as_the_django_engine_hands_it_over() -> None:
    paths = {ONE: "shop/migrations/0001.py"}
    graph = Graph.from_edges([ONE, TWO], [(TWO, ONE)], paths)
    assert graph.edges() == [(TWO, ONE)]
    assert (graph.path(ONE), graph.path(TWO)) == ("shop/migrations/0001.py", "")
    assert graph.leaves() == {"shop": ("0002",)}
    assert graph.forwards_plan(TWO) == [ONE, TWO]
    again = Graph.from_django(graph.django_graph, paths)
    assert (again.edges(), again.path(ONE)) == ([(TWO, ONE)], "shop/migrations/0001.py")


def test_a_cycle_among_migrations_without_files_names_none() -> None:
    graph = Graph.from_edges([ONE, TWO], [(TWO, ONE), (ONE, TWO)])
    with pytest.raises(GraphError) as info:
        graph.validate()
    assert str(info.value) == (
        "circular dependency between migrations: shop.0001, shop.0002. Remove the dependency "
        "(or run_before) that closes the loop."
    )


def test_a_missing_dependency_of_a_migration_without_a_file() -> None:
    orphan = dataclasses.replace(spec("shop.0002", "shop.0001"), path="")
    with pytest.raises(GraphError) as info:
        Graph.build([orphan])
    assert str(info.value) == (
        "shop.0002 depends on shop.0001, which does not exist. Fix the dependency or restore "
        "the file."
    )


def describe(specs: list[MigrationSpec], **options: object) -> tuple:  # type: ignore[type-arg]
    graph = Graph.build(specs)
    return describe_conflicts(graph, {s.key: s for s in specs}, lambda path: "both",
                              {"shop": "shop/migrations"}, **options)  # type: ignore[arg-type]


def test_leaves_at_different_depths() -> None:
    """
    0001 ─┬─ 0002_a ── 0003_a
          └─ 0002_b
    """
    [conflict] = describe([spec("shop.0001"), spec("shop.0002_a", "shop.0001"),
                           spec("shop.0003_a", "shop.0002_a"), spec("shop.0002_b", "shop.0001")])
    assert conflict.common_ancestor == "0001"
    assert [b.migrations for b in conflict.branches] == [("0002_b",), ("0002_a", "0003_a")]


def test_a_given_timestamp_names_a_long_merge_and_an_unknown_folder_is_empty() -> None:
    long_a, long_b = "0002_" + "a" * 30, "0002_" + "b" * 30
    specs = [spec("other.0001"), spec(f"other.{long_a}", "other.0001"),
             spec(f"other.{long_b}", "other.0001")]
    [conflict] = describe(specs, timestamp="20991231_2359")
    assert (conflict.merge_name, conflict.migrations_dir) == ("0003_merge_20991231_2359", "")


def test_a_leaf_without_a_spec_has_no_path() -> None:
    """A leaf the graph knows from another engine's answer, without a parsed file."""
    graph = Graph.from_edges([ONE, ("shop", "0002_a"), ("shop", "0002_b")],
                             [(("shop", "0002_a"), ONE), (("shop", "0002_b"), ONE)])
    [conflict] = describe_conflicts(graph, {}, lambda path: "base" if path else "branch",
                                    {"shop": "shop/migrations"})
    assert [(leaf.path, leaf.side) for leaf in conflict.leaves] == [
        ("", "branch"), ("", "branch")]


def squashed(name: str, *replaces: str) -> MigrationSpec:
    return spec(f"shop.{name}", replaces=tuple(f"shop.{r}" for r in replaces))


def test_no_common_ancestor_from_one_squash_is_not_blamed_on_squashes() -> None:
    """
    0001_squashed (replaces 0001, 0002) ── 0003_a
    0001_other ── 0003_b
    """
    specs = [squashed("0001_squashed", "0001", "0002"), spec("shop.0003_a", "shop.0001_squashed"),
             spec("shop.0001_other"), spec("shop.0003_b", "shop.0001_other")]
    [conflict] = describe(specs)
    assert conflict.merge_error == (
        "Migrations 0003_a and 0003_b in app 'shop' share no common ancestor, so Django cannot "
        "merge them. Make one depend on the other, or delete one and run makemigrations."
    )


@pytest.mark.parametrize(
    ("names", "joined"),
    [(["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")],
)
def test_join_names(names: list[str], joined: str) -> None:
    assert join_names(names) == joined


def op(kind: str, model: str, field: str) -> OperationSpec:
    return OperationSpec(kind, f"~ {kind} {field} on {model}", model, field)


def test_clashes_on_two_models_are_both_reported() -> None:
    a = dataclasses.replace(spec("shop.0002_a", "shop.0001"), operations=(
        op("AlterField", "order", "total"), op("AlterField", "product", "price")))
    b = dataclasses.replace(spec("shop.0002_b", "shop.0001"), operations=(
        op("AlterField", "order", "total"), op("AlterField", "product", "price")))
    [conflict] = describe([spec("shop.0001"), a, b])
    assert [(o.model, o.field) for o in conflict.overlaps] == [
        ("order", "total"), ("product", "price")]


def test_the_merge_file_has_django_s_header_by_default() -> None:
    keys: list[Key] = [("shop", "0002_a"), ("shop", "0002_b")]
    assert render_merge("shop", "0003_merge", keys).startswith("# Generated by Django ")
    assert not render_merge("shop", "0003_merge", keys, include_header=False).startswith("#")
