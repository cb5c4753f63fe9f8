"""Base-state snapshots: a database at the base's migrations, kept as one file per key.

A snapshot is the throwaway database right after the base's migrations were applied to it
from zero; it holds only what those migrations created (the project's configured database is
never connected to). It is used only when the result cannot differ from building the base
state again:

- the key covers the base's migration files (paths and git blob ids), the migration files of
  apps outside the project (e.g. installed packages), the base's operations as Django
  serializes them once loaded (values read from settings or the environment), the source of
  every project module their code comes from (see ``find_imported``), the database routers,
  the Django version, the database vendor and server version, the settings that shape the
  schema, and this tool's version and format;
- every base migration file must be on this branch unchanged, and no migration of this
  branch may run before a base migration (``run_before``, ``__latest__``);
- the file must read back whole: magic line, manifest, length and SHA-256 of the payload.

Anything else falls back to building the base state from zero, and the result says why.
Files are written to a temporary name and renamed, so concurrent runs never see half a file.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import types
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_ci import __version__, git
from migration_ci.databases import (
    DatabaseInfo,
    ThrowawayDatabase,
    dump_database,
    reset_database,
    restore_database,
)
from migration_ci.djangoproject import WorkerDatabase, WorkerSession
from migration_ci.errors import DatabaseError, MigrationCIError
from migration_ci.sources import blob_id

FORMAT = 1
MAGIC = b"django-migration-ci snapshot\n"
SUFFIX = ".snapshot"
SCHEMA_SETTINGS = (
    "INSTALLED_APPS", "AUTH_USER_MODEL", "DEFAULT_AUTO_FIELD", "MIGRATION_MODULES",
    "TIME_ZONE", "USE_TZ", "DATABASE_ROUTERS", "DEFAULT_TABLESPACE", "DEFAULT_INDEX_TABLESPACE",
)
"""Settings that can change what migrations create (swappable models, the automatic primary
key, where migrations live, how datetimes are stored, which operations run on the database,
where tables and indexes go)."""
STALE_TEMPORARY_SECONDS = 3600
SNAPSHOT_MODE = 0o644
"""Readable by every user: the Action writes as root, ``actions/cache`` reads as the runner."""


class SnapshotUnusable(MigrationCIError):
    """A snapshot cannot be used; the message is the note the result carries."""


@dataclass(frozen=True)
class BaseState:
    """The base the branch is verified against: the repository and the base commit."""

    root: Path  # the git repository (any directory inside it)
    sha: str
    # Where the project folder is in the repository ("" at its top), for when the project is
    # loaded from elsewhere (a --head export); None: worked out from the project folder.
    project_prefix: str | None = None

    @classmethod
    def from_ref(cls, root: Path, ref: str, project_dir: Path | None = None) -> BaseState:
        repo = git.toplevel(root)
        prefix = None if project_dir is None else project_prefix(repo, project_dir)
        return cls(repo, git.resolve_commit(root, ref), prefix)


@dataclass(frozen=True)
class SnapshotOutcome:
    """The report's ``snapshot`` part: whether the base state came from a snapshot, and why."""

    used: bool
    key: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"used": self.used, "key": self.key, "note": self.note}


def compute_key(parts: Mapping[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def key_parts(
    facts: Mapping[str, Any], base_files: Mapping[str, str], info: DatabaseInfo
) -> dict[str, Any]:
    """Everything the base state depends on (``facts`` from ``worker_facts``)."""
    return {
        "format": FORMAT,
        "tool": __version__,
        "django": facts["django"],
        "database": info.to_dict(),
        "settings": facts["settings"],
        "base_files": dict(sorted(base_files.items())),
        "external": facts["external"],
        "imported": facts["imported"],
        "operations": facts["operations"],
    }


def find_base_files(
    base: BaseState, project_dir: Path, migration_dirs: Collection[str]
) -> dict[str, str]:
    """The base's files in the migration directories: project-relative path -> blob id."""
    prefix = base_prefix(base, project_dir)
    dirs = tuple(d.rstrip("/") + "/" for d in migration_dirs)
    found = {}
    for path, blob in git.ls_tree(base.root, base.sha).items():
        relative = path[len(prefix):] if path.startswith(prefix) else None
        if relative is not None and relative.startswith(dirs) and not relative.endswith(".pyc"):
            found[relative] = blob
    return found


def list_base_modules(base: BaseState, project_dir: Path) -> list[str]:
    """The base's ``.py`` files under the project directory, project-relative."""
    prefix = base_prefix(base, project_dir)
    return sorted(
        path[len(prefix):] for path in git.ls_tree(base.root, base.sha)
        if path.startswith(prefix) and path.endswith(".py")
    )


def base_prefix(base: BaseState, project_dir: Path) -> str:
    if base.project_prefix is not None:
        return base.project_prefix
    return project_prefix(base.root, project_dir)


def project_prefix(root: Path, project_dir: Path) -> str:
    relative = Path(project_dir).resolve().relative_to(Path(root).resolve()).as_posix()
    return "" if relative == "." else relative + "/"


def find_changed_files(project_dir: Path, base_files: Mapping[str, str]) -> list[str]:
    """Base files this project no longer has, or has with other contents."""
    changed = []
    for relative, blob in sorted(base_files.items()):
        try:
            data = (project_dir / relative).read_bytes()
        except OSError:
            changed.append(relative)
            continue
        if blob_id(data, blob) != blob:
            changed.append(relative)
    return changed


class SnapshotStore:
    """Snapshot files ``<key>.snapshot`` in ``directory``: magic line, manifest line, payload."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load(self, key: str, info: DatabaseInfo) -> bytes:
        """The payload saved under ``key``; ``SnapshotUnusable`` says why it cannot be used."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotUnusable(f"no snapshot for key {key}") from None
        except OSError as exc:
            raise SnapshotUnusable(f"snapshot {path.name} cannot be read: {exc}") from exc
        manifest, payload = split_file(data, path.name)
        expected = {"format": FORMAT, "key": key, "database": info.to_dict()}
        for field, value in expected.items():
            if manifest.get(field) != value:
                raise SnapshotUnusable(
                    f"snapshot {path.name} is for {field} {manifest.get(field)!r}, "
                    f"not {value!r}"
                )
        if len(payload) != manifest.get("size"):
            raise SnapshotUnusable(
                f"snapshot {path.name} is truncated or padded: {len(payload)} bytes of data, "
                f"its manifest says {manifest.get('size')}"
            )
        if hashlib.sha256(payload).hexdigest() != manifest.get("sha256"):
            raise SnapshotUnusable(f"snapshot {path.name} is corrupt: its checksum differs")
        return payload

    def save(self, key: str, info: DatabaseInfo, payload: bytes, base_sha: str) -> Path:
        """Write atomically: a temporary file in the same directory, then a rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT, "key": key, "database": info.to_dict(), "base": base_sha,
            "tool": f"django-migration-ci {__version__}", "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        target = self.path(key)
        self.remove_stale_temporaries()
        fd, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        try:
            os.fchmod(fd, SNAPSHOT_MODE)  # mkstemp creates 0600
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + json.dumps(manifest, sort_keys=True).encode() + b"\n")
                out.write(payload)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return target

    def remove_stale_temporaries(self) -> None:
        """Temporary files of runs that were killed before their rename."""
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for path in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):  # another run may remove it first
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def split_file(data: bytes, name: str) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise SnapshotUnusable(f"snapshot {name} is not a django-migration-ci snapshot")
    line, newline, payload = data[len(MAGIC):].partition(b"\n")
    try:
        manifest = json.loads(line) if newline else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise SnapshotUnusable(f"snapshot {name} is corrupt: its manifest cannot be read")
    return manifest, payload


# --- Worker side: runs in the user's project, Django set up (see migration_ci.worker). ---


def worker_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the base state depends on besides the base's files, read in the project.

    ``payload``: ``{"database_alias", "root", "base_modules": [project-relative .py paths of
    the base]}``. ``base_applicable`` is None when the base state can be built on its own.
    """
    import django
    from django.db import connections, router
    from django.db.migrations.loader import MigrationLoader

    root = Path(payload["root"]).resolve()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    dirs, external = find_migration_dirs(loader, root)
    paths = {key: module_path(migration, root) for key, migration in loader.disk_migrations.items()}
    base_keys = find_base_keys(paths, payload["base_modules"])
    base = [loader.disk_migrations[key] for key in sorted(base_keys)]
    return {
        "django": django.get_version(),
        "settings": schema_settings(connections[payload["database_alias"]]),
        "migration_dirs": sorted(dirs),
        "external": external,
        "imported": find_imported(base, root, dirs, others=router.routers),
        "operations": digest_operations(base),
        "not_applicable": find_intruder(loader, base_keys),
    }


def find_base_keys(
    paths: Mapping[tuple[str, str], str | None], base_modules: Collection[str]
) -> set[tuple[str, str]]:
    """Migrations of the base: its own files, and those of apps outside the project (their
    files are part of the key)."""
    modules = set(base_modules)
    return {key for key, path in paths.items() if path is None or path in modules}


def schema_settings(connection: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.db import router

    from migration_ci.worker import json_safe

    values = {name: json_safe(getattr(settings, name, None)) for name in SCHEMA_SETTINGS}
    values["ENGINE"] = connection.settings_dict.get("ENGINE")
    values["OPTIONS"] = json_safe(connection.settings_dict.get("OPTIONS") or {})
    # The throwaway database never gets the alias's TEST options (the worker drops them), but
    # its own TIME_ZONE converts the datetimes RunPython writes.
    values["DATABASE_TIME_ZONE"] = connection.settings_dict.get("TIME_ZONE")
    # DATABASE_ROUTERS may hold instances, which the setting's value above leaves out.
    values["routers"] = [qualified_name(type(r)) for r in router.routers]
    return values


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def find_migration_dirs(loader: Any, root: Path) -> tuple[set[str], dict[str, str]]:
    """Project-relative migration directories, and a digest of each outside app's files."""
    from django.apps import apps

    dirs: set[str] = set()
    external: dict[str, str] = {}
    for config in apps.get_app_configs():
        module_name, _ = loader.migrations_module(config.label)
        if module_name is None:
            continue
        directory = locate_module_dir(module_name, Path(config.path))
        if directory.is_relative_to(root):
            dirs.add(directory.relative_to(root).as_posix())
        elif directory.is_dir():
            external[config.label] = digest_dir(directory)
    return dirs, external


def locate_module_dir(module_name: str, app_path: Path) -> Path:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return (app_path / module_name.rpartition(".")[2]).resolve()


def digest_dir(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def module_path(migration: Any, root: Path) -> str | None:
    """The project-relative path of the migration's file (``root`` resolved), or None."""
    filename = getattr(sys.modules.get(type(migration).__module__), "__file__", None)
    if not filename:
        return None
    path = (Path(filename).resolve() if os.path.islink(filename)
            else resolved_dir(os.path.dirname(filename)) / os.path.basename(filename))
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None


@functools.cache
def resolved_dir(directory: str) -> Path:
    """``Path.resolve()`` once per directory: thousands of migrations share a few dozen."""
    return Path(directory).resolve()


def find_imported(
    migrations: Iterable[Any], root: Path, dirs: Collection[str], others: Iterable[Any] = ()
) -> dict[str, str]:
    """Project modules the base state's code can come from: path -> SHA-256 of the file.

    The modules of every class (each one in its MRO) and function the migrations' modules and
    operations hold (``others``: more objects, e.g. the routers), then, transitively, the
    project modules those modules import. Files under the migration directories are left out
    (their blob ids are in the key), and so are files outside ``root`` or in a
    ``site-packages`` under it: only the project's own code changes with a branch.
    """
    names: set[str] = set()
    roots: list[Any] = list(others)
    for migration in migrations:
        module = sys.modules.get(type(migration).__module__)
        roots.extend(vars(module).values() if module else ())
        roots.append(migration)
    collect_modules(roots, names)
    prefixes = tuple(d.rstrip("/") + "/" for d in dirs)
    found = {}
    for path in follow_imports(names, root).values():
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(prefixes):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(found.items()))


SCALARS = (str, bytes, int, float, complex, bool, type(None))


def collect_modules(roots: Iterable[Any], names: set[str]) -> None:
    """Add to ``names`` the module of each class (and its bases) and function reachable from
    ``roots`` through containers, instance attributes, bound methods and partials."""
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if isinstance(value, SCALARS) or id(value) in seen:
            continue
        seen.add(id(value))
        names.update(cls.__module__ for cls in type(value).__mro__)
        stack.extend(reachable(value, names))


def reachable(value: Any, names: set[str]) -> Iterable[Any]:
    """What ``value`` holds; adds the modules of classes, functions and modules to ``names``."""
    if isinstance(value, types.ModuleType):
        names.add(value.__name__)
        return ()
    if isinstance(value, type):
        names.update(cls.__module__ for cls in value.__mro__)
        return ()
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        names.add(getattr(value, "__module__", None) or "")
        return ()
    if isinstance(value, types.MethodType):
        return (value.__func__, value.__self__)
    if isinstance(value, functools.partial):
        return (value.func, *value.args, *value.keywords.values())
    if isinstance(value, Mapping):
        return (*value.keys(), *value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    attributes = getattr(value, "__dict__", None)
    return tuple(attributes.values()) if isinstance(attributes, dict) else ()


def follow_imports(names: Iterable[str], root: Path) -> dict[str, Path]:
    """The project modules among ``names`` and those they import, transitively: name -> file."""
    found: dict[str, Path] = {}
    pending = sorted(set(names))
    visited: set[str] = set()
    while pending:
        name = pending.pop()
        if name in visited:
            continue
        visited.add(name)
        path = find_project_file(name, root)
        if path is not None:
            found[name] = path
            if path.suffix == ".py":
                pending.extend(imported_names(path, name))
    return found


def find_project_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` when it is part of the project under ``root``."""
    module = sys.modules.get(name)
    filename = getattr(module, "__file__", None) if module else find_origin(name)
    if not filename:
        return None
    path = Path(filename).resolve()
    if not path.is_relative_to(root):
        return None
    parts = path.relative_to(root).parts
    return None if "site-packages" in parts or "dist-packages" in parts else path


def find_origin(name: str) -> str | None:
    """Where a module not imported yet would come from, without running it (only when its
    package is imported already: finding a submodule imports the package)."""
    parent = name.rpartition(".")[0]
    if not name or (parent and parent not in sys.modules):
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.has_location else None


DJANGO_IMPORT_LINE = re.compile(
    rb"^[ \t]*(?:from[ \t]+django[.\w]*[ \t]+import|import[ \t]+django[.\w]*)[^\n;]*$",
    re.MULTILINE,
)
IMPORT_WORD = re.compile(rb"\bimport\b")


def imported_names(path: Path, module_name: str) -> list[str]:
    """Modules an import statement anywhere in the file may name (``from a import b`` names
    ``a`` and maybe the submodule ``a.b``), with their parent packages."""
    source = path.read_bytes()
    if not IMPORT_WORD.search(DJANGO_IMPORT_LINE.sub(b"", source)):
        return []  # parsing is most of the cost, and most migration files import only Django
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    is_package = path.name == "__init__.py"
    package = module_name if is_package else module_name.rpartition(".")[0]
    names: list[str] = []
    for node in import_statements(tree.body):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):
                continue
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return [prefix for name in names for prefix in with_parents(name)]


def import_statements(statements: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """Import statements at any depth (in functions, classes, ``if``, ``try``), without
    walking expressions: a migration file is mostly one long expression."""
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                yield from import_statements(block)


def with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def digest_operations(migrations: Iterable[Any]) -> str:
    """SHA-256 of the operations as loaded, serialized like ``makemigrations`` writes them:
    values computed when the files are imported (settings such as swappable models, the
    environment) are part of what the base state is built from."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.app_label}.{migration.name}\0".encode())
        for operation in migration.operations:
            digest.update(serialize_operation(operation).encode() + b"\0")
    return digest.hexdigest()


def serialize_operation(operation: Any) -> str:
    from django.db.migrations.writer import OperationWriter

    try:
        text, _imports = OperationWriter(operation, indentation=0).serialize()
    except (ValueError, TypeError):
        # e.g. a lambda in RunPython: no stable text; the code's files are keyed instead.
        return f"unserializable {qualified_name(type(operation))}"
    return str(text)


def find_intruder(loader: Any, base_keys: set[tuple[str, str]]) -> str | None:
    """Why the base's migrations cannot be applied on their own here, or None."""
    graph = loader.graph
    for target in base_targets(graph, base_keys):
        for key in graph.forwards_plan(target):
            if key not in base_keys:
                return (
                    f"migration {key[0]}.{key[1]} of this branch runs before base migration "
                    f"{target[0]}.{target[1]}"
                )
    return None


def base_targets(graph: Any, base_keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The leaves of the base's part of the graph."""
    nodes = base_keys & set(graph.nodes)
    return sorted(
        key for key in nodes
        if not any(child.key in nodes for child in graph.node_map[key].children)
    )


# --- Glue: the base state of one verify run (CLI process). ---


@dataclass(frozen=True)
class BaseStep:
    """How the throwaway database reached the base state (or stayed empty, ``outcome.used``
    False and no ``built``), the phases it took, and the base build's worker answer."""

    outcome: SnapshotOutcome
    phases: tuple[dict[str, Any], ...] = ()
    built: Mapping[str, Any] | None = None


def prepare_base_state(
    session: WorkerSession,
    db: ThrowawayDatabase,
    database: WorkerDatabase,
    *,
    base: BaseState,
    store: SnapshotStore,
    project_dir: Path,
    run_id: str,
    full: bool = False,
) -> BaseStep:
    """Bring the empty ``db`` to the base state from a snapshot, or build it and save one.

    ``project_dir`` is the user's project directory (where the base's paths are relative to);
    the session may run a temporary copy of it. When the snapshot cannot give the same answer
    as a run from zero, ``db`` is left empty and the note says why.
    """
    started = time.perf_counter()
    prepared_dir = session.project.project_dir
    facts = session.call(
        "snapshot_facts",
        {"root": str(prepared_dir), "base_modules": list_base_modules(base, project_dir)},
        database=database,
    )
    base_files = find_base_files(base, project_dir, facts["migration_dirs"])
    reason = find_unusable_reason(prepared_dir, base_files, facts)
    if reason is not None:
        return BaseStep(SnapshotOutcome(False, None, f"{reason}; verified from zero"))
    key = compute_key(key_parts(facts, base_files, db.info))
    phases = [{"name": "snapshot_key", "seconds": since(started)}]
    note = "--full: the cache was not read"
    if not full:
        restored = time.perf_counter()
        try:
            restore_database(db, store.load(key, db.info))
            phases.append({"name": "restore_base", "seconds": since(restored)})
            return BaseStep(SnapshotOutcome(True, key, "restored from cache"), tuple(phases))
        except SnapshotUnusable as exc:
            note = exc.message
        except DatabaseError as exc:
            reset_database(db, run_id)
            note = f"snapshot {key} could not be restored: {exc.message}"
    return build_base(session, db, database, base, store, key, note, run_id, phases, base_files)


def build_base(
    session: WorkerSession, db: ThrowawayDatabase, database: WorkerDatabase, base: BaseState,
    store: SnapshotStore, key: str, note: str, run_id: str, phases: list[dict[str, Any]],
    base_files: Mapping[str, str],
) -> BaseStep:
    """Apply the base's migrations from zero, save the snapshot, and say what happened."""
    built = session.call(
        "build_base",
        {"root": str(session.project.project_dir), "base_modules": sorted(base_files)},
        database=database,
    )
    phases.extend(built["phases"])
    if built["failure"] is not None:
        reset_database(db, run_id)
        failure = built["failure"]
        return BaseStep(SnapshotOutcome(
            False, key, f"{note}; the base state failed to build at "
            f"{failure['app_label']}.{failure['name']}; verified from zero",
        ), tuple(phases))
    saved = time.perf_counter()
    try:
        store.save(key, db.info, dump_database(db), base.sha)
        result = "saved a snapshot"
    except (DatabaseError, OSError) as exc:
        result = f"could not save a snapshot: {exc}"
    phases.append({"name": "save_snapshot", "seconds": since(saved)})
    outcome = SnapshotOutcome(False, key, f"{note}; built the base state from zero and {result}")
    return BaseStep(outcome, tuple(phases), built)


def find_unusable_reason(
    prepared_dir: Path, base_files: Mapping[str, str], facts: Mapping[str, Any]
) -> str | None:
    """Why a base state built on its own could give another answer than a run from zero."""
    if not base_files:
        return "no snapshot: the base has no migrations"
    changed = find_changed_files(prepared_dir, base_files)
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        shown = ", ".join(changed[:5]) + more
        return f"no snapshot: this branch changes or deletes base migration files ({shown})"
    if facts["not_applicable"]:
        return f"no snapshot: {facts['not_applicable']}"
    return None


def since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
