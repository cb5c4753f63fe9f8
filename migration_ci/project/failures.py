"""What a failure of the process that loads the user's project means, said for its reader.

The worker answers ``{"error": {"stage", "type", "message", ...}}``; this module turns that into
one of our exceptions: settings that cannot be imported (naming the module that is missing and
the file the settings expected), a project Django cannot set up, or a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from migration_ci import errors
from migration_ci.errors import ConfigError, ProjectError, WorkerError


class ProjectSpec(Protocol):
    """What the messages read of ``session.ProjectSpec``."""

    @property
    def settings(self) -> str: ...
    @property
    def project_dir(self) -> Path: ...
    @property
    def shown_dir(self) -> Path: ...
    def python_path(self) -> list[str]: ...

SETTINGS_HINT = (
    "Pass --settings (or set DJANGO_SETTINGS_MODULE) to a module importable from --project-dir."
)
MISSING_FILE_HINT = (
    "If CI writes that file{example}, do it in a step before migration-ci runs (before the "
    "Action, or in its install-command): the files of the project folder that git does not "
    "track are loaded with the project."
)
MISSING_PACKAGE_HINT = (
    "Install the project's requirements before migration-ci runs (the Action's "
    "install-command, e.g. pip install -r requirements.txt)."
)
RAISING_SETTINGS_HINT = (
    "Provide what the settings read (environment variables, files) before migration-ci runs, "
    "as CI does before manage.py."
)
STDERR_TAIL_LINES = 30


def to_exception(project: ProjectSpec, error: Mapping[str, Any], stderr: str) -> Exception:
    """The parent-side exception for an ``{"error": {...}}`` answer of the worker."""
    stage, kind, message = error["stage"], error["type"], error["message"]
    trace = error.get("traceback", "")
    if stage == "settings":
        return settings_error(project, kind, message, error.get("missing_module"))
    if stage == "setup":
        return ProjectError(
            f"Django could not set up the project with settings {project.settings!r}: "
            f"{kind}: {message}\n{tail(trace)}",
            "Run `python manage.py check` in the project directory and fix what it reports.",
        )
    ours = getattr(errors, error.get("error_class") or "", None)
    if isinstance(ours, type) and issubclass(ours, errors.MigrationCIError):
        return ours(message, error.get("hint", ""))
    return WorkerError(
        f"The Django project process failed in {stage!r}: {kind}: {message}\n{tail(trace)}"
        f"\n{stderr_tail(stderr)}".rstrip(),
    )


def settings_error(
    project: ProjectSpec, kind: str, message: str, missing: str | None
) -> ConfigError:
    """Settings that cannot be imported: which module is missing, and where it was expected."""
    where = str(project.shown_dir)
    settings = project.settings
    if missing and not is_settings_module(settings, missing):
        expected = expected_file(project, missing)
        if expected is not None:
            return ConfigError(
                f"Cannot load settings {settings!r}: they import {missing!r}, and there is no "
                f"{expected} in the project folder {where!r}.",
                MISSING_FILE_HINT.format(example=copy_example(project, expected)),
            )
        return ConfigError(
            f"Cannot load settings {settings!r}: they import {missing!r}, which is not "
            "installed.",
            MISSING_PACKAGE_HINT,
        )
    return ConfigError(
        f"Cannot load settings {settings!r} from {where!r}: {kind}: {sentence(message)}",
        SETTINGS_HINT if missing else RAISING_SETTINGS_HINT,
    )


def is_settings_module(settings: str, missing: str) -> bool:
    """The settings module itself (or a package it is in) is what is missing."""
    return settings == missing or settings.startswith(missing + ".")


def expected_file(project: ProjectSpec, module: str) -> str | None:
    """``a/b.py`` for module ``a.b`` when its top-level package is one of the project's own."""
    top = module.partition(".")[0]
    for folder in map(Path, project.python_path()):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return module.replace(".", "/") + ".py"
    return None


def copy_example(project: ProjectSpec, expected: str) -> str:
    """`` (say, cp a/b_example.py a/b.py)`` when the project has a file that looks like a
    template of ``expected`` beside where it belongs, else ""."""
    folder, _, name = expected.rpartition("/")
    stem = name.removesuffix(".py")
    try:
        names = sorted(p.name for p in (project.project_dir / folder).iterdir() if p.is_file())
    except OSError:
        return ""
    templates = [n for n in names if n != name and n.startswith((f"{stem}_", f"{stem}."))]
    if not templates:
        return ""
    prefix = f"{folder}/" if folder else ""
    return f" (say, cp {prefix}{templates[0]} {expected} in the project folder)"


def sentence(text: str) -> str:
    """``text`` as a sentence of its own, so that the hint after it reads as another."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def stderr_tail(stderr: str) -> str:
    return f"Last lines of its stderr:\n{tail(stderr)}" if stderr.strip() else "It wrote no stderr."
