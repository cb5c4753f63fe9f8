"""How a team adopts the risk rules: rules ignored or re-levelled project-wide, risks accepted
in a migration file, and the level that fails the run.

Pure. ``.migration-ci.yml`` (``risk-ignore``, ``risk-levels``, ``fail-on``) and ``--fail-on``
fill a ``RiskPolicy``; inline comments come from ``source.find_marked_comments``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from migration_ci.errors import ConfigError
from migration_ci.plan.risk import LEVELS, Level, Risk, rule_ids
from migration_ci.plan.source import EXAMPLE, parse_ignore

FailOn = Literal["high", "medium", "never"]
FAIL_ON: tuple[FailOn, ...] = ("high", "medium", "never")


@dataclass(frozen=True)
class RiskPolicy:
    ignore: frozenset[str] = frozenset()  # rules not reported at all
    levels: Mapping[str, Level] = field(default_factory=dict)  # rule id -> its level here
    fail_on: FailOn = "never"

    def apply(self, risk: Risk | None, accepted: Mapping[str, str]) -> Risk | None:
        """The risk as this project sees it: None when ignored, re-levelled, maybe accepted."""
        if risk is None or risk.rule in self.ignore:
            return None
        return replace(risk, level=self.levels.get(risk.rule, risk.level),
                       accepted=accepted.get(risk.rule))

    def fails(self, risks: Iterable[Risk]) -> bool:
        """A risk not accepted, at or above ``fail_on``."""
        if self.fail_on == "never":
            return False
        limit = LEVELS.index(self.fail_on)
        return any(r.accepted is None and LEVELS.index(r.level) <= limit for r in risks)


def check_rule_ids(ids: Iterable[str], where: str) -> None:
    """Every id names a rule; a typo would silently ignore nothing."""
    known = rule_ids()
    for rule in ids:
        if rule not in known:
            raise ConfigError(f"{where} names {rule!r}, which is not a risk rule.",
                              f"Known rules: {', '.join(known)}.")


def read_ignores(path: str, comments: Iterable[tuple[int, str]]) -> dict[str, str]:
    """Rule id -> the reason it is accepted in this migration, from its marked comments."""
    accepted: dict[str, str] = {}
    for line, text in comments:
        where = f"{path}:{line}"
        found = parse_ignore(line, text)
        if found is None or not found.rules:
            raise ConfigError(f"{where}: {text.strip()!r} is not an inline ignore.",
                              f"Write it as: {EXAMPLE}")
        check_rule_ids(found.rules, f"{where}: {text.strip()!r}")
        if not found.reason:
            raise ConfigError(f"{where}: {text.strip()!r} gives no reason.",
                              f"Say why the risk is accepted, e.g.: {EXAMPLE}")
        accepted.update(dict.fromkeys(found.rules, found.reason))
    return accepted


def count_risks(risks: Iterable[Risk]) -> dict[str, int]:
    """Risks per level (accepted ones counted apart), for the Action's ``risks`` output."""
    counts = dict.fromkeys((*LEVELS, "accepted"), 0)
    for risk in risks:
        counts["accepted" if risk.accepted is not None else risk.level] += 1
    return counts


NO_POLICY = RiskPolicy()
