"""Time the recheck after a push: 50 open pull requests on the generated 2,000-migration project.

    python benchmarks/bench_recheck.py [--size 50x40] [--pulls 50] [--conflicting 5] [--runs 3]
                                       [--quick]

The generated project (50 apps x 40 migrations) is published as a bare ``origin``; each of the
open pull requests adds a migration to its own app (``refs/pull/N/head``); then a push to
``main`` adds a migration to the first ``--conflicting`` of those apps (their pull requests now
conflict) and re-formats the newest migration of every app, so that every pull request shares a
migrations folder with the push and is judged in full: the worst case for the work done. Every
pull request carries the success status of its own run.

Against tests/fake_github.py on 127.0.0.1, with the API pacing PyGithub applies on GitHub (0.25 s
between requests, 1 s between writes), on a fresh depth-1 checkout of the pushed commit each time
(as actions/checkout makes on push) and a warm parse cache (as actions/cache keeps it):

- the recheck, as ``entrypoint.py`` runs it after the push's own report, from the push event to
  the last status: median of ``--runs``; then again on the same push, which must write nothing;
- the whole step from the outside, once: ``entrypoint.py`` with the push's own report too;
- what the recheck does for each pull request (its apps' leaves merged with the old base and with
  the new one; the full judgement when they differ), against ``migration-ci check --base --head``
  for one pull request, median of 5.

Targets: the recheck <= 20 s; the slowest pull request <= 2x a single ``check --base``; the
second run writes nothing. Exit 0 when they are met (with --quick, a small project where only
the last must hold), 1 when not, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from common import (
    BenchmarkError,
    Size,
    Target,
    find_cli,
    format_seconds,
    generate_project,
    print_targets,
    time_runs,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fake_github: the local fake GitHub

from tests.fake_github import FakeGitHub, FakeGitHubServer  # noqa: E402

WHOLE_LIMIT, PER_PULL_RATIO = 20.0, 2.0
FULL, QUICK = Size(50, 40), Size(6, 8)
REPOSITORY = "acme/shop"


@dataclass(frozen=True)
class Scenario:
    origin: Path
    before: str
    after: str
    heads: dict[int, str]  # pull request number -> head sha


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="Benchmark", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="Benchmark", GIT_COMMITTER_EMAIL="b@example.com",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    proc = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=root, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)} failed in '{root}': {proc.stderr}")
    return proc.stdout.strip()


def leaves(project: Path) -> dict[str, str]:
    """Each app's leaf migration on main, as the check sees them."""
    proc = subprocess.run([*find_cli(), "check", "--format", "json"], cwd=project,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"check on main failed ({proc.returncode}): {proc.stderr}")
    return {app: names[0] for app, names in sorted(json.loads(proc.stdout)["leaves"].items())}


def migration(app: str, leaf: str) -> str:
    return ("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n\n"
            f"    dependencies = [\n        ('{app}', '{leaf}'),\n    ]\n\n"
            "    operations = [\n    ]\n")


def build(workdir: Path, size: Size, pulls: int, conflicting: int) -> Scenario:
    project = workdir / "author"
    generate_project(project, size)
    git(project, "checkout", "-q", "main")
    found = leaves(project)
    apps = list(found)[:pulls]
    if len(apps) < pulls:
        raise BenchmarkError(f"{size} has {len(apps)} apps; --pulls {pulls} needs one each.")
    before = git(project, "rev-parse", "HEAD")
    heads = {}
    for number, app in enumerate(apps, start=1):
        git(project, "checkout", "-q", "-b", f"pr-{number}", before)
        (project / app / "migrations" / f"0999_pr_{number}.py").write_text(
            migration(app, found[app]))
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", f"{app}: a migration")
        heads[number] = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "-q", "main")
    for index, (app, leaf) in enumerate(found.items()):
        path = project / app / "migrations" / f"{leaf}.py"
        path.write_text(path.read_text() + "\n# Re-formatted.\n")
        if index < conflicting:
            (project / app / "migrations" / "0998_on_main.py").write_text(migration(app, leaf))
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Re-format migrations; new ones on main")
    after = git(project, "rev-parse", "HEAD")
    origin = workdir / "origin.git"
    git(workdir, "clone", "-q", "--bare", str(project), str(origin))
    for number, head in heads.items():
        git(origin, "update-ref", f"refs/pull/{number}/head", head)
    return Scenario(origin, before, after, heads)


def open_pulls(fake: FakeGitHub, scenario: Scenario) -> None:
    fake.pulls.clear(), fake.comments.clear(), fake.statuses.clear(), fake.requests.clear()
    for number, head in scenario.heads.items():
        fake.add_pull(number, head_sha=head, base_sha=scenario.before, head_ref=f"pr-{number}")
        fake.add_status(head, "success", "No conflicting migrations when merged with main")


def checkout(workdir: Path, scenario: Scenario) -> Path:
    """A fresh depth-1 checkout of the pushed commit, as actions/checkout makes on push."""
    workspace = workdir / "workspace"
    shutil.rmtree(workspace, ignore_errors=True)
    git(workdir, "clone", "-q", "--depth=1", "--no-tags", scenario.origin.as_uri(),
        str(workspace))
    return workspace


def run_step(workdir: Path, workspace: Path, scenario: Scenario, api_url: str) -> float:
    event = workdir / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "before": scenario.before,
                                 "after": scenario.after, "forced": False,
                                 "repository": {"full_name": REPOSITORY}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update({
        "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_SHA": scenario.after, "GITHUB_API_URL": api_url, "GITHUB_RUN_ID": "1",
        "GITHUB_OUTPUT": str(workdir / "output"), "GITHUB_STEP_SUMMARY": str(workdir / "summary"),
        "INPUT_GITHUB-TOKEN": "ghs_app", "INPUT_VERIFY": "false",
        "MIGRATION_CI_CACHE_DIR": str(workdir / "cache"),
    })
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], cwd=workspace, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or "::warning" in proc.stdout:
        raise BenchmarkError(f"The step failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return seconds


def judge_each(workspace: Path, scenario: Scenario) -> list[float]:
    """Per pull request, what the recheck does for it: its verdict compared before and after
    the push, and when it changed, the full judgement its comment and status are made from."""
    from migration_ci.activities.recheck_judge import Judge, changed_scope, find_merge_base

    os.environ["MIGRATION_CI_CACHE_DIR"] = str(workspace.parent / "cache")
    push = changed_scope(workspace, scenario.before, scenario.after)
    judge = Judge(workspace, ".", "main", scenario.after, scenario.before)
    seconds = []
    for head in scenario.heads.values():
        started = time.perf_counter()
        merge_base = find_merge_base(workspace, head, scenario.after)
        assert merge_base is not None
        folders = push.folders & judge.scope_of_pull(head, merge_base).folders
        if not judge.is_unchanged(head, merge_base, folders):
            judge.verdict(head)
        seconds.append(time.perf_counter() - started)
    judge.close()
    return seconds


def time_recheck(workspace: Path, scenario: Scenario, api_url: str) -> float:
    """The recheck in this process, as entrypoint.py runs it after the push's own report, with
    the real API client and its pacing; timed from the push event to the last status."""
    from migration_ci.activities import recheck
    from migration_ci.github.api import GitHub
    from migration_ci.github.event import Event
    from migration_ci.github.inputs import Inputs, RunContext
    from migration_ci.github.workflow import Workflow

    logging.getLogger("github").setLevel(logging.CRITICAL)  # GET /user's expected 403
    event = Event.from_payload("push", {"ref": "refs/heads/main", "before": scenario.before,
                                        "after": scenario.after})
    context = RunContext(event_name="push", repository=REPOSITORY, workspace=str(workspace),
                         api_url=api_url, run_id="1")
    client, log = GitHub("ghs_app", REPOSITORY, api_url), io.StringIO()
    services = recheck.Services(Workflow(stream=log), lambda: client)
    started = time.perf_counter()
    recheck.run_recheck(Inputs(github_token="ghs_app"), context, event, services)
    seconds = time.perf_counter() - started
    if "::warning" in log.getvalue():
        raise BenchmarkError(f"The recheck warned:\n{log.getvalue()}")
    return seconds


def writes(fake: FakeGitHub) -> int:
    return len(fake.writes()) + len(fake.status_writes())


def run(size: Size, pulls: int, conflicting: int, runs: int, quick: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-recheck-") as tmp, \
            FakeGitHubServer(FakeGitHub(repository=REPOSITORY)) as fake:
        workdir = Path(tmp)
        os.environ["MIGRATION_CI_CACHE_DIR"] = str(workdir / "cache")
        scenario = build(workdir, size, pulls, conflicting)
        times = []
        for attempt in range(runs + 1):  # the first warms the parse cache
            open_pulls(fake, scenario)
            seconds = time_recheck(checkout(workdir, scenario), scenario, fake.base_url)
            times += [seconds] if attempt else []
        requests, written = len(fake.requests), writes(fake)
        failures = sum(fake.latest_status(h)["state"] == "failure" for h in scenario.heads.values())
        fake.requests.clear()
        again = time_recheck(checkout(workdir, scenario), scenario, fake.base_url)
        rewritten = writes(fake)
        per_pull = judge_each(workdir / "workspace", scenario)
        open_pulls(fake, scenario)
        step = run_step(workdir, checkout(workdir, scenario), scenario, fake.base_url)
        single = time_runs("check --base --head", [*find_cli(), "check", "--base",
                           scenario.after, "--head", scenario.heads[1]],
                           workdir / "workspace", 5, 1, ok_codes=(0, 1)).median
    recheck = median(times)
    print(f"{size}, {pulls} open pull requests, {conflicting} now conflicting")
    print(f"  the recheck after the push (median of {runs})  {format_seconds(recheck)}  "
          f"({requests} API requests, {written} writes; {failures} statuses now failure)")
    print(f"  the same push again                        {format_seconds(again)}  "
          f"({rewritten} writes)")
    print(f"  the whole step, the push's own report too  {format_seconds(step)}")
    print(f"  judging one pull request: median           {format_seconds(median(per_pull))}")
    print(f"  judging one pull request: slowest          {format_seconds(max(per_pull))}  "
          "(a verdict that changed: judged in full)")
    print(f"  migration-ci check --base --head           {format_seconds(single)}")
    targets = [
        Target("recheck", format_seconds(recheck), f"<= {WHOLE_LIMIT:.0f} s",
               recheck <= WHOLE_LIMIT),
        Target("slowest pull request", f"{max(per_pull) / single:.2f}x",
               f"<= {PER_PULL_RATIO:.0f}x", max(per_pull) <= PER_PULL_RATIO * single),
        Target("second run writes", str(rewritten), "0", rewritten == 0),
    ]
    print_targets(targets)
    if failures != conflicting:
        print(f"{failures} statuses are failure; {conflicting} pull requests conflict.")
        return 1
    if quick:
        print(f"Targets apply to {FULL} with 50 pull requests; --quick only shows that the "
              "benchmark runs.")
        return 0 if rewritten == 0 else 1
    return 0 if all(t.met for t in targets) else 1


def parse_size(text: str) -> Size:
    apps, _, migrations = text.partition("x")
    return Size(int(apps), int(migrations))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=FULL, help="apps x migrations")
    parser.add_argument("--pulls", type=int, default=50, help="open pull requests")
    parser.add_argument("--conflicting", type=int, default=5,
                        help="pull requests the push makes conflict")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the step")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK}, 6 pull requests, 2 conflicting, 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.pulls, args.conflicting, args.runs = QUICK, 6, 2, 1
    try:
        return run(args.size, args.pulls, args.conflicting, args.runs, args.quick)
    except BenchmarkError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
