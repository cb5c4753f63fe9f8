"""Entry point of both GitHub Actions: ``python /action/entrypoint.py`` in the Docker image, and a
copy in ``$RUNNER_TEMP`` run by python/action.yml in the job's own Python.

Reads the environment once, wires the real services (git, the migration-ci CLI, the GitHub
API, the runner's files) into ``migration_ci.activities.action.run_pr_report`` and returns its
exit code; after a push, ``migration_ci.activities.recheck.run_recheck`` judges the open pull
requests into the pushed branch again (it never changes the exit code).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr
from functools import cache
from pathlib import Path

from migration_ci.activities import action, recheck, statuses
from migration_ci.activities import action_checkout as checkout
from migration_ci.cli import main as cli
from migration_ci.errors import (
    EXIT_BAD_INPUT,
    EXIT_UNEXPECTED,
    MigrationCIError,
)
from migration_ci.github.api import GitHub
from migration_ci.github.event import read_event
from migration_ci.github.inputs import read_environ
from migration_ci.github.workflow import Annotation, Workflow


def _tool(argv: Sequence[str]) -> tuple[int, str, str]:
    """Run the migration-ci CLI in this process; its stdout and stderr are returned."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = cli.main(list(argv), stdout=out)
    return code, out.getvalue(), err.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    environ = dict(os.environ)
    workflow = Workflow(environ.get("GITHUB_OUTPUT", ""), environ.get("GITHUB_STEP_SUMMARY", ""))
    try:
        inputs, context = read_environ(environ)
        event = read_event(context.event_name, context.event_path)
        # One client for the run: the API's pacing between requests spans all of them.
        connect = cache(lambda: GitHub(inputs.github_token, context.repository, context.api_url))
        services = action.Services(
            workflow=workflow,
            build_report=lambda e: checkout.build_report(inputs, context, e, _tool),
            connect=connect,
            commit_fix=lambda e, r: checkout.commit_fix(inputs, context, e, r, _tool),
            find_base_commits=lambda r: statuses.find_base_commits(Path(context.workspace), r),
        )
        code = action.run_pr_report(inputs, context, event, services)
        recheck.run_recheck(inputs, context, event, recheck.Services(workflow, connect))
        return code
    except MigrationCIError as exc:
        workflow.annotate(Annotation("error", str(exc), title="django-migration-ci"))
        return exc.exit_code
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        workflow.annotate(Annotation("error", f"{type(exc).__name__}: {exc}",
                                     title="django-migration-ci"))
        return EXIT_BAD_INPUT if isinstance(exc, subprocess.CalledProcessError) \
            else EXIT_UNEXPECTED


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
