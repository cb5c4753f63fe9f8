"""The fix half of ``check`` and ``fix``: the hint that says how to fix, and writing the fix.

Which apps (``fix APP...``), which names (``--name``, as ``makemigrations --merge --name``),
with or without Django's header line, and the exit status: ``fix`` exits 0 once it wrote what
it was asked for, so a pasted block of commands goes on; ``check --fix`` exits 1 when it wrote,
as a pre-commit hook that changed files does.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from migration_ci.config import Config
from migration_ci.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, FixError
from migration_ci.report.safe import literal, log_text, quote

if TYPE_CHECKING:
    from migration_ci.activities.check import Analysis
    from migration_ci.activities.fix import FixResult
    from migration_ci.graph.specs import CheckResult, Conflict


def fix_hint(
    result: CheckResult, base: str | None, *, hook: str | None = None, root: str | None = None
) -> str:
    """What fixes ``result``'s conflicts, said where the user is: the commands that write the
    merge migrations the report names, or in a pre-commit ``hook``, the hook's own ``--fix``."""
    from migration_ci.fix.merge import fix_arguments

    merge_first = base is not None and any(
        leaf.side == "base" for c in result.conflicts for leaf in c.leaves
    )
    if hook:
        action = f"the {hook} hook with args: [--fix]"
        return f"git merge {shlex.quote(base or '')}, then {action}" if merge_first else action
    command = ["migration-ci", "fix", *(["--root", root] if root else [])]
    names = {c.app_label: c.merge_name for c in result.conflicts if c.merge_name}
    runs = " && ".join(shlex.join([*command, *extra]) for extra in fix_arguments(names))
    return f"git merge {shlex.quote(base or '')} && {runs}" if merge_first else runs


def write_fix(
    analysis: object, root: Path, config: Config, out: TextIO, args: argparse.Namespace
) -> int:
    """Write the fix; ``fix`` exits 0 once it wrote everything asked for, ``check --fix`` 1
    (as a pre-commit hook that changed files does), and either 1 when an app stays unfixed."""
    from migration_ci.activities.check import Analysis
    from migration_ci.report import formats as report

    assert isinstance(analysis, Analysis)
    check_name(getattr(args, "name", None), config)
    quiet = args.format != "text"
    result = chosen_apps(analysis.result, getattr(args, "app_labels", None) or ())
    if not result.has_conflicts:
        if not quiet:
            out.write(report.summary_line(result))
            out.write("\n")
        return EXIT_OK
    refuse_base_leaves(result, config.base)
    fixable = [c for c in result.conflicts if c.merge_name]
    if not fixable:
        raise FixError(result.conflicts[0].merge_error or "Django cannot merge these leaves.")
    if not quiet:
        out.write(report.render_text(result, fix_command=None))
    fixed = write_fixes(analysis, root, config, fixable, args)
    if not quiet:
        for path in fixed.written:
            out.write(f"Wrote {quote(path)}\n")
        for old, new in fixed.renamed:
            out.write(f"Renamed {quote(old)} -> {quote(new)}\n")
        for conflict in result.conflicts:
            if not conflict.merge_name:
                error = log_text(conflict.merge_error or "")
                out.write(f"Not fixed: app {literal(conflict.app_label)}: {error}\n")
        out.write("Review and commit the new files (git add them), then push.\n")
    unfixed = len(fixable) < len(result.conflicts)
    return EXIT_FINDINGS if unfixed or args.command == "check" else EXIT_OK


def chosen_apps(result: CheckResult, app_labels: tuple[str, ...] | list[str]) -> CheckResult:
    """``result`` with only the conflicts of ``app_labels`` (all of them when none is given)."""
    unknown = sorted(set(app_labels) - set(result.leaves))
    if unknown:
        raise ConfigError(
            f"No app {', '.join(map(repr, unknown))} among the migrations checked.",
            f"Name apps that have migrations: {', '.join(sorted(result.leaves)) or 'none'}.",
        )
    if not app_labels:
        return result
    kept = tuple(c for c in result.conflicts if c.app_label in app_labels)
    return dataclasses.replace(result, conflicts=kept)


def refuse_base_leaves(result: CheckResult, base: str | None) -> None:
    """A leaf only the base has is not in the working tree: merge first."""
    for conflict in result.conflicts:
        for leaf in conflict.leaves:
            if leaf.side == "base":
                raise FixError(
                    f"{quote(f'{conflict.app_label}.{leaf.name}')} is only on {base!r}, so a fix "
                    "written now would depend on a file this branch does not have.",
                    f"Merge it into this branch first (git merge {base}), then run this again.",
                )


def check_name(name: str | None, config: Config) -> None:
    """``--name`` as ``makemigrations`` takes it, and only where it names something."""
    if name is None:
        return
    if not name.isidentifier():
        raise ConfigError(f"--name {name!r} is not a valid Python identifier.",
                          "A migration name is a module name: letters, digits and _.")
    if config.strategy == "rebase":
        raise ConfigError("--name names merge migrations; --strategy rebase writes none.",
                          "Leave out --name, or use --strategy merge.")


def write_fixes(
    analysis: Analysis, root: Path, config: Config, fixable: list[Conflict],
    args: argparse.Namespace,
) -> FixResult:
    from migration_ci.activities.fix import fix_conflicts
    from migration_ci.fix.merge import named_merge

    name = getattr(args, "name", None)
    if name is not None:
        fixable = [
            dataclasses.replace(c, merge_name=named_merge([leaf.name for leaf in c.leaves], name))
            for c in fixable
        ]
    return fix_conflicts(
        root, fixable, analysis.specs, strategy=config.strategy, graph=analysis.graph,
        include_header=not getattr(args, "no_header", False),
    )
