"""The Action end to end on a project built like the real ones (``tests/support/realproject``).

Its settings are completed by a git-ignored file a CI step writes before the run, an optional
plugin app has migrations but is not installed, the pull request adds a ``blank=True``
CharField and a PostgreSQL ArrayField (verified on the real PostgreSQL server named by the
project's own settings), and the conflict's merge name holds a timestamp. The Action runs twice,
the second time with the clock a quarter of an hour later (libfaketime), and the fix commands of
its comment are pasted a day later into a clone of the pull request's branch.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migration_ci.activities.action import ARTIFACT_FILE
from migration_ci.report.comment import marker
from tests.fake_github import FakeGitHub
from tests.support.djangoproj import Engine
from tests.support.gitrepo import GitRepo, isolated_env
from tests.support.realproject import (
    BASE_LEAF,
    BRANCH_LEAF,
    CONFIGURATION,
    SETTINGS_MODULE,
    TEMPLATE,
    History,
    build_history,
)
from tests.test_action_e2e import Checkout, pull_event, run_action, serve_checkout

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
URL_VARIABLE = "MIGRATION_CI_TEST_POSTGRES_URL"
# The history's commits are made at 2024-01-01 00:00 UTC (tests/support/gitrepo.py).
MERGE = "0003_merge_20240101_0000"
MERGE_PATH = f"catalog/migrations/{MERGE}.py"
INPUTS = {"verify": "true", "settings_module": SETTINGS_MODULE}


def later(offset: str) -> dict[str, str]:
    """The environment that moves the clock of a process and its children by ``offset``."""
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    if not found:
        pytest.skip("libfaketime is not installed (Debian: apt-get install faketime)")
    return {"LD_PRELOAD": found[0], "FAKETIME": offset}


@pytest.fixture
def server() -> Engine:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"{URL_VARIABLE} is not set")
    return Engine("postgresql", url)


def make_real_checkout(tmp_path: Path, server: Engine, configured: str) -> tuple[Checkout, History]:
    author = GitRepo(tmp_path / "author")
    history = build_history(author, server.settings(configured))
    checkout = serve_checkout(tmp_path, author, history.base, history.head, history.merge)
    return checkout, history


def test_a_real_project_shape_gets_a_stable_comment_whose_fix_works_later(
    tmp_path: Path, fake: FakeGitHub, server: Engine
) -> None:
    configured = f"shop_production_{secrets.token_hex(4)}"
    checkout, history = make_real_checkout(tmp_path, server, configured)
    fake.add_pull(5, head_sha=history.head, base_sha=history.base)
    workspace = checkout.workspace
    # The workflow's step before the Action: `cp configuration_testing.py configuration.py`.
    shutil.copy(workspace / TEMPLATE, workspace / CONFIGURATION)
    environ = {"MIGRATION_CI_CACHE_DIR": ""}

    first = run_action(tmp_path, checkout, fake, pull_event(checkout), environ=environ, **INPUTS)
    assert first.code == 1, first.stderr + first.stdout
    assert first.stderr == ""  # the expected 403 on GET /user is not logged as a failure
    [posted] = fake.comments[5]
    report = json.loads((workspace / ARTIFACT_FILE).read_text(encoding="utf-8"))["report"]
    assert report["verify"]["ok"] is True
    assert report["verify"]["database"]["vendor"] == "postgresql"

    # A later run: a quarter of an hour on, another run id (so another link to its summary).
    second = run_action(tmp_path, checkout, fake, pull_event(checkout),
                        environ={**environ, **later("+15m"), "GITHUB_RUN_ID": "78"}, **INPUTS)
    assert second.code == 1, second.stderr + second.stdout
    assert [w.method for w in fake.writes()] == ["POST"]  # the comment was not edited
    assert fake.comments[5] == [posted]
    # The configured database was never created; each run's throwaway one was dropped.
    assert [n for n in server.database_names() if configured in n] == []

    clone = paste_fix_commands(tmp_path, checkout, posted["body"])
    sql = sqlmigrate(clone, server, "catalog", BRANCH_LEAF)
    assert posted["body"] == expected_comment(history, server, sql, report)


def paste_fix_commands(tmp_path: Path, checkout: Checkout, body: str) -> Path:
    """A clone of the pull request's branch a day later: the comment's commands, pasted as
    one block that stops at the first line that fails, write the very file it shows."""
    clone = tmp_path / "clone"
    env = {**isolated_env(), **later("+1d")}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env["PATH"]])
    subprocess.run(["git", "clone", "-q", "--branch", "feature", checkout.origin.as_uri(),
                    str(clone)], env=env, check=True)
    shutil.copy(clone / TEMPLATE, clone / CONFIGURATION)
    commands = body.split("```sh\n")[1].split("\n```")[0]
    pasted = subprocess.run(["bash", "-e", "-c", commands], cwd=clone, env=env,
                            capture_output=True, text=True, check=False)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    shown = body.split("```python\n")[1].split("```")[0]
    assert (clone / MERGE_PATH).read_text(encoding="utf-8") == shown
    pushed = subprocess.run(["git", "-C", str(checkout.origin), "show", f"feature:{MERGE_PATH}"],
                            env=env, capture_output=True, text=True, check=True).stdout
    assert pushed == shown
    return clone


def sqlmigrate(project: Path, server: Engine, app: str, name: str) -> str:
    """What Django's sqlmigrate prints for the migration (it connects to read, never writes)."""
    configuration = project / CONFIGURATION
    text = configuration.read_text(encoding="utf-8")
    configuration.write_text(re.sub(r"'NAME': '[^']*'", "'NAME': 'postgres'", text),
                             encoding="utf-8")
    try:
        return subprocess.run([sys.executable, "manage.py", "sqlmigrate", app, name], cwd=project,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                              capture_output=True, text=True, check=True).stdout.rstrip("\n")
    finally:
        configuration.write_text(text, encoding="utf-8")


def risk_parts(report: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The diff tag of each operation and the risk bullets, as the report's own risk levels
    have them: which rule applies and what it says is the risk table's (tests/test_risk.py)."""
    icons = {"high": "🔴 high", "medium": "🟠 medium"}
    tags, bullets = {}, []
    for entry in report["plan"]["entries"]:
        label = f"{entry['app_label']}.{entry['name']}"
        for op in entry["operations"]:
            risk = op["risk"]
            level = {"high": "HIGH", "medium": "MEDIUM"}.get(risk["level"], risk["level"])
            tags[op["description"]] = f"{level} risk: {risk['rule']}"
            if risk["level"] != "low":
                bullets.append(f"- {icons[risk['level']]} (`{risk['rule']}`): `{label}` "
                               f"`{op['description']}`: {risk['reason']} Safer: {risk['safer']}")
    return tags, "\n".join(bullets)


def expected_comment(history: History, server: Engine, sql: str, report: dict[str, Any]) -> str:
    version = str(server.execute("SHOW server_version")[0][0]).split()[0]
    tags, bullets = risk_parts(report)
    # Both new columns are filled for existing rows, then left without a default: a blank=True
    # CharField is not "NOT NULL without a default", which would fail the migration.
    assert tags == {"Add field nickname to product": "MEDIUM risk: add-field-default-dropped",
                    "Add field tags to product": "MEDIUM risk: add-field-default-dropped"}
    risks = f"Risk levels:\n\n{bullets}\n\n" if bullets else ""
    return f"""\
{marker(".")}

## Django migrations: conflicting migrations in 1 app

Checked head `{history.head[:12]}` against base `main` at `{history.base[:12]}`.

### App `catalog`: 2 leaf migrations
- `{BASE_LEAF}` from the base branch (`catalog/migrations/{BASE_LEAF}.py`)
- `{BRANCH_LEAF}` from this pull request (`catalog/migrations/{BRANCH_LEAF}.py`)

Common ancestor: `0001_initial`.

Branch ending at `{BASE_LEAF}`:

```diff
+ Add field discontinued to product
```

Branch ending at `{BRANCH_LEAF}`:

```diff
+ Add field nickname to product
+ Add field tags to product
```

> [!NOTE]
> Both branches change model `product` (`{BASE_LEAF}`, `{BRANCH_LEAF}`): the merge migration \
joins the graph, not the changes; check that they fit together.

<details><summary>Merge migration <code>{MERGE_PATH}</code></summary>

```python
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '{BASE_LEAF}'),
        ('catalog', '{BRANCH_LEAF}'),
    ]

    operations = [
    ]
```

</details>

**Fix**: on a clone of this pull request's branch, this merges the base branch and writes the \
merge migration above; each line exits 0 once it did its job.

```sh
git fetch origin -- main
git merge --no-edit -- origin/main
migration-ci fix --no-header catalog --name merge_20240101_0000
git add -- {MERGE_PATH}
git commit -m 'Merge conflicting migrations'
git push
```

### Verify on a fresh database: ✅ passed with the merge migration this pull request still needs
Database `postgresql {version}`.

### Migration plan on `postgresql`

Planned with the merge migration this pull request still needs (`{MERGE_PATH}`).

```diff
+ catalog.{BRANCH_LEAF}
+     Add field nickname to product  [{tags["Add field nickname to product"]}]
+     Add field tags to product  [{tags["Add field tags to product"]}]
+ catalog.{MERGE}
```

{risks}<details><summary>SQL for <code>catalog.{BRANCH_LEAF}</code></summary>

```sql
{sql}
```

</details>

Full report: [job summary](https://github.test/acme/shop/actions/runs/77).

<sub>django-migration-ci 0.1.0</sub>
"""
