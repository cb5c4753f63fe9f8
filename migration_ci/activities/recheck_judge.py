"""The recheck's git side: the open pull requests' heads fetched in a few calls, which of them a
push may have changed, and each judged merged with a base exactly as its own run judges it.

Static only: files are read from git objects (``MergedTree`` over ``GitTree``); nothing of a
pull request, a fork's included, is checked out, imported or run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migration_ci.activities import statuses
from migration_ci.activities.check import analyze, in_scanned_paths
from migration_ci.activities.report import build_document
from migration_ci.config import CONFIG_FILE, Config, load_config
from migration_ci.errors import GitError, MigrationCIError
from migration_ci.github.api import PullRequest
from migration_ci.graph import scan
from migration_ci.graph.dag import Graph
from migration_ci.parsecache import ParseCache, cache_dir
from migration_ci.report.status import Status, describe
from migration_ci.repository import git
from migration_ci.repository.folders import CommitFiles, FolderMerge
from migration_ci.repository.trees import GitTree, MergedTree

# Commits fetched from each tip, deeper each round, then the whole history: as
# action_checkout.connect_history does for one pull request, but one fetch for all of them.
FETCH_DEPTHS: tuple[int | None, ...] = (50, 1000, None)


def pull_ref(number: int) -> str:
    """Where a pull request's head is fetched to: out of the way of branches and remotes."""
    return f"refs/migration-ci/pull/{number}"


@dataclass(frozen=True)
class Scope:
    """What a set of changed files can change in a check: the migrations folders they are in,
    or everything (an ``apps.py`` names an app's label, the config file what is scanned)."""

    folders: frozenset[str] = frozenset()
    everything: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.folders or self.everything)

    def overlaps(self, other: Scope) -> bool:
        if self.is_empty or other.is_empty:
            return False
        return self.everything or other.everything or bool(self.folders & other.folders)


EVERYTHING = Scope(everything=True)


def scope_of(paths: Iterable[str]) -> Scope:
    folders: set[str] = set()
    for path in paths:
        directory, name = posixpath.split(path)
        if name in ("apps.py", CONFIG_FILE):
            return EVERYTHING
        parts = directory.split("/")
        if "migrations" in parts:
            folders.add("/".join(parts[: len(parts) - parts[::-1].index("migrations")]))
    return Scope(frozenset(folders))


def changed_scope(root: Path, old: str, new: str) -> Scope:
    return scope_of(git.diff_trees(root, old, new))


def push_scope(root: Path, before: str, after: str) -> Scope:
    """What the push changed; everything when its old commit is unknown or cannot be had."""
    if not before:
        return EVERYTHING
    try:
        if not git.has_commit(root, before):
            git.fetch(root, "origin", [before], depth=1)
        return changed_scope(root, before, after)
    except GitError:
        return EVERYTHING


def find_merge_base(root: Path, head: str, base: str) -> str | None:
    """The merge base, or None while the fetched history does not reach it (or a commit is
    not there at all)."""
    try:
        return git.merge_base(root, head, base)
    except GitError:
        return None


def fetch_heads(root: Path, pulls: Sequence[PullRequest], bases: Sequence[str]) -> dict[int, str]:
    """Fetch every pull request's head (``refs/pull/N/head``: forks included) and the ``bases``
    in one call, deeper until each head meets ``bases[0]``; merge base by pull request number.

    A pull request whose listed head is not what was fetched (pushed to since) is left out:
    its own run judges the new head.
    """
    found: dict[int, str] = {}
    wanted = list(pulls)
    for depth in FETCH_DEPTHS if git.is_shallow(root) else (None,):
        _fetch(root, [f"+refs/pull/{p.number}/head:{pull_ref(p.number)}" for p in wanted]
               + list(bases), depth)
        present = git.present_commits(root, [p.head_sha for p in wanted])
        wanted = [p for p in wanted if p.head_sha in present]
        for pull in wanted:
            merge_base = find_merge_base(root, pull.head_sha, bases[0])
            if merge_base is not None:
                found[pull.number] = merge_base
        wanted = [p for p in wanted if p.number not in found]
        if not wanted or not git.is_shallow(root):
            break
    return found


def _fetch(root: Path, refspecs: list[str], depth: int | None) -> None:
    """One fetch; when it fails (a head that vanished), one per refspec, keeping what works."""
    try:
        git.fetch(root, "origin", refspecs, depth=depth,
                  unshallow=depth is None and git.is_shallow(root))
    except GitError:
        for refspec in refspecs:
            try:
                git.fetch(root, "origin", [refspec], depth=depth,
                          unshallow=depth is None and git.is_shallow(root))
            except GitError:
                continue


@dataclass(frozen=True)
class Verdict:
    """A pull request merged with a base: the report document and the status it earns."""

    report: dict[str, Any]
    status: Status
    base_commits: Mapping[str, str]  # conflicting leaf from the base -> the commit that added it


def project_config(root: Path, working_directory: str) -> Config:
    """The project's ``.migration-ci.yml`` as its own run reads it, ``paths`` made relative to
    the repository (as ``cli.options.Roots.scan_paths`` does)."""
    config = load_config(root / working_directory)
    if working_directory in (".", ""):
        return config
    return replace(config, paths=tuple(posixpath.normpath(posixpath.join(working_directory, p))
                                       for p in config.paths))


def overlap(push: Scope, pull: Scope) -> frozenset[str] | None:
    """The migrations folders both changed; None when either changed what every app depends
    on (an ``apps.py``, the config file)."""
    return None if push.everything or pull.everything else push.folders & pull.folders


Leaves = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
"""Conflicting apps, each with its leaves and the side each came from."""


class Judge:
    """Judges the pull requests of one push: ``after`` the branch's new commit, ``before`` its
    old one ("" when unknown). The trees, blobs and parsed files are shared by all of them."""

    def __init__(self, root: Path, working_directory: str, branch: str, after: str,
                 before: str) -> None:
        self.root, self.working_directory, self.branch = root, working_directory, branch
        self.after, self.before = after, before
        self.config = project_config(root, working_directory)
        self.files = CommitFiles(root)
        self.cache = ParseCache(cache_dir())
        self._verdicts: dict[tuple[str, str], Verdict] = {}

    def close(self) -> None:
        self.files.close()
        self.cache.save()

    def scope_of_pull(self, head: str, merge_base: str) -> Scope:
        """What the pull request changed since its merge base with the new base; its files
        are known from these changes from then on."""
        changes = git.diff_trees(self.root, merge_base, head)
        self.files.derive(head, merge_base, changes)
        return scope_of(changes)

    def verdict(self, head: str, base: str | None = None) -> Verdict:
        """``head`` merged with the new base (or ``base``), as the pull request's own run
        judges it: every app, the report document, the status."""
        key = (head, base or self.after)
        if key not in self._verdicts:
            self._verdicts[key] = judge(self.root, self.config, head, key[1], self.branch,
                                        self.working_directory)
        return self._verdicts[key]

    def is_unchanged(self, head: str, merge_base: str, folders: frozenset[str] | None) -> bool:
        """Whether the push left the pull request's verdict as it was, so nothing is written.

        Only the apps whose migrations both changed (``folders``) can have changed: their
        leaves are compared, merged with the old base and with the new. With ``folders`` None,
        every app is judged both ways.
        """
        if not self.before:
            return False
        try:
            if folders is None:
                return self.verdict(head).status.says_the_same(
                    self.verdict(head, self.before).status)
            old_merge_base = find_merge_base(self.root, head, self.before)
            return old_merge_base is not None and self.leaves(
                head, self.after, merge_base, folders) == self.leaves(
                head, self.before, old_merge_base, folders)
        except MigrationCIError:
            return False

    def leaves(self, head: str, base: str, merge_base: str, folders: frozenset[str]) -> Leaves:
        """The conflicting leaves of the apps in ``folders``, by ``check.analyze``'s steps:
        an app's leaves depend on its own migrations only (a dependency on another app's
        migration is an edge between apps), so the other apps are left out."""
        source = FolderMerge(self.files, head, base, merge_base, folders)
        paths = [p for p in source.list_paths() if in_scanned_paths(p, self.config.paths)]
        packages = scan.find_packages(paths, source.read_many, exclude=self.config.exclude,
                                      label_overrides=self.config.app_labels)
        specs = scan.load_specs(packages, source.read_many, self.config.auth_user_model,
                                self.cache)
        where = {spec.key: spec.path for spec in specs}
        conflicts = Graph.build(specs, {p.app_label for p in packages}).conflicts()
        return tuple((app, tuple((name, source.side_of(where[app, name])) for name in names))
                     for app, names in sorted(conflicts.items()))


def judge(root: Path, config: Config, head: str, base: str, branch: str,
          working_directory: str) -> Verdict:
    """``head`` merged with ``base`` (a commit of ``branch``): the pull request's own check."""
    with GitTree(root, head) as tree:
        source = MergedTree(root, base, head=tree)
        analysis = analyze(source, config)
    report = build_document(analysis, working_directory=working_directory)
    report["base"] = {"ref": branch, "sha": source.base_sha}
    commits = statuses.find_base_commits(root, report, since=source.merge_base_sha)
    return Verdict(report, describe(report, commits), commits)
