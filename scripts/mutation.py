#!/usr/bin/env python3
"""Mutation testing of the pure core with mutmut: prints the score, fails under 90 %.

    .venv/bin/python scripts/mutation.py                  # every module below
    .venv/bin/python scripts/mutation.py comment risk     # some of them

Each module is mutated by mutmut (pip install -e '.[mutation]') and checked against the test
files that exercise it, in a fresh scratch copy of the repository (``--workdir``). The run is
niced, uses ``--jobs`` processes (default 2) and stops after ``--budget`` minutes (unchecked
mutants are reported).

A surviving mutant is either a missing test or an *equivalent* mutant, one that no test can
tell apart because behaviour does not change. Equivalent mutants are listed, each with why, in
``scripts/mutation-equivalents.yml``, matched by module, function and the code the mutant
changes (the lines it removes and adds, spaces collapsed), never by line or mutant number, so
the list holds while the code around them moves. The score is
killed / (mutants - equivalent).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "scripts" / "mutation-equivalents.yml"
THRESHOLD = 0.90
COMMENT_TESTS = ["tests/test_comment.py", "tests/test_comment_whole.py",
                 "tests/test_hostile_names.py"]
MODULES = {  # name: (the module, the test files that exercise it)
    "scan": ("migration_ci/graph/scan.py", ["tests/test_scan.py", "tests/test_sources.py"]),
    "dag": ("migration_ci/graph/dag.py", ["tests/test_graph.py", "tests/test_core_edges.py"]),
    "merge": ("migration_ci/fix/merge.py",
              ["tests/test_merge.py", "tests/test_fix.py", "tests/test_core_edges.py"]),
    "rebase": ("migration_ci/fix/rebase.py", ["tests/test_rebase.py"]),
    "risk": ("migration_ci/plan/risk.py",
             ["tests/test_risk.py", "tests/test_risk_boundaries.py", "tests/test_risk_replayed.py",
              "tests/test_plan.py"]),
    "conditions": ("migration_ci/plan/conditions.py",
                   ["tests/test_risk.py", "tests/test_risk_boundaries.py",
                    "tests/test_risk_replayed.py", "tests/test_risk_conditions.py"]),
    "comment": ("migration_ci/report/comment.py", COMMENT_TESTS),
    "plan_section": ("migration_ci/report/plan_section.py",
                     [*COMMENT_TESTS, "tests/test_plan.py", "tests/test_plan_section.py"]),
    "fix_section": ("migration_ci/report/fix_section.py", COMMENT_TESTS),
}
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "no tests"}


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's: migration_ci.report.comment.x_one_line__mutmut_3
    status: str
    module: str  # migration_ci/report/comment.py
    function: str  # one_line, or Class.method
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = {name: MODULES[name] for name in args.modules or MODULES}
    workdir = prepare(Path(args.workdir), chosen)
    finished = run_mutmut(workdir, args.jobs, args.budget * 60)
    mutants = [describe(workdir, m) if m.status in SURVIVED else m for m in results(workdir)]
    equivalents = load_equivalents()
    score = report(mutants, equivalents, chosen, finished)
    return 0 if score >= THRESHOLD else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"some of: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants checked at once")
    parser.add_argument("--budget", type=float, default=90, help="minutes before stopping")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(),
                                                          "migration-ci-mutation"),
                        help="scratch copy (emptied first)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}")
    return args


def prepare(workdir: Path, chosen: dict[str, tuple[str, list[str]]]) -> Path:
    """Fresh copies of the package and the tests, and no state of an earlier run: mutmut keeps
    a survivor's verdict while its function is unchanged, even when new tests would kill it."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for name in ("migration_ci", "tests"):
        shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.copytree(ROOT / name, workdir / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "example"))
    shutil.copytree(ROOT / "migration_ci" / "example", workdir / "migration_ci" / "example")
    for name in ("README.md", "CHANGELOG.md", ".pre-commit-hooks.yaml", "action.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, workdir / name)
    modules = sorted(module for module, _ in chosen.values())
    tests = sorted({test for _, files in chosen.values() for test in files})
    config = {
        "source_paths": ["migration_ci"], "only_mutate": modules,
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:xdist", "-m", "not index"],
        "use_git_change_detection": False,
    }
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (workdir / "pyproject.toml").write_text(pyproject + "\n[tool.mutmut]\n" + "".join(
        f"{key} = {toml_value(value)}\n" for key, value in config.items()), encoding="utf-8")
    return workdir


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{item}"' for item in value) + "]"
    return f'"{value}"'


def mutmut(*args: str) -> list[str]:
    return [sys.executable, "-m", "mutmut", *args]


def run_mutmut(workdir: Path, jobs: int, budget: float) -> bool:
    """``mutmut run``, niced, within ``budget`` seconds; False when it had to be stopped."""
    log = workdir / "mutmut-run.log"
    print(f"mutmut run in {workdir} (log: {log}); at most {budget / 60:.0f} min", flush=True)
    with log.open("w") as out:
        proc = subprocess.Popen(["nice", "-n", "10", *mutmut("run", "--max-children",
                                                             str(jobs))],
                                cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            return False
    if proc.returncode != 0:
        sys.exit(f"mutmut run failed ({proc.returncode}); see {log}")
    return True


def results(workdir: Path) -> list[Mutant]:
    out = subprocess.run(mutmut("results", "--all", "true"), cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            module, function = split_name(name)
            found.append(Mutant(name, status, module, function))
    return found


def split_name(name: str) -> tuple[str, str]:
    """``pkg.mod.x_func__mutmut_3`` or ``pkg.mod.xǁClassǁmethod__mutmut_3``."""
    dotted, _, mangled = name.rpartition(".x")
    mangled = mangled.rsplit("__mutmut_", 1)[0]
    function = mangled[1:] if mangled.startswith("_") else mangled.replace("ǁ", ".").strip(".")
    return dotted.replace(".", "/") + ".py", function


def describe(workdir: Path, mutant: Mutant) -> Mutant:
    """The lines the mutant removes and adds, from ``mutmut show``."""
    diff = subprocess.run(mutmut("show", mutant.name), cwd=workdir,
                          capture_output=True, text=True, check=True).stdout.splitlines()
    removed = tuple(squash(line[1:]) for line in diff
                    if line.startswith("-") and not line.startswith("---"))
    added = tuple(squash(line[1:]) for line in diff
                  if line.startswith("+") and not line.startswith("+++"))
    return dataclasses.replace(mutant, removed=removed, added=added)


def squash(code: str) -> str:
    return " ".join(code.split())


def load_equivalents() -> list[dict[str, object]]:
    entries = yaml.safe_load(EQUIVALENTS.read_text(encoding="utf-8")) or []
    for entry in entries:
        entry["before"] = tuple(squash(line) for line in as_lines(entry.get("before")))
        entry["after"] = tuple(squash(line) for line in as_lines(entry.get("after")))
        if not entry.get("why"):
            sys.exit(f"{EQUIVALENTS}: an entry for {entry.get('function')} says no 'why'.")
    return entries


def as_lines(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else str(value).splitlines()


def is_equivalent(mutant: Mutant, entries: list[dict[str, object]]) -> bool:
    return any(
        entry["module"] == mutant.module and entry["function"] == mutant.function
        and entry["before"] == mutant.removed and entry["after"] == mutant.added
        for entry in entries
    )


def report(mutants: list[Mutant], entries: list[dict[str, object]],
           chosen: dict[str, tuple[str, list[str]]], finished: bool) -> float:
    rows, missed = [], []
    total = Counter[str]()
    for name, (module, _) in chosen.items():
        mine = [m for m in mutants if m.module == module]
        equivalent = [m for m in mine if m.status in SURVIVED and is_equivalent(m, entries)]
        survived = [m for m in mine if m.status in SURVIVED and m not in equivalent]
        killed = sum(m.status in KILLED for m in mine)
        unchecked = len(mine) - killed - len(equivalent) - len(survived)
        counted = killed + len(survived)
        rows.append((name, len(mine), killed, len(equivalent), len(survived), unchecked,
                     killed / counted if counted else 1.0))
        total.update(mutants=len(mine), killed=killed, equivalent=len(equivalent),
                     survived=len(survived), unchecked=unchecked)
        missed += survived
    for mutant in missed:
        print(f"\nSURVIVED {mutant.name} ({mutant.module}, {mutant.function})")
        print("".join(f"  - {line}\n" for line in mutant.removed), end="")
        print("".join(f"  + {line}\n" for line in mutant.added), end="")
    counted = total["killed"] + total["survived"]
    score = total["killed"] / counted if counted else 1.0
    print(f"\n{'module':<10}{'mutants':>9}{'killed':>8}{'equiv.':>8}{'survived':>10}"
          f"{'unchecked':>11}{'score':>8}")
    for name, count, killed, equivalent, survived, unchecked, module_score in rows:
        print(f"{name:<10}{count:>9}{killed:>8}{equivalent:>8}{survived:>10}{unchecked:>11}"
              f"{module_score:>8.1%}")
    print(f"{'total':<10}{total['mutants']:>9}{total['killed']:>8}{total['equivalent']:>8}"
          f"{total['survived']:>10}{total['unchecked']:>11}{score:>8.1%}")
    if not finished or total["unchecked"]:
        print(f"\nStopped by the time budget: {total['unchecked']} mutants not checked; run again "
              "(checked ones are kept) or raise --budget.")
    print(f"\nMutation score {score:.1%} of non-equivalent mutants killed "
          f"(threshold {THRESHOLD:.0%}).")
    return score


if __name__ == "__main__":
    raise SystemExit(main())
