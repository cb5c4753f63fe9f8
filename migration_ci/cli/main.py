"""Command-line entry point: ``migration-ci`` / ``python -m migration_ci`` / pre-commit hooks."""

from __future__ import annotations

import argparse
import os
import posixpath
import shlex
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from migration_ci import __version__
from migration_ci.config import CONFIG_FILE, STRATEGIES, Config, check_auth_user_model, load_config
from migration_ci.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNEXPECTED,
    ConfigError,
    FixError,
    MigrationCIError,
)

FORMATS = ("text", "json", "github")
ENGINES = ("auto", "static", "django")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-ci",
        description="Find, fix and verify forked Django migration leaves.",
        epilog="Exit codes: 0 clean, 1 findings, 2 bad input or usage, 3 unexpected error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="report apps with more than one leaf migration")
    _add_common(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")
    check.add_argument(
        "--fix", action="store_true", help="also write the fix (exit 1 so you stage it)"
    )
    check.add_argument("--strategy", choices=STRATEGIES, help="fix strategy (default: merge)")

    fix = sub.add_parser("fix", help="write the merge migration (or rebase) for each conflict")
    _add_common(fix)
    fix.add_argument("--strategy", choices=STRATEGIES, help="merge (default) or rebase")
    fix.add_argument("--format", choices=FORMATS, default="text", help="output format")

    demo = sub.add_parser("demo", help="run the check on a bundled example project")
    demo.add_argument("--keep", metavar="DIR", help="build the example repository in DIR")

    from migration_ci.cli import project as cli_django

    cli_django.add_parsers(sub, _add_common)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="the project folder to check (default: the git top level, else .)",
    )
    parser.add_argument(
        "--base", metavar="REF", help="judge the merge of this tree with REF (e.g. origin/main)"
    )
    parser.add_argument(
        "--default-base",
        metavar="REF",
        help="the base when neither --base nor .migration-ci.yml names one (pre-push hook)",
    )
    parser.add_argument(
        "--head",
        metavar="REF",
        help="read this branch's files from commit REF instead of the working tree",
    )
    parser.add_argument(
        "--settings", metavar="MODULE", help="use Django's own loader with this settings module"
    )
    parser.add_argument(
        "--project-dir", metavar="DIR", help="folder put on sys.path for --settings"
    )
    parser.add_argument(
        "--auth-user-model", metavar="APP.MODEL", help="AUTH_USER_MODEL for swappable deps"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="static reads files with ast; django uses the project's loader; auto (default) "
        "picks django when a settings module is given",
    )


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
        print(f"migration-ci: {exc}", file=sys.stderr)
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
            f"migration-ci: unexpected error: {type(exc).__name__}: {exc}. "
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
    from migration_ci.cli import project as cli_django

    return cli_django.dispatch(args, out)


@dataclass(frozen=True)
class Roots:
    """``repo``: where git and every reported path start; ``project``: the folder checked
    (``--root``), which holds ``.migration-ci.yml``."""

    repo: Path
    project: Path

    def scan_paths(self, paths: tuple[str, ...]) -> tuple[str, ...]:
        """Config paths (relative to the project folder) as paths relative to the repo."""
        prefix = self.project.relative_to(self.repo).as_posix()
        if prefix == ".":
            return paths
        return tuple(posixpath.normpath(posixpath.join(prefix, p)) for p in paths)


def resolve_roots(args: argparse.Namespace) -> Roots:
    """``--root`` (default: the git top level, else the current folder) and its repository."""
    project = Path(args.root).resolve() if args.root else None
    if project is not None and not project.is_dir():
        raise MigrationCIError(f"--root {args.root!r} is not a folder.", "Name an existing folder.")
    from migration_ci.repository import git

    start = project or Path.cwd().resolve()
    try:
        repo = git.toplevel(start)
    except MigrationCIError:
        if getattr(args, "base", None) or getattr(args, "head", None):
            raise
        repo = start
    return Roots(repo, project or repo)


def load_settings(args: argparse.Namespace, roots: Roots) -> Config:
    """The config file, overridden by the flags given on the command line.

    ``paths`` come back relative to the repository, like every path the sources list.
    """
    config = load_config(roots.project)
    for path in config.paths:
        if not (roots.project / path).is_dir():
            raise ConfigError(
                f"{CONFIG_FILE}: 'paths' names {path!r}, which is not a folder in "
                f"'{roots.project}'.",
                "Fix the path or remove it: a check of nothing would always pass.",
            )
    if args.auth_user_model is not None:
        check_auth_user_model(args.auth_user_model, "--auth-user-model")
    config = config.override(paths=roots.scan_paths(config.paths)).override(
        base=args.base,
        settings=args.settings,
        project_dir=args.project_dir or _cwd_below(roots.project),
        auth_user_model=args.auth_user_model,
        strategy=getattr(args, "strategy", None),
    )
    if config.base is None and args.default_base:
        config = config.override(base=args.default_base)
    if config.settings is None and os.environ.get("DJANGO_SETTINGS_MODULE"):
        config = config.override(settings=os.environ["DJANGO_SETTINGS_MODULE"])
    return config


def _cwd_below(project: Path) -> str | None:
    """Run from a sub-folder (where manage.py lives), the project is loaded from there."""
    cwd = Path.cwd().resolve()
    if cwd != project and cwd.is_relative_to(project):
        return cwd.relative_to(project).as_posix()
    return None


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
                    f"{conflict.app_label}.{leaf.name} is only on {config.base!r}, so a fix "
                    "written now would depend on a file this branch does not have.",
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
            out.write(f"Wrote {path}\n")
        for old, new in fixed.renamed:
            out.write(f"Renamed {old} -> {new}\n")
        for conflict in result.conflicts:
            if not conflict.merge_name:
                out.write(f"Not fixed: app {conflict.app_label!r}: {conflict.merge_error}\n")
        out.write("Review and commit the new files (git add them), then push.\n")
    return EXIT_FINDINGS
