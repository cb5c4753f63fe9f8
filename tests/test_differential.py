"""The static engine against Django's real ``MigrationLoader(None)``, and loaded.py too.

Each case is a real project written to disk: one package per app (with an ``apps.py``
giving the label) holding a migrations folder. Django's side runs in one long-lived
subprocess configured like a project (contrib auth and contenttypes installed), each case
with its own uniquely named packages so nothing is cached between cases.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from migration_ci.activities.check import analyze_loaded
from migration_ci.errors import MigrationCIError
from migration_ci.graph.dag import Graph
from migration_ci.graph.scan import find_packages, load_specs
from migration_ci.repository.trees import WorkingTree

FIXTURES = Path(__file__).parent / "fixtures" / "django_migrations"
FIXTURES_6_1 = Path(__file__).parent / "fixtures" / "django_migrations_6_1"
_counter = itertools.count()

ORACLE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import django
    from django.conf import settings
    BASE_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
    settings.configure(INSTALLED_APPS=BASE_APPS, DATABASES={}, USE_TZ=True)
    django.setup()
    from django.db.migrations.loader import MigrationLoader
    from django.test.utils import override_settings
    from migration_ci.errors import MigrationCIError
    from migration_ci.worker.graph import load_graph

    def answer(graph, labels):
        nodes = sorted(k for k in graph.nodes if k[0] in labels)
        leaves = sorted(k for k in graph.leaf_nodes() if k[0] in labels)
        return {
            "nodes": nodes,
            "leaves": leaves,
            "parents": {
                "%s.%s" % k: sorted(p.key for p in graph.node_map[k].parents if p[0] in labels)
                for k in nodes
            },
            "ancestry": {
                "%s.%s" % k: [n for n in graph.forwards_plan(k) if n[0] == k[0]] for k in leaves
            },
        }

    for line in sys.stdin:
        request = json.loads(line)
        sys.path.insert(0, request["root"])
        labels = set(request["labels"])
        result = {}
        with override_settings(
            INSTALLED_APPS=BASE_APPS + request["apps"],
            AUTH_USER_MODEL=request["auth_user_model"],
        ):
            try:
                loader = MigrationLoader(None, ignore_no_migrations=True)
                result["django"] = answer(loader.graph, labels)
            except Exception as exc:
                result["django"] = {"error": "%s: %s" % (type(exc).__name__, exc)}
            try:
                graph, specs = load_graph(Path(request["root"]))
                result["loaded"] = answer(graph.django_graph, labels)
                result["loaded_paths"] = sorted(spec.path for spec in specs.values()
                                                if spec.app_label in labels)
            except MigrationCIError as exc:
                result["loaded"] = {"error": str(exc)}
        print(json.dumps(result), flush=True)
    """
)


class Oracle:
    """Django's loader in a subprocess: one JSON request per line, one answer per line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", ORACLE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=Path(__file__).parent.parent,
        )

    def ask(self, root: Path, apps: list[str], labels: list[str], auth_user_model: str) -> Any:
        assert self.process.stdin and self.process.stdout
        request = {"root": str(root), "apps": apps, "labels": labels,
                   "auth_user_model": auth_user_model}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the Django oracle process died"
        return json.loads(line, object_hook=None)

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    process = Oracle()
    yield process
    process.close()


@dataclass
class Project:
    """A project on disk: app label -> {migration file name: source}; ``extra`` files (path
    in the case's package -> source) belong to no installed app."""

    apps: dict[str, dict[str, str | bytes]] = field(default_factory=dict)
    auth_user_model: str = "auth.User"
    extra: dict[str, str] = field(default_factory=dict)

    def write(self, root: Path) -> tuple[str, list[str]]:
        package = f"case{next(_counter)}"
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
        dotted = []
        for label in sorted(self.apps):
            app_dir = root / package / f"{label}_app"
            (app_dir / "migrations").mkdir(parents=True)
            (app_dir / "__init__.py").write_text("")
            (app_dir / "apps.py").write_text(
                "from django.apps import AppConfig\n\n\n"
                f"class Config(AppConfig):\n    name = '{package}.{label}_app'\n"
                f"    label = '{label}'\n"
            )
            for filename, source in self.apps[label].items():
                target = app_dir / "migrations" / filename
                if isinstance(source, bytes):
                    target.write_bytes(source)
                else:
                    target.write_text(source)
            dotted.append(f"{package}.{label}_app")
        for path, text in self.extra.items():
            (root / package / path).parent.mkdir(parents=True, exist_ok=True)
            (root / package / path).write_text(text)
        return package, dotted

    @classmethod
    def from_fixtures(cls, apps: Mapping[str, str], auth_user_model: str = "auth.User",
                      root: Path = FIXTURES) -> Project:
        project = cls(auth_user_model=auth_user_model)
        for label, folder in apps.items():
            project.apps[label] = {
                path.name: path.read_bytes()
                for path in sorted((root / folder).iterdir())
                if path.is_file()
            }
        return project


def static_answer(root: Path, auth_user_model: str) -> dict[str, Any]:
    paths = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]

    def read(wanted: Any) -> dict[str, bytes]:
        return {path: (root / path).read_bytes() for path in wanted}

    try:
        packages = find_packages(paths, read)
        specs = load_specs(packages, read, auth_user_model)
        graph = Graph.build(specs, [p.app_label for p in packages])
    except MigrationCIError as exc:
        return {"error": str(exc)}
    django = graph.django_graph
    nodes = graph.nodes
    return {
        "nodes": [list(k) for k in nodes],
        "leaves": [[app, name] for app, names in graph.leaves().items() for name in names],
        "parents": {
            "{}.{}".format(*k): sorted([list(p.key) for p in django.node_map[k].parents])
            for k in nodes
        },
        "ancestry": {
            f"{app}.{name}": [list(k) for k in graph.ancestry((app, name))]
            for app, names in graph.leaves().items()
            for name in names
        },
    }


def compare(oracle: Oracle, project: Project, tmp: Path) -> dict[str, Any]:
    root = tmp / f"root{next(_counter)}"
    root.mkdir(parents=True)
    package, dotted = project.write(root)
    labels = sorted(project.apps)
    answer = oracle.ask(root, dotted, labels, project.auth_user_model)
    ours = json.loads(json.dumps(static_answer(root, project.auth_user_model)))
    django, loaded = answer["django"], answer["loaded"]
    if "error" in django:
        assert "error" in ours, f"Django failed ({django['error']}) but we did not"
        assert "error" in loaded, loaded
    else:
        assert ours == django
        assert loaded == django
    shutil.rmtree(root)
    return {"static": ours, "django": django, "loaded": loaded, "package": package}


def conflicts_of(answer: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for app, name in answer.get("leaves", []):
        found.setdefault(app, []).append(name)
    return {app: names for app, names in found.items() if len(names) > 1}


M = "migrations"
FIXTURE_CASES = [
    pytest.param({M: f"{M}/test_migrations"}, {}, id="plain"),
    pytest.param({M: f"{M}/test_migrations_conflict"},
                 {M: ["0002_conflicting_second", "0002_second"]}, id="conflict"),
    pytest.param({M: f"{M}/test_migrations_conflict_long_name"},
                 {M: ["0002_conflicting_second_migration_with_long_name", "0002_second"]},
                 id="conflict long name"),
    pytest.param({M: f"{M}/test_migrations_no_ancestor"},
                 {M: ["0002_conflicting_second", "0002_second"]}, id="no ancestor"),
    pytest.param({M: f"{M}/test_migrations_squashed"}, {}, id="squashed"),
    pytest.param({M: f"{M}/test_migrations_squashed_complex"}, {}, id="squashed complex"),
    # Erroneous only once some replaced migrations are applied; with none applied Django
    # (and we) use the squash.
    pytest.param({M: f"{M}/test_migrations_squashed_erroneous"}, {}, id="squashed erroneous"),
    pytest.param({M: f"{M}/test_migrations_squashed_extra"}, {}, id="squashed extra"),
    pytest.param({M: f"{M}/test_migrations_squashed_no_replaces"}, {},
                 id="squash without replaces"),
    pytest.param({M: f"{M}/test_migrations_run_before"}, {}, id="run_before"),
    pytest.param({M: f"{M}/test_migrations_first",
                  "migrations2": "migrations2/test_migrations_2_first"}, {}, id="first"),
    pytest.param({M: f"{M}/test_migrations_namespace_package"}, {}, id="namespace package"),
    pytest.param({M: f"{M}/test_migrations_no_init"}, {}, id="no init"),
    pytest.param({M: f"{M}/test_migrations_private"}, {}, id="private modules"),
    pytest.param({M: f"{M}/test_migrations_clashing_prefix"}, {}, id="clashing prefix"),
    pytest.param({M: f"{M}/test_migrations_no_default"}, {}, id="no default"),
    pytest.param({M: f"{M}/test_migrations_order"}, {}, id="number only name"),
    pytest.param({M: f"{M}/test_migrations_initial_false"}, {}, id="initial false"),
    pytest.param({M: f"{M}/test_migrations_plan"}, {}, id="plan"),
    pytest.param({"app1": f"{M}/test_migrations_squashed_complex_multi_apps/app1",
                  "app2": f"{M}/test_migrations_squashed_complex_multi_apps/app2"},
                 {}, id="squashed complex multi apps"),
    pytest.param({"app1": f"{M}/test_migrations_squashed_ref_squashed/app1",
                  "app2": f"{M}/test_migrations_squashed_ref_squashed/app2"},
                 {}, id="squashed ref squashed"),
    pytest.param({M: f"{M}/test_migrations_backwards_deps_1"}, {}, id="backwards deps"),
    pytest.param({M: f"{M}/test_migrations_custom_user"}, {}, id="custom user"),
    pytest.param({M: f"{M}/test_migrations_manual_porting"}, {}, id="manual porting"),
    pytest.param({M: f"{M}/test_migrations_non_atomic"}, {}, id="non atomic"),
    pytest.param({M: f"{M}/test_migrations_no_changes"}, {}, id="no changes"),
    pytest.param({M: f"{M}/test_migrations_unmigdep"}, {}, id="depends on contrib __first__"),
    pytest.param({f"lookuperror_{x}": f"{M}/migrations_test_apps/lookuperror_{x}/migrations"
                  for x in "abc"}, {}, id="lookuperror a b c"),
    pytest.param({a: f"{M}/migrations_test_apps/alter_fk/{a}/migrations"
                  for a in ("author_app", "book_app")}, {}, id="alter fk"),
    pytest.param({
        "conflicting_app_with_dependencies":
            f"{M}/migrations_test_apps/conflicting_app_with_dependencies/migrations",
        "migrated_app": f"{M}/migrations_test_apps/migrated_app/migrations",
    }, {"conflicting_app_with_dependencies": ["0002_conflicting_second", "0002_second"]},
        id="conflicting app with dependencies"),
]


@pytest.mark.parametrize(("apps", "expected_conflicts"), FIXTURE_CASES)
def test_django_fixture_folders(
    oracle: Oracle, tmp_path: Path, apps: dict[str, str], expected_conflicts: Any
) -> None:
    result = compare(oracle, Project.from_fixtures(apps), tmp_path)
    if expected_conflicts is None:
        assert "error" in result["static"]
    else:
        assert conflicts_of(result["static"]) == expected_conflicts


def before(version: tuple[int, int], why: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(django.VERSION[:2] < version, reason=f"Django < "
                              f"{version[0]}.{version[1]}: {why}")


# Where Django 6.1's fixture folders differ from 5.2's, or are new. Older versions replace
# squashes in the order of a set (it changes from run to run), so nested squashes and two
# squashes of one migration have a stable answer only from the version that fixed that.
SET_ORDER = "squashes are replaced in the order of a set, which changes from run to run"
FIXTURE_CASES_6_1 = [
    pytest.param({M: f"{M}/test_migrations_no_changes"}, {}, id="no changes"),
    pytest.param({M: f"{M}/test_migrations_no_default"}, {}, id="no default"),
    pytest.param({M: f"{M}/test_migrations_squashed_double"}, {}, id="squash of squashes",
                 marks=before((6, 0), SET_ORDER)),
    pytest.param({M: f"{M}/test_migrations_squashed_loop"}, None, id="squashes in a loop"),
    pytest.param({M: f"{M}/test_migrations_squashed_partially_applied"}, {},
                 id="squashed partially applied"),
    pytest.param({a: f"{M}/test_migrations_squashed_replaced_order/{a}" for a in ("app1", "app2")},
                 {}, id="two squashes of one migration", marks=before((6, 1), SET_ORDER)),
]


@pytest.mark.parametrize(("apps", "expected_conflicts"), FIXTURE_CASES_6_1)
def test_django_6_1_fixture_folders(
    oracle: Oracle, tmp_path: Path, apps: dict[str, str], expected_conflicts: Any
) -> None:
    result = compare(oracle, Project.from_fixtures(apps, root=FIXTURES_6_1), tmp_path)
    if expected_conflicts is None:
        assert "error" in result["static"]
    else:
        assert conflicts_of(result["static"]) == expected_conflicts


def test_custom_user_model_resolves_to_the_user_app(oracle: Oracle, tmp_path: Path) -> None:
    project = Project.from_fixtures({M: f"{M}/test_migrations_custom_user"},
                                    auth_user_model="accounts.User")
    project.apps["accounts"] = {"__init__.py": "", "0001_initial.py": _migration([]),
                                "0002_more.py": _migration([("accounts", "0001_initial")])}
    result = compare(oracle, project, tmp_path)
    assert result["static"]["parents"]["migrations.0001_initial"] == [["accounts", "0001_initial"]]


# --- randomized graphs -------------------------------------------------------------------

def _migration(deps: list[Any], *, replaces: Sequence[Any] = (),
               run_before: Sequence[Any] = (), style: int = 0) -> str:
    def render(dep: Any) -> str:
        return "migrations.swappable_dependency(settings.AUTH_USER_MODEL)" if dep == "swap" \
            else repr(tuple(dep))

    items = [render(d) for d in deps]
    head = "from django.conf import settings\nfrom django.db import migrations\n\n"
    body = ""
    if style == 1 and items:  # a module-level name and concatenation
        head += f"BASE = [{items[0]}]\n\n"
        dependencies = f"BASE + [{', '.join(items[1:])}]"
    elif style == 2:  # the class attribute named after a module-level list
        head += f"dependencies = [{', '.join(items)}]\n\n"
        dependencies = "dependencies"
    elif style == 3 and items:  # built up in the class body
        body = f"    dependencies = [{items[0]}]\n"
        dependencies = f"[{', '.join(items[1:])}]"
    else:
        dependencies = f"[{', '.join(items)}]"
    body += f"    dependencies {'+=' if body else '='} {dependencies}\n"
    if replaces:
        body += f"    replaces = {list(map(tuple, replaces))!r}\n"
    if run_before:
        body += f"    run_before = {list(map(tuple, run_before))!r}\n"
    return f"{head}\nclass Migration(migrations.Migration):\n{body}    operations = []\n"


APPS = ("accounts", "app0", "app1", "app2")  # sorted = dependency order


@st.composite
def projects(draw: st.DrawFn) -> Project:
    """Apps whose migrations may fork, squash, run_before and depend across apps.

    Edges go from earlier apps to later ones (run_before from earlier to later), so most
    examples are acyclic; a missing dependency or a __latest__ can still break a graph,
    and then both engines must fail.
    """
    custom_user = draw(st.booleans())
    labels = [a for a in APPS if a != "accounts" or custom_user]
    labels = labels[: draw(st.integers(1, len(labels)))]
    project = Project(auth_user_model="accounts.User" if custom_user else "auth.User")
    names: dict[str, list[str]] = {}
    for label in labels:
        count = draw(st.integers(0, 6))
        names[label] = [f"{i + 1:04d}_{label}_{i + 1}" for i in range(count)]
    for index, label in enumerate(labels):
        files: dict[str, str | bytes] = {"__init__.py": ""}
        earlier = [lbl for lbl in labels[:index] if names[lbl]]
        later = [lbl for lbl in labels[index + 1:] if names[lbl]]
        own = names[label]
        specs: dict[str, dict[str, list[Any]]] = {}
        for i, name in enumerate(own):
            deps: list[Any] = []
            if i and draw(st.integers(0, 9)) > 0:  # usually a same-app parent: forks happen
                for j in draw(st.sets(st.integers(0, i - 1), min_size=1, max_size=2)):
                    deps.append((label, own[j]))
            if draw(st.booleans()):
                deps.append((label, "__first__"))
            if earlier and draw(st.integers(0, 3)) == 0:
                other = draw(st.sampled_from(earlier))
                target = draw(st.sampled_from([*names[other], "__first__", "__latest__"]))
                deps.append((other, target))
            if draw(st.integers(0, 5)) == 0:
                deps.append("swap")
            if draw(st.integers(0, 150)) == 75:  # rare; hypothesis favours 0
                deps.append((label, "9999_missing"))
            if draw(st.integers(0, 8)) == 0:
                deps.append(("contenttypes", "0002_remove_content_type_name"))
            run_before: list[Any] = []
            if later and draw(st.integers(0, 5)) == 0:
                other = draw(st.sampled_from(later))
                run_before.append((other, draw(st.sampled_from(names[other]))))
            if i + 1 < len(own) and draw(st.integers(0, 6)) == 0:
                run_before.append((label, own[draw(st.integers(i + 1, len(own) - 1))]))
            specs[name] = {"deps": deps, "run_before": run_before}
        if len(own) >= 2 and draw(st.integers(0, 2)) == 0:
            start = draw(st.integers(0, len(own) - 2))
            stop = draw(st.integers(start + 1, len(own) - 1))
            replaced = own[start : stop + 1]
            squash = f"{start + 1:04d}_squashed_{stop + 1:04d}"
            inner = {(label, n) for n in replaced}
            deps = [d for n in replaced for d in specs[n]["deps"]
                    if d == "swap" or tuple(d) not in inner]
            specs[squash] = {"deps": list(dict.fromkeys(map(_freeze, deps))),
                             "run_before": [], "replaces": sorted(inner)}
            for n in draw(st.sets(st.sampled_from(replaced))):
                del specs[n]  # replaced files may be deleted once squashed
        for name, spec in specs.items():
            files[f"{name}.py"] = _migration(
                spec["deps"], replaces=spec.get("replaces", ()), run_before=spec["run_before"],
                style=draw(st.integers(0, 3)),
            )
        project.apps[label] = files
    return project


def _freeze(dep: Any) -> Any:
    return dep if dep == "swap" else tuple(dep)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(project=projects())
def test_random_graphs_match_django(oracle: Oracle, tmp_path: Path, project: Project) -> None:
    result = compare(oracle, project, tmp_path)
    if "error" in result["django"]:
        event(f"both engines fail: {result['django']['error'].split(':')[0]}")
    else:
        event(f"{len(conflicts_of(result['django']))} conflicting app(s)")
    if any("squashed" in name for files in project.apps.values() for name in files):
        event("has a squash")


def run_load_project_graph(root: Path, shop: dict[str, str]) -> Any:
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "settings.py").write_text(
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'shop']\n"
        "DATABASES = {}\nSECRET_KEY = 'x'\n"
    )
    (root / "shop" / "migrations").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    for name, source in {"__init__.py": "", **shop}.items():
        (root / "shop" / "migrations" / name).write_text(source)
    try:  # the Django engine as the command line runs it: Django's loader in the worker
        analysis = analyze_loaded(WorkingTree(root), "proj.settings", root)
    except MigrationCIError as exc:
        return {"error": str(exc)}
    shop = sorted([key[1], spec.path, [op.description for op in spec.operations]]
                  for key, spec in analysis.specs.items() if key[0] == "shop")
    conflicts = {app: list(names) for app, names in analysis.graph.conflicts().items()}
    return {"conflicts": conflicts, "shop": shop}


def test_load_project_graph_from_a_settings_module(tmp_path: Path) -> None:
    ops = "        migrations.DeleteModel('Tribble'),\n"
    result = run_load_project_graph(tmp_path, {
        "0001_initial.py": _migration([]),
        "0002_a.py": _migration([("shop", "0001_initial")]),
        "0002_b.py": _migration([("shop", "0001_initial")]).replace(
            "operations = []", f"operations = [\n{ops}    ]"),
    })
    assert result == {
        "conflicts": {"shop": ["0002_a", "0002_b"]},
        "shop": [
            ["0001_initial", "shop/migrations/0001_initial.py", []],
            ["0002_a", "shop/migrations/0002_a.py", []],
            ["0002_b", "shop/migrations/0002_b.py", ["- Delete model Tribble"]],
        ],
    }


def test_load_project_graph_translates_a_missing_dependency(tmp_path: Path) -> None:
    result = run_load_project_graph(tmp_path, {
        "0003_x.py": _migration([("shop", "0002_missing")]),
    })
    assert result == {"error": (
        "shop/migrations/0003_x.py: Migration shop.0003_x dependencies reference nonexistent "
        "parent node "
        "('shop', '0002_missing'). Fix the dependency or restore the file."
    )}


@before((6, 1), "the loop is found in the order of a set, so the squash it names varies")
def test_load_project_graph_names_squashes_that_replace_each_other(tmp_path: Path) -> None:
    shop = {"0001_initial.py": _migration([])}
    for name, other in (("0002_auto", "0002_squashed"), ("0002_squashed", "0002_auto")):
        shop[f"{name}.py"] = _migration([("shop", "0001_initial")], replaces=[("shop", other)])
    assert run_load_project_graph(tmp_path, shop) == {"error": (
        "shop/migrations/0002_auto.py: squashed migrations replace each other in a loop that "
        "starts at shop.0002_auto. Remove one of them from the other's replaces."
    )}
