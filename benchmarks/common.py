"""What every benchmark script shares: generating the project, timing commands, the result table."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

GENERATOR = Path(__file__).with_name("generate.py")
FEATURE_BRANCH, BASE_BRANCH = "feature", "main"


class BenchmarkError(Exception):
    """A benchmark cannot run: the message says what failed and how to fix it."""


@dataclass(frozen=True)
class Size:
    apps: int
    migrations: int

    def __str__(self) -> str:
        return f"{self.apps} apps x {self.migrations} migrations"


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    limit: str
    met: bool


def generate_project(outdir: Path, size: Size, seed: int = 1, branch_migrations: int = 5) -> float:
    """Generate a project with a forked git history (``feature`` checked out); the seconds taken."""
    argv = [sys.executable, str(GENERATOR), str(outdir), "--apps", str(size.apps),
            "--migrations", str(size.migrations), "--seed", str(seed), "--fork", "--git",
            "--branch-migrations", str(branch_migrations)]
    return time_once(argv, cwd=GENERATOR.parent, ok_codes=(0,))


def manage_py(*args: str) -> list[str]:
    """``python manage.py ARGS`` with this Python, to run in the generated project."""
    return [sys.executable, "manage.py", *args]


def clean_environ() -> dict[str, str]:
    """The environment for timed commands: no settings module, so the CLI uses its static engine."""
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def time_once(argv: Sequence[str], cwd: Path, ok_codes: Iterable[int]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, env=clean_environ(), capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in tuple(ok_codes):
        raise BenchmarkError(
            f"Command '{' '.join(argv)}' in '{cwd}' exited {proc.returncode}, expected "
            f"{' or '.join(map(str, ok_codes))}.\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return elapsed


def time_runs(label: str, argv: Sequence[str], cwd: Path, runs: int, warmups: int,
              ok_codes: Iterable[int]) -> Timing:
    """Run ``argv`` ``warmups`` times untimed, then ``runs`` times timed."""
    codes = tuple(ok_codes)
    for _ in range(warmups):
        time_once(argv, cwd, codes)
    return Timing(label, tuple(time_once(argv, cwd, codes) for _ in range(runs)))


def find_cli() -> list[str]:
    """The ``migration-ci`` command installed next to this Python, checked to start."""
    name = "migration-ci"
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise BenchmarkError(f"The '{name}' command is not installed for '{sys.executable}'. "
                             "Install the package first: pip install -e .")
    proc = subprocess.run([found, "check", "--help"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last_line = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchmarkError(f"'{found} check --help' exited {proc.returncode}: {last_line}. "
                             "The benchmark needs a working 'migration-ci check' command.")
    return [found]


def format_seconds(seconds: float) -> str:
    return f"{seconds:.2f} s"


def print_timings(title: str, timings: Sequence[Timing]) -> None:
    width = max(len(t.label) for t in timings)
    print(title)
    print(f"  {'command':<{width}}  {'median':>9}  {'min':>9}  {'max':>9}  runs")
    for t in timings:
        print(f"  {t.label:<{width}}  {format_seconds(t.median):>9}  "
              f"{format_seconds(min(t.seconds)):>9}  {format_seconds(max(t.seconds)):>9}  "
              f"{len(t.seconds):>4}")


def print_targets(targets: Sequence[Target]) -> None:
    width = max(len(t.name) for t in targets)
    print(f"  {'target':<{width}}  {'measured':>9}  {'limit':>9}  met")
    for t in targets:
        print(f"  {t.name:<{width}}  {t.measured:>9}  {t.limit:>9}  {'yes' if t.met else 'NO'}")
