"""The check activity: which apps have more than one leaf migration, here or once merged.

Glue: every collaborator comes in as a parameter or is one of our adapters; the rules
live in the pure core (scan, parse, graph, merge).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Literal, TypeVar

from migration_ci.config import Config
from migration_ci.fix.merge import describe_conflicts
from migration_ci.graph import scan
from migration_ci.graph.dag import Graph
from migration_ci.graph.specs import (
    CheckResult,
    Key,
    MigrationPackage,
    MigrationSpec,
    key_from_json,
    spec_from_json,
)
from migration_ci.parsecache import ParseCache, cache_dir
from migration_ci.project.session import ProjectSpec, run_worker
from migration_ci.project.tempcopy import add_untracked, materialize
from migration_ci.repository import git
from migration_ci.repository.trees import GitTree, MergedTree, Source, WorkingTree

Engine = Literal["static", "django"]
T = TypeVar("T")


@dataclass(frozen=True)
class Analysis:
    """A check result with what produced it, for the activities that build on a check."""

    result: CheckResult
    graph: Graph
    specs: Mapping[Key, MigrationSpec]
    packages: tuple[MigrationPackage, ...]
    source: Source


def open_source(root: Path, base: str | None, head: str | None = None) -> Source:
    """The working tree (or the commit ``head``), merged with ``base`` when one is given."""
    tree: Source = GitTree(root, head) if head else WorkingTree(root)
    return MergedTree(root, base, head=tree if head else None) if base else tree


def in_scanned_paths(path: str, roots: Sequence[str]) -> bool:
    if any(r in (".", "") for r in roots):
        return True
    parts = PurePosixPath(path).parts
    return any(parts[: len(PurePosixPath(r).parts)] == PurePosixPath(r).parts for r in roots)


def analyze(source: Source, config: Config) -> Analysis:
    """Static engine: read the migration files with ``ast``; no project code is imported."""
    paths = [p for p in source.list_paths() if in_scanned_paths(p, config.paths)]
    found = scan.scan_tree(
        paths, source.read_many, label_overrides=config.app_labels, exclude=config.exclude
    )
    packages = tuple(found.packages)
    cache = ParseCache(cache_dir())
    specs = scan.load_specs(packages, source.read_many, config.auth_user_model, cache)
    cache.save()
    graph = Graph.build(specs, {p.app_label for p in packages})
    analysis = _finish("static", graph, {s.key: s for s in specs}, packages, source)
    return replace(analysis, result=replace(analysis.result, skipped=tuple(found.skipped)))


def head_commit(source: Source) -> str | None:
    """The commit a source reads this branch from (``--head``); None for the working tree."""
    if isinstance(source, GitTree):
        return source.sha
    if isinstance(source, MergedTree):
        return source.head_commit
    return None


@contextmanager
def loadable_project(repo: Path, head: str | None, project_dir: Path) -> Iterator[Path]:
    """The project folder Django loads: the working tree's, or with ``--head`` that commit's
    files written to a temporary folder (the working tree is never touched), completed by the
    files of the project folder that git does not track (a settings file or ``.env`` a CI step
    wrote; never a migration: those come from the commit)."""
    if head is None:
        yield project_dir
        return
    top = git.toplevel(repo)
    prefix = project_dir.resolve().relative_to(top.resolve())
    with tempfile.TemporaryDirectory(prefix="migration-ci-head-") as tmp:
        git.export_tree(top, head, Path(tmp))
        add_untracked(top, git.untracked_paths(top, prefix.as_posix()), Path(tmp))
        yield Path(tmp) / prefix


def analyze_loaded(source: Source, settings: str, project_dir: Path) -> Analysis:
    """Django-loaded engine: the project's own loader gives the graph, in the worker process.

    The loader reads a temporary copy of the project (settings run there, not in the user's
    tree), holding the merged result when merged with a base; paths are reported relative to
    the repository either way.
    """
    overlay = source.overlay()[0] if isinstance(source, MergedTree) else {}
    files = project_relative(overlay, source.root, project_dir)
    with (
        loadable_project(Path(source.root), head_commit(source), project_dir) as loadable,
        materialize(loadable, files) as copy,
    ):
        graph, specs = load_graph(ProjectSpec(copy, settings, home=project_dir))
    prefix = project_dir.resolve().relative_to(Path(source.root).resolve()).as_posix()
    if prefix != ".":
        specs = {k: replace(s, path=f"{prefix}/{s.path}") for k, s in specs.items()}
    packages = _packages_from_specs(specs.values())
    return _finish("django", graph, specs, packages, source)


def load_graph(project: ProjectSpec) -> tuple[Graph, dict[Key, MigrationSpec]]:
    """Ask the worker for the loaded graph; paths are relative to the project folder."""
    answer = run_worker(project, "graph", {"root": str(project.project_dir)})
    specs = {spec.key: spec for spec in map(spec_from_json, answer["specs"])}
    nodes = map(key_from_json, answer["nodes"])
    edges = [(key_from_json(child), key_from_json(parent)) for child, parent in answer["edges"]]
    paths = {key: spec.path for key, spec in specs.items()}
    return Graph.from_edges(nodes, edges, paths), specs


def project_relative(files: Mapping[str, T], repo: Path, project_dir: Path) -> dict[str, T]:
    """Re-key repository-relative paths to ``project_dir``; files outside it are dropped."""
    prefix = project_dir.resolve().relative_to(repo.resolve()).as_posix()
    if prefix == ".":
        return dict(files)
    return {
        path[len(prefix) + 1 :]: value
        for path, value in files.items()
        if path.startswith(prefix + "/")
    }


def _packages_from_specs(specs: Iterable[MigrationSpec]) -> tuple[MigrationPackage, ...]:
    dirs: dict[str, str] = {}
    for spec in specs:
        dirs.setdefault(spec.app_label, str(PurePosixPath(spec.path).parent))
    return tuple(
        MigrationPackage(app_label=app, app_dir=str(PurePosixPath(d).parent), migrations_dir=d)
        for app, d in sorted(dirs.items())
    )


def merge_timestamp(source: Source) -> str | None:
    """The time a long merge name holds (Django puts "now" there), taken from the commits judged
    so that every run on them names the merge alike: the newer of the head and base commits,
    in UTC. The working tree alone has no commit to take it from: None, "now" as in Django."""
    shas = [source.sha] if isinstance(source, GitTree) else [
        sha for sha in (getattr(source, "head_sha", None), getattr(source, "base_sha", None))
        if sha
    ]
    if not shas:
        return None
    seconds = max(git.commit_times(Path(source.root), shas))
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y%m%d_%H%M")


def _finish(
    engine: Engine,
    graph: Graph,
    specs: Mapping[Key, MigrationSpec],
    packages: tuple[MigrationPackage, ...],
    source: Source,
) -> Analysis:
    dirs = {p.app_label: p.migrations_dir for p in packages}
    timestamp = merge_timestamp(source) if graph.conflicts() else None
    conflicts = describe_conflicts(graph, specs, source.side_of, dirs, timestamp=timestamp)
    warnings = tuple(w for key in sorted(specs) for w in specs[key].warnings)
    result = CheckResult(
        engine=engine,
        conflicts=conflicts,
        leaves=graph.leaves(),
        warnings=warnings,
        base_ref=getattr(source, "base_ref", None),
        base_sha=getattr(source, "base_sha", None),
        head_sha=getattr(source, "head_sha", None),
        migration_count=len(specs),
    )
    return Analysis(result, graph, specs, packages, source)
