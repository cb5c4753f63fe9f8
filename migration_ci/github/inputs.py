"""The Action's environment, read once: ``INPUT_*`` values and the ``GITHUB_*`` run context.

GitHub passes an input named ``fail-on-conflict`` as ``INPUT_FAIL-ON-CONFLICT``: upper-cased,
hyphens kept (https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions#inputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from migration_ci.errors import ConfigError

FIX_MODES = ("suggest", "commit", "off")
FAIL_ON_RISK = ("high", "medium", "never")
STRATEGIES = ("merge", "rebase")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

# Input name -> default, in the order of action.yml.  A test keeps the two in step.
INPUT_DEFAULTS: dict[str, str] = {
    "github-token": "",
    "working-directory": ".",
    "settings-module": "",
    "base-ref": "",
    "database-url": "",
    "install-command": "",
    "fix": "suggest",
    "strategy": "merge",
    "verify": "true",
    "comment": "true",
    "fail-on-conflict": "true",
    "cache": "true",
    "fail-on-risk": "",
    "recheck-pull-requests": "true",
    "recheck-limit": "50",
}


def _raw(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(f"INPUT_{name.upper()}", "").strip()
    return value or INPUT_DEFAULTS[name]


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    value = _raw(environ, name)
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(
        f"Input '{name}' is {value!r}, which is not a boolean.",
        "Use one of: true, false.",
    )


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = _raw(environ, name).lower()
    if value not in allowed:
        raise ConfigError(
            f"Input '{name}' is {_raw(environ, name)!r}, which is not allowed.",
            f"Use one of: {', '.join(allowed)}.",
        )
    return value


def _count(environ: Mapping[str, str], name: str) -> int:
    value = _raw(environ, name)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"Input '{name}' is {value!r}, which is not a whole number of at least 1.",
            f"Use a number such as {INPUT_DEFAULTS[name]}.",
        )
    return int(value)


def _working_directory(environ: Mapping[str, str]) -> str:
    value = _raw(environ, "working-directory").replace("\\", "/")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigError(
            f"Input 'working-directory' is {value!r}, which leaves the repository.",
            "Use a path relative to the repository root, e.g. 'backend'.",
        )
    return str(path)


@dataclass(frozen=True)
class Inputs:
    """The Action's inputs, validated; documented one by one in the README."""

    github_token: str = field(default="", repr=False)
    working_directory: str = "."
    settings_module: str = ""
    base_ref: str = ""
    database_url: str = field(default="", repr=False)  # may carry a password
    install_command: str = ""
    fix: str = "suggest"
    strategy: str = "merge"
    verify: bool = True
    comment: bool = True
    fail_on_conflict: bool = True
    cache: bool = True
    fail_on_risk: str = ""  # "": the config's fail-on, else never
    recheck_pull_requests: bool = True
    recheck_limit: int = 50

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Inputs:
        return cls(
            github_token=_raw(environ, "github-token"),
            working_directory=_working_directory(environ),
            settings_module=_raw(environ, "settings-module"),
            base_ref=_raw(environ, "base-ref"),
            database_url=_raw(environ, "database-url"),
            install_command=_raw(environ, "install-command"),
            fix=_choice(environ, "fix", FIX_MODES),
            strategy=_choice(environ, "strategy", STRATEGIES),
            verify=_boolean(environ, "verify"),
            comment=_boolean(environ, "comment"),
            fail_on_conflict=_boolean(environ, "fail-on-conflict"),
            cache=_boolean(environ, "cache"),
            fail_on_risk=_choice(environ, "fail-on-risk", ("", *FAIL_ON_RISK)),
            recheck_pull_requests=_boolean(environ, "recheck-pull-requests"),
            recheck_limit=_count(environ, "recheck-limit"),
        )


@dataclass(frozen=True)
class RunContext:
    """The ``GITHUB_*`` variables of the run (https://docs.github.com/en/actions/reference/variables-reference),
    and where the workflow wants the tool's own caches."""

    event_name: str = ""
    event_path: str = ""
    repository: str = ""
    workspace: str = "."
    sha: str = ""
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str = ""
    output_path: str = ""
    summary_path: str = ""
    tool_cache_dir: str = ""  # MIGRATION_CI_CACHE_DIR, when the workflow sets it

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RunContext:
        return cls(
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            event_path=environ.get("GITHUB_EVENT_PATH", ""),
            repository=environ.get("GITHUB_REPOSITORY", ""),
            workspace=environ.get("GITHUB_WORKSPACE", "") or ".",
            sha=environ.get("GITHUB_SHA", ""),
            api_url=(environ.get("GITHUB_API_URL", "") or cls.api_url).rstrip("/"),
            server_url=(environ.get("GITHUB_SERVER_URL", "") or cls.server_url).rstrip("/"),
            run_id=environ.get("GITHUB_RUN_ID", ""),
            output_path=environ.get("GITHUB_OUTPUT", ""),
            summary_path=environ.get("GITHUB_STEP_SUMMARY", ""),
            tool_cache_dir=environ.get("MIGRATION_CI_CACHE_DIR", ""),
        )

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def read_environ(environ: Mapping[str, str]) -> tuple[Inputs, RunContext]:
    """The one place the Action reads its environment."""
    return Inputs.from_environ(environ), RunContext.from_environ(environ)
