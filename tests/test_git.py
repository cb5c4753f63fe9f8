from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from migration_ci.errors import GitError
from migration_ci.repository import git
from tests.support.gitrepo import GIT_ENV, GitRepo, isolated_env


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The adapter runs git with the process environment: make it the tests' isolated one."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


def git_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a ``git`` on PATH that logs each invocation's arguments, then runs the real git."""
    real_git = shutil.which("git")
    assert real_git is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git.log"
    log.touch()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real_git}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def clone(source: GitRepo, target: Path, *args: str) -> Path:
    subprocess.run(
        ["git", "clone", "-q", *args, f"file://{source.root}", str(target)],
        env=isolated_env(), check=True, capture_output=True,
    )
    return target


@pytest.fixture
def forked(repo: GitRepo) -> GitRepo:
    """main: c1 - c2 (adds base.txt); feature: c1 - f1 (adds feature.txt), checked out."""
    repo.write("common.txt", "common\n")
    repo.commit("c1")
    repo.branch("feature")
    repo.write("feature.txt", "feature\n")
    repo.commit("f1")
    repo.checkout("main")
    repo.write("base.txt", "base\n")
    repo.commit("c2")
    repo.checkout("feature")
    return repo


def test_toplevel_from_a_subdirectory(repo: GitRepo) -> None:
    repo.write("shop/migrations/__init__.py", "")
    repo.commit()
    assert git.toplevel(repo.root / "shop" / "migrations") == repo.root


def test_toplevel_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        git.toplevel(tmp_path)
    assert str(info.value) == (
        f"'{tmp_path}' is not inside a git repository. Run migration-ci from your project's "
        "checkout, or leave out --base and --head."
    )
    assert info.value.exit_code == 2


def test_toplevel_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        git.toplevel(tmp_path / "nope")
    assert str(info.value) == (
        f"'{tmp_path / 'nope'}' is not a directory. Pass the path of your project's checkout."
    )


def test_resolve_commit_and_head(forked: GitRepo) -> None:
    feature = forked.git("rev-parse", "feature")
    assert git.resolve_commit(forked.root, "feature") == feature
    assert git.resolve_commit(forked.root, "main~1") == forked.git("rev-parse", "main~1")
    assert git.head_sha(forked.root) == feature


def test_head_of_a_repository_without_commits(repo: GitRepo) -> None:
    with pytest.raises(GitError) as info:
        git.head_sha(repo.root)
    assert str(info.value) == f"'{repo.root}' has no commit yet. Commit your work, then run again."


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        pytest.param(
            "mian", "Git ref 'mian' is not in '{root}'. Check the name; git branch --all lists "
            "the branches this clone has.", id="typo in a repository without remotes",
        ),
        pytest.param(
            "--output=x", "Git ref '--output=x' is not in '{root}'. Check the name; git branch "
            "--all lists the branches this clone has.", id="looks like an option",
        ),
    ],
)
def test_unknown_ref(forked: GitRepo, ref: str, message: str) -> None:
    with pytest.raises(GitError) as info:
        git.resolve_commit(forked.root, ref)
    assert str(info.value) == message.format(root=forked.root)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        pytest.param(
            "origin/develop", "Git ref 'origin/develop' is not in '{root}': the branch was not "
            "fetched. Fetch it: git fetch --no-tags origin develop:refs/remotes/origin/develop",
            id="remote branch not fetched",
        ),
        pytest.param(
            "refs/remotes/origin/develop", "Git ref 'refs/remotes/origin/develop' is not in "
            "'{root}': the branch was not fetched. Fetch it: git fetch --no-tags origin "
            "develop:refs/remotes/origin/develop",
            id="full remote ref not fetched",
        ),
        pytest.param(
            "develop", "Git ref 'develop' is not in '{root}'. If it is a branch of 'origin', "
            "fetch it: git fetch --no-tags origin develop:refs/remotes/origin/develop and pass "
            "'origin/develop' instead.",
            id="branch name only on the remote",
        ),
    ],
)
def test_unknown_ref_in_a_clone(forked: GitRepo, tmp_path: Path, ref: str, message: str) -> None:
    root = clone(forked, tmp_path / "clone")
    with pytest.raises(GitError) as info:
        git.resolve_commit(root, ref)
    assert str(info.value) == message.format(root=root)


def test_unknown_ref_in_a_shallow_clone_says_how_to_fetch_it(
    forked: GitRepo, tmp_path: Path
) -> None:
    root = clone(forked, tmp_path / "clone", "--depth", "1", "--branch", "feature")
    assert git.is_shallow(root)
    with pytest.raises(GitError) as info:
        git.resolve_commit(root, "origin/main")
    assert str(info.value) == (
        "Git ref 'origin/main' is not in this shallow clone: the branch was not fetched. "
        "Fetch it: git fetch --no-tags --depth=50 origin main:refs/remotes/origin/main"
    )


def test_merge_base(forked: GitRepo) -> None:
    assert git.merge_base(forked.root, "feature", "main") == forked.git("rev-parse", "main~1")
    assert not git.is_shallow(forked.root)


def test_merge_base_of_unrelated_histories_is_none(forked: GitRepo) -> None:
    forked.git("checkout", "-q", "--orphan", "other")
    forked.commit("unrelated")
    assert git.merge_base(forked.root, "other", "main") is None


def test_merge_base_missing_from_a_shallow_clone(forked: GitRepo, tmp_path: Path) -> None:
    root = clone(forked, tmp_path / "clone", "--depth", "1", "--branch", "feature")
    fetch = ["git", "fetch", "-q", "--no-tags", "--depth=1", "origin",
             "main:refs/remotes/origin/main"]
    subprocess.run(fetch, cwd=root, env=isolated_env(), check=True)
    with pytest.raises(GitError) as info:
        git.merge_base(root, "HEAD", "origin/main")
    assert str(info.value) == (
        f"'HEAD' and 'origin/main' have no common ancestor in the fetched history of the "
        f"shallow clone '{root}'. Fetch the history that joins them: git fetch --no-tags "
        "--unshallow origin (or deepen both branches with git fetch --no-tags "
        "--deepen=<commits>; with actions/checkout set fetch-depth: 0)."
    )


def test_command_failure_shows_command_exit_code_and_output(forked: GitRepo) -> None:
    with pytest.raises(GitError) as info:
        git.ls_tree(forked.root, "nope")
    assert str(info.value) == (
        f"`git ls-tree -r -z --full-tree --end-of-options nope` failed with exit code 128 in "
        f"'{forked.root}'. stdout: (empty) | stderr: fatal: Not a valid object name nope"
    )


ODD_NAMES = [
    "shop/migrations/0001_initial.py",
    "with space/migrations/0002 two.py",
    "café/migrations/0003_naïve.py",
    'quote"and\\backslash/x.py',
    "tab\tname/x.py",
    "new\nline/x.py",
]


def test_ls_tree_and_read_blobs_with_odd_names(repo: GitRepo) -> None:
    for index, name in enumerate(ODD_NAMES):
        repo.write(name, f"content {index}\n")
    (repo.root / "link.py").symlink_to("shop/migrations/0001_initial.py")
    repo.commit()
    tree = git.ls_tree(repo.root, "HEAD")
    assert sorted(tree) == sorted(ODD_NAMES)  # the symlink is not a file of the tree
    assert git.read_blobs(repo.root, "HEAD", ODD_NAMES) == {
        name: f"content {index}\n".encode() for index, name in enumerate(ODD_NAMES)
    }


def test_diff_trees(repo: GitRepo) -> None:
    for name in ["kept.py", "edited.py", "deleted.py", "becomes link.py", "é dir/x.py"]:
        repo.write(name, f"{name}\n")
    first = repo.commit()
    repo.write("edited.py", "edited\n")
    repo.remove("deleted.py")
    repo.remove("becomes link.py")
    (repo.root / "becomes link.py").symlink_to("kept.py")
    repo.write("added.py", "added\n")
    repo.remove("é dir/x.py")
    second = repo.commit()
    before, after = git.ls_tree(repo.root, first), git.ls_tree(repo.root, second)
    assert git.diff_trees(repo.root, first, second) == {
        "edited.py": (before["edited.py"], after["edited.py"]),
        "deleted.py": (before["deleted.py"], None),
        "becomes link.py": (before["becomes link.py"], None),
        "added.py": (None, after["added.py"]),
        "é dir/x.py": (before["é dir/x.py"], None),
    }
    assert git.diff_trees(repo.root, first, first) == {}


def test_read_blobs_of_a_path_not_in_the_commit(repo: GitRepo) -> None:
    repo.write("a.py", "a\n")
    repo.commit()
    with pytest.raises(GitError) as info:
        git.read_blobs(repo.root, "HEAD", ["a.py", "b.py"])
    assert str(info.value) == (
        f"'b.py' not found in 'HEAD' of '{repo.root}'. Check the paths with: "
        "git ls-tree -r --name-only HEAD"
    )


@pytest.mark.slow
def test_blob_reader_reads_many_blobs_through_one_process(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More than a pipe buffer in both directions (2000 requests of 41 bytes): a reader that
    # wrote every request before reading any answer would deadlock here.
    contents = {f"f{i:04}.py": f"# {i}\n{'x = 1' * 30}\n".encode() for i in range(2000)}
    for path, data in contents.items():
        repo.write(path, data)
    repo.commit()
    tree = git.ls_tree(repo.root, "HEAD")
    log = git_log(tmp_path, monkeypatch)
    with git.BlobReader(repo.root) as reader:
        first = reader.read(tree[p] for p in list(contents)[:10])
        everything = reader.read(tree.values())
        assert reader.read([]) == {}
    assert first == {tree[p]: contents[p] for p in list(contents)[:10]}
    assert everything == {tree[p]: data for p, data in contents.items()}
    assert log.read_text().splitlines() == ["cat-file --batch"]


def test_blob_reader_starts_no_process_for_nothing(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = git_log(tmp_path, monkeypatch)
    with git.BlobReader(repo.root) as reader:
        assert reader.read([]) == {}
    assert log.read_text() == ""


def test_blob_reader_reports_missing_objects(repo: GitRepo) -> None:
    repo.write("a.py", "a\n")
    repo.commit()
    sha = git.ls_tree(repo.root, "HEAD")["a.py"]
    missing = "0123456789abcdef0123456789abcdef01234567"
    with git.BlobReader(repo.root) as reader, pytest.raises(GitError) as info:
        reader.read([sha, missing])
    assert str(info.value) == (
        f"Git objects missing from '{repo.root}': {missing}. The clone is incomplete "
        "(partial or damaged); run: git fetch --refetch"
    )


def test_writing_a_repository(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    git.init_repository(root, branch="trunk")
    (root / "a.py").write_text("a\n")
    first = git.commit_all(root, "first")
    git.create_branch(root, "feature")
    (root / "b.py").write_text("b\n")
    second = git.commit_all(root, "second")
    git.switch(root, "trunk")
    assert git.head_sha(root) == first == git.resolve_commit(root, "trunk")
    assert git.merge_base(root, "feature", "trunk") == first
    assert git.read_blobs(root, second, ["a.py", "b.py"]) == {"a.py": b"a\n", "b.py": b"b\n"}
    assert not (root / "b.py").exists()


def test_git_not_installed(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo.root / "empty-bin"))
    with pytest.raises(GitError) as info:
        git.is_shallow(repo.root)
    assert str(info.value) == "git is not installed or not on PATH. Install git and run again."


def test_unknown_branch_that_the_remote_has_says_to_pass_it(repo: GitRepo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit("a")
    repo.git("remote", "add", "origin", repo.root.as_uri())
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    repo.branch("work")
    repo.git("branch", "-D", "main")
    with pytest.raises(GitError) as info:
        git.resolve_commit(repo.root, "main")
    assert str(info.value) == (
        f"Git ref 'main' is not in '{repo.root}', but 'origin/main' is. Pass 'origin/main' instead."
    )
