"""The worker's own states for the round trip are Django's: checked inside a real project.

``backward_states`` replaces the state walk of Django's ``_migrate_all_backwards`` (which
renders once and then re-renders through every later migration) with an unrendered walk that
renders only where a migration is unapplied. The states must hold exactly what Django's walk
holds, and a state carried rendered must render the same models as a fresh render.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# Runs in the generated project with Django set up; prints one JSON line per case.
CHECK_SCRIPT = """
import json, os, random, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "benchproject.settings"
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from migration_ci.worker.verify import RENDER_GAP, backward_states

executor = MigrationExecutor(connection)
graph = executor.loader.graph
executor.loader.applied_migrations = {key: None for key in graph.nodes}
full = [m for m, _ in executor.migration_plan(graph.leaf_nodes(), clean_start=True)]

def reference(before):
    state = ProjectState(real_apps=executor.loader.unmigrated_apps)
    for migration in full[:before]:
        migration.mutate_state(state, preserve=False)
    return state

def rendered_models(apps):
    return ProjectState.from_apps(apps).models

def fresh_render(state):
    fresh = state.clone()
    fresh.__dict__.pop("apps", None)
    return fresh.apps

rng = random.Random(7)
gap = RENDER_GAP
cases = {
    "one": [len(full) - 1],
    "adjacent": [len(full) - 3, len(full) - 2],
    "within_gap": [10, 10 + gap],
    "past_gap": [10, 10 + gap + 2],
    "first_and_last": [0, len(full) - 1],
    "random": sorted(rng.sample(range(len(full)), 12)),
}
for name, positions in cases.items():
    states = backward_states(executor, [full[i] for i in positions])
    wrong, unrendered, render_differs = [], [], []
    for index in positions:
        migration = full[index]
        state = states[migration]
        if state.models != reference(index).models:
            wrong.append(migration.name)
        if migration.operations and "apps" not in state.__dict__:
            unrendered.append(migration.name)
        if "apps" in state.__dict__:
            if rendered_models(state.apps) != rendered_models(fresh_render(state)):
                render_differs.append(migration.name)
    print(json.dumps({"case": name, "checked": len(positions), "wrong": wrong,
                      "unrendered": unrendered, "render_differs": render_differs}))
"""


@pytest.fixture(scope="module")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("worker") / "project"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "generate.py"), str(root), "--apps", "5",
         "--migrations", "14", "--seed", "3"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return root


def test_backward_states_hold_what_djangos_walk_holds(generated_project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "-c", CHECK_SCRIPT], cwd=generated_project,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["case"] for r in results] == [
        "one", "adjacent", "within_gap", "past_gap", "first_and_last", "random"]
    for result in results:
        assert result["checked"] > 0
        assert result["wrong"] == [], result
        assert result["unrendered"] == [], result
        assert result["render_differs"] == [], result
