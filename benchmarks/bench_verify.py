"""Benchmark: verify against plain ``manage.py migrate`` on an equally fresh SQLite database.

    python benchmarks/bench_verify.py [--medium 20x10] [--large 50x40]
        [--skip-medium] [--skip-large] [--skip-moved]

(a) Medium project: ``verify`` (every migration forward, the model check) against ``migrate``;
    target: the forward pass within 10% of ``migrate``.
(b) Large project (a branch adding migrations, the base moved on): ``migrate`` of the merged
    tree, then ``verify --base main --cache DIR`` cold (empty cache) and warm; targets: warm
    <= 10 s and >= 15x faster than ``migrate``; cold <= 1.1x ``migrate``.
(c) Large project, the base moves on by the generator's commit on ``main``: the run on the
    moved base (``verify --base HEAD``, as on a push) with the previous base's snapshot in the
    cache, and the same run with an empty cache (the build from zero), one after the other;
    targets: the first <= 10 s and >= 10x faster than the second.

Each verify is the ``migration-ci verify`` command in its own process, timed from the outside;
``migrate`` runs in a copy of the same tree that verify loads (the merged result, with the
merge migration ``fix`` would write).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (
    BASE_BRANCH,
    BenchmarkError,
    Size,
    Target,
    find_cli,
    generate_project,
    manage_py,
    print_targets,
    time_once,
)

SETTINGS = "benchproject.settings"


def merged_inputs(root: Path, base: str | None) -> tuple[dict[str, bytes | None], dict[str, str]]:
    """The files verify puts into its copy of the tree: the merged result and merge migrations."""
    from migration_ci.activities.check import analyze, open_source
    from migration_ci.activities.merged import merged_state
    from migration_ci.config import Config

    config = Config(base=base)
    state = merged_state(analyze(open_source(root, base), config), root, root, config)
    return dict(state.files), dict(state.merge_files)


def timed_verify(root: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    """``migration-ci verify`` (the CLI, in its own process), timed from the outside."""
    argv = [*find_cli(), "verify", "--settings", SETTINGS, "--format", "json", *extra]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=root)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: findings, e.g. missing changes in the tree
        raise BenchmarkError(f"verify failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def timed_migrate(root: Path, base: str | None) -> float:
    """``manage.py migrate`` in a copy of the tree verify loads, on a new SQLite file.

    The copy sits on disk beside the project, as a project's own tree does (verify may copy
    into memory, but its SQLite database stays in the temporary directory on disk).
    """
    from migration_ci.project.tempcopy import materialize

    files, merge_files = merged_inputs(root, base)
    with materialize(root, files, merge_files, directory=str(root.parent)) as copy:
        return time_once(manage_py("migrate", "--noinput"), cwd=copy, ok_codes=(0,))


def phase_seconds(result: dict[str, Any], *names: str) -> float:
    return float(sum(p["seconds"] for p in result["phases"] if p["name"] in names))


def bench_medium(workdir: Path, size: Size) -> None:
    root = workdir / "medium"
    generate_project(root, size)
    migrate = timed_migrate(root, None)
    seconds, result = timed_verify(root)
    forward = phase_seconds(result, "forward")
    print(f"(a) {size}: verify against migrate on a fresh SQLite database")
    print(f"  migrate             {migrate:8.2f} s")
    print(f"  verify (whole run)  {seconds:8.2f} s  ratio {seconds / migrate:.2f}x")
    print(f"  verify forward pass {forward:8.2f} s  ratio {forward / migrate:.2f}x")
    print_targets([Target("forward pass overhead", f"{forward / migrate:.2f}x", "1.10x",
                          forward <= 1.1 * migrate)])


def bench_large(workdir: Path, size: Size) -> None:
    root = workdir / "large"
    generate_project(root, size)
    cache = workdir / "cache"
    migrate = timed_migrate(root, BASE_BRANCH)
    cache_args = ("--base", BASE_BRANCH, "--cache", str(cache))
    cold, cold_result = timed_verify(root, *cache_args)
    warm, warm_result = timed_verify(root, *cache_args)
    if cold_result["snapshot"]["used"] or not warm_result["snapshot"]["used"]:
        raise BenchmarkError(f"Unexpected cache use: {cold_result['snapshot']} / "
                             f"{warm_result['snapshot']}")
    print(f"(b) {size}, branch of {BASE_BRANCH} with new migrations and a merge migration")
    print(f"  migrate (fresh)     {migrate:8.2f} s")
    print(f"  verify cold         {cold:8.2f} s  ratio {cold / migrate:.2f}x of migrate")
    print(f"  verify warm         {warm:8.2f} s  {migrate / warm:.1f}x faster than migrate")
    for label, result in (("cold", cold_result), ("warm", warm_result)):
        phases = ", ".join(f"{p['name']} {p['seconds']:.2f}" for p in result["phases"])
        print(f"  {label} phases: {phases}")
    print_targets([
        Target("warm seconds", f"{warm:.2f}", "10.00", warm <= 10),
        Target("warm speed-up", f"{migrate / warm:.1f}x", "15.0x", migrate / warm >= 15),
        Target("cold vs migrate", f"{cold / migrate:.2f}x", "1.10x", cold <= 1.1 * migrate),
    ])


def bench_moved_base(workdir: Path, size: Size) -> None:
    root = workdir / "moved"
    generate_project(root, size)
    previous, empty, cache = workdir / "previous", workdir / "empty", workdir / "chained"
    checkout(root, f"{BASE_BRANCH}~1")  # the base before the generator's commit on main
    before, _ = timed_verify(root, "--base", "HEAD", "--cache", str(previous))
    checkout(root, BASE_BRANCH)
    shutil.copytree(previous, cache)
    chained, chained_result = timed_verify(root, "--base", "HEAD", "--cache", str(cache))
    zero, zero_result = timed_verify(root, "--base", "HEAD", "--cache", str(empty))
    built_on = chained_result["snapshot"]["chained_from"]
    if built_on is None or zero_result["snapshot"]["used"]:
        raise BenchmarkError(f"Unexpected cache use: {chained_result['snapshot']} / "
                             f"{zero_result['snapshot']}")
    print(f"(c) {size}, {BASE_BRANCH} moves on by one commit; the run on the moved base")
    print(f"  previous base, from zero    {before:8.2f} s  (builds the previous snapshot)")
    print(f"  moved base, from zero       {zero:8.2f} s")
    print(f"  moved base, on the previous {chained:8.2f} s  {zero / chained:.1f}x faster; "
          f"{built_on['applied']} migration(s) applied on the snapshot")
    for label, result in (("from zero", zero_result), ("chained", chained_result)):
        phases = ", ".join(f"{p['name']} {p['seconds']:.2f}" for p in result["phases"])
        print(f"  {label} phases: {phases}")
    print_targets([
        Target("chained seconds", f"{chained:.2f}", "10.00", chained <= 10),
        Target("chained speed-up", f"{zero / chained:.1f}x", "10.0x", zero / chained >= 10),
    ])


def checkout(root: Path, ref: str) -> None:
    proc = subprocess.run(["git", "checkout", "-q", "--detach", ref], cwd=root,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"git checkout {ref} in {root} failed: {proc.stderr.strip()}")


def parse_size(text: str) -> Size:
    apps, _, migrations = text.partition("x")
    return Size(int(apps), int(migrations))


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medium", type=parse_size, default=Size(20, 10))
    parser.add_argument("--large", type=parse_size, default=Size(50, 40))
    parser.add_argument("--skip-medium", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-moved", action="store_true")
    args = parser.parse_args(args_list)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as directory:
        try:
            if not args.skip_medium:
                bench_medium(Path(directory), args.medium)
            if not args.skip_large:
                bench_large(Path(directory), args.large)
            if not args.skip_moved:
                bench_moved_base(Path(directory), args.large)
        except BenchmarkError as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
