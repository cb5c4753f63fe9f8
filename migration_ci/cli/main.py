"""Command-line entry point: ``migration-ci`` / ``python -m migration_ci`` / pre-commit hooks."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from migration_ci import __version__
from migration_ci.cli import clean, project
from migration_ci.cli.options import Roots, add_common, load_settings, resolve_roots
from migration_ci.config import STRATEGIES, Config
from migration_ci.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNEXPECTED,
    ConfigError,
    FixError,
    MigrationCIError,
)
from migration_ci.report.safe import literal, log_lines, log_text, quote

FORMATS = ("text", "json", "github")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-ci",
        description="Find, fix and verify forked Django migration leaves.",
        epilog="Exit codes: 0 clean, 1 findings, 2 bad input or usage, 3 unexpected error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="report apps with more than one leaf migration")
    add_common(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")
    check.add_argument(
        "--fix", action="store_true", help="also write the fix (exit 1 so you stage it)"
    )
    check.add_argument("--strategy", choices=STRATEGIES, help="fix strategy (default: merge)")

    fix = sub.add_parser("fix", help="write the merge migration (or rebase) for each conflict")
    add_common(fix)
    fix.add_argument("--strategy", choices=STRATEGIES, help="merge (default) or rebase")
    fix.add_argument("--format", choices=FORMATS, default="text", help="output format")

    demo = sub.add_parser("demo", help="run the check on a bundled example project")
    demo.add_argument("--keep", metavar="DIR", help="build the example repository in DIR")

    project.add_parsers(sub)
    clean.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return EXIT_BAD_INPUT
    try:
        return _dispatch(args, out)
    except MigrationCIError as exc:
        # Messages quote names from the pull request: no line of them may pass for a command.
        print(f"migration-ci: {log_lines(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("migration-ci: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `migration-ci check | head -1`: the reader left, as in a shell
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # the one place that catches everything: report, don't crash
        if os.environ.get("MIGRATION_CI_DEBUG"):
            traceback.print_exc()
        print(
            f"migration-ci: unexpected error: {type(exc).__name__}: {log_lines(str(exc))}. "
            "Rerun with MIGRATION_CI_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        from migration_ci.cli.demo import run_demo

        return run_demo(out, keep=Path(args.keep) if args.keep else None)
    if args.command in ("check", "fix"):
        return _check_or_fix(args, out)
    if args.command == "clean":
        return clean.run_clean(args, out)
    return project.dispatch(args, out)


def fix_hint(args: argparse.Namespace, roots: Roots, base: str | None, result: object) -> str:
    """The command that fixes ``result``'s conflicts, run where the user is."""
    from migration_ci.graph.specs import CheckResult

    assert isinstance(result, CheckResult)
    command = "migration-ci fix"
    if args.root:
        command += f" --root {shlex.quote(args.root)}"
    if base and any(leaf.side == "base" for c in result.conflicts for leaf in c.leaves):
        return f"git merge {shlex.quote(base)} && {command}"
    return command


def use_django_engine(args: argparse.Namespace, config: Config) -> bool:
    if args.engine == "django" and not config.settings:
        raise MigrationCIError(
            "--engine django needs a settings module.",
            "Pass --settings mysite.settings or set DJANGO_SETTINGS_MODULE.",
        )
    return args.engine == "django" or (args.engine == "auto" and bool(config.settings))


def _check_or_fix(args: argparse.Namespace, out: TextIO) -> int:
    from migration_ci.activities.check import analyze, analyze_loaded, open_source
    from migration_ci.report import formats as report

    roots = resolve_roots(args)
    config = load_settings(args, roots)
    writes_fix = args.command == "fix" or args.fix
    if writes_fix and args.head:
        raise ConfigError(
            f"fix writes into the working tree, so it cannot take --head {args.head!r}.",
            f"Check out {args.head!r} first (git switch), then run migration-ci fix.",
        )
    source = open_source(roots.repo, config.base, args.head)
    if use_django_engine(args, config):
        assert config.settings is not None
        analysis = analyze_loaded(source, config.settings, roots.project / config.project_dir)
    else:
        analysis = analyze(source, config)
    result = analysis.result
    hint = fix_hint(args, roots, config.base, result)
    if args.format == "github":
        out.write(report.render_github(result, fix_command=hint))
    elif args.format == "json":
        out.write(report.render_json(result))
    elif not writes_fix:
        out.write(report.render_text(result, fix_command=hint))
    if not writes_fix:
        return EXIT_FINDINGS if result.has_conflicts else EXIT_OK
    return _write_fix(analysis, roots.repo, config, out, quiet=args.format != "text")


def _write_fix(analysis: object, root: Path, config: Config, out: TextIO, *, quiet: bool) -> int:
    from migration_ci.activities.check import Analysis
    from migration_ci.activities.fix import fix_conflicts
    from migration_ci.report import formats as report

    assert isinstance(analysis, Analysis)
    result = analysis.result
    if not result.has_conflicts:
        if not quiet:
            out.write(report.summary_line(result))
            out.write("\n")
        return EXIT_OK
    for conflict in result.conflicts:
        for leaf in conflict.leaves:
            if leaf.side == "base":
                raise FixError(
                    f"{quote(f'{conflict.app_label}.{leaf.name}')} is only on {config.base!r}, "
                    "so a fix written now would depend on a file this branch does not have.",
                    f"Merge it into this branch first (git merge {config.base}), then run: "
                    "migration-ci fix",
                )
    fixable = [c for c in result.conflicts if c.merge_name]
    if not fixable:
        raise FixError(result.conflicts[0].merge_error or "Django cannot merge these leaves.")
    if not quiet:
        out.write(report.render_text(result))
    fixed = fix_conflicts(
        root, fixable, analysis.specs, strategy=config.strategy, graph=analysis.graph
    )
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
    return EXIT_FINDINGS
