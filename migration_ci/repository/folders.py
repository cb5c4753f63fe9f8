"""Many merges of pull request heads with a base, each restricted to a few migrations folders,
read from git objects through caches they share: a recheck compares a few apps of each of many
pull requests, and most of what it reads is the same base.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from migration_ci.graph.specs import Side
from migration_ci.repository import git
from migration_ci.repository.trees import DEFAULT_EXCLUDES, is_excluded_path, merge_paths

Changes = Mapping[str, tuple[str | None, str | None]]
"""``git.diff_trees``: path -> (blob before, blob after); None where it is not a file."""


class CommitFiles:
    """Every regular file of the commits asked for (one ``git ls-tree`` each) and the blobs read
    (one ``git cat-file --batch`` process), kept until ``close()``."""

    def __init__(self, root: Path, exclude_dirs: Collection[str] = DEFAULT_EXCLUDES) -> None:
        self.root = root
        self.exclude_dirs = frozenset(exclude_dirs)
        self._folders: dict[str, dict[str, dict[str, str]]] = {}
        self._derived: dict[str, tuple[str, Changes]] = {}
        self._blobs: dict[str, bytes] = {}
        self._reader = git.BlobReader(root)

    def derive(self, commit: str, parent: str, changes: Changes) -> None:
        """Know ``commit``'s files as ``parent``'s with ``changes`` (``git.diff_trees(parent,
        commit)``) made: a pull request's head is its merge base and a few changes, and
        listing it whole would cost more than everything else done with it."""
        self._derived[commit] = (parent, changes)

    def in_folder(self, commit: str, folder: str) -> Mapping[str, str]:
        """Path -> blob sha of the files of ``commit`` directly in ``folder`` (none in a
        folder a check never scans)."""
        if is_excluded_path(f"{folder}/-", self.exclude_dirs):
            return {}
        if commit in self._derived:
            parent, changes = self._derived[commit]
            files = dict(self.in_folder(parent, folder))
            for path, (_, blob) in changes.items():
                if path.rpartition("/")[0] != folder:
                    continue
                if blob is None:
                    files.pop(path, None)
                else:
                    files[path] = blob
            return files
        if commit not in self._folders:
            self._folders[commit] = {}
            for path, blob in git.ls_tree(self.root, commit).items():
                self._folders[commit].setdefault(path.rpartition("/")[0], {})[path] = blob
        return self._folders[commit].get(folder, {})

    def read(self, blobs: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(blobs))
        self._blobs.update(self._reader.read(b for b in wanted if b not in self._blobs))
        return {blob: self._blobs[blob] for blob in wanted}

    def close(self) -> None:
        self._reader.close()


class FolderMerge:
    """A ``Source``: ``head`` merged with ``base`` (``merge_base`` their merge base) as
    ``MergedTree`` merges them, holding only the files of the migrations ``folders`` and the
    ``apps.py`` of their apps (it names an app's label)."""

    def __init__(self, files: CommitFiles, head: str, base: str, merge_base: str,
                 folders: Collection[str]) -> None:
        self.root, self._files = files.root, files

        def kept(commit: str) -> dict[str, str]:
            found: dict[str, str] = {}
            for folder in folders:
                found.update(files.in_folder(commit, folder))
                app = files.in_folder(commit, posixpath.dirname(folder))
                apps_py = posixpath.join(posixpath.dirname(folder), "apps.py")
                found.update({apps_py: app[apps_py]} if apps_py in app else {})
            return found

        ours, theirs, ancestor = kept(head), kept(base), kept(merge_base)
        self._sides = merge_paths(ours.keys(), theirs.keys(), ancestor.keys())
        self._blobs = {path: _merged_blob(ours.get(path), theirs.get(path), ancestor.get(path))
                       for path in self._sides}

    def list_paths(self) -> list[str]:
        return sorted(self._sides)

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes]:
        contents = self._files.read(self._blobs[path] for path in paths)
        return {path: contents[self._blobs[path]] for path in paths}

    def side_of(self, path: str) -> Side:
        return self._sides[path]


def _merged_blob(ours: str | None, theirs: str | None, ancestor: str | None) -> str:
    """``MergedTree``'s rule: this branch's version, unless it left the file as the merge base
    had it and the base changed it."""
    if ours is None:
        assert theirs is not None  # merge_paths kept the path: one side has it
        return theirs
    if theirs is not None and ancestor is not None and ours == ancestor != theirs:
        return theirs
    return ours
