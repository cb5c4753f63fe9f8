"""Options every sub-command shares: the project folder, its repository and the config.

``main`` (check, fix) and ``project`` (verify, plan, report) both read them; the config file is
overridden by the flags given on the command line.
"""

from __future__ import annotations

import argparse
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from migration_ci.config import (
    CONFIG_FILE,
    Config,
    check_auth_user_model,
    load_config,
    quoted_value,
)
from migration_ci.errors import ConfigError, MigrationCIError

ENGINES = ("auto", "static", "django")


def add_common(parser: argparse.ArgumentParser) -> None:
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
                f"{CONFIG_FILE}: 'paths' names {quoted_value(path)}, which is not a folder in "
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
    if config.base is not None and config.base.endswith("/HEAD"):
        # origin/HEAD: the repository's default branch, named (origin/master) in every hint.
        from migration_ci.repository import git

        config = config.override(base=git.remote_default_branch(roots.repo, config.base))
    if config.settings is None and os.environ.get("DJANGO_SETTINGS_MODULE"):
        config = config.override(settings=os.environ["DJANGO_SETTINGS_MODULE"])
    return config


def _cwd_below(project: Path) -> str | None:
    """Run from a sub-folder (where manage.py lives), the project is loaded from there."""
    cwd = Path.cwd().resolve()
    if cwd != project and cwd.is_relative_to(project):
        return cwd.relative_to(project).as_posix()
    return None
