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
from migration_ci.plan.facts import OperationFacts
from migration_ci.plan.policy import NO_POLICY, RiskPolicy, count_risks, read_ignores
from migration_ci.plan.risk import Level, Risk, assess

Status = Literal["new", "gone"]

LEVEL_ORDER: dict[Level, int] = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class PlannedOperation:
    description: str  # exactly as ``migrate --plan`` prints it, without the indent
    irreversible: bool = False
    risk: Risk | None = None
    kind: str = ""
    line: int | None = None  # where the operation starts in the migration file


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
    policy: RiskPolicy = NO_POLICY

    @property
    def new(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.status == "new")

    @property
    def gone(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.status == "gone")

    @property
    def risks(self) -> list[Risk]:
        return [op.risk for e in self.entries for op in e.operations if op.risk]

    @property
    def highest_risk(self) -> Level | None:
        """The highest level of the risks not accepted."""
        levels = [risk.level for risk in self.risks if risk.accepted is None]
        return min(levels, key=LEVEL_ORDER.__getitem__, default=None)

    @property
    def fails(self) -> bool:
        """A risk not accepted reaches the policy's ``fail_on`` level."""
        return self.policy.fails(self.risks)


def build_plan(
    collected: Mapping[str, Any], gone_paths: Mapping[Key, str] | None = None,
    policy: RiskPolicy = NO_POLICY,
) -> Plan:
    """The plan from ``collect``'s output; ``gone_paths`` gives base paths of gone migrations.

    Raises ConfigError, naming the file and line, for an inline ignore that is malformed,
    names no known rule or gives no reason.
    """
    new = tuple(build_new_entry(m, policy) for m in collected.get("migrations", ()))
    gone_keys = sorted((str(app), str(name)) for app, name in collected.get("gone", ()))
    gone = tuple(
        PlanEntry(app, name, "gone", path=(gone_paths or {}).get((app, name)))
        for app, name in gone_keys
    )
    return Plan(vendor=str(collected.get("vendor", "")), entries=new + gone, policy=policy)


def build_new_entry(migration: Mapping[str, Any], policy: RiskPolicy = NO_POLICY) -> PlanEntry:
    path = migration.get("path")
    comments = [(int(line), str(text)) for line, text in migration.get("ignores", ())]
    accepted = read_ignores(path or f"{migration['app_label']}.{migration['name']}", comments)
    lines = list(migration.get("operation_lines", ()))
    operations = migration.get("operations", ())
    return PlanEntry(
        app_label=migration["app_label"],
        name=migration["name"],
        status="new",
        path=path,
        operations=tuple(
            build_operation(op, policy, accepted, lines[i] if i < len(lines) else None)
            for i, op in enumerate(operations)
        ),
        sql=migration.get("sql"),
        sql_error=migration.get("sql_error"),
    )


def build_operation(
    operation: Mapping[str, Any], policy: RiskPolicy = NO_POLICY,
    accepted: Mapping[str, str] | None = None, line: int | None = None,
) -> PlannedOperation:
    facts_data = operation.get("facts")
    facts = OperationFacts.from_dict(facts_data) if facts_data else None
    return PlannedOperation(
        description=operation["description"],
        irreversible=bool(operation.get("irreversible")),
        risk=policy.apply(assess(facts), accepted or {}) if facts else None,
        kind=facts.kind if facts else "",
        line=line,
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The report's "plan" part (see the README's "Report document")."""
    return {"vendor": plan.vendor, "fail_on": plan.policy.fail_on,
            "risks": count_risks(plan.risks), "entries": [entry_to_json(e) for e in plan.entries]}


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
                "line": op.line,
                "irreversible": op.irreversible,
                "risk": op.risk.to_json() if op.risk else None,
            }
            for op in entry.operations
        ],
        "sql": entry.sql,
        "sql_error": entry.sql_error,
    }
