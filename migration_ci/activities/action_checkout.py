"""The Action's work on the checkout: which commits to judge, the report, and ``fix: commit``.

Fetches just enough history for the base and head to meet (default checkouts have depth 1),
runs the migration-ci command line (``tool``, passed in by the entry point) for the report
document, and for ``fix: commit`` merges the base into the pull request's branch, writes the
fix, commits and pushes it with the input token.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from migration_ci.activities import action
from migration_ci.errors import ConfigError, GitError
from migration_ci.fix.merge import fix_arguments
from migration_ci.github.event import Event
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.report import comment
from migration_ci.repository import git

Tool = Callable[[Sequence[str]], tuple[int, str, str]]
"""Runs ``migration-ci`` with these arguments: exit code, stdout, stderr."""

CACHE_DIR = ".migration-ci-cache"  # in the working directory; the README's actions/cache step
_HISTORY_DEPTHS = (2, 50, 1000)  # commits fetched from each tip before giving up and unshallowing


def project_dir(inputs: Inputs, context: RunContext) -> Path:
    return Path(context.workspace, inputs.working_directory)


def _merge_base_found(root: Path, base: str, head: str) -> bool:
    try:
        return (
            git.has_commit(root, base)
            and git.has_commit(root, head)
            and git.merge_base(root, head, base) is not None
        )
    except GitError:
        return False


def connect_history(root: Path, base: str, head: str | None = None) -> None:
    """Fetch (deeper each time) until ``head`` (default HEAD) and ``base`` meet; default
    checkouts have depth 1."""
    head = head or git.head_sha(root)
    for depth in _HISTORY_DEPTHS:
        if _merge_base_found(root, base, head):
            return
        git.fetch(root, "origin", [head, base], depth=depth)
    if not _merge_base_found(root, base, head) and git.is_shallow(root):
        git.fetch(root, "origin", [head, base], unshallow=True)


PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")


def is_test_merge(root: Path, event: Event) -> bool:
    """HEAD is GitHub's test merge of the pull request (the default pull_request checkout): two
    parents, the second the pull request's head. Any other merge commit is just a commit."""
    parents = git.commit_parents(root, "HEAD")
    return len(parents) == 2 and bool(event.head_sha) and parents[1] == event.head_sha


def find_base(root: Path, inputs: Inputs, event: Event) -> str | None:
    """The commit to judge the merge against, fetched; None checks the tree alone."""
    if inputs.base_ref:
        ref = inputs.base_ref.removeprefix("origin/")
        git.fetch(root, "origin", [f"+refs/heads/{ref}:refs/remotes/origin/{ref}"], depth=1)
        base = f"origin/{ref}"
        connect_history(root, git.resolve_commit(root, base))
        return base
    if event.name == "push":
        # The branch judged against itself: nothing is new, and verify builds the base-state
        # snapshot that actions/cache saves for pull requests (README: "Snapshot cache").
        return "HEAD"
    if event.name not in (*PULL_REQUEST_EVENTS, "merge_group"):
        return None
    # On the test merge its first parent is exactly the base GitHub merged onto; otherwise
    # (pull_request_target checks out the base tip; a checkout of the head) the event's base.
    test_merge = event.name != "merge_group" and is_test_merge(root, event)
    base = git.commit_parents(root, "HEAD")[0] if test_merge else event.base_sha
    if not base:
        return None
    connect_history(root, base)
    return base


def find_head(root: Path, event: Event) -> str | None:
    """The pull request's own head commit, fetched, so leaves are told apart by side even when
    HEAD is not the pull request (pull_request_target: the base tip); None judges the tree."""
    if event.name not in PULL_REQUEST_EVENTS or not event.head_sha:
        return None
    if not git.has_commit(root, event.head_sha):
        try:
            git.fetch(root, "origin", [event.head_sha], depth=1)
        except GitError:
            return None
    return event.head_sha


def build_report(
    inputs: Inputs, context: RunContext, event: Event, tool: Tool
) -> dict[str, Any]:
    """Fetch what the judgement needs, run ``migration-ci report`` and read its document."""
    root = Path(context.workspace)
    project = project_dir(inputs, context)
    if inputs.install_command:
        subprocess.run(inputs.install_command, shell=True, cwd=project, check=True)
    if inputs.cache and not context.tool_cache_dir:
        # The parse and compiled-code caches travel with the snapshots in the cached folder
        # (read from the environment by the CLI below and the process it starts).
        os.environ["MIGRATION_CI_CACHE_DIR"] = str(project / CACHE_DIR / "tool")
    base = find_base(root, inputs, event)
    head = find_head(root, event) if base else None
    if base and head:
        connect_history(root, base, head)
    args = ["--root", str(project), *(["--base", base] if base else []),
            *(["--head", head] if head else []),
            *(["--settings", inputs.settings_module] if inputs.settings_module else [])]
    args = ["report", "--format", "json", *args,
            "--working-directory", inputs.working_directory,
            *(["--database-url", inputs.database_url] if inputs.database_url else []),
            # No settings module: the migration files are read statically and nothing of the
            # project is imported, whatever manage.py or DJANGO_SETTINGS_MODULE would name.
            *([] if inputs.settings_module else ["--no-plan"]),
            *([] if inputs.verify and inputs.settings_module else ["--no-verify"]),
            *(["--cache", str(project / CACHE_DIR)] if inputs.cache else ["--no-cache"])]
    code, out, err = tool(args)
    if code not in (0, 1):
        raise ConfigError(f"migration-ci {args[0]} failed (exit {code}): {err.strip()}")
    document: dict[str, Any] = json.loads(out)  # `report` nests the check: always "check"
    document.setdefault("working_directory", inputs.working_directory)
    if base and not inputs.base_ref and isinstance(document.get("base"), dict) and event.base_ref:
        document["base"]["ref"] = event.base_ref  # name the branch, not the sha we fetched
    return document


def push_config(context: RunContext, token: str) -> list[str]:
    """``git -c`` options that push with ``token``, not the credentials actions/checkout kept.

    git sends every http.<url>.extraheader it finds; an empty value first drops the one
    actions/checkout persisted (git-config(1): http.extraHeader).
    """
    if not token:
        return []
    key = f"http.{context.server_url}/.extraheader"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return ["-c", f"{key}=", "-c", f"{key}=AUTHORIZATION: basic {basic}"]


def _redacted(exc: GitError, config: Sequence[str]) -> GitError:
    secrets = [part.rpartition(" ")[2] for part in config if "AUTHORIZATION" in part]
    message, hint = exc.message, exc.hint
    for secret in secrets:
        message, hint = message.replace(secret, "***"), hint.replace(secret, "***")
    return GitError(message, hint)


def fix_runs(inputs: Inputs, report: dict[str, Any]) -> list[list[str]]:
    """The ``fix`` arguments that write the very files the comment shows (names and no header),
    as its commands do; a rebase writes no merge file."""
    if inputs.strategy == "rebase":
        return [[]]
    names = {comment.as_text(c.get("app_label")): comment.as_text(c.get("merge_name"))
             for c in comment.conflicts(report) if c.get("merge_name")}
    return [["--no-header", *extra] for extra in fix_arguments(names)]


def commit_fix(inputs: Inputs, context: RunContext, event: Event,
               report: dict[str, Any], tool: Tool) -> str:
    """Check out the PR branch, merge the base, write the fix, commit and push it."""
    root, head, base = Path(context.workspace), event.head_ref, event.base_ref
    refs = [f"+refs/heads/{ref}:refs/remotes/origin/{ref}" for ref in (head, base)]
    git.fetch(root, "origin", refs, unshallow=git.is_shallow(root))
    git.checkout_new_branch(root, head, f"origin/{head}")
    if not git.merge_no_edit(root, f"origin/{base}"):
        return (f"fix: commit stopped: merging {comment.code(base)} into {comment.code(head)} "
                "has git conflicts, so the merge was aborted and nothing was pushed. Run the "
                "commands below locally, resolving those conflicts when `git merge` stops.")
    for extra in fix_runs(inputs, report):
        code, _, err = tool(["fix", "--format", "json", "--strategy", inputs.strategy,
                              "--root", str(project_dir(inputs, context)), *extra])
        if code not in (0, 1):
            raise ConfigError(f"migration-ci fix failed (exit {code}): {err.strip()}")
    dirs = sorted({action.repo_path(inputs.working_directory, c.get("migrations_dir"))
                   for c in comment.conflicts(report)})
    sha = git.commit_paths(root, dirs, "Merge conflicting migrations\n\n"
                                       "Written by django-migration-ci (migration-ci fix).")
    config = push_config(context, inputs.github_token)
    try:
        git.push(root, "origin", f"HEAD:refs/heads/{head}", extra_config=config)
    except GitError as exc:
        raise _redacted(exc, config) from None
    return (f"fix: committed {comment.code(sha[:12])} to {comment.code(head)} (merged "
            f"{comment.code(base)} first). " + action.TOKEN_PUSH_NOTE)
