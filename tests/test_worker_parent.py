"""The worker ends with the tool's process (worker/parent.py), checked in child processes:
the request to the kernel concerns the process that makes it."""

from __future__ import annotations

import subprocess
import sys

CALL = "import os, sys\nfrom migration_ci.worker.parent import die_with_parent\n"


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CALL + code], capture_output=True, text=True,
                          check=False, timeout=60)


def test_with_its_parent_alive_the_worker_goes_on() -> None:
    done = run("die_with_parent(os.getppid())\nprint('running')")
    assert (done.returncode, done.stdout) == (0, "running\n")


def test_when_its_parent_is_already_gone_the_worker_exits_at_once() -> None:
    done = run("die_with_parent(os.getppid() + 1_000_000)\nprint('running')")
    assert (done.returncode, done.stdout) == (1, "")


def test_elsewhere_than_linux_nothing_is_asked() -> None:
    done = run("sys.platform = 'darwin'\ndie_with_parent(os.getppid() + 1_000_000)\n"
               "print('running')")
    assert (done.returncode, done.stdout) == (0, "running\n")
