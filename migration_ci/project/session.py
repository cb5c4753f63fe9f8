"""Run the user's Django project in a separate Python process and talk to it in JSON.

The user's settings, apps and models are never imported into the CLI's own process: a
``python -m migration_ci.worker`` child does that, with the project directory as its working
directory and first on ``sys.path``, and ``PYTHONDONTWRITEBYTECODE=1`` so nothing is written
into the user's tree. The request goes in on stdin; the answer comes back in a file of our own
(user code may print anything on stdout and stderr).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import select
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci.errors import ConfigError, WorkerError
from migration_ci.project.failures import SETTINGS_HINT, stderr_tail, to_exception

WAIT_SLICE = 0.5  # seconds: how soon a signal taken by another thread is handled
_MANAGE_PY_SETTINGS = re.compile(
    r"""environ\.setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']"""
)


@dataclass(frozen=True)
class ProjectSpec:
    """Where the user's Django project is and how to load it.

    ``extra_paths`` are put on ``sys.path`` after ``project_dir``; relative ones are relative to
    ``project_dir``, so they follow the project into a temporary copy (``with_dir``), which
    keeps the user's folder as ``home`` for messages.
    """

    project_dir: Path
    settings: str
    extra_paths: tuple[str, ...] = ()
    home: Path | None = None  # the user's own project folder, when this is a copy of it

    @classmethod
    def from_options(
        cls,
        *,
        settings: str | None,
        project_dir: str | os.PathLike[str] | None,
        environ: Mapping[str, str],
        extra_paths: Sequence[str] = (),
    ) -> ProjectSpec:
        """``--settings``, ``--project-dir`` (default: the working directory), then
        ``DJANGO_SETTINGS_MODULE``, then the module ``manage.py`` names."""
        directory = Path(project_dir or ".").resolve()
        if not directory.is_dir():
            raise ConfigError(
                f"Project directory {str(directory)!r} does not exist.",
                "Pass --project-dir with the directory that holds manage.py.",
            )
        module = settings or environ.get("DJANGO_SETTINGS_MODULE") or find_manage_py_settings(
            directory
        )
        if not module:
            raise ConfigError(
                f"No Django settings module for the project in {str(directory)!r}.",
                SETTINGS_HINT,
            )
        return cls(directory, module, tuple(extra_paths))

    def with_dir(self, project_dir: Path) -> ProjectSpec:
        """The same project loaded from another directory (e.g. a temporary copy)."""
        return dataclasses.replace(self, project_dir=project_dir, home=self.shown_dir)

    @property
    def shown_dir(self) -> Path:
        """The folder messages name: the user's, not a temporary copy's."""
        return self.home or self.project_dir

    def python_path(self) -> list[str]:
        return [str(self.project_dir)] + [
            str(self.project_dir / extra) for extra in self.extra_paths
        ]


def find_manage_py_settings(directory: Path) -> str | None:
    """The settings module ``manage.py`` sets as its default, if it has one."""
    try:
        text = (directory / "manage.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _MANAGE_PY_SETTINGS.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class WorkerDatabase:
    """The database the worker must use for ``alias``; every other alias is disabled.

    ``settings`` replaces the project's entry for ``alias`` entirely (e.g. from
    ``--database-url``); when None, the project's own entry is kept with ``NAME`` replaced by
    ``name``. Only ``name`` is ever connected to.
    """

    alias: str
    name: str
    settings: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        settings = dict(self.settings) if self.settings is not None else None
        return {"alias": self.alias, "name": self.name, "settings": settings}


def run_worker(
    project: ProjectSpec,
    command: str,
    payload: Mapping[str, Any],
    *,
    database: WorkerDatabase | None = None,
) -> dict[str, Any]:
    """Run one ``command`` (a key of ``worker.process.COMMANDS``) in the user's project.

    Without ``database`` every alias of ``DATABASES`` is disabled in the worker.
    """
    with WorkerSession(project) as session:
        return session.call(command, payload, database=database)


class WorkerSession:
    """One worker process answering several commands, so Django is loaded once.

    Requests are JSON lines on the worker's stdin; answers are JSON lines on a pipe of their
    own; the project's stdout and stderr go to a log file whose tail is shown on a crash.
    The database may be chosen only once per session (Django caches its connections). Any
    exception while waiting (Ctrl-C, SIGTERM) kills the worker before it propagates, so no
    connection stays open to a database about to be dropped.
    """

    def __init__(self, project: ProjectSpec) -> None:
        self.project = project
        # Closed in close(): the session outlives this method.
        self.log = tempfile.TemporaryFile(mode="w+", prefix="migration-ci-worker-")  # noqa: SIM115
        answers_read, answers_write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "migration_ci.worker", str(answers_write)],
                stdin=subprocess.PIPE, stdout=self.log, stderr=self.log, text=True,
                cwd=project.project_dir, env=worker_environ(project), pass_fds=[answers_write],
            )
        finally:
            os.close(answers_write)
        self.answers = os.fdopen(answers_read, "r", encoding="utf-8")

    def __enter__(self) -> WorkerSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(
        self, command: str, payload: Mapping[str, Any], *, database: WorkerDatabase | None = None
    ) -> dict[str, Any]:
        request = {"command": command, "payload": dict(payload),
                   "database": database.to_dict() if database else None}
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.read_answer()
        except BrokenPipeError:
            line = ""
        except BaseException:
            self.kill()
            raise
        if not line:
            self.kill()
            raise WorkerError(
                f"The Django project process for {command!r} exited with code "
                f"{self.proc.returncode} without an answer.\n{stderr_tail(self.log_text())}",
                "Run `python manage.py check` in the project directory to see if it loads.",
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise to_exception(self.project, answer["error"], self.log_text())
        result: dict[str, Any] = answer["result"]
        return result

    def read_answer(self) -> str:
        """The worker's next answer line, waited for in slices: Python runs signal handlers in
        the main thread, and the kernel may deliver Ctrl-C or SIGTERM to another thread of this
        process, which would not interrupt a read blocked here until the worker answers."""
        while not select.select([self.answers], [], [], WAIT_SLICE)[0]:
            pass
        return self.answers.readline()

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except BaseException:
            self.kill()
            raise
        finally:
            self.answers.close()
            self.log.close()


def worker_environ(project: ProjectSpec) -> dict[str, str]:
    env = dict(os.environ)
    paths = [*project.python_path(), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        DJANGO_SETTINGS_MODULE=project.settings,
        # The worker dies with this process, even by SIGKILL (worker/parent.py).
        MIGRATION_CI_PARENT_PID=str(os.getpid()),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(paths),
        PYTHONUNBUFFERED="1",
    )
    return env
