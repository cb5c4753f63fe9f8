"""The ``migrate --plan`` diff of a branch over its base: new migrations, gone ones, risks.

Pure: reads what ``worker.plan.collect`` returned (plain data) and builds the report's
"plan" part. The order is Django's apply order for new migrations, then the gone ones sorted,
so the same trees always give the same diff and nothing already on the base shows as moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from migration_ci.graph.specs import Key
from migration_ci.plan.risk import Level, OperationFacts, Risk, assess

Status = Literal["new", "gone"]

LEVEL_ORDER: dict[Level, int] = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class PlannedOperation:
    description: str  # exactly as ``migrate --plan`` prints it, without the indent
    irreversible: bool = False
    risk: Risk | None = None
    kind: str = ""


@dataclass(frozen=True)
class PlanEntry:
    app_label: str
    name: str
    status: Status
    path: str | None = None
    operations: tuple[PlannedOperation, ...] = ()
    sql: str | None = None
    sql_error: str | None = None

    @property
    def key(self) -> Key:
        return (self.app_label, self.name)

    @property
    def label(self) -> str:
        """``shop.0007_add_sku``, as Django prints a migration."""
        return f"{self.app_label}.{self.name}"


@dataclass(frozen=True)
class Plan:
    vendor: str
    entries: tuple[PlanEntry, ...] = ()

    @property
    def new(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.status == "new")

    @property
    def gone(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.status == "gone")

    @property
    def highest_risk(self) -> Level | None:
        levels = [op.risk.level for e in self.entries for op in e.operations if op.risk]
        return min(levels, key=LEVEL_ORDER.__getitem__, default=None)


def build_plan(
    collected: Mapping[str, Any], gone_paths: Mapping[Key, str] | None = None
) -> Plan:
    """The plan from ``collect``'s output; ``gone_paths`` gives base paths of gone migrations."""
    new = tuple(build_new_entry(m) for m in collected.get("migrations", ()))
    gone_keys = sorted((str(app), str(name)) for app, name in collected.get("gone", ()))
    gone = tuple(
        PlanEntry(app, name, "gone", path=(gone_paths or {}).get((app, name)))
        for app, name in gone_keys
    )
    return Plan(vendor=str(collected.get("vendor", "")), entries=new + gone)


def build_new_entry(migration: Mapping[str, Any]) -> PlanEntry:
    return PlanEntry(
        app_label=migration["app_label"],
        name=migration["name"],
        status="new",
        path=migration.get("path"),
        operations=tuple(build_operation(op) for op in migration.get("operations", ())),
        sql=migration.get("sql"),
        sql_error=migration.get("sql_error"),
    )


def build_operation(operation: Mapping[str, Any]) -> PlannedOperation:
    facts_data = operation.get("facts")
    facts = OperationFacts.from_dict(facts_data) if facts_data else None
    return PlannedOperation(
        description=operation["description"],
        irreversible=bool(operation.get("irreversible")),
        risk=assess(facts) if facts else None,
        kind=facts.kind if facts else "",
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The report's "plan" part (see the README's "Report document")."""
    return {"vendor": plan.vendor, "entries": [entry_to_json(e) for e in plan.entries]}


def entry_to_json(entry: PlanEntry) -> dict[str, Any]:
    return {
        "app_label": entry.app_label,
        "name": entry.name,
        "status": entry.status,
        "path": entry.path,
        "operations": [
            {
                "description": op.description,
                "kind": op.kind,
                "irreversible": op.irreversible,
                "risk": op.risk.to_json() if op.risk else None,
            }
            for op in entry.operations
        ],
        "sql": entry.sql,
        "sql_error": entry.sql_error,
    }
