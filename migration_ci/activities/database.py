"""Which database verify and plan run on, and the throwaway database made beside it.

``--database-url`` wins; otherwise the project's own ``DATABASES`` entry is used the way Django's
test runner uses it: a new database with a unique name on the same server (a temporary file when
the entry is SQLite), dropped at the end, the configured database never connected to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from migration_ci.databases.servers import ServerUnreachable
from migration_ci.databases.throwaway import (
    DatabaseChoice,
    ThrowawayDatabase,
    get_vendor,
    throwaway_database,
)
from migration_ci.errors import ConfigError, DatabaseError
from migration_ci.project.session import WorkerDatabase, WorkerSession

SUPPORTED_VENDORS = ("sqlite", "postgresql", "mysql")
DEFAULT_SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}


@dataclass(frozen=True)
class ResolvedDatabase:
    """The DATABASES entry the throwaway database is made beside, and the alias it replaces.

    ``from_url``: ``settings`` came from ``--database-url`` and replace the project's entry in
    the worker; otherwise the project's own entry is used with only its NAME changed.
    """

    alias: str
    vendor: str
    settings: Mapping[str, Any] = field(repr=False)
    from_url: bool = False


def resolve_database(session: WorkerSession, choice: DatabaseChoice) -> ResolvedDatabase:
    """``--database-url`` when given, else the project's own ``DATABASES[alias]`` (``default``
    unless ``--database`` names another alias).

    As Django's test runner does, the throwaway database is made on the server of that entry
    (SQLite when the project uses SQLite); a project without any database is verified on SQLite.
    """
    from_url = choice.url_settings()
    if from_url is not None:
        return ResolvedDatabase(choice.target_alias, get_vendor(from_url), from_url, from_url=True)
    alias = choice.target_alias
    project = session.project
    databases: dict[str, Any] = session.call("databases", {})["databases"]
    entry = databases.get(alias)
    if entry is None and databases:
        raise ConfigError(
            f"No database alias {alias!r} in DATABASES of settings "
            f"{project.settings!r}; it has: {', '.join(sorted(databases))}.",
            "Pass --database with one of them, or --database-url.",
        )
    if entry is None or is_unconfigured(entry):
        return ResolvedDatabase(alias, "sqlite", DEFAULT_SQLITE, from_url=True)
    if entry["vendor"] not in SUPPORTED_VENDORS:
        raise DatabaseError(
            f"Database alias {alias!r} uses engine {entry['settings'].get('ENGINE')!r}, "
            "which cannot be verified (or its driver is not installed).",
            "Pass --database-url with a PostgreSQL, MySQL/MariaDB or SQLite URL.",
        )
    return ResolvedDatabase(alias, entry["vendor"], entry["settings"])


@contextlib.contextmanager
def open_throwaway(
    resolved: ResolvedDatabase, settings: str, run_id: str | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[ThrowawayDatabase]:
    """``throwaway_database`` on the resolved server; an unreachable one is named with the
    setting that chose it and what to set instead. ``say`` hears of killed runs' leftovers
    dropped on the way."""
    with contextlib.ExitStack() as stack:
        try:
            db = stack.enter_context(throwaway_database(
                resolved.settings, run_id=run_id, vendor=resolved.vendor, say=say))
        except ServerUnreachable as exc:
            raise unreachable_error(exc, resolved, settings) from exc
        yield db


def unreachable_error(
    exc: ServerUnreachable, resolved: ResolvedDatabase, settings: str
) -> DatabaseError:
    where = "--database-url" if resolved.from_url else (
        f"DATABASES[{resolved.alias!r}] in settings {settings!r}")
    return DatabaseError(
        f"Cannot reach the {exc.label} server of {where} at {exc.address} "
        f"(user {exc.user!r}): {exc.reason}",
        "migration-ci makes its throwaway database on that server, as Django's test runner "
        "does. Start it, or pass --database-url with a server it can reach (the Action's "
        "'database-url' input; service containers are reached by their service name, e.g. "
        "postgres://postgres:postgres@postgres:5432/postgres), or --database-url sqlite:// to "
        "verify on SQLite.",
    )


def is_unconfigured(entry: Mapping[str, Any]) -> bool:
    """Django's default when DATABASES is empty: the dummy backend, no ENGINE given."""
    return entry["vendor"] in (None, "dummy") and not entry["settings"].get("ENGINE")


def worker_database(db: ThrowawayDatabase, resolved: ResolvedDatabase) -> WorkerDatabase:
    return WorkerDatabase(resolved.alias, db.name, db.settings if resolved.from_url else None)
