"""Which migration and operation a worker is running, each migration's time, the failing SQL.

``Tracker`` hooks into ``MigrationExecutor`` (its ``progress_callback``), the connection
(``execute_wrapper``) and each operation's database methods, so that a failure can name the
migration, its file, the operation and the statement, as the verify report shows them.
"""

from __future__ import annotations

import time
from typing import Any


def phase(name: str, started: float) -> dict[str, Any]:
    return {"name": name, "seconds": round(time.perf_counter() - started, 3)}


class Tracker:
    """Knows which migration and operation are running and the SQL statement that failed."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.timing = False
        self.timings: list[dict[str, Any]] = []
        self.migration: Any = None
        self.operation: tuple[int, Any] | None = None
        self.failed_sql: str | None = None
        self.started = 0.0

    def progress(self, action: str, migration: Any = None, fake: bool = False) -> None:
        """``MigrationExecutor``'s progress_callback."""
        if action in ("apply_start", "unapply_start"):
            self.migration, self.operation, self.failed_sql = migration, None, None
            self.started = time.perf_counter()
        elif action == "apply_success" and self.timing:
            seconds = round(time.perf_counter() - self.started, 4)
            self.timings.append(
                {"app_label": migration.app_label, "name": migration.name, "seconds": seconds}
            )

    def record_sql(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        """``connection.execute_wrapper``: keep the statement that raised."""
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.failed_sql = f"{sql}  -- params: {params!r}" if params else str(sql)
            raise

    def watch(self, migrations: Any) -> None:
        """Hook each operation's database methods to know which one is running."""
        for migration in migrations:
            for index, operation in enumerate(migration.operations):
                if "database_forwards" not in vars(operation):
                    for method in ("database_forwards", "database_backwards"):
                        setattr(operation, method, self.hook(index, operation, method))

    def hook(self, index: int, operation: Any, method: str) -> Any:
        original = getattr(operation, method)

        def hooked(*args: Any, **kwargs: Any) -> Any:
            self.operation = (index, operation)
            result = original(*args, **kwargs)
            self.operation = None  # an error after this (deferred SQL) is the migration's
            return result

        return hooked

    def run(self, answer: dict[str, Any], name: str, step: Any) -> Any:
        """Run one phase, timing it; a failure goes into ``answer["failure"]``."""
        started = time.perf_counter()
        try:
            return step()
        except (Exception, SystemExit) as exc:  # the user's migrations may raise anything
            answer["failure"] = self.describe_failure(exc, "backward" if name == "backward"
                                                      else "forward")
            return None
        finally:
            answer["phases"].append(phase(name, started))

    def describe_failure(self, error: BaseException, direction: str) -> dict[str, Any]:
        import inspect
        import os

        migration, operation = self.migration, self.operation
        path = None
        if migration is not None:
            source = inspect.getsourcefile(type(migration))
            path = os.path.relpath(source, self.root).replace(os.sep, "/") if source else None
        described = None
        if operation is not None:
            index, op = operation
            count = len(migration.operations)
            described = f"{type(op).__name__} ({index + 1} of {count}): {op.describe()}"
        return {
            "app_label": getattr(migration, "app_label", None),
            "name": getattr(migration, "name", None),
            "path": path,
            "operation": described,
            "error": f"{type(error).__name__}: {str(error).strip()}",
            "sql": self.failed_sql,
            "direction": direction,
        }
