"""The worker's compiled-code cache: same code as compiling, right file names, only the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType

import pytest

from migration_ci.worker import bytecode
from migration_ci.worker.bytecode import CodeCache

SOURCE = b"def f():\n    def inner():\n        raise ValueError('x')\n    return inner\n"


def compiler(path: str, calls: list[str] | None = None, source: bytes = SOURCE,
             label: str = "compiled") -> Callable[[], CodeType]:
    """What the loader hands the cache: compiles ``source`` for ``path``, noting the call."""
    def compile_source() -> CodeType:
        if calls is not None:
            calls.append(label)
        return compile(source, path, "exec", dont_inherit=True)
    return compile_source


def test_a_hit_is_the_same_code_under_the_new_file_name(tmp_path: Path) -> None:
    first = CodeCache(tmp_path)
    code = first.compile(SOURCE, "/copy-1/app/m.py", compiler("/copy-1/app/m.py"))
    first.save()
    calls: list[str] = []
    second = CodeCache(tmp_path)
    again = second.compile(SOURCE, "/copy-2/app/m.py", compiler("/copy-2/app/m.py", calls))
    assert calls == []  # read from the cache, not compiled
    assert again.co_filename == "/copy-2/app/m.py"
    inner = next(c for c in again.co_consts if isinstance(c, CodeType))
    assert inner.co_filename == "/copy-2/app/m.py"  # nested code objects too
    assert again.replace(co_filename=code.co_filename) == code


def test_other_source_is_compiled(tmp_path: Path) -> None:
    cache = CodeCache(tmp_path)
    cache.compile(SOURCE, "/a/m.py", compiler("/a/m.py"))
    cache.save()
    other = b"X = 1\n"
    calls: list[str] = []
    code = CodeCache(tmp_path).compile(other, "/a/n.py", compiler("/a/n.py", calls, other))
    assert calls == ["compiled"]
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert namespace["X"] == 1


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x00" * 10])
def test_an_unreadable_cache_is_a_miss(tmp_path: Path, content: bytes) -> None:
    (tmp_path / bytecode.FILE_NAME).write_bytes(content)
    calls: list[str] = []
    cache = CodeCache(tmp_path)
    cache.compile(SOURCE, "/a/m.py", compiler("/a/m.py", calls))
    assert calls == ["compiled"]
    cache.save()
    code = CodeCache(tmp_path).compile(SOURCE, "/b/m.py", compiler("/b/m.py", calls))
    assert code.co_filename == "/b/m.py"
    assert calls == ["compiled"]  # the rewritten cache is read


def test_past_the_size_limit_only_what_the_run_used_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = CodeCache(tmp_path)
    old.compile(b"A = 1\n", "/a/old.py", compiler("/a/old.py", source=b"A = 1\n"))
    old.save()
    monkeypatch.setattr(bytecode, "MAX_BYTES", 1)
    run = CodeCache(tmp_path)
    run.compile(SOURCE, "/a/m.py", compiler("/a/m.py"))
    run.save()
    calls: list[str] = []
    kept = CodeCache(tmp_path)
    kept.compile(SOURCE, "/a/m.py", compiler("/a/m.py", calls, label="m"))
    kept.compile(b"A = 1\n", "/a/old.py", compiler("/a/old.py", calls, b"A = 1\n", "old"))
    assert calls == ["old"]


def test_no_directory_means_no_file(tmp_path: Path) -> None:
    cache = CodeCache(None)
    assert cache.compile(SOURCE, "/a/m.py", compiler("/a/m.py")).co_filename == "/a/m.py"
    cache.save()
    assert list(tmp_path.iterdir()) == []


# Imports the package ``pkg`` from the directory given and ``installed`` from a site-packages
# directory, through an installed cache, and reports what was compiled.
IMPORT_SCRIPT = """
import json, sys
from pathlib import Path
from migration_ci.worker import bytecode
cache = bytecode.CodeCache(Path(sys.argv[2]))
compiled = []
original = cache.compile
def counting(data, path, compile_source):
    def recorded():
        compiled.append(path)
        return compile_source()
    return original(data, path, recorded)
cache.compile = counting
bytecode.install(cache)
sys.path[:0] = [sys.argv[1], sys.argv[3]]
import pkg.mod, installed
try:
    pkg.mod.fail()
except ValueError as exc:
    frame_file = exc.__traceback__.tb_next.tb_frame.f_code.co_filename
cache.save()
print(json.dumps({"compiled": compiled, "file": pkg.mod.__file__, "frame_file": frame_file,
                  "value": pkg.mod.VALUE}))
"""


def import_through_cache(directory: Path, cache: Path) -> dict[str, object]:
    site_packages = cache.parent / "venv" / "site-packages"
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "installed.py").write_text("NAME = 'installed'\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-c", IMPORT_SCRIPT, str(directory), str(cache), str(site_packages)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_the_project_is_imported_through_the_cache_and_nothing_else(tmp_path: Path) -> None:
    first = tmp_path / "copy-1"
    (first / "pkg").mkdir(parents=True)
    (first / "pkg" / "__init__.py").write_text("")
    (first / "pkg" / "mod.py").write_text("VALUE = 42\n\ndef fail():\n    raise ValueError()\n")
    second = tmp_path / "copy-2"
    shutil.copytree(first, second)
    cache = tmp_path / "cache"

    cold = import_through_cache(first, cache)
    assert cold["compiled"] == [  # the project's modules, not installed ones
        str(first / "pkg" / "__init__.py"), str(first / "pkg" / "mod.py")]
    warm = import_through_cache(second, cache)
    assert warm["compiled"] == []
    assert warm["value"] == 42
    assert warm["file"] == str(second / "pkg" / "mod.py")
    assert warm["frame_file"] == str(second / "pkg" / "mod.py")
    assert (cache / bytecode.FILE_NAME).is_file()
