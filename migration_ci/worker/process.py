"""The process that loads the user's Django project: ``python -m migration_ci.worker FD``.

Reads requests ``{"command", "payload", "database"}`` as JSON lines on stdin and writes one
answer per request, ``{"result": ...}`` or ``{"error": {"stage", "type", "message", ...}}``,
as a JSON line to the file descriptor ``FD`` (the project's own code may print anything on
stdout and stderr).

Before Django makes any connection, ``DATABASES`` is rewritten: the chosen alias points at
the throwaway database and every other alias at Django's dummy backend, which refuses to
connect. The database the project is configured with is therefore never reached.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migration_ci.cachedir import cache_dir
from migration_ci.worker.bytecode import CodeCache
from migration_ci.worker.bytecode import install as install_code_cache
from migration_ci.worker.parent import PARENT_VARIABLE, die_with_parent

COMMANDS: dict[str, str] = {
    "databases": "migration_ci.worker.process:list_databases",
    "graph": "migration_ci.worker.graph:worker_graph",
    "verify": "migration_ci.worker.verify:worker_verify",
    "plan": "migration_ci.worker.plan:collect",
    "snapshot_facts": "migration_ci.worker.snapshot_facts:worker_facts",
    "build_base": "migration_ci.worker.base_state:worker_build_base",
    "snapshot_link": "migration_ci.worker.base_state:worker_link",
}
"""Command name -> ``module:function``, imported only when asked for. Each function takes
the request payload (with ``database_alias`` added) and returns JSON-able data."""

NO_SETUP = frozenset({"databases"})  # answered from settings alone, without django.setup()
DUMMY = {"ENGINE": "django.db.backends.dummy"}
STATE: dict[str, Any] = {"configured": None, "database": None, "setup": False}


class StageError(Exception):
    """An exception raised while the worker was at ``stage`` (settings, setup, command)."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = error


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get(PARENT_VARIABLE):
        die_with_parent(int(os.environ[PARENT_VARIABLE]))
    requests = sys.stdin
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the project's code must not read requests
    code_cache = CodeCache(cache_dir())
    install_code_cache(code_cache)
    with os.fdopen(int(args[0]), "w", encoding="utf-8") as answers:
        for line in requests:
            try:
                answer: dict[str, Any] = {"result": handle(json.loads(line))}
            except StageError as exc:
                answer = {"error": describe_error(exc.stage, exc.error)}
            answers.write(json.dumps(answer, default=str) + "\n")
            answers.flush()
    code_cache.save()
    return 0


def handle(request: Mapping[str, Any]) -> Any:
    command = request["command"]
    database = request.get("database")
    at_stage("settings", lambda: use_databases(database))
    if command not in NO_SETUP and not STATE["setup"]:
        import django

        at_stage("setup", django.setup)
        STATE["setup"] = True
    payload = dict(request.get("payload") or {})
    payload.setdefault("database_alias", database["alias"] if database else "default")
    try:
        return at_stage("command", lambda: find_command(command)(payload))
    finally:
        if STATE["setup"]:
            from django.db import connections

            connections.close_all()


def at_stage(stage: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # everything the user's project raises is reported, not a crash
        raise StageError(stage, exc) from exc


def find_command(command: str) -> Callable[[Mapping[str, Any]], Any]:
    module_name, _, function_name = COMMANDS[command].partition(":")
    function: Callable[[Mapping[str, Any]], Any] = getattr(
        importlib.import_module(module_name), function_name
    )
    return function


def use_databases(database: Mapping[str, Any] | None) -> None:
    """Point ``database["alias"]`` at the throwaway database; disable every other alias.

    Once Django is set up or a database is chosen, it cannot change: Django keeps its
    connections, so a request for another database is refused.
    """
    from django.conf import settings

    if STATE["configured"] is None:
        STATE["configured"] = dict(settings.DATABASES)  # the project's own, never connected to
    elif database == STATE["database"]:
        return
    elif STATE["database"] is not None or STATE["setup"]:
        raise RuntimeError("The worker's database is already chosen; start a new worker.")
    configured: dict[str, Any] = STATE["configured"]
    rewritten: dict[str, Any] = {alias: dict(DUMMY) for alias in configured}
    if database is not None:
        alias = database["alias"]
        entry = dict(database["settings"] or configured.get(alias) or {})
        entry["NAME"] = database["name"]
        entry.pop("TEST", None)
        rewritten[alias] = entry
    settings.DATABASES = rewritten
    STATE["database"] = database


def list_databases(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The project's ``DATABASES`` with each alias's vendor, as JSON-able data (no connection)."""
    from django.db import connections

    answer = {}
    for alias, entry in STATE["configured"].items():
        vendor = find_vendor(entry, connections)
        answer[alias] = {"vendor": vendor, "settings": json_safe(entry)}
    return {"databases": answer}


def find_vendor(entry: Mapping[str, Any], connections: Any) -> str | None:
    """``DatabaseWrapper.vendor`` of the entry's engine; building a wrapper does not connect."""
    from django.db.utils import load_backend

    engine = entry.get("ENGINE") or "django.db.backends.dummy"
    try:
        backend = load_backend(engine)
    except Exception:  # a backend whose driver is missing: the parent reports the engine
        return None
    vendor: str = backend.DatabaseWrapper.vendor
    return vendor


def json_safe(value: Any) -> Any:
    """Keep what JSON can carry (paths become strings); drop objects such as SSL contexts."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items() if is_jsonable(v)}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value if is_jsonable(v)]
    if isinstance(value, Path):
        return str(value)
    return value


def is_jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, Path, Mapping, list, tuple))


def describe_error(stage: str, error: BaseException) -> dict[str, Any]:
    from migration_ci.errors import MigrationCIError

    return {
        "stage": stage,
        "error_class": type(error).__name__ if isinstance(error, MigrationCIError) else None,
        "type": type(error).__name__,
        # The hint travels on its own; str() of our errors already appends it.
        "message": error.message if isinstance(error, MigrationCIError) else str(error),
        "hint": getattr(error, "hint", ""),
        # Which module an import of the settings did not find (settings stage).
        "missing_module": error.name if isinstance(error, ModuleNotFoundError) else None,
        "traceback": "".join(traceback.format_exception(error)),
    }

