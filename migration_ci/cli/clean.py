"""``migration-ci clean``: drop the throwaway databases that killed runs left on a server."""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from migration_ci.errors import EXIT_FINDINGS, EXIT_OK, ConfigError


def add_parser(sub: Any) -> None:
    clean = sub.add_parser(
        "clean", help="drop the throwaway databases that killed runs left on a server"
    )
    clean.add_argument("--root", metavar="DIR", help="the folder that holds .migration-ci.yml")
    clean.add_argument(
        "--database-url", metavar="URL", help="the server (default: database-url in the config)"
    )
    clean.add_argument(
        "--older-than", metavar="MINUTES", type=_minutes, default=None,
        help="drop a database of a run of this host that is gone once it is this old "
        "(default: 10)",
    )


def _minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1
    if minutes < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of minutes (0 or more)")
    return minutes * 60


def run_clean(args: argparse.Namespace, out: TextIO) -> int:
    from migration_ci.cli.options import resolve_roots
    from migration_ci.config import load_config
    from migration_ci.databases.throwaway import DatabaseChoice, clean_server

    url = args.database_url or load_config(resolve_roots(args).project).database_url
    settings = DatabaseChoice(url=url).url_settings()
    if settings is None:
        raise ConfigError(
            "clean needs a database server: no --database-url, and no database-url in "
            ".migration-ci.yml.",
            "Pass --database-url postgres://USER@HOST:5432/postgres (or a mysql:// URL); "
            "SQLite throwaway files are removed with their temporary folder.",
        )

    def say(message: str) -> None:
        out.write(message + "\n")

    found = clean_server(settings, say, now=time.time(), grace=args.older_than)
    for leftover in found:
        if not leftover.stale:
            say(f"Kept database {leftover.name!r}: {leftover.reason}.")
    dropped = sum(leftover.dropped for leftover in found)
    failed = sum(leftover.stale and not leftover.dropped for leftover in found)
    say(f"{dropped} database{'s' * (dropped != 1)} left by killed runs dropped, "
        f"{len(found) - dropped - failed} kept" + (f", {failed} could not be dropped." if failed
                                                    else "."))
    return EXIT_FINDINGS if failed else EXIT_OK
