"""The git adapter: the single place git is run.

Every command goes through ``_run`` (one-shot commands) or ``BlobReader`` (one long-lived
``git cat-file --batch`` process); both report failures as ``GitError`` showing the command,
its exit code, stdout and stderr. Paths are POSIX paths relative to the repository root.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from migration_ci.errors import GitError

FETCH_DEPTH = 50  # enough history for most branches; a missing merge base says how to deepen
_OUTPUT_LIMIT = 2000  # characters of stdout/stderr quoted in an error
_FILE_MODES = ("100644", "100755")  # regular files; symlinks (120000) and submodules are not


def _decode(data: bytes) -> str:
    # surrogateescape keeps non-UTF-8 file names round-trippable, as os.fsdecode does.
    return data.decode("utf-8", errors="surrogateescape")


def _quote_output(data: bytes) -> str:
    text = _decode(data).strip()
    return text if len(text) <= _OUTPUT_LIMIT else text[:_OUTPUT_LIMIT] + " [...]"


def _command_error(
    args: Sequence[str], cwd: Path, code: int, stdout: bytes, stderr: bytes
) -> GitError:
    return GitError(
        f"`{shlex.join(['git', *args])}` failed with exit code {code} in '{cwd}'.",
        f"stdout: {_quote_output(stdout) or '(empty)'} | "
        f"stderr: {_quote_output(stderr) or '(empty)'}",
    )


def _git_not_found() -> GitError:
    return GitError("git is not installed or not on PATH.", "Install git and run again.")


def _run(
    args: Sequence[str], cwd: Path, input: bytes | None = None, ok: Collection[int] = (0,)
) -> str:
    """Run ``git *args`` in ``cwd`` and return its stdout; an exit code not in ``ok`` raises."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise _git_not_found() from exc
    if proc.returncode not in ok:
        raise _command_error(args, cwd, proc.returncode, proc.stdout, proc.stderr)
    return _decode(proc.stdout)


def toplevel(path: Path) -> Path:
    """The root of the work tree that contains ``path``."""
    if not path.is_dir():
        raise GitError(f"'{path}' is not a directory.", "Pass the path of your project's checkout.")
    try:
        return Path(_run(["rev-parse", "--show-toplevel"], path).strip())
    except GitError as exc:
        if "safe.directory" in exc.hint:
            # Git refuses repositories owned by another user (CVE-2022-24765), e.g. in containers.
            raise GitError(
                f"git refuses to work in '{path}': the repository is owned by another user.",
                f"Run: git config --global --add safe.directory '{path}'",
            ) from exc
        raise GitError(
            f"'{path}' is not inside a git repository.",
            "Run migration-ci from your project's checkout, or leave out --base and --head.",
        ) from exc


def is_shallow(root: Path) -> bool:
    return _run(["rev-parse", "--is-shallow-repository"], root).strip() == "true"


def head_sha(root: Path) -> str:
    sha = find_commit(root, "HEAD")
    if sha is None:
        raise GitError(f"'{root}' has no commit yet.", "Commit your work, then run again.")
    return sha


def find_commit(root: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None when there is no such commit."""
    out = _run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
               root, ok=(0, 1))
    return out.strip() or None


def remote_default_branch(root: Path, ref: str) -> str:
    """``origin/master`` for ``origin/HEAD``: the remote's default branch, as ``git clone`` (or
    ``git remote set-head``) recorded it."""
    remote = ref.removeprefix("refs/remotes/").removesuffix("/HEAD")
    out = _run(["symbolic-ref", "-q", "--short", f"refs/remotes/{remote}/HEAD"], root, ok=(0, 1))
    if not out.strip():
        raise GitError(
            f"Git ref '{ref}' is not set in '{root}': this clone does not know the default "
            f"branch of '{remote}'.",
            f"Set it: git remote set-head {remote} --auto (or pass --base with the branch).",
        )
    return out.strip()


def resolve_commit(root: Path, ref: str) -> str:
    """The full sha of the commit ``ref`` names; an unknown ref says how to fetch it."""
    sha = find_commit(root, ref)
    if sha is None:
        raise _unknown_ref_error(root, ref)
    return sha


def merge_base(root: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits; None when the histories are unrelated."""
    sha = _run(["merge-base", "--end-of-options", a, b], root, ok=(0, 1)).strip() or None
    if sha is None and is_shallow(root):
        raise GitError(
            f"'{a}' and '{b}' have no common ancestor in the fetched history of the shallow "
            f"clone '{root}'.",
            f"Fetch the history that joins them: git fetch --no-tags --unshallow "
            f"{_default_remote(root) or 'origin'} (or deepen both branches with "
            f"git fetch --no-tags --deepen=<commits>; with actions/checkout set fetch-depth: 0).",
        )
    return sha


def commit_times(root: Path, shas: Sequence[str]) -> list[int]:
    """The committer time of each commit, in seconds since the epoch."""
    out = _run(["show", "-s", "--format=%ct", "--end-of-options", *shas], root)
    return [int(line) for line in out.split()]


def ls_tree(root: Path, ref: str) -> dict[str, str]:
    """Every regular file of commit ``ref``: path -> blob sha (symlinks and submodules skipped)."""
    out = _run(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", ref], root)
    files: dict[str, str] = {}
    for record in out.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, sha = meta.split(" ")
        if kind == "blob" and mode in _FILE_MODES:
            files[path] = sha
    return files


def diff_trees(root: Path, a: str, b: str) -> dict[str, tuple[str | None, str | None]]:
    """Files that differ between commits: path -> (blob in ``a``, blob in ``b``).

    None stands for "not a regular file there" (absent, a symlink or a submodule).
    """
    out = _run(["diff-tree", "-r", "-z", "--no-renames", "--no-textconv", "--no-ext-diff",
                "--end-of-options", a, b], root)
    records = out.split("\0")[:-1]  # ":modes shas status", path, ... each ended by NUL
    changes: dict[str, tuple[str | None, str | None]] = {}
    for meta, path in zip(records[::2], records[1::2], strict=True):
        old_mode, new_mode, old_sha, new_sha, _ = meta.lstrip(":").split(" ")
        changes[path] = (
            old_sha if old_mode in _FILE_MODES else None,
            new_sha if new_mode in _FILE_MODES else None,
        )
    return changes


def read_blobs(root: Path, ref: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The contents of ``paths`` at commit ``ref``."""
    tree = ls_tree(root, ref)
    wanted = list(paths)
    missing = sorted(p for p in wanted if p not in tree)
    if missing:
        raise GitError(
            f"{', '.join(repr(p) for p in missing)} not found in '{ref}' of '{root}'.",
            "Check the paths with: git ls-tree -r --name-only " + shlex.quote(ref),
        )
    with BlobReader(root) as reader:
        blobs = reader.read({tree[p] for p in wanted})
    return {p: blobs[tree[p]] for p in wanted}


# Writing repositories: only the demo builds one, so commits carry the tool's own identity
# and skip the user's hooks and signing.
_COMMIT_CONFIG = (
    "-c", "user.name=migration-ci", "-c", "user.email=migration-ci@localhost",
    "-c", "commit.gpgsign=false",
)


def init_repository(root: Path, branch: str = "main") -> None:
    _run(["init", "-q"], root)
    # `git init -b` needs git 2.28; pointing HEAD at the branch works everywhere.
    _run(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], root)


def commit_all(root: Path, message: str) -> str:
    """Stage every change in the work tree, commit it, and return the new commit's sha."""
    _run(["add", "-A"], root)
    _run([*_COMMIT_CONFIG, "commit", "-q", "--no-verify", "--allow-empty", "-m", message], root)
    return head_sha(root)


def create_branch(root: Path, name: str) -> None:
    """Create branch ``name`` at HEAD and check it out."""
    _run(["checkout", "-q", "-b", name], root)


def switch(root: Path, name: str) -> None:
    _run(["checkout", "-q", name], root)


class BlobReader:
    """One long-lived ``git cat-file --batch`` process that serves every blob read.

    Started on the first read; closed by ``close()`` or on leaving a ``with`` block.
    """

    _ARGS = ("cat-file", "--batch")

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Contents of the given objects; all requests are written, then all answers read."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        # Write from a thread: with many requests both pipes fill up and a single thread
        # writing everything before reading would deadlock against git.
        writer = threading.Thread(target=self._write, args=(proc.stdin, wanted), daemon=True)
        writer.start()
        try:
            return self._read_answers(proc.stdout, wanted)
        finally:
            writer.join()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.wait()
        proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            # A file, not a pipe: nobody reads stderr until git fails, so a pipe could fill up.
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
            try:
                self._proc = subprocess.Popen(
                    ["git", *self._ARGS], cwd=self.root, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=self._stderr,
                )
            except FileNotFoundError as exc:
                raise _git_not_found() from exc
        return self._proc

    @staticmethod
    def _write(stdin: IO[bytes], shas: list[str]) -> None:
        try:
            stdin.write("".join(f"{sha}\n" for sha in shas).encode("ascii"))
            stdin.flush()
        except BrokenPipeError:
            pass  # git died; the reader reports it with git's stderr

    def _read_answers(self, stdout: IO[bytes], shas: list[str]) -> dict[str, bytes]:
        blobs: dict[str, bytes] = {}
        missing: list[str] = []
        for sha in shas:
            header = stdout.readline()
            if not header:
                raise self._died()
            fields = header.split()
            if fields[-1] == b"missing" or fields[-1] == b"ambiguous":
                missing.append(sha)
                continue
            size = int(fields[2])
            blobs[sha] = stdout.read(size)
            if len(blobs[sha]) != size or stdout.read(1) != b"\n":
                raise self._died()
        if missing:
            raise GitError(
                f"Git objects missing from '{self.root}': {', '.join(missing)}.",
                "The clone is incomplete (partial or damaged); run: git fetch --refetch",
            )
        return blobs

    def _died(self) -> GitError:
        proc, self._proc = self._proc, None
        assert proc is not None
        proc.kill()
        code = proc.wait()
        stderr = b""
        if self._stderr is not None:
            self._stderr.seek(0)
            stderr = self._stderr.read()
        return _command_error(self._ARGS, self.root, code, b"", stderr)


def _remotes(root: Path) -> list[str]:
    return _run(["remote"], root).split()


def _default_remote(root: Path) -> str | None:
    remotes = _remotes(root)
    return "origin" if "origin" in remotes else (remotes[0] if remotes else None)


def split_remote_ref(root: Path, ref: str) -> tuple[str, str] | None:
    """``(remote, branch)`` for ``origin/main`` or ``refs/remotes/origin/main``, else None."""
    name = ref.removeprefix("refs/remotes/")
    for remote in sorted(_remotes(root), key=len, reverse=True):
        if name.startswith(remote + "/") and len(name) > len(remote) + 1:
            return remote, name[len(remote) + 1 :]
    return None


def _unknown_ref_error(root: Path, ref: str) -> GitError:
    shallow = is_shallow(root)
    depth = f" --depth={FETCH_DEPTH}" if shallow else ""
    where = "this shallow clone" if shallow else f"'{root}'"
    remote_ref = split_remote_ref(root, ref)
    if remote_ref is not None:
        remote, branch = remote_ref
        return GitError(
            f"Git ref '{ref}' is not in {where}: the branch was not fetched.",
            f"Fetch it: git fetch --no-tags{depth} {remote} "
            f"{branch}:refs/remotes/{remote}/{branch}",
        )
    default = _default_remote(root)
    if default is not None and find_commit(root, f"{default}/{ref}") is not None:
        return GitError(
            f"Git ref '{ref}' is not in {where}, but '{default}/{ref}' is.",
            f"Pass '{default}/{ref}' instead.",
        )
    if default is not None and not ref.startswith(("refs/", "HEAD")) and "^" not in ref:
        return GitError(
            f"Git ref '{ref}' is not in {where}.",
            f"If it is a branch of '{default}', fetch it: git fetch --no-tags{depth} {default} "
            f"{ref}:refs/remotes/{default}/{ref} and pass '{default}/{ref}' instead.",
        )
    return GitError(
        f"Git ref '{ref}' is not in {where}.",
        "Check the name; git branch --all lists the branches this clone has.",
    )


# -- used by the GitHub Action: history on shallow checkouts and committing a fix ---------

_BOT_IDENTITY = ["-c", "user.name=github-actions[bot]",
                 "-c", "user.email=41898282+github-actions[bot]@users.noreply.github.com"]


def has_commit(root: Path, sha: str) -> bool:
    return find_commit(root, sha) is not None


def present_commits(root: Path, shas: Iterable[str]) -> set[str]:
    """Which of the commit ``shas`` are here, asked in one ``git cat-file --batch-check``."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return set()
    out = _run(["cat-file", "--batch-check=%(objectname) %(objecttype)"], root,
               input="".join(f"{sha}\n" for sha in wanted).encode("ascii"))
    return {line.split()[0] for line in out.splitlines() if line.endswith(" commit")}


def commit_parents(root: Path, ref: str) -> list[str]:
    """The parents of a commit that is present (its parents need not be, in a shallow clone)."""
    out = _run(["cat-file", "-p", f"{ref}^{{commit}}"], root)
    return [line.split()[1] for line in out.splitlines() if line.startswith("parent ")]


def fetch(root: Path, remote: str, refspecs: Sequence[str], *, depth: int | None = None,
          unshallow: bool = False) -> None:
    depth_args = ["--unshallow"] if unshallow else ([f"--depth={depth}"] if depth else [])
    _run(["fetch", "-q", "--no-tags", *depth_args, remote, *refspecs], root)


def adding_commit(root: Path, ref: str, path: str, since: str | None = None) -> str | None:
    """The newest commit in ``ref``'s history (after ``since``) that added ``path``, or None.

    ``--literal-pathspecs``: a path is a file name, never pathspec magic such as ``:(glob)``.
    """
    out = _run(["--literal-pathspecs", "log", "-1", "--format=%H", "--diff-filter=A",
                "--no-renames", "--end-of-options", ref, *([f"^{since}"] if since else []),
                "--", path], root)
    return out.strip() or None


def checkout_new_branch(root: Path, name: str, start: str) -> None:
    _run(["checkout", "-q", "-B", name, start], root)


def merge_no_edit(root: Path, ref: str) -> bool:
    """Merge ``ref`` into HEAD; False (with the merge aborted) when it has conflicts."""
    try:
        _run([*_BOT_IDENTITY, "merge", "--no-edit", "-q", ref], root)
    except GitError:
        if find_commit(root, "MERGE_HEAD") is None:
            raise
        _run(["merge", "--abort"], root)
        return False
    return True


def commit_paths(root: Path, paths: Sequence[str], message: str) -> str:
    """Stage exactly ``paths`` (additions, changes and removals) and commit them."""
    _run(["add", "-A", "--", *paths], root)
    _run([*_BOT_IDENTITY, "commit", "-q", "--no-verify", "-m", message], root)
    return head_sha(root)


def push(root: Path, remote: str, refspec: str, extra_config: Sequence[str] = ()) -> None:
    _run([*extra_config, "push", "-q", remote, refspec], root)


def merge_file(root: Path, ours: bytes, ancestor: bytes, theirs: bytes) -> tuple[bytes, bool]:
    """Git's 3-way text merge of one file's versions: (merged bytes, merged cleanly)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="migration-ci-merge-") as tmp:
        names = []
        for name, data in (("ours", ours), ("ancestor", ancestor), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_bytes(data)
            names.append(str(path))
        try:
            proc = subprocess.run(
                ["git", "merge-file", "-p", "--quiet", *names],
                cwd=root, capture_output=True, check=False,
            )
        except FileNotFoundError as exc:
            raise _git_not_found() from exc
    if proc.returncode < 0 or proc.returncode > 127:
        raise _command_error(["merge-file", "-p", *names], root, proc.returncode,
                             proc.stdout, proc.stderr)
    return proc.stdout, proc.returncode == 0


def untracked_paths(root: Path, under: str = ".") -> list[str]:
    """Files under ``under`` that git does not track, ignored ones included, relative to the
    top level; a directory holding nothing tracked is one entry ending in "/"."""
    out = _run(["ls-files", "-z", "--others", "--directory", "--no-empty-directory",
                "--full-name", "--", under], root)
    return sorted(path for path in out.split("\0") if path)


def export_tree(root: Path, ref: str, dest: Path) -> None:
    """Write the files of commit ``ref`` into ``dest`` (``git archive``; no checkout)."""
    import tarfile

    try:
        proc = subprocess.Popen(
            ["git", "archive", "--format=tar", ref], cwd=root, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise _git_not_found() from exc
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
        archive.extractall(dest, filter="data")
    stderr = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        raise _command_error(["archive", "--format=tar", ref], root, proc.returncode, b"", stderr)
