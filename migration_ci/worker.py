"""The process that loads the user's Django project: ``python -m migration_ci.worker ANSWER``.

Reads ``{"command", "payload", "database"}`` as JSON on stdin, writes ``{"result": ...}`` or
``{"error": {"stage", "type", "message", "traceback"}}`` as JSON to the file ``ANSWER``.

Before Django makes any connection, ``DATABASES`` is rewritten: the chosen alias points at
the throwaway database and every other alias at Django's dummy backend, which refuses to
connect. The database the project is configured with is therefore never reached.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

COMMANDS: dict[str, str] = {
    "databases": "migration_ci.worker:list_databases",
    "verify": "migration_ci.verify:worker_verify",
    "plan": "migration_ci.plan_collect:collect",
}
"""Command name -> ``module:function``, imported only when asked for. Each function takes
the request payload (with ``database_alias`` added) and returns JSON-able data."""

NO_SETUP = frozenset({"databases"})  # answered from settings alone, without django.setup()
DUMMY = {"ENGINE": "django.db.backends.dummy"}
CONFIGURED_DATABASES: dict[str, Any] = {}


class StageError(Exception):
    """An exception raised while the worker was at ``stage`` (settings, setup, command)."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = error


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    answer_path = Path(args[0])
    try:
        answer: dict[str, Any] = {"result": handle(json.loads(sys.stdin.read()))}
    except StageError as exc:
        answer = {"error": describe_error(exc.stage, exc.error)}
    write_answer(answer_path, answer)
    return 0


def handle(request: Mapping[str, Any]) -> Any:
    command = request["command"]
    database = request.get("database")
    at_stage("settings", lambda: use_databases(database))
    if command not in NO_SETUP:
        import django

        at_stage("setup", django.setup)
    payload = dict(request.get("payload") or {})
    payload.setdefault("database_alias", database["alias"] if database else "default")
    return at_stage("command", lambda: find_command(command)(payload))


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
    """Point ``database["alias"]`` at the throwaway database; disable every other alias."""
    from django.conf import settings

    configured: dict[str, Any] = dict(settings.DATABASES)
    rewritten: dict[str, Any] = {alias: dict(DUMMY) for alias in configured}
    if database is not None:
        alias = database["alias"]
        entry = dict(database["settings"] or configured.get(alias) or {})
        entry["NAME"] = database["name"]
        entry.pop("TEST", None)
        rewritten[alias] = entry
    settings.DATABASES = rewritten
    # The project's own entries, never connected to, for list_databases.
    CONFIGURED_DATABASES.clear()
    CONFIGURED_DATABASES.update(configured)


def list_databases(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The project's ``DATABASES`` with each alias's vendor, as JSON-able data (no connection)."""
    from django.db import connections

    answer = {}
    for alias, entry in CONFIGURED_DATABASES.items():
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
        "traceback": "".join(traceback.format_exception(error)),
    }


def write_answer(path: Path, answer: Mapping[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(answer, default=str), encoding="utf-8")
    partial.replace(path)


if __name__ == "__main__":
    # Run the imported module, not __main__, so that COMMANDS pointing back into this module
    # (list_databases) share its state.
    from migration_ci import worker

    raise SystemExit(worker.main())
