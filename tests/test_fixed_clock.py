"""The suite's own clock: Django's migration writer reads the same fixed moment in the test
process and in every Python process the tests start (tests/support/fixedclock), so no test
depends on the minute it runs in."""

from __future__ import annotations

import subprocess
import sys

from migration_ci.fix.merge import merge_name, render_merge
from tests.conftest import TEST_NOW

LONG = ["0002_" + "a" * 30, "0002_" + "b" * 30]  # joined, longer than 47: a timestamp name
SHOW = (
    "from migration_ci.fix.merge import merge_name, render_merge\n"
    "print(render_merge('shop', '0003_merge', [('shop', '0002_a')]).splitlines()[0])\n"
    f"print(merge_name({LONG!r}))\n"
)


def test_in_this_process() -> None:
    assert render_merge("shop", "0003_merge", [("shop", "0002_a")]).splitlines()[0].endswith(
        f" on {TEST_NOW}"
    )
    assert merge_name(LONG) == "0003_merge_20240101_1200"


def test_in_a_child_process() -> None:
    out = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0].endswith(f" on {TEST_NOW}")
    assert out[1] == "0003_merge_20240101_1200"
