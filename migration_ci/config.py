"""The optional `.migration-ci.yml` at the repository root, shared by every entry point.

Command-line flags override it; an unknown key is an error naming the key. The file comes from
the pull request, so it is untrusted: one over ``MAX_CONFIG_BYTES``, a YAML alias (``*name``:
a few lines of nested aliases expand to billions of nodes, the "billion laughs") and nesting
deeper than Python's recursion allows are refused before any work, and an error message quotes
at most ``QUOTED_CHARS`` characters of a bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from migration_ci.errors import ConfigError
from migration_ci.plan.policy import FAIL_ON, FailOn, RiskPolicy, check_rule_ids
from migration_ci.plan.risk import LEVELS, Level

CONFIG_FILE = ".migration-ci.yml"
MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; 1 MiB is far more than any needs
QUOTED_CHARS = 60

Strategy = Literal["merge", "rebase"]
STRATEGIES: tuple[Strategy, ...] = ("merge", "rebase")


@dataclass(frozen=True)
class Config:
    """Settings every entry point shares; see README "Configuration"."""

    paths: tuple[str, ...] = (".",)  # folders to scan for migrations, relative to the root
    exclude: tuple[str, ...] = ()  # fnmatch globs of paths to skip
    app_labels: Mapping[str, str] = field(default_factory=dict)  # app folder -> label
    auth_user_model: str = "auth.User"
    settings: str | None = None  # DJANGO_SETTINGS_MODULE for the Django-loaded engine
    project_dir: str = "."  # folder put on sys.path when the project is loaded
    base: str | None = None  # base ref for --base
    strategy: Strategy = "merge"
    database_url: str | None = None
    risk_ignore: tuple[str, ...] = ()  # risk rules not reported
    risk_levels: Mapping[str, Level] = field(default_factory=dict)  # rule id -> level
    fail_on: FailOn = "never"  # the risk level that fails plan/report (and the Action)

    @property
    def risk_policy(self) -> RiskPolicy:
        return RiskPolicy(frozenset(self.risk_ignore), dict(self.risk_levels), self.fail_on)

    def override(self, **values: Any) -> Config:
        """A copy with every value that is not None replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


_KEYS = {f.name.replace("_", "-"): f.name for f in fields(Config)}


def load_config(root: Path) -> Config:
    """Read ``root/.migration-ci.yml``; the defaults when it does not exist."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return Config()
    data = _parse(_read(path))
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{CONFIG_FILE}: expected a mapping of settings, got {type(data).__name__}.",
            "Write one 'key: value' per line, e.g. 'base: origin/main'.",
        )
    values: dict[str, Any] = {_field_for(key): _coerce(key, value) for key, value in data.items()}
    return Config(**values)


def _read(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{CONFIG_FILE} is {size:,} bytes, over the limit of {MAX_CONFIG_BYTES:,}.",
            "It holds a few settings (README: \"Configuration\"); shorten it.",
        )
    with path.open("rb") as f:  # read no more than the limit, whatever the file grew to
        raw = f.read(MAX_CONFIG_BYTES + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{CONFIG_FILE}: not UTF-8 (byte {exc.start}).", "Save the file as UTF-8."
        ) from exc


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing every alias (``*name``) before it is expanded."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"{CONFIG_FILE}:{event.start_mark.line + 1}: YAML alias "
                f"{quoted_value('*' + str(event.anchor))} refused: aliases can expand a small file "
                "into a huge one.",
                "Write the value out in full.",
            )
        return super().compose_node(parent, index)


def _parse(text: str) -> object:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{CONFIG_FILE}: not valid YAML ({_one_line(exc)}).",
            "Fix the file or delete it to use the defaults.",
        ) from exc
    except RecursionError as exc:
        raise ConfigError(
            f"{CONFIG_FILE}: values nested too deeply to read.",
            "Each setting is a string, a list or a mapping of strings.",
        ) from exc


def _field_for(key: object) -> str:
    name = _KEYS.get(str(key)) or (str(key) if str(key) in _KEYS.values() else None)
    if name is None:
        known = ", ".join(sorted(_KEYS))
        raise ConfigError(
            f"{CONFIG_FILE}: unknown key {quoted_value(key)}.", f"Known keys: {known}."
        )
    return name


def _coerce(key: str, value: object) -> object:
    name = _field_for(key)
    if name in ("paths", "exclude"):
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(
            f"{CONFIG_FILE}: {key!r} must be a list of paths, got {quoted_value(value)}."
        )
    if name == "app_labels":
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return dict(value)
        raise ConfigError(
            f"{CONFIG_FILE}: 'app-labels' must map app folders to labels, "
            f"got {quoted_value(value)}.",
            "Example: 'app-labels: {src/shop: store}'.",
        )
    if name in ("risk_ignore", "risk_levels", "fail_on"):
        return _coerce_risk(key, name, value)
    if name == "strategy" and value not in STRATEGIES:
        raise ConfigError(
            f"{CONFIG_FILE}: 'strategy' is {quoted_value(value)}.", "Use one of: merge, rebase."
        )
    if name == "auth_user_model":
        check_auth_user_model(value, f"{CONFIG_FILE}: 'auth-user-model'")
    if not isinstance(value, str):
        raise ConfigError(f"{CONFIG_FILE}: {key!r} must be a string, got {quoted_value(value)}.")
    return cast(object, value)


def _coerce_risk(key: str, name: str, value: object) -> object:
    """``risk-ignore: [rule, ...]``, ``risk-levels: {rule: level}``, ``fail-on: level``."""
    where = f"{CONFIG_FILE}: {key!r}"
    if name == "fail_on":
        if value not in FAIL_ON:
            raise ConfigError(f"{where} is {value!r}.", f"Use one of: {', '.join(FAIL_ON)}.")
        return value
    if name == "risk_ignore":
        rules = [value] if isinstance(value, str) else value
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ConfigError(f"{where} must be a list of rule ids, got {value!r}.",
                              "Example: 'risk-ignore: [add-index]'.")
        check_rule_ids(rules, where)
        return tuple(rules)
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and v in LEVELS for k, v in value.items()):
        raise ConfigError(f"{where} must map rule ids to high, medium or low, got {value!r}.",
                          "Example: 'risk-levels: {add-index: low}'.")
    check_rule_ids(value, where)
    return dict(value)


def check_auth_user_model(value: object, where: str) -> None:
    """AUTH_USER_MODEL is 'app_label.ModelName', as Django requires."""
    if not isinstance(value, str) or value.count(".") != 1 or "" in value.split("."):
        raise ConfigError(
            f"{where} is {quoted_value(value)}.",
            "Use Django's 'app_label.ModelName' form, e.g. 'accounts.User'.",
        )


def quoted_value(value: object) -> str:
    """``repr(value)``, cut to ``QUOTED_CHARS`` characters: a bad value may be huge."""
    text = repr(value)
    return text if len(text) <= QUOTED_CHARS else text[: QUOTED_CHARS - 1] + "…"


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 4 * QUOTED_CHARS else text[: 4 * QUOTED_CHARS - 1] + "…"
