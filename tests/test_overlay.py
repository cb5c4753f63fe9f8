"""MergedTree.overlay: the files that turn this branch's tree into the merged result."""

from __future__ import annotations

from migration_ci.repository.trees import MergedTree
from tests.support.gitrepo import GitRepo

MODELS = "class A:\n    a = 1\n\n\nclass B:\n    b = 1\n"


def fork(repo: GitRepo) -> None:
    repo.write("app/models.py", MODELS)
    repo.write("app/gone.py", "x = 1\n")
    repo.write("app/kept.py", "x = 1\n")
    repo.commit("base")
    repo.branch("feature")


def test_overlay_merges_what_both_sides_changed(repo: GitRepo) -> None:
    fork(repo)
    repo.write("app/models.py", MODELS.replace("a = 1", "a = 2"))
    repo.commit("feature edits A")
    repo.checkout("main")
    repo.write("app/models.py", MODELS.replace("b = 1", "b = 2"))
    repo.write("app/new.py", "y = 1\n")
    repo.remove("app/gone.py")
    repo.commit("main edits B, adds and deletes")
    repo.checkout("feature")
    changes, conflicts = MergedTree(repo.root, "main").overlay()
    assert conflicts == ()
    assert changes == {
        "app/models.py": MODELS.replace("a = 1", "a = 2").replace("b = 1", "b = 2").encode(),
        "app/new.py": b"y = 1\n",
        "app/gone.py": None,
    }


def test_overlay_lists_what_git_cannot_merge(repo: GitRepo) -> None:
    fork(repo)
    repo.write("app/models.py", MODELS.replace("a = 1", "a = 2"))
    repo.remove("app/kept.py")
    repo.commit("feature")
    repo.checkout("main")
    repo.write("app/models.py", MODELS.replace("a = 1", "a = 3"))
    repo.write("app/kept.py", "x = 2\n")
    repo.commit("main")
    repo.checkout("feature")
    changes, conflicts = MergedTree(repo.root, "main").overlay()
    assert changes == {}
    assert conflicts == ("app/kept.py", "app/models.py")


def test_overlay_of_uncommitted_work_keeps_it(repo: GitRepo) -> None:
    fork(repo)
    repo.checkout("main")
    repo.write("app/new.py", "y = 1\n")
    repo.commit("main adds")
    repo.checkout("feature")
    repo.write("app/models.py", MODELS + "\n\nclass C:\n    pass\n")  # not committed
    changes, conflicts = MergedTree(repo.root, "main").overlay()
    assert (changes, conflicts) == ({"app/new.py": b"y = 1\n"}, ())
