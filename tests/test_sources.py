from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from migration_ci.errors import GitError, MigrationFileError
from migration_ci.repository import git
from migration_ci.repository.trees import (
    GitTree,
    MergedTree,
    Source,
    WorkingTree,
    blob_id,
    merge_paths,
)
from tests.support.gitrepo import GIT_ENV, GitRepo, isolated_env, migration
from tests.test_git import clone, git_log


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The adapter runs git with the process environment: make it the tests' isolated one."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


# --- WorkingTree -----------------------------------------------------------------------------


def test_working_tree_lists_files_and_prunes_tool_directories(tmp_path: Path) -> None:
    root = tmp_path / "project"
    kept = [
        "manage.py",
        "shop/__init__.py",
        "shop/migrations/0001_initial.py",
        "shop/migrations/__init__.py",
        "src/environment/migrations/0001_initial.py",
        "src/builder/x.py",
    ]
    pruned = [
        ".git/HEAD",
        ".venv/lib/python3.12/site-packages/django/contrib/auth/migrations/0001_initial.py",
        ".tox/py312/x.py",
        "node_modules/pkg/index.js",
        "shop/__pycache__/x.cpython-312.pyc",
        "build/lib/shop/migrations/0001_initial.py",
        "dist/x.py",
        "env/x.py",
        "shop.egg-info/PKG-INFO",
        "lib/python3/site-packages/x.py",
        "myenv/pyvenv.cfg",  # a virtualenv under any name
        "myenv/lib/shop/migrations/0001_initial.py",
    ]
    for path in kept + pruned:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
    (root / "loop").symlink_to(root, target_is_directory=True)  # not followed
    assert WorkingTree(root).list_paths() == sorted(kept)


def test_working_tree_with_custom_excludes(tmp_path: Path) -> None:
    for path in ["a/x.py", "legacy/y.py", "build/z.py"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    assert WorkingTree(tmp_path, exclude_dirs={"legacy"}).list_paths() == ["a/x.py", "build/z.py"]


def test_working_tree_reads_bytes(tmp_path: Path) -> None:
    (tmp_path / "café").mkdir()
    (tmp_path / "café" / "a b.py").write_bytes(b"\xff\xfe not utf-8\r\n")
    tree = WorkingTree(tmp_path)
    assert tree.list_paths() == ["café/a b.py"]
    assert tree.read_many(["café/a b.py"]) == {"café/a b.py": b"\xff\xfe not utf-8\r\n"}
    assert tree.side_of("café/a b.py") == "both"


def test_working_tree_read_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MigrationFileError) as info:
        WorkingTree(tmp_path).read_many(["shop/migrations/0002_gone.py"])
    assert str(info.value) == (
        "Cannot read 'shop/migrations/0002_gone.py': No such file or directory. "
        f"Check that the file exists under '{tmp_path}' and is readable."
    )


# --- GitTree ---------------------------------------------------------------------------------


def test_git_tree_reads_a_commit_without_checking_it_out(repo: GitRepo) -> None:
    repo.write("shop/migrations/0001_initial.py", migration())
    repo.write(".venv/x.py", "")
    first = repo.commit()
    repo.write("shop/migrations/0001_initial.py", "changed\n")
    repo.write("shop/migrations/0002_more.py", migration([("shop", "0001_initial")]))
    repo.commit()
    with GitTree(repo.root / "shop", first) as tree:
        assert tree.root == repo.root
        assert tree.sha == first
        assert tree.list_paths() == ["shop/migrations/0001_initial.py"]
        assert tree.read_many(tree.list_paths()) == {
            "shop/migrations/0001_initial.py": migration().encode()
        }
        assert tree.side_of("shop/migrations/0001_initial.py") == "both"


# --- merge_paths (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "base", "ancestor", "expected"),
    [
        pytest.param({"a"}, {"a"}, {"a"}, {"a": "both"}, id="unchanged"),
        pytest.param({"a", "b"}, {"a"}, {"a"}, {"a": "both", "b": "branch"}, id="head adds"),
        pytest.param({"a"}, {"a", "c"}, {"a"}, {"a": "both", "c": "base"}, id="base adds"),
        pytest.param(set(), {"a"}, {"a"}, {}, id="head deletes"),
        pytest.param({"a"}, set(), {"a"}, {}, id="base deletes"),
        pytest.param({"a"}, {"a"}, set(), {"a": "both"}, id="both add the same path"),
        pytest.param(set(), set(), {"a"}, {}, id="both delete"),
        pytest.param({"b"}, {"a"}, {"a"}, {"b": "branch"}, id="head renames"),
        pytest.param({"a"}, {"b"}, {"a"}, {"b": "base"}, id="base renames"),
    ],
)
def test_merge_paths(
    head: set[str], base: set[str], ancestor: set[str], expected: dict[str, str]
) -> None:
    assert merge_paths(head, base, ancestor) == expected


def test_blob_id_matches_git(repo: GitRepo) -> None:
    data = b"from django.db import migrations\r\n\x00\xff"
    repo.write("x.bin", data)
    repo.commit()
    sha = git.ls_tree(repo.root, "HEAD")["x.bin"]
    assert blob_id(data, like=sha) == sha


# --- MergedTree ------------------------------------------------------------------------------

Files = Mapping[str, "str | None"]  # path -> content, None to delete


def fork(repo: GitRepo, common: Files, on_base: Files, on_branch: Files) -> GitRepo:
    """main: common, then on_base; feature (checked out) from common: on_branch."""
    for changes in (common, on_base):
        for path, content in changes.items():
            if content is None:
                repo.remove(path)
            else:
                repo.write(path, content)
        repo.commit()
        if changes is common:
            repo.branch("feature")
            repo.checkout("main")
    repo.checkout("feature")
    for path, content in on_branch.items():
        if content is None:
            repo.remove(path)
        else:
            repo.write(path, content)
    repo.commit()
    return repo


HEADS: list[object] = [
    pytest.param(lambda root: None, id="working tree"),
    pytest.param(lambda root: GitTree(root, "HEAD"), id="HEAD commit"),
]

M = "app/migrations/"
INIT = {M + "__init__.py": "", M + "0001_initial.py": "initial\n"}


@pytest.mark.parametrize("make_head", HEADS)
@pytest.mark.parametrize(
    ("common", "on_base", "on_branch", "expected"),
    [
        pytest.param(
            INIT, {M + "0002_a.py": "a\n"}, {M + "0002_b.py": "b\n"},
            {M + "0001_initial.py": ("both", "initial\n"), M + "0002_a.py": ("base", "a\n"),
             M + "0002_b.py": ("branch", "b\n")},
            id="each side adds a migration",
        ),
        pytest.param(
            {**INIT, M + "0002_x.py": "x\n"}, {}, {M + "0002_x.py": None},
            {M + "0001_initial.py": ("both", "initial\n")},
            id="branch deletes a base migration",
        ),
        pytest.param(
            {**INIT, M + "0002_x.py": "x\n"}, {M + "0002_x.py": None}, {M + "0003.py": "3\n"},
            {M + "0001_initial.py": ("both", "initial\n"), M + "0003.py": ("branch", "3\n")},
            id="base deletes one the branch kept unchanged",
        ),
        pytest.param(
            INIT, {M + "0001_initial.py": "base edit\n"}, {M + "0001_initial.py": "our edit\n"},
            {M + "0001_initial.py": ("both", "our edit\n")},
            id="both edit the same file",
        ),
        pytest.param(
            INIT, {M + "0001_initial.py": "base edit\n"}, {M + "0002.py": "2\n"},
            {M + "0001_initial.py": ("both", "base edit\n"), M + "0002.py": ("branch", "2\n")},
            id="base edits a file the branch left alone",
        ),
        pytest.param(
            INIT, {M + "0002.py": "2\n"}, {M + "0001_initial.py": "our edit\n"},
            {M + "0001_initial.py": ("both", "our edit\n"), M + "0002.py": ("base", "2\n")},
            id="branch edits a file the base left alone",
        ),
        pytest.param(
            {**INIT, M + "0002_old.py": "2\n"}, {},
            {M + "0002_old.py": None, M + "0002_new.py": "2\n"},
            {M + "0001_initial.py": ("both", "initial\n"), M + "0002_new.py": ("branch", "2\n")},
            id="branch renames a file",
        ),
        pytest.param(
            {**INIT, M + "0002_old.py": "2\n"},
            {M + "0002_old.py": None, M + "0002_new.py": "2\n"}, {},
            {M + "0001_initial.py": ("both", "initial\n"), M + "0002_new.py": ("base", "2\n")},
            id="base renames a file",
        ),
        pytest.param(
            INIT, {"shop café/migrations/0001 first.py": "é\n"},
            {"shop café/migrations/0002 ünïcode.py": "ü\n"},
            {M + "0001_initial.py": ("both", "initial\n"),
             "shop café/migrations/0001 first.py": ("base", "é\n"),
             "shop café/migrations/0002 ünïcode.py": ("branch", "ü\n")},
            id="paths with spaces and unicode",
        ),
    ],
)
def test_merged_tree(
    repo: GitRepo, make_head: Callable[[Path], Source | None], common: Files, on_base: Files,
    on_branch: Files, expected: dict[str, tuple[str, str]],
) -> None:
    fork(repo, common, on_base, on_branch)
    with MergedTree(repo.root, "main", head=make_head(repo.root)) as merged:
        paths = [p for p in merged.list_paths() if not p.endswith("__init__.py")]
        contents = merged.read_many(paths)
        actual = {p: (merged.side_of(p), contents[p].decode()) for p in paths}
    assert paths == sorted(expected)
    assert actual == expected


def test_merged_tree_names_its_commits(repo: GitRepo) -> None:
    fork(repo, INIT, {M + "0002_a.py": "a\n"}, {M + "0002_b.py": "b\n"})
    with MergedTree(repo.root, "main") as merged:
        assert merged.base_sha == repo.git("rev-parse", "main")
        assert merged.head_sha == repo.git("rev-parse", "feature")
        assert merged.merge_base_sha == repo.git("merge-base", "main", "feature")
        assert merged.root == repo.root


def test_merged_tree_sees_uncommitted_work(repo: GitRepo) -> None:
    fork(repo, INIT, {M + "0001_initial.py": "base edit\n", M + "0002_a.py": "a\n"}, {})
    repo.write(M + "0002_b.py", "untracked\n")
    # A CRLF checkout of a file the branch did not change still takes the base's edit.
    repo.write(M + "0001_initial.py", b"initial\r\n")
    with MergedTree(repo.root, "main") as merged:
        contents = merged.read_many([M + "0001_initial.py", M + "0002_a.py", M + "0002_b.py"])
        assert merged.side_of(M + "0002_b.py") == "branch"
    assert contents == {
        M + "0001_initial.py": b"base edit\n",
        M + "0002_a.py": b"a\n",
        M + "0002_b.py": b"untracked\n",
    }


def test_merged_tree_uses_one_cat_file_process(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {f"{M}{i:04}_base.py": f"{i}\n" for i in range(2, 40)}
    fork(repo, INIT, {**base, M + "0001_initial.py": "edited\n"}, {M + "0002_b.py": "b\n"})
    log = git_log(tmp_path, monkeypatch)
    with MergedTree(repo.root, "main", head=GitTree(repo.root, "HEAD")) as merged:
        paths = merged.list_paths()
        first = merged.read_many(paths[:5])
        everything = merged.read_many(paths)
        head_reader_process = merged._reader._proc
        assert head_reader_process is not None
    assert head_reader_process.returncode == 0  # closed with the merged tree
    assert first == {p: everything[p] for p in paths[:5]}
    assert everything[M + "0001_initial.py"] == b"edited\n"
    assert [line for line in log.read_text().splitlines() if line.startswith("cat-file")] == [
        "cat-file --batch"
    ]


def test_an_unclosed_tree_ends_its_git_process_when_collected(repo: GitRepo) -> None:
    fork(repo, INIT, {M + "0001_initial.py": "edited\n"}, {})
    merged = MergedTree(repo.root, "main")
    assert merged.read_many([M + "0001_initial.py"]) == {M + "0001_initial.py": b"edited\n"}
    process = merged._reader._proc
    assert process is not None and process.poll() is None
    del merged
    gc.collect()
    assert process.returncode == 0


def test_merged_tree_with_unknown_base(repo: GitRepo) -> None:
    fork(repo, INIT, {}, {})
    with pytest.raises(GitError) as info:
        MergedTree(repo.root, "mian")
    assert str(info.value) == (
        f"Git ref 'mian' is not in '{repo.root}'. Check the name; git branch --all lists the "
        "branches this clone has."
    )


def test_merged_tree_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        MergedTree(tmp_path, "main")
    assert str(info.value) == (
        f"'{tmp_path}' is not inside a git repository. Run migration-ci from your project's "
        "checkout, or leave out --base and --head."
    )


def test_merged_tree_of_unrelated_histories(repo: GitRepo) -> None:
    fork(repo, INIT, {}, {})
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated")
    with pytest.raises(GitError) as info:
        MergedTree(repo.root, "main")
    assert str(info.value) == (
        f"'HEAD' and 'main' share no history in '{repo.root}'. Pass as --base the branch this "
        "one will be merged into."
    )


def test_merged_tree_in_a_shallow_clone(repo: GitRepo, tmp_path: Path) -> None:
    """GitHub's default checkout is depth 1: the base, then the merge base, must be fetched."""
    fork(repo, INIT, {M + "0002_a.py": "a\n"}, {M + "0002_b.py": "b\n"})
    root = clone(repo, tmp_path / "clone", "--depth", "1", "--branch", "feature")

    with pytest.raises(GitError) as info:
        MergedTree(root, "origin/main")
    assert str(info.value) == (
        "Git ref 'origin/main' is not in this shallow clone: the branch was not fetched. "
        "Fetch it: git fetch --no-tags --depth=50 origin main:refs/remotes/origin/main"
    )

    run_hint(root, "git fetch --no-tags --depth=50 origin main:refs/remotes/origin/main")
    with pytest.raises(GitError) as info:
        MergedTree(root, "origin/main")
    assert str(info.value) == (
        f"'HEAD' and 'origin/main' have no common ancestor in the fetched history of the "
        f"shallow clone '{root}'. Fetch the history that joins them: git fetch --no-tags "
        "--unshallow origin (or deepen both branches with git fetch --no-tags "
        "--deepen=<commits>; with actions/checkout set fetch-depth: 0)."
    )

    run_hint(root, "git fetch --no-tags --unshallow origin")
    with MergedTree(root, "origin/main") as merged:
        assert {p: merged.side_of(p) for p in merged.list_paths()} == {
            M + "__init__.py": "both", M + "0001_initial.py": "both",
            M + "0002_a.py": "base", M + "0002_b.py": "branch",
        }


def run_hint(root: Path, command: str) -> None:
    """Run a command an error message told the user to run."""
    subprocess.run(command.split(), cwd=root, env=isolated_env(), check=True, capture_output=True)
