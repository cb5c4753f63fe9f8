"""Databases a killed run left behind: who made them, and when one may be dropped.

A run that is SIGKILLed (the OOM killer, a CI timeout) cannot drop its throwaway database. So
every database the tool creates carries, in its marker, its owner: the host, the process id,
that process's start (boot id and start time, so a reused pid is not mistaken for the owner)
and the creation time. The next run on the server, and ``migration-ci clean``, drop a marked
database when

- its owner ran on this host, is gone, and it is older than ``SAME_HOST_GRACE``; or
- its owner ran on another host (whose processes cannot be seen from here) and it is older
  than ``OTHER_HOST_GRACE``, longer than any verify run.

A database without our marker, or with a marker that names no owner, is never dropped.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from migration_ci.databases.servers import MARKER, Server
from migration_ci.errors import DatabaseError

SAME_HOST_GRACE = 10 * 60  # seconds: a dead owner's database is left alone this long
OTHER_HOST_GRACE = 24 * 60 * 60  # seconds: far longer than any verify run
_OWNER = re.compile(r"; owner host=(\S+) pid=(\d+) start=(\S*) at=(\d+);")


@dataclass(frozen=True)
class Owner:
    """The process that created a throwaway database, and when."""

    host: str
    pid: int
    start: str  # "<boot id>:<start time in clock ticks>" from /proc; "" where there is none
    created: int  # Unix time

    def marker(self, run_id: str) -> str:
        return (f"{MARKER} run {run_id}; owner host={self.host} pid={self.pid} "
                f"start={self.start} at={self.created}; safe to drop")


def parse_owner(marker: str) -> Owner | None:
    """The owner a marker of ours names; None for any other text."""
    match = _OWNER.search(marker) if marker.startswith(MARKER) else None
    if match is None:
        return None
    host, pid, start, created = match.groups()
    return Owner(host, int(pid), start, int(created))


def process_start(pid: int, proc: Path = Path("/proc")) -> str:
    """``<boot id>:<start ticks>`` of process ``pid`` (Linux), "" when unknown or gone."""
    try:
        boot = (proc / "sys/kernel/random/boot_id").read_text().strip()
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return ""
    # The command name in parentheses may hold spaces: fields are counted after the last ")".
    # starttime is field 22 of proc_pid_stat(5), the 20th after the name.
    fields = stat.rpartition(")")[2].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else ""


def this_process(now: float) -> Owner:
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, process_start(pid), int(now))


def is_running(owner: Owner) -> bool:
    """Whether the owner process (on this host) still runs: same pid, same start."""
    if owner.start:
        return process_start(owner.pid) == owner.start
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    return True


@dataclass(frozen=True)
class Leftover:
    """A database of ours found on a server: whether it may be dropped, and why."""

    name: str
    stale: bool
    reason: str
    dropped: bool = False


def judge(
    owner: Owner | None, *, host: str, now: float, running: Callable[[Owner], bool],
    grace: float = SAME_HOST_GRACE,
) -> tuple[bool, str]:
    """Whether a database with this owner may be dropped (see the module), and why."""
    if owner is None:
        return False, "its marker names no owner"
    age = now - owner.created
    made = f"made {_age(age)} ago"
    if owner.host == host:
        if running(owner):
            return False, f"its run (pid {owner.pid} on this host) is still running"
        if age < grace:
            return False, f"{made}; its run (pid {owner.pid} on this host) is gone"
        return True, f"its run (pid {owner.pid} on this host) is gone; {made}"
    if age < OTHER_HOST_GRACE:
        return False, f"{made} on host {owner.host}, whose runs cannot be seen from here"
    return True, f"{made} on host {owner.host}"


def _age(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def find_stale(
    server: Server, now: float, *, host: str | None = None,
    running: Callable[[Owner], bool] = is_running, grace: float = SAME_HOST_GRACE,
) -> list[Leftover]:
    """Every database of ours on ``server``, each judged."""
    here = host or socket.gethostname()
    found = []
    for name, marker in sorted(server.list_marked().items()):
        stale, reason = judge(
            parse_owner(marker), host=here, now=now, running=running, grace=grace
        )
        found.append(Leftover(name, stale, reason))
    return found


def drop_stale(
    server: Server, now: float, say: Callable[[str], None], *, host: str | None = None,
    running: Callable[[Owner], bool] = is_running, grace: float = SAME_HOST_GRACE,
) -> list[Leftover]:
    """Drop the stale databases of ours on ``server``, saying so; returns what was judged.

    A drop that fails (another user's database) is said and skipped: cleaning up after another
    run must not fail this one.
    """
    found = find_stale(server, now, host=host, running=running, grace=grace)
    return [_drop(server, leftover, say) if leftover.stale else leftover for leftover in found]


def _drop(server: Server, leftover: Leftover, say: Callable[[str], None]) -> Leftover:
    try:
        server.drop(leftover.name)
    except DatabaseError as exc:
        say(f"Could not drop database {leftover.name!r}, left by a killed run: {exc}")
        return leftover
    say(f"Dropped database {leftover.name!r} on {server.address}, left by a killed run "
        f"({leftover.reason}).")
    return dataclasses.replace(leftover, dropped=True)
