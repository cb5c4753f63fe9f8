"""Sub-commands that load the user's Django project: verify, plan and report.

The project runs in a separate process on a throwaway database (see ``project.session``);
this module only turns flags into calls of the activities and renders the answers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from migration_ci.cli.options import add_common, load_settings, resolve_roots
from migration_ci.errors import EXIT_FINDINGS, EXIT_OK, ConfigError
from migration_ci.report.formats import dumps
from migration_ci.report.safe import quote

if TYPE_CHECKING:  # the real imports are in the commands: building the parser stays cheap
    from migration_ci.activities.merged import MergedState
    from migration_ci.config import Config
    from migration_ci.databases.throwaway import DatabaseChoice
    from migration_ci.plan.policy import RiskPolicy
    from migration_ci.project.session import ProjectSpec


def add_parsers(sub: Any) -> None:
    """Register ``verify``, ``plan`` and ``report``."""
    verify = sub.add_parser("verify", help="apply the migrations on a fresh throwaway database")
    _add_project(verify)
    _add_cache(verify)
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument(
        "--skip-missing-changes", action="store_true", help="skip the makemigrations --check step"
    )

    plan = sub.add_parser("plan", help="what this branch runs on a database at the base state")
    _add_project(plan)
    plan.add_argument("--format", choices=("text", "json", "markdown", "sarif"), default="text")
    plan.add_argument("--sql", action="store_true", help="show the SQL of each migration (text)")
    _add_fail_on(plan)

    full = sub.add_parser("report", help="check, verify and plan as one report document")
    _add_project(full)
    _add_cache(full)
    full.add_argument("--format", choices=("json", "markdown", "text"), default="json")
    full.add_argument("--no-verify", action="store_true", help="skip verify")
    full.add_argument("--no-plan", action="store_true", help="skip the plan diff")
    full.add_argument("--working-directory", default=".", help=argparse.SUPPRESS)
    _add_fail_on(full)


def _add_fail_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on", choices=("high", "medium", "never"),
        help="exit 1 when a risk not accepted reaches this level (default: 'fail-on' of "
             ".migration-ci.yml, else never)",
    )


def _add_project(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--database-url", metavar="URL", help="server to make the throwaway database on"
    )
    parser.add_argument(
        "--database", metavar="ALIAS", help="make it beside the project's DATABASES[ALIAS]"
    )


def _add_cache(parser: argparse.ArgumentParser) -> None:
    either = parser.add_mutually_exclusive_group()  # both given: a usage error, exit 2
    either.add_argument("--cache", metavar="DIR", help="keep base-state snapshots in DIR")
    either.add_argument("--no-cache", action="store_true", help="never read or write snapshots")
    parser.add_argument("--full", action="store_true", help="ignore snapshots: a full fresh run")


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    from migration_ci.activities.check import analyze, open_source
    from migration_ci.activities.merged import merged_state
    from migration_ci.databases.throwaway import DatabaseChoice

    roots = resolve_roots(args)
    config = load_settings(args, roots)
    project = _find_project(args, config, roots.project)
    database = DatabaseChoice(url=args.database_url or config.database_url, alias=args.database)
    analysis = analyze(open_source(roots.repo, config.base, args.head), config)
    state = merged_state(analysis, roots.repo, roots.project / config.project_dir, config)
    command: Callable[..., int] = {"verify": _verify, "plan": _plan, "report": _report}[
        args.command
    ]
    return command(args, out, project, database, state, config)


def _find_project(args: argparse.Namespace, config: Config, root: Path) -> ProjectSpec | None:
    """The Django project to load; ``report`` without one is a check-only report."""
    from migration_ci.project.session import ProjectSpec

    try:
        return ProjectSpec.from_options(
            settings=config.settings, project_dir=root / config.project_dir, environ=os.environ
        )
    except ConfigError:
        if args.command == "report":
            return None
        raise


def _verify_options(args: argparse.Namespace, state: MergedState, root: Path) -> dict[str, Any]:
    """Base-state snapshots: only with a base, kept in ``--cache DIR``; ``--full`` rebuilds."""
    from migration_ci.activities.snapshot import BaseState

    base_sha = state.analysis.result.base_sha
    if base_sha is None:
        if args.cache:
            say(f"--cache {args.cache} is unused: snapshots hold the base's state, and there is "
                "no base (pass --base REF or set 'base:' in .migration-ci.yml).")
        return {"say": say}
    cache = None if args.no_cache or not args.cache else Path(args.cache).resolve()
    base = BaseState.from_ref(root, base_sha, project_dir=root)
    return {"base": base, "cache_dir": cache, "full": args.full, "say": say}


def say(message: str) -> None:
    """A note on stderr, beside the report on stdout (databases left by killed runs)."""
    print(f"migration-ci: {message}", file=sys.stderr)


def _verify(
    args: argparse.Namespace,
    out: TextIO,
    project: ProjectSpec,
    database: DatabaseChoice,
    state: MergedState,
    config: Config,
) -> int:
    from migration_ci.activities.verify import run_verify
    from migration_ci.report import formats as report

    result = run_verify(
        project, database, state, missing_changes=not args.skip_missing_changes,
        **_verify_options(args, state, project.project_dir),
    )
    data = {**result.to_dict(), "text_conflicts": list(state.text_conflicts)}
    if args.format == "json":
        out.write(dumps(data))
    else:
        out.write(_merged_notes(state, "verified"))
        out.write(report.render_verify_text(data))
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _plan(
    args: argparse.Namespace,
    out: TextIO,
    project: ProjectSpec,
    database: DatabaseChoice,
    state: MergedState,
    config: Config,
) -> int:
    from migration_ci.activities.plan import run_plan
    from migration_ci.plan import render as plan_render

    if state.base_keys is None:
        raise ConfigError(
            "plan needs a base: it shows what this branch runs on a database at the base state.",
            "Pass --base REF (e.g. --base origin/main) or set 'base:' in .migration-ci.yml.",
        )
    plan = run_plan(project, database, state, _policy(args, config), say)
    if args.format == "json":
        out.write(plan_render.render_json(plan))
    elif args.format == "markdown":
        out.write(plan_render.render_markdown(plan, merge_paths=_merge_paths(state)))
    elif args.format == "sarif":
        from migration_ci.plan.records import plan_to_json
        from migration_ci.report import sarif

        prefix = _repo_prefix(args, project)
        out.write(sarif.render_sarif(sarif.plan_sarif(plan_to_json(plan), prefix)))
    else:
        out.write(_merged_notes(state, "planned"))
        out.write(plan_render.render_text(plan, sql=args.sql))
    return EXIT_FINDINGS if plan.gone or plan.fails else EXIT_OK


def _policy(args: argparse.Namespace, config: Config) -> RiskPolicy:
    """The config's risk settings, ``--fail-on`` first."""
    from dataclasses import replace

    policy = config.risk_policy
    return replace(policy, fail_on=args.fail_on) if args.fail_on else policy


def _repo_prefix(args: argparse.Namespace, project: ProjectSpec) -> str:
    """The project folder relative to the repository: plan paths are relative to it."""
    from migration_ci.cli.options import resolve_roots

    repo = resolve_roots(args).repo
    folder = project.project_dir.resolve()
    return folder.relative_to(repo).as_posix() if folder.is_relative_to(repo) else ""


def _report(
    args: argparse.Namespace,
    out: TextIO,
    project: ProjectSpec | None,
    database: DatabaseChoice,
    state: MergedState,
    config: Config,
) -> int:
    from migration_ci.activities.plan import run_plan
    from migration_ci.activities.report import build_document
    from migration_ci.activities.verify import run_verify
    from migration_ci.plan import render as plan_render
    from migration_ci.report import formats as report

    if project is None:
        args.no_verify = args.no_plan = True
    verified = None if args.no_verify or project is None else run_verify(
        project, database, state, **_verify_options(args, state, project.project_dir)
    )
    planned = None if args.no_plan or project is None or state.base_keys is None else run_plan(
        project, database, state, _policy(args, config), say
    )
    document = build_document(
        state.analysis, working_directory=args.working_directory,
        verify_result=verified, plan=planned,
    )
    if document["verify"] is not None:
        document["verify"]["text_conflicts"] = list(state.text_conflicts)
    if args.format == "json":
        out.write(dumps(document))
    elif args.format == "markdown":
        from migration_ci.report.comment import render_summary

        out.write(render_summary(document))
    else:
        from migration_ci.cli.fixing import fix_hint

        hint = fix_hint(state.analysis.result, config.base, root=args.root)
        out.write(report.render_text(state.analysis.result, fix_command=hint))
        out.write(_merged_notes(state, "verified"))
        if verified is not None:
            out.write(report.render_verify_text(document["verify"]))
        if planned is not None:
            out.write(plan_render.render_text(planned))
    failed = (verified is not None and not verified.ok) or (planned is not None and planned.fails)
    return EXIT_FINDINGS if failed or state.analysis.result.has_conflicts else EXIT_OK


def _merge_paths(state: MergedState) -> list[str]:
    """The merge migrations the temporary copy holds, relative to the repository."""
    conflicts = state.analysis.result.conflicts
    return [f"{c.migrations_dir}/{c.merge_name}.py" for c in conflicts if c.merge_name]


def _merged_notes(state: MergedState, verb: str) -> str:
    """What the temporary copy holds beyond this branch's files, said before the results."""
    names = [quote(path) for path in _merge_paths(state)]
    lines = []
    if names:
        lines.append(
            f"Conflicting leaves: {verb} with the merge migration `migration-ci fix` would "
            f"write ({', '.join(names)}), in a temporary copy."
        )
    if state.text_conflicts:
        lines.append(
            "Changed on both sides, and git cannot merge them: "
            f"{', '.join(map(quote, state.text_conflicts))}"
            f"; this branch's version was {verb}. Merge the base to see the real result."
        )
    return "".join(f"{line}\n" for line in lines)
