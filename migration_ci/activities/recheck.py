"""The recheck activity: after a push to a branch, the open pull requests into it whose merge the
push may have changed are judged again, and their commit status and sticky comment follow.

GitHub updates a pull request's test merge when its base moves, but runs no workflow: without
this, a pull request that was green stays green while a competing migration lands on the base
(README: "Recheck after a push"). The API comes in through ``Services``; git is read, and the
pull requests judged, by ``recheck_judge``, statically.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from migration_ci.activities.recheck_judge import (
    Judge,
    Scope,
    fetch_heads,
    overlap,
    push_scope,
)
from migration_ci.activities.recheck_publish import Outcome, Publisher, RecheckPort
from migration_ci.errors import MigrationCIError
from migration_ci.github.api import PullRequest
from migration_ci.github.event import Event
from migration_ci.github.inputs import Inputs, RunContext
from migration_ci.github.workflow import Annotation, Workflow
from migration_ci.report import comment

TITLE = "django-migration-ci"


@dataclass(frozen=True)
class Services:
    workflow: Workflow
    connect: Callable[[], RecheckPort]  # the API client; may raise GitHubError


def run_recheck(inputs: Inputs, context: RunContext, event: Event, services: Services) -> None:
    """The recheck after a push; it never changes the step's exit status: every failure is a
    warning, and what was not rechecked is named."""
    if not (inputs.recheck_pull_requests and event.pushed_branch):
        return
    recheck = Recheck(inputs, context, event, services)
    try:
        recheck.run()
    except MigrationCIError as exc:
        recheck.warn(f"Pull requests were not rechecked: {exc}")
    except Exception as exc:  # the boundary, as for the comment: a bug here must not cost more
        recheck.warn(f"Pull requests were not rechecked: unexpected {type(exc).__name__}: {exc}")
    recheck.publish()


class Recheck:
    """One recheck: what it found, said in the job summary and the log at the end."""

    def __init__(self, inputs: Inputs, context: RunContext, event: Event,
                 services: Services) -> None:
        self.inputs, self.context, self.services = inputs, context, services
        self.root = Path(context.workspace)
        self.branch, self.after, self.before = event.pushed_branch, event.after, event.pushed_from
        self.intro = ""  # the summary: the intro, the table, then the lines
        self.lines: list[str] = []
        self.outcomes: list[Outcome] = []

    def warn(self, message: str) -> None:
        self.services.workflow.annotate(Annotation("warning", message, title=TITLE))
        self.lines.append(f"> [!WARNING]\n> {comment.code(message, 2000)}")

    def run(self) -> None:
        scope = push_scope(self.root, self.before, self.after)
        if scope.is_empty:
            self.lines.append("The push changed no migration files, so no pull request's "
                              "merge can have changed: nothing to recheck.")
            return
        github = self.services.connect()
        pulls = github.list_open_pulls(self.branch)
        if not pulls:
            self.intro = f"No pull request into {comment.code(self.branch)} is open."
            return
        merge_bases = fetch_heads(self.root, pulls, [b for b in (self.after, self.before) if b])
        judge = Judge(self.root, self.inputs.working_directory, self.branch, self.after,
                      self.before)
        try:
            self._recheck_all(github, pulls, scope, merge_bases, judge)
        finally:
            judge.close()

    def _recheck_all(self, github: RecheckPort, pulls: list[PullRequest], scope: Scope,
                     merge_bases: dict[int, str], judge: Judge) -> None:
        scopes = {p.number: judge.scope_of_pull(p.head_sha, merge_bases[p.number])
                  for p in pulls if p.number in merge_bases}
        affected = [p for p in pulls if p.number in scopes and scope.overlaps(scopes[p.number])]
        self._say_what_is_left_out(pulls, scopes, affected)
        publisher = Publisher(github, self.inputs, self.context, self.branch, self.after,
                              self.warn)
        # One thread makes every request, in order (GitHub: requests serially, a second
        # between writes); this one judges the next pull requests meanwhile.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="github-api") as api:
            pending = [self._recheck(pull, merge_bases[pull.number],
                                     overlap(scope, scopes[pull.number]), judge, publisher, api)
                       for pull in affected[: self.inputs.recheck_limit]]
            self.outcomes = [o.result() if isinstance(o, Future) else o for o in pending]
        if publisher.stopped is not None:
            self.warn(f"Stopped writing: {publisher.stopped} Left as they were: "
                      f"{_numbers(publisher.unwritten)}.")

    def _recheck(self, pull: PullRequest, merge_base: str, folders: frozenset[str] | None,
                 judge: Judge, publisher: Publisher,
                 api: ThreadPoolExecutor) -> Outcome | Future[Outcome]:
        if judge.is_unchanged(pull.head_sha, merge_base, folders):
            return Outcome(pull.number, "as before the push", "unchanged by this push")
        try:
            verdict = judge.verdict(pull.head_sha)
        except MigrationCIError as exc:
            return Outcome(pull.number, f"not judged: {comment.code(exc, 500)}")
        return api.submit(publisher.publish, pull, verdict)

    def _say_what_is_left_out(self, pulls: list[PullRequest], scopes: dict[int, Scope],
                              affected: list[PullRequest]) -> None:
        branch, limit = comment.code(self.branch), self.inputs.recheck_limit
        if affected:
            self.intro = (f"{len(affected)} of {len(pulls)} open pull requests into {branch} "
                          "change migrations folders this push changed; they were judged again, "
                          f"merged with {comment.code(self.after[:12])}, statically.")
        else:
            self.intro = (f"None of the {len(pulls)} open pull requests into {branch} changes a "
                          "migrations folder this push changed: none can have a new conflict.")
        judged = {p.number for p in affected}
        unaffected = [number for number in scopes if number not in judged]
        if unaffected:
            self.lines.append(f"Not judged, as this push changed none of their migrations "
                              f"folders: {_numbers(unaffected)}.")
        missing = [p.number for p in pulls if p.number not in scopes]
        if missing:
            self.lines.append(f"Not judged, as their head moved since they were listed or its "
                              f"history could not be fetched: {_numbers(missing)}.")
        over = [p.number for p in affected[limit:]]
        if over:
            self.warn(f"Rechecked {limit} of {len(affected)} pull requests; not rechecked, over "
                      f"'recheck-limit' ({limit}): {_numbers(over)}. Their status and comment "
                      "are from their own runs; raise 'recheck-limit' to judge more per push.")

    def publish(self) -> None:
        """The job summary and the log (names from pull requests are untrusted)."""
        parts = [f"## Pull requests rechecked after the push to {comment.code(self.branch)}",
                 *([self.intro] if self.intro else [])]
        if self.outcomes:
            rows = [f"| #{o.number} | {o.merged} | {o.status} | {o.comment} |"
                    for o in self.outcomes]
            parts.append("\n".join(["| Pull request | Merged with the new base | Commit status "
                                    "| Comment |", "| --- | --- | --- | --- |", *rows]))
        text = "\n\n".join(parts + self.lines) + "\n"
        self.services.workflow.write_summary(text)
        self.services.workflow.print_untrusted(text)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)
