"""The worker ends when the tool's process ends, even by SIGKILL.

A killed tool (the OOM killer, a CI timeout) cannot stop its worker, which would go on running
the project's migrations against a database nobody will drop, and hold its locks so that the
next run cannot drop it either. On Linux the kernel sends the worker SIGKILL when its parent
dies (``prctl(PR_SET_PDEATHSIG)``, prctl(2)); elsewhere the worker still stops at the end of
its current request, when its stdin closes. The signal follows the *thread* that started the
worker: the tool starts its workers from its main thread, which lives as long as the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


PARENT_VARIABLE = "MIGRATION_CI_PARENT_PID"  # set by the tool when it starts the worker


def die_with_parent(parent: int) -> None:
    """Ask for SIGKILL when ``parent`` dies; exit at once if it is already gone."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not allowed here (a seccomp filter): the stdin rule still holds
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)
