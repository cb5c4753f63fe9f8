"""The one exception family of django-migration-ci and the documented exit codes."""

from __future__ import annotations

# Exit codes are part of the interface (README: "Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1  # conflicts found, a migration failed, or files were written
EXIT_BAD_INPUT = 2  # bad input or usage
EXIT_UNEXPECTED = 3  # a bug or an environment failure we did not foresee


class MigrationCIError(Exception):
    """Base error: ``message`` states the fact, ``hint`` gives the fix.

    ``str(error)`` is the one line shown to the user.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ConfigError(MigrationCIError):
    """The configuration file or a command-line value is wrong."""


class MigrationFileError(MigrationCIError):
    """A migration file cannot be read: syntax error, no Migration class, bad encoding."""


class GraphError(MigrationCIError):
    """The migration graph is broken: a missing dependency or a cycle."""


class GitError(MigrationCIError):
    """A git command failed, a ref is unknown, or history is missing."""


class FixError(MigrationCIError):
    """A fix cannot be written safely (no common ancestor, unsafe rebase, ...)."""


class DatabaseError(MigrationCIError):
    """The throwaway database cannot be created, reached or dropped."""


class GitHubError(MigrationCIError):
    """The GitHub API refused or failed a request."""


class ProjectError(MigrationCIError):
    """The user's Django project cannot be loaded: settings, apps or models fail to import."""


class WorkerError(MigrationCIError):
    """The process that runs the user's Django project crashed or answered nonsense."""

    exit_code = EXIT_UNEXPECTED
