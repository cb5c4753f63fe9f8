"""The event the Action runs for, from the payload file GitHub writes (``GITHUB_EVENT_PATH``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci.errors import ConfigError


@dataclass(frozen=True)
class Event:
    """What the Action needs from the event payload (``GITHUB_EVENT_PATH``)."""

    name: str
    pull_number: int | None = None
    head_sha: str = ""
    head_ref: str = ""
    head_repository: str = ""
    base_sha: str = ""
    base_ref: str = ""
    base_repository: str = ""
    run_head_sha: str = ""  # workflow_run: the commit the triggering run checked
    run_head_repository: str = ""
    ref: str = ""  # push: the full ref pushed, e.g. refs/heads/main
    before: str = ""  # push: the ref's commit before the push (zeros when it was created)
    after: str = ""  # push: the ref's commit after it (zeros when it was deleted)
    forced: bool = False  # push: the ref's history was rewritten

    @property
    def pushed_branch(self) -> str:
        """The branch a push moved, or "" (a tag, a deleted branch, not a push)."""
        if self.name != "push" or not self.ref.startswith("refs/heads/") or _is_zero(self.after):
            return ""
        return self.ref.removeprefix("refs/heads/")

    @property
    def pushed_from(self) -> str:
        """The commit the pushed branch was at before, when the push only added to it."""
        return "" if self.forced or _is_zero(self.before) else self.before

    def is_same_repository(self, repository: str) -> bool:
        """The pull request's head branch lives in ``repository`` (GITHUB_REPOSITORY), as does its
        base. A deleted fork leaves ``head.repo`` null in the payload: unknown is not trusted."""
        return bool(repository) and self.head_repository == self.base_repository == repository

    @property
    def head_owner(self) -> str:
        """Who the head branch belongs to, for messages."""
        if not self.head_repository:
            return "a deleted fork (the event names no head repository)"
        return f"'{self.head_repository}'"

    @classmethod
    def from_payload(cls, name: str, payload: Mapping[str, Any]) -> Event:
        pr, group = as_mapping(payload.get("pull_request")), as_mapping(payload.get("merge_group"))
        run = as_mapping(payload.get("workflow_run"))
        head, base = as_mapping(pr.get("head")), as_mapping(pr.get("base"))
        number = pr.get("number")
        return cls(
            name=name,
            pull_number=number if isinstance(number, int) else None,
            head_sha=str(head.get("sha") or group.get("head_sha") or ""),
            head_ref=str(head.get("ref") or group.get("head_ref") or ""),
            head_repository=str(as_mapping(head.get("repo")).get("full_name") or ""),
            base_sha=str(base.get("sha") or group.get("base_sha") or ""),
            base_ref=str(base.get("ref") or group.get("base_ref") or "").removeprefix(
                "refs/heads/"),
            base_repository=str(as_mapping(base.get("repo")).get("full_name") or ""),
            run_head_sha=str(run.get("head_sha") or ""),
            run_head_repository=str(as_mapping(run.get("head_repository")).get("full_name") or ""),
            ref=str(payload.get("ref") or ""),
            before=str(payload.get("before") or ""),
            after=str(payload.get("after") or ""),
            forced=payload.get("forced") is True,
        )


def _is_zero(sha: str) -> bool:
    """GitHub's all-zeros sha: the side of a push where the ref did not exist."""
    return not sha.strip("0")


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: payloads are read defensively."""
    return value if isinstance(value, Mapping) else {}


def read_event(name: str, path: str) -> Event:
    """The event GitHub describes in the file ``GITHUB_EVENT_PATH`` names (none: an empty one)."""
    payload: Mapping[str, Any] = {}
    if path and Path(path).is_file():
        payload = read_payload(Path(path))
    return Event.from_payload(name, payload)


EVENT_HINT = ("The runner writes that file for every job: check that no earlier step replaced it "
              "and that GITHUB_EVENT_PATH is not set by the workflow.")


def read_payload(path: Path) -> Mapping[str, Any]:
    """The JSON object in the event file; a file that is not one is bad input, named."""
    where = f"The event file {str(path)!r} (GITHUB_EVENT_PATH)"
    try:
        payload = json.loads(path.read_bytes())
    except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError(f"{where} is not valid JSON: {reason}.", EVENT_HINT) from exc
    if not isinstance(payload, Mapping):
        raise ConfigError(
            f"{where} holds a JSON {type(payload).__name__}, not the event object.", EVENT_HINT
        )
    return payload
