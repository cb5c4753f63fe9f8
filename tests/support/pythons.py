"""The interpreter of a Python minor version on this machine, found as .ci/run finds it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PROBE = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"


def find_python(version: str) -> Path | None:
    """``python3.12`` on PATH if it runs (a pyenv shim of a version that is not selected
    fails), else pyenv's newest ``3.12.x``; None when neither is there."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True,
                                check=False)
        if prefix.returncode == 0:
            candidates.append(str(Path(prefix.stdout.strip(), "bin", "python")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", PROBE], capture_output=True, text=True,
                               check=False)
        if probe.returncode == 0 and probe.stdout.split()[1] == version:
            return Path(probe.stdout.split()[0])
    return None
